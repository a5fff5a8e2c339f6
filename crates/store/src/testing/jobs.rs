//! Conformance checks of the jobs area: the durable queue and the event cursors.
//!
//! Pinned here: a claim takes due jobs of the named kinds only, oldest due first, counts the
//! attempt and leases the job to one worker; a job whose lease ran out is taken again (the
//! attempt counts); only the lease holder records an attempt's end; an idempotency key is
//! taken once; retry and discard only from the states named in the contract; a cursor moves
//! only from where it stands, and the jobs given with the move are enqueued with it or not at
//! all. Each check uses a kind of its own, so checks never take each other's jobs.

use super::*;
use crate::{JobQuery, NewJob};
use domain::jobs::{AfterAttempt, JobState};

fn test_kind() -> String {
    format!("test.{}", short())
}

const LEASE: Duration = Duration::minutes(5);

pub async fn jobs_are_enqueued_once_and_claimed_by_one_worker(db: &Db) {
    let kind = test_kind();
    let t = fresh_tenant(db).await;
    let first = NewJob::new(&kind, json!({"n": 1})).for_tenant(&t).unique(format!("{kind}:eins"));
    let id = db.installation().enqueue_job(first.clone()).await.expect("enqueue").expect("a new job");
    assert_eq!(
        db.installation().enqueue_job(first.clone()).await.expect("enqueue again"),
        None,
        "the key is taken once"
    );
    let again = NewJob { id: domain::JobId::new(), ..first };
    assert_eq!(db.installation().enqueue_job(again).await.expect("same key, other id"), None, "whatever the id");
    let later = NewJob::new(&kind, json!({"n": 2})).at(OffsetDateTime::now_utc() + Duration::hours(1));
    let later_id = db.installation().enqueue_job(later).await.expect("enqueue").expect("new");
    let job = db.installation().get_job(id).await.expect("get_job");
    assert_eq!(
        (job.state, job.attempt, job.max_attempts),
        (JobState::Available, 0, domain::jobs::DEFAULT_MAX_ATTEMPTS)
    );
    assert_eq!(job.payload, json!({"n": 1}));
    assert_eq!(job.tenant.as_ref(), Some(&t));
    assert_not_found(db.installation().get_job(domain::JobId::new()).await, "an unknown job");

    assert!(
        db.installation().claim_jobs("w1", &[test_kind()], 10, LEASE).await.expect("claim").is_empty(),
        "other kinds only"
    );
    let claimed = db.installation().claim_jobs("w1", std::slice::from_ref(&kind), 10, LEASE).await.expect("claim");
    assert_eq!(claimed.len(), 1, "only the due job: {claimed:?}");
    let c = &claimed[0];
    assert_eq!((c.id, c.state, c.attempt), (id, JobState::Running, 1));
    assert_eq!(c.leased_by.as_deref(), Some("w1"));
    assert!(c.leased_until.is_some_and(|u| u > OffsetDateTime::now_utc() + Duration::minutes(4)), "{c:?}");
    assert!(
        db.installation().claim_jobs("w2", std::slice::from_ref(&kind), 10, LEASE).await.expect("claim").is_empty(),
        "leased to w1"
    );
    assert_eq!(db.installation().get_job(later_id).await.expect("get").state, JobState::Available, "not due yet");

    assert_not_found(
        db.installation().finish_job(id, "w2", AfterAttempt::Complete).await,
        "only the lease holder finishes",
    );
    db.installation().finish_job(id, "w1", AfterAttempt::Complete).await.expect("finish");
    let done = db.installation().get_job(id).await.expect("get");
    assert_eq!(done.state, JobState::Completed);
    assert!(done.finished_at.is_some() && done.leased_until.is_none());
    assert_eq!(done.leased_by.as_deref(), Some("w1"), "who ran it stays visible");
    assert_not_found(db.installation().finish_job(id, "w1", AfterAttempt::Complete).await, "finishing twice");
    assert!(
        db.installation().claim_jobs("w1", std::slice::from_ref(&kind), 10, LEASE).await.expect("claim").is_empty(),
        "completed stays"
    );
}

