//! Creating sessions: the one login routine for the UI form, the API and OIDC.

use crate::auth;
use crate::error::AppError;
use crate::tenancy::{Base, TenantContext};
use crate::AppState;
use domain::{TenantId, Username};
use std::collections::HashMap;
use std::net::IpAddr;
use store::{Actor, NewAuditEntry, NewSession, UserRecord};
use time::OffsetDateTime;

/// Password checks running at once in the whole process (argon2 takes ~19 MiB and a core).
const VERIFICATION_SLOTS: usize = 4;
/// Of those, what the logins of one tenant may hold at once: a login flood on one tenant
/// waits in its own queue and leaves the other tenants' logins free slots.
const TENANT_VERIFICATION_SLOTS: usize = 2;
/// How long a password check waits for its slots before the answer is 503.
const VERIFICATION_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn verification_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(VERIFICATION_SLOTS))
}

/// The queue of one tenant's password checks (`None`: checks outside a login, e.g. changing
/// one's password). One entry per tenant that ever logged in: bounded by the tenants.
fn tenant_slots(tenant: Option<&TenantId>) -> std::sync::Arc<tokio::sync::Semaphore> {
    type Queues = std::sync::Mutex<HashMap<String, std::sync::Arc<tokio::sync::Semaphore>>>;
    static QUEUES: std::sync::OnceLock<Queues> = std::sync::OnceLock::new();
    let key = tenant.map_or("", TenantId::as_str).to_owned();
    let mut queues = QUEUES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    queues
        .entry(key)
        .or_insert_with(|| std::sync::Arc::new(tokio::sync::Semaphore::new(TENANT_VERIFICATION_SLOTS)))
        .clone()
}

/// Failed logins of names no account of the tenant has, counted as an account's are (in
/// this process): an unknown name is locked after as many failures as a real one, with the
/// same answer, so the login never tells which names exist. Bounded in size.
#[derive(Debug, Clone, Copy, Default)]
struct UnknownName {
    failed: u32,
    locked_until: Option<OffsetDateTime>,
}

/// Names tracked at most; beyond that, names that are not locked are forgotten first.
const MAX_UNKNOWN_NAMES: usize = 100_000;

fn unknown_names() -> &'static std::sync::Mutex<HashMap<String, UnknownName>> {
    static NAMES: std::sync::OnceLock<std::sync::Mutex<HashMap<String, UnknownName>>> = std::sync::OnceLock::new();
    NAMES.get_or_init(Default::default)
}

/// The tenant and the name as a login compares it (trimmed, lower case).
fn unknown_key(tenant: &TenantId, username: &str) -> String {
    let name = Username::parse(username)
        .map(|u| u.as_str().to_owned())
        .unwrap_or_else(|| username.trim().to_lowercase().chars().take(256).collect());
    format!("{}/{name}", tenant.as_str())
}

fn unknown_locked_until(key: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let names = unknown_names().lock().unwrap_or_else(|e| e.into_inner());
    names.get(key).and_then(|n| n.locked_until).filter(|until| *until > now)
}

/// Counts one more failure of an unknown name, as [`domain::user::after_failed_login`] does
/// for an account; the lock's end when this failure locks it.
fn record_unknown_failure(key: &str, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let mut names = unknown_names().lock().unwrap_or_else(|e| e.into_inner());
    if names.len() >= MAX_UNKNOWN_NAMES && !names.contains_key(key) {
        names.retain(|_, n| n.locked_until.is_some_and(|until| until > now));
        if names.len() >= MAX_UNKNOWN_NAMES {
            tracing::warn!("login: too many unknown user names tracked; this one is not counted");
            return None;
        }
    }
    let entry = names.entry(key.to_owned()).or_default();
    let (failed, lock) = domain::user::after_failed_login(entry.failed, now);
    entry.failed = failed;
    if lock.is_some() {
        entry.locked_until = lock;
    }
    lock.filter(|until| *until > now)
}

/// The clock logins and lockouts go by: the system clock, moved on for one server by
/// [`advance_login_clock`] (to test that a lockout ends, without waiting 15 minutes).
fn login_now(state: &AppState) -> OffsetDateTime {
    let shifts = clock_shifts().lock().unwrap_or_else(|e| e.into_inner());
    OffsetDateTime::now_utc() + shifts.get(&server_key(state)).copied().unwrap_or(time::Duration::ZERO)
}

type ClockShifts = std::sync::Mutex<HashMap<usize, time::Duration>>;

