//! Per-consumer cursors over a tenant's event log: a consumer (a webhook subscription, a mail
//! notifier) turns events into jobs, and sees every event once, in order, across processes.
//!
//! [`consume`] reads the events after the consumer's cursor, asks the consumer for the jobs
//! they cause, and moves the cursor and enqueues those jobs in one transaction
//! (`store::JobStore::advance_event_cursor`). Two processes consuming at once: one moves the
//! cursor, the other's write is refused (Conflict) and it enqueues nothing.

use domain::TenantId;
use store::{EventRecord, NewJob, StorageError, Store};

/// What a consumer makes of events; pure, so that running it twice on the same events is
/// harmless (only one result is ever written).
pub trait EventConsumer: Send + Sync {
    /// Stable name: the cursor is stored under it.
    fn name(&self) -> &str;
    fn jobs_for(&self, tenant: &TenantId, events: &[EventRecord]) -> Vec<NewJob>;
}

/// Handles up to `batch` new events of `tenant` for `consumer`; returns how many it handled
/// (0 when there were none, or another process handled them at the same time).
pub async fn consume(
    store: &dyn Store,
    consumer: &dyn EventConsumer,
    tenant: &TenantId,
    batch: u32,
) -> Result<usize, StorageError> {
    let from = store.tenant(tenant).event_cursor(consumer.name()).await?;
    let events = store.tenant(tenant).events_after(from, batch).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(0);
    };
    let jobs = consumer.jobs_for(tenant, &events);
    match store.tenant(tenant).advance_event_cursor(consumer.name(), from, last, jobs).await {
        Ok(()) => Ok(events.len()),
        Err(StorageError::Conflict { .. }) => Ok(0),
        Err(e) => Err(e),
    }
}