pub async fn failed_attempts_retry_then_land_in_the_dead_letter_list(db: &Db) {
    let kind = test_kind();
    let id = db
        .installation()
        .enqueue_job(NewJob::new(&kind, json!({})).max_attempts(2))
        .await
        .expect("enqueue")
        .expect("new");
    let claimed = db.installation().claim_jobs("w", std::slice::from_ref(&kind), 1, LEASE).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let later = OffsetDateTime::now_utc() + Duration::hours(1);
    db.installation()
        .finish_job(id, "w", AfterAttempt::RetryAt { at: later, error: "Gegenstelle antwortet nicht".into() })
        .await
        .expect("finish");
    let job = db.installation().get_job(id).await.expect("get");
    assert_eq!(job.state, JobState::Retryable);
    assert_eq!(job.last_error.as_deref(), Some("Gegenstelle antwortet nicht"));
    assert!((job.scheduled_at - later).abs() < Duration::seconds(1), "{job:?}");
    assert!(job.finished_at.is_none());
    assert!(
        db.installation().claim_jobs("w", std::slice::from_ref(&kind), 1, LEASE).await.expect("claim").is_empty(),
        "not due before then"
    );

    // Due again now (the operator does not wait): the second and last attempt fails too.
    let job = db.installation().retry_job(id).await.expect("retry a retryable job");
    assert_eq!(job.state, JobState::Available);
    let claimed = db.installation().claim_jobs("w", std::slice::from_ref(&kind), 1, LEASE).await.expect("claim");
    assert_eq!(claimed[0].attempt, 2);
    db.installation()
        .finish_job(id, "w", AfterAttempt::Discard { error: "zweimal fehlgeschlagen".into() })
        .await
        .expect("finish");
    let dead = db.installation().get_job(id).await.expect("get");
    assert_eq!((dead.state, dead.attempt), (JobState::Discarded, 2));
    assert!(dead.finished_at.is_some());
    let listed = db
        .installation()
        .list_jobs(&JobQuery { state: Some(JobState::Discarded), kind: Some(kind.clone()), limit: 10 })
        .await
        .expect("list");
    assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id], "the dead letter list");
    let counts = db.installation().count_jobs().await.expect("count");
    assert!(counts.iter().any(|c| c.kind == kind && c.state == JobState::Discarded && c.count == 1), "{counts:?}");

    // The operator retries: one more attempt is allowed, and it can succeed.
    let revived = db.installation().retry_job(id).await.expect("retry");
    assert_eq!((revived.state, revived.max_attempts), (JobState::Available, 3));
    assert!(revived.finished_at.is_none());
    let claimed = db.installation().claim_jobs("w", std::slice::from_ref(&kind), 1, LEASE).await.expect("claim");
    assert_eq!(claimed[0].attempt, 3);
    assert!(
        matches!(db.installation().retry_job(id).await, Err(StorageError::Conflict { .. })),
        "a running job cannot be retried"
    );
    assert!(
        matches!(db.installation().discard_job(id, "nein").await, Err(StorageError::Conflict { .. })),
        "nor discarded"
    );
    db.installation().finish_job(id, "w", AfterAttempt::Complete).await.expect("finish");
    assert!(matches!(db.installation().retry_job(id).await, Err(StorageError::Conflict { .. })), "nor a completed one");

    let other = db.installation().enqueue_job(NewJob::new(&kind, json!({}))).await.expect("enqueue").expect("new");
    let discarded = db.installation().discard_job(other, "vom Betrieb verworfen").await.expect("discard a pending job");
    assert_eq!(discarded.state, JobState::Discarded);
    assert_eq!(discarded.last_error.as_deref(), Some("vom Betrieb verworfen"));
    assert_not_found(db.installation().retry_job(domain::JobId::new()).await, "retrying an unknown job");
}

pub async fn expired_leases_are_taken_again(db: &Db) {
    let kind = test_kind();
    let id = db.installation().enqueue_job(NewJob::new(&kind, json!({}))).await.expect("enqueue").expect("new");
    let claimed = db
        .installation()
        .claim_jobs("gestorben", std::slice::from_ref(&kind), 1, Duration::milliseconds(1))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let again = db.installation().claim_jobs("lebendig", std::slice::from_ref(&kind), 1, LEASE).await.expect("claim");
    assert_eq!(again.len(), 1, "the lease ran out: another worker takes it");
    assert_eq!((again[0].id, again[0].attempt), (id, 2), "the lost attempt counts");
    assert_not_found(
        db.installation().finish_job(id, "gestorben", AfterAttempt::Complete).await,
        "the dead worker lost it",
    );
    db.installation().finish_job(id, "lebendig", AfterAttempt::Complete).await.expect("finish");
}

