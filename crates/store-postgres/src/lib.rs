//! The PostgreSQL backend of the storage contract, for several `ozgcloud serve` processes
//! sharing one database.
//!
//! Behaviour is that of the SQLite backend, as pinned by `store::testing`. What differs is how
//! it stays correct when other processes write at the same time (all in READ COMMITTED):
//! - Intake inserts with `ON CONFLICT DO NOTHING` and only then looks at what is there, so a
//!   concurrent duplicate is `Duplicate` and a taken number `NummerTaken`, never an error.
//! - Changes lock the Vorgang row (`SELECT ... FOR UPDATE`) before the version check;
//!   `claim_next` takes the oldest free row with `FOR UPDATE SKIP LOCKED`.
//! - Events are appended under a per-tenant advisory lock held until commit, so sequence
//!   numbers are assigned in commit order and `events_after` never skips a late commit.
//! - Failed logins are counted by one `UPDATE`, so parallel guesses all count; unique keys
//!   (kennung, host, username, OIDC subject) are left to the database's constraints and
//!   mapped to `Duplicate`, so concurrent creators get one winner and clean refusals.
//! - Changes of a Wiedervorlage lock its Vorgang's row first (`FOR NO KEY UPDATE`) and then
//!   recompute `vorgaenge.naechste_frist` in a statement of its own, so concurrent changes of
//!   one Vorgang's Wiedervorlagen take turns and the earliest open Frist stays exact.
//! - A transaction that fails is rolled back before the error is returned, so its row locks
//!   are gone when the caller acts on the error.
//! - Reads that return a page and a total use one REPEATABLE READ snapshot.
//! - Times come from the database clock (one clock for all processes), truncated to
//!   milliseconds; times given by callers are truncated to milliseconds before writing.
//! - Serialization failures, deadlocks and lost connections are
//!   [`StorageError::Retryable`]; the design avoids them, callers retry them.

mod convert;
mod documents;
mod intake;
mod jobs;
mod migrate;
mod notes;
mod portal;
mod search;
mod tenants;
#[cfg(feature = "testing")]
pub mod testing;
mod transfer;
mod users;
mod vorgang;

