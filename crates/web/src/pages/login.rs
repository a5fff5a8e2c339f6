use super::{render, see_other, Nav};
use crate::auth::{self, CurrentUser};
use crate::error::PageError;
use crate::session::LoginOutcome;
use crate::tenancy::{Base, ClientIp, TenantContext};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    username: String,
    error: Option<String>,
    tenant_name: String,
    oidc: bool,
}

fn login_page(
    state: &AppState,
    ctx: &TenantContext,
    status: StatusCode,
    username: String,
    error: Option<String>,
) -> Response {
    login_page_with(state, ctx, status, username, error, None)
}

fn login_page_with(
    state: &AppState,
    ctx: &TenantContext,
    status: StatusCode,
    username: String,
    error: Option<String>,
    flash: Option<String>,
) -> Response {
    // Double-submit token: the login form has no session to bind a CSRF token to yet. The
    // cookie names the tenant, so a token from one tenant's form does not sign in at another.
    let base = ctx.base();
    let (csrf, cookie) = crate::session::new_login_csrf(&state.config, &base, &ctx.tenant.id);
    let page = LoginPage {
        base,
        nav: None,
        flash,
        csrf,
        username,
        error,
        tenant_name: ctx.tenant.name.clone(),
        oidc: state.oidc.is_some(),
    };
    (status, [(header::SET_COOKIE, cookie)], render(&page)).into_response()
}

#[derive(Deserialize)]
pub struct FormParams {
    meldung: Option<String>,
}

pub async fn form(
    State(state): State<AppState>,
    Extension(ctx): Extension<TenantContext>,
    base: Base,
    signed_in: Option<Extension<auth::Authenticated>>,
    Query(p): Query<FormParams>,
) -> Response {
    if signed_in.is_some() {
        return see_other(&base, "/");
    }
    let flash = match p.meldung.as_deref() {
        Some("abgemeldet") => Some("Sie wurden abgemeldet.".to_owned()),
        Some("passwort-geaendert") => {
            Some("Ihr Passwort wurde geändert. Bitte melden Sie sich mit dem neuen Passwort an.".to_owned())
        }
        _ => None,
    };
    login_page_with(&state, &ctx, StatusCode::OK, String::new(), None, flash)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

pub async fn submit(
    State(state): State<AppState>,
    Extension(ctx): Extension<TenantContext>,
    Extension(ip): Extension<ClientIp>,
    base: Base,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    if !crate::session::login_csrf_matches(&state.config, &ctx.tenant.id, &headers, &f.csrf) {
        let msg = "Die Anmeldeseite ist abgelaufen. Bitte versuchen Sie es noch einmal.".to_owned();
        return Ok(login_page(&state, &ctx, StatusCode::FORBIDDEN, f.username, Some(msg)));
    }
    match crate::session::login(&state, &ctx, &f.username, &f.password, ip.0).await? {
        LoginOutcome::Success(token) => Ok(signed_in(&state, &base, &token)),
        LoginOutcome::Failed => Ok(login_page(
            &state,
            &ctx,
            StatusCode::UNAUTHORIZED,
            f.username,
            Some("Benutzername oder Passwort ist falsch.".to_owned()),
        )),
        LoginOutcome::Locked(_) => {
            // Without the lock's end: it would tell when someone else's failures began, and
            // differ between a real account and a name without one.
            let msg = format!(
                "Nach zu vielen Fehlversuchen ist die Anmeldung vorübergehend gesperrt (höchstens {} Minuten). Bitte versuchen Sie es später noch einmal.",
                domain::user::LOCK_DURATION.whole_minutes()
            );
            Ok(login_page(&state, &ctx, StatusCode::TOO_MANY_REQUESTS, f.username, Some(msg)))
        }
    }
}

/// Sets the session cookie and sends the user to the start page.
pub fn signed_in(state: &AppState, base: &Base, token: &str) -> Response {
    let cookie = auth::set_cookie(
        base,
        auth::session_cookie_name(&state.config),
        token,
        state.config.session_absolute.whole_seconds(),
        state.config.secure_cookies,
    );
    let clear = crate::session::clear_login_csrf(&state.config, base);
    let mut res = see_other(base, "/");
    let h = res.headers_mut();
    for c in [cookie, clear] {
        if let Ok(v) = c.parse() {
            h.append(header::SET_COOKIE, v);
        }
    }
    res
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CurrentUser(_): CurrentUser,
    base: Base,
) -> Result<Response, PageError> {
    let name = auth::session_cookie_name(&state.config);
    for token in auth::cookies(&headers, name) {
        state.store.installation().delete_session(&auth::token_hash(&token)).await?;
    }
    let clear = auth::set_cookie(&base, name, "", 0, state.config.secure_cookies);
    let mut res = see_other(&base, "/login?meldung=abgemeldet");
    if let Ok(v) = clear.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}
