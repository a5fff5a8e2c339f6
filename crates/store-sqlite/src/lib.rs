//! The embedded SQLite backend of the storage contract.

mod access;
mod convert;
mod documents;
mod engine;
mod intake;
mod jobs;
mod migrate;
mod notes;
mod portal;
mod search;
mod tenants;
mod transfer;
mod users;
mod vorgang;

use async_trait::async_trait;
use domain::{
    ApiTokenId, DocumentId, KommentarId, TenantId, TransactionId, UnitId, UserId, Visibility, VorgangId,
    WiedervorlageId,
};
use engine::Engine;
use std::path::Path;
use store::*;
use time::OffsetDateTime;

pub struct SqliteStore {
    engine: Engine,
    /// Held while the store is open: one process per database file.
    _lock: std::fs::File,
}

impl SqliteStore {
    /// Opens (or creates) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StorageError::Other(format!("{}: {e}", dir.display())))?;
        }
        // The embedded database belongs to one process: a second one would run start-up
        // recovery on deliveries the first is processing. Taken before anything is touched.
        let lock = lock_database(path)?;
        // Vorgänge of older versions get their search entry before the first request.
        let migrate = |c: &mut rusqlite::Connection| migrate::migrate(c).and_then(|()| search::backfill(c).map(drop));
        Ok(Self { engine: Engine::start(path, migrate)?, _lock: lock })
    }
}

