//! Vorgänge: the worklist, one Vorgang, its history, the event log, and the commands that change it.

use crate::*;
use async_trait::async_trait;
use domain::{DocumentId, UserId, Visibility, VorgangId};

#[async_trait]
pub trait VorgangStore: Send + Sync {
    // --- Vorgang reads ---
    async fn worklist(&self, query: &WorklistQuery) -> Result<WorklistPage>;
    async fn status_counts(&self, visibility: &Visibility, view: &View) -> Result<StatusCounts>;
    async fn get_vorgang(&self, id: VorgangId) -> Result<VorgangRecord>;
    async fn history(&self, id: VorgangId) -> Result<Vec<EventRecord>>;
    async fn get_document(&self, id: DocumentId) -> Result<DocumentRecord>;
    /// The durable event log (outbox) of a tenant, oldest first, after sequence `after`.
    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<EventRecord>>;
    // --- Vorgang commands ---
    /// Applies one change if the Vorgang is still at `expected_version`; otherwise
    /// [`StorageError::Conflict`]. Records the matching event in the same transaction.
    async fn apply_change(
        &self,
        id: VorgangId,
        expected_version: i64,
        change: VorgangChange,
        actor: &Actor,
    ) -> Result<VorgangHead>;
    /// Assigns the oldest unassigned NEU Vorgang within `visibility` to `user`, atomically: two
    /// concurrent callers never get the same one. `None` when the pile is empty.
    async fn claim_next(&self, visibility: &Visibility, user: UserId, actor: &Actor) -> Result<Option<VorgangHead>>;
}
