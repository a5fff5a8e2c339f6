//! Which tenant a request is for, and from where it comes.
//!
//! Tenants are addressed by host name (`kiel.ozg.example`) or by path prefix
//! (`/t/kiel/vorgaenge`), as the operator configures. In path mode the prefix is stripped
//! before routing ([`strip_tenant_prefix`]), so every route exists once; links and redirects
//! put it back through the request's [`Base`], which handlers pass to what they render.

use crate::error::{finish_page, AppError, PageError};
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::tenant::{normalize_host, IpNet};
use domain::TenantId;
use std::net::{IpAddr, SocketAddr};
use store::TenantRecord;

pub use app::links::{Links, TenantRouting};

/// What every link of a tenant's page starts with: `""` (host routing, or the default tenant
/// reached without prefix), `/t/{tenant}` (path routing), or an absolute URL for what is read
/// outside the browser (a mail, a PDF). A value, not request state: pages take it from the
/// request (it is an extractor), a background job builds it from configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Base(String);

impl Base {
    /// Links relative to the host: a tenant reached by its host name, or the default tenant.
    pub fn root() -> Self {
        Self::default()
    }

    /// Links of a tenant reached by path prefix (`/t/{tenant}`).
    pub fn path(tenant: &TenantId) -> Self {
        Self(Links::path_prefix(tenant))
    }

    /// The base of `tenant`'s pages as its people reach them under `routing`, for rendering
    /// without a request.
    pub fn of(routing: TenantRouting, tenant: &TenantId) -> Self {
        match routing {
            TenantRouting::Path => Self::path(tenant),
            TenantRouting::Host => Self::root(),
        }
    }

    /// Absolute links into `tenant` (mails, PDFs), or `None` while it cannot be reached
    /// (host routing without a host name).
    pub fn absolute(links: &Links, tenant: &TenantRecord) -> Option<Self> {
        links.absolute(tenant, "").map(Self)
    }

    /// `path` (starting with `/`) under this base.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The base of the request's tenant. Every tenant page runs behind [`tenant_layer`]; a
/// handler asking for it elsewhere is a wiring mistake, answered with an error, not with
/// links into the wrong place.
impl<S: Send + Sync> FromRequestParts<S> for Base {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<TenantContext>()
            .map(TenantContext::base)
            .ok_or_else(|| PageError(AppError::Internal("no tenant for the links of a page".into())))
    }
}

/// The tenant of this request and the prefix its links need.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant: TenantRecord,
    /// `""` or `/t/{tenant}`.
    pub base: String,
}

impl TenantContext {
    pub fn id(&self) -> &TenantId {
        &self.tenant.id
    }

    /// What this request's links start with.
    pub fn base(&self) -> Base {
        Base(self.base.clone())
    }
}

/// The client's address: the peer, or, behind a trusted reverse proxy, the address it reports.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

#[derive(Debug, Clone)]
struct PathTenant(String);

/// The secret of a per-token intake address `POST /antrag/<API token>`, taken out of the path
/// before routing (see [`take_intake_secret`]).
#[derive(Clone)]
struct IntakeSecret(String);

/// Runs before routing (wraps the router): `/t/kiel/vorgaenge` → `/vorgaenge` + the tenant;
/// `/antrag/<secret>` → `/antrag` + the secret.
pub fn strip_tenant_prefix(req: Request) -> Request {
    take_intake_secret(strip_prefix(req))
}

/// Form services that cannot send an `Authorization` header deliver to `/antrag/<API token>`:
/// the request is routed as `/antrag` (the same route, rule and handler) and [`tenant_layer`]
/// authenticates the token. The path never reaches routing, handlers or the request log with
/// the secret in it.
fn take_intake_secret(mut req: Request) -> Request {
    let Some(secret) = req.uri().path().strip_prefix("/antrag/") else {
        return req;
    };
    if secret.is_empty() || secret.contains('/') {
        return req; // not an intake address: 404, logged without the rest (see `loggable_path`)
    }
    let secret = secret.to_owned();
    let new_path = match req.uri().query() {
        Some(q) => format!("/antrag?{q}"),
        None => "/antrag".to_owned(),
    };
    let Ok(pq) = new_path.parse::<axum::http::uri::PathAndQuery>() else {
        return req;
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(pq);
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
        req.extensions_mut().insert(IntakeSecret(secret));
    }
    req
}

