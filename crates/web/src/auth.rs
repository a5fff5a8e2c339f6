//! Login, sessions and the one place where a request becomes a user.
//!
//! [`session_layer`] resolves the caller once per request (cookie for the UI, bearer session
//! or API token for the API) and enforces CSRF on every state-changing request that rides on
//! the cookie. What a caller may do is decided in one place, [`crate::policy`].

use crate::error::{AppError, PageError};
use crate::tenancy::TenantContext;
use crate::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::{Role, TenantId};
use store::{ApiTokenRecord, UserRecord};
use time::OffsetDateTime;

pub const SESSION_COOKIE: &str = "ozg_session";
pub const LOGIN_CSRF_COOKIE: &str = "ozg_login_csrf";
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// API tokens carry a recognisable prefix: secret scanners find leaked ones, and the
/// session layer knows where to look them up.
pub const API_TOKEN_PREFIX: &str = "ozgapi_";
/// Largest form body the CSRF check buffers; the clerk's forms are far smaller.
const MAX_FORM_BODY: usize = 256 * 1024;

pub use app::passwords::{check_password_rules, dummy_hash, hash_password, new_token, token_hash, verify_password};

/// Constant-time comparison for secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every value of cookie `name`; with path-routed tenants a browser may send several.
pub fn cookies(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .take(4)
        .collect()
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies(headers, name).into_iter().next()
}

/// The session cookie's name: with HTTPS and host routing the `__Host-` prefix makes the
/// browser refuse it from subdomains or without `Secure`.
pub fn session_cookie_name(config: &crate::WebConfig) -> &'static str {
    if config.secure_cookies && config.routing == crate::tenancy::TenantRouting::Host {
        "__Host-ozg_session"
    } else {
        SESSION_COOKIE
    }
}

/// A cookie for the tenant under `base` only (its path prefix), HttpOnly, SameSite=Lax.
pub fn set_cookie(base: &crate::tenancy::Base, name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let path = if base.as_str().is_empty() { "/" } else { base.as_str() };
    format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The signed-in person of this request.
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

    pub fn caller(&self) -> Caller {
        Caller {
            tenant: self.tenant.clone(),
            principal: self.user.principal(),
            actor: self.actor(),
            user: Some(self.user.id),
        }
    }
}

/// A machine calling with an API token.
#[derive(Debug, Clone)]
pub struct Machine(pub ApiTokenRecord);

pub use app::Caller;

/// The caller of an API route, person or machine, as an extractor.
pub struct ApiCaller(pub Caller);

/// Machine endpoints: form services deliver here, with an API token or (open intake) without.
const INTAKE_PATHS: [&str; 2] = ["/antrag", "/api/v1/antraege"];

pub fn is_intake_path(path: &str) -> bool {
    INTAKE_PATHS.contains(&path)
}

