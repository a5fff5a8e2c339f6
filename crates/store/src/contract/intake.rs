//! Raw deliveries and the Vorgänge intake makes of them (idempotent on the transaction id), the quarantine.

use crate::*;
use async_trait::async_trait;
use domain::{TenantId, TransactionId};

#[async_trait]
pub trait IntakeStore: Send + Sync {
    // --- intake ---
    /// Records a raw delivery (already written to the document store) before it is parsed.
    async fn record_delivery(&self, delivery: NewDelivery) -> Result<()>;
    /// Creates the Vorgang of a parsed delivery, or links the delivery to the Vorgang that
    /// already carries its transaction id. Atomic and idempotent on `transaction_id`.
    /// A taken Vorgangsnummer is [`StorageError::NummerTaken`]: draw another and retry.
    async fn complete_intake(&self, delivery: DeliveryId, vorgang: NewVorgang) -> Result<IntakeOutcome>;
    /// Marks a delivery as unparseable; it stays listed for an admin until re-processed.
    async fn quarantine_delivery(&self, delivery: DeliveryId, field: &str, message: &str) -> Result<()>;
    /// Marks a parsed delivery as "nicht zuordenbar": no unit carries its `zustaendigeStelle`.
    async fn unroutable_delivery(&self, delivery: DeliveryId, message: &str) -> Result<()>;
    /// Hands a delivery of this tenant to the tenant intake routed it to, as RECEIVED with its
    /// error cleared. `blob_key` is where the raw payload lives from now on (the caller has
    /// copied it under the target tenant); the old key's blob is deleted by a
    /// [`NewJob::blob_deletion`] enqueued in the same transaction, unless the key is unchanged.
    async fn move_delivery(&self, delivery: DeliveryId, to: &TenantId, blob_key: &str) -> Result<()>;
    async fn get_delivery(&self, delivery: DeliveryId) -> Result<DeliveryRecord>;
    /// Deliveries in `status` (Quarantined or Unroutable), newest first, and how many there are.
    async fn list_quarantine(
        &self,
        status: DeliveryStatus,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<DeliveryRecord>, u64)>;
    async fn find_by_transaction(&self, tx: &TransactionId) -> Result<Option<VorgangHead>>;
}
