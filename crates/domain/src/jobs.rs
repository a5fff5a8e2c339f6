//! The rules of the durable job runner, written once for both storage engines: the states a
//! job moves through, when a failed attempt is tried again, when it is given up (dead
//! letter), and how periodic work is keyed so that several processes schedule it once.
//!
//! A job is any effect outside a clerk's request (deleting a blob, a mail, a webhook, a PDF,
//! an xdomea package). It is enqueued in the transaction of the change that causes it, taken
//! with a lease, and done at least once; handlers make their effect idempotent, so "at least
//! once" plus the job's idempotency key is "exactly once".

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Where a job stands.
///
/// `Available` → `Running` → `Completed`; a failed attempt goes to `Retryable` (with a later
/// `scheduled_at`) or, after its last attempt or a permanent error, to `Discarded` — the
/// dead letter list an operator sees and can send back to `Available`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Available,
    Running,
    Retryable,
    Completed,
    Discarded,
}

impl JobState {
    pub const ALL: [JobState; 5] = [Self::Available, Self::Running, Self::Retryable, Self::Completed, Self::Discarded];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Running => "RUNNING",
            Self::Retryable => "RETRYABLE",
            Self::Completed => "COMPLETED",
            Self::Discarded => "DISCARDED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// As the operator UI says it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Available => "wartet",
            Self::Running => "läuft",
            Self::Retryable => "wird wiederholt",
            Self::Completed => "erledigt",
            Self::Discarded => "fehlgeschlagen",
        }
    }

    /// Waiting to be taken (when its `scheduled_at` has come).
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Available | Self::Retryable)
    }
}

/// Attempts of a job unless its kind says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// How long a taken job belongs to its worker. A worker that dies keeps it no longer: after
/// the lease another process takes the job again (the attempt counts).
pub const DEFAULT_LEASE: Duration = Duration::minutes(5);
/// How long failed attempts wait: the first retry `base`, each further one twice as long,
/// never longer than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::seconds(2), max: Duration::hours(6) }
    }
}
/// Completed jobs are kept this long (their idempotency keys stay taken), then pruned.
pub const KEEP_COMPLETED: Duration = Duration::days(7);

impl Backoff {
    /// The wait before attempt `attempt + 1`, after `attempt` (1-based) failed: exponential,
    /// capped, with `jitter` in `0.0..1.0` spreading up to a quarter on top so that jobs
    /// that failed together do not come back together.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let base = self.base.whole_milliseconds() as f64 * 2f64.powi(exp as i32);
        let capped = base.min(self.max.whole_milliseconds() as f64);
        let spread = capped * 0.25 * jitter.clamp(0.0, 1.0);
        Duration::milliseconds((capped + spread) as i64)
    }
}

/// How an attempt ended, as its handler reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Done,
    /// Worth another try (a peer down, a time-out).
    Failed(String),
    /// Will never succeed (bad payload): no further attempts.
    Permanent(String),
}

/// What happens to a job after an attempt: the plan the storage engines persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterAttempt {
    Complete,
    RetryAt { at: OffsetDateTime, error: String },
    Discard { error: String },
}

/// Decides the fate of a job whose attempt number `attempt` (1-based) of `max_attempts`
/// ended with `outcome` at `now`.
pub fn after_attempt(
    outcome: AttemptOutcome,
    attempt: u32,
    max_attempts: u32,
    now: OffsetDateTime,
    backoff: &Backoff,
    jitter: f64,
) -> AfterAttempt {
    match outcome {
        AttemptOutcome::Done => AfterAttempt::Complete,
        AttemptOutcome::Permanent(error) => AfterAttempt::Discard { error },
        AttemptOutcome::Failed(error) if attempt >= max_attempts => AfterAttempt::Discard { error },
        AttemptOutcome::Failed(error) => AfterAttempt::RetryAt { at: now + backoff.delay(attempt, jitter), error },
    }
}

/// A job taken again after its lease ran out has used up an attempt without reporting; one
/// that has run out of attempts that way is not run again.
pub fn exhausted(attempt: u32, max_attempts: u32) -> bool {
    attempt > max_attempts
}

/// Error texts are kept for the operator, bounded (a peer's whole error page is no use).
pub fn bounded_error(error: &str) -> String {
    const MAX: usize = 2000;
    if error.len() <= MAX {
        return error.to_owned();
    }
    let mut end = MAX;
    while !error.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} …", &error[..end])
}

