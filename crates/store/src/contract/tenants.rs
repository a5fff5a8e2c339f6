//! A tenant's own settings and its Organisationseinheiten (the tenant list and routing by
//! Kennung or host are installation-wide: [`crate::Installation`]).

use crate::*;
use async_trait::async_trait;
use domain::UnitId;

#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn get_tenant(&self) -> Result<TenantRecord>;
    /// `Duplicate("host")` if another tenant has the host.
    async fn update_tenant(&self, settings: TenantSettings) -> Result<TenantRecord>;
    // --- Organisationseinheiten ---
    /// `Duplicate("kennung")` if any unit of the installation carries the kennung.
    async fn create_unit(&self, unit: NewUnit) -> Result<UnitRecord>;
    async fn update_unit(&self, id: UnitId, name: &str, kennung: &str) -> Result<UnitRecord>;
    async fn list_units(&self) -> Result<Vec<UnitRecord>>;
}
