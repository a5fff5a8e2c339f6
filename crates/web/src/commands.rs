//! The clerk's commands on a Vorgang, shared by the UI and the API: parse the input, let
//! the domain decide, let the store persist. Handlers only extract and render.

use crate::auth::Authenticated;
use crate::error::AppError;
use crate::AppState;
use domain::vorgang::decide_status_move;
use domain::{Aktenzeichen, StatusCommand, UserId, VorgangId};
use store::{VorgangChange, VorgangHead};

pub async fn change_status(
    state: &AppState,
    auth: &Authenticated,
    id: VorgangId,
    command: &str,
    expected_version: i64,
    reason: Option<String>,
) -> Result<VorgangHead, AppError> {
    let command = StatusCommand::parse(command)
        .ok_or_else(|| AppError::bad_request("command", format!("unbekannter Befehl „{command}“")))?;
    let current = state.store.get_vorgang(&auth.tenant, id).await?;
    if current.head.version != expected_version {
        return Err(AppError::Conflict { current_version: current.head.version });
    }
    let to =
        decide_status_move(command, current.head.status, current.status_before_deletion_request, reason.as_deref())?;
    let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
    let change = VorgangChange::Status { command, from: current.head.status, to, reason };
    Ok(state.store.apply_change(&auth.tenant, id, expected_version, change, &auth.actor()).await?)
}

pub async fn assign(
    state: &AppState,
    auth: &Authenticated,
    id: VorgangId,
    to: Option<UserId>,
    expected_version: i64,
) -> Result<VorgangHead, AppError> {
    let change = VorgangChange::Assign { to };
    Ok(state.store.apply_change(&auth.tenant, id, expected_version, change, &auth.actor()).await?)
}

pub async fn set_aktenzeichen(
    state: &AppState,
    auth: &Authenticated,
    id: VorgangId,
    aktenzeichen: &str,
    expected_version: i64,
) -> Result<VorgangHead, AppError> {
    let az = Aktenzeichen::parse(aktenzeichen)?;
    let change = VorgangChange::Aktenzeichen(az);
    Ok(state.store.apply_change(&auth.tenant, id, expected_version, change, &auth.actor()).await?)
}

pub async fn claim_next(state: &AppState, auth: &Authenticated) -> Result<Option<VorgangHead>, AppError> {
    Ok(state.store.claim_next(&auth.tenant, auth.user.id, &auth.actor()).await?)
}

pub fn parse_user_id(s: &str) -> Result<Option<UserId>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    UserId::parse(s).map(Some).ok_or_else(|| AppError::bad_request("userId", "ist keine gültige Benutzer-ID"))
}

pub fn parse_vorgang_id(s: &str) -> Result<VorgangId, AppError> {
    VorgangId::parse(s).ok_or(AppError::NotFound)
}
