//! The tenant's audit log: newest first, filtered by action, and as a CSV export. Looking at
//! the log is itself logged: it shows who logged in from where and who read which Vorgang.

use crate::auth::AdminUser;
use crate::error::PageError;
use crate::pages::{render, Nav};
use crate::tenancy::{Base, ClientIp};
use crate::{fmt, AppState};
use app::commands::audit;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use store::{AuditQuery, AuditRecord};

const PER_PAGE: u32 = 50;
const EXPORT_BATCH: u32 = 1000;

/// Every action written to the log, with the words the admin reads.
const ACTIONS: [(&str, &str); 20] = [
    ("anmeldung", "Anmeldung"),
    ("anmeldung_oidc", "Anmeldung über Identitätsanbieter"),
    ("anmeldung_fehlgeschlagen", "Anmeldung fehlgeschlagen"),
    ("anmeldung_gesperrt", "Anmeldung abgewiesen (Konto gesperrt)"),
    ("konto_gesperrt", "Konto nach Fehlversuchen gesperrt"),
    ("abmeldung", "Abmeldung"),
    ("vorgang_gelesen", "Vorgang geöffnet"),
    ("dokument_gelesen", "Dokument abgerufen"),
    ("benutzer_angelegt", "Benutzer angelegt"),
    ("benutzer_geaendert", "Benutzer geändert"),
    ("passwort_zurueckgesetzt", "Passwort zurückgesetzt"),
    ("einheit_angelegt", "Organisationseinheit angelegt"),
    ("einheit_geaendert", "Organisationseinheit geändert"),
    ("token_erstellt", "API-Token erstellt"),
    ("token_widerrufen", "API-Token widerrufen"),
    ("einstellungen_geaendert", "Einstellungen geändert"),
    ("mandant_angelegt", "Mandant angelegt"),
    ("mandant_host_geaendert", "Hostname eines Mandanten geändert"),
    ("protokoll_gelesen", "Protokoll angesehen"),
    ("protokoll_exportiert", "Protokoll exportiert"),
];

pub fn action_label(code: &str) -> &str {
    ACTIONS.iter().find(|(c, _)| *c == code).map_or(code, |(_, label)| label)
}

pub struct AuditRow {
    at: String,
    at_iso: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
    ip: String,
}

pub struct ActionOption {
    code: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "admin_protokoll.html")]
struct AuditPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    actions: Vec<ActionOption>,
    filtered: bool,
    rows: Vec<AuditRow>,
    csv_href: String,
    newest_href: Option<String>,
    older_href: Option<String>,
}

#[derive(Deserialize)]
pub struct Params {
    aktion: Option<String>,
    /// Entries older than this position (paging).
    vor: Option<i64>,
}

/// Action codes are snake case; anything else in the address is no filter.
fn action_filter(p: &Params) -> Option<String> {
    p.aktion
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty() && a.len() <= 64 && a.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .map(str::to_owned)
}

fn query_string(action: Option<&str>, before: Option<i64>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(a) = action {
        q.append_pair("aktion", a);
    }
    if let Some(b) = before {
        q.append_pair("vor", &b.to_string());
    }
    let q = q.finish();
    if q.is_empty() {
        q
    } else {
        format!("?{q}")
    }
}

fn filter_detail(action: Option<&str>) -> String {
    match action {
        Some(a) => format!("Filter: {}", action_label(a)),
        None => "alle Einträge".to_owned(),
    }
}

pub async fn page(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let action = action_filter(&p);
    let before = p.vor.filter(|b| *b > 0);
    audit(&state.app, &auth.caller(), "protokoll_gelesen", None, Some(filter_detail(action.as_deref())), ip.0).await?;
    let query = AuditQuery { before, action: action.clone(), limit: PER_PAGE + 1 };
    let mut entries = state.store.tenant(&auth.tenant).list_audit(&query).await?;
    let more = entries.len() > PER_PAGE as usize;
    entries.truncate(PER_PAGE as usize);
    let older_href = entries
        .last()
        .filter(|_| more)
        .map(|last| base.link(&format!("/admin/protokoll{}", query_string(action.as_deref(), Some(last.seq)))));
    let t = AuditPage {
        base: base.clone(),
        nav: Nav::new(&auth, "protokoll"),
        flash: None,
        actions: ACTIONS
            .iter()
            .map(|&(code, label)| ActionOption { code, label, selected: action.as_deref() == Some(code) })
            .collect(),
        filtered: action.is_some(),
        rows: entries.into_iter().map(row).collect(),
        csv_href: base.link(&format!("/admin/protokoll.csv{}", query_string(action.as_deref(), None))),
        newest_href: before.map(|_| base.link(&format!("/admin/protokoll{}", query_string(action.as_deref(), None)))),
        older_href,
    };
    Ok(render(&t))
}

