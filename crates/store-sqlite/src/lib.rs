//! The embedded SQLite backend of the storage contract.

mod convert;
mod engine;
mod intake;
mod migrate;
mod transfer;
mod users;
mod vorgang;

use async_trait::async_trait;
use domain::{DocumentId, TenantId, TransactionId, UserId, VorgangId};
use engine::Engine;
use std::path::Path;
use store::*;
use time::OffsetDateTime;

/// Sessions are touched at most this often, so reading a page does not cost a write.
const SESSION_TOUCH_INTERVAL: time::Duration = time::Duration::seconds(60);

pub struct SqliteStore {
    engine: Engine,
}

impl SqliteStore {
    /// Opens (or creates) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StorageError::Other(format!("{}: {e}", dir.display())))?;
        }
        Ok(Self { engine: Engine::start(path, migrate::migrate)? })
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

    async fn ensure_tenant(&self, tenant: &TenantId, name: &str) -> Result<()> {
        let (tenant, name) = (tenant.clone(), name.to_owned());
        self.engine.write(move |c| users::ensure_tenant(c, &tenant, &name)).await
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

    async fn get_delivery(&self, tenant: &TenantId, delivery: DeliveryId) -> Result<DeliveryRecord> {
        let tenant = tenant.clone();
        self.engine.read(move |c| intake::get_delivery(c, &tenant, delivery)).await
    }

    async fn list_quarantine(&self, tenant: &TenantId, limit: u32, offset: u32) -> Result<(Vec<DeliveryRecord>, u64)> {
        let tenant = tenant.clone();
        self.engine.read(move |c| intake::list_quarantine(c, &tenant, limit, offset)).await
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

    async fn status_counts(&self, tenant: &TenantId, view: &View) -> Result<StatusCounts> {
        let (tenant, view) = (tenant.clone(), view.clone());
        self.engine.read(move |c| vorgang::status_counts(c, &tenant, &view)).await
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

    async fn claim_next(&self, tenant: &TenantId, user: UserId, actor: &Actor) -> Result<Option<VorgangHead>> {
        let (tenant, actor) = (tenant.clone(), actor.clone());
        self.engine.write(move |c| vorgang::claim_next(c, &tenant, user, &actor)).await
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

    async fn set_password(&self, tenant: &TenantId, id: UserId, password_hash: &str) -> Result<()> {
        let (tenant, hash) = (tenant.clone(), password_hash.to_owned());
        self.engine.write(move |c| users::set_password(c, &tenant, id, &hash)).await
    }

    async fn create_session(&self, session: NewSession) -> Result<()> {
        self.engine.write(move |c| users::create_session(c, &session)).await
    }

    async fn get_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<SessionRecord>> {
        let hash = token_hash.to_owned();
        let found = self.engine.read(move |c| users::find_session(c, &hash)).await?;
        let Some(found) = found else { return Ok(None) };
        let hash = token_hash.to_owned();
        if found.expires <= now || found.record.user.disabled {
            self.engine.write(move |c| users::delete_session(c, &hash)).await?;
            return Ok(None);
        }
        if now - found.last_seen > SESSION_TOUCH_INTERVAL {
            self.engine.write(move |c| users::touch_session(c, &hash, now)).await?;
        }
        Ok(Some(found.record))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_owned();
        self.engine.write(move |c| users::delete_session(c, &hash)).await
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
