//! One error type for the web layer, rendered twice: problem+json (RFC 9457) for the API and
//! an HTML page in German for the clerk's UI. Internal details are logged, never shown.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{DomainError, ValidationError};
use intake::IntakeError;
use serde::Serialize;
use store::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Nicht angemeldet")]
    Unauthenticated,
    #[error("Keine Berechtigung")]
    Forbidden,
    #[error("Der Zugriff ist nur aus den freigegebenen Netzen dieser Verwaltung möglich.")]
    NetworkNotAllowed,
    #[error("Nicht gefunden")]
    NotFound,
    #[error("{message}")]
    BadRequest { field: Option<String>, message: String },
    #[error("{0}")]
    Rule(#[from] DomainError),
    #[error("Der Vorgang wurde inzwischen geändert (aktuelle Version {current_version}). Bitte laden Sie ihn neu und wiederholen Sie die Aktion.")]
    Conflict { current_version: i64 },
    #[error("Die Anfrage ist zu groß: höchstens {limit} Bytes")]
    TooLarge { limit: usize },
    /// A JSON endpoint called with another Content-Type than `application/json`.
    #[error("Der Anfragetext muss {expected} sein (Content-Type).")]
    WrongContentType { expected: &'static str },
    /// Too many failed logins: 429 with `Retry-After` (the lock's longest duration, never its
    /// actual end, which would tell when someone else's failures began).
    #[error("Nach zu vielen Fehlversuchen ist die Anmeldung vorübergehend gesperrt. Bitte versuchen Sie es später noch einmal.")]
    TooManyRequests { retry_after_seconds: u64 },
    /// The path exists, but not with this method: 405 with `Allow`.
    #[error("Diese Methode gibt es für diese Adresse nicht.")]
    MethodNotAllowed { allow: String },
    #[error("Das Sicherheitstoken des Formulars ist ungültig. Bitte laden Sie die Seite neu.")]
    Csrf,
    #[error("Eingang ungültig: {0}")]
    Intake(ValidationError, store::DeliveryId),
    /// The delivery's Content-Type is not the format of the address it was sent to.
    #[error("Eingang nicht lesbar: {0}")]
    UnsupportedMediaType(ValidationError, store::DeliveryId),
    #[error("Der Dienst ist kurz nicht verfügbar. Bitte versuchen Sie es gleich noch einmal.")]
    Unavailable,
    #[error("Die Anfrage kam zu langsam an und wurde abgebrochen; bitte erneut senden.")]
    TooSlow,
    #[error("Bitte ändern Sie zuerst Ihr einmaliges Passwort (Seite „Passwort ändern“).")]
    PasswordChangeRequired,
    /// Intake's memory budget is full: 503 with Retry-After.
    #[error("{0}")]
    Busy(#[from] intake::Busy),
    #[error("Ein interner Fehler ist aufgetreten.")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        Self::BadRequest { field: Some(field.to_owned()), message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::Csrf | Self::NetworkNotAllowed | Self::PasswordChangeRequired => {
                StatusCode::FORBIDDEN
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest { .. } | Self::Intake(..) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(..) | Self::WrongContentType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Rule(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Self::Unavailable | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NetworkNotAllowed => "network-not-allowed",
            Self::NotFound => "not-found",
            Self::BadRequest { .. } => "bad-request",
            Self::Rule(DomainError::IllegalMove(_)) => "illegal-status-move",
            Self::Rule(_) => "rule-violated",
            Self::Conflict { .. } => "conflict",
            Self::TooLarge { .. } => "too-large",
            Self::TooSlow => "too-slow",
            Self::Csrf => "csrf",
            Self::Intake(..) => "invalid-eingang",
            Self::UnsupportedMediaType(..) | Self::WrongContentType { .. } => "unsupported-media-type",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::MethodNotAllowed { .. } => "method-not-allowed",
            Self::Unavailable => "unavailable",
            Self::Busy(_) => "busy",
            Self::PasswordChangeRequired => "password-change-required",
            Self::Internal(_) => "internal",
        }
    }

    fn log(&self) {
        if let Self::Internal(detail) = self {
            tracing::error!(error = %detail, "internal error");
        }
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => Self::NotFound,
            StorageError::Conflict { current_version } => Self::Conflict { current_version },
            StorageError::Duplicate(what) => {
                Self::BadRequest { field: Some(what.to_owned()), message: format!("{what} ist bereits vergeben") }
            }
            StorageError::InvalidReference(what) => {
                Self::BadRequest { field: Some(what.to_owned()), message: "unbekannt oder deaktiviert".into() }
            }
            StorageError::Retryable(detail) => {
                tracing::warn!(error = %detail, "storage busy");
                Self::Unavailable
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<app::Error> for AppError {
    fn from(e: app::Error) -> Self {
        match e {
            app::Error::NotFound => Self::NotFound,
            app::Error::Forbidden => Self::Forbidden,
            app::Error::Invalid { field, message } => Self::BadRequest { field, message },
            app::Error::Rule(r) => Self::Rule(r),
            app::Error::Conflict { current_version } => Self::Conflict { current_version },
            app::Error::Storage(s) => s.into(),
            app::Error::Documents(d) => d.into(),
            app::Error::Internal(detail) => Self::Internal(detail),
        }
    }
}

impl From<documents::DocumentError> for AppError {
    fn from(e: documents::DocumentError) -> Self {
        match e {
            documents::DocumentError::NotFound => Self::NotFound,
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<IntakeError> for AppError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Invalid { delivery, error } => Self::Intake(error, delivery),
            IntakeError::UnsupportedMediaType { delivery, error } => Self::UnsupportedMediaType(error, delivery),
            IntakeError::AlreadyProcessed(_) => Self::BadRequest { field: None, message: e.to_string() },
            IntakeError::Unroutable { delivery, message, .. } => {
                Self::Intake(ValidationError::new("control.zustaendigeStelle", message), delivery)
            }
            IntakeError::Storage(s) => s.into(),
            IntakeError::Documents(d) => d.into(),
        }
    }
}

/// An error of the API as `application/problem+json` (RFC 9457). This struct is what is
/// rendered and, through its schema, what the OpenAPI document promises.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// `https://ozgcloud.de/probleme/<code>`, e.g. `…/not-found`, `…/conflict`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    pub title: &'a str,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong, in German, for people.
    pub detail: String,
    /// The input at fault (a JSON field, a query parameter or a form-data path), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<&'a str>,
    /// With 409: the Vorgang's current version.
    #[serde(rename = "currentVersion", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub current_version: Option<i64>,
    /// Intake: the id under which the delivery was kept (quarantine).
    #[serde(rename = "deliveryId", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = Uuid)]
    pub delivery_id: Option<String>,
    /// `urn:request:<id>`: the request's id, as in its `X-Request-Id` header and log lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub instance: Option<String>,
}

/// The API rendering: `application/problem+json`.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let (field, current_version, delivery_id) = match &self {
            Self::BadRequest { field, .. } => (field.as_deref(), None, None),
            Self::Intake(v, d) | Self::UnsupportedMediaType(v, d) => {
                (Some(v.field.as_str()), None, Some(d.to_string()))
            }
            Self::Conflict { current_version } => (None, Some(*current_version), None),
            _ => (None, None, None),
        };
        let problem = Problem {
            kind: format!("https://ozgcloud.de/probleme/{}", self.code()),
            title: status.canonical_reason().unwrap_or("Fehler"),
            status: status.as_u16(),
            detail: self.to_string(),
            field,
            current_version,
            delivery_id,
            instance: crate::request_id::instance(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut res = (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Senders (form services) retry; tell them when.
            res.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
        }
        if let Self::TooManyRequests { retry_after_seconds } = self {
            res.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after_seconds));
        }
        if let Self::MethodNotAllowed { allow } = self {
            if let Ok(v) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, v);
            }
        }
        res
    }
}

