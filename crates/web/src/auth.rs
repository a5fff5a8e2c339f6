//! Login, sessions and the one place where a request becomes a user.
//!
//! [`session_layer`] resolves the session once per request (cookie for the UI, bearer token
//! for the API) and enforces CSRF on every state-changing request that rides on the cookie.
//! Handlers ask for [`CurrentUser`] or [`AdminUser`]; a handler without one is public.

use crate::error::{AppError, PageError};
use crate::AppState;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use domain::{Role, TenantId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::UserRecord;
use time::OffsetDateTime;

pub const SESSION_COOKIE: &str = "ozg_session";
pub const LOGIN_CSRF_COOKIE: &str = "ozg_login_csrf";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const MIN_PASSWORD_LEN: usize = 12;
/// Largest form body the CSRF check buffers; the clerk's forms are far smaller.
const MAX_FORM_BODY: usize = 256 * 1024;

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("argon2: {e}")))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the user does not exist, so both cases cost the same time.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("kein-benutzer-vorhanden").unwrap_or_default())
}

pub fn check_password_rules(password: &str) -> Result<(), AppError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(AppError::bad_request(
            "password",
            format!("Das Passwort muss mindestens {MIN_PASSWORD_LEN} Zeichen lang sein"),
        ));
    }
    Ok(())
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time comparison for secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The signed-in user of this request.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: UserRecord,
    pub tenant: TenantId,
    pub csrf: String,
}

impl Authenticated {
    pub fn actor(&self) -> store::Actor {
        store::Actor { user: Some(self.user.id), name: self.user.display_name.clone() }
    }
}

/// Machine endpoints with their own authentication (the intake token); no sessions there.
const INTAKE_PATHS: [&str; 2] = ["/antrag", "/api/v1/antraege"];

pub async fn session_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if INTAKE_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let from_cookie = cookie(req.headers(), SESSION_COOKIE);
    let (token, via_cookie) = match bearer(req.headers()) {
        Some(t) => (Some(t.to_owned()), false),
        None => (from_cookie, true),
    };
    let is_api = req.uri().path().starts_with("/api/");
    let reject = |e: AppError| {
        if is_api {
            e.into_response()
        } else {
            PageError(e).into_response()
        }
    };
    let Some(token) = token else {
        return next.run(req).await;
    };
    let session = match state.store.get_session(&token_hash(&token), OffsetDateTime::now_utc()).await {
        Ok(s) => s,
        Err(e) => return reject(e.into()),
    };
    let Some(session) = session else {
        // A bearer token that is not valid is an error, not "anonymous".
        return if via_cookie { next.run(req).await } else { reject(AppError::Unauthenticated) };
    };
    let auth = Authenticated { tenant: session.tenant, user: session.user, csrf: session.csrf_token };
    if via_cookie && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        match check_csrf(req, &auth.csrf).await {
            Ok(checked) => req = checked,
            Err(e) => return reject(e),
        }
    }
    req.extensions_mut().insert(auth);
    next.run(req).await
}

/// Accepts the token from the `X-CSRF-Token` header or the `_csrf` field of a urlencoded form.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, AppError> {
    if let Some(h) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if same_secret(h, expected) { Ok(req) } else { Err(AppError::Csrf) };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::Csrf);
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BODY).await.map_err(|_| AppError::TooLarge { limit: MAX_FORM_BODY })?;
    let token = form_urlencoded_value(&bytes, CSRF_FIELD);
    if !token.is_some_and(|t| same_secret(&t, expected)) {
        return Err(AppError::Csrf);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn form_urlencoded_value(body: &[u8], key: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn rejection(parts: &Parts, e: AppError) -> Response {
    if parts.uri.path().starts_with("/api/") {
        e.into_response()
    } else {
        PageError(e).into_response()
    }
}

/// Any signed-in, enabled user.
pub struct CurrentUser(pub Authenticated);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authenticated>()
            .cloned()
            .map(CurrentUser)
            .ok_or_else(|| rejection(parts, AppError::Unauthenticated))
    }
}

/// A signed-in tenant administrator.
pub struct AdminUser(pub Authenticated);

impl<S: Send + Sync> FromRequestParts<S> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(auth) = CurrentUser::from_request_parts(parts, s).await?;
        if auth.user.role != Role::Admin {
            return Err(rejection(parts, AppError::Forbidden));
        }
        Ok(AdminUser(auth))
    }
}