/// The idempotency key of one run of periodic work: the same for every process in the same
/// period, so however many processes schedule it, the job exists once per period.
pub fn periodic_key(name: &str, period: Duration, now: OffsetDateTime) -> String {
    let secs = period.whole_seconds().max(1);
    let slot = now.unix_timestamp().div_euclid(secs);
    format!("periodisch:{name}:{slot}")
}

/// Kinds of jobs the platform runs today. A kind is a stable name: it is stored with the job.
pub mod kinds {
    /// Deletes one blob from the document store (after a final deletion or a removed
    /// document). Payload `{"key": "..."}`.
    pub const BLOB_LOESCHEN: &str = "dokumente.blob_loeschen";
    /// Finishes deliveries that were stored but never processed (a crash, a storage error).
    pub const INTAKE_NACHHOLEN: &str = "eingang.nachholen";
    /// Removes expired sessions.
    pub const SITZUNGEN_AUFRAEUMEN: &str = "sitzungen.aufraeumen";
    /// Indexes Vorgänge an older version wrote without a search entry.
    pub const SUCHE_NACHINDIZIEREN: &str = "suche.nachindizieren";
    /// Prunes completed jobs past [`super::KEEP_COMPLETED`].
    pub const AUFTRAEGE_AUFRAEUMEN: &str = "auftraege.aufraeumen";
    /// An operator's probe of the runner: does nothing but prove that jobs run (and run once).
    pub const PROBE: &str = "betrieb.probe";

    /// German name for the operator UI.
    pub fn label(kind: &str) -> &str {
        match kind {
            BLOB_LOESCHEN => "Datei löschen",
            INTAKE_NACHHOLEN => "Eingänge nachholen",
            SITZUNGEN_AUFRAEUMEN => "Sitzungen aufräumen",
            SUCHE_NACHINDIZIEREN => "Suchindex ergänzen",
            AUFTRAEGE_AUFRAEUMEN => "Erledigte Aufträge aufräumen",
            PROBE => "Probeauftrag",
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 0.0), Duration::seconds(2));
        assert_eq!(b.delay(2, 0.0), Duration::seconds(4));
        assert_eq!(b.delay(5, 0.0), Duration::seconds(32));
        assert_eq!(b.delay(40, 0.0), b.max);
        assert_eq!(b.delay(1, 1.0), Duration::milliseconds(2500));
        assert!(b.delay(3, 0.5) > b.delay(3, 0.0));
    }

    #[test]
    fn failures_retry_until_the_last_attempt() {
        let now = datetime!(2026-12-04 12:00 UTC);
        let failed = || AttemptOutcome::Failed("peer down".into());
        assert_eq!(
            after_attempt(failed(), 1, 3, now, &Backoff::default(), 0.0),
            AfterAttempt::RetryAt { at: now + Duration::seconds(2), error: "peer down".into() }
        );
        assert_eq!(
            after_attempt(failed(), 3, 3, now, &Backoff::default(), 0.0),
            AfterAttempt::Discard { error: "peer down".into() }
        );
        assert_eq!(
            after_attempt(AttemptOutcome::Permanent("bad".into()), 1, 3, now, &Backoff::default(), 0.0),
            AfterAttempt::Discard { error: "bad".into() }
        );
        assert_eq!(after_attempt(AttemptOutcome::Done, 3, 3, now, &Backoff::default(), 0.0), AfterAttempt::Complete);
        assert!(!exhausted(3, 3));
        assert!(exhausted(4, 3));
    }

    #[test]
    fn periodic_keys_are_one_per_period() {
        let p = Duration::minutes(1);
        let a = periodic_key("x", p, datetime!(2026-12-04 12:00:01 UTC));
        let b = periodic_key("x", p, datetime!(2026-12-04 12:00:59 UTC));
        let c = periodic_key("x", p, datetime!(2026-12-04 12:01:00 UTC));
        assert_eq!(a, b);
        assert_ne!(b, c);
    }

    #[test]
    fn states_round_trip() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert!(JobState::Retryable.is_pending() && !JobState::Discarded.is_pending());
        assert_eq!(bounded_error(&"ä".repeat(3000)).chars().count(), 1002);
    }
}
