//! Creating sessions: the one login routine for the UI form and the API.

use crate::auth;
use crate::error::AppError;
use crate::AppState;
use domain::Username;
use store::NewSession;
use time::OffsetDateTime;

fn verification_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(4))
}

/// Checks the credentials and opens a session; `Ok(None)` for wrong credentials (never
/// telling which part was wrong). Returns the session token for cookie or bearer use.
pub async fn login(state: &AppState, username: &str, password: &str) -> Result<Option<String>, AppError> {
    let tenant = &state.config.tenant;
    let user = match Username::parse(username) {
        Some(u) => state.store.find_user_by_username(tenant, u.as_str()).await?,
        None => None,
    };
    let hash = user.as_ref().map_or(auth::dummy_hash(), |u| u.password_hash.as_str()).to_owned();
    let pw = password.to_owned();
    // argon2 is deliberately slow and takes ~19 MiB per check: a few at a time, off the async
    // worker threads, so a flood of logins cannot exhaust memory or the blocking pool.
    let slot = tokio::time::timeout(std::time::Duration::from_secs(10), verification_slots().acquire())
        .await
        .map_err(|_| AppError::Unavailable)?
        .map_err(|_| AppError::Unavailable)?;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    drop(slot);
    let Some(user) = user.filter(|u| ok && !u.disabled) else {
        tracing::info!("login failed");
        return Ok(None);
    };
    let token = auth::new_token();
    let now = OffsetDateTime::now_utc();
    state
        .store
        .create_session(NewSession {
            token_hash: auth::token_hash(&token),
            tenant: tenant.clone(),
            user: user.id,
            csrf_token: auth::new_token(),
            created_at: now,
            idle_timeout_secs: state.config.session_idle.whole_seconds(),
            absolute_expiry: now + state.config.session_absolute,
        })
        .await?;
    tracing::info!(user = %user.id, "login");
    Ok(Some(token))
}
