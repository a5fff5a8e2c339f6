//! The clerk's web app: server-rendered German HTML that works without JavaScript.

mod admin;
mod formdata;
mod login;
mod oidc_login;
pub mod password;
mod quarantine;
mod vorgang;
mod wiedervorlagen;
mod worklist;

pub use quarantine::parse_delivery_id;

use crate::auth::{Authenticated, CurrentUser};
use crate::policy::Routes;
use crate::tenancy::Base;
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use domain::Permission::{Distribute, Loeschen, Public, ReadVorgaenge, SignedIn, TenantAdmin, WorkVorgaenge};
use domain::{Permission, Role};

pub fn routes() -> Routes {
    let r = Routes::new()
        .get("/", SignedIn, start)
        .get("/login", Public, login::form)
        .post("/login", Public, login::submit)
        .post("/logout", SignedIn, login::logout)
        .get("/passwort", SignedIn, password::form)
        .post("/passwort", SignedIn, password::change)
        .get("/vorgaenge", ReadVorgaenge, worklist::page)
        .post("/vorgaenge/naechster", WorkVorgaenge, vorgang::claim_next)
        .get("/vorgaenge/{id}", ReadVorgaenge, vorgang::page)
        .post("/vorgaenge/{id}/status", WorkVorgaenge, vorgang::change_status)
        .post("/vorgaenge/{id}/zuweisung", Distribute, vorgang::assign)
        .post("/vorgaenge/{id}/aktenzeichen", WorkVorgaenge, vorgang::set_aktenzeichen)
        .post("/vorgaenge/{id}/einheit", Distribute, vorgang::set_unit)
        .post("/vorgaenge/{id}/kommentare", WorkVorgaenge, vorgang::add_kommentar)
        .post("/vorgaenge/{id}/wiedervorlagen", WorkVorgaenge, vorgang::add_wiedervorlage)
        .post("/vorgaenge/{id}/dokumente", WorkVorgaenge, vorgang::attach)
        .post("/dokumente/{id}/entfernen", WorkVorgaenge, vorgang::remove_document)
        .post("/vorgaenge/{id}/loeschen", Loeschen, vorgang::delete_finally)
        .get("/wiedervorlagen", ReadVorgaenge, wiedervorlagen::list)
        .get("/wiedervorlagen/{id}", WorkVorgaenge, wiedervorlagen::edit)
        .post("/wiedervorlagen/{id}", WorkVorgaenge, wiedervorlagen::save)
        .post("/wiedervorlagen/{id}/erledigt", WorkVorgaenge, wiedervorlagen::set_done)
        .get("/dokumente/{id}", ReadVorgaenge, vorgang::download)
        .get("/dokumente/{id}/vorschau", ReadVorgaenge, vorgang::preview)
        .get("/admin/quarantaene", TenantAdmin, quarantine::page)
        .get("/admin/quarantaene/{id}/roh", TenantAdmin, quarantine::raw)
        .post("/admin/quarantaene/{id}/verarbeiten", TenantAdmin, quarantine::reprocess);
    oidc_login::routes(admin::routes(r))
}

/// The start page depends on the role: clerks to their worklist, admins to administration,
/// operators to the tenants.
async fn start(CurrentUser(auth): CurrentUser, base: Base) -> Response {
    let p = auth.user.principal();
    if p.grants(Permission::ReadVorgaenge) {
        see_other(&base, "/vorgaenge")
    } else if p.grants(Permission::Operator) {
        see_other(&base, "/betrieb/mandanten")
    } else if p.grants(Permission::TenantAdmin) {
        see_other(&base, "/admin/benutzer")
    } else {
        error_page(&base, StatusCode::FORBIDDEN, "Ihrem Konto ist noch keine Rolle zugewiesen. Bitte wenden Sie sich an die Administration Ihrer Verwaltung.")
    }
}

/// What the header shows for a signed-in user.
pub struct Nav {
    pub user_name: String,
    pub csrf: String,
    pub is_admin: bool,
    pub is_clerk: bool,
    pub is_operator: bool,
    pub active: &'static str,
}

impl Nav {
    pub fn new(auth: &Authenticated, active: &'static str) -> Option<Self> {
        let p = auth.user.principal();
        Some(Self {
            user_name: auth.user.display_name.clone(),
            csrf: auth.csrf.clone(),
            is_admin: auth.user.has_role(Role::Admin),
            is_clerk: p.grants(Permission::ReadVorgaenge),
            is_operator: p.grants(Permission::Operator),
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
    base: &'a Base,
    nav: Option<Nav>,
    flash: Option<String>,
    heading: &'a str,
    message: &'a str,
}

pub fn error_page(base: &Base, status: StatusCode, message: &str) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Nicht gefunden",
        StatusCode::FORBIDDEN => "Nicht erlaubt",
        StatusCode::CONFLICT => "Zwischenzeitlich geändert",
        s if s.is_client_error() => "Aktion nicht möglich",
        _ => "Fehler",
    };
    let page = ErrorPage { base, nav: None, flash: None, heading, message };
    (status, render(&page)).into_response()
}

/// Post/Redirect/Get: after a successful form, back to a page with a short message code.
/// `location` is a path of the app, under `base`.
pub fn see_other(base: &Base, location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, base.link(location))]).into_response()
}

