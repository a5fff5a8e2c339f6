//! The kinds of work the platform runs today, as job handlers, and the runner that has them
//! all. Later channels (messages, mails, webhooks, PDFs, xdomea) add their handlers here.

use crate::jobs::{JobHandler, Jobs, Runner, RunnerConfig};
use async_trait::async_trait;
use documents::{BlobStore, DocumentError};
use domain::jobs::{kinds, AttemptOutcome, KEEP_COMPLETED};
use intake::Intake;
use std::sync::Arc;
use store::{JobRecord, Store};
use time::{Duration, OffsetDateTime};

/// Intake recovery leaves deliveries younger than this alone: another process may still be
/// working on them.
pub const RECOVERY_MIN_AGE: Duration = Duration::minutes(2);

/// A runner with every kind of work and the periodic sweeps.
pub fn runner(
    jobs: Jobs,
    config: RunnerConfig,
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    intake: Intake,
) -> Runner {
    Runner::new(jobs, config)
        .handle(kinds::BLOB_LOESCHEN, BlobDeletion { blobs })
        .handle(kinds::INTAKE_NACHHOLEN, IntakeRecovery { intake })
        .handle(kinds::SITZUNGEN_AUFRAEUMEN, SessionSweep { store: store.clone() })
        .handle(kinds::SUCHE_NACHINDIZIEREN, SearchBackfill { store: store.clone() })
        .handle(kinds::AUFTRAEGE_AUFRAEUMEN, JobPrune { store })
        .handle(kinds::PROBE, Probe)
        .every(kinds::INTAKE_NACHHOLEN, Duration::minutes(1))
        .every(kinds::SITZUNGEN_AUFRAEUMEN, Duration::minutes(1))
        .every(kinds::SUCHE_NACHINDIZIEREN, Duration::minutes(1))
        .every(kinds::AUFTRAEGE_AUFRAEUMEN, Duration::hours(1))
}

fn failed(e: impl std::fmt::Display) -> AttemptOutcome {
    AttemptOutcome::Failed(e.to_string())
}

/// Deletes one blob; one that is gone already counts as deleted.
pub struct BlobDeletion {
    pub blobs: Arc<dyn BlobStore>,
}

#[async_trait]
impl JobHandler for BlobDeletion {
    async fn run(&self, job: &JobRecord) -> AttemptOutcome {
        let Some(key) = job.payload.get("key").and_then(|k| k.as_str()) else {
            return AttemptOutcome::Permanent("Auftrag ohne Schlüssel".into());
        };
        match self.blobs.delete(key).await {
            Ok(()) | Err(DocumentError::NotFound) => AttemptOutcome::Done,
            Err(DocumentError::InvalidKey) => AttemptOutcome::Permanent("ungültiger Schlüssel".into()),
            Err(e) => failed(e),
        }
    }
}

/// Finishes deliveries stored but never processed: left by a storage error that outlasted
/// the retries, or by a process that died.
pub struct IntakeRecovery {
    pub intake: Intake,
}

#[async_trait]
impl JobHandler for IntakeRecovery {
    async fn run(&self, _job: &JobRecord) -> AttemptOutcome {
        match self.intake.recover_unfinished(RECOVERY_MIN_AGE).await {
            Ok(0) => AttemptOutcome::Done,
            Ok(n) => {
                tracing::warn!(n, "intake: finished deliveries left unprocessed");
                AttemptOutcome::Done
            }
            Err(e) => failed(e),
        }
    }
}

pub struct SessionSweep {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl JobHandler for SessionSweep {
    async fn run(&self, _job: &JobRecord) -> AttemptOutcome {
        match self.store.installation().delete_expired_sessions(OffsetDateTime::now_utc()).await {
            Ok(_) => AttemptOutcome::Done,
            Err(e) => failed(e),
        }
    }
}

/// Indexes Vorgänge an older version wrote (a rolling update on a shared PostgreSQL).
pub struct SearchBackfill {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl JobHandler for SearchBackfill {
    async fn run(&self, _job: &JobRecord) -> AttemptOutcome {
        match self.store.installation().index_unindexed().await {
            Ok(0) => AttemptOutcome::Done,
            Ok(n) => {
                tracing::info!(n, "search: indexed Vorgänge an older version wrote");
                AttemptOutcome::Done
            }
            Err(e) => failed(e),
        }
    }
}

pub struct JobPrune {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl JobHandler for JobPrune {
    async fn run(&self, _job: &JobRecord) -> AttemptOutcome {
        match self.store.installation().prune_jobs(OffsetDateTime::now_utc() - KEEP_COMPLETED).await {
            Ok(_) => AttemptOutcome::Done,
            Err(e) => failed(e),
        }
    }
}

/// The operator's probe (`ozgcloud jobs probe`, the operator UI): proves that jobs run, once
/// each, and shows retries and the dead letter list at work. Payload: `dauer_ms` (at most
/// 10 s) to take time, `fehlschlagen_bis` to fail every attempt up to that number.
pub struct Probe;

#[async_trait]
impl JobHandler for Probe {
    async fn run(&self, job: &JobRecord) -> AttemptOutcome {
        let ms = job.payload.get("dauer_ms").and_then(|v| v.as_u64()).unwrap_or(0).min(10_000);
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        let fail_until = job.payload.get("fehlschlagen_bis").and_then(|v| v.as_u64()).unwrap_or(0);
        if u64::from(job.attempt) <= fail_until {
            return AttemptOutcome::Failed(format!("Probeauftrag: Versuch {} schlägt wie bestellt fehl", job.attempt));
        }
        AttemptOutcome::Done
    }
}

/// A probe job as the operator asks for it.
pub fn probe_job(duration_ms: u64, fail_until: u32, max_attempts: u32) -> store::NewJob {
    store::NewJob::new(
        kinds::PROBE,
        serde_json::json!({ "dauer_ms": duration_ms.min(10_000), "fehlschlagen_bis": fail_until }),
    )
    .max_attempts(max_attempts)
}