pub async fn concurrent_claims_take_each_job_once(db: &Db) {
    let kind = test_kind();
    let mut ids = HashSet::new();
    for n in 0..60 {
        ids.insert(
            db.installation().enqueue_job(NewJob::new(&kind, json!({ "n": n }))).await.expect("enqueue").expect("new"),
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..6 {
        let (db, kind) = (db.clone(), kind.clone());
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = db
                    .installation()
                    .claim_jobs(&format!("w{w}"), std::slice::from_ref(&kind), 4, LEASE)
                    .await
                    .expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
        });
    }
    let mut taken = Vec::new();
    while let Some(mine) = tasks.join_next().await {
        taken.extend(mine.expect("task"));
    }
    assert_eq!(taken.len(), 60, "every job taken once, none twice");
    assert_eq!(taken.into_iter().collect::<HashSet<_>>(), ids);
}

pub async fn completed_jobs_are_pruned(db: &Db) {
    let kind = test_kind();
    let id = db
        .installation()
        .enqueue_job(NewJob::new(&kind, json!({})).unique(format!("{kind}:k")))
        .await
        .expect("e")
        .expect("n");
    let pending = db.installation().enqueue_job(NewJob::new(&kind, json!({}))).await.expect("enqueue").expect("new");
    db.installation().claim_jobs("w", std::slice::from_ref(&kind), 1, LEASE).await.expect("claim");
    db.installation().finish_job(id, "w", AfterAttempt::Complete).await.expect("finish");
    let before = db.installation().prune_jobs(OffsetDateTime::now_utc() - Duration::hours(1)).await.expect("prune");
    let _ = before;
    assert!(db.installation().get_job(id).await.is_ok(), "finished within the hour: kept");
    let pruned = db.installation().prune_jobs(OffsetDateTime::now_utc() + Duration::seconds(1)).await.expect("prune");
    assert!(pruned >= 1);
    assert_not_found(db.installation().get_job(id).await, "pruned");
    assert!(db.installation().get_job(pending).await.is_ok(), "pending jobs are never pruned");
    assert!(
        db.installation()
            .enqueue_job(NewJob::new(&kind, json!({})).unique(format!("{kind}:k")))
            .await
            .expect("e")
            .is_some(),
        "a pruned job's key is free again"
    );
}

pub async fn event_cursors_move_once_with_their_jobs(db: &Db) {
    let kind = test_kind();
    let t = fresh_tenant(db).await;
    let other = fresh_tenant(db).await;
    intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    intake(db, &t, new_vorgang(at(1), "Gewerbeanmeldung")).await;
    let events = db.tenant(&t).events_after(0, 10).await.expect("events");
    assert_eq!(events.len(), 2);
    let (first, last) = (events[0].seq, events[1].seq);

    assert_eq!(db.tenant(&t).event_cursor("webhook-1").await.expect("cursor"), 0, "a new consumer starts at 0");
    let effect = |seq: i64| NewJob::new(&kind, json!({ "seq": seq })).unique(format!("{kind}:{seq}"));
    db.tenant(&t).advance_event_cursor("webhook-1", 0, first, vec![effect(first)]).await.expect("advance");
    assert_eq!(db.tenant(&t).event_cursor("webhook-1").await.expect("cursor"), first);
    assert_eq!(db.tenant(&t).event_cursor("webhook-2").await.expect("cursor"), 0, "cursors are per consumer");
    assert_eq!(db.tenant(&other).event_cursor("webhook-1").await.expect("cursor"), 0, "and per tenant");

    // A second process that read from 0 too: refused, and its jobs are not enqueued.
    match db.tenant(&t).advance_event_cursor("webhook-1", 0, last, vec![effect(last)]).await {
        Err(StorageError::Conflict { current_version }) => assert_eq!(current_version, first),
        other => panic!("a stale cursor move must be a Conflict, got {other:?}"),
    }
    let listed = |db: Db, kind: String| async move {
        db.installation().list_jobs(&JobQuery { state: None, kind: Some(kind), limit: 10 }).await.expect("list")
    };
    assert_eq!(listed(db.clone(), kind.clone()).await.len(), 1, "only the winner's job");
    db.tenant(&t).advance_event_cursor("webhook-1", first, last, vec![effect(last)]).await.expect("advance");
    let jobs = listed(db.clone(), kind.clone()).await;
    assert_eq!(jobs.len(), 2);
    assert_eq!(db.tenant(&t).event_cursor("webhook-1").await.expect("cursor"), last);
}
