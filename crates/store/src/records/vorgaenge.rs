//! Records of the storage contract: Vorgänge, intake, users and sessions: the records most operations return.

use domain::{
    Antragsteller, DocumentId, FormItem, Role, TenantId, TransactionId, UnitId, UserId, Visibility, VorgangEvent,
    VorgangId, VorgangStatus, Vorgangsnummer,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

// Timestamps serialize as RFC 3339 (`2024-03-01T08:00:00.123Z`): readable in an export file and
// independent of the `time` crate's feature flags.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliveryId(pub Uuid);

impl DeliveryId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for DeliveryId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Who did something: a user, or the system (intake, demo, migrations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: Option<UserId>,
    pub name: String,
}

impl Actor {
    pub fn system(name: &str) -> Self {
        Self { user: None, name: name.to_owned() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Stored raw, not yet parsed.
    Received,
    Processed,
    /// A repeated delivery of a transaction id that already has a Vorgang.
    Duplicate,
    Quarantined,
    /// Parsed, but no Organisationseinheit carries its `zustaendigeStelle` ("nicht zuordenbar").
    /// Kept in the platform tenant until an operator routes it again.
    Unroutable,
}

impl DeliveryStatus {
    /// The tenant-level event a delivery that failed with this status records (in the same
    /// transaction as the status), so integrators and admins learn of it without polling the
    /// quarantine. Only the two failure states have one.
    pub fn failure_event(self, delivery: DeliveryId, field: &str) -> Option<VorgangEvent> {
        match self {
            Self::Quarantined => {
                Some(VorgangEvent::EingangQuarantaene { delivery_id: delivery.0, feld: field.to_owned() })
            }
            Self::Unroutable => Some(VorgangEvent::EingangNichtZuordenbar { delivery_id: delivery.0 }),
            _ => None,
        }
    }

    /// Who records a failed delivery's event.
    pub fn failure_actor() -> Actor {
        Actor::system("Eingang")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "RECEIVED",
            Self::Processed => "PROCESSED",
            Self::Duplicate => "DUPLICATE",
            Self::Quarantined => "QUARANTINED",
            Self::Unroutable => "UNROUTABLE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Received, Self::Processed, Self::Duplicate, Self::Quarantined, Self::Unroutable]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDelivery {
    pub id: DeliveryId,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// How it came in: `antrag-multipart`, `api-json`.
    pub channel: String,
    pub content_type: String,
    pub blob_key: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub tenant: TenantId,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub channel: String,
    pub content_type: String,
    pub blob_key: String,
    pub size: u64,
    pub status: DeliveryStatus,
    pub error_field: Option<String>,
    pub error_message: Option<String>,
    pub vorgang_id: Option<VorgangId>,
    pub attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentKind {
    /// The applicant's attachments.
    Attachment,
    /// The rendering of the filled form (usually a PDF).
    Representation,
    /// Attached by a clerk ("Daten anhängen"), to the Vorgang or to one of its notes; kept
    /// apart from the applicant's documents.
    Clerk,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attachment => "ATTACHMENT",
            Self::Representation => "REPRESENTATION",
            Self::Clerk => "CLERK",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Attachment, Self::Representation, Self::Clerk].into_iter().find(|d| d.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub id: DocumentId,
    pub vorgang_id: VorgangId,
    pub kind: DocumentKind,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub blob_key: String,
    pub sha256: String,
}

/// Everything needed to create a Vorgang from a parsed Eingang.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewVorgang {
    pub id: VorgangId,
    pub nummer: Vorgangsnummer,
    pub transaction_id: TransactionId,
    #[serde(with = "time::serde::rfc3339")]
    pub eingang_at: OffsetDateTime,
    pub form_id: String,
    pub form_name: String,
    pub zustaendige_stelle: String,
    /// The Organisationseinheit intake routed it to.
    pub unit: Option<UnitId>,
    pub leika_ids: Vec<String>,
    pub applicant: Antragsteller,
    /// The `control` object as delivered (extra keys included).
    pub control: serde_json::Value,
    pub form_data: Vec<FormItem>,
    pub documents: Vec<DocumentRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntakeOutcome {
    Created(VorgangHead),
    /// The transaction id was delivered before; this is its Vorgang.
    Duplicate(VorgangHead),
}

impl IntakeOutcome {
    pub fn head(&self) -> &VorgangHead {
        match self {
            Self::Created(h) | Self::Duplicate(h) => h,
        }
    }
}

/// The identity and current state of a Vorgang: what commands and receipts need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VorgangHead {
    pub id: VorgangId,
    pub nummer: Vorgangsnummer,
    pub status: VorgangStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub status_since: OffsetDateTime,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    pub id: UserId,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VorgangRecord {
    pub head: VorgangHead,
    pub tenant: TenantId,
    pub transaction_id: TransactionId,
    pub aktenzeichen: Option<String>,
    pub assignee: Option<UserRef>,
    #[serde(with = "time::serde::rfc3339")]
    pub eingang_at: OffsetDateTime,
    pub form_id: String,
    pub form_name: String,
    pub zustaendige_stelle: String,
    pub leika_ids: Vec<String>,
    pub applicant: Antragsteller,
    pub control: serde_json::Value,
    pub form_data: Vec<FormItem>,
    pub documents: Vec<DocumentRecord>,
    /// The status to return to when a Löschanforderung is withdrawn.
    pub status_before_deletion_request: Option<VorgangStatus>,
    /// The Organisationseinheit responsible for it.
    pub unit: Option<UnitId>,
}

/// One row of the worklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VorgangListItem {
    pub id: VorgangId,
    pub nummer: Vorgangsnummer,
    pub status: VorgangStatus,
    pub aktenzeichen: Option<String>,
    pub form_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub eingang_at: OffsetDateTime,
    pub assignee: Option<UserRef>,
    pub applicant_name: Option<String>,
    pub version: i64,
    /// The earliest Frist of its open Wiedervorlagen.
    pub naechste_frist: Option<time::Date>,
    /// With a text search: a short window of its form-data text around the first hit
    /// (`domain::search::snippet`), when the form data holds a hit; otherwise `None`.
    pub treffer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum View {
    Alle,
    Meine(UserId),
    NichtZugewiesen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortKey {
    EingangAt,
    Nummer,
    FormName,
    Status,
    Aktenzeichen,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [Self::EingangAt, Self::Nummer, Self::FormName, Self::Status, Self::Aktenzeichen];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EingangAt => "eingang",
            Self::Nummer => "nummer",
            Self::FormName => "formular",
            Self::Status => "status",
            Self::Aktenzeichen => "aktenzeichen",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorklistQuery {
    /// Whose Vorgänge may appear at all (from the principal's roles and units).
    pub visibility: Visibility,
    pub view: View,
    pub status: Option<VorgangStatus>,
    pub sort: SortKey,
    pub descending: bool,
    /// Zero-based.
    pub page: u32,
    pub per_page: u32,
    /// Text search and further filters; the default filters nothing.
    pub filter: WorklistFilter,
}

/// "Vorgang suchen" and the filters of the worklist (issue 6), on top of view, status and
/// visibility (which always apply, so a search never finds what the worklist would not show).
/// All given parts must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorklistFilter {
    /// Search terms from `domain::search::terms` (folded `[a-z0-9]+`; backends drop any
    /// other). Each must be the prefix of a folded word of the Vorgangsnummer, Aktenzeichen,
    /// applicant name, form name or a form-data value. Empty: no text search.
    pub terms: Vec<String>,
    /// Only Vorgänge of this form (exact form name, as [`crate::SearchStore::forms`] lists it).
    pub form_name: Option<String>,
    /// Only those of this Organisationseinheit.
    pub unit: Option<UnitId>,
    /// Only those assigned to this user (with the view `NichtZugewiesen`: none).
    pub assignee: Option<UserId>,
    /// Eingang at or after this instant.
    #[serde(with = "time::serde::rfc3339::option")]
    pub eingang_von: Option<OffsetDateTime>,
    /// Eingang before this instant (exclusive).
    #[serde(with = "time::serde::rfc3339::option")]
    pub eingang_bis: Option<OffsetDateTime>,
}

impl WorklistFilter {
    /// Nothing to filter: the worklist may answer from its kept counters.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorklistPage {
    pub items: Vec<VorgangListItem>,
    /// All Vorgänge matching view, status filter and [`WorklistFilter`].
    pub total: u64,
    /// Per status, for the view and the [`WorklistFilter`] (without the status filter): with
    /// a search or filter active they count the matching Vorgänge, so they never promise
    /// more than a click on the status shows.
    pub counts: StatusCounts,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub by_status: Vec<(VorgangStatus, u64)>,
}

impl StatusCounts {
    pub fn get(&self, status: VorgangStatus) -> u64 {
        self.by_status.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n)
    }

    pub fn total(&self) -> u64 {
        self.by_status.iter().map(|(_, n)| n).sum()
    }
}

pub use domain::vorgang::VorgangChange;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Position in the tenant's event log; strictly increasing.
    pub seq: i64,
    /// `None` for a tenant-level event (`VorgangEvent::concerns_a_vorgang` is false).
    pub vorgang_id: Option<VorgangId>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub event: VorgangEvent,
    /// The schema version of `event` ([`domain::vorgang::EVENT_SCHEMA_VERSION`] when written).
    #[serde(default = "first_event_schema")]
    pub schema_version: u32,
}

impl EventRecord {
    /// On import: the Vorgang the tenant must hold for this event, if any. A deleted Vorgang
    /// leaves only its GELOESCHT event, and a tenant-level event has none; an event whose
    /// Vorgang id does not fit its kind is [`StorageError::InvalidReference`].
    pub fn required_vorgang(&self) -> crate::Result<Option<VorgangId>> {
        match (self.event.concerns_a_vorgang(), self.vorgang_id) {
            (true, Some(_)) if matches!(self.event, VorgangEvent::Geloescht { .. }) => Ok(None),
            (true, Some(id)) => Ok(Some(id)),
            (false, None) => Ok(None),
            _ => Err(crate::StorageError::InvalidReference("vorgang")),
        }
    }
}

fn first_event_schema() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub roles: Vec<Role>,
    /// Organisationseinheiten of the tenant (InvalidReference if one is unknown).
    pub units: Vec<UnitId>,
    /// Empty for accounts that only sign in through OIDC.
    pub password_hash: String,
    /// `issuer|subject` of a linked OIDC identity.
    pub oidc_subject: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    pub tenant: TenantId,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    /// Sorted, no duplicates.
    pub roles: Vec<Role>,
    /// Sorted, no duplicates.
    pub units: Vec<UnitId>,
    pub password_hash: String,
    pub disabled: bool,
    pub oidc_subject: Option<String>,
    /// Failed logins since the last success or lock.
    pub failed_logins: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    /// The password was set by someone else (a one-time password): the user must choose a
    /// new one before doing anything else. Cleared by [`crate::UserStore::set_password`].
    #[serde(default)]
    pub password_change_required: bool,
}

impl UserRecord {
    pub fn as_ref(&self) -> UserRef {
        UserRef { id: self.id, display_name: self.display_name.clone() }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn principal(&self) -> domain::Principal {
        domain::Principal::User { id: self.id, roles: self.roles.clone(), units: self.units.clone() }
    }
}

/// What a tenant admin changes on a user. Disabling ends the user's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserUpdate {
    pub display_name: String,
    pub email: Option<String>,
    pub roles: Vec<Role>,
    pub units: Vec<UnitId>,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    /// SHA-256 of the cookie token: a stolen database does not yield live sessions.
    pub token_hash: String,
    pub user: UserId,
    pub csrf_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub idle_timeout_secs: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub absolute_expiry: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub tenant: TenantId,
    pub user: UserRecord,
    pub csrf_token: String,
}
