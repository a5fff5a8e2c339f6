//! The web app and API of ozgcloud (axum). Handlers stay thin: extract, call one command or
//! store operation, render. Rules live in `domain`, SQL in the store crates.

pub mod api;
pub mod auth;
pub mod commands;
mod download;
pub mod error;
pub mod fmt;
pub mod oidc;
mod pages;
pub mod session;
mod worklist_params;

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use documents::BlobStore;
use domain::TenantId;
use intake::Intake;
use std::sync::Arc;
use store::Store;

pub use auth::{check_password_rules, hash_password};

#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Cookies only over HTTPS; on when the public URL is https.
    pub secure_cookies: bool,
    /// The tenant this installation serves until multi-tenancy lands.
    pub tenant: TenantId,
    pub session_idle: time::Duration,
    pub session_absolute: time::Duration,
    /// When set, intake requires `Authorization: Bearer <token>`.
    pub intake_token: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            tenant: TenantId::default_tenant(),
            session_idle: time::Duration::minutes(30),
            session_absolute: time::Duration::hours(12),
            intake_token: None,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub intake: Intake,
    pub config: Arc<WebConfig>,
}

const CSS: &str = include_str!("../static/app.css");

pub fn router(state: AppState) -> Router {
    let (api, openapi) = api::router().split_for_parts();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(pages::router())
        .merge(api)
        .route("/api/v1/openapi.json", get(move || async move { Json(openapi.as_ref().clone()) }))
        .route(
            "/static/app.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    CSS,
                )
            }),
        )
        .route("/healthz", get(health))
        .layer(middleware::from_fn_with_state(state.clone(), auth::session_layer))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// The OpenAPI document, for snapshot tests and `ozgcloud openapi`.
pub fn openapi_json() -> String {
    let (_, openapi) = api::router().split_for_parts();
    openapi.to_pretty_json().unwrap_or_default()
}

async fn health(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match state.store.count_users(&state.config.tenant).await {
        Ok(_) => Json(serde_json::json!({"status": "ok", "store": state.store.backend()})).into_response(),
        Err(e) => error::AppError::from(e).into_response(),
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
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
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages carry personal data: never keep them in shared caches.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Paths hold ids only, never personal data.
    tracing::info!(%method, path, status = res.status().as_u16(), ms = start.elapsed().as_millis() as u64, "request");
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
