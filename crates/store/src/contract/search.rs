//! Search support: the form filter's choices and the index backfill (search itself is part of the worklist).

use crate::*;
use async_trait::async_trait;
use domain::TenantId;

#[async_trait]
pub trait SearchStore: Send + Sync {
    // --- search (issue 6): text search and filters are part of `worklist` (WorklistFilter) ---
    /// The distinct form names of the tenant's Vorgänge, sorted byte-wise: the choices of the
    /// worklist's form filter.
    async fn forms(&self, tenant: &TenantId) -> Result<Vec<String>>;
    /// Indexes Vorgänge that have no search entry yet (written by an older version, e.g.
    /// during a rolling update on a shared PostgreSQL), all tenants; returns how many. Cheap
    /// when there are none: run it periodically.
    async fn index_unindexed(&self) -> Result<u64>;
}