/// The path as the request log may show it: whatever follows `/antrag/` may be a secret.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.find("/antrag/") {
        Some(i) => format!("{}/antrag/…", &path[..i]).into(),
        None => path.into(),
    }
}

/// Authenticates the token of a per-token intake address. Only a token with no other scope
/// than `EINGANG` may stand in a URL (a URL ends up in more places than a header; such a
/// token can only deliver). An unknown, revoked or other token is refused at once, also with
/// open intake: a wrong secret is never delivered as if it had none.
async fn intake_secret_caller(state: &AppState, secret: &str) -> Result<crate::auth::Machine, AppError> {
    if !secret.starts_with(crate::auth::API_TOKEN_PREFIX) {
        return Err(AppError::Unauthenticated);
    }
    let now = time::OffsetDateTime::now_utc();
    let Some(token) = state.store.installation().find_api_token(&crate::auth::token_hash(secret), now).await? else {
        tracing::info!("intake: unknown or revoked token in an intake address");
        return Err(AppError::Unauthenticated);
    };
    if token.scopes != [domain::TokenScope::Eingang] {
        tracing::warn!(token = %token.id, "intake: a token with more than scope EINGANG used in an intake address, refused");
        return Err(AppError::Forbidden);
    }
    Ok(crate::auth::Machine(token))
}

fn strip_prefix(mut req: Request) -> Request {
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix("/t/") else {
        return req;
    };
    let (slug, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let slug = slug.to_owned();
    let new_path = match req.uri().query() {
        Some(q) => format!("{tail}?{q}"),
        None => tail.to_owned(),
    };
    let Ok(pq) = new_path.parse::<axum::http::uri::PathAndQuery>() else {
        return req;
    };
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(pq);
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
        req.extensions_mut().insert(PathTenant(slug));
    }
    req
}

fn client_ip(req: &Request, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())?;
    if !trusted_proxies.iter().any(|n| n.contains(peer)) {
        return Some(peer);
    }
    // Walk X-Forwarded-For from the right: the first hop that is not one of our proxies. An
    // entry that is not an address ends the walk: what lies left of it cannot be trusted.
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Some(ip) = parse_forwarded(entry) else {
            break;
        };
        client = ip;
        if !trusted_proxies.iter().any(|n| n.contains(ip)) {
            break;
        }
    }
    Some(client)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    entry.rsplit_once(':').and_then(|(host, _)| host.parse::<std::net::Ipv4Addr>().ok()).map(IpAddr::V4)
}

