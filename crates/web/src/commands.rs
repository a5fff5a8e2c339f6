//! The clerk's commands on a Vorgang, shared by the UI and the API: parse the input, check
//! the caller may see the Vorgang, let the domain decide, let the store persist. Handlers
//! only extract and render.

use crate::auth::Caller;
use crate::error::AppError;
use crate::AppState;
use domain::vorgang::decide_status_move;
use domain::{Aktenzeichen, DocumentId, StatusCommand, UnitId, UserId, VorgangId};
use store::{DocumentRecord, NewAuditEntry, VorgangChange, VorgangHead, VorgangRecord};
use time::OffsetDateTime;

/// The Vorgang if the caller may see it. One that exists but is not visible is reported as
/// not found: clerks of other units do not learn that it exists.
pub async fn load_visible(state: &AppState, caller: &Caller, id: VorgangId) -> Result<VorgangRecord, AppError> {
    let v = state.store.get_vorgang(&caller.tenant, id).await?;
    if !caller.visibility().covers(v.unit, v.assignee.as_ref().map(|a| a.id), v.head.status) {
        return Err(AppError::NotFound);
    }
    Ok(v)
}

/// Opens a Vorgang's personal data: visibility check, then an audit entry.
pub async fn read_vorgang(
    state: &AppState,
    caller: &Caller,
    id: VorgangId,
    ip: Option<std::net::IpAddr>,
) -> Result<VorgangRecord, AppError> {
    let v = load_visible(state, caller, id).await?;
    audit(state, caller, "vorgang_gelesen", Some(v.head.id.to_string()), Some(v.head.nummer.to_string()), ip).await?;
    Ok(v)
}

/// A document of a Vorgang the caller sees; downloading it is audited.
pub async fn read_document(
    state: &AppState,
    caller: &Caller,
    id: DocumentId,
    ip: Option<std::net::IpAddr>,
) -> Result<DocumentRecord, AppError> {
    let doc = state.store.get_document(&caller.tenant, id).await?;
    load_visible(state, caller, doc.vorgang_id).await?;
    audit(state, caller, "dokument_gelesen", Some(doc.id.to_string()), Some(doc.vorgang_id.to_string()), ip).await?;
    Ok(doc)
}

/// Appends to the tenant's audit log. Failing to record is failing the action: a read of
/// personal data that is not logged must not happen.
pub async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: Option<String>,
    detail: Option<String>,
    ip: Option<std::net::IpAddr>,
) -> Result<(), AppError> {
    state
        .store
        .append_audit(NewAuditEntry {
            tenant: caller.tenant.clone(),
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
    state: &AppState,
    caller: &Caller,
    id: VorgangId,
    command: &str,
    expected_version: i64,
    reason: Option<String>,
) -> Result<VorgangHead, AppError> {
    let command = StatusCommand::parse(command)
        .ok_or_else(|| AppError::bad_request("command", format!("unbekannter Befehl „{command}“")))?;
    let current = load_visible(state, caller, id).await?;
    if current.head.version != expected_version {
        return Err(AppError::Conflict { current_version: current.head.version });
    }
    let to =
        decide_status_move(command, current.head.status, current.status_before_deletion_request, reason.as_deref())?;
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    let change = VorgangChange::Status { command, from: current.head.status, to, reason };
    Ok(state.store.apply_change(&caller.tenant, id, expected_version, change, &caller.actor).await?)
}

pub async fn assign(
    state: &AppState,
    caller: &Caller,
    id: VorgangId,
    to: Option<UserId>,
    expected_version: i64,
) -> Result<VorgangHead, AppError> {
    load_visible(state, caller, id).await?;
    let change = VorgangChange::Assign { to };
    Ok(state.store.apply_change(&caller.tenant, id, expected_version, change, &caller.actor).await?)
}

/// Distribution (Poststelle): hand the Vorgang to another Organisationseinheit.
pub async fn set_unit(
    state: &AppState,
    caller: &Caller,
    id: VorgangId,
    to: Option<UnitId>,
    expected_version: i64,
) -> Result<VorgangHead, AppError> {
    load_visible(state, caller, id).await?;
    let change = VorgangChange::Unit { to };
    Ok(state.store.apply_change(&caller.tenant, id, expected_version, change, &caller.actor).await?)
}

pub async fn set_aktenzeichen(
    state: &AppState,
    caller: &Caller,
    id: VorgangId,
    aktenzeichen: &str,
    expected_version: i64,
) -> Result<VorgangHead, AppError> {
    let az = Aktenzeichen::parse(aktenzeichen)?;
    load_visible(state, caller, id).await?;
    let change = VorgangChange::Aktenzeichen(az);
    Ok(state.store.apply_change(&caller.tenant, id, expected_version, change, &caller.actor).await?)
}

pub async fn claim_next(state: &AppState, caller: &Caller) -> Result<Option<VorgangHead>, AppError> {
    let user = caller
        .user
        .ok_or_else(|| AppError::bad_request("user", "Nur angemeldete Personen können Vorgänge übernehmen"))?;
    Ok(state.store.claim_next(&caller.tenant, &caller.visibility(), user, &caller.actor).await?)
}

pub fn parse_user_id(s: &str) -> Result<Option<UserId>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    UserId::parse(s).map(Some).ok_or_else(|| AppError::bad_request("userId", "ist keine gültige Benutzer-ID"))
}

pub fn parse_unit_id(s: &str) -> Result<Option<UnitId>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    UnitId::parse(s).map(Some).ok_or_else(|| AppError::bad_request("unitId", "ist keine gültige Einheit"))
}

pub fn parse_vorgang_id(s: &str) -> Result<VorgangId, AppError> {
    VorgangId::parse(s).ok_or(AppError::NotFound)
}
