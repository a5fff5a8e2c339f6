//! The durable job runner.
//!
//! Jobs live in the database (`store::JobStore`), so they survive restarts and are shared by
//! every `ozgcloud serve` process on one database. Each process runs one [`Runner`]: it
//! schedules periodic work (one job per period across all processes, by idempotency key),
//! takes due jobs with a lease, runs them at most `concurrency` at a time, and records the
//! outcome by the rules of `domain::jobs` (retry with backoff, dead letter after the last
//! attempt). A handler that panics or overruns its time is a failed attempt; the runner
//! goes on. A process that dies loses its leases: another process takes those jobs again.
//!
//! There is no other retry loop in ozgcloud: work that must happen is a job.

use async_trait::async_trait;
use domain::jobs::{after_attempt, exhausted, AfterAttempt, AttemptOutcome, Backoff};
use domain::JobId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use store::{JobCount, JobQuery, JobRecord, NewJob, StorageError, Store};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// The work of one kind of job. Handlers are idempotent: a job whose worker died after the
/// effect but before recording it runs again.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    async fn run(&self, job: &JobRecord) -> AttemptOutcome;
}

/// Work that recurs: one job of `kind` per `every`, installation-wide.
#[derive(Debug, Clone)]
pub struct Periodic {
    pub kind: &'static str,
    pub every: time::Duration,
}

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Names this process in leases (and in the operator UI).
    pub worker: String,
    /// Jobs run at the same time by this process.
    pub concurrency: usize,
    /// How often the queue is looked at when nothing wakes the runner (other processes'
    /// jobs, retries coming due).
    pub poll: Duration,
    pub lease: time::Duration,
    /// A handler running longer is a failed attempt (must be well below `lease`).
    pub timeout: Duration,
    pub backoff: Backoff,
}

impl RunnerConfig {
    pub fn new(worker: impl Into<String>) -> Self {
        Self {
            worker: worker.into(),
            concurrency: 4,
            poll: Duration::from_secs(1),
            lease: domain::jobs::DEFAULT_LEASE,
            timeout: Duration::from_secs(120),
            backoff: Backoff::default(),
        }
    }
}

/// A name for this process's worker: host, process id and a random part (a restarted
/// process with the same pid is another worker).
pub fn worker_name() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "ozgcloud".to_owned());
    format!("{host}-{}-{:04x}", std::process::id(), rand::random::<u16>())
}

/// The queue as the rest of the application sees it: enqueue, wake the local runner, and
/// what the operator needs (lists, counts, retry, discard). Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    store: Arc<dyn Store>,
    wake: Arc<Notify>,
}

