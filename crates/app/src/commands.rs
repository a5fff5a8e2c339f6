//! The clerk's commands on a Vorgang, shared by the UI, the API and (later) jobs: parse the
//! input, check the caller may see the Vorgang, let the domain decide, let the store persist.
//! Web handlers only extract, call one of these and render.

use crate::error::Error;
use crate::{App, Caller};
use domain::vorgang::decide_status_move;
use domain::{Aktenzeichen, DocumentId, StatusCommand, UnitId, UserId, VorgangId};
use store::{DocumentRecord, NewAuditEntry, VorgangChange, VorgangHead, VorgangRecord};
use time::OffsetDateTime;

/// A Vorgang the caller may see: the capability to read what hangs on it (history, notes,
/// documents). Only [`load_visible`] hands one out, so code that reads a Vorgang's parts
/// through it cannot have skipped the visibility check (the narrowed-handle pattern).
#[derive(Debug, Clone)]
pub struct VisibleVorgang {
    record: VorgangRecord,
    tenant: domain::TenantId,
}

impl std::ops::Deref for VisibleVorgang {
    type Target = VorgangRecord;

    fn deref(&self) -> &VorgangRecord {
        &self.record
    }
}

impl VisibleVorgang {
    pub fn into_record(self) -> VorgangRecord {
        self.record
    }

    pub fn id(&self) -> VorgangId {
        self.record.head.id
    }

    pub async fn history(&self, app: &App) -> Result<Vec<store::EventRecord>, Error> {
        Ok(app.store.tenant(&self.tenant).history(self.id()).await?)
    }

    pub async fn kommentare(&self, app: &App) -> Result<Vec<store::KommentarRecord>, Error> {
        Ok(app.store.tenant(&self.tenant).list_kommentare(self.id()).await?)
    }

    pub async fn wiedervorlagen(&self, app: &App) -> Result<Vec<store::WiedervorlageRecord>, Error> {
        Ok(app.store.tenant(&self.tenant).list_wiedervorlagen(self.id()).await?)
    }

    pub async fn clerk_documents(&self, app: &App) -> Result<Vec<store::ClerkDocumentRecord>, Error> {
        Ok(app.store.tenant(&self.tenant).list_clerk_documents(self.id()).await?)
    }
}

/// The Vorgang if the caller may see it. One that exists but is not visible is reported as
/// not found: clerks of other units do not learn that it exists.
pub async fn load_visible(app: &App, caller: &Caller, id: VorgangId) -> Result<VisibleVorgang, Error> {
    let v = app.tenant_of(caller).get_vorgang(id).await?;
    if !caller.visibility().covers(v.unit, v.assignee.as_ref().map(|a| a.id), v.head.status) {
        return Err(Error::NotFound);
    }
    Ok(VisibleVorgang { record: v, tenant: caller.tenant.clone() })
}

/// Opens a Vorgang's personal data: visibility check, then an audit entry.
pub async fn read_vorgang(
    app: &App,
    caller: &Caller,
    id: VorgangId,
    ip: Option<std::net::IpAddr>,
) -> Result<VisibleVorgang, Error> {
    let v = load_visible(app, caller, id).await?;
    audit(app, caller, "vorgang_gelesen", Some(v.head.id.to_string()), Some(v.head.nummer.to_string()), ip).await?;
    Ok(v)
}

/// A document of a Vorgang the caller sees; downloading it is audited.
pub async fn read_document(
    app: &App,
    caller: &Caller,
    id: DocumentId,
    ip: Option<std::net::IpAddr>,
) -> Result<DocumentRecord, Error> {
    let doc = app.tenant_of(caller).get_document(id).await?;
    load_visible(app, caller, doc.vorgang_id).await?;
    audit(app, caller, "dokument_gelesen", Some(doc.id.to_string()), Some(doc.vorgang_id.to_string()), ip).await?;
    Ok(doc)
}

