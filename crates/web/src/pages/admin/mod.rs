//! Tenant administration and the platform operator's pages.

mod audit;
mod jobs;
mod operator;
mod settings;
mod tokens;
mod units;
mod users;

use crate::error::AppError;
use crate::policy::Routes;
use axum::http::StatusCode;
use domain::Permission::{Operator, TenantAdmin};

pub fn routes(r: Routes) -> Routes {
    r.get("/admin/benutzer", TenantAdmin, users::list)
        .post("/admin/benutzer", TenantAdmin, users::create)
        .get("/admin/benutzer/{id}", TenantAdmin, users::edit)
        .post("/admin/benutzer/{id}", TenantAdmin, users::update)
        .post("/admin/benutzer/{id}/passwort", TenantAdmin, users::reset_password)
        .get("/admin/einheiten", TenantAdmin, units::list)
        .post("/admin/einheiten", TenantAdmin, units::create)
        .post("/admin/einheiten/{id}", TenantAdmin, units::update)
        .get("/admin/tokens", TenantAdmin, tokens::list)
        .post("/admin/tokens", TenantAdmin, tokens::create)
        .post("/admin/tokens/{id}/widerrufen", TenantAdmin, tokens::revoke)
        .get("/admin/protokoll", TenantAdmin, audit::page)
        .get("/admin/protokoll.csv", TenantAdmin, audit::csv)
        .get("/admin/einstellungen", TenantAdmin, settings::form)
        .post("/admin/einstellungen", TenantAdmin, settings::save)
        .get("/betrieb/mandanten", Operator, operator::list)
        .post("/betrieb/mandanten", Operator, operator::create)
        .post("/betrieb/mandanten/{id}/host", Operator, operator::set_host)
        .get("/betrieb/auftraege", Operator, jobs::list)
        .post("/betrieb/auftraege/probe", Operator, jobs::probe)
        .post("/betrieb/auftraege/{id}/wiederholen", Operator, jobs::retry)
        .post("/betrieb/auftraege/{id}/verwerfen", Operator, jobs::discard)
}

/// Status of a form page shown again because of what was entered.
const INVALID: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

/// The short confirmations after Post/Redirect/Get (`?meldung=…`) of these pages.
fn flash(code: Option<&str>) -> Option<String> {
    let text = match code? {
        "benutzer-angelegt" => "Der Benutzer wurde angelegt.",
        "benutzer-gespeichert" => "Die Änderungen am Benutzer wurden gespeichert.",
        "einheit-angelegt" => "Die Organisationseinheit wurde angelegt.",
        "einheit-gespeichert" => "Die Organisationseinheit wurde gespeichert.",
        "token-widerrufen" => "Das API-Token wurde widerrufen. Es kann nicht mehr verwendet werden.",
        "einstellungen-gespeichert" => "Die Einstellungen wurden gespeichert.",
        "host-gespeichert" => "Der Hostname wurde gespeichert.",
        "auftrag-wiederholt" => "Der Auftrag wird erneut versucht.",
        "auftrag-verworfen" => "Der Auftrag wurde verworfen.",
        "auftrag-probe" => "Der Probeauftrag wurde eingestellt.",
        _ => return None,
    };
    Some(text.to_owned())
}

/// A urlencoded form as its pairs: checkbox groups repeat their name, which the plain
/// struct extractor cannot collect.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// One checkbox of a group.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// What was wrong with a submitted form, for showing it again: the message above the
/// forms, and the input marked `aria-invalid` and pointing to the message. `form` tells
/// apart the forms of one page (a row's id; `""` for the page's main form).
#[derive(Default)]
pub struct Invalid(Option<(String, String, String)>);

impl Invalid {
    pub fn new(form: &str, field: &str, message: impl Into<String>) -> Self {
        Self(Some((form.to_owned(), field.to_owned(), message.into())))
    }

    /// Input problems become a message on the form; anything else (storage down, not
    /// found) stays an error page.
    pub fn from_app(form: &str, e: impl Into<AppError>) -> Result<Self, AppError> {
        match e.into() {
            AppError::BadRequest { field, message } => Ok(Self::new(form, field.as_deref().unwrap_or(""), message)),
            other => Err(other),
        }
    }

    pub fn message(&self) -> Option<&str> {
        self.0.as_ref().map(|(_, _, m)| m.as_str())
    }

    /// Whether input `field` of the page's main form is the one in error.
    pub fn on(&self, field: &str) -> bool {
        self.at("", field)
    }

    pub fn at(&self, form: &str, field: &str) -> bool {
        self.0.as_ref().is_some_and(|(f, k, _)| f == form && k == field)
    }
}
