//! The operator's view of the job runner ("Aufträge"): how many jobs of each kind are in
//! each state, the failed ones with their last error, and "Erneut versuchen" / "Verwerfen".
//! A probe job shows that the runner works. Actions go to the platform tenant's audit log.

use super::flash;
use crate::auth::{Authenticated, CurrentUser};
use crate::error::{AppError, PageError};
use crate::pages::{render, see_other, Nav};
use crate::tenancy::{Base, ClientIp};
use crate::{fmt, AppState};
use app::commands::audit;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::Extension;
use domain::jobs::{kinds, JobState};
use domain::JobId;
use serde::Deserialize;
use store::{JobQuery, JobRecord, StorageError};

/// How many jobs a list shows.
const LIST_LIMIT: u32 = 200;

pub struct CountRow {
    kind: String,
    label: String,
    /// In the order of [`JobState::ALL`].
    counts: Vec<u64>,
}

pub struct JobRow {
    id: String,
    label: String,
    kind: String,
    tenant: String,
    attempts: String,
    when: String,
    when_iso: String,
    error: String,
    can_retry: bool,
    can_discard: bool,
}

pub struct StateTab {
    value: &'static str,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "betrieb_auftraege.html")]
struct JobsPage {
    base: Base,
    nav: Option<Nav>,
    flash: Option<String>,
    csrf: String,
    states: Vec<&'static str>,
    counts: Vec<CountRow>,
    tabs: Vec<StateTab>,
    shown_label: &'static str,
    jobs: Vec<JobRow>,
}

#[derive(Deserialize)]
pub struct Params {
    status: Option<String>,
    meldung: Option<String>,
}

fn row(j: JobRecord) -> JobRow {
    // Pending jobs: when they are due; finished ones: when they ended.
    let when = if j.state.is_pending() || j.state == JobState::Running {
        j.scheduled_at
    } else {
        j.finished_at.unwrap_or(j.scheduled_at)
    };
    JobRow {
        id: j.id.to_string(),
        label: kinds::label(&j.kind).to_owned(),
        tenant: j.tenant.map(|t| t.to_string()).unwrap_or_else(|| "–".into()),
        attempts: format!("{} von {}", j.attempt, j.max_attempts),
        when: fmt::date_time(when),
        when_iso: fmt::iso(when),
        error: j.last_error.unwrap_or_default(),
        can_retry: matches!(j.state, JobState::Discarded | JobState::Retryable),
        can_discard: j.state.is_pending(),
        kind: j.kind,
    }
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Query(p): Query<Params>,
) -> Result<Response, PageError> {
    let shown = p.status.as_deref().and_then(JobState::parse).unwrap_or(JobState::Discarded);
    let mut counts: Vec<CountRow> = Vec::new();
    for c in state.app.jobs.counts().await? {
        let index = JobState::ALL.iter().position(|s| *s == c.state).unwrap_or(0);
        if counts.last().is_none_or(|r| r.kind != c.kind) {
            counts.push(CountRow {
                label: kinds::label(&c.kind).to_owned(),
                kind: c.kind.clone(),
                counts: vec![0; JobState::ALL.len()],
            });
        }
        if let Some(last) = counts.last_mut() {
            last.counts[index] = c.count;
        }
    }
    let jobs = state.app.jobs.list(&JobQuery { state: Some(shown), kind: None, limit: LIST_LIMIT }).await?;
    let page = JobsPage {
        base,
        nav: Nav::new(&auth, "auftraege"),
        flash: flash(p.meldung.as_deref()),
        csrf: auth.csrf.clone(),
        states: JobState::ALL.iter().map(|s| s.label()).collect(),
        counts,
        tabs: JobState::ALL
            .iter()
            .map(|s| StateTab { value: s.as_str(), label: s.label(), current: *s == shown })
            .collect(),
        shown_label: shown.label(),
        jobs: jobs.into_iter().map(row).collect(),
    };
    Ok(render(&page))
}

fn job_id(id: &str) -> Result<JobId, AppError> {
    JobId::parse(id).ok_or(AppError::NotFound)
}

/// A job that moved on since the page was shown (it ran, or someone else acted).
fn moved_on(e: StorageError) -> AppError {
    match e {
        StorageError::Conflict { .. } => AppError::bad_request(
            "auftrag",
            "Der Auftrag ist nicht mehr in diesem Zustand. Bitte laden Sie die Seite neu.",
        ),
        other => other.into(),
    }
}

async fn record(
    state: &AppState,
    auth: &Authenticated,
    action: &str,
    job: &JobRecord,
    ip: ClientIp,
) -> Result<(), AppError> {
    let detail =
        format!("{} ({}), Versuch {} von {}", kinds::label(&job.kind), job.kind, job.attempt, job.max_attempts);
    audit(&state.app, &auth.caller(), action, Some(job.id.to_string()), Some(detail), ip.0)
        .await
        .map_err(AppError::from)
}

pub async fn retry(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let job = state.app.jobs.retry(job_id(&id)?).await.map_err(moved_on)?;
    record(&state, &auth, "auftrag_wiederholt", &job, ip).await?;
    Ok(see_other(&base, "/betrieb/auftraege?meldung=auftrag-wiederholt"))
}

pub async fn discard(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let reason = format!("Vom Plattformbetrieb verworfen ({})", auth.user.display_name);
    let job = state.app.jobs.discard(job_id(&id)?, &reason).await.map_err(moved_on)?;
    record(&state, &auth, "auftrag_verworfen", &job, ip).await?;
    Ok(see_other(&base, "/betrieb/auftraege?meldung=auftrag-verworfen"))
}

pub async fn probe(
    State(state): State<AppState>,
    CurrentUser(auth): CurrentUser,
    base: Base,
    Extension(ip): Extension<ClientIp>,
) -> Result<Response, PageError> {
    let job = app::work::probe_job(0, 0, 1);
    let id = job.id;
    state.app.jobs.enqueue(job).await?;
    let job = state.app.jobs.get(id).await?;
    record(&state, &auth, "auftrag_probe", &job, ip).await?;
    Ok(see_other(&base, "/betrieb/auftraege?status=COMPLETED&meldung=auftrag-probe"))
}
