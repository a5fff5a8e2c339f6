//! The tenant's audit log.

use crate::*;
use async_trait::async_trait;

#[async_trait]
pub trait AuditStore: Send + Sync {
    // --- audit log ---
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()>;
    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>>;
}
