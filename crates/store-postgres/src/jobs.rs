//! The jobs area on PostgreSQL, for several processes on one database: a claim takes due
//! rows with `FOR UPDATE SKIP LOCKED` (two workers never wait for or take the same job), a
//! finish only succeeds for the worker that still holds the lease, and times come from the
//! database clock.

use crate::convert::{finish as end_tx, get, json, map_err, ms, parsed};
use async_trait::async_trait;
use domain::jobs::{AfterAttempt, JobState};
use domain::{JobId, TenantId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};
use store::{JobCount, JobQuery, JobRecord, NewJob, Result, StorageError};
use time::OffsetDateTime;

const COLUMNS: &str = "id, kind, tenant_id, payload::text, unique_key, state, attempt, max_attempts, scheduled_at, \
                       leased_by, leased_until, last_error, created_at, finished_at";

fn job_row(r: &PgRow) -> Result<JobRecord> {
    let tenant: Option<String> = get(r, 2)?;
    let attempt: i32 = get(r, 6)?;
    let max_attempts: i32 = get(r, 7)?;
    Ok(JobRecord {
        id: JobId(get(r, 0)?),
        kind: get(r, 1)?,
        tenant: tenant.and_then(|t| TenantId::parse(&t)),
        payload: json(r, 3)?,
        unique_key: get(r, 4)?,
        state: parsed(r, 5, JobState::parse)?,
        attempt: u32::try_from(attempt).unwrap_or(0),
        max_attempts: u32::try_from(max_attempts).unwrap_or(1),
        scheduled_at: get(r, 8)?,
        leased_by: get(r, 9)?,
        leased_until: get(r, 10)?,
        last_error: get(r, 11)?,
        created_at: get(r, 12)?,
        finished_at: get(r, 13)?,
    })
}

fn attempts(n: u32) -> i32 {
    i32::try_from(n.max(1)).unwrap_or(i32::MAX)
}

/// Enqueues `job` on `conn`, inside whatever transaction the caller is in.
pub(crate) async fn insert(conn: &mut PgConnection, job: &NewJob) -> Result<Option<JobId>> {
    let payload = crate::convert::to_json(&job.payload)?;
    let n = sqlx::query(
        "INSERT INTO jobs (id, kind, tenant_id, payload, unique_key, state, attempt, max_attempts, scheduled_at)
         VALUES ($1, $2, $3, $4::jsonb, $5, 'AVAILABLE', 0, $6, coalesce($7, now()))
         ON CONFLICT (unique_key) DO NOTHING",
    )
    .bind(job.id.0)
    .bind(&job.kind)
    .bind(job.tenant.as_ref().map(TenantId::as_str))
    .bind(payload)
    .bind(&job.unique_key)
    .bind(attempts(job.max_attempts))
    .bind(job.run_at.map(ms))
    .execute(conn)
    .await
    .map_err(map_err)?
    .rows_affected();
    Ok((n == 1).then_some(job.id))
}

pub(crate) async fn enqueue(pool: &PgPool, job: &NewJob) -> Result<Option<JobId>> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    insert(&mut conn, job).await
}

pub(crate) async fn claim(
    pool: &PgPool,
    worker: &str,
    kinds: &[String],
    limit: u32,
    lease: time::Duration,
) -> Result<Vec<JobRecord>> {
    let rows = sqlx::query(&format!(
        "WITH taken AS (
             SELECT id FROM jobs
             WHERE ((state IN ('AVAILABLE', 'RETRYABLE') AND scheduled_at <= now())
                    OR (state = 'RUNNING' AND leased_until < now()))
               AND kind = ANY($4)
             ORDER BY scheduled_at LIMIT $3
             FOR UPDATE SKIP LOCKED)
         UPDATE jobs SET state = 'RUNNING', attempt = attempt + 1, leased_by = $1,
             leased_until = now() + $2 * interval '1 millisecond'
         FROM taken WHERE jobs.id = taken.id
         RETURNING {}",
        COLUMNS.split(", ").map(|c| format!("jobs.{c}")).collect::<Vec<_>>().join(", ")
    ))
    .bind(worker)
    .bind(lease.whole_milliseconds() as f64)
    .bind(i64::from(limit))
    .bind(kinds)
    .fetch_all(pool)
    .await
    .map_err(map_err)?;
    rows.iter().map(job_row).collect()
}

