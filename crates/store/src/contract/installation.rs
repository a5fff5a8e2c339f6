//! What spans the installation's tenants: the tenant list, routing by Kennung and host, the
//! lookups of a credential before its tenant is known, the sweeps, and the job queue. Only
//! code that must see every tenant holds this handle (`Store::installation`); everything
//! else works through a tenant's handle (`Store::tenant`).

use crate::*;
use async_trait::async_trait;
use time::OffsetDateTime;

#[async_trait]
pub trait Installation: JobStore + Send + Sync {
    // --- tenants ---
    /// Creates the tenant if it does not exist; an existing one is returned unchanged.
    async fn ensure_tenant(&self, tenant: NewTenant) -> Result<TenantRecord>;
    /// [`StorageError::Duplicate`]`("tenant")` if the id exists, `("host")` if the host is taken.
    async fn create_tenant(&self, tenant: NewTenant) -> Result<TenantRecord>;
    async fn list_tenants(&self) -> Result<Vec<TenantRecord>>;
    async fn find_tenant_by_host(&self, host: &str) -> Result<Option<TenantRecord>>;
    /// The unit (and so the tenant) owning a `zustaendigeStelle`, across all tenants: intake
    /// routing.
    async fn route_kennung(&self, kennung: &str) -> Result<Option<UnitRecord>>;
    // --- credentials, before the tenant is known ---
    /// The live session with this token hash, touched (idle timeout restarts); expired ones are gone.
    async fn get_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<SessionRecord>>;
    /// Idempotent (logout).
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// The live (not revoked) token with this hash, any tenant; records `now` as last use.
    async fn find_api_token(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<ApiTokenRecord>>;
    /// The live portal session with this token hash, touched (idle time restarts); an expired
    /// one is deleted and `None`.
    async fn get_portal_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<PortalSessionRecord>>;
    /// Idempotent.
    async fn delete_portal_session(&self, token_hash: &str) -> Result<()>;
    // --- sweeps ---
    /// Removes sessions past their idle or absolute expiry, clerks' and portal sessions (all
    /// tenants); returns how many.
    async fn delete_expired_sessions(&self, now: OffsetDateTime) -> Result<u64>;
    /// Deliveries stored but never completed (a crash between storing and parsing), all tenants.
    async fn unfinished_deliveries(&self, limit: u32) -> Result<Vec<DeliveryRecord>>;
    /// Indexes Vorgänge that have no search entry yet (written by an older version, e.g.
    /// during a rolling update on a shared PostgreSQL), all tenants; returns how many. Cheap
    /// when there are none: run it periodically.
    async fn index_unindexed(&self) -> Result<u64>;
}
