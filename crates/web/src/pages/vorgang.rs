use super::{flash_text, render, see_other, Nav};
use crate::auth::CurrentUser;
use crate::error::{AppError, PageError};
use crate::fmt;
use crate::tenancy::Base;
use crate::tenancy::ClientIp;
use crate::upload::Upload;
use crate::AppState;
use app::commands;
use askama::Template;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Form;
use domain::{DocumentId, VorgangEvent};
use serde::Deserialize;
use store::{DocumentKind, EventRecord, KommentarRecord, WiedervorlageRecord};

pub struct VorgangView {
    id: String,
    nummer: String,
    form_name: String,
    status: &'static str,
    status_code: &'static str,
    status_since: String,
    aktenzeichen: String,
    aktenzeichen_display: String,
    eingang: String,
    eingang_iso: String,
    assignee_display: String,
    zustaendige_stelle: String,
    unit_display: String,
    version: i64,
}

pub struct CommandView {
    code: &'static str,
    label: &'static str,
    needs_reason: bool,
}

pub struct DocumentView {
    id: String,
    kind: &'static str,
    filename: String,
    size: String,
    content_type: String,
    previewable: bool,
}

/// A link to a document, as lists of notes show their attachments.
pub struct DocumentLink {
    pub id: String,
    pub filename: String,
    pub size: String,
    pub previewable: bool,
}

impl DocumentLink {
    fn new(d: &store::DocumentRecord) -> Self {
        Self {
            id: d.id.to_string(),
            filename: d.filename.clone(),
            size: fmt::size(d.size),
            previewable: crate::download::previewable(&d.content_type),
        }
    }
}

/// A document a clerk attached to the Vorgang itself.
pub struct ClerkDocumentView {
    link: DocumentLink,
    /// Attached by the viewer, who may remove it.
    mine: bool,
    content_type: String,
    by: String,
    at: String,
    at_iso: String,
}

pub struct HistoryView {
    at: String,
    at_iso: String,
    what: String,
    actor: String,
    reason: Option<String>,
}

pub struct Colleague {
    id: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "vorgang.html")]
struct VorgangPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    me: String,
    v: VorgangView,
    applicant_lines: Vec<String>,
    applicant_email: Option<String>,
    applicant_email_link: bool,
    applicant_phone: Option<String>,
    form_html: String,
    documents: Vec<DocumentView>,
    history: Vec<HistoryView>,
    commands: Vec<CommandView>,
    colleagues: Vec<Colleague>,
    assigned_to_me: bool,
    can_work: bool,
    can_distribute: bool,
    units: Vec<Colleague>,
    kommentare: Vec<KommentarView>,
    wiedervorlagen: Vec<WiedervorlageView>,
    today_iso: String,
    clerk_documents: Vec<ClerkDocumentView>,
    max_file_mb: usize,
    can_delete: bool,
    deletion_requested_by_me: bool,
}

pub struct KommentarView {
    at: String,
    at_iso: String,
    author: String,
    text: String,
    attachments: Vec<DocumentLink>,
}

/// One Wiedervorlage as lists show it.
pub struct WiedervorlageView {
    pub id: String,
    pub vorgang_id: String,
    pub vorgang_nummer: String,
    pub betreff: String,
    pub beschreibung: String,
    pub frist: String,
    pub frist_iso: String,
    pub overdue: bool,
    pub due_today: bool,
    pub erledigt: bool,
    pub version: i64,
    pub created_by: String,
    pub attachments: Vec<DocumentLink>,
}