pub(crate) async fn finish(pool: &PgPool, id: JobId, worker: &str, plan: &AfterAttempt) -> Result<()> {
    let (state, scheduled, error): (&str, Option<OffsetDateTime>, Option<String>) = match plan {
        AfterAttempt::Complete => ("COMPLETED", None, None),
        AfterAttempt::RetryAt { at, error } => ("RETRYABLE", Some(ms(*at)), Some(domain::jobs::bounded_error(error))),
        AfterAttempt::Discard { error } => ("DISCARDED", None, Some(domain::jobs::bounded_error(error))),
    };
    let finished = matches!(plan, AfterAttempt::Complete | AfterAttempt::Discard { .. });
    let n = sqlx::query(
        "UPDATE jobs SET state = $3, scheduled_at = coalesce($4, scheduled_at),
             last_error = coalesce($5, last_error), finished_at = CASE WHEN $6 THEN now() END,
             leased_until = NULL
         WHERE id = $1 AND state = 'RUNNING' AND leased_by = $2",
    )
    .bind(id.0)
    .bind(worker)
    .bind(state)
    .bind(scheduled)
    .bind(error)
    .bind(finished)
    .execute(pool)
    .await
    .map_err(map_err)?
    .rows_affected();
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(crate) async fn get_job(pool: &PgPool, id: JobId) -> Result<JobRecord> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    job_row(&row)
}

pub(crate) async fn list(pool: &PgPool, q: &JobQuery) -> Result<Vec<JobRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)
         ORDER BY created_at DESC, id DESC LIMIT $3"
    ))
    .bind(q.state.map(JobState::as_str))
    .bind(&q.kind)
    .bind(i64::from(q.limit))
    .fetch_all(pool)
    .await
    .map_err(map_err)?;
    rows.iter().map(job_row).collect()
}

pub(crate) async fn count(pool: &PgPool) -> Result<Vec<JobCount>> {
    let rows = sqlx::query("SELECT kind, state, count(*) FROM jobs GROUP BY kind, state ORDER BY kind, state")
        .fetch_all(pool)
        .await
        .map_err(map_err)?;
    rows.iter()
        .map(|r| {
            let n: i64 = get(r, 2)?;
            Ok(JobCount { kind: get(r, 0)?, state: parsed(r, 1, JobState::parse)?, count: crate::convert::to_u64(n) })
        })
        .collect()
}

async fn changed_or_conflict(pool: &PgPool, id: JobId, changed: u64) -> Result<JobRecord> {
    let job = get_job(pool, id).await?;
    if changed == 0 {
        return Err(StorageError::Conflict { current_version: 0 });
    }
    Ok(job)
}

pub(crate) async fn retry(pool: &PgPool, id: JobId) -> Result<JobRecord> {
    let n = sqlx::query(
        "UPDATE jobs SET state = 'AVAILABLE', scheduled_at = now(), finished_at = NULL,
             max_attempts = greatest(max_attempts, attempt + 1)
         WHERE id = $1 AND state IN ('DISCARDED', 'RETRYABLE')",
    )
    .bind(id.0)
    .execute(pool)
    .await
    .map_err(map_err)?
    .rows_affected();
    changed_or_conflict(pool, id, n).await
}

pub(crate) async fn discard(pool: &PgPool, id: JobId, reason: &str) -> Result<JobRecord> {
    let n = sqlx::query(
        "UPDATE jobs SET state = 'DISCARDED', last_error = $2, finished_at = now()
         WHERE id = $1 AND state IN ('AVAILABLE', 'RETRYABLE')",
    )
    .bind(id.0)
    .bind(domain::jobs::bounded_error(reason))
    .execute(pool)
    .await
    .map_err(map_err)?
    .rows_affected();
    changed_or_conflict(pool, id, n).await
}