/// An exclusive advisory lock on `<database>.lock`, released when the process ends (even by
/// kill -9): a stale lock file never blocks a restart.
fn lock_database(path: &Path) -> Result<std::fs::File> {
    let lock_path = path.with_extension("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StorageError::Other(format!("{}: {e}", lock_path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StorageError::Other(format!(
            "die Datenbank {} wird bereits von einem anderen ozgcloud-Prozess benutzt",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StorageError::Other(format!("{}: {e}", lock_path.display()))),
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.engine.close();
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ensure_tenant(&self, tenant: NewTenant) -> Result<TenantRecord> {
        self.engine.write(move |c| tenants::ensure_tenant(c, &tenant)).await
    }

    async fn create_tenant(&self, tenant: NewTenant) -> Result<TenantRecord> {
        self.engine.write(move |c| tenants::create_tenant(c, &tenant)).await
    }

    async fn get_tenant(&self, tenant: &TenantId) -> Result<TenantRecord> {
        let tenant = tenant.clone();
        self.engine.read(move |c| tenants::get_tenant(c, &tenant)).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
        self.engine.read(tenants::list_tenants).await
    }

    async fn find_tenant_by_host(&self, host: &str) -> Result<Option<TenantRecord>> {
        let host = host.to_owned();
        self.engine.read(move |c| tenants::find_tenant_by_host(c, &host)).await
    }

    async fn update_tenant(&self, tenant: &TenantId, settings: TenantSettings) -> Result<TenantRecord> {
        let tenant = tenant.clone();
        self.engine.write(move |c| tenants::update_tenant(c, &tenant, &settings)).await
    }

    async fn create_unit(&self, tenant: &TenantId, unit: NewUnit) -> Result<UnitRecord> {
        let tenant = tenant.clone();
        self.engine.write(move |c| tenants::create_unit(c, &tenant, &unit)).await
    }

    async fn update_unit(&self, tenant: &TenantId, id: UnitId, name: &str, kennung: &str) -> Result<UnitRecord> {
        let (tenant, name, kennung) = (tenant.clone(), name.to_owned(), kennung.to_owned());
        self.engine.write(move |c| tenants::update_unit(c, &tenant, id, &name, &kennung)).await
    }

    async fn list_units(&self, tenant: &TenantId) -> Result<Vec<UnitRecord>> {
        let tenant = tenant.clone();
        self.engine.read(move |c| tenants::list_units(c, &tenant)).await
    }

    async fn route_kennung(&self, kennung: &str) -> Result<Option<UnitRecord>> {
        let kennung = kennung.to_owned();
        self.engine.read(move |c| tenants::route_kennung(c, &kennung)).await
    }

    async fn record_delivery(&self, delivery: NewDelivery) -> Result<()> {
        self.engine.write(move |c| intake::record_delivery(c, &delivery)).await
    }

    async fn complete_intake(
        &self,
        tenant: &TenantId,
        delivery: DeliveryId,
        vorgang: NewVorgang,
    ) -> Result<IntakeOutcome> {
        let tenant = tenant.clone();
        self.engine.write(move |c| intake::complete_intake(c, &tenant, delivery, &vorgang)).await
    }

    async fn quarantine_delivery(
        &self,
        tenant: &TenantId,
        delivery: DeliveryId,
        field: &str,
        message: &str,
    ) -> Result<()> {
        let (tenant, field, message) = (tenant.clone(), field.to_owned(), message.to_owned());
        self.engine.write(move |c| intake::quarantine(c, &tenant, delivery, &field, &message)).await
    }

    async fn unroutable_delivery(&self, tenant: &TenantId, delivery: DeliveryId, message: &str) -> Result<()> {
        let (tenant, message) = (tenant.clone(), message.to_owned());
        self.engine.write(move |c| intake::unroutable(c, &tenant, delivery, &message)).await
    }

    async fn move_delivery(&self, from: &TenantId, delivery: DeliveryId, to: &TenantId) -> Result<()> {
        let (from, to) = (from.clone(), to.clone());
        self.engine.write(move |c| intake::move_delivery(c, &from, delivery, &to)).await
    }

    async fn get_delivery(&self, tenant: &TenantId, delivery: DeliveryId) -> Result<DeliveryRecord> {
        let tenant = tenant.clone();
        self.engine.read(move |c| intake::get_delivery(c, &tenant, delivery)).await
    }

    async fn list_quarantine(
        &self,
        tenant: &TenantId,
        status: DeliveryStatus,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<DeliveryRecord>, u64)> {
        let tenant = tenant.clone();
        self.engine.read(move |c| intake::list_quarantine(c, &tenant, status, limit, offset)).await
    }

    async fn unfinished_deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>> {
        self.engine.read(move |c| intake::unfinished(c, limit)).await
    }

    async fn find_by_transaction(&self, tenant: &TenantId, tx: &TransactionId) -> Result<Option<VorgangHead>> {
        let (tenant, tx) = (tenant.clone(), tx.clone());
        self.engine.read(move |c| vorgang::find_by_transaction(c, &tenant, &tx)).await
    }

    async fn worklist(&self, tenant: &TenantId, query: &WorklistQuery) -> Result<WorklistPage> {
        let (tenant, query) = (tenant.clone(), query.clone());
        self.engine.read(move |c| vorgang::worklist(c, &tenant, &query)).await
    }

    async fn status_counts(&self, tenant: &TenantId, visibility: &Visibility, view: &View) -> Result<StatusCounts> {
        let (tenant, visibility, view) = (tenant.clone(), visibility.clone(), view.clone());
        self.engine.read(move |c| vorgang::status_counts(c, &tenant, &visibility, &view)).await
    }

    async fn get_vorgang(&self, tenant: &TenantId, id: VorgangId) -> Result<VorgangRecord> {
        let tenant = tenant.clone();
        self.engine.read(move |c| vorgang::get_vorgang(c, &tenant, id)).await
    }

    async fn history(&self, tenant: &TenantId, id: VorgangId) -> Result<Vec<EventRecord>> {
        let tenant = tenant.clone();
        self.engine.read(move |c| vorgang::history(c, &tenant, id)).await
    }

    async fn get_document(&self, tenant: &TenantId, id: DocumentId) -> Result<DocumentRecord> {
        let tenant = tenant.clone();
        self.engine.read(move |c| vorgang::get_document(c, &tenant, id)).await
    }

    async fn events_after(&self, tenant: &TenantId, after: i64, limit: u32) -> Result<Vec<EventRecord>> {
        let tenant = tenant.clone();
        self.engine.read(move |c| vorgang::events_after(c, &tenant, after, limit)).await
    }

    async fn forms(&self, tenant: &TenantId) -> Result<Vec<String>> {
        let tenant = tenant.clone();
        self.engine.read(move |c| search::forms(c, &tenant)).await
    }

    async fn index_unindexed(&self) -> Result<u64> {
        // One process owns the file: everything written is indexed at once, and whatever an
        // older version wrote was indexed at open (see `open`).
        Ok(0)
    }

    async fn apply_change(
        &self,
        tenant: &TenantId,
        id: VorgangId,
        expected_version: i64,
        change: VorgangChange,
        actor: &Actor,
    ) -> Result<VorgangHead> {
        let (tenant, actor) = (tenant.clone(), actor.clone());
        self.engine.write(move |c| vorgang::apply_change(c, &tenant, id, expected_version, &change, &actor)).await
    }

    async fn claim_next(
        &self,
        tenant: &TenantId,
        visibility: &Visibility,
        user: UserId,
        actor: &Actor,
    ) -> Result<Option<VorgangHead>> {
        let (tenant, visibility, actor) = (tenant.clone(), visibility.clone(), actor.clone());
        self.engine.write(move |c| vorgang::claim_next(c, &tenant, &visibility, user, &actor)).await
    }

    async fn add_kommentar(
        &self,
        tenant: &TenantId,
        vorgang: VorgangId,
        id: KommentarId,
        text: &str,
        author: &Actor,
    ) -> Result<KommentarRecord> {
        let (tenant, text, author) = (tenant.clone(), text.to_owned(), author.clone());
        self.engine.write(move |c| notes::add_kommentar(c, &tenant, vorgang, id, &text, &author)).await
    }

    async fn list_kommentare(&self, tenant: &TenantId, vorgang: VorgangId) -> Result<Vec<KommentarRecord>> {
        let tenant = tenant.clone();
        self.engine.read(move |c| notes::list_kommentare(c, &tenant, vorgang)).await
    }

    async fn add_wiedervorlage(&self, tenant: &TenantId, w: NewWiedervorlage) -> Result<WiedervorlageRecord> {
        let tenant = tenant.clone();
        self.engine.write(move |c| notes::add_wiedervorlage(c, &tenant, &w)).await
    }

    async fn update_wiedervorlage(
        &self,
        tenant: &TenantId,
        id: WiedervorlageId,
        expected_version: i64,
        update: WiedervorlageUpdate,
        actor: &Actor,
    ) -> Result<WiedervorlageRecord> {
        let (tenant, actor) = (tenant.clone(), actor.clone());
        self.engine.write(move |c| notes::update_wiedervorlage(c, &tenant, id, expected_version, &update, &actor)).await
    }

    async fn get_wiedervorlage(&self, tenant: &TenantId, id: WiedervorlageId) -> Result<WiedervorlageRecord> {
        let tenant = tenant.clone();
        self.engine.read(move |c| notes::get_wiedervorlage(c, &tenant, id)).await
    }

    async fn list_wiedervorlagen(&self, tenant: &TenantId, vorgang: VorgangId) -> Result<Vec<WiedervorlageRecord>> {
        let tenant = tenant.clone();
        self.engine.read(move |c| notes::list_wiedervorlagen(c, &tenant, vorgang)).await
    }

    async fn wiedervorlagen(
        &self,
        tenant: &TenantId,
        query: &WiedervorlagenQuery,
    ) -> Result<(Vec<WiedervorlageRecord>, u64)> {
        let (tenant, query) = (tenant.clone(), query.clone());
        self.engine.read(move |c| notes::wiedervorlagen(c, &tenant, &query)).await
    }

    async fn count_due_wiedervorlagen(
        &self,
        tenant: &TenantId,
        visibility: &Visibility,
        day: time::Date,
    ) -> Result<u64> {
        let (tenant, visibility) = (tenant.clone(), visibility.clone());
        self.engine.read(move |c| notes::count_due(c, &tenant, &visibility, day)).await
    }

    async fn add_clerk_document(&self, tenant: &TenantId, doc: ClerkDocumentRecord) -> Result<()> {
        let tenant = tenant.clone();
        self.engine.write(move |c| documents::add_clerk_document(c, &tenant, &doc)).await
    }

    async fn list_clerk_documents(&self, tenant: &TenantId, vorgang: VorgangId) -> Result<Vec<ClerkDocumentRecord>> {
        let tenant = tenant.clone();
        self.engine.read(move |c| documents::list_clerk_documents(c, &tenant, vorgang)).await
    }

    async fn remove_clerk_document(
        &self,
        tenant: &TenantId,
        id: DocumentId,
        actor: &Actor,
    ) -> Result<ClerkDocumentRecord> {
        let (tenant, actor) = (tenant.clone(), actor.clone());
        self.engine.write(move |c| documents::remove_clerk_document(c, &tenant, id, &actor)).await
    }

    async fn purge_vorgang(
        &self,
        tenant: &TenantId,
        id: VorgangId,
        expected_version: i64,
        tombstone: NewAuditEntry,
        actor: &Actor,
    ) -> Result<Purged> {
        let (tenant, actor) = (tenant.clone(), actor.clone());
        self.engine.write(move |c| documents::purge_vorgang(c, &tenant, id, expected_version, &tombstone, &actor)).await
    }

    async fn create_user(&self, user: NewUser) -> Result<UserRecord> {
        self.engine.write(move |c| users::create_user(c, &user)).await
    }

    async fn find_user_by_username(&self, tenant: &TenantId, username: &str) -> Result<Option<UserRecord>> {
        let (tenant, username) = (tenant.clone(), username.to_owned());
        self.engine.read(move |c| users::find_user_by_username(c, &tenant, &username)).await
    }

    async fn get_user(&self, tenant: &TenantId, id: UserId) -> Result<UserRecord> {
        let tenant = tenant.clone();
        self.engine.read(move |c| users::get_user(c, &tenant, id)).await
    }

    async fn list_users(&self, tenant: &TenantId) -> Result<Vec<UserRecord>> {
        let tenant = tenant.clone();
        self.engine.read(move |c| users::list_users(c, &tenant)).await
    }

    async fn count_users(&self, tenant: &TenantId) -> Result<u64> {
        let tenant = tenant.clone();
        self.engine.read(move |c| users::count_users(c, &tenant)).await
    }

    async fn find_user_by_oidc_subject(&self, tenant: &TenantId, subject: &str) -> Result<Option<UserRecord>> {
        let (tenant, subject) = (tenant.clone(), subject.to_owned());
        self.engine.read(move |c| users::find_user_by_oidc_subject(c, &tenant, &subject)).await
    }

    async fn link_oidc_subject(&self, tenant: &TenantId, id: UserId, subject: &str) -> Result<()> {
        let (tenant, subject) = (tenant.clone(), subject.to_owned());
        self.engine.write(move |c| users::link_oidc_subject(c, &tenant, id, &subject)).await
    }

    async fn update_user(&self, tenant: &TenantId, id: UserId, update: UserUpdate) -> Result<UserRecord> {
        let tenant = tenant.clone();
        self.engine.write(move |c| users::update_user(c, &tenant, id, &update)).await
    }

    async fn set_password(&self, tenant: &TenantId, id: UserId, password_hash: &str) -> Result<()> {
        let (tenant, hash) = (tenant.clone(), password_hash.to_owned());
        self.engine.write(move |c| users::set_password(c, &tenant, id, &hash)).await
    }

    async fn require_password_change(&self, tenant: &TenantId, id: UserId) -> Result<()> {
        let tenant = tenant.clone();
        self.engine.write(move |c| users::require_password_change(c, &tenant, id)).await
    }

    async fn record_login_failure(&self, tenant: &TenantId, id: UserId, now: OffsetDateTime) -> Result<UserRecord> {
        let tenant = tenant.clone();
        self.engine.write(move |c| users::record_login_failure(c, &tenant, id, now)).await
    }

    async fn record_login_success(&self, tenant: &TenantId, id: UserId) -> Result<()> {
        let tenant = tenant.clone();
        self.engine.write(move |c| users::record_login_success(c, &tenant, id)).await
    }

    async fn create_session(&self, session: NewSession) -> Result<()> {
        self.engine.write(move |c| users::create_session(c, &session)).await
    }

    async fn get_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<SessionRecord>> {
        let hash = token_hash.to_owned();
        let found = self.engine.read(move |c| users::find_session(c, &hash)).await?;
        let Some(found) = found else { return Ok(None) };
        let hash = token_hash.to_owned();
        let liveness = domain::session::liveness(&found.times, found.record.user.disabled, now);
        if liveness == domain::session::Liveness::Ended {
            self.engine.write(move |c| users::delete_session(c, &hash)).await?;
            return Ok(None);
        }
        if liveness == (domain::session::Liveness::Alive { touch: true }) {
            self.engine.write(move |c| users::touch_session(c, &hash, now)).await?;
        }
        Ok(Some(found.record))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_owned();
        self.engine.write(move |c| users::delete_session(c, &hash)).await
    }

    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64> {
        self.engine.write(move |c| Ok(users::delete_expired_sessions(c, now)? + portal::delete_expired(c, now)?)).await
    }

    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiTokenRecord> {
        self.engine.write(move |c| access::create_api_token(c, &token)).await
    }

    async fn list_api_tokens(&self, tenant: &TenantId) -> Result<Vec<ApiTokenRecord>> {
        let tenant = tenant.clone();
        self.engine.read(move |c| access::list_api_tokens(c, &tenant)).await
    }

    async fn revoke_api_token(&self, tenant: &TenantId, id: ApiTokenId, now: OffsetDateTime) -> Result<()> {
        let tenant = tenant.clone();
        self.engine.write(move |c| access::revoke_api_token(c, &tenant, id, now)).await
    }

    async fn find_api_token(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<ApiTokenRecord>> {
        let hash = token_hash.to_owned();
        let found = self.engine.read(move |c| access::find_api_token(c, &hash)).await?;
        let Some(mut token) = found else { return Ok(None) };
        if domain::session::token_use_recorded(token.last_used_at, now) {
            let hash = token_hash.to_owned();
            self.engine.write(move |c| access::touch_api_token(c, &hash, now)).await?;
            token.last_used_at = Some(token.last_used_at.map_or(now, |last| last.max(now)));
        }
        Ok(Some(token))
    }

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()> {
        self.engine.write(move |c| access::append_audit(c, &entry.tenant, &entry)).await
    }

    async fn list_audit(&self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let (tenant, query) = (tenant.clone(), query.clone());
        self.engine.read(move |c| access::list_audit(c, &tenant, &query)).await
    }

    async fn count_for_export(&self, tenant: &TenantId) -> Result<ExportCounts> {
        let tenant = tenant.clone();
        self.engine.read(move |c| transfer::count_for_export(c, &tenant)).await
    }

    async fn export_page(
        &self,
        tenant: &TenantId,
        section: ExportSection,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ExportRecord>, Option<String>)> {
        let (tenant, after) = (tenant.clone(), after.map(str::to_owned));
        self.engine.read(move |c| transfer::export_page(c, &tenant, section, after.as_deref(), limit)).await
    }

    async fn import_records(&self, tenant: &TenantId, records: Vec<ExportRecord>) -> Result<()> {
        let tenant = tenant.clone();
        self.engine.write(move |c| transfer::import_records(c, &tenant, &records)).await
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue_job(&self, job: NewJob) -> Result<Option<domain::JobId>> {
        self.engine.write(move |c| jobs::insert(c, &job)).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        kinds: &[String],
        limit: u32,
        lease: time::Duration,
    ) -> Result<Vec<JobRecord>> {
        let (worker, kinds) = (worker.to_owned(), kinds.to_vec());
        self.engine.write(move |c| jobs::claim(c, &worker, &kinds, limit, lease)).await
    }

    async fn finish_job(&self, id: domain::JobId, worker: &str, plan: domain::jobs::AfterAttempt) -> Result<()> {
        let worker = worker.to_owned();
        self.engine.write(move |c| jobs::finish(c, id, &worker, &plan)).await
    }

    async fn get_job(&self, id: domain::JobId) -> Result<JobRecord> {
        self.engine.read(move |c| jobs::get(c, id)).await
    }

    async fn list_jobs(&self, query: &JobQuery) -> Result<Vec<JobRecord>> {
        let query = query.clone();
        self.engine.read(move |c| jobs::list(c, &query)).await
    }

    async fn count_jobs(&self) -> Result<Vec<JobCount>> {
        self.engine.read(jobs::count).await
    }

    async fn retry_job(&self, id: domain::JobId) -> Result<JobRecord> {
        self.engine.write(move |c| jobs::retry(c, id)).await
    }

    async fn discard_job(&self, id: domain::JobId, reason: &str) -> Result<JobRecord> {
        let reason = reason.to_owned();
        self.engine.write(move |c| jobs::discard(c, id, &reason)).await
    }

    async fn prune_jobs(&self, before: OffsetDateTime) -> Result<u64> {
        self.engine.write(move |c| jobs::prune(c, before)).await
    }

    async fn event_cursor(&self, consumer: &str, tenant: &TenantId) -> Result<i64> {
        let (consumer, tenant) = (consumer.to_owned(), tenant.clone());
        self.engine.read(move |c| jobs::cursor(c, &consumer, &tenant)).await
    }

    async fn advance_event_cursor(
        &self,
        consumer: &str,
        tenant: &TenantId,
        from: i64,
        to: i64,
        new_jobs: Vec<NewJob>,
    ) -> Result<()> {
        let (consumer, tenant) = (consumer.to_owned(), tenant.clone());
        self.engine.write(move |c| jobs::advance_cursor(c, &consumer, &tenant, from, to, &new_jobs)).await
    }
}

#[async_trait]
impl PortalSessionStore for SqliteStore {
    async fn create_portal_session(&self, session: NewPortalSession) -> Result<()> {
        self.engine.write(move |c| portal::create(c, &session)).await
    }

    async fn get_portal_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<PortalSessionRecord>> {
        let hash = token_hash.to_owned();
        let Some((record, times)) = self.engine.read(move |c| portal::find(c, &hash)).await? else {
            return Ok(None);
        };
        let hash = token_hash.to_owned();
        match domain::session::liveness(&times, false, now) {
            domain::session::Liveness::Ended => {
                self.engine.write(move |c| portal::delete(c, &hash)).await?;
                Ok(None)
            }
            domain::session::Liveness::Alive { touch } => {
                if touch {
                    self.engine.write(move |c| portal::touch(c, &hash, now)).await?;
                }
                Ok(Some(record))
            }
        }
    }

    async fn delete_portal_session(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_owned();
        self.engine.write(move |c| portal::delete(c, &hash)).await
    }

    async fn delete_portal_sessions_of(&self, tenant: &TenantId, subject: &str) -> Result<u64> {
        let (tenant, subject) = (tenant.clone(), subject.to_owned());
        self.engine.write(move |c| portal::delete_of(c, &tenant, &subject)).await
    }
}
