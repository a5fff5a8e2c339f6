//! Renders the form-data tree as readable HTML: fields as description lists, groups as
//! headed sections (nesting shown by heading level), uniform repeated blocks as tables.

use domain::FormItem;
use std::fmt::Write;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // NUL and other control characters HTML does not allow: visible, never raw.
            c if crate::fmt::is_unshowable(c) => out.push(crate::fmt::UNSHOWABLE),
            c => out.push(c),
        }
    }
    out
}

pub fn render(items: &[FormItem]) -> String {
    if items.is_empty() {
        return "<p class=\"muted\">Das Formular enthält keine Daten.</p>".to_owned();
    }
    let mut out = String::from("<div class=\"formdata\">");
    render_items(&mut out, items, 3);
    out.push_str("</div>");
    out
}

fn render_items(out: &mut String, items: &[FormItem], level: u8) {
    let mut fields_open = false;
    for item in items {
        if item.items.is_empty() {
            if !fields_open {
                out.push_str("<dl>");
                fields_open = true;
            }
            let value = item.value.as_ref().map(|v| v.display()).unwrap_or_default();
            let value = if value.is_empty() { "–".to_owned() } else { value };
            let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", escape(item.display_label()), escape(&value));
            continue;
        }
        if fields_open {
            out.push_str("</dl>");
            fields_open = false;
        }
        render_group(out, item, level);
    }
    if fields_open {
        out.push_str("</dl>");
    }
}

fn render_group(out: &mut String, group: &FormItem, level: u8) {
    let h = level.min(6);
    out.push_str("<section class=\"group\">");
    let _ = write!(out, "<h{h}>{}</h{h}>", escape(group.display_label()));
    if let Some(v) = &group.value {
        let _ = write!(out, "<p>{}</p>", escape(&v.display()));
    }
    match group.table_columns() {
        Some(columns) => {
            let _ = write!(
                out,
                "<table><caption class=\"visually-hidden\">{}</caption><thead><tr>",
                escape(group.display_label())
            );
            for c in columns {
                let _ = write!(out, "<th scope=\"col\">{}</th>", escape(c));
            }
            out.push_str("</tr></thead><tbody>");
            for row in &group.items {
                out.push_str("<tr>");
                for cell in &row.items {
                    let v = cell.value.as_ref().map(|v| v.display()).unwrap_or_default();
                    let _ = write!(out, "<td>{}</td>", escape(&v));
                }
                out.push_str("</tr>");
            }
            out.push_str("</tbody></table>");
        }
        None => render_items(out, &group.items, level + 1),
    }
    out.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::FormValue;

    #[test]
    fn escapes_and_nests() {
        let tree = vec![FormItem::group(
            "antragsteller",
            "Antragsteller",
            vec![FormItem::field("name", "<b>Name</b>", FormValue::String("Klara & Co".into()))],
        )];
        let html = render(&tree);
        assert!(html.contains("<h3>Antragsteller</h3>"));
        assert!(html.contains("&lt;b&gt;Name&lt;/b&gt;"));
        assert!(html.contains("Klara &amp; Co"));
    }

    #[test]
    fn nul_is_shown_visibly_never_raw() {
        let tree = vec![FormItem::field("name", "Na\0me", FormValue::String("Klara\0Muster\u{1}".into()))];
        let html = render(&tree);
        assert!(!html.contains('\0') && !html.contains('\u{1}'), "{html:?}");
        assert!(html.contains("<dd>Klara\u{FFFD}Muster\u{FFFD}</dd>"), "{html}");
        assert!(html.contains("<dt>Na\u{FFFD}me</dt>"), "{html}");
    }
}
