//! The storage contract of ozgcloud: operations named by intent, the records they return and
//! one error type. Backends (SQLite now, PostgreSQL next) implement [`Store`]; the domain and
//! web layers only ever see `Arc<dyn Store>`.
//!
//! Tenant scoping: every operation on tenant data takes the [`TenantId`] and every backend
//! query filters by it, so a caller cannot reach another tenant's rows by id.

mod error;
mod jobs;
mod portal;
mod records;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::StorageError;
pub use jobs::*;
pub use portal::*;
pub use records::*;

use async_trait::async_trait;
use domain::{
    ApiTokenId, DocumentId, KommentarId, TenantId, TransactionId, UnitId, UserId, Visibility, VorgangId,
    WiedervorlageId,
};

pub type Result<T> = std::result::Result<T, StorageError>;

#[async_trait]
pub trait Store: JobStore + PortalSessionStore + Send + Sync + 'static {
    /// Which engine runs, for logs and the health endpoint.
    fn backend(&self) -> &'static str;

    // --- tenants (installation-wide: the only operations without a tenant to scope by) ---
    /// Creates the tenant if it does not exist; an existing one is returned unchanged.
    async fn ensure_tenant(&self, tenant: NewTenant) -> Result<TenantRecord>;
    /// [`StorageError::Duplicate`]`("tenant")` if the id exists, `("host")` if the host is taken.
    async fn create_tenant(&self, tenant: NewTenant) -> Result<TenantRecord>;
    async fn get_tenant(&self, tenant: &TenantId) -> Result<TenantRecord>;
    async fn list_tenants(&self) -> Result<Vec<TenantRecord>>;
    async fn find_tenant_by_host(&self, host: &str) -> Result<Option<TenantRecord>>;
    /// `Duplicate("host")` if another tenant has the host.
    async fn update_tenant(&self, tenant: &TenantId, settings: TenantSettings) -> Result<TenantRecord>;

    // --- Organisationseinheiten ---
    /// `Duplicate("kennung")` if any unit of the installation carries the kennung.
    async fn create_unit(&self, tenant: &TenantId, unit: NewUnit) -> Result<UnitRecord>;
    async fn update_unit(&self, tenant: &TenantId, id: UnitId, name: &str, kennung: &str) -> Result<UnitRecord>;
    async fn list_units(&self, tenant: &TenantId) -> Result<Vec<UnitRecord>>;
    /// The unit (and so the tenant) owning a `zustaendigeStelle`, across all tenants: intake
    /// routing.
    async fn route_kennung(&self, kennung: &str) -> Result<Option<UnitRecord>>;

    // --- intake ---
    /// Records a raw delivery (already written to the document store) before it is parsed.
    async fn record_delivery(&self, delivery: NewDelivery) -> Result<()>;
    /// Creates the Vorgang of a parsed delivery, or links the delivery to the Vorgang that
    /// already carries its transaction id. Atomic and idempotent on `transaction_id`.
    /// A taken Vorgangsnummer is [`StorageError::NummerTaken`]: draw another and retry.
    async fn complete_intake(
        &self,
        tenant: &TenantId,
        delivery: DeliveryId,
        vorgang: NewVorgang,
    ) -> Result<IntakeOutcome>;
    /// Marks a delivery as unparseable; it stays listed for an admin until re-processed.
    async fn quarantine_delivery(
        &self,
        tenant: &TenantId,
        delivery: DeliveryId,
        field: &str,
        message: &str,
    ) -> Result<()>;
    /// Marks a parsed delivery as "nicht zuordenbar": no unit carries its `zustaendigeStelle`.
    async fn unroutable_delivery(&self, tenant: &TenantId, delivery: DeliveryId, message: &str) -> Result<()>;
    /// Hands a delivery (and its raw payload's record) to the tenant intake routed it to.
    async fn move_delivery(&self, from: &TenantId, delivery: DeliveryId, to: &TenantId) -> Result<()>;
    async fn get_delivery(&self, tenant: &TenantId, delivery: DeliveryId) -> Result<DeliveryRecord>;
    /// Deliveries in `status` (Quarantined or Unroutable), newest first, and how many there are.
    async fn list_quarantine(
        &self,
        tenant: &TenantId,
        status: DeliveryStatus,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<DeliveryRecord>, u64)>;
    /// Deliveries stored but never completed (a crash between storing and parsing), all tenants.
    async fn unfinished_deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>>;
    async fn find_by_transaction(&self, tenant: &TenantId, tx: &TransactionId) -> Result<Option<VorgangHead>>;

    // --- Vorgang reads ---
    async fn worklist(&self, tenant: &TenantId, query: &WorklistQuery) -> Result<WorklistPage>;
    async fn status_counts(&self, tenant: &TenantId, visibility: &Visibility, view: &View) -> Result<StatusCounts>;
    async fn get_vorgang(&self, tenant: &TenantId, id: VorgangId) -> Result<VorgangRecord>;
    async fn history(&self, tenant: &TenantId, id: VorgangId) -> Result<Vec<EventRecord>>;
    async fn get_document(&self, tenant: &TenantId, id: DocumentId) -> Result<DocumentRecord>;
    /// The durable event log (outbox) of a tenant, oldest first, after sequence `after`.
    async fn events_after(&self, tenant: &TenantId, after: i64, limit: u32) -> Result<Vec<EventRecord>>;

    // --- search (issue 6): text search and filters are part of `worklist` (WorklistFilter) ---
    /// The distinct form names of the tenant's Vorgänge, sorted byte-wise: the choices of the
    /// worklist's form filter.
    async fn forms(&self, tenant: &TenantId) -> Result<Vec<String>>;
    /// Indexes Vorgänge that have no search entry yet (written by an older version, e.g.
    /// during a rolling update on a shared PostgreSQL), all tenants; returns how many. Cheap
    /// when there are none: run it periodically.
    async fn index_unindexed(&self) -> Result<u64>;

    // --- Vorgang commands ---
    /// Applies one change if the Vorgang is still at `expected_version`; otherwise
    /// [`StorageError::Conflict`]. Records the matching event in the same transaction.
    async fn apply_change(
        &self,
        tenant: &TenantId,
        id: VorgangId,
        expected_version: i64,
        change: VorgangChange,
        actor: &Actor,
    ) -> Result<VorgangHead>;
    /// Assigns the oldest unassigned NEU Vorgang within `visibility` to `user`, atomically: two
    /// concurrent callers never get the same one. `None` when the pile is empty.
    async fn claim_next(
        &self,
        tenant: &TenantId,
        visibility: &Visibility,
        user: UserId,
        actor: &Actor,
    ) -> Result<Option<VorgangHead>>;

    // --- Kommentare and Wiedervorlagen (issue 6) ---
    /// Adds an internal note and records `VorgangEvent::KommentarHinzugefuegt` in the same
    /// transaction. NotFound if the tenant has no such Vorgang. Does not change the Vorgang's
    /// version (notes never conflict with commands).
    async fn add_kommentar(
        &self,
        tenant: &TenantId,
        vorgang: VorgangId,
        id: KommentarId,
        text: &str,
        author: &Actor,
    ) -> Result<KommentarRecord>;
    /// Oldest first.
    async fn list_kommentare(&self, tenant: &TenantId, vorgang: VorgangId) -> Result<Vec<KommentarRecord>>;
    /// Creates a Wiedervorlage (version 1, not done) and records `WiedervorlageAngelegt`.
    /// NotFound if the tenant has no such Vorgang.
    async fn add_wiedervorlage(&self, tenant: &TenantId, w: NewWiedervorlage) -> Result<WiedervorlageRecord>;
    /// Applies `update` if the Wiedervorlage is still at `expected_version`, else Conflict.
    /// Records `WiedervorlageErledigt` / `WiedervorlageWiedereroeffnet` when `erledigt`
    /// changes, else `WiedervorlageGeaendert` (one event per call).
    async fn update_wiedervorlage(
        &self,
        tenant: &TenantId,
        id: WiedervorlageId,
        expected_version: i64,
        update: WiedervorlageUpdate,
        actor: &Actor,
    ) -> Result<WiedervorlageRecord>;
    async fn get_wiedervorlage(&self, tenant: &TenantId, id: WiedervorlageId) -> Result<WiedervorlageRecord>;
    /// Of one Vorgang: open ones by Frist, then done ones.
    async fn list_wiedervorlagen(&self, tenant: &TenantId, vorgang: VorgangId) -> Result<Vec<WiedervorlageRecord>>;
    /// Across the Vorgänge within the query's visibility, by Frist (earliest first), and the
    /// total. `VorgangListItem::naechste_frist` in the worklist is the earliest open Frist.
    async fn wiedervorlagen(
        &self,
        tenant: &TenantId,
        query: &WiedervorlagenQuery,
    ) -> Result<(Vec<WiedervorlageRecord>, u64)>;
    /// How many open Wiedervorlagen within `visibility` are due on or before `day`.
    async fn count_due_wiedervorlagen(
        &self,
        tenant: &TenantId,
        visibility: &Visibility,
        day: time::Date,
    ) -> Result<u64>;

    // --- clerk documents and final deletion (issue 6) ---
    /// Records a clerk's document (its blob already stored) and `VorgangEvent::DokumentAngehaengt`
    /// in one transaction. NotFound if the tenant has no such Vorgang, or the Kommentar /
    /// Wiedervorlage it is attached to is not one of that Vorgang's.
    async fn add_clerk_document(&self, tenant: &TenantId, doc: ClerkDocumentRecord) -> Result<()>;
    /// The clerk documents of a Vorgang, oldest first. NotFound if the tenant has no such Vorgang.
    async fn list_clerk_documents(&self, tenant: &TenantId, vorgang: VorgangId) -> Result<Vec<ClerkDocumentRecord>>;
    /// Removes a clerk's document (kind [`DocumentKind::Clerk`]; the applicant's documents
    /// cannot be removed: NotFound), records `VorgangEvent::DokumentEntfernt` and enqueues
    /// the deletion of its blob ([`NewJob::blob_deletion`]), in one transaction. Returns the record as it was.
    async fn remove_clerk_document(
        &self,
        tenant: &TenantId,
        id: DocumentId,
        actor: &Actor,
    ) -> Result<ClerkDocumentRecord>;
    /// Deletes a Vorgang for good, if it is still at `expected_version` (else Conflict): its
    /// data, documents, notes, deliveries and history. Appends `tombstone` to the audit log and
    /// `VorgangEvent::Geloescht` to the outbox, and enqueues a [`NewJob::blob_deletion`] per
    /// blob, all in one transaction. The caller checks the four-eyes rule (`domain::deletion`) beforehand.
    async fn purge_vorgang(
        &self,
        tenant: &TenantId,
        id: VorgangId,
        expected_version: i64,
        tombstone: NewAuditEntry,
        actor: &Actor,
    ) -> Result<Purged>;

    // --- users and sessions ---
    async fn create_user(&self, user: NewUser) -> Result<UserRecord>;
    async fn find_user_by_username(&self, tenant: &TenantId, username: &str) -> Result<Option<UserRecord>>;
    async fn get_user(&self, tenant: &TenantId, id: UserId) -> Result<UserRecord>;
    async fn list_users(&self, tenant: &TenantId) -> Result<Vec<UserRecord>>;
    async fn count_users(&self, tenant: &TenantId) -> Result<u64>;
    async fn find_user_by_oidc_subject(&self, tenant: &TenantId, subject: &str) -> Result<Option<UserRecord>>;
    /// Links an OIDC identity; `Duplicate("oidc_subject")` if another user of the tenant has it.
    async fn link_oidc_subject(&self, tenant: &TenantId, id: UserId, subject: &str) -> Result<()>;
    /// Changes name, e-mail, roles, units, disabled flag; a disabled user's sessions end.
    async fn update_user(&self, tenant: &TenantId, id: UserId, update: UserUpdate) -> Result<UserRecord>;
    /// Sets the password hash, clears lockout and `password_change_required`, and ends all of
    /// the user's sessions.
    async fn set_password(&self, tenant: &TenantId, id: UserId, password_hash: &str) -> Result<()>;
    /// Marks the user's password as a one-time password (set by an admin): it must be
    /// changed at the next login. NotFound if the tenant has no such user.
    async fn require_password_change(&self, tenant: &TenantId, id: UserId) -> Result<()>;
    /// Counts a failed login atomically (concurrent failures all count) and locks the account
    /// when [`domain::user::MAX_FAILED_LOGINS`] is reached (see `domain::user::after_failed_login`).
    async fn record_login_failure(
        &self,
        tenant: &TenantId,
        id: UserId,
        now: time::OffsetDateTime,
    ) -> Result<UserRecord>;
    /// A successful login: the failure count and lock are cleared.
    async fn record_login_success(&self, tenant: &TenantId, id: UserId) -> Result<()>;
    async fn create_session(&self, session: NewSession) -> Result<()>;
    /// The live session with this token hash, touched (idle timeout restarts); expired ones are gone.
    async fn get_session(&self, token_hash: &str, now: time::OffsetDateTime) -> Result<Option<SessionRecord>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Removes sessions past their idle or absolute expiry, clerks' and portal sessions (all
    /// tenants); returns how many.
    async fn delete_expired_sessions(&self, now: time::OffsetDateTime) -> Result<u64>;

    // --- API tokens ---
    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiTokenRecord>;
    async fn list_api_tokens(&self, tenant: &TenantId) -> Result<Vec<ApiTokenRecord>>;
    /// Idempotent; NotFound if the tenant has no such token.
    async fn revoke_api_token(&self, tenant: &TenantId, id: ApiTokenId, now: time::OffsetDateTime) -> Result<()>;
    /// The live (not revoked) token with this hash, any tenant; records `now` as last use.
    async fn find_api_token(&self, token_hash: &str, now: time::OffsetDateTime) -> Result<Option<ApiTokenRecord>>;

    // --- audit log ---
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()>;
    async fn list_audit(&self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>>;

    // --- export and import of a whole tenant (moving between backends) ---
    /// How many records each section of the tenant's export holds (and how many documents).
    async fn count_for_export(&self, tenant: &TenantId) -> Result<ExportCounts>;
    /// One page of a section of the tenant's export, at most `limit` records, in a stable
    /// order: start with `after = None`, then pass the returned cursor until it is `None`.
    /// Cursors are opaque and belong to their section. Memory stays bounded by `limit`,
    /// however large the tenant. The pages are separate reads: export from a quiet store.
    async fn export_page(
        &self,
        tenant: &TenantId,
        section: ExportSection,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ExportRecord>, Option<String>)>;
    /// Writes exported records into `tenant` (not the tenant the records name), in one
    /// transaction: the batch is stored completely or not at all. Records come in the order
    /// of [`ExportSection::ALL`], split into batches as the caller likes; the events are
    /// appended in the order given.
    ///
    /// An import starts with a batch beginning with [`ExportRecord::Tenant`]: it creates the
    /// tenant (or takes its name, kind and allowlist; the host is not taken over) and is refused with [`StorageError::Duplicate`]`("tenant")`
    /// when the tenant holds Vorgänge or deliveries already. Users of the tenant are kept,
    /// except that an imported user replaces the one with the same username (or id): the
    /// imported id wins, so assignees and actors still match; the replaced user's sessions end.
    /// An assignee that is no user of the tenant, or an event of a Vorgang the tenant does not
    /// hold, is [`StorageError::InvalidReference`].
    async fn import_records(&self, tenant: &TenantId, records: Vec<ExportRecord>) -> Result<()>;
}