fn clock_shifts() -> &'static ClockShifts {
    static SHIFTS: std::sync::OnceLock<ClockShifts> = std::sync::OnceLock::new();
    SHIFTS.get_or_init(Default::default)
}

/// One server (its store), so that servers in one process do not share a shift.
fn server_key(state: &AppState) -> usize {
    std::sync::Arc::as_ptr(&state.store).cast::<()>() as usize
}

/// Moves the login clock of the server of `state` forward by `by` until the returned guard
/// is dropped. For tests only: production code never calls it.
#[doc(hidden)]
pub fn advance_login_clock(state: &AppState, by: time::Duration) -> LoginClockShift {
    let key = server_key(state);
    *clock_shifts().lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_insert(time::Duration::ZERO) += by;
    LoginClockShift { key, by }
}

/// Takes its shift of the login clock back when dropped.
#[doc(hidden)]
pub struct LoginClockShift {
    key: usize,
    by: time::Duration,
}

impl Drop for LoginClockShift {
    fn drop(&mut self) {
        let mut shifts = clock_shifts().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(shift) = shifts.get_mut(&self.key) {
            *shift -= self.by;
            if shift.is_zero() {
                shifts.remove(&self.key);
            }
        }
    }
}

/// The login form's double-submit cookie (the form has no session to bind a CSRF token to):
/// `__Host-` prefixed where the session cookie is (HTTPS with host routing), so a sibling
/// host cannot plant one.
pub fn login_csrf_cookie_name(config: &crate::WebConfig) -> &'static str {
    if config.secure_cookies && config.routing == crate::tenancy::TenantRouting::Host {
        "__Host-ozg_login_csrf"
    } else {
        auth::LOGIN_CSRF_COOKIE
    }
}

/// A new login CSRF token for `tenant`, reached under `base`: the value for the form's `_csrf` field and
/// the `Set-Cookie` header. The cookie names the tenant it was issued for
/// (`<tenant>.<token>`), so a pair obtained at one tenant's login does not pass at another's
/// (in path mode all tenants share one origin, and the default tenant's cookie has `Path=/`).
pub fn new_login_csrf(config: &crate::WebConfig, base: &Base, tenant: &TenantId) -> (String, String) {
    let token = auth::new_token();
    let value = format!("{tenant}.{token}");
    let cookie = auth::set_cookie(base, login_csrf_cookie_name(config), &value, 3600, config.secure_cookies);
    (token, cookie)
}

/// Whether `submitted` (the form's `_csrf`) matches a login CSRF cookie of the request that
/// was issued for `tenant`.
pub fn login_csrf_matches(
    config: &crate::WebConfig,
    tenant: &TenantId,
    headers: &axum::http::HeaderMap,
    submitted: &str,
) -> bool {
    !submitted.is_empty()
        && auth::cookies(headers, login_csrf_cookie_name(config)).iter().any(|c| {
            c.split_once('.').is_some_and(|(t, token)| t == tenant.as_str() && auth::same_secret(token, submitted))
        })
}

/// The `Set-Cookie` header that removes the login CSRF cookie (after a login).
pub fn clear_login_csrf(config: &crate::WebConfig, base: &Base) -> String {
    auth::set_cookie(base, login_csrf_cookie_name(config), "", 0, config.secure_cookies)
}

pub enum LoginOutcome {
    /// The session token, for the cookie or as bearer token.
    Success(String),
    /// Wrong name or password (never saying which).
    Failed,
    /// Too many failures: locked until then.
    Locked(OffsetDateTime),
}

impl LoginOutcome {
    pub fn into_token(self) -> Option<String> {
        match self {
            Self::Success(t) => Some(t),
            _ => None,
        }
    }
}

/// Checks a password against a user's hash (for "Passwort ändern"), with the same limits as
/// a login.
pub async fn verify_password(password: &str, hash: &str) -> Result<bool, AppError> {
    verify(None, password, hash).await
}

