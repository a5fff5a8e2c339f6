use serde::{Deserialize, Serialize};

/// One node of the form-data tree a form service delivers: a field with a value, or a
/// group (step, block, repeated block, table row) with child items, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormItem {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<FormValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<FormItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum FormValue {
    String(String),
    Number(serde_json::Number),
    /// Kept as delivered (usually `YYYY-MM-DD`); form services are not consistent.
    Date(String),
    Boolean(bool),
}

impl FormValue {
    /// The value as a clerk reads it (German conventions for booleans, dates and decimals).
    pub fn display(&self) -> String {
        match self {
            FormValue::String(s) => s.clone(),
            FormValue::Number(n) => n.to_string().replace('.', ","),
            FormValue::Date(d) => german_date(d).unwrap_or_else(|| d.clone()),
            FormValue::Boolean(true) => "Ja".to_owned(),
            FormValue::Boolean(false) => "Nein".to_owned(),
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            FormValue::String(s) | FormValue::Date(s) => Some(s),
            _ => None,
        }
    }
}

fn german_date(iso: &str) -> Option<String> {
    let day = iso.get(..10)?;
    let mut parts = day.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (y.len() == 4 && m.len() == 2 && d.len() == 2 && all_digits(y) && all_digits(m) && all_digits(d))
        .then(|| format!("{d}.{m}.{y}"))
}

impl FormItem {
    pub fn field(name: &str, label: &str, value: FormValue) -> Self {
        Self { name: name.to_owned(), label: Some(label.to_owned()), value: Some(value), items: vec![] }
    }

    pub fn group(name: &str, label: &str, items: Vec<FormItem>) -> Self {
        Self { name: name.to_owned(), label: Some(label.to_owned()), value: None, items }
    }

    pub fn display_label(&self) -> &str {
        self.label.as_deref().filter(|l| !l.trim().is_empty()).unwrap_or(&self.name)
    }

    /// A group whose children all share one shape (same names, no grandchildren) reads best
    /// as a table: repeated blocks and table rows from form services look like that.
    pub fn table_columns(&self) -> Option<Vec<&str>> {
        if self.items.len() < 2 || self.items.iter().any(|row| row.items.is_empty()) {
            return None;
        }
        let first: Vec<&str> = self.items[0].items.iter().map(|c| c.name.as_str()).collect();
        let uniform = self.items.iter().all(|row| {
            row.items.len() == first.len()
                && row.items.iter().zip(&first).all(|(c, n)| c.name == *n && c.items.is_empty())
        });
        uniform.then(|| self.items[0].items.iter().map(FormItem::display_label).collect())
    }

    /// All items of the tree, depth first, with the names of their ancestors.
    pub fn walk<'a>(items: &'a [FormItem], f: &mut impl FnMut(&[&'a FormItem], &'a FormItem)) {
        fn go<'a>(
            path: &mut Vec<&'a FormItem>,
            items: &'a [FormItem],
            f: &mut impl FnMut(&[&'a FormItem], &'a FormItem),
        ) {
            for item in items {
                f(path, item);
                path.push(item);
                go(path, &item.items, f);
                path.pop();
            }
        }
        go(&mut Vec::new(), items, f);
    }

    /// The text of all values, for search indexes and summaries.
    pub fn plain_text(items: &[FormItem]) -> String {
        let mut out = String::new();
        FormItem::walk(items, &mut |_, item| {
            if let Some(v) = &item.value {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&v.display());
            }
        });
        out
    }

    pub fn count(items: &[FormItem]) -> usize {
        let mut n = 0;
        FormItem::walk(items, &mut |_, _| n += 1);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_values_the_german_way() {
        assert_eq!(FormValue::Date("2024-03-07".into()).display(), "07.03.2024");
        assert_eq!(FormValue::Date("gestern".into()).display(), "gestern");
        assert_eq!(FormValue::Boolean(true).display(), "Ja");
        let n: serde_json::Number = serde_json::from_str("12.5").unwrap_or_else(|_| 0.into());
        assert_eq!(FormValue::Number(n).display(), "12,5");
    }

    #[test]
    fn uniform_rows_are_a_table() {
        let row =
            |a: &str| FormItem::group("row", "Zeile", vec![FormItem::field("art", "Art", FormValue::String(a.into()))]);
        let table = FormItem::group("baeume", "Bäume", vec![row("Eiche"), row("Linde")]);
        assert_eq!(table.table_columns(), Some(vec!["Art"]));
        let not = FormItem::group("g", "G", vec![row("Eiche")]);
        assert_eq!(not.table_columns(), None);
    }
}