use async_trait::async_trait;
use convert::map_err;
use domain::{
    ApiTokenId, DocumentId, KommentarId, TenantId, TransactionId, UnitId, UserId, Visibility, VorgangId,
    WiedervorlageId,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;
use store::*;
use time::OffsetDateTime;

/// Connections per process. Several processes share the server's `max_connections` (100 by
/// default).
const MAX_CONNECTIONS: u32 = 16;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?options`) and applies
    /// pending migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StorageError::Other(format!("invalid PostgreSQL URL: {e}")))?
            .application_name("ozgcloud");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool, applying pending migrations.
    pub async fn from_pool(pool: PgPool) -> Result<Self> {
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations. Safe when several processes start at once: they take turns
    /// under an advisory lock, and each migration is applied once, in one transaction.
    /// Vorgänge of older versions then get their search entry.
    pub async fn migrate(&self) -> Result<()> {
        migrate::migrate(&self.pool).await?;
        search::backfill(&self.pool).await.map(drop)
    }

    /// The connection pool, for health checks and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the pool's connections; operations afterwards fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ensure_tenant(&self, tenant: NewTenant) -> Result<TenantRecord> {
        tenants::ensure_tenant(&self.pool, &tenant).await
    }

    async fn create_tenant(&self, tenant: NewTenant) -> Result<TenantRecord> {
        tenants::create_tenant(&self.pool, &tenant).await
    }

    async fn get_tenant(&self, tenant: &TenantId) -> Result<TenantRecord> {
        tenants::get_tenant(&self.pool, tenant).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
        tenants::list_tenants(&self.pool).await
    }

    async fn find_tenant_by_host(&self, host: &str) -> Result<Option<TenantRecord>> {
        tenants::find_tenant_by_host(&self.pool, host).await
    }

    async fn update_tenant(&self, tenant: &TenantId, settings: TenantSettings) -> Result<TenantRecord> {
        tenants::update_tenant(&self.pool, tenant, &settings).await
    }

    async fn create_unit(&self, tenant: &TenantId, unit: NewUnit) -> Result<UnitRecord> {
        tenants::create_unit(&self.pool, tenant, &unit).await
    }

    async fn update_unit(&self, tenant: &TenantId, id: UnitId, name: &str, kennung: &str) -> Result<UnitRecord> {
        tenants::update_unit(&self.pool, tenant, id, name, kennung).await
    }

    async fn list_units(&self, tenant: &TenantId) -> Result<Vec<UnitRecord>> {
        tenants::list_units(&self.pool, tenant).await
    }

    async fn route_kennung(&self, kennung: &str) -> Result<Option<UnitRecord>> {
        tenants::route_kennung(&self.pool, kennung).await
    }

    async fn record_delivery(&self, delivery: NewDelivery) -> Result<()> {
        intake::record_delivery(&self.pool, &delivery).await
    }

    async fn complete_intake(
        &self,
        tenant: &TenantId,
        delivery: DeliveryId,
        vorgang: NewVorgang,
    ) -> Result<IntakeOutcome> {
        intake::complete_intake(&self.pool, tenant, delivery, &vorgang).await
    }

    async fn quarantine_delivery(
        &self,
        tenant: &TenantId,
        delivery: DeliveryId,
        field: &str,
        message: &str,
    ) -> Result<()> {
        intake::quarantine(&self.pool, tenant, delivery, field, message).await
    }

    async fn unroutable_delivery(&self, tenant: &TenantId, delivery: DeliveryId, message: &str) -> Result<()> {
        intake::unroutable(&self.pool, tenant, delivery, message).await
    }

    async fn move_delivery(&self, from: &TenantId, delivery: DeliveryId, to: &TenantId) -> Result<()> {
        intake::move_delivery(&self.pool, from, delivery, to).await
    }

    async fn get_delivery(&self, tenant: &TenantId, delivery: DeliveryId) -> Result<DeliveryRecord> {
        intake::get_delivery(&self.pool, tenant, delivery).await
    }

    async fn list_quarantine(
        &self,
        tenant: &TenantId,
        status: DeliveryStatus,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<DeliveryRecord>, u64)> {
        intake::list_quarantine(&self.pool, tenant, status, limit, offset).await
    }

    async fn unfinished_deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>> {
        intake::unfinished(&self.pool, limit).await
    }

    async fn find_by_transaction(&self, tenant: &TenantId, tx: &TransactionId) -> Result<Option<VorgangHead>> {
        vorgang::find_by_transaction(&self.pool, tenant, tx).await
    }

    async fn worklist(&self, tenant: &TenantId, query: &WorklistQuery) -> Result<WorklistPage> {
        vorgang::worklist(&self.pool, tenant, query).await
    }

    async fn status_counts(&self, tenant: &TenantId, visibility: &Visibility, view: &View) -> Result<StatusCounts> {
        vorgang::status_counts(&self.pool, tenant, visibility, view).await
    }

    async fn get_vorgang(&self, tenant: &TenantId, id: VorgangId) -> Result<VorgangRecord> {
        vorgang::get_vorgang(&self.pool, tenant, id).await
    }

    async fn history(&self, tenant: &TenantId, id: VorgangId) -> Result<Vec<EventRecord>> {
        vorgang::history(&self.pool, tenant, id).await
    }

    async fn get_document(&self, tenant: &TenantId, id: DocumentId) -> Result<DocumentRecord> {
        vorgang::get_document(&self.pool, tenant, id).await
    }

    async fn events_after(&self, tenant: &TenantId, after: i64, limit: u32) -> Result<Vec<EventRecord>> {
        vorgang::events_after(&self.pool, tenant, after, limit).await
    }

    async fn forms(&self, tenant: &TenantId) -> Result<Vec<String>> {
        search::forms(&self.pool, tenant).await
    }

    async fn index_unindexed(&self) -> Result<u64> {
        search::backfill(&self.pool).await
    }

    async fn apply_change(
        &self,
        tenant: &TenantId,
        id: VorgangId,
        expected_version: i64,
        change: VorgangChange,
        actor: &Actor,
    ) -> Result<VorgangHead> {
        vorgang::apply_change(&self.pool, tenant, id, expected_version, &change, actor).await
    }

    async fn claim_next(
        &self,
        tenant: &TenantId,
        visibility: &Visibility,
        user: UserId,
        actor: &Actor,
    ) -> Result<Option<VorgangHead>> {
        vorgang::claim_next(&self.pool, tenant, visibility, user, actor).await
    }

    async fn add_kommentar(
        &self,
        tenant: &TenantId,
        vorgang: VorgangId,
        id: KommentarId,
        text: &str,
        author: &Actor,
    ) -> Result<KommentarRecord> {
        notes::add_kommentar(&self.pool, tenant, vorgang, id, text, author).await
    }

    async fn list_kommentare(&self, tenant: &TenantId, vorgang: VorgangId) -> Result<Vec<KommentarRecord>> {
        notes::list_kommentare(&self.pool, tenant, vorgang).await
    }

    async fn add_wiedervorlage(&self, tenant: &TenantId, w: NewWiedervorlage) -> Result<WiedervorlageRecord> {
        notes::add_wiedervorlage(&self.pool, tenant, &w).await
    }

    async fn update_wiedervorlage(
        &self,
        tenant: &TenantId,
        id: WiedervorlageId,
        expected_version: i64,
        update: WiedervorlageUpdate,
        actor: &Actor,
    ) -> Result<WiedervorlageRecord> {
        notes::update_wiedervorlage(&self.pool, tenant, id, expected_version, &update, actor).await
    }

    async fn get_wiedervorlage(&self, tenant: &TenantId, id: WiedervorlageId) -> Result<WiedervorlageRecord> {
        notes::get_wiedervorlage(&self.pool, tenant, id).await
    }

    async fn list_wiedervorlagen(&self, tenant: &TenantId, vorgang: VorgangId) -> Result<Vec<WiedervorlageRecord>> {
        notes::list_wiedervorlagen(&self.pool, tenant, vorgang).await
    }

    async fn wiedervorlagen(
        &self,
        tenant: &TenantId,
        query: &WiedervorlagenQuery,
    ) -> Result<(Vec<WiedervorlageRecord>, u64)> {
        notes::wiedervorlagen(&self.pool, tenant, query).await
    }

    async fn count_due_wiedervorlagen(
        &self,
        tenant: &TenantId,
        visibility: &Visibility,
        day: time::Date,
    ) -> Result<u64> {
        notes::count_due_wiedervorlagen(&self.pool, tenant, visibility, day).await
    }

    async fn add_clerk_document(&self, tenant: &TenantId, doc: ClerkDocumentRecord) -> Result<()> {
        documents::add_clerk_document(&self.pool, tenant, &doc).await
    }

    async fn list_clerk_documents(&self, tenant: &TenantId, vorgang: VorgangId) -> Result<Vec<ClerkDocumentRecord>> {
        documents::list_clerk_documents(&self.pool, tenant, vorgang).await
    }

    async fn remove_clerk_document(
        &self,
        tenant: &TenantId,
        id: DocumentId,
        actor: &Actor,
    ) -> Result<ClerkDocumentRecord> {
        documents::remove_clerk_document(&self.pool, tenant, id, actor).await
    }

    async fn purge_vorgang(
        &self,
        tenant: &TenantId,
        id: VorgangId,
        expected_version: i64,
        tombstone: NewAuditEntry,
        actor: &Actor,
    ) -> Result<Purged> {
        documents::purge_vorgang(&self.pool, tenant, id, expected_version, &tombstone, actor).await
    }

    async fn create_user(&self, user: NewUser) -> Result<UserRecord> {
        users::create_user(&self.pool, &user).await
    }

    async fn find_user_by_username(&self, tenant: &TenantId, username: &str) -> Result<Option<UserRecord>> {
        users::find_user_by_username(&self.pool, tenant, username).await
    }

    async fn get_user(&self, tenant: &TenantId, id: UserId) -> Result<UserRecord> {
        users::get_user(&self.pool, tenant, id).await
    }

    async fn list_users(&self, tenant: &TenantId) -> Result<Vec<UserRecord>> {
        users::list_users(&self.pool, tenant).await
    }

    async fn count_users(&self, tenant: &TenantId) -> Result<u64> {
        users::count_users(&self.pool, tenant).await
    }

    async fn find_user_by_oidc_subject(&self, tenant: &TenantId, subject: &str) -> Result<Option<UserRecord>> {
        users::find_user_by_oidc_subject(&self.pool, tenant, subject).await
    }

    async fn link_oidc_subject(&self, tenant: &TenantId, id: UserId, subject: &str) -> Result<()> {
        users::link_oidc_subject(&self.pool, tenant, id, subject).await
    }

    async fn update_user(&self, tenant: &TenantId, id: UserId, update: UserUpdate) -> Result<UserRecord> {
        users::update_user(&self.pool, tenant, id, &update).await
    }

    async fn set_password(&self, tenant: &TenantId, id: UserId, password_hash: &str) -> Result<()> {
        users::set_password(&self.pool, tenant, id, password_hash).await
    }

    async fn require_password_change(&self, tenant: &TenantId, id: UserId) -> Result<()> {
        users::require_password_change(&self.pool, tenant, id).await
    }

    async fn record_login_failure(&self, tenant: &TenantId, id: UserId, now: OffsetDateTime) -> Result<UserRecord> {
        users::record_login_failure(&self.pool, tenant, id, now).await
    }

    async fn record_login_success(&self, tenant: &TenantId, id: UserId) -> Result<()> {
        users::record_login_success(&self.pool, tenant, id).await
    }

    async fn create_session(&self, session: NewSession) -> Result<()> {
        users::create_session(&self.pool, &session).await
    }

    async fn get_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<SessionRecord>> {
        let Some(found) = users::find_session(&self.pool, token_hash).await? else { return Ok(None) };
        let liveness = domain::session::liveness(&found.times, found.record.user.disabled, now);
        if liveness == domain::session::Liveness::Ended {
            users::delete_session(&self.pool, token_hash).await?;
            return Ok(None);
        }
        if liveness == (domain::session::Liveness::Alive { touch: true }) {
            users::touch_session(&self.pool, token_hash, now).await?;
        }
        Ok(Some(found.record))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        users::delete_session(&self.pool, token_hash).await
    }

    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64> {
        Ok(users::delete_expired_sessions(&self.pool, now).await? + portal::delete_expired(&self.pool, now).await?)
    }

    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiTokenRecord> {
        tenants::create_api_token(&self.pool, &token).await
    }

    async fn list_api_tokens(&self, tenant: &TenantId) -> Result<Vec<ApiTokenRecord>> {
        tenants::list_api_tokens(&self.pool, tenant).await
    }

    async fn revoke_api_token(&self, tenant: &TenantId, id: ApiTokenId, now: OffsetDateTime) -> Result<()> {
        tenants::revoke_api_token(&self.pool, tenant, id, now).await
    }

    async fn find_api_token(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<ApiTokenRecord>> {
        tenants::find_api_token(&self.pool, token_hash, now).await
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()> {
        tenants::append_audit(&self.pool, &entry).await
    }

    async fn list_audit(&self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        tenants::list_audit(&self.pool, tenant, query).await
    }

    async fn count_for_export(&self, tenant: &TenantId) -> Result<ExportCounts> {
        transfer::count_for_export(&self.pool, tenant).await
    }

    async fn export_page(
        &self,
        tenant: &TenantId,
        section: ExportSection,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ExportRecord>, Option<String>)> {
        transfer::export_page(&self.pool, tenant, section, after, limit).await
    }

    async fn import_records(&self, tenant: &TenantId, records: Vec<ExportRecord>) -> Result<()> {
        transfer::import_records(&self.pool, tenant, &records).await
    }
}

#[async_trait]
impl JobStore for PostgresStore {
    async fn enqueue_job(&self, job: NewJob) -> Result<Option<domain::JobId>> {
        jobs::enqueue(&self.pool, &job).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        kinds: &[String],
        limit: u32,
        lease: time::Duration,
    ) -> Result<Vec<JobRecord>> {
        jobs::claim(&self.pool, worker, kinds, limit, lease).await
    }

    async fn finish_job(&self, id: domain::JobId, worker: &str, plan: domain::jobs::AfterAttempt) -> Result<()> {
        jobs::finish(&self.pool, id, worker, &plan).await
    }

    async fn get_job(&self, id: domain::JobId) -> Result<JobRecord> {
        jobs::get_job(&self.pool, id).await
    }

    async fn list_jobs(&self, query: &JobQuery) -> Result<Vec<JobRecord>> {
        jobs::list(&self.pool, query).await
    }

    async fn count_jobs(&self) -> Result<Vec<JobCount>> {
        jobs::count(&self.pool).await
    }

    async fn retry_job(&self, id: domain::JobId) -> Result<JobRecord> {
        jobs::retry(&self.pool, id).await
    }

    async fn discard_job(&self, id: domain::JobId, reason: &str) -> Result<JobRecord> {
        jobs::discard(&self.pool, id, reason).await
    }

    async fn prune_jobs(&self, before: OffsetDateTime) -> Result<u64> {
        jobs::prune(&self.pool, before).await
    }

    async fn event_cursor(&self, consumer: &str, tenant: &TenantId) -> Result<i64> {
        jobs::cursor(&self.pool, consumer, tenant).await
    }

    async fn advance_event_cursor(
        &self,
        consumer: &str,
        tenant: &TenantId,
        from: i64,
        to: i64,
        new_jobs: Vec<NewJob>,
    ) -> Result<()> {
        jobs::advance_cursor(&self.pool, consumer, tenant, from, to, &new_jobs).await
    }
}

#[async_trait]
impl PortalSessionStore for PostgresStore {
    async fn create_portal_session(&self, session: NewPortalSession) -> Result<()> {
        portal::create(&self.pool, &session).await
    }

    async fn get_portal_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<PortalSessionRecord>> {
        let Some((record, times)) = portal::find(&self.pool, token_hash).await? else { return Ok(None) };
        match domain::session::liveness(&times, false, now) {
            domain::session::Liveness::Ended => {
                portal::delete(&self.pool, token_hash).await?;
                Ok(None)
            }
            domain::session::Liveness::Alive { touch } => {
                if touch {
                    portal::touch(&self.pool, token_hash, now).await?;
                }
                Ok(Some(record))
            }
        }
    }

    async fn delete_portal_session(&self, token_hash: &str) -> Result<()> {
        portal::delete(&self.pool, token_hash).await
    }

    async fn delete_portal_sessions_of(&self, tenant: &TenantId, subject: &str) -> Result<u64> {
        portal::delete_of(&self.pool, tenant, subject).await
    }
}
