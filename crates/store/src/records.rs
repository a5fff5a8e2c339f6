use domain::{
    Antragsteller, ApiTokenId, DocumentId, FormItem, KommentarId, Role, TenantId, TenantKind, TokenScope,
    TransactionId, UnitId, UserId, Visibility, VorgangEvent, VorgangId, VorgangStatus, Vorgangsnummer, WiedervorlageId,
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
    pub tenant: TenantId,
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
    /// Only Vorgänge of this form (exact form name, as [`crate::Store::forms`] lists it).
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
    pub vorgang_id: VorgangId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub event: VorgangEvent,
    /// The schema version of `event` ([`domain::vorgang::EVENT_SCHEMA_VERSION`] when written).
    #[serde(default = "first_event_schema")]
    pub schema_version: u32,
}

fn first_event_schema() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub id: UserId,
    pub tenant: TenantId,
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
    /// new one before doing anything else. Cleared by [`crate::Store::set_password`].
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
    pub tenant: TenantId,
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

// ---------------------------------------------------------------------------------------
// tenants, units, API tokens, audit log
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTenant {
    pub id: TenantId,
    pub name: String,
    pub kind: TenantKind,
    /// Host name the tenant is reached at (host routing); unique in the installation.
    pub host: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub id: TenantId,
    pub name: String,
    pub kind: TenantKind,
    pub host: Option<String>,
    /// Networks clerks may work from (CIDR notation); empty = anywhere.
    pub ip_allowlist: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What a tenant admin (name, allowlist) or operator (host) changes on a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSettings {
    pub name: String,
    pub host: Option<String>,
    pub ip_allowlist: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUnit {
    pub id: UnitId,
    pub name: String,
    /// The id form services send as `zustaendigeStelle`; unique in the installation.
    pub kennung: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRecord {
    pub id: UnitId,
    pub tenant: TenantId,
    pub name: String,
    pub kennung: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub id: ApiTokenId,
    pub tenant: TenantId,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    /// SHA-256 of the token; the token itself is shown once and never stored.
    pub token_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenRecord {
    pub id: ApiTokenId,
    pub tenant: TenantId,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiTokenRecord {
    pub fn principal(&self) -> domain::Principal {
        domain::Principal::Token { scopes: self.scopes.clone() }
    }
}

/// One entry of a tenant's audit log: logins, failed logins, admin actions, reads of personal
/// data. `detail` never holds secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    pub tenant: TenantId,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Actor,
    /// `anmeldung`, `anmeldung_fehlgeschlagen`, `benutzer_angelegt`, `vorgang_gelesen`, …
    pub action: String,
    /// What it concerned (a user id, a Vorgang id, a token id …).
    pub target: Option<String>,
    pub detail: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the installation's audit log; strictly increasing.
    pub seq: i64,
    pub entry: NewAuditEntry,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Newest first, entries with `seq < before` (None = from the newest).
    pub before: Option<i64>,
    pub action: Option<String>,
    pub limit: u32,
}

// ---------------------------------------------------------------------------------------
// export and import of a tenant
// ---------------------------------------------------------------------------------------

/// The parts of a tenant's export, in the order an import needs them: users before the
/// Vorgänge that name them as assignee, Vorgänge before the events of their history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportSection {
    /// The tenant itself: one [`ExportRecord::Tenant`].
    Tenant,
    Units,
    Users,
    Deliveries,
    Vorgaenge,
    /// The event log, oldest first.
    Events,
    /// The audit log, oldest first.
    Audit,
    /// Kommentare and Wiedervorlagen of the Vorgänge.
    Notes,
}

impl ExportSection {
    /// Every section, in import order.
    pub const ALL: [ExportSection; 8] = [
        Self::Tenant,
        Self::Units,
        Self::Users,
        Self::Deliveries,
        Self::Vorgaenge,
        Self::Events,
        Self::Audit,
        Self::Notes,
    ];
}

/// One piece of a tenant's complete data. Sessions and API tokens are not exported: after a
/// move, everybody logs in again and machines get new tokens.
///
/// Records carry the tenant they were exported from; an import writes them into the tenant it
/// is given, whatever they say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportRecord {
    /// Starts an import: see [`crate::Store::import_records`].
    Tenant(TenantRecord),
    Unit(UnitRecord),
    /// The complete user, password hash and disabled flag included.
    User(UserRecord),
    /// A delivery in any state; the payload itself is in the document store under `blob_key`.
    Delivery(DeliveryRecord),
    /// A full snapshot of a Vorgang: head (status, version, status_since), Aktenzeichen,
    /// assignee (by id; the name is the user's), documents, the status before a
    /// Löschanforderung, and all its data.
    Vorgang(Box<VorgangRecord>),
    /// One event of the log. `seq` is the exporting store's; the importing store appends the
    /// events in the order given, under its own sequence numbers.
    Event(EventRecord),
    /// One audit entry; appended under the importing store's sequence numbers.
    Audit(AuditRecord),
    Kommentar(KommentarRecord),
    Wiedervorlage(WiedervorlageRecord),
    /// A clerk's document (section Notes, after the Kommentare and Wiedervorlagen it may hang on).
    ClerkDocument(Box<ClerkDocumentRecord>),
}

impl ExportRecord {
    pub fn section(&self) -> ExportSection {
        match self {
            Self::Tenant(_) => ExportSection::Tenant,
            Self::Unit(_) => ExportSection::Units,
            Self::User(_) => ExportSection::Users,
            Self::Delivery(_) => ExportSection::Deliveries,
            Self::Vorgang(_) => ExportSection::Vorgaenge,
            Self::Event(_) => ExportSection::Events,
            Self::Audit(_) => ExportSection::Audit,
            Self::Kommentar(_) | Self::Wiedervorlage(_) | Self::ClerkDocument(_) => ExportSection::Notes,
        }
    }
}

/// How much an export of a tenant holds, for progress and for checking an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportCounts {
    pub units: u64,
    pub users: u64,
    pub deliveries: u64,
    pub vorgaenge: u64,
    /// Documents of all Vorgänge (each has a blob in the document store).
    pub documents: u64,
    pub events: u64,
    pub audit: u64,
    /// Kommentare, Wiedervorlagen and clerk documents.
    pub notes: u64,
}

impl ExportCounts {
    /// The number of records in `section`.
    pub fn of(&self, section: ExportSection) -> u64 {
        match section {
            ExportSection::Tenant => 1,
            ExportSection::Units => self.units,
            ExportSection::Users => self.users,
            ExportSection::Deliveries => self.deliveries,
            ExportSection::Vorgaenge => self.vorgaenge,
            ExportSection::Events => self.events,
            ExportSection::Audit => self.audit,
            ExportSection::Notes => self.notes,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Kommentare and Wiedervorlagen
// ---------------------------------------------------------------------------------------

/// What a clerk's document is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachedTo {
    Vorgang,
    Kommentar(KommentarId),
    Wiedervorlage(WiedervorlageId),
}

impl AttachedTo {
    /// As named in the event `DokumentAngehaengt.zu`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Vorgang => "VORGANG",
            Self::Kommentar(_) => "KOMMENTAR",
            Self::Wiedervorlage(_) => "WIEDERVORLAGE",
        }
    }
}

/// A document a clerk attached ("Daten anhängen"): the document (kind [`DocumentKind::Clerk`],
/// its bytes already in the document store), where it hangs, who attached it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClerkDocumentRecord {
    pub document: DocumentRecord,
    pub attached_to: AttachedTo,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: Actor,
}

