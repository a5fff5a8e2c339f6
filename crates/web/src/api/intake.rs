//! Intake endpoints: `POST /antrag` (OZG-Cloud compatible multipart) and the JSON twin.

use super::dto::{IntakeReceipt, Unroutable, VorgangRef};
use crate::auth::Machine;
use crate::error::AppError;
use crate::tenancy::ClientIp;
use crate::upload::content_length;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use domain::TenantId;
use intake::{IntakeError, Payload, Receipt};

pub fn receipt(r: &Receipt) -> IntakeReceipt {
    IntakeReceipt {
        transaction_id: r.transaction_id.clone(),
        vorgang: VorgangRef::from(&r.vorgang),
        duplicate: r.duplicate,
    }
}

/// Bounded read of the whole request, intake, receipt: shared by both formats. The route
/// rule has checked the token (or open intake) already; a token's tenant is where the
/// delivery is kept and the only tenant it may be routed to.
async fn deliver(
    state: &AppState,
    machine: Option<Extension<Machine>>,
    ip: ClientIp,
    content_length: Option<usize>,
    body: Body,
    payload: impl FnOnce(bytes::Bytes) -> Payload,
) -> Result<Response, AppError> {
    // Whose share of the memory budget: the token (and its tenant), else the client's address.
    let sender = match (&machine, ip.0) {
        (Some(Extension(Machine(t))), _) => {
            intake::Sender { source: format!("token:{}", t.id), tenant: Some(t.tenant.clone()) }
        }
        (None, Some(ip)) => intake::Sender { source: format!("ip:{ip}"), tenant: None },
        (None, None) => intake::Sender { source: "unbekannt".to_owned(), tenant: None },
    };
    let source = machine.map_or_else(TenantId::platform, |Extension(Machine(t))| t.tenant);
    let limit = state.intake.limits().max_request;
    if content_length.is_some_and(|n| n > limit) {
        return Err(AppError::TooLarge { limit });
    }
    // Held until the delivery is stored and answered: the body is in memory till then. It
    // grows with the bytes that actually arrive.
    let mut room = state.intake.reserve(&sender, content_length).await?;
    let body = crate::upload::read_body_metered(state, body, content_length, limit, Some(&mut room)).await?;
    match state.intake.deliver(&source, payload(body)).await {
        Ok(r) => Ok(Json(receipt(&r)).into_response()),
        // Kept and visible to the operator; the sender has done its part.
        Err(IntakeError::Unroutable { delivery, kennung, message }) => Ok((
            StatusCode::ACCEPTED,
            Json(Unroutable { delivery_id: delivery.0, zustaendige_stelle: kennung, detail: message }),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

/// Delivers an Antrag as `multipart/form-data`: part `formData` (JSON with `control` and
/// `formData`), optional parts `representation`, parts `attachment`. Idempotent on
/// `control.transactionId`. Invalid deliveries are stored in the quarantine and answered
/// with 400 naming the field; another Content-Type than `multipart/form-data` is stored,
/// quarantined and answered with 415.
#[utoipa::path(post, path = "/antrag", tag = "Eingang",
    request_body(content_type = "multipart/form-data", description = "Parts formData, representation, attachment"),
    security((), ("bearer" = [])),
    responses((status = 200, body = IntakeReceipt), (status = 202, body = Unroutable, description = "Gespeichert, aber keiner Organisationseinheit zuzuordnen"),
              (status = 400, description = "Ungültig; in Quarantäne"), (status = 401, description = "API-Token fehlt oder ungültig"),
              (status = 408, description = "Die Daten kamen zu langsam an"),
              (status = 413, description = "Zu groß"),
              (status = 415, description = "Content-Type nicht das Format dieser Adresse; gespeichert, in Quarantäne")))]
pub async fn antrag_multipart(
    State(state): State<AppState>,
    machine: Option<Extension<Machine>>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    deliver(&state, machine, ip, content_length(&headers), body, |body| Payload::Multipart { content_type, body }).await
}

/// The same intake as one JSON document: `control`, `formData`, and optional
/// `representations` / `attachments` as `[{filename, contentType, content (Base64)}]`.
/// Content-Type `application/json` (or `application/…+json`); another one is stored,
/// quarantined and answered with 415.
#[utoipa::path(post, path = "/api/v1/antraege", tag = "Eingang",
    request_body(content_type = "application/json", description = "{ control, formData, representations?, attachments? }"),
    security((), ("bearer" = [])),
    responses((status = 200, body = IntakeReceipt), (status = 202, body = Unroutable, description = "Gespeichert, aber keiner Organisationseinheit zuzuordnen"),
              (status = 400, description = "Ungültig; in Quarantäne"), (status = 401, description = "API-Token fehlt oder ungültig"),
              (status = 408, description = "Die Daten kamen zu langsam an"),
              (status = 413, description = "Zu groß"),
              (status = 415, description = "Content-Type nicht das Format dieser Adresse; gespeichert, in Quarantäne")))]
pub async fn antrag_json(
    State(state): State<AppState>,
    machine: Option<Extension<Machine>>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    deliver(&state, machine, ip, content_length(&headers), body, |body| Payload::Json { content_type, body }).await
}
