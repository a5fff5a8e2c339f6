//! The intake payload of today's OZG-Cloud clients: `{ "control": {...}, "formData": [...] }`.
//! Parsed by hand from a JSON value so that every error names the exact field.

use crate::formdata::{FormItem, FormValue};
use crate::ids::TransactionId;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// JSON path of the offending field, e.g. `control.transactionId` or `formData[2].name`.
    pub field: String,
    /// German, because it is shown to clerks and admins in the quarantine.
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceKonto {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postfach_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postfach_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control {
    pub transaction_id: TransactionId,
    pub zustaendige_stelle: String,
    pub leika_ids: Vec<String>,
    pub form_id: String,
    pub form_name: String,
    pub service_konto: Option<ServiceKonto>,
    /// The whole `control` object as delivered, including keys we do not interpret
    /// (e.g. `organisationsEinheitenId`), so nothing a client sends is dropped.
    pub raw: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Antrag {
    pub control: Control,
    pub form_data: Vec<FormItem>,
}

/// Limits that keep a hostile payload from exhausting the server.
pub const MAX_FORM_ITEMS: usize = 20_000;
const MAX_TEXT: usize = 1_000;

impl Antrag {
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, ValidationError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ValidationError::new(
                "formData",
                format!("kein gültiges JSON (Zeile {}, Spalte {}): {}", e.line(), e.column(), json_reason(&e)),
            )
        })?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Self, ValidationError> {
        // NUL is no text: PostgreSQL refuses it in text columns, and a page cannot show it.
        // Both engines keep U+FFFD in its place; the raw delivery keeps the original bytes.
        let cleaned;
        let value = if has_nul(value) {
            cleaned = without_nul(value);
            &cleaned
        } else {
            value
        };
        let root = value
            .as_object()
            .ok_or_else(|| ValidationError::new("$", "muss ein JSON-Objekt mit \"control\" und \"formData\" sein"))?;
        let control = match root.get("control") {
            None | Some(Value::Null) => return Err(ValidationError::new("control", "fehlt")),
            Some(Value::Object(c)) => parse_control(c)?,
            Some(_) => return Err(ValidationError::new("control", "muss ein Objekt sein")),
        };
        let form_data = match root.get("formData") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => {
                let mut count = 0;
                parse_items(items, "formData", &mut count)?
            }
            Some(_) => return Err(ValidationError::new("formData", "muss eine Liste von Formularfeldern sein")),
        };
        Ok(Antrag { control, form_data })
    }
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn without_nul(v: &Value) -> Value {
    let fix = |s: &str| s.replace('\0', "\u{FFFD}");
    match v {
        Value::String(s) => Value::String(fix(s)),
        Value::Array(a) => Value::Array(a.iter().map(without_nul).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (fix(k), without_nul(v))).collect()),
        other => other.clone(),
    }
}

fn json_reason(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "unerwartetes Ende",
        Category::Syntax => "Syntaxfehler",
        Category::Data => "unerwarteter Datentyp",
        Category::Io => "Lesefehler",
    }
}

fn required_text(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, ValidationError> {
    let field = format!("{path}.{key}");
    match obj.get(key) {
        None | Some(Value::Null) => Err(ValidationError::new(field, "fehlt")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(ValidationError::new(field, "darf nicht leer sein")),
        Some(Value::String(s)) if s.chars().count() > MAX_TEXT => {
            Err(ValidationError::new(field, format!("ist länger als {MAX_TEXT} Zeichen")))
        }
        Some(Value::String(s)) => Ok(s.trim().to_owned()),
        // Some clients send numeric ids for organisational units.
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(ValidationError::new(field, "muss ein Text sein")),
    }
}

fn optional_text(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, ValidationError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => required_text(obj, key, path).map(Some),
    }
}

fn parse_control(c: &Map<String, Value>) -> Result<Control, ValidationError> {
    let tx = required_text(c, "transactionId", "control")?;
    let transaction_id = TransactionId::parse(&tx).ok_or_else(|| {
        ValidationError::new(
            "control.transactionId",
            format!("ist ungültig (höchstens {} Zeichen, keine Steuerzeichen)", TransactionId::MAX_LEN),
        )
    })?;
    let zustaendige_stelle = required_text(c, "zustaendigeStelle", "control")?;
    let form_id = required_text(c, "formId", "control")?;
    let form_name = required_text(c, "name", "control")?;
    let leika_ids = match c.get("leikaIds") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.trim().to_owned()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(ValidationError::new(format!("control.leikaIds[{i}]"), "muss ein Text sein")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ValidationError::new("control.leikaIds", "muss eine Liste sein")),
    };
    let service_konto = match c.get("serviceKonto") {
        None | Some(Value::Null) => None,
        Some(Value::Object(sk)) => Some(parse_service_konto(sk)?),
        Some(_) => return Err(ValidationError::new("control.serviceKonto", "muss ein Objekt sein")),
    };
    Ok(Control { transaction_id, zustaendige_stelle, leika_ids, form_id, form_name, service_konto, raw: c.clone() })
}

fn parse_service_konto(sk: &Map<String, Value>) -> Result<ServiceKonto, ValidationError> {
    let path = "control.serviceKonto";
    let kind = required_text(sk, "type", path)?;
    let trust_level = optional_text(sk, "trustLevel", path)?;
    let (postfach_identifier, postfach_type) = match sk.get("postfachAddress") {
        None | Some(Value::Null) => (None, None),
        Some(Value::Object(pa)) => {
            let p = "control.serviceKonto.postfachAddress";
            (optional_text(pa, "identifier", p)?, optional_text(pa, "type", p)?)
        }
        Some(_) => return Err(ValidationError::new(format!("{path}.postfachAddress"), "muss ein Objekt sein")),
    };
    Ok(ServiceKonto { kind, trust_level, postfach_identifier, postfach_type })
}

