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

impl Store for PostgresStore {
    fn tenant(&self, id: &domain::TenantId) -> Box<dyn TenantScope + '_> {
        Box::new(Tenant { store: self, tenant: id.clone() })
    }

    fn installation(&self) -> &dyn Installation {
        self
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

/// The handle on one tenant's data: the area modules implement the contract's area traits on
/// it, every query bound to `tenant`.
pub(crate) struct Tenant<'a> {
    store: &'a PostgresStore,
    tenant: domain::TenantId,
}

impl std::ops::Deref for Tenant<'_> {
    type Target = PostgresStore;

    fn deref(&self) -> &PostgresStore {
        self.store
    }
}

impl TenantScope for Tenant<'_> {
    fn id(&self) -> &domain::TenantId {
        &self.tenant
    }
}

#[async_trait]
impl Installation for PostgresStore {
    async fn ensure_tenant(&self, tenant: NewTenant) -> Result<TenantRecord> {
        crate::tenants::ensure_tenant(&self.pool, &tenant).await
    }

    async fn create_tenant(&self, tenant: NewTenant) -> Result<TenantRecord> {
        crate::tenants::create_tenant(&self.pool, &tenant).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantRecord>> {
        crate::tenants::list_tenants(&self.pool).await
    }

    async fn find_tenant_by_host(&self, host: &str) -> Result<Option<TenantRecord>> {
        crate::tenants::find_tenant_by_host(&self.pool, host).await
    }

    async fn route_kennung(&self, kennung: &str) -> Result<Option<UnitRecord>> {
        crate::tenants::route_kennung(&self.pool, kennung).await
    }

    async fn get_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<SessionRecord>> {
        let Some(found) = crate::users::find_session(&self.pool, token_hash).await? else { return Ok(None) };
        let liveness = domain::session::liveness(&found.times, found.record.user.disabled, now);
        if liveness == domain::session::Liveness::Ended {
            crate::users::delete_session(&self.pool, token_hash).await?;
            return Ok(None);
        }
        if liveness == (domain::session::Liveness::Alive { touch: true }) {
            crate::users::touch_session(&self.pool, token_hash, now).await?;
        }
        Ok(Some(found.record))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        crate::users::delete_session(&self.pool, token_hash).await
    }

    async fn find_api_token(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<ApiTokenRecord>> {
        crate::tenants::find_api_token(&self.pool, token_hash, now).await
    }

    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64> {
        Ok(crate::users::delete_expired_sessions(&self.pool, now).await?
            + crate::portal::delete_expired(&self.pool, now).await?)
    }

    async fn get_portal_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<PortalSessionRecord>> {
        let Some((record, times)) = crate::portal::find(&self.pool, token_hash).await? else { return Ok(None) };
        match domain::session::liveness(&times, false, now) {
            domain::session::Liveness::Ended => {
                crate::portal::delete(&self.pool, token_hash).await?;
                Ok(None)
            }
            domain::session::Liveness::Alive { touch } => {
                if touch {
                    crate::portal::touch(&self.pool, token_hash, now).await?;
                }
                Ok(Some(record))
            }
        }
    }

    async fn delete_portal_session(&self, token_hash: &str) -> Result<()> {
        crate::portal::delete(&self.pool, token_hash).await
    }

    async fn unfinished_deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>> {
        crate::intake::unfinished(&self.pool, limit).await
    }

    async fn index_unindexed(&self) -> Result<u64> {
        crate::search::backfill(&self.pool).await
    }
}
