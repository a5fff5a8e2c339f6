//! Intake endpoints: `POST /antrag` (OZG-Cloud compatible multipart) and the JSON twin.

use super::dto::{IntakeReceipt, VorgangRef};
use crate::error::AppError;
use crate::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::Json;
use intake::{Payload, Receipt};

pub fn receipt(r: &Receipt) -> IntakeReceipt {
    IntakeReceipt {
        transaction_id: r.transaction_id.clone(),
        vorgang: VorgangRef::from(&r.vorgang),
        duplicate: r.duplicate,
    }
}

fn check_token(state: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    let Some(expected) = &state.config.intake_token else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if crate::auth::same_secret(given.trim(), expected) {
        Ok(())
    } else {
        Err(AppError::Unauthenticated)
    }
}

/// Token check, bounded read of the whole request, intake, receipt: shared by both formats.
async fn deliver(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    payload: impl FnOnce(bytes::Bytes) -> Payload,
) -> Result<Json<IntakeReceipt>, AppError> {
    check_token(state, headers)?;
    let limit = state.intake.limits().max_request;
    let body = to_bytes(body, limit).await.map_err(|_| {
        tracing::warn!(limit, "intake: request over the size limit refused");
        AppError::TooLarge { limit }
    })?;
    let r = state.intake.deliver(&state.config.tenant, payload(body)).await?;
    Ok(Json(receipt(&r)))
}

/// Delivers an Antrag as `multipart/form-data`: part `formData` (JSON with `control` and
/// `formData`), optional parts `representation`, parts `attachment`. Idempotent on
/// `control.transactionId`. Invalid deliveries are stored in the quarantine and answered
/// with 400 naming the field.
#[utoipa::path(post, path = "/antrag", tag = "Eingang",
    request_body(content_type = "multipart/form-data", description = "Parts formData, representation, attachment"),
    responses((status = 200, body = IntakeReceipt), (status = 400, description = "Ungültig; in Quarantäne"),
              (status = 413, description = "Zu groß")))]
pub async fn antrag_multipart(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IntakeReceipt>, AppError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    deliver(&state, &headers, body, |body| Payload::Multipart { content_type, body }).await
}

/// The same intake as one JSON document: `control`, `formData`, and optional
/// `representations` / `attachments` as `[{filename, contentType, content (Base64)}]`.
#[utoipa::path(post, path = "/api/v1/antraege", tag = "Eingang",
    request_body(content_type = "application/json", description = "{ control, formData, representations?, attachments? }"),
    responses((status = 200, body = IntakeReceipt), (status = 400, description = "Ungültig; in Quarantäne"),
              (status = 413, description = "Zu groß")))]
pub async fn antrag_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<IntakeReceipt>, AppError> {
    deliver(&state, &headers, body, |body| Payload::Json { body }).await
}
