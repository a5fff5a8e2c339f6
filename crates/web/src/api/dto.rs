//! The JSON shapes of the public API. Field names are camelCase like the OZG-Cloud intake.

use super::contract::{integer, iso_date, max_chars, not_blank, one_of, string_enum, Validate};
use crate::error::AppError;
use crate::fmt;
use domain::{FormItem, FormValue};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use store::{DeliveryRecord, DocumentRecord, EventRecord, StatusCounts, VorgangHead, VorgangListItem, VorgangRecord};
use utoipa::ToSchema;
use uuid::Uuid;

/// A file's bytes (a download).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct FileBody(pub Vec<u8>);

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VorgangRef {
    pub vorgang_id: Uuid,
    /// e.g. `31005-FFBZK6`
    pub vorgang_nummer: String,
    #[schema(schema_with = status_schema)]
    pub status: String,
    /// RFC 3339; empty in lists (the worklist does not load it).
    pub status_since: String,
    /// Send this back with every command (optimistic concurrency).
    pub version: i64,
}

/// The statuses of a Vorgang, as the domain names them.
pub fn status_schema() -> utoipa::openapi::schema::Object {
    let names: Vec<&str> = domain::VorgangStatus::ALL.iter().map(|s| s.as_str()).collect();
    string_enum(&names).description(Some("The Vorgang's status")).build()
}

/// The status commands, as the domain names them.
pub fn command_schema() -> utoipa::openapi::schema::Object {
    let names: Vec<&str> = domain::StatusCommand::ALL.iter().map(|c| c.as_str()).collect();
    string_enum(&names).description(Some("The status command")).build()
}

impl From<&VorgangHead> for VorgangRef {
    fn from(h: &VorgangHead) -> Self {
        Self {
            vorgang_id: h.id.0,
            vorgang_nummer: h.nummer.to_string(),
            status: h.status.as_str().to_owned(),
            status_since: fmt::iso(h.status_since),
            version: h.version,
        }
    }
}

