//! API tokens and the audit log.

use crate::convert::{from_ms, ms, opt_uuid_at, parsed_at, uuid_at};
use crate::engine::map_err;
use crate::tenants::tenant_exists;
use async_trait::async_trait;
use domain::access::{scopes_from_text, scopes_to_text};
use domain::{ApiTokenId, TenantId, UserId};
use rusqlite::{params, Connection, OptionalExtension, Row};
use store::{Actor, ApiTokenRecord, AuditQuery, AuditRecord, NewApiToken, NewAuditEntry, Result, StorageError};
use time::OffsetDateTime;

const TOKEN_COLUMNS: &str = "tenant_id, id, name, scopes, created_at, created_by, last_used_at, revoked_at";

fn token_row(r: &Row<'_>) -> rusqlite::Result<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        tenant: parsed_at(r, 0, TenantId::parse)?,
        id: ApiTokenId(uuid_at(r, 1)?),
        name: r.get(2)?,
        scopes: scopes_from_text(&r.get::<_, String>(3)?),
        created_at: from_ms(r.get(4)?),
        created_by: r.get(5)?,
        last_used_at: r.get::<_, Option<i64>>(6)?.map(from_ms),
        revoked_at: r.get::<_, Option<i64>>(7)?.map(from_ms),
    })
}

fn get_token(conn: &Connection, tenant: &TenantId, id: ApiTokenId) -> Result<ApiTokenRecord> {
    conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = ?1 AND id = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), id.0.to_string()], token_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
}

pub(crate) fn create_api_token(conn: &Connection, tenant: &TenantId, t: &NewApiToken) -> Result<ApiTokenRecord> {
    if !tenant_exists(conn, tenant)? {
        return Err(StorageError::NotFound);
    }
    let taken: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM api_tokens WHERE token_hash = ?1)")
        .and_then(|mut s| s.query_row([&t.token_hash], |r| r.get(0)))
        .map_err(map_err)?;
    if taken {
        return Err(StorageError::Duplicate("token_hash"));
    }
    let mut scopes = t.scopes.clone();
    scopes.sort();
    scopes.dedup();
    conn.prepare_cached(
        "INSERT INTO api_tokens (tenant_id, id, name, scopes, token_hash, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            t.id.0.to_string(),
            t.name,
            scopes_to_text(&scopes),
            t.token_hash,
            ms(t.created_at),
            t.created_by
        ])
    })
    .map_err(map_err)?;
    get_token(conn, tenant, t.id)
}

pub(crate) fn list_api_tokens(conn: &Connection, tenant: &TenantId) -> Result<Vec<ApiTokenRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = ?1 ORDER BY created_at DESC, id DESC"
    ))
    .and_then(|mut s| s.query_map([tenant.as_str()], token_row)?.collect())
    .map_err(map_err)
}

pub(crate) fn revoke_api_token(
    conn: &Connection,
    tenant: &TenantId,
    id: ApiTokenId,
    now: OffsetDateTime,
) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?3) WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string(), ms(now)]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(crate) fn find_api_token(conn: &Connection, token_hash: &str) -> Result<Option<ApiTokenRecord>> {
    conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL"))
        .and_then(|mut s| s.query_row([token_hash], token_row).optional())
        .map_err(map_err)
}

/// Records a use; never moves the time back (a slow request finishing after a newer one).
pub(crate) fn touch_api_token(conn: &Connection, token_hash: &str, now: OffsetDateTime) -> Result<()> {
    conn.prepare_cached(
        "UPDATE api_tokens SET last_used_at = ?2 WHERE token_hash = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)",
    )
    .and_then(|mut s| s.execute(params![token_hash, ms(now)]))
    .map_err(map_err)?;
    Ok(())
}

// --- audit log ---

pub(crate) fn append_audit(conn: &Connection, tenant: &TenantId, e: &NewAuditEntry) -> Result<()> {
    let tenant_seq = crate::vorgang::next_tenant_seq(conn, tenant, "audit")?;
    conn.prepare_cached(
        "INSERT INTO audit (tenant_id, at, actor_id, actor_name, action, target, detail, ip, tenant_seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            ms(e.at),
            e.actor.user.map(|u| u.0.to_string()),
            e.actor.name,
            e.action,
            e.target,
            e.detail,
            e.ip,
            tenant_seq
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

const AUDIT_COLUMNS: &str = "tenant_seq, tenant_id, at, actor_id, actor_name, action, target, detail, ip";

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: r.get(0)?,
        entry: NewAuditEntry {
            at: from_ms(r.get(2)?),
            actor: Actor { user: opt_uuid_at(r, 3)?.map(UserId), name: r.get(4)? },
            action: r.get(5)?,
            target: r.get(6)?,
            detail: r.get(7)?,
            ip: r.get(8)?,
        },
    })
}

pub(crate) fn list_audit(conn: &Connection, tenant: &TenantId, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
    let before = q.before.unwrap_or(i64::MAX);
    match &q.action {
        Some(action) => conn
            .prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit INDEXED BY audit_by_action_seq
                 WHERE tenant_id = ?1 AND action = ?2 AND tenant_seq < ?3 ORDER BY tenant_seq DESC LIMIT ?4"
            ))
            .and_then(|mut s| s.query_map(params![tenant.as_str(), action, before, q.limit], audit_row)?.collect()),
        None => conn
            .prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit INDEXED BY audit_by_tenant_seq
                 WHERE tenant_id = ?1 AND tenant_seq < ?2 ORDER BY tenant_seq DESC LIMIT ?3"
            ))
            .and_then(|mut s| s.query_map(params![tenant.as_str(), before, q.limit], audit_row)?.collect()),
    }
    .map_err(map_err)
}

/// The tenant's audit log oldest first, after `after` (export).
pub(crate) fn audit_after(conn: &Connection, tenant: &TenantId, after: i64, limit: u32) -> Result<Vec<AuditRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit INDEXED BY audit_by_tenant_seq
         WHERE tenant_id = ?1 AND tenant_seq > ?2 ORDER BY tenant_seq LIMIT ?3"
    ))
    .and_then(|mut s| s.query_map(params![tenant.as_str(), after, limit], audit_row)?.collect())
    .map_err(map_err)
}

#[async_trait]
impl store::AuditStore for crate::Tenant<'_> {
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::access::append_audit(c, &tenant, &entry)).await
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let (tenant, query) = (self.tenant.clone(), query.clone());
        self.engine.read(move |c| crate::access::list_audit(c, &tenant, &query)).await
    }
}
