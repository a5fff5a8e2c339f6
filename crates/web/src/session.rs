//! Creating sessions: the one login routine for the UI form and the API.

use crate::auth;
use crate::error::AppError;
use crate::AppState;
use domain::Username;
use store::NewSession;
use time::OffsetDateTime;

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
    // argon2 is deliberately slow: keep it off the async worker threads.
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
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
