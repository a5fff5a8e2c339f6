use super::{render, see_other, Nav};
use crate::auth::{self, CurrentUser, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::PageError;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    username: String,
    error: Option<String>,
}

fn login_page(state: &AppState, status: StatusCode, username: String, error: Option<String>) -> Response {
    // Double-submit token: the login form has no session to bind a CSRF token to yet.
    let csrf = auth::new_token();
    let cookie = auth::set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, state.config.secure_cookies);
    let page = LoginPage { nav: None, flash: None, csrf, username, error };
    (status, [(header::SET_COOKIE, cookie)], render(&page)).into_response()
}

pub async fn form(State(state): State<AppState>, signed_in: Option<Extension<auth::Authenticated>>) -> Response {
    if signed_in.is_some() {
        return see_other("/vorgaenge");
    }
    login_page(&state, StatusCode::OK, String::new(), None)
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
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !auth::same_secret(&expected, &f.csrf) {
        let msg = "Die Anmeldeseite ist abgelaufen. Bitte versuchen Sie es noch einmal.".to_owned();
        return Ok(login_page(&state, StatusCode::FORBIDDEN, f.username, Some(msg)));
    }
    match crate::session::login(&state, &f.username, &f.password).await? {
        Some(token) => {
            let cookie = auth::set_cookie(
                SESSION_COOKIE,
                &token,
                state.config.session_absolute.whole_seconds(),
                state.config.secure_cookies,
            );
            let clear = auth::set_cookie(LOGIN_CSRF_COOKIE, "", 0, state.config.secure_cookies);
            let mut res = see_other("/vorgaenge");
            let h = res.headers_mut();
            for c in [cookie, clear] {
                if let Ok(v) = c.parse() {
                    h.append(header::SET_COOKIE, v);
                }
            }
            Ok(res)
        }
        None => Ok(login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            f.username,
            Some("Benutzername oder Passwort ist falsch.".to_owned()),
        )),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CurrentUser(_): CurrentUser,
) -> Result<Response, PageError> {
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&auth::token_hash(&token)).await?;
    }
    let clear = auth::set_cookie(SESSION_COOKIE, "", 0, state.config.secure_cookies);
    let mut res = see_other("/login");
    if let Ok(v) = clear.parse() {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}
