//! The jobs area on SQLite. The one writer thread is the lock: a claim is one
//! `UPDATE … RETURNING` inside the writer's transaction, so no two callers take one job.

use crate::convert::{from_ms, json_at, ms, parsed_at, to_json, uuid_at};
use crate::engine::map_err;
use async_trait::async_trait;
use domain::jobs::{AfterAttempt, JobState};
use domain::{JobId, TenantId};
use rusqlite::{params, Connection, OptionalExtension, Row};
use store::{JobCount, JobQuery, JobRecord, NewJob, Result, StorageError};
use time::OffsetDateTime;

const COLUMNS: &str = "id, kind, tenant_id, payload, unique_key, state, attempt, max_attempts, scheduled_at, \
                       leased_by, leased_until, last_error, created_at, finished_at";

fn job_row(r: &Row<'_>) -> rusqlite::Result<JobRecord> {
    let tenant: Option<String> = r.get(2)?;
    Ok(JobRecord {
        id: JobId(uuid_at(r, 0)?),
        kind: r.get(1)?,
        tenant: tenant.and_then(|t| TenantId::parse(&t)),
        payload: json_at(r, 3)?,
        unique_key: r.get(4)?,
        state: parsed_at(r, 5, JobState::parse)?,
        attempt: r.get(6)?,
        max_attempts: r.get(7)?,
        scheduled_at: from_ms(r.get(8)?),
        leased_by: r.get(9)?,
        leased_until: r.get::<_, Option<i64>>(10)?.map(from_ms),
        last_error: r.get(11)?,
        created_at: from_ms(r.get(12)?),
        finished_at: r.get::<_, Option<i64>>(13)?.map(from_ms),
    })
}

/// Enqueues `job` on `conn`, inside whatever transaction the caller is in.
pub(crate) fn insert(conn: &Connection, job: &NewJob) -> Result<Option<JobId>> {
    let now = OffsetDateTime::now_utc();
    let payload = to_json(&job.payload)?;
    let n = conn
        .prepare_cached(
            "INSERT INTO jobs (id, kind, tenant_id, payload, unique_key, state, attempt, max_attempts, scheduled_at, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'AVAILABLE', 0, ?6, ?7, ?8)
             ON CONFLICT (unique_key) DO NOTHING",
        )
        .and_then(|mut s| {
            s.execute(params![
                job.id.0.to_string(),
                job.kind,
                job.tenant.as_ref().map(TenantId::as_str),
                payload,
                job.unique_key,
                job.max_attempts.max(1),
                ms(job.run_at.unwrap_or(now)),
                ms(now),
            ])
        })
        .map_err(map_err)?;
    Ok((n == 1).then_some(job.id))
}

pub(crate) fn claim(
    conn: &Connection,
    worker: &str,
    kinds: &[String],
    limit: u32,
    lease: time::Duration,
) -> Result<Vec<JobRecord>> {
    let now = OffsetDateTime::now_utc();
    let kinds = to_json(&kinds)?;
    conn.prepare_cached(&format!(
        "UPDATE jobs SET state = 'RUNNING', attempt = attempt + 1, leased_by = ?1, leased_until = ?2
         WHERE id IN (
             SELECT id FROM (
                 SELECT id, scheduled_at AS due FROM jobs
                 WHERE state IN ('AVAILABLE', 'RETRYABLE') AND scheduled_at <= ?3
                   AND kind IN (SELECT value FROM json_each(?5))
                 UNION ALL
                 SELECT id, leased_until AS due FROM jobs
                 WHERE state = 'RUNNING' AND leased_until < ?3 AND kind IN (SELECT value FROM json_each(?5)))
             ORDER BY due LIMIT ?4)
         RETURNING {COLUMNS}"
    ))
    .and_then(|mut s| s.query_map(params![worker, ms(now + lease), ms(now), limit, kinds], job_row)?.collect())
    .map_err(map_err)
}

pub(crate) fn finish(conn: &Connection, id: JobId, worker: &str, plan: &AfterAttempt) -> Result<()> {
    let now = ms(OffsetDateTime::now_utc());
    let (state, scheduled, error): (&str, Option<i64>, Option<String>) = match plan {
        AfterAttempt::Complete => ("COMPLETED", None, None),
        AfterAttempt::RetryAt { at, error } => ("RETRYABLE", Some(ms(*at)), Some(domain::jobs::bounded_error(error))),
        AfterAttempt::Discard { error } => ("DISCARDED", None, Some(domain::jobs::bounded_error(error))),
    };
    let finished = matches!(plan, AfterAttempt::Complete | AfterAttempt::Discard { .. }).then_some(now);
    let n = conn
        .prepare_cached(
            "UPDATE jobs SET state = ?3, scheduled_at = coalesce(?4, scheduled_at),
                 last_error = coalesce(?5, last_error), finished_at = ?6, leased_until = NULL
             WHERE id = ?1 AND state = 'RUNNING' AND leased_by = ?2",
        )
        .and_then(|mut s| s.execute(params![id.0.to_string(), worker, state, scheduled, error, finished]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(crate) fn get(conn: &Connection, id: JobId) -> Result<JobRecord> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id.0.to_string()], job_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
}

pub(crate) fn list(conn: &Connection, q: &JobQuery) -> Result<Vec<JobRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR kind = ?2)
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    ))
    .and_then(|mut s| s.query_map(params![q.state.map(JobState::as_str), q.kind, q.limit], job_row)?.collect())
    .map_err(map_err)
}

