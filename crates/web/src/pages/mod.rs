//! The clerk's web app: server-rendered German HTML that works without JavaScript.

mod formdata;
mod login;
mod quarantine;
mod vorgang;
mod worklist;

pub use quarantine::parse_delivery_id;

use crate::auth::Authenticated;
use crate::AppState;
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/vorgaenge") }))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/vorgaenge", get(worklist::page))
        .route("/vorgaenge/naechster", post(vorgang::claim_next))
        .route("/vorgaenge/{id}", get(vorgang::page))
        .route("/vorgaenge/{id}/status", post(vorgang::change_status))
        .route("/vorgaenge/{id}/zuweisung", post(vorgang::assign))
        .route("/vorgaenge/{id}/aktenzeichen", post(vorgang::set_aktenzeichen))
        .route("/dokumente/{id}", get(vorgang::download))
        .route("/dokumente/{id}/vorschau", get(vorgang::preview))
        .route("/admin/quarantaene", get(quarantine::page))
        .route("/admin/quarantaene/{id}/roh", get(quarantine::raw))
        .route("/admin/quarantaene/{id}/verarbeiten", post(quarantine::reprocess))
}

/// What the header shows for a signed-in user.
pub struct Nav {
    pub user_name: String,
    pub csrf: String,
    pub is_admin: bool,
    pub active: &'static str,
}

impl Nav {
    pub fn new(auth: &Authenticated, active: &'static str) -> Option<Self> {
        Some(Self {
            user_name: auth.user.display_name.clone(),
            csrf: auth.csrf.clone(),
            is_admin: auth.user.role == Role::Admin,
            active,
        })
    }
}

pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "Interner Fehler").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    nav: Option<Nav>,
    flash: Option<String>,
    heading: &'a str,
    message: &'a str,
}

pub fn error_page(status: StatusCode, message: &str) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Nicht gefunden",
        StatusCode::FORBIDDEN => "Nicht erlaubt",
        StatusCode::CONFLICT => "Zwischenzeitlich geändert",
        s if s.is_client_error() => "Aktion nicht möglich",
        _ => "Fehler",
    };
    let page = ErrorPage { nav: None, flash: None, heading, message };
    (status, render(&page)).into_response()
}

/// Post/Redirect/Get: after a successful form, back to a page with a short message code.
pub fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_owned())]).into_response()
}

pub fn flash_text(code: Option<&str>) -> Option<String> {
    let text = match code? {
        "status" => "Der Status wurde geändert.",
        "zugewiesen" => "Die Zuweisung wurde gespeichert.",
        "aktenzeichen" => "Das Aktenzeichen wurde gespeichert.",
        "uebernommen" => "Der nächste Vorgang wurde Ihnen zugewiesen.",
        "stapel-leer" => "Es gibt keinen neuen, nicht zugewiesenen Vorgang.",
        "verarbeitet" => "Der Eingang wurde verarbeitet; der Vorgang ist angelegt.",
        _ => return None,
    };
    Some(text.to_owned())
}
