//! Which tenant a request is for, and from where it comes.
//!
//! Tenants are addressed by host name (`kiel.ozg.example`) or by path prefix
//! (`/t/kiel/vorgaenge`), as the operator configures. In path mode the prefix is stripped
//! before routing ([`strip_tenant_prefix`]), so every route exists once; links and redirects
//! put it back through [`link`].

use crate::error::{AppError, PageError};
use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::tenant::{normalize_host, IpNet};
use domain::TenantId;
use std::net::{IpAddr, SocketAddr};
use store::TenantRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantRouting {
    /// `/t/{tenant}/…`; requests without a prefix go to the default tenant.
    Path,
    /// By the `Host` header; unknown hosts go to the default tenant.
    Host,
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

    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The client's address: the peer, or, behind a trusted reverse proxy, the address it reports.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

#[derive(Debug, Clone)]
struct PathTenant(String);

tokio::task_local! {
    /// The link prefix of the request being handled, so templates and redirects need not
    /// thread it through every handler.
    static BASE: String;
}

/// `path` with the current tenant's prefix.
pub fn link(path: &str) -> String {
    BASE.try_with(|b| format!("{b}{path}")).unwrap_or_else(|_| path.to_owned())
}

/// The current link prefix (`""` in host mode).
pub fn base() -> String {
    BASE.try_with(Clone::clone).unwrap_or_default()
}

/// Runs before routing (wraps the router): `/t/kiel/vorgaenge` → `/vorgaenge` + the tenant.
pub fn strip_tenant_prefix(mut req: Request) -> Request {
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
        return match state.store.get_tenant(&id).await {
            Ok(tenant) => Ok(Some(TenantContext { base: format!("/t/{}", tenant.id), tenant })),
            Err(store::StorageError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        };
    }
    if config.routing == TenantRouting::Host {
        if let Some(host) = host {
            if let Some(tenant) = state.store.find_tenant_by_host(&host).await? {
                return Ok(Some(TenantContext { tenant, base: String::new() }));
            }
        }
    }
    match &config.default_tenant {
        Some(id) => match state.store.get_tenant(id).await {
            Ok(tenant) => Ok(Some(TenantContext { tenant, base: String::new() })),
            Err(store::StorageError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        },
        None => Ok(None),
    }
}

/// Finds the tenant (404 for an unknown one) and the client address, and sets the link prefix
/// for everything that runs inside the request.
pub async fn tenant_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = client_ip(&req, &state.config.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    // Intake is installation-wide and routed by zustaendigeStelle: no tenant to look up.
    if crate::auth::is_intake_path(req.uri().path()) {
        return next.run(req).await;
    }
    let is_api = req.uri().path().starts_with("/api/");
    let path_tenant = req.extensions().get::<PathTenant>().cloned();
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).and_then(normalize_host);
    let ctx = match resolve(&state, path_tenant, host).await {
        Ok(ctx) => ctx,
        Err(e) if is_api => return e.into_response(),
        Err(e) => return PageError(e).into_response(),
    };
    let Some(ctx) = ctx else {
        return if is_api {
            AppError::NotFound.into_response()
        } else {
            crate::pages::error_page(axum::http::StatusCode::NOT_FOUND, "Diesen Mandanten gibt es hier nicht.")
        };
    };
    let base = ctx.base.clone();
    req.extensions_mut().insert(ctx);
    BASE.scope(base, next.run(req)).await
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
}
