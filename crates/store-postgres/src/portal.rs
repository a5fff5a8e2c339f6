//! Portal sessions (people who are not clerks) on PostgreSQL.

use crate::convert::{get, map_err, ms, parsed};
use async_trait::async_trait;
use domain::session::{PortalKind, SessionTimes};
use domain::TenantId;
use sqlx::PgPool;
use store::{NewPortalSession, PortalSessionRecord, Result};
use time::OffsetDateTime;

pub(crate) async fn create(pool: &PgPool, tenant: &TenantId, s: &NewPortalSession) -> Result<()> {
    sqlx::query(
        "INSERT INTO portal_sessions (token_hash, tenant_id, kind, subject, csrf_token, created_at, last_seen,
                                      idle_timeout_secs, absolute_expiry)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)",
    )
    .bind(&s.token_hash)
    .bind(tenant.as_str())
    .bind(s.kind.as_str())
    .bind(&s.subject)
    .bind(&s.csrf_token)
    .bind(ms(s.created_at))
    .bind(s.idle_timeout_secs)
    .bind(ms(s.absolute_expiry))
    .execute(pool)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn find(pool: &PgPool, token_hash: &str) -> Result<Option<(PortalSessionRecord, SessionTimes)>> {
    let Some(r) = sqlx::query(
        "SELECT tenant_id, kind, subject, csrf_token, last_seen, idle_timeout_secs, absolute_expiry
         FROM portal_sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
    .map_err(map_err)?
    else {
        return Ok(None);
    };
    let record = PortalSessionRecord {
        tenant: parsed(&r, 0, TenantId::parse)?,
        kind: parsed(&r, 1, PortalKind::parse)?,
        subject: get(&r, 2)?,
        csrf_token: get(&r, 3)?,
    };
    let idle: i64 = get(&r, 5)?;
    let times =
        SessionTimes { last_seen: get(&r, 4)?, idle: time::Duration::seconds(idle), absolute_expiry: get(&r, 6)? };
    Ok(Some((record, times)))
}

/// Moves `last_seen` forward only (another process may have touched it with a later clock).
pub(crate) async fn touch(pool: &PgPool, token_hash: &str, now: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE portal_sessions SET last_seen = greatest(last_seen, $2) WHERE token_hash = $1")
        .bind(token_hash)
        .bind(ms(now))
        .execute(pool)
        .await
        .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn delete(pool: &PgPool, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM portal_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await
        .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn delete_of(pool: &PgPool, tenant: &TenantId, subject: &str) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM portal_sessions WHERE tenant_id = $1 AND subject = $2")
        .bind(tenant.as_str())
        .bind(subject)
        .execute(pool)
        .await
        .map_err(map_err)?
        .rows_affected())
}

/// The same expiry as `domain::session::SessionTimes::expires`.
pub(crate) async fn delete_expired(pool: &PgPool, now: OffsetDateTime) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM portal_sessions
         WHERE absolute_expiry <= $1 OR last_seen + idle_timeout_secs * interval '1 second' <= $1",
    )
    .bind(now)
    .execute(pool)
    .await
    .map_err(map_err)?
    .rows_affected())
}

#[async_trait]
impl store::PortalSessionStore for crate::Tenant<'_> {
    async fn create_portal_session(&self, session: NewPortalSession) -> Result<()> {
        crate::portal::create(&self.pool, &self.tenant, &session).await
    }

    async fn delete_portal_sessions_of(&self, subject: &str) -> Result<u64> {
        let tenant = &self.tenant;
        crate::portal::delete_of(&self.pool, tenant, subject).await
    }
}
