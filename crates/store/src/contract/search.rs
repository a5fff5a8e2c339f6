//! Search support: the form filter's choices (search itself is part of the worklist; the
//! index backfill is installation-wide: [`crate::Installation::index_unindexed`]).

use crate::*;
use async_trait::async_trait;

#[async_trait]
pub trait SearchStore: Send + Sync {
    /// The distinct form names of the tenant's Vorgänge, sorted byte-wise: the choices of the
    /// worklist's form filter.
    async fn forms(&self) -> Result<Vec<String>>;
}