async fn verify(tenant: Option<&TenantId>, password: &str, hash: &str) -> Result<bool, AppError> {
    let (pw, hash) = (password.to_owned(), hash.to_owned());
    // argon2 is deliberately slow and takes ~19 MiB per check: a few at a time, off the async
    // worker threads, so a flood of logins cannot exhaust memory or the blocking pool. A
    // tenant's checks first take one of its own slots, so they never queue for the shared
    // ones in front of another tenant's.
    let deadline = tokio::time::Instant::now() + VERIFICATION_WAIT;
    let queue = tenant_slots(tenant);
    let own = tokio::time::timeout_at(deadline, queue.acquire_owned())
        .await
        .map_err(|_| AppError::Unavailable)?
        .map_err(|_| AppError::Unavailable)?;
    let slot = tokio::time::timeout_at(deadline, verification_slots().acquire())
        .await
        .map_err(|_| AppError::Unavailable)?
        .map_err(|_| AppError::Unavailable)?;
    let ok = tokio::task::spawn_blocking(move || !hash.is_empty() && auth::verify_password(&pw, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    drop((slot, own));
    Ok(ok)
}

pub async fn audit_login(
    state: &AppState,
    ctx: &TenantContext,
    user: Option<&UserRecord>,
    action: &str,
    detail: Option<String>,
    ip: Option<IpAddr>,
) -> Result<(), AppError> {
    let actor = match user {
        Some(u) => Actor { user: Some(u.id), name: u.display_name.clone() },
        None => Actor::system("unbekannt"),
    };
    state
        .store
        .tenant(ctx.id())
        .append_audit(NewAuditEntry {
            at: OffsetDateTime::now_utc(),
            actor,
            action: action.to_owned(),
            target: user.map(|u| u.id.to_string()),
            detail,
            ip: ip.map(|i| i.to_string()),
        })
        .await?;
    Ok(())
}

/// Checks the credentials against the tenant's users and opens a session. Counts failures and
/// locks the account after [`domain::user::MAX_FAILED_LOGINS`] of them; every attempt is in
/// the audit log. A name without an account fails and locks the same way (and as slowly), so
/// the answers do not tell which names exist.
pub async fn login(
    state: &AppState,
    ctx: &TenantContext,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
) -> Result<LoginOutcome, AppError> {
    let tenant = ctx.id();
    let user = match Username::parse(username) {
        Some(u) => state.store.tenant(tenant).find_user_by_username(u.as_str()).await?,
        None => None,
    };
    let now = login_now(state);
    let unknown = user.is_none().then(|| unknown_key(tenant, username));
    if let Some(until) = user.as_ref().and_then(|u| u.locked_until).filter(|until| *until > now) {
        // Verify anyway: a locked account answers as slowly as any other.
        verify(Some(tenant), password, auth::dummy_hash()).await?;
        audit_login(state, ctx, user.as_ref(), "anmeldung_gesperrt", None, ip).await?;
        return Ok(LoginOutcome::Locked(until));
    }
    if let Some(until) = unknown.as_deref().and_then(|key| unknown_locked_until(key, now)) {
        // An unknown name "locked" like an account: the same answer, as slowly.
        verify(Some(tenant), password, auth::dummy_hash()).await?;
        audit_login(state, ctx, None, "anmeldung_fehlgeschlagen", Some("unbekannter Benutzername".into()), ip).await?;
        return Ok(LoginOutcome::Locked(until));
    }
    let hash = user.as_ref().map_or(auth::dummy_hash(), |u| u.password_hash.as_str()).to_owned();
    let ok = verify(Some(tenant), password, &hash).await?;
    let Some(user) = user.clone().filter(|u| ok && !u.disabled) else {
        tracing::info!("login failed");
        if let Some(u) = &user {
            let after = state.store.tenant(tenant).record_login_failure(u.id, now).await?;
            audit_login(state, ctx, Some(u), "anmeldung_fehlgeschlagen", None, ip).await?;
            if let Some(until) = after.locked_until.filter(|until| *until > now) {
                audit_login(state, ctx, Some(u), "konto_gesperrt", None, ip).await?;
                return Ok(LoginOutcome::Locked(until));
            }
        } else {
            // What was typed is not recorded: it may be a password typed in the wrong field.
            audit_login(state, ctx, None, "anmeldung_fehlgeschlagen", Some("unbekannter Benutzername".into()), ip)
                .await?;
            if let Some(until) = unknown.as_deref().and_then(|key| record_unknown_failure(key, now)) {
                return Ok(LoginOutcome::Locked(until));
            }
        }
        return Ok(LoginOutcome::Failed);
    };
    // Concurrent guesses were checked against the state before any of them failed: whether
    // the account got locked meanwhile is decided now, after the (slow) verification.
    let current = state.store.tenant(tenant).get_user(user.id).await?;
    if let Some(until) = current.locked_until.filter(|until| *until > login_now(state)) {
        audit_login(state, ctx, Some(&user), "anmeldung_gesperrt", None, ip).await?;
        return Ok(LoginOutcome::Locked(until));
    }
    if current.failed_logins > 0 || current.locked_until.is_some() {
        state.store.tenant(tenant).record_login_success(user.id).await?;
    }
    let token = open_session(state, ctx, &user).await?;
    audit_login(state, ctx, Some(&user), "anmeldung", None, ip).await?;
    Ok(LoginOutcome::Success(token))
}

/// A new session for a user who proved who they are (password or OIDC).
pub async fn open_session(state: &AppState, ctx: &TenantContext, user: &UserRecord) -> Result<String, AppError> {
    let token = auth::new_token();
    let now = OffsetDateTime::now_utc();
    state
        .store
        .tenant(ctx.id())
        .create_session(NewSession {
            token_hash: auth::token_hash(&token),
            user: user.id,
            csrf_token: auth::new_token(),
            created_at: now,
            idle_timeout_secs: state.config.session_idle.whole_seconds(),
            absolute_expiry: now + state.config.session_absolute,
        })
        .await?;
    tracing::info!(user = %user.id, "login");
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn with_cookie(set_cookie: &str) -> axum::http::HeaderMap {
        let pair = set_cookie.split(';').next().expect("pair");
        let mut h = axum::http::HeaderMap::new();
        h.insert(axum::http::header::COOKIE, pair.parse().expect("header"));
        h
    }

    #[test]
    fn the_login_csrf_cookie_is_bound_to_its_tenant_and_host_prefixed_in_host_mode() {
        let config = crate::WebConfig { secure_cookies: false, ..Default::default() };
        let (kiel, flensburg) = (TenantId::parse("kiel").expect("id"), TenantId::parse("flensburg").expect("id"));
        let (token, cookie) = new_login_csrf(&config, &Base::root(), &kiel);
        assert!(cookie.starts_with(&format!("ozg_login_csrf=kiel.{token};")), "{cookie}");
        let headers = with_cookie(&cookie);
        assert!(login_csrf_matches(&config, &kiel, &headers, &token));
        assert!(!login_csrf_matches(&config, &flensburg, &headers, &token), "another tenant's pair does not pass");
        assert!(!login_csrf_matches(&config, &kiel, &headers, "anders"));
        assert!(!login_csrf_matches(&config, &kiel, &headers, ""));
        let unbound = with_cookie(&format!("ozg_login_csrf={token}"));
        assert!(!login_csrf_matches(&config, &kiel, &unbound, &token), "a cookie without its tenant does not pass");

        let host = crate::WebConfig {
            secure_cookies: true,
            routing: crate::tenancy::TenantRouting::Host,
            ..Default::default()
        };
        let (token, cookie) = new_login_csrf(&host, &Base::root(), &kiel);
        assert!(cookie.starts_with("__Host-ozg_login_csrf=kiel.") && cookie.contains("Path=/;"), "{cookie}");
        assert!(cookie.contains("; Secure") && !cookie.contains("Domain"), "{cookie}");
        assert!(login_csrf_matches(&host, &kiel, &with_cookie(&cookie), &token));
        let planted = with_cookie(&format!("ozg_login_csrf=kiel.{token}"));
        assert!(!login_csrf_matches(&host, &kiel, &planted, &token), "an unprefixed (plantable) cookie does not count");
        assert!(clear_login_csrf(&host, &Base::root()).starts_with("__Host-ozg_login_csrf=;"));
    }

    /// A flood of password checks for one tenant queues in that tenant's line: a check for
    /// another tenant gets a shared slot at once instead of waiting behind the whole flood.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_one_tenant_does_not_hold_up_another_tenants_check() {
        const FLOOD: usize = 48;
        let hash = auth::dummy_hash();
        let flooded = TenantId::parse("flut").expect("id");
        let done = std::sync::Arc::new(AtomicUsize::new(0));
        let flood: Vec<_> = (0..FLOOD)
            .map(|_| {
                let (done, tenant) = (done.clone(), flooded.clone());
                tokio::spawn(async move {
                    let ok = verify(Some(&tenant), "falsch-falsch", hash).await;
                    done.fetch_add(1, Ordering::SeqCst);
                    ok
                })
            })
            .collect();
        // Let the flood take its slots and queue up.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let before = done.load(Ordering::SeqCst);
        assert!(before < FLOOD / 4, "the flood is still waiting: {before} done");
        let started = std::time::Instant::now();
        let calm = TenantId::parse("ruhe").expect("id");
        assert!(verify(Some(&calm), "kein-benutzer-vorhanden", hash).await.expect("checked"));
        let during = done.load(Ordering::SeqCst) - before;
        assert!(
            during <= FLOOD / 4,
            "the other tenant waited for {during} checks of the flood ({:?})",
            started.elapsed()
        );
        for f in flood {
            assert!(!f.await.expect("task").expect("checked, not refused"));
        }
    }
}