/// What a final deletion left to do outside the database: the document-store keys of the
/// Vorgang's blobs (raw deliveries and documents). Their deletion is enqueued as jobs in the same
/// transaction ([`crate::NewJob::blob_deletion`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    pub blob_keys: Vec<String>,
}

/// An internal note on a Vorgang; never shown to the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KommentarRecord {
    pub id: KommentarId,
    pub vorgang_id: VorgangId,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub author: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWiedervorlage {
    pub id: WiedervorlageId,
    pub vorgang_id: VorgangId,
    pub betreff: String,
    pub beschreibung: String,
    pub frist: time::Date,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WiedervorlageRecord {
    pub id: WiedervorlageId,
    pub vorgang_id: VorgangId,
    /// For lists across Vorgänge.
    pub vorgang_nummer: Vorgangsnummer,
    pub betreff: String,
    pub beschreibung: String,
    pub frist: time::Date,
    pub erledigt: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub erledigt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: Actor,
    /// Optimistic concurrency: every change bumps it.
    pub version: i64,
}

/// A change of a Wiedervorlage: new content and/or done/reopened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WiedervorlageUpdate {
    pub betreff: String,
    pub beschreibung: String,
    pub frist: time::Date,
    pub erledigt: bool,
}

/// The Wiedervorlagen view across Vorgänge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WiedervorlagenQuery {
    /// Only those of Vorgänge within this visibility.
    pub visibility: Visibility,
    /// Also those marked done.
    pub include_done: bool,
    pub limit: u32,
    pub offset: u32,
}
