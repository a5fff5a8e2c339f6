//! Tenants and their Organisationseinheiten. Installation-wide: the tenant list, routing by Kennung and by host; the rest takes the tenant.

use crate::*;
use async_trait::async_trait;
use domain::{TenantId, UnitId};

#[async_trait]
pub trait TenantStore: Send + Sync {
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
}
