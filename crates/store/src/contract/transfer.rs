//! Export and import of a whole tenant (moving between backends).

use crate::*;
use async_trait::async_trait;

#[async_trait]
pub trait TransferStore: Send + Sync {
    // --- export and import of a whole tenant (moving between backends) ---
    /// How many records each section of the tenant's export holds (and how many documents).
    async fn count_for_export(&self) -> Result<ExportCounts>;
    /// One page of a section of the tenant's export, at most `limit` records, in a stable
    /// order: start with `after = None`, then pass the returned cursor until it is `None`.
    /// Cursors are opaque and belong to their section. Memory stays bounded by `limit`,
    /// however large the tenant. The pages are separate reads: export from a quiet store.
    async fn export_page(
        &self,
        section: ExportSection,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ExportRecord>, Option<String>)>;
    /// Writes exported records into `tenant` (not the tenant the records name), in one
    /// transaction: the batch is stored completely or not at all. Records come in the order
    /// of [`ExportSection::ALL`], split into batches as the caller likes; the events are
    /// appended in the order given.
    ///
    /// An import starts with a batch beginning with [`ExportRecord::Tenant`]: it creates the
    /// tenant (or takes its name, kind and allowlist; the host is not taken over) and is refused with [`StorageError::Duplicate`]`("tenant")`
    /// when the tenant holds Vorgänge or deliveries already. Users of the tenant are kept,
    /// except that an imported user replaces the one with the same username (or id): the
    /// imported id wins, so assignees and actors still match; the replaced user's sessions end.
    /// An assignee that is no user of the tenant, or an event of a Vorgang the tenant does not
    /// hold, is [`StorageError::InvalidReference`].
    async fn import_records(&self, records: Vec<ExportRecord>) -> Result<()>;
}