/// Appends to the tenant's audit log. Failing to record is failing the action: a read of
/// personal data that is not logged must not happen.
pub async fn audit(
    app: &App,
    caller: &Caller,
    action: &str,
    target: Option<String>,
    detail: Option<String>,
    ip: Option<std::net::IpAddr>,
) -> Result<(), Error> {
    app.store
        .tenant(&caller.tenant)
        .append_audit(NewAuditEntry {
            at: OffsetDateTime::now_utc(),
            actor: caller.actor.clone(),
            action: action.to_owned(),
            target,
            detail,
            ip: ip.map(|ip| ip.to_string()),
        })
        .await?;
    Ok(())
}

pub async fn change_status(
    app: &App,
    caller: &Caller,
    id: VorgangId,
    command: &str,
    expected_version: i64,
    reason: Option<String>,
) -> Result<VorgangHead, Error> {
    let command = StatusCommand::parse(command)
        .ok_or_else(|| Error::invalid("command", format!("unbekannter Befehl „{command}“")))?;
    // A deletion request starts the four-eyes rule: it needs a person to be accountable
    // (`domain::deletion`), never a machine.
    if command == StatusCommand::LoeschenAnfordern && caller.user.is_none() {
        return Err(Error::Forbidden);
    }
    let current = load_visible(app, caller, id).await?;
    if current.head.version != expected_version {
        return Err(Error::Conflict { current_version: current.head.version });
    }
    let to =
        decide_status_move(command, current.head.status, current.status_before_deletion_request, reason.as_deref())?;
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    let change = VorgangChange::Status { command, from: current.head.status, to, reason };
    Ok(app.tenant_of(caller).apply_change(id, expected_version, change, &caller.actor).await?)
}

pub async fn assign(
    app: &App,
    caller: &Caller,
    id: VorgangId,
    to: Option<UserId>,
    expected_version: i64,
) -> Result<VorgangHead, Error> {
    load_visible(app, caller, id).await?;
    let change = VorgangChange::Assign { to };
    Ok(app.tenant_of(caller).apply_change(id, expected_version, change, &caller.actor).await?)
}

/// Distribution (Poststelle): hand the Vorgang to another Organisationseinheit.
pub async fn set_unit(
    app: &App,
    caller: &Caller,
    id: VorgangId,
    to: Option<UnitId>,
    expected_version: i64,
) -> Result<VorgangHead, Error> {
    load_visible(app, caller, id).await?;
    let change = VorgangChange::Unit { to };
    Ok(app.tenant_of(caller).apply_change(id, expected_version, change, &caller.actor).await?)
}

pub async fn set_aktenzeichen(
    app: &App,
    caller: &Caller,
    id: VorgangId,
    aktenzeichen: &str,
    expected_version: i64,
) -> Result<VorgangHead, Error> {
    let az = Aktenzeichen::parse(aktenzeichen)?;
    load_visible(app, caller, id).await?;
    let change = VorgangChange::Aktenzeichen(az);
    Ok(app.tenant_of(caller).apply_change(id, expected_version, change, &caller.actor).await?)
}

pub async fn claim_next(app: &App, caller: &Caller) -> Result<Option<VorgangHead>, Error> {
    let user =
        caller.user.ok_or_else(|| Error::invalid("user", "Nur angemeldete Personen können Vorgänge übernehmen"))?;
    Ok(app.tenant_of(caller).claim_next(&caller.visibility(), user, &caller.actor).await?)
}

pub fn parse_user_id(s: &str) -> Result<Option<UserId>, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    UserId::parse(s).map(Some).ok_or_else(|| Error::invalid("userId", "ist keine gültige Benutzer-ID"))
}

pub fn parse_unit_id(s: &str) -> Result<Option<UnitId>, Error> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    UnitId::parse(s).map(Some).ok_or_else(|| Error::invalid("unitId", "ist keine gültige Einheit"))
}

pub fn parse_vorgang_id(s: &str) -> Result<VorgangId, Error> {
    VorgangId::parse(s).ok_or(Error::NotFound)
}

// --- Kommentare and Wiedervorlagen ---

pub async fn add_kommentar(
    app: &App,
    caller: &Caller,
    vorgang: VorgangId,
    text: &str,
) -> Result<store::KommentarRecord, Error> {
    let text = domain::notes::kommentar_text(text)?;
    load_visible(app, caller, vorgang).await?;
    let id = domain::KommentarId::new();
    Ok(app.tenant_of(caller).add_kommentar(vorgang, id, &text, &caller.actor).await?)
}

