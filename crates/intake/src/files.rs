use bytes::Bytes;

/// A file that came with an Antrag (attachment or representation).
#[derive(Debug, Clone)]
pub struct IncomingFile {
    pub filename: String,
    pub content_type: String,
    pub bytes: Bytes,
}

/// Keeps the last path component, drops control and quoting characters, caps the length.
/// The name is only ever shown and offered for download, never used as a path.
pub fn sanitize_filename(raw: Option<&str>, fallback: &str) -> String {
    let base = raw.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_or_format(*c) && !matches!(c, '"' | '<' | '>' | '|' | '*' | '?' | ':'))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned
    }
}

/// Invisible direction and format marks: "Ausweis\u{202E}fdp.exe" would show as "Ausweisexe.pdf".
fn is_bidi_or_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

pub(crate) fn content_type_or_default(ct: Option<&str>) -> String {
    match ct.map(str::trim) {
        Some(ct) if !ct.is_empty() && ct.len() <= 200 && !ct.chars().any(char::is_control) => ct.to_owned(),
        _ => "application/octet-stream".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_tamed() {
        assert_eq!(sanitize_filename(Some("C:\\Users\\k\\Ausweis.pdf"), "x"), "Ausweis.pdf");
        assert_eq!(sanitize_filename(Some("../../etc/passwd"), "x"), "passwd");
        assert_eq!(sanitize_filename(Some("..."), "anhang-1"), "anhang-1");
        assert_eq!(sanitize_filename(Some("a\"b<c>.pdf"), "x"), "abc.pdf");
        assert_eq!(sanitize_filename(Some("Ausweis\u{202E}fdp.exe"), "x"), "Ausweisfdp.exe");
    }
}