pub(crate) fn count(conn: &Connection) -> Result<Vec<JobCount>> {
    conn.prepare_cached("SELECT kind, state, count(*) FROM jobs GROUP BY kind, state ORDER BY kind, state")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(JobCount { kind: r.get(0)?, state: parsed_at(r, 1, JobState::parse)?, count: r.get(2)? })
            })?
            .collect()
        })
        .map_err(map_err)
}

fn conflict_unless(conn: &Connection, id: JobId, changed: usize) -> Result<JobRecord> {
    let job = get(conn, id)?;
    if changed == 0 {
        return Err(StorageError::Conflict { current_version: 0 });
    }
    Ok(job)
}

pub(crate) fn retry(conn: &Connection, id: JobId) -> Result<JobRecord> {
    let n = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'AVAILABLE', scheduled_at = ?2, finished_at = NULL,
                 max_attempts = max(max_attempts, attempt + 1)
             WHERE id = ?1 AND state IN ('DISCARDED', 'RETRYABLE')",
        )
        .and_then(|mut s| s.execute(params![id.0.to_string(), ms(OffsetDateTime::now_utc())]))
        .map_err(map_err)?;
    conflict_unless(conn, id, n)
}

pub(crate) fn discard(conn: &Connection, id: JobId, reason: &str) -> Result<JobRecord> {
    let n = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'DISCARDED', last_error = ?2, finished_at = ?3
             WHERE id = ?1 AND state IN ('AVAILABLE', 'RETRYABLE')",
        )
        .and_then(|mut s| {
            s.execute(params![id.0.to_string(), domain::jobs::bounded_error(reason), ms(OffsetDateTime::now_utc())])
        })
        .map_err(map_err)?;
    conflict_unless(conn, id, n)
}

pub(crate) fn prune(conn: &Connection, before: OffsetDateTime) -> Result<u64> {
    let n = conn
        .prepare_cached("DELETE FROM jobs WHERE state = 'COMPLETED' AND finished_at < ?1")
        .and_then(|mut s| s.execute([ms(before)]))
        .map_err(map_err)?;
    Ok(n as u64)
}

pub(crate) fn cursor(conn: &Connection, consumer: &str, tenant: &TenantId) -> Result<i64> {
    conn.prepare_cached("SELECT position FROM event_cursors WHERE consumer = ?1 AND tenant_id = ?2")
        .and_then(|mut s| s.query_row(params![consumer, tenant.as_str()], |r| r.get(0)).optional())
        .map_err(map_err)
        .map(|p| p.unwrap_or(0))
}

pub(crate) fn advance_cursor(
    conn: &Connection,
    consumer: &str,
    tenant: &TenantId,
    from: i64,
    to: i64,
    jobs: &[NewJob],
) -> Result<()> {
    let current = cursor(conn, consumer, tenant)?;
    if current != from {
        return Err(StorageError::Conflict { current_version: current });
    }
    conn.prepare_cached(
        "INSERT INTO event_cursors (consumer, tenant_id, position, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (consumer, tenant_id) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at",
    )
    .and_then(|mut s| s.execute(params![consumer, tenant.as_str(), to, ms(OffsetDateTime::now_utc())]))
    .map_err(map_err)?;
    for job in jobs {
        insert(conn, job)?;
    }
    Ok(())
}

#[async_trait]
impl store::JobStore for crate::SqliteStore {
    async fn enqueue_job(&self, job: NewJob) -> Result<Option<domain::JobId>> {
        self.engine.write(move |c| crate::jobs::insert(c, &job)).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        kinds: &[String],
        limit: u32,
        lease: time::Duration,
    ) -> Result<Vec<JobRecord>> {
        let (worker, kinds) = (worker.to_owned(), kinds.to_vec());
        self.engine.write(move |c| crate::jobs::claim(c, &worker, &kinds, limit, lease)).await
    }

    async fn finish_job(&self, id: domain::JobId, worker: &str, plan: domain::jobs::AfterAttempt) -> Result<()> {
        let worker = worker.to_owned();
        self.engine.write(move |c| crate::jobs::finish(c, id, &worker, &plan)).await
    }

    async fn get_job(&self, id: domain::JobId) -> Result<JobRecord> {
        self.engine.read(move |c| crate::jobs::get(c, id)).await
    }

    async fn list_jobs(&self, query: &JobQuery) -> Result<Vec<JobRecord>> {
        let query = query.clone();
        self.engine.read(move |c| crate::jobs::list(c, &query)).await
    }

    async fn count_jobs(&self) -> Result<Vec<JobCount>> {
        self.engine.read(crate::jobs::count).await
    }

    async fn retry_job(&self, id: domain::JobId) -> Result<JobRecord> {
        self.engine.write(move |c| crate::jobs::retry(c, id)).await
    }

    async fn discard_job(&self, id: domain::JobId, reason: &str) -> Result<JobRecord> {
        let reason = reason.to_owned();
        self.engine.write(move |c| crate::jobs::discard(c, id, &reason)).await
    }

    async fn prune_jobs(&self, before: OffsetDateTime) -> Result<u64> {
        self.engine.write(move |c| crate::jobs::prune(c, before)).await
    }
}

#[async_trait]
impl store::EventCursorStore for crate::Tenant<'_> {
    async fn event_cursor(&self, consumer: &str) -> Result<i64> {
        let (consumer, tenant) = (consumer.to_owned(), self.tenant.clone());
        self.engine.read(move |c| crate::jobs::cursor(c, &consumer, &tenant)).await
    }

    async fn advance_event_cursor(&self, consumer: &str, from: i64, to: i64, new_jobs: Vec<NewJob>) -> Result<()> {
        let (consumer, tenant) = (consumer.to_owned(), self.tenant.clone());
        self.engine.write(move |c| crate::jobs::advance_cursor(c, &consumer, &tenant, from, to, &new_jobs)).await
    }
}