pub async fn add_wiedervorlage(
    app: &App,
    caller: &Caller,
    vorgang: VorgangId,
    betreff: &str,
    beschreibung: &str,
    frist: &str,
) -> Result<store::WiedervorlageRecord, Error> {
    let input = domain::notes::WiedervorlageInput::parse(betreff, beschreibung, frist)?;
    load_visible(app, caller, vorgang).await?;
    let w = store::NewWiedervorlage {
        id: domain::WiedervorlageId::new(),
        vorgang_id: vorgang,
        betreff: input.betreff,
        beschreibung: input.beschreibung,
        frist: input.frist,
        created_at: OffsetDateTime::now_utc(),
        created_by: caller.actor.clone(),
    };
    Ok(app.tenant_of(caller).add_wiedervorlage(w).await?)
}

/// A Wiedervorlage of a Vorgang the caller sees.
pub async fn load_wiedervorlage(
    app: &App,
    caller: &Caller,
    id: domain::WiedervorlageId,
) -> Result<store::WiedervorlageRecord, Error> {
    let w = app.tenant_of(caller).get_wiedervorlage(id).await?;
    load_visible(app, caller, w.vorgang_id).await?;
    Ok(w)
}

/// Changes content (`content: Some`) and/or the done flag of a Wiedervorlage.
pub async fn update_wiedervorlage(
    app: &App,
    caller: &Caller,
    id: domain::WiedervorlageId,
    expected_version: i64,
    content: Option<(&str, &str, &str)>,
    erledigt: Option<bool>,
) -> Result<store::WiedervorlageRecord, Error> {
    let current = load_wiedervorlage(app, caller, id).await?;
    if current.version != expected_version {
        return Err(Error::Conflict { current_version: current.version });
    }
    let (betreff, beschreibung, frist) = match content {
        Some((b, d, f)) => {
            let input = domain::notes::WiedervorlageInput::parse(b, d, f)?;
            (input.betreff, input.beschreibung, input.frist)
        }
        None => (current.betreff.clone(), current.beschreibung.clone(), current.frist),
    };
    let update =
        store::WiedervorlageUpdate { betreff, beschreibung, frist, erledigt: erledigt.unwrap_or(current.erledigt) };
    Ok(app.tenant_of(caller).update_wiedervorlage(id, expected_version, update, &caller.actor).await?)
}

pub fn parse_wiedervorlage_id(s: &str) -> Result<domain::WiedervorlageId, Error> {
    domain::WiedervorlageId::parse(s).ok_or(Error::NotFound)
}

// --- clerks' documents ("Daten anhängen") ---

/// Stores each file in the document store, then records it as the caller's document on the
/// Vorgang (or on one of its notes), with its event. The record never points to a missing
/// blob; a blob whose record is refused is deleted again.
pub async fn attach_documents(
    app: &App,
    caller: &Caller,
    vorgang: VorgangId,
    to: store::AttachedTo,
    files: Vec<intake::IncomingFile>,
) -> Result<Vec<store::ClerkDocumentRecord>, Error> {
    load_visible(app, caller, vorgang).await?;
    let mut added = Vec::with_capacity(files.len());
    for f in files {
        let id = DocumentId::new();
        let blob_key = documents::new_key(caller.tenant.as_str(), "bearbeitung", id.0);
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&f.bytes));
        let size = f.bytes.len() as u64;
        app.blobs.put(&blob_key, f.bytes).await?;
        let record = store::ClerkDocumentRecord {
            document: DocumentRecord {
                id,
                vorgang_id: vorgang,
                kind: store::DocumentKind::Clerk,
                filename: f.filename,
                content_type: f.content_type,
                size,
                blob_key,
                sha256,
            },
            attached_to: to,
            at: OffsetDateTime::now_utc(),
            by: caller.actor.clone(),
        };
        if let Err(e) = app.tenant_of(caller).add_clerk_document(record.clone()).await {
            // Not recorded (say, a note of another Vorgang): the bytes must not stay behind.
            if let Err(d) = app.blobs.delete(&record.document.blob_key).await {
                tracing::warn!(error = %d, "could not delete the blob of a refused document");
            }
            return Err(e.into());
        }
        added.push(record);
    }
    Ok(added)
}