pub(crate) async fn prune(pool: &PgPool, before: OffsetDateTime) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM jobs WHERE state = 'COMPLETED' AND finished_at < $1")
        .bind(ms(before))
        .execute(pool)
        .await
        .map_err(map_err)?
        .rows_affected())
}

pub(crate) async fn cursor(pool: &PgPool, consumer: &str, tenant: &TenantId) -> Result<i64> {
    let p: Option<i64> =
        sqlx::query_scalar("SELECT position FROM event_cursors WHERE consumer = $1 AND tenant_id = $2")
            .bind(consumer)
            .bind(tenant.as_str())
            .fetch_optional(pool)
            .await
            .map_err(map_err)?;
    Ok(p.unwrap_or(0))
}

/// Compare-and-set under the cursor row's lock (a missing row is created at `from` first, so
/// two first advances also take turns).
pub(crate) async fn advance_cursor(
    pool: &PgPool,
    consumer: &str,
    tenant: &TenantId,
    from: i64,
    to: i64,
    jobs: &[NewJob],
) -> Result<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let result = async {
        sqlx::query(
            "INSERT INTO event_cursors (consumer, tenant_id, position) VALUES ($1, $2, 0)
             ON CONFLICT (consumer, tenant_id) DO NOTHING",
        )
        .bind(consumer)
        .bind(tenant.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let current: i64 =
            sqlx::query_scalar("SELECT position FROM event_cursors WHERE consumer = $1 AND tenant_id = $2 FOR UPDATE")
                .bind(consumer)
                .bind(tenant.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
        if current != from {
            return Err(StorageError::Conflict { current_version: current });
        }
        sqlx::query(
            "UPDATE event_cursors SET position = $3, updated_at = now() WHERE consumer = $1 AND tenant_id = $2",
        )
        .bind(consumer)
        .bind(tenant.as_str())
        .bind(to)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        for job in jobs {
            insert(&mut tx, job).await?;
        }
        Ok(())
    }
    .await;
    end_tx(tx, result).await
}

#[async_trait]
impl store::JobStore for crate::PostgresStore {
    async fn enqueue_job(&self, job: NewJob) -> Result<Option<domain::JobId>> {
        crate::jobs::enqueue(&self.pool, &job).await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        kinds: &[String],
        limit: u32,
        lease: time::Duration,
    ) -> Result<Vec<JobRecord>> {
        crate::jobs::claim(&self.pool, worker, kinds, limit, lease).await
    }

    async fn finish_job(&self, id: domain::JobId, worker: &str, plan: domain::jobs::AfterAttempt) -> Result<()> {
        crate::jobs::finish(&self.pool, id, worker, &plan).await
    }

    async fn get_job(&self, id: domain::JobId) -> Result<JobRecord> {
        crate::jobs::get_job(&self.pool, id).await
    }

    async fn list_jobs(&self, query: &JobQuery) -> Result<Vec<JobRecord>> {
        crate::jobs::list(&self.pool, query).await
    }

    async fn count_jobs(&self) -> Result<Vec<JobCount>> {
        crate::jobs::count(&self.pool).await
    }

    async fn retry_job(&self, id: domain::JobId) -> Result<JobRecord> {
        crate::jobs::retry(&self.pool, id).await
    }

    async fn discard_job(&self, id: domain::JobId, reason: &str) -> Result<JobRecord> {
        crate::jobs::discard(&self.pool, id, reason).await
    }

    async fn prune_jobs(&self, before: OffsetDateTime) -> Result<u64> {
        crate::jobs::prune(&self.pool, before).await
    }
}

#[async_trait]
impl store::EventCursorStore for crate::Tenant<'_> {
    async fn event_cursor(&self, consumer: &str) -> Result<i64> {
        crate::jobs::cursor(&self.pool, consumer, &self.tenant).await
    }

    async fn advance_event_cursor(&self, consumer: &str, from: i64, to: i64, new_jobs: Vec<NewJob>) -> Result<()> {
        crate::jobs::advance_cursor(&self.pool, consumer, &self.tenant, from, to, &new_jobs).await
    }
}
