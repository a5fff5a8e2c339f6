//! The storage contract of ozgcloud: operations named by intent, the records they return and
//! one error type. Backends (SQLite now, PostgreSQL next) implement [`Store`]; the domain and
//! web layers only ever see `Arc<dyn Store>`.
//!
//! Tenant scoping: every operation on tenant data takes the [`TenantId`] and every backend
//! query filters by it, so a caller cannot reach another tenant's rows by id.

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

use async_trait::async_trait;

pub type Result<T> = std::result::Result<T, StorageError>;

/// The whole storage contract: one trait per area, each implemented in the area's module of
/// each backend. Callers hold `Arc<dyn Store>` and call any area's operations on it.
#[async_trait]
pub trait Store:
    TenantStore
    + IntakeStore
    + VorgangStore
    + SearchStore
    + NoteStore
    + DocumentStore
    + UserStore
    + AuditStore
    + TransferStore
    + JobStore
    + PortalSessionStore
    + Send
    + Sync
    + 'static
{
    /// Which engine runs, for logs and the health endpoint.
    fn backend(&self) -> &'static str;
}