async fn resolve(
    state: &AppState,
    path_tenant: Option<PathTenant>,
    host: Option<String>,
) -> Result<Option<TenantContext>, AppError> {
    let config = &state.config;
    if let Some(PathTenant(slug)) = path_tenant {
        if config.routing != TenantRouting::Path {
            return Ok(None);
        }
        let Some(id) = TenantId::parse(&slug) else {
            return Ok(None);
        };
        return match state.store.tenant(&id).get_tenant().await {
            Ok(tenant) => Ok(Some(TenantContext { base: app::links::Links::path_prefix(&tenant.id), tenant })),
            Err(store::StorageError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    if config.routing == TenantRouting::Host {
        if let Some(host) = host {
            if let Some(tenant) = state.store.installation().find_tenant_by_host(&host).await? {
                return Ok(Some(TenantContext { tenant, base: String::new() }));
            }
        }
    }
    match &config.default_tenant {
        Some(id) => match state.store.tenant(id).get_tenant().await {
            Ok(tenant) => Ok(Some(TenantContext { tenant, base: String::new() })),
            Err(store::StorageError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        },
        None => Ok(None),
    }
}

/// Finds the tenant (404 for an unknown one) and the client address, and writes the error
/// pages of the request with its base (see [`crate::error::PageError`]).
pub async fn tenant_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = client_ip(&req, &state.config.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    // Intake is installation-wide and routed by zustaendigeStelle: no tenant to look up.
    if crate::auth::is_intake_path(req.uri().path()) {
        if let Some(IntakeSecret(secret)) = req.extensions_mut().remove::<IntakeSecret>() {
            match intake_secret_caller(&state, &secret).await {
                // The route rule (`Permission::Intake`) checks it like a bearer token.
                Ok(machine) => {
                    req.extensions_mut().insert(machine);
                }
                Err(e) => return e.into_response(),
            }
        }
        // Installation-wide: links of an error page start at the root.
        return finish_page(next.run(req).await, &Base::root());
    }
    let is_api = req.uri().path().starts_with("/api/");
    let path_tenant = req.extensions().get::<PathTenant>().cloned();
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).and_then(normalize_host);
    let ctx = match resolve(&state, path_tenant, host).await {
        Ok(ctx) => ctx,
        Err(e) if is_api => return e.into_response(),
        // No tenant known yet: its error page links from the root.
        Err(e) => return finish_page(PageError(e).into_response(), &Base::root()),
    };
    let Some(ctx) = ctx else {
        return if is_api {
            AppError::NotFound.into_response()
        } else {
            let message = "Diesen Mandanten gibt es hier nicht.";
            crate::pages::error_page(&Base::root(), axum::http::StatusCode::NOT_FOUND, message)
        };
    };
    let base = ctx.base();
    req.extensions_mut().insert(ctx);
    finish_page(next.run(req).await, &base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn strip(uri: &str) -> (String, Option<String>) {
        let req = strip_tenant_prefix(Request::builder().uri(uri).body(Body::empty()).expect("request"));
        (req.uri().to_string(), req.extensions().get::<PathTenant>().map(|p| p.0.clone()))
    }

    #[test]
    fn prefix_is_stripped() {
        assert_eq!(strip("/t/kiel/vorgaenge?seite=2"), ("/vorgaenge?seite=2".into(), Some("kiel".into())));
        assert_eq!(strip("/t/kiel"), ("/".into(), Some("kiel".into())));
        assert_eq!(strip("/t/kiel/"), ("/".into(), Some("kiel".into())));
        assert_eq!(strip("/vorgaenge"), ("/vorgaenge".into(), None));
    }

    fn secret(uri: &str) -> (String, Option<String>) {
        let req = strip_tenant_prefix(Request::builder().uri(uri).body(Body::empty()).expect("request"));
        (req.uri().to_string(), req.extensions().get::<IntakeSecret>().map(|s| s.0.clone()))
    }

    #[test]
    fn intake_secret_is_taken_out_of_the_path() {
        assert_eq!(secret("/antrag/ozgapi_abc"), ("/antrag".into(), Some("ozgapi_abc".into())));
        assert_eq!(secret("/t/kiel/antrag/ozgapi_abc?x=1"), ("/antrag?x=1".into(), Some("ozgapi_abc".into())));
        assert_eq!(secret("/antrag"), ("/antrag".into(), None));
        assert_eq!(secret("/antrag/"), ("/antrag/".into(), None));
        assert_eq!(secret("/antrag/a/b"), ("/antrag/a/b".into(), None));
        assert_eq!(loggable_path("/antrag/a/b"), "/antrag/…");
        assert_eq!(loggable_path("/t/kiel/antrag/ozgapi_abc"), "/t/kiel/antrag/…");
        assert_eq!(loggable_path("/vorgaenge/1"), "/vorgaenge/1");
    }
}
