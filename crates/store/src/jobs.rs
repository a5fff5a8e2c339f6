//! The jobs area of the storage contract: the durable queue of the job runner (`app::jobs`)
//! and the per-consumer cursors over the event log.
//!
//! The rules (backoff, dead letter, periodic keys) are `domain::jobs`; the engines only
//! persist the plan. What each engine guarantees:
//! - [`JobStore::claim_jobs`] hands a due job to one worker at a time, across processes
//!   (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite the one writer thread), and takes back
//!   jobs whose lease ran out (their worker died).
//! - A job's idempotency key (`unique_key`) is taken once: enqueuing it again is a no-op.
//! - Other operations enqueue jobs inside their own transaction (e.g. a final deletion
//!   queues the deletion of its blobs), so a rolled-back change leaves no job behind and a
//!   committed one always has its jobs.

use crate::Result;
use async_trait::async_trait;
use domain::jobs::{JobState, DEFAULT_MAX_ATTEMPTS};
use domain::{JobId, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    pub id: JobId,
    pub kind: String,
    /// The tenant the job works for; `None` for installation-wide work.
    pub tenant: Option<TenantId>,
    pub payload: serde_json::Value,
    /// Idempotency key: a second job with the same key is not enqueued.
    pub unique_key: Option<String>,
    /// Not before; `None` = now.
    #[serde(with = "time::serde::rfc3339::option")]
    pub run_at: Option<OffsetDateTime>,
    pub max_attempts: u32,
}

impl NewJob {
    pub fn new(kind: &str, payload: serde_json::Value) -> Self {
        Self {
            id: JobId::new(),
            kind: kind.to_owned(),
            tenant: None,
            payload,
            unique_key: None,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn for_tenant(mut self, tenant: &TenantId) -> Self {
        self.tenant = Some(tenant.clone());
        self
    }

    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    pub fn at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Deleting one blob of the document store; one job per key, however often it is asked.
    pub fn blob_deletion(tenant: &TenantId, key: &str) -> Self {
        Self::new(domain::jobs::kinds::BLOB_LOESCHEN, serde_json::json!({ "key": key }))
            .for_tenant(tenant)
            .unique(format!("blob:{key}"))
            .max_attempts(25)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: String,
    pub tenant: Option<TenantId>,
    pub payload: serde_json::Value,
    pub unique_key: Option<String>,
    pub state: JobState,
    /// Attempts started so far (a job being run is at its `attempt`-th).
    pub attempt: u32,
    pub max_attempts: u32,
    /// When it is due (again).
    #[serde(with = "time::serde::rfc3339")]
    pub scheduled_at: OffsetDateTime,
    /// Which worker holds it (state `Running`) or ran its last attempt, and until when the
    /// lease runs (state `Running` only).
    pub leased_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub leased_until: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was completed or discarded.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub kind: Option<String>,
    pub limit: u32,
}

/// How many jobs of a kind are in a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCount {
    pub kind: String,
    pub state: JobState,
    pub count: u64,
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues a job on its own. `None` when its idempotency key is taken already.
    async fn enqueue_job(&self, job: NewJob) -> Result<Option<JobId>>;
    /// Takes up to `limit` due jobs of the given kinds for `worker` (oldest due first),
    /// leased for `lease`: state `Running`, `attempt` counted up. Due are pending jobs whose
    /// `scheduled_at` has come and running jobs whose lease has run out. Two workers never
    /// hold one job. Only `kinds` are taken, so a process never takes a job it cannot run
    /// (say, of a newer version during a rolling update).
    async fn claim_jobs(
        &self,
        worker: &str,
        kinds: &[String],
        limit: u32,
        lease: time::Duration,
    ) -> Result<Vec<JobRecord>>;
    /// Persists the end of an attempt (`domain::jobs::after_attempt`). Only the worker holding
    /// the lease may: otherwise [`crate::StorageError::NotFound`] (the lease ran out and
    /// another worker took the job), and nothing changes.
    async fn finish_job(&self, id: JobId, worker: &str, plan: domain::jobs::AfterAttempt) -> Result<()>;
    async fn get_job(&self, id: JobId) -> Result<JobRecord>;
    /// Newest first.
    async fn list_jobs(&self, query: &JobQuery) -> Result<Vec<JobRecord>>;
    async fn count_jobs(&self) -> Result<Vec<JobCount>>;
    /// Sends a discarded or retryable job back to `Available`, due now, with at least one
    /// attempt left. Other states: [`crate::StorageError::Conflict`] (`current_version` 0).
    async fn retry_job(&self, id: JobId) -> Result<JobRecord>;
    /// Gives up a pending job (→ `Discarded`). Other states: Conflict.
    async fn discard_job(&self, id: JobId, reason: &str) -> Result<JobRecord>;
    /// Removes completed jobs finished before `before`; returns how many.
    async fn prune_jobs(&self, before: OffsetDateTime) -> Result<u64>;
}

/// Per-consumer cursors over a tenant's event log.
#[async_trait]
pub trait EventCursorStore: Send + Sync {
    /// Where `consumer` stands in the tenant's event log: the last sequence number it handled
    /// (0 before the first).
    async fn event_cursor(&self, consumer: &str) -> Result<i64>;
    /// Moves the cursor from `from` to `to` and enqueues `jobs` (the consumer's effects of
    /// the events in between), in one transaction; if the cursor is no longer at `from`
    /// (another process moved it), [`crate::StorageError::Conflict`] with its position and
    /// nothing is written. So every event's effects are enqueued once, in order.
    async fn advance_event_cursor(&self, consumer: &str, from: i64, to: i64, jobs: Vec<NewJob>) -> Result<()>;
}
