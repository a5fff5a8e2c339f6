//! Forms that may carry files ("Daten anhängen", attachments of Kommentare and
//! Wiedervorlagen): `multipart/form-data` from the browser, or a plain urlencoded form when
//! no file input is used. Size limits hold before anything is stored.

use crate::auth::{same_secret, PendingMultipartCsrf, CSRF_FIELD};
use crate::error::AppError;
use crate::AppState;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use bytes::{Bytes, BytesMut};
use intake::{sanitize_filename, IncomingFile};

/// A whole upload request, all files together.
pub const MAX_UPLOAD_BODY: usize = 50 * 1024 * 1024;
/// One file.
pub const MAX_FILE: usize = 20 * 1024 * 1024;
/// Files per request.
pub const MAX_FILES: usize = 10;
/// Text fields per request (and the CSRF token among them).
const MAX_FIELDS: usize = 20;
const MAX_FIELD: usize = 64 * 1024;

/// Upload bodies read at the same time (each up to [`MAX_UPLOAD_BODY`]); more wait.
const UPLOAD_SLOTS: usize = 4;

/// One of the [`UPLOAD_SLOTS`], held while an upload's bytes are in memory.
#[derive(Debug, Clone)]
pub struct UploadSlot(#[allow(dead_code)] std::sync::Arc<tokio::sync::OwnedSemaphorePermit>);

/// Waits (up to 10 s) for an upload slot; 503 when the server is busy with uploads.
pub async fn slot() -> Result<UploadSlot, AppError> {
    static SLOTS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    let slots = SLOTS.get_or_init(|| std::sync::Arc::new(tokio::sync::Semaphore::new(UPLOAD_SLOTS))).clone();
    match tokio::time::timeout(std::time::Duration::from_secs(10), slots.acquire_owned()).await {
        Ok(Ok(permit)) => Ok(UploadSlot(std::sync::Arc::new(permit))),
        _ => Err(AppError::Unavailable),
    }
}

/// The routes whose forms carry files; a multipart body to any other route is refused
/// before it is read.
pub fn takes_uploads(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    matches!(segments.as_slice(), ["vorgaenge", _, "dokumente" | "kommentare" | "wiedervorlagen"])
}

/// The parsed form: text fields by name and the files of any file input.
#[derive(Debug, Default)]
pub struct UploadForm {
    fields: Vec<(String, String)>,
    pub files: Vec<IncomingFile>,
    /// Held as long as the files are.
    _slot: Option<UploadSlot>,
}

impl UploadForm {
    pub fn field(&self, name: &str) -> &str {
        self.fields.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

pub fn is_multipart(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn mib(n: usize) -> usize {
    n / (1024 * 1024)
}

pub fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// Reads a whole body of at most `limit` bytes under intake's slow-body rule (see
/// [`read_body_metered`]): 413 beyond the limit, 408 when it comes too slowly.
pub async fn read_body_within(
    state: &AppState,
    body: Body,
    content_length: Option<usize>,
    limit: usize,
) -> Result<Bytes, AppError> {
    read_body_metered(state, body, content_length, limit, None).await
}

/// Reads a whole body of at most `limit` bytes as it arrives. Every
/// [`intake::Limits::rate_window`], from the first one on, must bring at least
/// `min_body_rate × rate_window` bytes (or the rest of the announced body), else 408: a sender
/// that announces a body and then stalls or trickles is cut off within a window or two. With
/// a `room`, the memory reservation grows with the bytes received (503 when the budget stays
/// full); 413 beyond the limit.
pub async fn read_body_metered(
    state: &AppState,
    body: Body,
    content_length: Option<usize>,
    limit: usize,
    mut room: Option<&mut intake::Reservation>,
) -> Result<Bytes, AppError> {
    use futures_util::StreamExt as _;
    use tokio::time::Instant;
    if content_length.is_some_and(|n| n > limit) {
        return Err(AppError::TooLarge { limit });
    }
    let limits = state.intake.limits();
    let window = limits.rate_window.max(std::time::Duration::from_millis(10));
    let per_window = ((limits.min_body_rate as f64) * window.as_secs_f64()).clamp(1.0, usize::MAX as f64) as usize;
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    let mut window_end = Instant::now() + window;
    let mut at_window_start = 0usize;
    loop {
        while Instant::now() >= window_end {
            let due = content_length.map_or(per_window, |n| per_window.min(n.saturating_sub(at_window_start)));
            if buf.len() - at_window_start < due {
                tracing::warn!(received = buf.len(), ?window, "request body too slow, refused");
                return Err(AppError::TooSlow);
            }
            at_window_start = buf.len();
            window_end += window;
        }
        let chunk = match tokio::time::timeout_at(window_end, stream.next()).await {
            Err(_) => continue, // the window is over: checked above
            Ok(None) => break,
            Ok(Some(Ok(chunk))) => chunk,
            Ok(Some(Err(_))) => {
                tracing::warn!(limit, "request body broken off, refused");
                return Err(AppError::TooLarge { limit });
            }
        };
        let received = buf.len() + chunk.len();
        if received > limit {
            tracing::warn!(limit, "request body over the size limit, refused");
            return Err(AppError::TooLarge { limit });
        }
        if let Some(room) = room.as_deref_mut() {
            let before = Instant::now();
            room.cover(received, content_length).await?;
            if before.elapsed() > std::time::Duration::from_millis(50) {
                // Time spent waiting for room is not the sender's: a fresh window.
                window_end = Instant::now() + window;
                at_window_start = received;
            }
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The CSRF check of a multipart form, whose token is a field of the body: run by
/// [`crate::policy::authorize`] after the route's permission is checked, so callers who may
/// not upload never hold one of the [`UPLOAD_SLOTS`]. Takes a slot, reads the body under the
/// slow-body rule and hands it on, buffered, with the slot.
pub async fn check_pending_csrf(state: &AppState, req: Request) -> Result<Request, AppError> {
    let Some(PendingMultipartCsrf { expected }) = req.extensions().get::<PendingMultipartCsrf>().cloned() else {
        return Ok(req);
    };
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let length = content_length(req.headers());
    if length.is_some_and(|n| n > MAX_UPLOAD_BODY) {
        return Err(AppError::TooLarge { limit: MAX_UPLOAD_BODY });
    }
    let slot = slot().await?;
    let (mut parts, body) = req.into_parts();
    let bytes = read_body_within(state, body, length, MAX_UPLOAD_BODY).await?;
    let token = multipart_field(&ct, bytes.clone(), CSRF_FIELD).await;
    if !token.is_some_and(|t| same_secret(&t, &expected)) {
        return Err(AppError::Csrf);
    }
    parts.extensions.remove::<PendingMultipartCsrf>();
    parts.extensions.insert(slot);
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Parses a buffered `multipart/form-data` body. Empty file inputs (no file chosen) are skipped.
pub async fn parse_multipart(content_type: &str, body: Bytes) -> Result<UploadForm, AppError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| AppError::bad_request("datei", "Das Formular wurde nicht als multipart/form-data gesendet"))?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    let mut form = UploadForm::default();
    let broken = |e: multer::Error| {
        tracing::debug!(error = %e, "upload: malformed multipart body");
        AppError::bad_request("datei", "Das Formular kam unvollständig oder fehlerhaft an. Bitte erneut senden.")
    };
    while let Some(mut field) = mp.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or("").to_owned();
        let filename = field.file_name().map(str::to_owned);
        let declared = field.content_type().map(|m| m.to_string());
        let limit = if filename.is_some() { MAX_FILE } else { MAX_FIELD };
        let mut buf = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(broken)? {
            if buf.len() + chunk.len() > limit {
                let message = match filename.as_deref() {
                    Some(f) => format!(
                        "„{}“ ist größer als die erlaubten {} MB",
                        sanitize_filename(Some(f), "Datei"),
                        mib(limit)
                    ),
                    None => format!("Das Feld „{name}“ ist länger als erlaubt ({} KB)", limit / 1024),
                };
                return Err(AppError::bad_request("datei", message));
            }
            buf.extend_from_slice(&chunk);
        }
        match filename {
            // A file input left empty sends a part without name and content.
            Some(f) if f.is_empty() && buf.is_empty() => {}
            Some(f) => {
                if form.files.len() == MAX_FILES {
                    return Err(AppError::bad_request("datei", format!("Höchstens {MAX_FILES} Dateien auf einmal")));
                }
                let bytes = buf.freeze();
                form.files.push(IncomingFile {
                    filename: sanitize_filename(Some(&f), &format!("datei-{}", form.files.len() + 1)),
                    content_type: content_type_of(&bytes, declared.as_deref()),
                    bytes,
                });
            }
            None => {
                if form.fields.len() == MAX_FIELDS {
                    return Err(AppError::bad_request("datei", "Das Formular hat zu viele Felder"));
                }
                let text = String::from_utf8(buf.to_vec())
                    .map_err(|_| AppError::bad_request(&name, "ist kein gültiger Text (UTF-8)"))?;
                form.fields.push((name, text));
            }
        }
    }
    Ok(form)
}

/// What the bytes are, when they are a kind a browser shows (so a preview matches the
/// content, not the sender's claim); otherwise the declared type, unless it claims a kind
/// the bytes are not.
pub fn content_type_of(bytes: &[u8], declared: Option<&str>) -> String {
    if let Some(sniffed) = sniff(bytes) {
        return sniffed.to_owned();
    }
    match declared.map(|ct| ct.trim().to_ascii_lowercase()) {
        Some(ct)
            if !ct.is_empty()
                && ct.len() <= 200
                && !ct.chars().any(char::is_control)
                && !ct.starts_with("image/")
                && !ct.starts_with("application/pdf")
                && !ct.starts_with("text/html") =>
        {
            ct
        }
        _ => "application/octet-stream".to_owned(),
    }
}

fn sniff(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.starts_with(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The first value of `name` in a buffered multipart body (the CSRF token), without keeping
/// the files.
pub async fn multipart_field(content_type: &str, body: Bytes, name: &str) -> Option<String> {
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut mp = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() == Some(name) && field.file_name().is_none() {
            let text = field.text().await.ok()?;
            return (text.len() <= MAX_FIELD).then_some(text);
        }
    }
    None
}

/// A form posted either as `multipart/form-data` (with files) or urlencoded (without).
pub struct Upload(pub UploadForm);

impl FromRequest<AppState> for Upload {
    type Rejection = crate::error::PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type =
            req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let multipart = is_multipart(Some(&content_type));
        let length = content_length(req.headers());
        // The CSRF check took a slot and buffered the body; without it (a bearer session)
        // take the slot now, before reading.
        let slot = match req.extensions().get::<UploadSlot>().cloned() {
            Some(s) => Some(s),
            None if multipart => Some(slot().await?),
            None => None,
        };
        let body = read_body_within(state, req.into_body(), length, MAX_UPLOAD_BODY).await?;
        if multipart {
            let mut form = parse_multipart(&content_type, body).await?;
            form._slot = slot;
            return Ok(Upload(form));
        }
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| AppError::bad_request("formular", "Das Formular ist fehlerhaft"))?;
        Ok(Upload(UploadForm { fields, files: Vec::new(), _slot: None }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_the_bytes() {
        assert_eq!(content_type_of(b"%PDF-1.7 ...", Some("text/plain")), "application/pdf");
        assert_eq!(content_type_of(b"\x89PNG\r\n\x1a\n....", None), "image/png");
        assert_eq!(content_type_of(b"<html>", Some("image/png")), "application/octet-stream");
        assert_eq!(content_type_of(b"<html>", Some("text/html")), "application/octet-stream");
        assert_eq!(content_type_of(b"a;b", Some("text/csv")), "text/csv");
        assert_eq!(content_type_of(b"<svg>", Some("IMAGE/SVG+XML")), "application/octet-stream");
        assert_eq!(content_type_of(b"<b>", Some("Text/HTML")), "application/octet-stream");
        assert!(takes_uploads("/vorgaenge/0190/dokumente") && takes_uploads("/vorgaenge/x/kommentare"));
        assert!(!takes_uploads("/admin/benutzer") && !takes_uploads("/vorgaenge/x/status"));
        assert_eq!(content_type_of(b"x", Some("application/pdf")), "application/octet-stream");
    }

    #[tokio::test]
    async fn multipart_fields_files_and_limits() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"datei\"; filename=\"../Vermerk.pdf\"\r\n\
                    Content-Type: application/pdf\r\n\r\n%PDF-1.4 x\r\n\
                    --b\r\nContent-Disposition: form-data; name=\"datei\"; filename=\"\"\r\n\
                    Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n";
        let ct = "multipart/form-data; boundary=b";
        let form = parse_multipart(ct, Bytes::from(body)).await.expect("parses");
        assert_eq!(form.field("_csrf"), "tok");
        assert_eq!(form.files.len(), 1, "the empty file input is skipped");
        assert_eq!(form.files[0].filename, "Vermerk.pdf");
        assert_eq!(form.files[0].content_type, "application/pdf");
        assert_eq!(multipart_field(ct, Bytes::from(body), "_csrf").await.as_deref(), Some("tok"));

        let big = format!(
            "--b\r\nContent-Disposition: form-data; name=\"datei\"; filename=\"gross.bin\"\r\n\r\n{}\r\n--b--\r\n",
            "x".repeat(MAX_FILE + 1)
        );
        let err = parse_multipart(ct, Bytes::from(big)).await.expect_err("too large");
        assert!(err.to_string().contains("größer als die erlaubten 20 MB"), "{err}");
    }
}