impl Jobs {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, wake: Arc::new(Notify::new()) }
    }

    /// Tells the local runner that jobs were enqueued (by this or by another operation's
    /// transaction), so it need not wait for its next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub async fn enqueue(&self, job: NewJob) -> Result<Option<JobId>, StorageError> {
        let id = self.store.installation().enqueue_job(job).await?;
        self.wake();
        Ok(id)
    }

    pub async fn list(&self, query: &JobQuery) -> Result<Vec<JobRecord>, StorageError> {
        self.store.installation().list_jobs(query).await
    }

    pub async fn counts(&self) -> Result<Vec<JobCount>, StorageError> {
        self.store.installation().count_jobs().await
    }

    pub async fn get(&self, id: JobId) -> Result<JobRecord, StorageError> {
        self.store.installation().get_job(id).await
    }

    /// Sends a failed job back to the queue (the operator's "erneut versuchen").
    pub async fn retry(&self, id: JobId) -> Result<JobRecord, StorageError> {
        let job = self.store.installation().retry_job(id).await?;
        self.wake();
        Ok(job)
    }

    pub async fn discard(&self, id: JobId, reason: &str) -> Result<JobRecord, StorageError> {
        self.store.installation().discard_job(id, reason).await
    }

    /// Waits until no job is pending or running (tests), at most `limit`; true when idle.
    /// Jobs scheduled more than a second ahead (retries) do not count; the second covers a
    /// database clock (PostgreSQL's `now()`) a little ahead of this process's.
    pub async fn wait_idle(&self, limit: Duration) -> Result<bool, StorageError> {
        let deadline = tokio::time::Instant::now() + limit;
        use domain::jobs::JobState;
        loop {
            let now = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
            let mut busy = false;
            for state in [JobState::Running, JobState::Available, JobState::Retryable] {
                let jobs = self
                    .store
                    .installation()
                    .list_jobs(&JobQuery { state: Some(state), kind: None, limit: 1000 })
                    .await?;
                busy |= jobs.iter().any(|j| state == JobState::Running || j.scheduled_at <= now);
            }
            if !busy {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// One process's runner: its handlers, its periodic work and its configuration.
pub struct Runner {
    jobs: Jobs,
    config: RunnerConfig,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    periodic: Vec<Periodic>,
}

/// The running runner; stopping it lets running jobs finish (up to their time-out).
pub struct RunnerHandle {
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl RunnerHandle {
    pub async fn stop(self) {
        self.stop.notify_one();
        let _ = self.task.await;
    }

    pub fn abort(&self) {
        self.task.abort();
    }
}

impl Runner {
    pub fn new(jobs: Jobs, config: RunnerConfig) -> Self {
        Self { jobs, config, handlers: HashMap::new(), periodic: Vec::new() }
    }

    pub fn handle(mut self, kind: &str, handler: impl JobHandler) -> Self {
        self.handlers.insert(kind.to_owned(), Arc::new(handler));
        self
    }

    pub fn every(mut self, kind: &'static str, every: time::Duration) -> Self {
        self.periodic.push(Periodic { kind, every });
        self
    }

    pub fn spawn(self) -> RunnerHandle {
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(self.run(stop.clone()));
        RunnerHandle { stop, task }
    }

    async fn run(self, stop: Arc<Notify>) {
        let this = Arc::new(self);
        let kinds: Vec<String> = this.handlers.keys().cloned().collect();
        let mut running: JoinSet<()> = JoinSet::new();
        let mut scheduled: HashMap<&'static str, String> = HashMap::new();
        tracing::info!(worker = %this.config.worker, kinds = kinds.len(), "jobs: runner started");
        loop {
            this.schedule_periodic(&mut scheduled).await;
            let free = this.config.concurrency.saturating_sub(running.len());
            let mut claimed = 0;
            if free > 0 {
                match this
                    .jobs
                    .store
                    .installation()
                    .claim_jobs(&this.config.worker, &kinds, free as u32, this.config.lease)
                    .await
                {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            let this = this.clone();
                            running.spawn(async move { this.attempt(job).await });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "jobs: could not take jobs"),
                }
            }
            // A full batch suggests more are due: look again at once.
            if claimed > 0 && claimed == free {
                continue;
            }
            tokio::select! {
                _ = stop.notified() => break,
                _ = this.jobs.wake.notified() => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
                _ = tokio::time::sleep(this.config.poll) => {}
            }
        }
        while running.join_next().await.is_some() {}
        tracing::info!(worker = %this.config.worker, "jobs: runner stopped");
    }

    /// Enqueues this period's job of each periodic kind unless this process did already;
    /// the idempotency key makes it one job per period across processes.
    async fn schedule_periodic(&self, scheduled: &mut HashMap<&'static str, String>) {
        let now = time::OffsetDateTime::now_utc();
        for p in &self.periodic {
            let key = domain::jobs::periodic_key(p.kind, p.every, now);
            if scheduled.get(p.kind) == Some(&key) {
                continue;
            }
            // A periodic run that fails is not retried: the next period runs it anyway.
            let job = NewJob::new(p.kind, serde_json::json!({})).unique(key.clone()).max_attempts(1);
            match self.jobs.store.installation().enqueue_job(job).await {
                Ok(_) => {
                    scheduled.insert(p.kind, key);
                }
                Err(e) => tracing::warn!(kind = p.kind, error = %e, "jobs: could not schedule periodic work"),
            }
        }
    }

    /// Runs one attempt and records how it ended.
    async fn attempt(&self, job: JobRecord) {
        let outcome = if exhausted(job.attempt, job.max_attempts) {
            // Taken again after its lease ran out once too often: its worker keeps dying
            // (a crash in the handler?). Not run again without an operator.
            AttemptOutcome::Permanent("Abgebrochen: die Bearbeitung endete mehrmals ohne Ergebnis.".into())
        } else {
            self.execute(&job).await
        };
        let failed = !matches!(outcome, AttemptOutcome::Done);
        let plan = after_attempt(
            outcome,
            job.attempt,
            job.max_attempts,
            time::OffsetDateTime::now_utc(),
            &self.config.backoff,
            rand::random::<f64>(),
        );
        match &plan {
            AfterAttempt::Discard { error } => {
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempt, %error, "jobs: given up")
            }
            AfterAttempt::RetryAt { error, .. } if failed => {
                tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempt, %error, "jobs: attempt failed")
            }
            _ => {}
        }
        match self.jobs.store.installation().finish_job(job.id, &self.config.worker, plan).await {
            Ok(()) => {}
            Err(StorageError::NotFound) => {
                tracing::warn!(job = %job.id, kind = %job.kind, "jobs: lease lost before the attempt was recorded")
            }
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "jobs: could not record an attempt; the lease runs out")
            }
        }
    }

    /// The handler, on a task of its own so that a panic is caught, within the time-out.
    async fn execute(&self, job: &JobRecord) -> AttemptOutcome {
        let Some(handler) = self.handlers.get(&job.kind).cloned() else {
            return AttemptOutcome::Failed(format!("keine Bearbeitung für „{}“ in diesem Prozess", job.kind));
        };
        let owned = job.clone();
        let task = tokio::spawn(async move { handler.run(&owned).await });
        let abort = task.abort_handle();
        match tokio::time::timeout(self.config.timeout, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(e)) if e.is_panic() => AttemptOutcome::Failed("Abgebrochen: interner Fehler (panic)".into()),
            Ok(Err(_)) => AttemptOutcome::Failed("Abgebrochen".into()),
            Err(_) => {
                abort.abort();
                AttemptOutcome::Failed(format!("Zeitüberschreitung nach {} s", self.config.timeout.as_secs()))
            }
        }
    }
}
