use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// The only types a file from our origin is served as: kinds a browser renders without running
/// code (and the preview shows). Whatever else a sender or uploader declared (JavaScript,
/// XHTML, SVG, HTML, …) is served as `application/octet-stream`.
const SERVED_TYPES: [&str; 6] = ["application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"];

/// The media type without parameters, lower case: `Text/Plain; charset=utf-8` → `text/plain`.
fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Whether a stored content type is on the allowlist (and so may be previewed inline).
pub fn previewable(content_type: &str) -> bool {
    SERVED_TYPES.contains(&essence(content_type).as_str())
}

/// The Content-Type a stored file is served with: an allowlisted type as stored (a text's
/// charset is kept), anything else `application/octet-stream`.
pub fn served_content_type(stored: &str) -> &str {
    if previewable(stored) {
        stored.trim()
    } else {
        "application/octet-stream"
    }
}

/// A file download with a safe Content-Disposition (RFC 6266 / 5987 for non-ASCII names) and
/// a Content-Type from the allowlist ([`served_content_type`]).
pub fn file_response(filename: &str, content_type: &str, bytes: Bytes, inline: bool) -> Response {
    let content_type = served_content_type(content_type);
    let ascii: String =
        filename.chars().map(|c| if c.is_ascii_alphanumeric() || "._- ".contains(c) { c } else { '_' }).collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition =
        format!("{}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}", if inline { "inline" } else { "attachment" });
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if !inline {
        // A sender-declared type (say, JavaScript) must never run as a script of this origin,
        // even if some page of ours is ever made to load it.
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowlisted_types_are_served_as_declared() {
        assert_eq!(served_content_type("application/pdf"), "application/pdf");
        assert_eq!(served_content_type("text/plain; charset=utf-8"), "text/plain; charset=utf-8");
        assert_eq!(served_content_type("Image/PNG"), "Image/PNG");
        for declared in ["text/javascript", "application/xhtml+xml", "text/html", "image/svg+xml", "text/csv", "", "x"]
        {
            assert_eq!(served_content_type(declared), "application/octet-stream", "{declared}");
        }
        let res = file_response("a.js", "text/javascript", Bytes::from_static(b"alert(1)"), false);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/octet-stream");
    }
}
