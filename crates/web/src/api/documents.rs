//! Clerks' documents and the final deletion over the API (issue 6).

use super::contract::{max_chars, not_blank, within, ApiQuery, Validate};
use super::dto::DocumentDto;
use super::ApiResult;
use crate::auth::ApiCaller;
use crate::error::AppError;
use crate::fmt;
use crate::tenancy::ClientIp;
use crate::AppState;
use app::commands;
use axum::extract::{Extension, Path, State};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use store::{AttachedTo, ClerkDocumentRecord};
use utoipa::ToSchema;
use uuid::Uuid;

/// A document a clerk attached, with where it hangs.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClerkDocumentDto {
    #[serde(flatten)]
    pub document: DocumentDto,
    /// VORGANG, KOMMENTAR or WIEDERVORLAGE
    pub attached_to: String,
    /// The Kommentar's or Wiedervorlage's id, if attached to one.
    pub note_id: Option<Uuid>,
    pub at: String,
    pub by: String,
}

impl From<&ClerkDocumentRecord> for ClerkDocumentDto {
    fn from(c: &ClerkDocumentRecord) -> Self {
        Self {
            document: DocumentDto::from(&c.document),
            attached_to: c.attached_to.kind().to_owned(),
            note_id: match c.attached_to {
                AttachedTo::Vorgang => None,
                AttachedTo::Kommentar(k) => Some(k.0),
                AttachedTo::Wiedervorlage(w) => Some(w.0),
            },
            at: fmt::iso(c.at),
            by: c.by.name.clone(),
        }
    }
}

/// One file, Base64-encoded, to attach to the Vorgang or to one of its notes.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachRequest {
    /// Not blank; path parts and unsafe characters are removed.
    #[schema(max_length = 255, pattern = r"\S")]
    pub filename: String,
    /// Base64 (standard alphabet) of the file's bytes; at most 20 MB decoded.
    #[schema(format = Byte, max_length = 27_962_028)]
    pub content: String,
    /// Used when the bytes are no PDF or image (those are recognised by their content).
    #[schema(max_length = 255)]
    pub content_type: Option<String>,
    /// Attach to this Kommentar of the Vorgang instead of the Vorgang itself.
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub kommentar_id: Option<Uuid>,
    /// Attach to this Wiedervorlage of the Vorgang instead of the Vorgang itself.
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub wiedervorlage_id: Option<Uuid>,
}

/// Base64 of [`crate::upload::MAX_FILE`] bytes, the schema's `maxLength` of `content`.
const MAX_CONTENT_CHARS: usize = crate::upload::MAX_FILE.div_ceil(3) * 4;

impl Validate for AttachRequest {
    fn validate(&self) -> Result<(), AppError> {
        not_blank("filename", &self.filename)?;
        max_chars("filename", &self.filename, 255)?;
        max_chars("contentType", self.content_type.as_deref().unwrap_or_default(), 255)?;
        if self.content.len() > MAX_CONTENT_CHARS {
            return Err(AppError::bad_request("content", "Die Datei ist größer als die erlaubten 20 MB"));
        }
        Ok(())
    }
}

/// The documents clerks attached to a Vorgang and its notes, oldest first. (The applicant's
/// documents are part of the Vorgang.)
#[utoipa::path(get, path = "/api/v1/vorgaenge/{id}/dokumente", tag = "Vorgänge", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = Vec<ClerkDocumentDto>), (status = 404)))]
pub(super) async fn clerk_documents(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
) -> ApiResult<Vec<ClerkDocumentDto>> {
    let id = commands::parse_vorgang_id(&id)?;
    commands::load_visible(&state.app, &caller, id).await?;
    let list = state.store.tenant(&caller.tenant).list_clerk_documents(id).await?;
    Ok(Json(list.iter().map(ClerkDocumentDto::from).collect()))
}

/// "Daten anhängen": attaches a file to the Vorgang (or one of its notes).
#[utoipa::path(post, path = "/api/v1/vorgaenge/{id}/dokumente", tag = "Vorgänge", params(("id" = Uuid, Path)),
    request_body = AttachRequest, security(("bearer" = [])),
    responses((status = 200, body = ClerkDocumentDto), (status = 400), (status = 404), (status = 408),
              (status = 413, description = "Anfrage größer als 28 MB (die Datei höchstens 20 MB)"), (status = 415), (status = 422)))]
