//! The JSON shapes of the public API. Field names are camelCase like the OZG-Cloud intake.

use crate::fmt;
use domain::{FormItem, FormValue};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use store::{DeliveryRecord, DocumentRecord, EventRecord, StatusCounts, VorgangHead, VorgangListItem, VorgangRecord};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VorgangRef {
    pub vorgang_id: Uuid,
    /// e.g. `31005-FFBZK6`
    pub vorgang_nummer: String,
    /// NEU, ANGENOMMEN, IN_BEARBEITUNG, BESCHIEDEN, ABGESCHLOSSEN, VERWORFEN, WEITERGELEITET, ZU_LOESCHEN
    pub status: String,
    /// RFC 3339
    pub status_since: String,
    /// Send this back with every command (optimistic concurrency).
    pub version: i64,
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
    pub aktenzeichen: Option<String>,
    pub form_name: String,
    pub eingang_at: String,
    pub assignee: Option<UserRefDto>,
    pub applicant_name: Option<String>,
    /// The earliest Frist of its open Wiedervorlagen (`YYYY-MM-DD`).
    pub naechste_frist: Option<String>,
    /// With `suche`: a short excerpt of the form data around the first hit, when the form
    /// data holds one.
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
    pub aktenzeichen: Option<String>,
    pub assignee: Option<UserRefDto>,
    pub eingang_at: String,
    pub form_id: String,
    pub form_name: String,
    pub zustaendige_stelle: String,
    /// The Organisationseinheit responsible for it.
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
    pub vorgang_id: Uuid,
    pub at: String,
    pub actor: String,
    /// EINGEGANGEN, STATUS_GEAENDERT, ZUGEWIESEN, AKTENZEICHEN_GEAENDERT and its data.
    #[schema(value_type = Object)]
    pub event: Value,
}

impl From<EventRecord> for EventDto {
    fn from(e: EventRecord) -> Self {
        Self {
            seq: e.seq,
            vorgang_id: e.vorgang_id.0,
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
    pub field: Option<String>,
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
    pub username: String,
    pub password: String,
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
    /// ANNEHMEN, VERWERFEN, ZURUECKHOLEN, BEARBEITEN, ZURUECKSTELLEN, BESCHEIDEN, ABSCHLIESSEN,
    /// WIEDEREROEFFNEN, LOESCHEN_ANFORDERN, LOESCHANFORDERUNG_ZURUECKNEHMEN
    pub command: String,
    /// The version the caller saw.
    pub version: i64,
    /// Required for VERWERFEN and LOESCHEN_ANFORDERN.
    pub reason: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignRequest {
    /// The user to assign; null to unassign.
    pub user_id: Option<Uuid>,
    pub version: i64,
}

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
    pub unit_id: Option<Uuid>,
    pub version: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AktenzeichenRequest {
    /// Empty or null clears it.
    pub aktenzeichen: Option<String>,
    pub version: i64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimResponse {
    /// The Vorgang now assigned to the caller; null when the pile is empty.
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
    pub text: String,
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
    pub betreff: String,
    #[serde(default)]
    pub beschreibung: String,
    /// `YYYY-MM-DD`
    pub frist: String,
}

/// Changes of a Wiedervorlage: content (all three fields together) and/or `erledigt`.
#[derive(Deserialize, ToSchema)]
pub struct WiedervorlageChange {
    pub betreff: Option<String>,
    pub beschreibung: Option<String>,
    pub frist: Option<String>,
    pub erledigt: Option<bool>,
    pub version: i64,
}