/// The UI rendering: a German HTML page (or the login page when not signed in).
///
/// Where a `PageError` arises (`?` in a handler, an extractor's rejection, a middleware) the
/// tenant's base is not at hand, so its response is [`Unfinished`]; the tenant layer, which
/// knows the request's base, completes it through [`finish_page`].
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

/// An error page still to be written with the request's base (see [`PageError`]).
#[derive(Debug, Clone)]
enum Unfinished {
    /// Not signed in: to the login page.
    Login,
    /// The error page with this message, under the response's status.
    Page(String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        e.log();
        let (status, unfinished) = match e {
            AppError::Unauthenticated => (StatusCode::SEE_OTHER, Unfinished::Login),
            e => (e.status(), Unfinished::Page(e.to_string())),
        };
        // Should the response escape unfinished, it still says what went wrong.
        let text = match &unfinished {
            Unfinished::Login => String::new(),
            Unfinished::Page(message) => message.clone(),
        };
        let mut res = (status, text).into_response();
        res.extensions_mut().insert(unfinished);
        res
    }
}

/// Writes the page of an [`Unfinished`] error response with `base`; any other response
/// passes unchanged.
pub fn finish_page(mut res: Response, base: &crate::tenancy::Base) -> Response {
    let Some(unfinished) = res.extensions_mut().remove::<Unfinished>() else {
        return res;
    };
    let finished = match unfinished {
        Unfinished::Login => axum::response::Redirect::to(&base.link("/login")).into_response(),
        Unfinished::Page(message) => crate::pages::error_page(base, res.status(), &message),
    };
    // Headers set on the way out (by a middleware) stay; the page's own replace the placeholder's.
    let (mut parts, _) = res.into_parts();
    let (page, body) = finished.into_parts();
    parts.status = page.status;
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(page.headers);
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::Base;
    use domain::TenantId;

    /// An error that arose without the base at hand (`?` in a handler) is written with the
    /// base of the request it answers.
    #[tokio::test]
    async fn error_pages_get_the_links_of_the_request() {
        let kiel = Base::path(&TenantId::parse("kiel").expect("id"));
        let res = finish_page(PageError(AppError::NotFound).into_response(), &kiel);
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        assert!(content_type.is_some_and(|ct| ct.starts_with("text/html")), "{content_type:?}");
        let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.expect("body");
        let html = String::from_utf8_lossy(&body);
        assert!(html.contains(r#"<a href="/t/kiel/vorgaenge">Zur Vorgangsliste</a>"#), "{html}");

        let res = finish_page(PageError(AppError::Unauthenticated).into_response(), &kiel);
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/t/kiel/login"));

        let api = AppError::NotFound.into_response();
        let passed = finish_page(api, &kiel);
        let content_type = passed.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("application/problem+json"), "other responses pass unchanged");
    }
}
