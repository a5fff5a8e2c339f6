//! The storage contract of ozgcloud: operations named by intent, the records they return and
//! one error type. Backends (SQLite now, PostgreSQL next) implement [`Store`]; the domain and
//! web layers only ever see `Arc<dyn Store>`.
//!
//! Tenant scoping: every operation on tenant data takes the [`TenantId`] and every backend
//! query filters by it, so a caller cannot reach another tenant's rows by id.

mod error;
mod records;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::StorageError;
pub use records::*;

use async_trait::async_trait;
use domain::{DocumentId, TenantId, TransactionId, UserId, VorgangId};

pub type Result<T> = std::result::Result<T, StorageError>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which engine runs, for logs and the health endpoint.
    fn backend(&self) -> &'static str;

    // --- tenants ---
    async fn ensure_tenant(&self, tenant: &TenantId, name: &str) -> Result<()>;

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
    async fn get_delivery(&self, tenant: &TenantId, delivery: DeliveryId) -> Result<DeliveryRecord>;
    async fn list_quarantine(&self, tenant: &TenantId, limit: u32, offset: u32) -> Result<(Vec<DeliveryRecord>, u64)>;
    /// Deliveries stored but never completed (a crash between storing and parsing), all tenants.
    async fn unfinished_deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>>;
    async fn find_by_transaction(&self, tenant: &TenantId, tx: &TransactionId) -> Result<Option<VorgangHead>>;

    // --- Vorgang reads ---
    async fn worklist(&self, tenant: &TenantId, query: &WorklistQuery) -> Result<WorklistPage>;
    async fn status_counts(&self, tenant: &TenantId, view: &View) -> Result<StatusCounts>;
    async fn get_vorgang(&self, tenant: &TenantId, id: VorgangId) -> Result<VorgangRecord>;
    async fn history(&self, tenant: &TenantId, id: VorgangId) -> Result<Vec<EventRecord>>;
    async fn get_document(&self, tenant: &TenantId, id: DocumentId) -> Result<DocumentRecord>;
    /// The durable event log (outbox) of a tenant, oldest first, after sequence `after`.
    async fn events_after(&self, tenant: &TenantId, after: i64, limit: u32) -> Result<Vec<EventRecord>>;

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
    /// Assigns the oldest unassigned NEU Vorgang to `user`, atomically: two concurrent callers
    /// never get the same one. `None` when the pile is empty.
    async fn claim_next(&self, tenant: &TenantId, user: UserId, actor: &Actor) -> Result<Option<VorgangHead>>;

    // --- users and sessions ---
    async fn create_user(&self, user: NewUser) -> Result<UserRecord>;
    async fn find_user_by_username(&self, tenant: &TenantId, username: &str) -> Result<Option<UserRecord>>;
    async fn get_user(&self, tenant: &TenantId, id: UserId) -> Result<UserRecord>;
    async fn list_users(&self, tenant: &TenantId) -> Result<Vec<UserRecord>>;
    async fn count_users(&self, tenant: &TenantId) -> Result<u64>;
    async fn set_password(&self, tenant: &TenantId, id: UserId, password_hash: &str) -> Result<()>;
    async fn create_session(&self, session: NewSession) -> Result<()>;
    /// The live session with this token hash, touched (idle timeout restarts); expired ones are gone.
    async fn get_session(&self, token_hash: &str, now: time::OffsetDateTime) -> Result<Option<SessionRecord>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

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
    /// tenant (or takes its name) and is refused with [`StorageError::Duplicate`]`("tenant")`
    /// when the tenant holds Vorgänge or deliveries already. Users of the tenant are kept,
    /// except that an imported user replaces the one with the same username (or id): the
    /// imported id wins, so assignees and actors still match; the replaced user's sessions end.
    /// An assignee that is no user of the tenant, or an event of a Vorgang the tenant does not
    /// hold, is [`StorageError::InvalidReference`].
    async fn import_records(&self, tenant: &TenantId, records: Vec<ExportRecord>) -> Result<()>;
}
