//! The storage contract of ozgcloud: operations named by intent, the records they return and
//! one error type. Backends (SQLite now, PostgreSQL next) implement [`Store`]; the domain and
//! web layers only ever see `Arc<dyn Store>`.
//!
//! Tenant scoping by construction: tenant data is reached only through a tenant's handle,
//! `store.tenant(&id)`, whose methods take no tenant id (every backend query filters by the
//! handle's tenant), so a caller cannot mix tenants or reach another tenant's rows by id. What
//! spans tenants (the tenant list, routing, credential lookups, sweeps, jobs) sits on a
//! separate handle, `store.installation()`.

mod contract;
mod error;
mod jobs;
mod portal;
mod records;
#[cfg(feature = "testing")]
pub mod testing;

pub use contract::*;
pub use error::StorageError;
pub use jobs::*;
pub use portal::*;
pub use records::*;

pub type Result<T> = std::result::Result<T, StorageError>;

use domain::TenantId;

/// The whole storage contract. Callers hold `Arc<dyn Store>` and reach a tenant's data through
/// [`Store::tenant`], the installation-wide operations through [`Store::installation`].
pub trait Store: Send + Sync + 'static {
    /// The handle on one tenant's data. Obtaining it checks nothing (the tenant may not even
    /// exist: its reads are then empty or NotFound); who may act for the tenant is decided
    /// before, by the caller's session or token.
    fn tenant(&self, id: &TenantId) -> Box<dyn TenantScope + '_>;
    /// The operations that span tenants.
    fn installation(&self) -> &dyn Installation;
    /// Which engine runs, for logs and the health endpoint.
    fn backend(&self) -> &'static str;
}

/// One tenant's part of the store: every area of the contract, none of whose methods takes a
/// tenant id. A backend implements the area traits on its own handle type.
pub trait TenantScope:
    TenantStore
    + IntakeStore
    + VorgangStore
    + SearchStore
    + NoteStore
    + DocumentStore
    + UserStore
    + AuditStore
    + TransferStore
    + EventCursorStore
    + PortalSessionStore
    + Send
    + Sync
{
    /// The tenant this handle works for.
    fn id(&self) -> &TenantId;
}