pub(super) async fn attach(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<ClerkDocumentDto> {
    let id = commands::parse_vorgang_id(&id)?;
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !is_json(content_type) {
        return Err(AppError::WrongContentType { expected: "application/json" });
    }
    // Base64 of up to 20 MB is more than the 2 MB the JSON extractor takes by default.
    let length = crate::upload::content_length(&headers);
    let _slot = crate::upload::slot().await?;
    let raw = crate::upload::read_body_within(&state, body, length, crate::upload::MAX_UPLOAD_BODY).await?;
    let req: AttachRequest = serde_json::from_slice(&raw)
        .map_err(|e| AppError::bad_request("body", format!("ist kein gültiges JSON für einen Anhang: {e}")))?;
    req.validate()?;
    let to = match (req.kommentar_id, req.wiedervorlage_id) {
        (None, None) => AttachedTo::Vorgang,
        (Some(k), None) => AttachedTo::Kommentar(domain::KommentarId(k)),
        (None, Some(w)) => AttachedTo::Wiedervorlage(domain::WiedervorlageId(w)),
        (Some(_), Some(_)) => {
            return Err(AppError::bad_request(
                "wiedervorlageId",
                "Entweder kommentarId oder wiedervorlageId, nicht beide",
            ))
        }
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(req.content.as_bytes())
        .map_err(|_| AppError::bad_request("content", "ist kein gültiges Base64"))?;
    let file = intake::IncomingFile {
        filename: intake::sanitize_filename(Some(&req.filename), "datei"),
        content_type: crate::upload::content_type_of(&bytes, req.content_type.as_deref()),
        bytes: bytes.into(),
    };
    let added = commands::attach_documents(&state.app, &caller, id, to, vec![file]).await?;
    let first = added.first().ok_or_else(|| AppError::Internal("nothing attached".into()))?;
    Ok(Json(ClerkDocumentDto::from(first)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeleteParams {
    /// The version the caller saw; a stale one is 409.
    #[param(minimum = 0)]
    version: i64,
}

impl Validate for DeleteParams {
    fn validate(&self) -> Result<(), AppError> {
        within("version", self.version, 0, i64::MAX)
    }
}

/// `application/json` or `application/…+json`, parameters allowed.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub vorgangsnummer: String,
}

/// Deletes a Vorgang for good after a Löschanforderung: only a person with the delete right
/// who did not request it. Removes its data, documents, notes and history; the audit log
/// keeps a tombstone without personal data.
#[utoipa::path(delete, path = "/api/v1/vorgaenge/{id}", tag = "Vorgänge", params(("id" = Uuid, Path), DeleteParams),
    security(("bearer" = [])), responses((status = 200, body = Deleted), (status = 400, description = "Nicht zur Löschung angefordert, oder von derselben Person angefordert"), (status = 403), (status = 404), (status = 409)))]
pub(super) async fn delete_finally(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<DeleteParams>,
) -> ApiResult<Deleted> {
    let id = commands::parse_vorgang_id(&id)?;
    let vorgangsnummer = commands::delete_finally(&state.app, &caller, id, p.version, ip.0).await?;
    Ok(Json(Deleted { vorgangsnummer }))
}

/// Removes a document a clerk attached (the applicant's documents stay). Recorded in the
/// history as DOKUMENT_ENTFERNT; the bytes are deleted.
#[utoipa::path(delete, path = "/api/v1/dokumente/{id}", tag = "Vorgänge", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses((status = 200, body = ClerkDocumentDto), (status = 400, description = "Nur wer ein Dokument angehängt hat, kann es entfernen"), (status = 404), (status = 422)))]
pub(super) async fn remove(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> ApiResult<ClerkDocumentDto> {
    let id = domain::DocumentId::parse(&id).ok_or(AppError::NotFound)?;
    let removed = commands::remove_document(&state.app, &caller, id, ip.0).await?;
    Ok(Json(ClerkDocumentDto::from(&removed)))
}
