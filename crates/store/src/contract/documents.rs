//! Clerks' documents and the final deletion of a Vorgang.

use crate::*;
use async_trait::async_trait;
use domain::{DocumentId, VorgangId};

#[async_trait]
pub trait DocumentStore: Send + Sync {
    // --- clerk documents and final deletion (issue 6) ---
    /// Records a clerk's document (its blob already stored) and `VorgangEvent::DokumentAngehaengt`
    /// in one transaction. NotFound if the tenant has no such Vorgang, or the Kommentar /
    /// Wiedervorlage it is attached to is not one of that Vorgang's.
    async fn add_clerk_document(&self, doc: ClerkDocumentRecord) -> Result<()>;
    /// The clerk documents of a Vorgang, oldest first. NotFound if the tenant has no such Vorgang.
    async fn list_clerk_documents(&self, vorgang: VorgangId) -> Result<Vec<ClerkDocumentRecord>>;
    /// Removes a clerk's document (kind [`DocumentKind::Clerk`]; the applicant's documents
    /// cannot be removed: NotFound), records `VorgangEvent::DokumentEntfernt` and enqueues
    /// the deletion of its blob ([`NewJob::blob_deletion`]), in one transaction. Returns the record as it was.
    async fn remove_clerk_document(&self, id: DocumentId, actor: &Actor) -> Result<ClerkDocumentRecord>;
    /// Deletes a Vorgang for good, if it is still at `expected_version` (else Conflict): its
    /// data, documents, notes, deliveries and history. Appends `tombstone` to the audit log and
    /// `VorgangEvent::Geloescht` to the outbox, and enqueues a [`NewJob::blob_deletion`] per
    /// blob, all in one transaction. The caller checks the four-eyes rule (`domain::deletion`) beforehand.
    async fn purge_vorgang(
        &self,
        id: VorgangId,
        expected_version: i64,
        tombstone: NewAuditEntry,
        actor: &Actor,
    ) -> Result<Purged>;
}
