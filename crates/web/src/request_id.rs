//! One id per request, to find everything about it: every log line written while the request
//! is handled carries it (a tracing span `request{id=…}`), the answer carries it as
//! `X-Request-Id`, and a problem+json answer names it as `instance` (`urn:request:<id>`).
//!
//! A caller (a reverse proxy, a form service) may bring its own id in `X-Request-Id`; it is
//! kept when it is short and plain (1 to 64 characters of `A-Z a-z 0-9 -`), otherwise the
//! request gets a new one.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id taken from a caller.
const MAX_LEN: usize = 64;

tokio::task_local! {
    static CURRENT: String;
}

/// The caller's id, if it is one we can log and echo as it is.
fn incoming(headers: &HeaderMap) -> Option<String> {
    let id = headers.get(HEADER)?.to_str().ok()?;
    let sane = (1..=MAX_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    sane.then(|| id.to_owned())
}

/// The middleware: outermost, so that every other layer's log lines carry the id too.
pub async fn layer(req: Request, next: Next) -> Response {
    let id = incoming(req.headers()).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", id = %id);
    let mut res = CURRENT.scope(id.clone(), next.run(req).instrument(span)).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, value);
    }
    res
}

/// The id of the request being answered (none outside a request).
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// The problem+json `instance` of the current request.
pub fn instance() -> Option<String> {
    current().map(|id| format!("urn:request:{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_bytes(value.as_bytes()).expect("header"));
        h
    }

    #[test]
    fn only_short_plain_ids_are_taken() {
        assert_eq!(incoming(&with("abc-123-XYZ")).as_deref(), Some("abc-123-XYZ"));
        assert_eq!(incoming(&with(&"a".repeat(64))).map(|s| s.len()), Some(64));
        for bad in ["", "a b", "a_b", "x\"y", "ä", "a;b", "../x", &"a".repeat(65)] {
            assert_eq!(incoming(&with(bad)), None, "{bad:?}");
        }
        assert_eq!(incoming(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn the_id_is_there_while_a_request_is_handled() {
        assert_eq!(current(), None);
        let seen = CURRENT.scope("r-1".to_owned(), async { instance() }).await;
        assert_eq!(seen.as_deref(), Some("urn:request:r-1"));
    }
}
