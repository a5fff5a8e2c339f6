//! The job runner against a real SQLite store: a blob deletion whose document store fails
//! twice is retried with backoff and done on the third attempt; one whose store keeps
//! failing lands in the dead letter list; a panicking handler is a failed attempt.

use async_trait::async_trait;
use bytes::Bytes;
use documents::{BlobStore, DocumentError};
use domain::jobs::{AttemptOutcome, Backoff, JobState};
use ozgcloud_app::jobs::{JobHandler, Jobs, Runner, RunnerConfig};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use store::{JobRecord, NewJob};

/// Fails `failures` deletions, then succeeds.
struct FlakyBlobs {
    failures: u32,
    calls: AtomicU32,
}

#[async_trait]
impl BlobStore for FlakyBlobs {
    async fn put(&self, _key: &str, _bytes: Bytes) -> Result<(), DocumentError> {
        Ok(())
    }
    async fn get(&self, _key: &str) -> Result<Bytes, DocumentError> {
        Err(DocumentError::NotFound)
    }
    async fn delete(&self, _key: &str) -> Result<(), DocumentError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if n <= self.failures {
            return Err(DocumentError::Io(std::io::Error::other(format!("Speicher nicht erreichbar ({n})"))));
        }
        Ok(())
    }
}

struct Panics;

#[async_trait]
impl JobHandler for Panics {
    async fn run(&self, _job: &JobRecord) -> AttemptOutcome {
        panic!("a bug in a handler")
    }
}

fn config() -> RunnerConfig {
    let mut c = RunnerConfig::new("test-worker");
    c.poll = Duration::from_millis(20);
    c.backoff = Backoff { base: time::Duration::milliseconds(20), max: time::Duration::milliseconds(200) };
    c
}

async fn until(jobs: &Jobs, id: domain::JobId, state: JobState) -> JobRecord {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let job = jobs.get(id).await.expect("job");
        if job.state == state {
            return job;
        }
        assert!(tokio::time::Instant::now() < deadline, "never reached {state:?}: {job:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_deletions_are_retried_then_dead_lettered_and_panics_are_failures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn store::Store> =
        Arc::new(store_sqlite::SqliteStore::open(&dir.path().join("db.sqlite")).expect("store"));
    let jobs = Jobs::new(store.clone());
    let flaky = Arc::new(FlakyBlobs { failures: 2, calls: AtomicU32::new(0) });
    let runner = Runner::new(jobs.clone(), config())
        .handle(domain::jobs::kinds::BLOB_LOESCHEN, ozgcloud_app::work::BlobDeletion { blobs: flaky.clone() })
        .handle("test.panik", Panics)
        .spawn();

    let tenant = domain::TenantId::default_tenant();
    let job = NewJob::blob_deletion(&tenant, "default/eingang/aa/x");
    let id = job.id;
    jobs.enqueue(job).await.expect("enqueue");
    let done = until(&jobs, id, JobState::Completed).await;
    assert_eq!(done.attempt, 3, "two failures, then done");
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    assert!(done.last_error.as_deref().is_some_and(|e| e.contains("nicht erreichbar (2)")), "{done:?}");

    // A store that keeps failing: the last attempt ends in the dead letter list.
    let hopeless = NewJob::blob_deletion(&tenant, "default/eingang/bb/y").max_attempts(2);
    let hid = hopeless.id;
    flaky.calls.store(0, Ordering::SeqCst);
    let always = Arc::new(FlakyBlobs { failures: u32::MAX, calls: AtomicU32::new(0) });
    runner.stop().await;
    let runner = Runner::new(jobs.clone(), config())
        .handle(domain::jobs::kinds::BLOB_LOESCHEN, ozgcloud_app::work::BlobDeletion { blobs: always })
        .handle("test.panik", Panics)
        .spawn();
    jobs.enqueue(hopeless).await.expect("enqueue");
    let dead = until(&jobs, hid, JobState::Discarded).await;
    assert_eq!(dead.attempt, 2);

    // A panicking handler is a failed attempt; the runner goes on with the next job.
    let panics = NewJob::new("test.panik", serde_json::json!({})).max_attempts(1);
    let pid = panics.id;
    jobs.enqueue(panics).await.expect("enqueue");
    let failed = until(&jobs, pid, JobState::Discarded).await;
    assert!(failed.last_error.as_deref().is_some_and(|e| e.contains("panic")), "{failed:?}");
    let after = NewJob::blob_deletion(&tenant, "default/eingang/cc/z").max_attempts(1);
    let aid = after.id;
    jobs.enqueue(after).await.expect("enqueue");
    until(&jobs, aid, JobState::Discarded).await;
    assert!(store.installation().get_job(aid).await.expect("job").attempt == 1, "the runner still takes jobs");
    runner.stop().await;
}