/// The answer to a delivery, the same for first and repeated deliveries.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntakeReceipt {
    pub transaction_id: String,
    pub vorgang: VorgangRef,
    /// True when this transaction id had been delivered before.
    pub duplicate: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRefDto {
    pub id: Uuid,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VorgangListEntry {
    #[serde(flatten)]
    pub vorgang: VorgangRef,
    #[schema(required = true)]
    pub aktenzeichen: Option<String>,
    pub form_name: String,
    pub eingang_at: String,
    #[schema(required = true)]
    pub assignee: Option<UserRefDto>,
    #[schema(required = true)]
    pub applicant_name: Option<String>,
    /// The earliest Frist of its open Wiedervorlagen (`YYYY-MM-DD`).
    #[schema(required = true)]
    pub naechste_frist: Option<String>,
    /// With `suche`: a short excerpt of the form data around the first hit, when the form
    /// data holds one.
    #[schema(required = true)]
    pub treffer: Option<String>,
}

impl From<VorgangListItem> for VorgangListEntry {
    fn from(v: VorgangListItem) -> Self {
        Self {
            vorgang: VorgangRef {
                vorgang_id: v.id.0,
                vorgang_nummer: v.nummer.to_string(),
                status: v.status.as_str().to_owned(),
                status_since: String::new(),
                version: v.version,
            },
            aktenzeichen: v.aktenzeichen,
            form_name: v.form_name,
            eingang_at: fmt::iso(v.eingang_at),
            assignee: v.assignee.map(|a| UserRefDto { id: a.id.0, name: a.display_name }),
            applicant_name: v.applicant_name,
            naechste_frist: v.naechste_frist.map(fmt::iso_day),
            treffer: v.treffer,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Worklist {
    pub items: Vec<VorgangListEntry>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    /// Count per status in the chosen view, e.g. `{"NEU": 12}`; with a search or filter,
    /// of the matching Vorgänge.
    #[schema(value_type = Object)]
    pub counts: Map<String, Value>,
}

pub fn counts_json(c: &StatusCounts) -> Map<String, Value> {
    domain::VorgangStatus::ALL.iter().map(|s| (s.as_str().to_owned(), json!(c.get(*s)))).collect()
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentDto {
    pub id: Uuid,
    /// ATTACHMENT or REPRESENTATION
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    /// Where to download it (same authentication).
    pub href: String,
}

impl From<&DocumentRecord> for DocumentDto {
    fn from(d: &DocumentRecord) -> Self {
        Self {
            id: d.id.0,
            kind: d.kind.as_str().to_owned(),
            filename: d.filename.clone(),
            content_type: d.content_type.clone(),
            size: d.size,
            sha256: d.sha256.clone(),
            href: format!("/api/v1/dokumente/{}", d.id),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VorgangDetail {
    #[serde(flatten)]
    pub vorgang: VorgangRef,
    pub transaction_id: String,
    #[schema(required = true)]
    pub aktenzeichen: Option<String>,
    #[schema(required = true)]
    pub assignee: Option<UserRefDto>,
    pub eingang_at: String,
    pub form_id: String,
    pub form_name: String,
    pub zustaendige_stelle: String,
    /// The Organisationseinheit responsible for it.
    #[schema(required = true)]
    pub unit_id: Option<Uuid>,
    pub leika_ids: Vec<String>,
    #[schema(value_type = Object)]
    pub antragsteller: Value,
    /// The `control` object as delivered.
    #[schema(value_type = Object)]
    pub control: Value,
    /// The form-data tree in the intake's own shape (`name`, `label`, `stringValue`, …, `formItems`).
    #[schema(value_type = Vec<Object>)]
    pub form_data: Value,
    pub documents: Vec<DocumentDto>,
    /// Status commands that are legal now.
    pub commands: Vec<String>,
}

impl From<VorgangRecord> for VorgangDetail {
    fn from(v: VorgangRecord) -> Self {
        Self {
            vorgang: VorgangRef::from(&v.head),
            transaction_id: v.transaction_id.to_string(),
            aktenzeichen: v.aktenzeichen,
            assignee: v.assignee.map(|a| UserRefDto { id: a.id.0, name: a.display_name }),
            eingang_at: fmt::iso(v.eingang_at),
            form_id: v.form_id,
            form_name: v.form_name,
            zustaendige_stelle: v.zustaendige_stelle,
            unit_id: v.unit.map(|u| u.0),
            leika_ids: v.leika_ids,
            antragsteller: serde_json::to_value(&v.applicant).unwrap_or(Value::Null),
            control: v.control,
            form_data: Value::Array(v.form_data.iter().map(form_item_json).collect()),
            documents: v.documents.iter().map(DocumentDto::from).collect(),
            commands: v.head.status.legal_commands().iter().map(|c| c.as_str().to_owned()).collect(),
        }
    }
}

fn form_item_json(item: &FormItem) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(item.name));
    if let Some(l) = &item.label {
        m.insert("label".into(), json!(l));
    }
    match &item.value {
        Some(FormValue::String(s)) => m.insert("stringValue".into(), json!(s)),
        Some(FormValue::Number(n)) => m.insert("numberValue".into(), json!(n)),
        Some(FormValue::Date(d)) => m.insert("dateValue".into(), json!(d)),
        Some(FormValue::Boolean(b)) => m.insert("booleanValue".into(), json!(b)),
        None => None,
    };
    if !item.items.is_empty() {
        m.insert("formItems".into(), Value::Array(item.items.iter().map(form_item_json).collect()));
    }
    Value::Object(m)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDto {
    /// Position in the tenant's event log; poll with `?after=` for the next ones.
    pub seq: i64,
    /// `null` for a tenant-level event (EINGANG_QUARANTAENE, EINGANG_NICHT_ZUORDENBAR: a
    /// delivery that did not become a Vorgang; its `delivery_id` is in `event`).
    pub vorgang_id: Option<Uuid>,
    pub at: String,
    pub actor: String,
    /// EINGEGANGEN, STATUS_GEAENDERT, ZUGEWIESEN, AKTENZEICHEN_GEAENDERT, … and its data.
    #[schema(value_type = Object)]
    pub event: Value,
}

impl From<EventRecord> for EventDto {
    fn from(e: EventRecord) -> Self {
        Self {
            seq: e.seq,
            vorgang_id: e.vorgang_id.map(|v| v.0),
            at: fmt::iso(e.at),
            actor: e.actor.name,
            event: serde_json::to_value(&e.event).unwrap_or(Value::Null),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuarantineEntry {
    pub delivery_id: Uuid,
    pub received_at: String,
    pub channel: String,
    pub size: u64,
    #[schema(required = true)]
    pub field: Option<String>,
    #[schema(required = true)]
    pub message: Option<String>,
    pub attempts: u32,
}

impl From<DeliveryRecord> for QuarantineEntry {
    fn from(d: DeliveryRecord) -> Self {
        Self {
            delivery_id: d.id.0,
            received_at: fmt::iso(d.received_at),
            channel: d.channel,
            size: d.size,
            field: d.error_field,
            message: d.error_message,
            attempts: d.attempts,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Quarantine {
    pub items: Vec<QuarantineEntry>,
    pub total: u64,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(max_length = 256)]
    pub username: String,
    #[schema(max_length = 256)]
    pub password: String,
}

impl Validate for LoginRequest {
    fn validate(&self) -> Result<(), AppError> {
        max_chars("username", &self.username, 256)?;
        max_chars("password", &self.password, domain::user::MAX_PASSWORD_LEN)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_in_seconds: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusCommandRequest {
    #[schema(schema_with = command_schema)]
    pub command: String,
    /// The version the caller saw.
    #[serde(deserialize_with = "integer")]
    pub version: i64,
    /// Required for VERWERFEN and LOESCHEN_ANFORDERN.
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

impl Validate for StatusCommandRequest {
    fn validate(&self) -> Result<(), AppError> {
        let names: Vec<&str> = domain::StatusCommand::ALL.iter().map(|c| c.as_str()).collect();
        one_of("command", &self.command, &names)?;
        // The domain's own answer (422), as for a reason that is too long after trimming.
        let max = domain::vorgang::MAX_REASON_LEN;
        if self.reason.as_deref().unwrap_or_default().chars().count() > max {
            return Err(AppError::Rule(domain::DomainError::ReasonTooLong { max }));
        }
        Ok(())
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignRequest {
    /// The user to assign; null to unassign.
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub user_id: Option<Uuid>,
    #[serde(deserialize_with = "integer")]
    pub version: i64,
}

impl Validate for AssignRequest {}

/// A stored delivery that no Organisationseinheit claims; it waits for the operator.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unroutable {
    pub delivery_id: Uuid,
    pub zustaendige_stelle: String,
    pub detail: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnitRequest {
    /// The Organisationseinheit; null for none.
    #[schema(pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
    pub unit_id: Option<Uuid>,
    #[serde(deserialize_with = "integer")]
    pub version: i64,
}

impl Validate for UnitRequest {}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AktenzeichenRequest {
    /// Empty or null clears it. No control characters.
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub aktenzeichen: Option<String>,
    #[serde(deserialize_with = "integer")]
    pub version: i64,
}

impl Validate for AktenzeichenRequest {
    fn validate(&self) -> Result<(), AppError> {
        // What the schema declares, on the untrimmed value, with the domain's answers (422).
        let az = self.aktenzeichen.as_deref().unwrap_or_default();
        let max = domain::vorgang::Aktenzeichen::MAX_LEN;
        if az.chars().count() > max {
            return Err(AppError::Rule(domain::DomainError::AktenzeichenTooLong { max }));
        }
        if az.chars().any(char::is_control) {
            return Err(AppError::Rule(domain::DomainError::AktenzeichenInvalid));
        }
        Ok(())
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimResponse {
    /// The Vorgang now assigned to the caller; null when the pile is empty.
    #[schema(required = true)]
    pub vorgang: Option<VorgangRef>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KommentarDto {
    pub id: Uuid,
    pub vorgang_id: Uuid,
    pub text: String,
    pub at: String,
    pub author: String,
}

impl From<&store::KommentarRecord> for KommentarDto {
    fn from(k: &store::KommentarRecord) -> Self {
        Self {
            id: k.id.0,
            vorgang_id: k.vorgang_id.0,
            text: k.text.clone(),
            at: fmt::iso(k.at),
            author: k.author.name.clone(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct KommentarRequest {
    /// Not blank.
    #[schema(pattern = r"\S", max_length = 10000)]
    pub text: String,
}

impl Validate for KommentarRequest {
    fn validate(&self) -> Result<(), AppError> {
        not_blank("text", &self.text)?;
        max_chars("text", &self.text, domain::notes::MAX_KOMMENTAR)
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WiedervorlageDto {
    pub id: Uuid,
    pub vorgang_id: Uuid,
    pub vorgang_nummer: String,
    pub betreff: String,
    pub beschreibung: String,
    /// `YYYY-MM-DD`
    pub frist: String,
    pub erledigt: bool,
    pub version: i64,
    pub created_by: String,
}

impl From<&store::WiedervorlageRecord> for WiedervorlageDto {
    fn from(w: &store::WiedervorlageRecord) -> Self {
        Self {
            id: w.id.0,
            vorgang_id: w.vorgang_id.0,
            vorgang_nummer: w.vorgang_nummer.to_string(),
            betreff: w.betreff.clone(),
            beschreibung: w.beschreibung.clone(),
            frist: fmt::iso_day(w.frist),
            erledigt: w.erledigt,
            version: w.version,
            created_by: w.created_by.name.clone(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct WiedervorlageRequest {
    /// Not blank.
    #[schema(max_length = 200, pattern = r"\S")]
    pub betreff: String,
    #[serde(default)]
    #[schema(max_length = 5000)]
    pub beschreibung: String,
    #[schema(format = Date, pattern = r"^[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))$")]
    pub frist: String,
}

impl Validate for WiedervorlageRequest {
    fn validate(&self) -> Result<(), AppError> {
        check_wiedervorlage(Some(&self.betreff), Some(&self.beschreibung), Some(&self.frist))
    }
}

/// Changes of a Wiedervorlage: each field given is changed, each one absent stays.
#[derive(Deserialize, ToSchema)]
pub struct WiedervorlageChange {
    /// Not blank.
    #[schema(max_length = 200, pattern = r"\S")]
    pub betreff: Option<String>,
    #[schema(max_length = 5000)]
    pub beschreibung: Option<String>,
    #[schema(format = Date, pattern = r"^[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))$")]
    pub frist: Option<String>,
    /// Marks it done (`true`) or open again (`false`).
    pub erledigt: Option<bool>,
    #[serde(deserialize_with = "integer")]
    pub version: i64,
}

impl Validate for WiedervorlageChange {
    fn validate(&self) -> Result<(), AppError> {
        check_wiedervorlage(self.betreff.as_deref(), self.beschreibung.as_deref(), self.frist.as_deref())
    }
}

fn check_wiedervorlage(betreff: Option<&str>, beschreibung: Option<&str>, frist: Option<&str>) -> Result<(), AppError> {
    if let Some(b) = betreff {
        not_blank("betreff", b)?;
        max_chars("betreff", b, domain::notes::MAX_BETREFF)?;
    }
    if let Some(d) = beschreibung {
        max_chars("beschreibung", d, domain::notes::MAX_BESCHREIBUNG)?;
    }
    if let Some(f) = frist {
        iso_date("frist", f)?;
    }
    Ok(())
}