impl WiedervorlageView {
    pub fn new(w: &WiedervorlageRecord, today: time::Date) -> Self {
        Self {
            id: w.id.to_string(),
            vorgang_id: w.vorgang_id.to_string(),
            vorgang_nummer: w.vorgang_nummer.to_string(),
            betreff: w.betreff.clone(),
            beschreibung: w.beschreibung.clone(),
            frist: fmt::day(w.frist),
            frist_iso: fmt::iso_day(w.frist),
            overdue: !w.erledigt && w.frist < today,
            due_today: !w.erledigt && w.frist == today,
            erledigt: w.erledigt,
            version: w.version,
            created_by: w.created_by.name.clone(),
            attachments: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
pub struct PageParams {
    meldung: Option<String>,
}

fn plain_address(s: &str) -> bool {
    let mut parts = s.split('@');
    let ok_chars = s.chars().all(|c| c.is_alphanumeric() || "._+-@".contains(c));
    ok_chars
        && matches!((parts.next(), parts.next(), parts.next()), (Some(l), Some(d), None) if !l.is_empty() && d.contains('.'))
}

/// `2026-12-01` → `01.12.2026`.
fn describe(
    e: &EventRecord,
    kommentare: &[KommentarRecord],
    documents: &[store::ClerkDocumentRecord],
) -> (String, Option<String>) {
    match &e.event {
        VorgangEvent::DokumentAngehaengt { document_id, zu } => {
            let name = documents
                .iter()
                .find(|d| d.document.id == *document_id)
                .map_or_else(|| "(inzwischen entfernt)".to_owned(), |d| d.document.filename.clone());
            let place = match zu.as_str() {
                "KOMMENTAR" => " (zu einem Kommentar)",
                "WIEDERVORLAGE" => " (zu einer Wiedervorlage)",
                _ => "",
            };
            (format!("Dokument angehängt{place}: {name}"), None)
        }
        VorgangEvent::DokumentEntfernt { .. } => ("Dokument entfernt".to_owned(), None),
        VorgangEvent::Geloescht { .. } => ("Endgültig gelöscht".to_owned(), None),
        // Tenant-level: never part of a Vorgang's history.
        VorgangEvent::EingangQuarantaene { .. } => ("Eingang in Quarantäne".to_owned(), None),
        VorgangEvent::EingangNichtZuordenbar { .. } => ("Eingang nicht zuordenbar".to_owned(), None),
        VorgangEvent::KommentarHinzugefuegt { kommentar_id } => {
            ("Kommentar".to_owned(), kommentare.iter().find(|k| k.id == *kommentar_id).map(|k| k.text.clone()))
        }
        VorgangEvent::WiedervorlageAngelegt { betreff, frist, .. } => {
            (format!("Wiedervorlage angelegt: {betreff} (Frist {})", fmt::day(*frist)), None)
        }
        VorgangEvent::WiedervorlageGeaendert { betreff, frist, .. } => {
            (format!("Wiedervorlage geändert: {betreff} (Frist {})", fmt::day(*frist)), None)
        }
        VorgangEvent::WiedervorlageErledigt { betreff, .. } => (format!("Wiedervorlage erledigt: {betreff}"), None),
        VorgangEvent::WiedervorlageWiedereroeffnet { betreff, .. } => {
            (format!("Wiedervorlage wieder geöffnet: {betreff}"), None)
        }
        VorgangEvent::Eingegangen { form_name, .. } => (format!("Eingegangen: {form_name}"), None),
        VorgangEvent::StatusGeaendert { command, from, to, reason } => (
            format!("{}: {} → {}", command.label(), from.label(), to.label()),
            reason.as_ref().map(|r| format!("Begründung: {r}")),
        ),
        VorgangEvent::Zugewiesen { to: Some(name), .. } => (format!("Zugewiesen an {name}"), None),
        VorgangEvent::Zugewiesen { to: None, .. } => ("Zuweisung aufgehoben".to_owned(), None),
        VorgangEvent::AktenzeichenGeaendert { to: Some(az), .. } => (format!("Aktenzeichen gesetzt: {az}"), None),
        VorgangEvent::AktenzeichenGeaendert { to: None, .. } => ("Aktenzeichen entfernt".to_owned(), None),
        VorgangEvent::EinheitGeaendert { to: Some(name), .. } => (format!("Weitergegeben an {name}"), None),
        VorgangEvent::EinheitGeaendert { to: None, .. } => ("Organisationseinheit entfernt".to_owned(), None),
    }
}

pub async fn page(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
    Query(params): Query<PageParams>,
) -> Result<Response, PageError> {
    let id = commands::parse_vorgang_id(&id)?;
    let caller = auth.caller();
    let v = commands::read_vorgang(&state.app, &caller, id, ip.0).await?;
    let (history, kommentare, wiedervorlagen, clerk_documents) = tokio::try_join!(
        v.history(&state.app),
        v.kommentare(&state.app),
        v.wiedervorlagen(&state.app),
        v.clerk_documents(&state.app),
    )?;
    let tenant = state.store.tenant(&auth.tenant);
    let (users, units) = tokio::try_join!(tenant.list_users(), tenant.list_units())?;
    let attached = |to: store::AttachedTo| -> Vec<DocumentLink> {
        clerk_documents.iter().filter(|d| d.attached_to == to).map(|d| DocumentLink::new(&d.document)).collect()
    };
    // Who asked for deletion: the four-eyes rule shows before the button is pressed.
    let deletion_requested_by = commands::deletion_request(&history).and_then(|e| e.actor.user);
    let today = fmt::today();
    let assignee_id = v.assignee.as_ref().map(|a| a.id);
    let mut applicant_lines: Vec<String> = v.applicant.display_name().into_iter().collect();
    applicant_lines.extend(v.applicant.address_lines());
    let page = VorgangPage {
        base,
        nav: Nav::new(&auth, "vorgaenge"),
        flash: flash_text(params.meldung.as_deref()),
        csrf: auth.csrf.clone(),
        me: auth.user.id.to_string(),
        assigned_to_me: assignee_id == Some(auth.user.id),
        v: VorgangView {
            id: v.head.id.to_string(),
            nummer: v.head.nummer.to_string(),
            form_name: v.form_name.clone(),
            status: v.head.status.label(),
            status_code: v.head.status.as_str(),
            status_since: fmt::date_time(v.head.status_since),
            aktenzeichen_display: v.aktenzeichen.clone().unwrap_or_else(|| "–".to_owned()),
            aktenzeichen: v.aktenzeichen.clone().unwrap_or_default(),
            eingang: fmt::date_time(v.eingang_at),
            eingang_iso: fmt::iso(v.eingang_at),
            assignee_display: v
                .assignee
                .as_ref()
                .map_or_else(|| "nicht zugewiesen".to_owned(), |a| a.display_name.clone()),
            zustaendige_stelle: v.zustaendige_stelle.clone(),
            unit_display: v
                .unit
                .and_then(|id| units.iter().find(|u| u.id == id))
                .map_or_else(|| "keine".to_owned(), |u| u.name.clone()),
            version: v.head.version,
        },
        can_work: auth.caller().principal.grants(domain::Permission::WorkVorgaenge),
        kommentare: kommentare
            .iter()
            .rev()
            .map(|k| KommentarView {
                at: fmt::date_time(k.at),
                at_iso: fmt::iso(k.at),
                author: k.author.name.clone(),
                text: k.text.clone(),
                attachments: attached(store::AttachedTo::Kommentar(k.id)),
            })
            .collect(),
        wiedervorlagen: wiedervorlagen
            .iter()
            .map(|w| WiedervorlageView {
                attachments: attached(store::AttachedTo::Wiedervorlage(w.id)),
                ..WiedervorlageView::new(w, today)
            })
            .collect(),
        today_iso: fmt::iso_day(today),
        clerk_documents: clerk_documents
            .iter()
            .filter(|d| d.attached_to == store::AttachedTo::Vorgang)
            .map(|d| ClerkDocumentView {
                link: DocumentLink::new(&d.document),
                mine: d.by.user == Some(auth.user.id),
                content_type: d.document.content_type.clone(),
                by: d.by.name.clone(),
                at: fmt::date_time(d.at),
                at_iso: fmt::iso(d.at),
            })
            .collect(),
        max_file_mb: crate::upload::MAX_FILE / (1024 * 1024),
        can_delete: v.head.status == domain::VorgangStatus::ZuLoeschen
            && auth.caller().principal.grants(domain::Permission::Loeschen),
        deletion_requested_by_me: deletion_requested_by == Some(auth.user.id),
        can_distribute: auth.caller().principal.grants(domain::Permission::Distribute),
        units: units
            .iter()
            .map(|u| Colleague { selected: Some(u.id) == v.unit, id: u.id.to_string(), name: u.name.clone() })
            .collect(),
        applicant_lines,
        // Linked only when it is a plain address: no `?cc=…&body=…` smuggled into mailto.
        applicant_email: v.applicant.email.clone(),
        applicant_email_link: v.applicant.email.as_deref().is_some_and(plain_address),
        applicant_phone: v.applicant.telefon.clone(),
        form_html: super::formdata::render(&v.form_data),
        documents: v
            .documents
            .iter()
            .map(|d| DocumentView {
                id: d.id.to_string(),
                kind: match d.kind {
                    DocumentKind::Representation => "Antrag",
                    DocumentKind::Attachment => "Anhang",
                    DocumentKind::Clerk => "Bearbeitung",
                },
                filename: d.filename.clone(),
                size: fmt::size(d.size),
                content_type: d.content_type.clone(),
                previewable: crate::download::previewable(&d.content_type),
            })
            .collect(),
        history: history
            .iter()
            .rev()
            .map(|e| {
                let (what, reason) = describe(e, &kommentare, &clerk_documents);
                HistoryView {
                    at: fmt::date_time(e.at),
                    at_iso: fmt::iso(e.at),
                    what,
                    actor: e.actor.name.clone(),
                    reason,
                }
            })
            .collect(),
        commands: v
            .head
            .status
            .legal_commands()
            .into_iter()
            .map(|c| CommandView { code: c.as_str(), label: c.label(), needs_reason: c.requires_reason() })
            .collect(),
        colleagues: users
            .into_iter()
            .filter(|u| !u.disabled && u.has_role(domain::Role::Sachbearbeitung))
            .map(|u| Colleague { selected: Some(u.id) == assignee_id, id: u.id.to_string(), name: u.display_name })
            .collect(),
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct StatusForm {
    command: String,
    version: i64,
    #[serde(default)]
    reason: Option<String>,
}

pub async fn change_status(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> Result<Response, PageError> {
    let id = commands::parse_vorgang_id(&id)?;
    commands::change_status(&state.app, &auth.caller(), id, &f.command, f.version, f.reason).await?;
    Ok(see_other(&base, &format!("/vorgaenge/{id}?meldung=status")))
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    user_id: String,
    version: i64,
}

pub async fn assign(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<AssignForm>,
) -> Result<Response, PageError> {
    let id = commands::parse_vorgang_id(&id)?;
    let to = commands::parse_user_id(&f.user_id)?;
    commands::assign(&state.app, &auth.caller(), id, to, f.version).await?;
    Ok(see_other(&base, &format!("/vorgaenge/{id}?meldung=zugewiesen")))
}

#[derive(Deserialize)]
pub struct AktenzeichenForm {
    #[serde(default)]
    aktenzeichen: String,
    version: i64,
}

pub async fn set_aktenzeichen(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<AktenzeichenForm>,
) -> Result<Response, PageError> {
    let id = commands::parse_vorgang_id(&id)?;
    commands::set_aktenzeichen(&state.app, &auth.caller(), id, &f.aktenzeichen, f.version).await?;
    Ok(see_other(&base, &format!("/vorgaenge/{id}?meldung=aktenzeichen")))
}

#[derive(Deserialize)]
pub struct UnitForm {
    #[serde(default)]
    unit_id: String,
    version: i64,
}

pub async fn set_unit(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
    Form(f): Form<UnitForm>,
) -> Result<Response, PageError> {
    let id = commands::parse_vorgang_id(&id)?;
    let to = commands::parse_unit_id(&f.unit_id)?;
    commands::set_unit(&state.app, &auth.caller(), id, to, f.version).await?;
    // After handing it on, the clerk may no longer see it: back to the list.
    Ok(see_other(&base, "/vorgaenge?meldung=weitergegeben"))
}

pub async fn claim_next(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
) -> Result<Response, PageError> {
    Ok(match commands::claim_next(&state.app, &auth.caller()).await? {
        Some(head) => see_other(&base, &format!("/vorgaenge/{}?meldung=uebernommen", head.id)),
        None => see_other(&base, "/vorgaenge?meldung=stapel-leer"),
    })
}

async fn document_response(
    state: &AppState,
    auth: &crate::auth::Authenticated,
    ip: ClientIp,
    id: &str,
    inline: bool,
) -> Result<Response, PageError> {
    let id = DocumentId::parse(id).ok_or(crate::error::AppError::NotFound)?;
    let doc = commands::read_document(&state.app, &auth.caller(), id, ip.0).await?;
    let bytes = state.blobs.get(&doc.blob_key).await?;
    let inline = inline && crate::download::previewable(&doc.content_type);
    Ok(crate::download::file_response(&doc.filename, &doc.content_type, bytes, inline))
}

pub async fn download(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    document_response(&state, &auth, ip, &id, false).await
}

pub async fn preview(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let mut res = document_response(&state, &auth, ip, &id, true).await?;
    // A previewed document may not run script or reach anything, whatever it contains.
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; plugin-types application/pdf",
        ),
    );
    Ok(res.into_response())
}

pub async fn add_kommentar(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
    Upload(form): Upload,
) -> Result<Response, PageError> {
    let id = commands::parse_vorgang_id(&id)?;
    let caller = auth.caller();
    let k = commands::add_kommentar(&state.app, &caller, id, form.field("text")).await?;
    if !form.files.is_empty() {
        commands::attach_documents(&state.app, &caller, id, store::AttachedTo::Kommentar(k.id), form.files).await?;
    }
    Ok(see_other(&base, &format!("/vorgaenge/{id}?meldung=kommentar#kommentare")))
}

pub async fn add_wiedervorlage(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
    Upload(form): Upload,
) -> Result<Response, PageError> {
    let id = commands::parse_vorgang_id(&id)?;
    let caller = auth.caller();
    let (betreff, beschreibung, frist) = (form.field("betreff"), form.field("beschreibung"), form.field("frist"));
    let w = commands::add_wiedervorlage(&state.app, &caller, id, betreff, beschreibung, frist).await?;
    if !form.files.is_empty() {
        commands::attach_documents(&state.app, &caller, id, store::AttachedTo::Wiedervorlage(w.id), form.files).await?;
    }
    Ok(see_other(&base, &format!("/vorgaenge/{id}?meldung=wiedervorlage#wiedervorlagen")))
}

/// "Daten anhängen": the clerk's own files on the Vorgang.
pub async fn attach(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Path(id): Path<String>,
    Upload(form): Upload,
) -> Result<Response, PageError> {
    let id = commands::parse_vorgang_id(&id)?;
    if form.files.is_empty() {
        return Err(AppError::bad_request("datei", "Bitte wählen Sie mindestens eine Datei aus.").into());
    }
    commands::attach_documents(&state.app, &auth.caller(), id, store::AttachedTo::Vorgang, form.files).await?;
    Ok(see_other(&base, &format!("/vorgaenge/{id}?meldung=dokumente#bearbeitungsdokumente")))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    version: i64,
    #[serde(default)]
    bestaetigt: Option<String>,
}

/// Final deletion, by a second person with the delete right.
pub async fn delete_finally(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
    Form(f): Form<DeleteForm>,
) -> Result<Response, PageError> {
    let id = commands::parse_vorgang_id(&id)?;
    if f.bestaetigt.as_deref() != Some("ja") {
        return Err(AppError::bad_request(
            "bestaetigt",
            "Bitte bestätigen Sie, dass der Vorgang endgültig gelöscht werden soll.",
        )
        .into());
    }
    commands::delete_finally(&state.app, &auth.caller(), id, f.version, ip.0).await?;
    Ok(see_other(&base, "/vorgaenge?meldung=geloescht"))
}

/// Removes a clerk's document; back to where it was listed.
pub async fn remove_document(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = DocumentId::parse(&id).ok_or(AppError::NotFound)?;
    let removed = commands::remove_document(&state.app, &auth.caller(), id, ip.0).await?;
    let anchor = match removed.attached_to {
        store::AttachedTo::Vorgang => "bearbeitungsdokumente",
        store::AttachedTo::Kommentar(_) => "kommentare",
        store::AttachedTo::Wiedervorlage(_) => "wiedervorlagen",
    };
    Ok(see_other(&base, &format!("/vorgaenge/{}?meldung=dokument-entfernt#{anchor}", removed.document.vorgang_id)))
}