pub fn flash_text(code: Option<&str>) -> Option<String> {
    let text = match code? {
        "status" => "Der Status wurde geändert.",
        "zugewiesen" => "Die Zuweisung wurde gespeichert.",
        "aktenzeichen" => "Das Aktenzeichen wurde gespeichert.",
        "uebernommen" => "Der nächste Vorgang wurde Ihnen zugewiesen.",
        "stapel-leer" => "Es gibt keinen neuen, nicht zugewiesenen Vorgang.",
        "verarbeitet" => "Der Eingang wurde verarbeitet; der Vorgang ist angelegt.",
        "zugeordnet" => "Der Eingang wurde verarbeitet und dem zuständigen Mandanten zugestellt.",
        "weitergegeben" => "Der Vorgang wurde an die Organisationseinheit weitergegeben.",
        "kommentar" => "Der Kommentar wurde gespeichert.",
        "wiedervorlage" => "Die Wiedervorlage wurde angelegt.",
        "wiedervorlage-gespeichert" => "Die Wiedervorlage wurde gespeichert.",
        "wiedervorlage-erledigt" => "Die Wiedervorlage ist erledigt.",
        "wiedervorlage-offen" => "Die Wiedervorlage ist wieder offen.",
        "dokumente" => "Die Dateien wurden angehängt.",
        "dokument-entfernt" => "Das Dokument wurde entfernt.",
        "geloescht" => "Der Vorgang wurde endgültig gelöscht.",
        _ => return None,
    };
    Some(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::{Links, TenantRouting};
    use domain::{TenantId, TenantKind};

    /// The targets of a page's links (`href`), then of its forms (`action`), each in order.
    fn targets(html: &str) -> Vec<String> {
        let mut out = Vec::new();
        for attr in ["href=\"", "action=\""] {
            let mut rest = html;
            while let Some(i) = rest.find(attr) {
                rest = &rest[i + attr.len()..];
                let end = rest.find('"').unwrap_or(rest.len());
                out.push(rest[..end].to_owned());
            }
        }
        out
    }

    fn page(base: &Base) -> String {
        let nav = Nav {
            user_name: "Erika Muster".into(),
            csrf: "token".into(),
            is_admin: false,
            is_clerk: true,
            is_operator: false,
            active: "vorgaenge",
        };
        let page = ErrorPage {
            base,
            nav: Some(nav),
            flash: None,
            heading: "Nicht gefunden",
            message: "Diesen Vorgang gibt es nicht.",
        };
        page.render().expect("rendered")
    }

    /// The error page's links (head, header, navigation, body), then its one form (logout).
    fn expected(prefix: &str) -> Vec<String> {
        let paths = ["/static/app.css", "/", "/passwort", "/vorgaenge", "/wiedervorlagen", "/vorgaenge", "/logout"];
        let mut out: Vec<String> = paths.iter().map(|p| format!("{prefix}{p}")).collect();
        // The skip link stays on the page.
        out.insert(1, "#inhalt".to_owned());
        out
    }

    /// A page gets its tenant's links from the value it is given: rendered here without a
    /// request, a task or a server around it, as a background job renders a fragment, a mail
    /// or a PDF.
    #[test]
    fn a_page_links_into_the_tenant_it_is_rendered_for() {
        let kiel = TenantId::parse("kiel").expect("id");
        assert_eq!(targets(&page(&Base::of(TenantRouting::Path, &kiel))), expected("/t/kiel"));
        assert_eq!(targets(&page(&Base::of(TenantRouting::Host, &kiel))), expected(""));

        let tenant = store::TenantRecord {
            id: kiel,
            name: "Stadt Kiel".into(),
            kind: TenantKind::Stadt,
            host: Some("kiel.ozg.example".into()),
            ip_allowlist: Vec::new(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        let by_path = Links::new("https://ozg.example/", TenantRouting::Path);
        let base = Base::absolute(&by_path, &tenant).expect("reachable");
        assert_eq!(targets(&page(&base)), expected("https://ozg.example/t/kiel"));
        let by_host = Links::new("https://ozg.example", TenantRouting::Host);
        let base = Base::absolute(&by_host, &tenant).expect("reachable");
        assert_eq!(targets(&page(&base)), expected("https://kiel.ozg.example"));
    }
}
