//! Portal sessions (people who are not clerks) on SQLite.

use crate::convert::{from_ms, ms, parsed_at};
use crate::engine::map_err;
use async_trait::async_trait;
use domain::session::{PortalKind, SessionTimes};
use domain::TenantId;
use rusqlite::{params, Connection, OptionalExtension};
use store::{NewPortalSession, PortalSessionRecord, Result};
use time::OffsetDateTime;

pub(crate) fn create(conn: &Connection, tenant: &TenantId, s: &NewPortalSession) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO portal_sessions (token_hash, tenant_id, kind, subject, csrf_token, created_at, last_seen,
                                      idle_timeout_secs, absolute_expiry)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8)",
    )
    .and_then(|mut st| {
        st.execute(params![
            s.token_hash,
            tenant.as_str(),
            s.kind.as_str(),
            s.subject,
            s.csrf_token,
            ms(s.created_at),
            s.idle_timeout_secs,
            ms(s.absolute_expiry)
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

pub(crate) fn find(conn: &Connection, token_hash: &str) -> Result<Option<(PortalSessionRecord, SessionTimes)>> {
    conn.prepare_cached(
        "SELECT tenant_id, kind, subject, csrf_token, last_seen, idle_timeout_secs, absolute_expiry
         FROM portal_sessions WHERE token_hash = ?1",
    )
    .and_then(|mut st| {
        st.query_row([token_hash], |r| {
            let tenant = parsed_at(r, 0, TenantId::parse)?;
            let record = PortalSessionRecord {
                tenant,
                kind: parsed_at(r, 1, PortalKind::parse)?,
                subject: r.get(2)?,
                csrf_token: r.get(3)?,
            };
            let times = SessionTimes {
                last_seen: from_ms(r.get(4)?),
                idle: time::Duration::seconds(r.get(5)?),
                absolute_expiry: from_ms(r.get(6)?),
            };
            Ok((record, times))
        })
        .optional()
    })
    .map_err(map_err)
}

pub(crate) fn touch(conn: &Connection, token_hash: &str, now: OffsetDateTime) -> Result<()> {
    conn.prepare_cached("UPDATE portal_sessions SET last_seen = max(last_seen, ?2) WHERE token_hash = ?1")
        .and_then(|mut s| s.execute(params![token_hash, ms(now)]))
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, token_hash: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM portal_sessions WHERE token_hash = ?1")
        .and_then(|mut s| s.execute([token_hash]))
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn delete_of(conn: &Connection, tenant: &TenantId, subject: &str) -> Result<u64> {
    conn.prepare_cached("DELETE FROM portal_sessions WHERE tenant_id = ?1 AND subject = ?2")
        .and_then(|mut s| s.execute(params![tenant.as_str(), subject]))
        .map(|n| n as u64)
        .map_err(map_err)
}

/// The same expiry as `domain::session::SessionTimes::expires`.
pub(crate) fn delete_expired(conn: &Connection, now: OffsetDateTime) -> Result<u64> {
    conn.prepare_cached(
        "DELETE FROM portal_sessions WHERE absolute_expiry <= ?1 OR last_seen + idle_timeout_secs * 1000 <= ?1",
    )
    .and_then(|mut s| s.execute([ms(now)]))
    .map(|n| n as u64)
    .map_err(map_err)
}

#[async_trait]
impl store::PortalSessionStore for crate::Tenant<'_> {
    async fn create_portal_session(&self, session: NewPortalSession) -> Result<()> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::portal::create(c, &tenant, &session)).await
    }

    async fn delete_portal_sessions_of(&self, subject: &str) -> Result<u64> {
        let (tenant, subject) = (self.tenant.clone(), subject.to_owned());
        self.engine.write(move |c| crate::portal::delete_of(c, &tenant, &subject)).await
    }
}
