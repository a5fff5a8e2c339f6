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

impl Store for SqliteStore {
    fn tenant(&self, id: &domain::TenantId) -> Box<dyn TenantScope + '_> {
        Box::new(Tenant { store: self, tenant: id.clone() })
    }

    fn installation(&self) -> &dyn Installation {
        self
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

/// The handle on one tenant's data: the area modules implement the contract's area traits on
/// it, every query bound to `tenant`.
pub(crate) struct Tenant<'a> {
    store: &'a SqliteStore,
    tenant: domain::TenantId,
}

impl std::ops::Deref for Tenant<'_> {
    type Target = SqliteStore;

    fn deref(&self) -> &SqliteStore {
        self.store
    }
}

impl TenantScope for Tenant<'_> {
    fn id(&self) -> &domain::TenantId {
        &self.tenant
    }
}

#[async_trait]
impl Installation for SqliteStore {
    async fn ensure_tenant(&self, tenant: NewTenant) -> Result<TenantRecord> {
        self.engine.write(move |c| crate::tenants::ensure_tenant(c, &tenant)).await
    }

    async fn create_tenant(&self, tenant: NewTenant) -> Result<TenantRecord> {
        self.engine.write(move |c| crate::tenants::create_tenant(c, &tenant)).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
        self.engine.read(crate::tenants::list_tenants).await
    }

    async fn find_tenant_by_host(&self, host: &str) -> Result<Option<TenantRecord>> {
        let host = host.to_owned();
        self.engine.read(move |c| crate::tenants::find_tenant_by_host(c, &host)).await
    }

    async fn route_kennung(&self, kennung: &str) -> Result<Option<UnitRecord>> {
        let kennung = kennung.to_owned();
        self.engine.read(move |c| crate::tenants::route_kennung(c, &kennung)).await
    }

    async fn get_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<SessionRecord>> {
        let hash = token_hash.to_owned();
        let found = self.engine.read(move |c| crate::users::find_session(c, &hash)).await?;
        let Some(found) = found else { return Ok(None) };
        let hash = token_hash.to_owned();
        let liveness = domain::session::liveness(&found.times, found.record.user.disabled, now);
        if liveness == domain::session::Liveness::Ended {
            self.engine.write(move |c| crate::users::delete_session(c, &hash)).await?;
            return Ok(None);
        }
        if liveness == (domain::session::Liveness::Alive { touch: true }) {
            self.engine.write(move |c| crate::users::touch_session(c, &hash, now)).await?;
        }
        Ok(Some(found.record))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_owned();
        self.engine.write(move |c| crate::users::delete_session(c, &hash)).await
    }

    async fn find_api_token(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<ApiTokenRecord>> {
        let hash = token_hash.to_owned();
        let found = self.engine.read(move |c| crate::access::find_api_token(c, &hash)).await?;
        let Some(mut token) = found else { return Ok(None) };
        if domain::session::token_use_recorded(token.last_used_at, now) {
            let hash = token_hash.to_owned();
            self.engine.write(move |c| crate::access::touch_api_token(c, &hash, now)).await?;
            token.last_used_at = Some(token.last_used_at.map_or(now, |last| last.max(now)));
        }
        Ok(Some(token))
    }

    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64> {
        self.engine
            .write(move |c| Ok(crate::users::delete_expired_sessions(c, now)? + crate::portal::delete_expired(c, now)?))
            .await
    }

    async fn get_portal_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<PortalSessionRecord>> {
        let hash = token_hash.to_owned();
        let Some((record, times)) = self.engine.read(move |c| crate::portal::find(c, &hash)).await? else {
            return Ok(None);
        };
        let hash = token_hash.to_owned();
        match domain::session::liveness(&times, false, now) {
            domain::session::Liveness::Ended => {
                self.engine.write(move |c| crate::portal::delete(c, &hash)).await?;
                Ok(None)
            }
            domain::session::Liveness::Alive { touch } => {
                if touch {
                    self.engine.write(move |c| crate::portal::touch(c, &hash, now)).await?;
                }
                Ok(Some(record))
            }
        }
    }

    async fn delete_portal_session(&self, token_hash: &str) -> Result<()> {
        let hash = token_hash.to_owned();
        self.engine.write(move |c| crate::portal::delete(c, &hash)).await
    }

    async fn unfinished_deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>> {
        self.engine.read(move |c| crate::intake::unfinished(c, limit)).await
    }

    async fn index_unindexed(&self) -> Result<u64> {
        // One process owns the file: everything written is indexed at once, and whatever an
        // older version wrote was indexed at open (see `open`).
        Ok(0)
    }
}