/// Resolves who calls: an API token (`Authorization: Bearer ozgapi_…`), an API session
/// (`Bearer <session token>`) or the UI's session cookie. Sessions and tokens count only for
/// the tenant they belong to. Cookie-borne state changes must carry the CSRF token.
pub async fn session_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/") || is_intake_path(req.uri().path());
    let reject = |e: AppError| if is_api { e.into_response() } else { PageError(e).into_response() };
    let tenant = req.extensions().get::<TenantContext>().map(|c| c.tenant.id.clone());
    let now = OffsetDateTime::now_utc();
    if let Some(token) = bearer(req.headers()).map(str::to_owned) {
        if token.starts_with(API_TOKEN_PREFIX) {
            let found = match state.store.installation().find_api_token(&token_hash(&token), now).await {
                Ok(t) => t,
                Err(e) => return reject(e.into()),
            };
            // Intake tokens work at the installation-wide address; all others only at their tenant's.
            let fits = |t: &ApiTokenRecord| is_intake_path(req.uri().path()) || Some(&t.tenant) == tenant.as_ref();
            return match found.filter(fits) {
                Some(t) => {
                    req.extensions_mut().insert(Machine(t));
                    next.run(req).await
                }
                None => reject(AppError::Unauthenticated),
            };
        }
        let session = match state.store.installation().get_session(&token_hash(&token), now).await {
            Ok(s) => s.filter(|s| Some(&s.tenant) == tenant.as_ref()),
            Err(e) => return reject(e.into()),
        };
        return match session {
            Some(s) => {
                req.extensions_mut().insert(Authenticated { tenant: s.tenant, user: s.user, csrf: s.csrf_token });
                next.run(req).await
            }
            None => reject(AppError::Unauthenticated),
        };
    }
    let mut found = None;
    for token in cookies(req.headers(), session_cookie_name(&state.config)) {
        match state.store.installation().get_session(&token_hash(&token), now).await {
            Ok(Some(s)) if Some(&s.tenant) == tenant.as_ref() => {
                found = Some(s);
                break;
            }
            Ok(_) => {}
            Err(e) => return reject(e.into()),
        }
    }
    let Some(session) = found else {
        return next.run(req).await;
    };
    let auth = Authenticated { tenant: session.tenant, user: session.user, csrf: session.csrf_token };
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        match check_csrf(&state, req, &auth.csrf).await {
            Ok(checked) => req = checked,
            Err(e) => return reject(e),
        }
    }
    req.extensions_mut().insert(auth);
    next.run(req).await
}

/// A multipart form whose CSRF token is still in its unread body. [`crate::policy::authorize`]
/// checks it ([`crate::upload::check_pending_csrf`]) once the caller is known to may use the
/// route: only then is an upload slot taken and the body read.
#[derive(Debug, Clone)]
pub(crate) struct PendingMultipartCsrf {
    pub(crate) expected: String,
}

/// Accepts the token from the `X-CSRF-Token` header or the `_csrf` field of a urlencoded or
/// multipart form. A multipart body is not read here (see [`PendingMultipartCsrf`]).
async fn check_csrf(state: &AppState, mut req: Request, expected: &str) -> Result<Request, AppError> {
    if let Some(h) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if same_secret(h, expected) { Ok(req) } else { Err(AppError::Csrf) };
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if crate::upload::is_multipart(content_type.as_deref()) {
        // Forms with files: the token is a field of the body, read (once, within the upload
        // limits) after authorization.
        if !crate::upload::takes_uploads(req.uri().path()) {
            return Err(AppError::Csrf);
        }
        req.extensions_mut().insert(PendingMultipartCsrf { expected: expected.to_owned() });
        return Ok(req);
    }
    let is_form = content_type.is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::Csrf);
    }
    let length = crate::upload::content_length(req.headers());
    let (parts, body) = req.into_parts();
    let bytes = crate::upload::read_body_within(state, body, length, MAX_FORM_BODY).await?;
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

/// Any signed-in, enabled person.
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

/// A signed-in tenant administrator. (The route table requires the role already; this makes
/// the handler's signature say so too.)
pub struct AdminUser(pub Authenticated);

impl<S: Send + Sync> FromRequestParts<S> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(auth) = CurrentUser::from_request_parts(parts, s).await?;
        if !auth.user.has_role(Role::Admin) {
            return Err(rejection(parts, AppError::Forbidden));
        }
        Ok(AdminUser(auth))
    }
}

/// Person or machine.
impl<S: Send + Sync> FromRequestParts<S> for ApiCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.extensions.get::<Authenticated>() {
            return Ok(ApiCaller(auth.caller()));
        }
        if let Some(Machine(t)) = parts.extensions.get::<Machine>() {
            return Ok(ApiCaller(Caller {
                tenant: t.tenant.clone(),
                principal: t.principal(),
                actor: store::Actor { user: None, name: format!("API-Token „{}“", t.name) },
                user: None,
            }));
        }
        Err(rejection(parts, AppError::Unauthenticated))
    }
}
