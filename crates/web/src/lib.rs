//! The web app and API of ozgcloud (axum). Handlers stay thin: extract, call one command or
//! store operation, render. Rules live in `domain`, SQL in the store crates.

pub mod api;
pub mod auth;
mod download;
pub mod error;
pub mod fmt;
pub mod oidc;
mod pages;
pub mod policy;
pub mod request_id;
pub mod session;
pub mod tenancy;
pub mod upload;
mod worklist_params;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use documents::BlobStore;
use domain::tenant::IpNet;
use domain::{Permission, TenantId};
use intake::Intake;
use policy::{RouteRule, RouteTable};
use std::sync::Arc;
use store::Store;
use tenancy::TenantRouting;

pub use app::passwords::{check_password_rules, hash_password};

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Cookies only over HTTPS, and HSTS; on when the public URL is https.
    pub secure_cookies: bool,
    /// How tenants are addressed.
    pub routing: TenantRouting,
    /// The tenant for requests without a tenant prefix or known host name.
    pub default_tenant: Option<TenantId>,
    pub session_idle: time::Duration,
    pub session_absolute: time::Duration,
    /// Intake without an API token (delivered into the platform tenant and routed from there).
    pub open_intake: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (for IP allowlists and the audit log).
    pub trusted_proxies: Vec<IpNet>,
    /// The server's public URL without trailing slash (OIDC redirect URIs).
    pub public_url: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            routing: TenantRouting::Path,
            default_tenant: Some(TenantId::default_tenant()),
            session_idle: time::Duration::minutes(30),
            session_absolute: time::Duration::hours(12),
            open_intake: false,
            trusted_proxies: Vec::new(),
            public_url: "http://localhost:8080".to_owned(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub intake: Intake,
    /// The application layer: commands, provisioning, passwords, the job queue.
    pub app: app::App,
    pub config: Arc<WebConfig>,
    /// Login through an OpenID provider, when configured.
    pub oidc: Option<oidc::OidcClient>,
    /// Filled by [`router`]: the permissions of all routes.
    pub routes: policy::SharedRoutes,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, intake: Intake, config: WebConfig) -> Self {
        let app = app::App::new(store.clone(), blobs.clone());
        Self { store, blobs, intake, app, config: Arc::new(config), oidc: None, routes: Arc::default() }
    }
}

const CSS: &str = include_str!("../static/app.css");

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], CSS)
        .into_response()
}

/// Every route of the server with its permission, and the router without state.
pub fn routes() -> (Router<AppState>, RouteTable) {
    let (api, openapi) = api::split();
    let mut api_rules = Vec::new();
    for (path, item) in &openapi.paths.paths {
        let methods = [
            (Method::GET, item.get.is_some()),
            (Method::POST, item.post.is_some()),
            (Method::PUT, item.put.is_some()),
            (Method::DELETE, item.delete.is_some()),
            (Method::PATCH, item.patch.is_some()),
        ];
        for (method, present) in methods {
            if present {
                let permission = api::permission(&method, path)
                    .unwrap_or_else(|| panic!("API route {method} {path} has no rule in api::permission"));
                api_rules.push(RouteRule { method, path: path.clone(), permission });
            }
        }
    }
    let openapi = Arc::new(openapi);
    pages::routes()
        .merge(api, api_rules)
        .get("/api/v1/openapi.json", Permission::Public, move || async move { Json(openapi.as_ref().clone()) })
        .get("/static/app.css", Permission::Public, css)
        .get("/healthz", Permission::Public, health)
        .into_parts()
}

/// The whole web app: tenant resolution, caller, authorization, headers around the routes.
/// Serve it through [`service`], which strips path-routed tenant prefixes before routing.
pub fn router(mut state: AppState) -> Router {
    let (router, table) = routes();
    state.routes = Arc::new(table);
    let hsts = state.config.secure_cookies;
    router
        .layer(middleware::from_fn_with_state(state.clone(), policy::authorize))
        .layer(middleware::from_fn_with_state(state.clone(), auth::session_layer))
        .layer(middleware::from_fn_with_state(state.clone(), tenancy::tenant_layer))
        .layer(middleware::from_fn(move |req, next| security_headers(hsts, req, next)))
        .layer(middleware::from_fn(request_id::layer))
        .with_state(state)
}

/// The router behind the tenant-prefix rewrite: what the binary serves.
pub fn service(state: AppState) -> tower::util::MapRequest<Router, fn(Request) -> Request> {
    tower::ServiceExt::map_request(router(state), tenancy::strip_tenant_prefix as fn(Request) -> Request)
}

/// The OpenAPI document, for snapshot tests and `ozgcloud openapi`.
pub fn openapi_json() -> String {
    let (_, openapi) = api::split();
    openapi.to_pretty_json().unwrap_or_default()
}

async fn health(State(state): State<AppState>) -> Response {
    match state.store.tenant(&TenantId::platform()).count_users().await {
        Ok(_) => Json(serde_json::json!({"status": "ok", "store": state.store.backend()})).into_response(),
        Err(e) => error::AppError::from(e).into_response(),
    }
}

async fn security_headers(hsts: bool, req: Request, next: Next) -> Response {
    let start = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()");
    if hsts {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains");
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages carry personal data: never keep them in shared caches.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Paths hold ids only, never personal data.
    tracing::info!(%method, path = %tenancy::loggable_path(&path), status = res.status().as_u16(), ms = start.elapsed().as_millis() as u64, "request");
    res
}

#[cfg(test)]
mod tests {
    /// Every change of the public API shows up in review as a change of this snapshot.
    #[test]
    fn openapi_document_snapshot() {
        let doc: serde_json::Value = serde_json::from_str(&super::openapi_json()).expect("valid JSON");
        insta::assert_json_snapshot!("openapi", doc);
    }
}