fn row(r: AuditRecord) -> AuditRow {
    let e = r.entry;
    AuditRow {
        at: fmt::date_time(e.at),
        at_iso: fmt::iso(e.at),
        actor: e.actor.name,
        action: action_label(&e.action).to_owned(),
        target: e.target.unwrap_or_default(),
        detail: e.detail.unwrap_or_default(),
        ip: e.ip.unwrap_or_default(),
    }
}

pub async fn csv(
    State(state): State<AppState>,
    AdminUser(auth): AdminUser,
    Extension(ip): Extension<ClientIp>,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let action = action_filter(&p);
    audit(&state.app, &auth.caller(), "protokoll_exportiert", None, Some(filter_detail(action.as_deref())), ip.0)
        .await?;
    // The BOM makes Excel read UTF-8; without it umlauts turn into mojibake.
    let mut out = String::from("\u{feff}");
    out.push_str(&csv_line(&[
        "Nr.",
        "Zeitpunkt (UTC)",
        "Person",
        "Aktion",
        "Aktionscode",
        "Betrifft",
        "Details",
        "IP-Adresse",
    ]));
    let mut before = None;
    loop {
        let query = AuditQuery { before, action: action.clone(), limit: EXPORT_BATCH };
        let batch = state.store.tenant(&auth.tenant).list_audit(&query).await?;
        for r in &batch {
            let e = &r.entry;
            out.push_str(&csv_line(&[
                &r.seq.to_string(),
                &fmt::iso(e.at),
                &e.actor.name,
                action_label(&e.action),
                &e.action,
                e.target.as_deref().unwrap_or(""),
                e.detail.as_deref().unwrap_or(""),
                e.ip.as_deref().unwrap_or(""),
            ]));
        }
        let last = batch.last().map(|r| r.seq);
        // A short batch is the end; a position that does not go down would loop for ever.
        if batch.len() < EXPORT_BATCH as usize || last.is_none() || (before.is_some() && last >= before) {
            break;
        }
        before = last;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"protokoll.csv\""),
        ],
        out,
    )
        .into_response())
}

/// One record, `;`-separated as German Excel expects, every field quoted, CRLF (RFC 4180).
fn csv_line(fields: &[&str]) -> String {
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(";");
    line.push_str("\r\n");
    line
}

/// Quotes a field. Spreadsheets run cells starting with `=`, `+`, `-`, `@` as formulas, and
/// details hold what strangers typed (a failed login's user name): those get a leading `'`.
fn csv_field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    format!("\"{}{}\"", if formula { "'" } else { "" }, s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("Müller"), "\"Müller\"");
        assert_eq!(csv_field("sagt \"hallo\"; tschüss"), "\"sagt \"\"hallo\"\"; tschüss\"");
        assert_eq!(csv_field("zwei\nZeilen"), "\"zwei\nZeilen\"");
        assert_eq!(csv_field(""), "\"\"");
        assert_eq!(csv_line(&["a", "b"]), "\"a\";\"b\"\r\n");
    }

    #[test]
    fn csv_neutralizes_formulas() {
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUMME(A1)"), "\"'@SUMME(A1)\"");
        assert_eq!(csv_field("-1"), "\"'-1\"");
        assert_eq!(csv_field("a=b"), "\"a=b\"");
    }

    #[test]
    fn labels_and_filters() {
        assert_eq!(action_label("benutzer_angelegt"), "Benutzer angelegt");
        assert_eq!(action_label("neu_und_unbekannt"), "neu_und_unbekannt");
        let p = |a: &str| Params { aktion: Some(a.to_owned()), vor: None };
        assert_eq!(action_filter(&p("anmeldung")).as_deref(), Some("anmeldung"));
        assert_eq!(action_filter(&p("")), None);
        assert_eq!(action_filter(&p("x' OR 1=1")), None);
        assert_eq!(query_string(Some("anmeldung"), Some(42)), "?aktion=anmeldung&vor=42");
        assert_eq!(query_string(None, None), "");
    }
}
