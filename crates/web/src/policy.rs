//! Authorization in one place: every route is registered together with the
//! [`Permission`] it needs, and [`authorize`] checks it before any handler runs. A route that
//! somehow has no rule is refused (fail closed), and the authorization-matrix test enumerates
//! [`RouteTable`] — built by the same code that builds the router — so a new route without a
//! rule cannot go unnoticed.
//!
//! Object-level rules (which Vorgang a clerk sees) are [`domain::Visibility`], applied by the
//! store to lists and by [`app::commands::load_visible`] to single reads.

use crate::auth::{is_intake_path, Authenticated, Machine};
use crate::error::{AppError, PageError};
use crate::tenancy::{ClientIp, TenantContext};
use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use domain::{IpAllowlist, Permission, Principal};
use std::collections::HashMap;
use std::sync::Arc;

/// One registered route and what it requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    pub method: Method,
    pub path: String,
    pub permission: Permission,
}

/// All routes of the server with their permissions.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    rules: Vec<RouteRule>,
    index: HashMap<(Method, String), Permission>,
}

impl RouteTable {
    pub fn add(&mut self, method: Method, path: &str, permission: Permission) {
        let previous = self.index.insert((method.clone(), path.to_owned()), permission);
        assert!(previous.is_none(), "route {method} {path} registered twice");
        self.rules.push(RouteRule { method, path: path.to_owned(), permission });
    }

    pub fn rules(&self) -> &[RouteRule] {
        &self.rules
    }

    /// The methods `path` has (for `Allow`); empty for an unknown path.
    pub fn methods(&self, path: &str) -> Vec<Method> {
        let mut methods: Vec<Method> = self.rules.iter().filter(|r| r.path == path).map(|r| r.method.clone()).collect();
        if methods.contains(&Method::GET) {
            methods.push(Method::HEAD);
        }
        methods
    }

    pub fn permission(&self, method: &Method, path: &str) -> Option<Permission> {
        // HEAD is answered by the GET handler, under the GET rule.
        let method = if method == Method::HEAD { &Method::GET } else { method };
        self.index.get(&(method.clone(), path.to_owned())).copied()
    }
}

/// A router builder that cannot add a route without its permission.
pub struct Routes {
    router: Router<AppState>,
    table: RouteTable,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self { router: Router::new(), table: RouteTable::default() }
    }

    pub fn get<H, T>(self, path: &str, permission: Permission, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.route(Method::GET, path, permission, handler)
    }

    pub fn post<H, T>(self, path: &str, permission: Permission, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.route(Method::POST, path, permission, handler)
    }

    fn route<H, T>(mut self, method: Method, path: &str, permission: Permission, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = if method == Method::GET { MethodFilter::GET } else { MethodFilter::POST };
        self.table.add(method, path, permission);
        self.router = self.router.route(path, on(filter, handler));
        self
    }

    /// Routes registered elsewhere (the OpenAPI router), with their rules.
    pub fn merge(mut self, router: Router<AppState>, rules: Vec<RouteRule>) -> Self {
        for r in rules {
            self.table.add(r.method, &r.path, r.permission);
        }
        self.router = self.router.merge(router);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, RouteTable) {
        (self.router, self.table)
    }
}

fn principal(req: &Request) -> Option<Principal> {
    if let Some(a) = req.extensions().get::<Authenticated>() {
        return Some(a.user.principal());
    }
    req.extensions().get::<Machine>().map(|Machine(t)| t.principal())
}

/// The one authorization check per request: route rule × caller, plus the tenant's IP
/// allowlist for people (intake and machines are not bound to clerk networks).
pub async fn authorize(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let Some(matched) = matched else {
        return next.run(req).await; // no route: the fallback answers 404
    };
    let path = req.uri().path();
    let is_api = path.starts_with("/api/") || is_intake_path(path);
    let deny = |e: AppError| if is_api { e.into_response() } else { PageError(e).into_response() };
    let Some(permission) = state.routes.permission(req.method(), matched.as_str()) else {
        let methods = state.routes.methods(matched.as_str());
        if methods.is_empty() {
            tracing::error!(route = matched.as_str(), "route without an authorization rule refused");
            return deny(AppError::Forbidden);
        }
        // The path exists, only not with this method: nothing is run, the caller learns which.
        let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        return deny(AppError::MethodNotAllowed { allow });
    };
    let who = principal(&req);
    if permission != Permission::Intake && !matches!(who, Some(Principal::Token { .. })) {
        if let Some(ctx) = req.extensions().get::<TenantContext>() {
            let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
            let allowlist = IpAllowlist::from_entries(&ctx.tenant.ip_allowlist);
            if !allowlist.is_empty() && !ip.is_some_and(|ip| allowlist.allows(ip)) && !is_exempt(matched.as_str()) {
                return deny(AppError::NetworkNotAllowed);
            }
        }
    }
    // A one-time password opens nothing but the page to change it (and logout).
    let must_change = req.extensions().get::<Authenticated>().is_some_and(|a| a.user.password_change_required);
    if must_change && permission != Permission::Public && !matches!(matched.as_str(), "/passwort" | "/logout") {
        let base = req.extensions().get::<TenantContext>().map(TenantContext::base).unwrap_or_default();
        return crate::pages::password::required_response(is_api, &base);
    }
    let allowed = match (&who, permission) {
        (_, Permission::Public) => true,
        // Machines use the API; the pages are for people.
        (Some(Principal::Token { .. }), _) if !is_api => false,
        (None, Permission::Intake) => state.config.open_intake,
        (None, _) => return deny(AppError::Unauthenticated),
        (Some(p), permission) => p.grants(permission),
    };
    if !allowed {
        return deny(if who.is_none() { AppError::Unauthenticated } else { AppError::Forbidden });
    }
    // A multipart form's CSRF token is in its body: read only now that the caller may use
    // the route, so nobody else can hold an upload slot or keep the server waiting.
    let req = match crate::upload::check_pending_csrf(&state, req).await {
        Ok(req) => req,
        Err(e) => return deny(e),
    };
    next.run(req).await
}

/// Reachable from anywhere: monitoring and the style sheet carry no personal data.
fn is_exempt(route: &str) -> bool {
    matches!(route, "/healthz" | "/static/app.css")
}

pub type SharedRoutes = Arc<RouteTable>;