fn parse_items(items: &[Value], path: &str, count: &mut usize) -> Result<Vec<FormItem>, ValidationError> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let here = format!("{path}[{i}]");
            *count += 1;
            if *count > MAX_FORM_ITEMS {
                return Err(ValidationError::new(here, format!("mehr als {MAX_FORM_ITEMS} Formularfelder")));
            }
            let obj = v.as_object().ok_or_else(|| ValidationError::new(&here, "muss ein Objekt sein"))?;
            parse_item(obj, &here, count)
        })
        .collect()
}

fn parse_item(obj: &Map<String, Value>, path: &str, count: &mut usize) -> Result<FormItem, ValidationError> {
    let name = required_text(obj, "name", path)?;
    let label = optional_text(obj, "label", path)?;
    let mut value = None;
    for key in ["stringValue", "numberValue", "dateValue", "booleanValue"] {
        let Some(v) = obj.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        if value.is_some() {
            return Err(ValidationError::new(format!("{path}.{key}"), "ein Feld darf nur einen Wert haben"));
        }
        let field = || format!("{path}.{key}");
        value = Some(match (key, v) {
            ("stringValue", Value::String(s)) => FormValue::String(s.clone()),
            // Some clients send numbers and booleans as strings; keep them readable.
            ("stringValue", Value::Number(n)) => FormValue::String(n.to_string()),
            ("stringValue", Value::Bool(b)) => FormValue::String(b.to_string()),
            ("numberValue", Value::Number(n)) => FormValue::Number(n.clone()),
            ("numberValue", Value::String(s)) => FormValue::Number(
                s.trim()
                    .replace(',', ".")
                    .parse::<serde_json::Number>()
                    .map_err(|_| ValidationError::new(field(), "muss eine Zahl sein"))?,
            ),
            ("dateValue", Value::String(s)) => FormValue::Date(s.clone()),
            ("booleanValue", Value::Bool(b)) => FormValue::Boolean(*b),
            ("booleanValue", Value::String(s)) if s == "true" || s == "false" => FormValue::Boolean(s == "true"),
            ("stringValue", _) | ("dateValue", _) => return Err(ValidationError::new(field(), "muss ein Text sein")),
            ("numberValue", _) => return Err(ValidationError::new(field(), "muss eine Zahl sein")),
            _ => return Err(ValidationError::new(field(), "muss true oder false sein")),
        });
    }
    let items = match obj.get("formItems") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(children)) => parse_items(children, &format!("{path}.formItems"), count)?,
        Some(_) => return Err(ValidationError::new(format!("{path}.formItems"), "muss eine Liste sein")),
    };
    Ok(FormItem { name, label, value, items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn control() -> Value {
        json!({"transactionId": "tx-1", "zustaendigeStelle": "10363455", "leikaIds": ["99050012104000"],
               "formId": "gewerbe-an", "name": "Gewerbeanmeldung", "organisationsEinheitenId": "10363455"})
    }

    #[test]
    fn nul_becomes_the_replacement_character_everywhere() {
        let v = serde_json::json!({
            "control": {"transactionId": "t\u{0}1", "zustaendigeStelle": "1", "formId": "f", "name": "N\u{0}"},
            "formData": [{"name": "a\u{0}", "label": "L", "stringValue": "Mus\u{0}ter"}]
        });
        let a = Antrag::from_value(&v).expect("valid");
        assert_eq!(a.control.transaction_id.as_str(), "t\u{FFFD}1");
        assert_eq!(a.control.form_name, "N\u{FFFD}");
        let text = serde_json::to_string(&a.form_data).expect("json");
        assert!(!text.contains("\\u0000") && text.contains("Mus\u{FFFD}ter") && text.contains("a\u{FFFD}"), "{text}");
    }

    #[test]
    fn parses_nested_tree_and_keeps_extra_control_keys() {
        let a = Antrag::from_value(&json!({"control": control(), "formData": [
            {"name": "antragsteller", "label": "Antragsteller", "formItems": [
                {"name": "pers_vorname", "label": "Vorname", "stringValue": "Klara"},
                {"name": "kinder", "formItems": [{"name": "alter", "numberValue": 4}]}]},
            {"name": "zustimmung", "booleanValue": true}]}))
        .expect("valid");
        assert_eq!(a.control.form_name, "Gewerbeanmeldung");
        assert!(a.control.raw.contains_key("organisationsEinheitenId"));
        assert_eq!(FormItem::count(&a.form_data), 5);
    }

    #[test]
    fn errors_name_the_field() {
        let err = |v: Value| Antrag::from_value(&v).expect_err("must fail").field;
        assert_eq!(err(json!({"formData": []})), "control");
        let mut c = control();
        c.as_object_mut().map(|o| o.remove("transactionId"));
        assert_eq!(err(json!({"control": c})), "control.transactionId");
        assert_eq!(
            err(json!({"control": control(), "formData": [{"name": "a", "formItems": [{"label": "x"}]}]})),
            "formData[0].formItems[0].name"
        );
        assert_eq!(
            err(json!({"control": control(), "formData": [{"name": "a", "numberValue": "zwölf"}]})),
            "formData[0].numberValue"
        );
        assert_eq!(Antrag::from_json_bytes(b"{\"control\": ").expect_err("eof").field, "formData");
    }
}
