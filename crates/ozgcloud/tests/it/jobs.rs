//! The job runner in the running server: retries with backoff, the dead letter list in the
//! operator's UI, a retry from there, the probe, and work that used to be a timer loop.

use crate::helpers::*;
use domain::jobs::{kinds, Backoff, JobState};
use reqwest::StatusCode;
use std::time::Duration;

/// Polls until the job is in `state` (at most 30 s).
async fn until_state(app: &TestApp, id: domain::JobId, state: JobState) -> store::JobRecord {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let job = app.server.state.app.jobs.get(id).await.expect("job");
        if job.state == state {
            return job;
        }
        assert!(tokio::time::Instant::now() < deadline, "job never reached {state:?}: {job:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn failed_jobs_land_in_the_dead_letter_list_and_a_retry_runs_them(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.job_backoff = Some(Backoff { base: time::Duration::milliseconds(50), max: time::Duration::seconds(1) });
    })
    .await
    else {
        return;
    };
    let jobs = &app.server.state.app.jobs;
    // Fails its first three attempts; three are all it has.
    let job = app::work::probe_job(0, 3, 3);
    let id = job.id;
    jobs.enqueue(job).await.expect("enqueue");
    let dead = until_state(&app, id, JobState::Discarded).await;
    assert_eq!(dead.attempt, 3, "tried three times, with backoff in between");
    assert!(dead.last_error.as_deref().is_some_and(|e| e.contains("Versuch 3")), "{dead:?}");

    // The operator sees it with its last error and retries it from the UI.
    let operator = app.browser_at("/t/plattform", "betrieb", PASSWORD).await;
    let page = operator.page("/betrieb/auftraege").await;
    assert!(page.contains("Probeauftrag") && page.contains("Versuch 3 schlägt wie bestellt fehl"), "{page}");
    assert!(page.contains("3 von 3"), "attempts shown");
    let csrf = csrf_in(&page);
    let res = operator.post_form(&format!("/betrieb/auftraege/{id}/wiederholen"), &[("_csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let done = until_state(&app, id, JobState::Completed).await;
    assert_eq!(done.attempt, 4, "the retry ran it once more, and it succeeded");
    let page = operator.page("/betrieb/auftraege?status=COMPLETED&meldung=auftrag-wiederholt").await;
    assert!(page.contains("erneut versucht"), "confirmation shown");

    // Retrying what is not failed is refused with a message, not an error page.
    let res = operator.post_form(&format!("/betrieb/auftraege/{id}/wiederholen"), &[("_csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Without the CSRF token nothing happens.
    let res = operator.post_form(&format!("/betrieb/auftraege/{id}/wiederholen"), &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The probe button: a job that runs at once.
    let res = operator.post_form("/betrieb/auftraege/probe", &[("_csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(jobs.wait_idle(Duration::from_secs(20)).await.expect("idle"));
    let probes = jobs
        .list(&store::JobQuery { state: Some(JobState::Completed), kind: Some(kinds::PROBE.into()), limit: 10 })
        .await
        .expect("list");
    assert_eq!(probes.len(), 2, "the retried job and the probe");

    // Retries and probes are in the platform's audit log.
    let audit = app
        .server
        .state
        .store
        .tenant(&domain::TenantId::platform())
        .list_audit(&store::AuditQuery { before: None, action: None, limit: 50 })
        .await
        .expect("audit");
    for action in ["auftrag_wiederholt", "auftrag_probe"] {
        assert!(audit.iter().any(|a| a.entry.action == action), "{action} audited");
    }

    // A clerk or tenant admin has no business here.
    let admin = app.browser("admin").await;
    assert_eq!(admin.get("/betrieb/auftraege").await.status(), StatusCode::FORBIDDEN);
}

async fn periodic_work_runs_as_jobs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let jobs = &app.server.state.app.jobs;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for kind in [kinds::INTAKE_NACHHOLEN, kinds::SITZUNGEN_AUFRAEUMEN, kinds::SUCHE_NACHINDIZIEREN] {
        loop {
            let counts = jobs.counts().await.expect("counts");
            if counts.iter().any(|c| c.kind == kind && c.state == JobState::Completed && c.count >= 1) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{kind} did not run at start: {counts:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The periodic rescan ("eingang.nachholen") finishes deliveries left unprocessed for longer
/// than two minutes and leaves younger ones alone: another process may be working on them.
async fn the_intake_rescan_respects_the_recovery_age(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let state = &app.server.state;
    let stored = |minutes_ago: i64, tx: String| async move {
        let body = serde_json::to_vec(&gewerbeanmeldung(&tx)).expect("json");
        let id = store::DeliveryId::new();
        let key = documents::new_key("plattform", "eingang", id.0);
        state.blobs.put(&key, body.clone().into()).await.expect("put");
        let delivery = store::NewDelivery {
            id,
            received_at: time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes_ago),
            channel: "api-json".into(),
            content_type: "application/json".into(),
            blob_key: key,
            size: body.len() as u64,
        };
        state.store.tenant(&domain::TenantId::platform()).record_delivery(delivery).await.expect("record");
        id
    };
    let old = stored(3, unique("alt")).await;
    let young = stored(1, unique("jung")).await;
    let rescan = store::NewJob::new(kinds::INTAKE_NACHHOLEN, serde_json::json!({}));
    let id = rescan.id;
    state.app.jobs.enqueue(rescan).await.expect("enqueue");
    until_state(&app, id, JobState::Completed).await;
    let unfinished = state.store.installation().unfinished_deliveries(100).await.expect("unfinished");
    assert!(!unfinished.iter().any(|d| d.id == old), "the old delivery was finished");
    assert!(unfinished.iter().any(|d| d.id == young), "the young one is left to whoever works on it");
    assert_eq!(app.api("max").await.get_json("/api/v1/vorgaenge").await["total"], 1, "one Vorgang from the old one");
}

on_both_backends!(
    failed_jobs_land_in_the_dead_letter_list_and_a_retry_runs_them,
    periodic_work_runs_as_jobs,
    the_intake_rescan_respects_the_recovery_age
);