// --- final deletion ---

/// Deletes a Vorgang for good: only a second person with the delete right, after a
/// Löschanforderung (`domain::deletion`). The tombstone in the audit log names no person;
/// the blobs go by jobs enqueued in the deletion's transaction.
pub async fn delete_finally(
    app: &App,
    caller: &Caller,
    id: VorgangId,
    expected_version: i64,
    ip: Option<std::net::IpAddr>,
) -> Result<String, Error> {
    let v = load_visible(app, caller, id).await?;
    if v.head.version != expected_version {
        return Err(Error::Conflict { current_version: v.head.version });
    }
    let history = app.tenant_of(caller).history(id).await?;
    let request = deletion_request(&history);
    let user = caller.user.ok_or(Error::Forbidden)?;
    domain::deletion::check_final_deletion(
        v.head.status,
        request.and_then(|e| e.actor.user),
        user,
        caller.principal.grants(domain::Permission::Loeschen),
    )
    .map_err(|e| match e {
        domain::deletion::DeletionRefused::NoDeleteRight => Error::Forbidden,
        e => Error::invalid("loeschen", e.to_string()),
    })?;
    let nummer = v.head.nummer.to_string();
    let tombstone = NewAuditEntry {
        at: OffsetDateTime::now_utc(),
        actor: caller.actor.clone(),
        action: "vorgang_geloescht".to_owned(),
        target: Some(id.to_string()),
        detail: Some(domain::deletion::tombstone(
            &nummer,
            &v.form_id,
            v.eingang_at.date(),
            request.map(|e| e.at.date()),
        )),
        ip: ip.map(|ip| ip.to_string()),
    };
    let purged = app.tenant_of(caller).purge_vorgang(id, expected_version, tombstone, &caller.actor).await?;
    tracing::info!(tenant = %caller.tenant, vorgang = %id, blobs = purged.blob_keys.len(), "vorgang deleted for good");
    app.jobs.wake();
    Ok(nummer)
}

/// The latest Löschanforderung in a Vorgang's history (who asked, when): the four-eyes rule
/// needs it.
pub fn deletion_request(history: &[store::EventRecord]) -> Option<&store::EventRecord> {
    history.iter().rev().find(|e| {
        matches!(e.event, domain::VorgangEvent::StatusGeaendert { command: StatusCommand::LoeschenAnfordern, .. })
    })
}

/// Removes a clerk's document from a Vorgang the caller sees (the applicant's documents
/// stay: NotFound). Only whoever attached it may (a person their own; a machine what
/// machines attached). Audited by id and checksum (no file name: the audit log outlives a
/// final deletion); its bytes go by a job enqueued with the removal.
pub async fn remove_document(
    app: &App,
    caller: &Caller,
    id: DocumentId,
    ip: Option<std::net::IpAddr>,
) -> Result<store::ClerkDocumentRecord, Error> {
    let doc = app.tenant_of(caller).get_document(id).await?;
    if doc.kind != store::DocumentKind::Clerk {
        return Err(Error::NotFound);
    }
    let v = load_visible(app, caller, doc.vorgang_id).await?;
    let listed = app.tenant_of(caller).list_clerk_documents(doc.vorgang_id).await?;
    let attached = listed.iter().find(|d| d.document.id == id).ok_or(Error::NotFound)?;
    if !domain::deletion::may_remove_attachment(attached.by.user, caller.user) {
        return Err(Error::invalid("dokument", "Entfernen kann ein Dokument nur, wer es angehängt hat."));
    }
    let removed = app.tenant_of(caller).remove_clerk_document(id, &caller.actor).await?;
    let detail = format!("Vorgang {}, SHA-256 {}", v.head.nummer, removed.document.sha256);
    audit(app, caller, "dokument_entfernt", Some(id.to_string()), Some(detail), ip).await?;
    app.jobs.wake();
    Ok(removed)
}
