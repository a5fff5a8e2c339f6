//! Tenants, Organisationseinheiten, API tokens and the audit log.

use crate::convert::{get, map_err, ms, parsed};
use crate::vorgang::NOW_MS;
use async_trait::async_trait;
use domain::access::{scopes_from_text, scopes_to_text};
use domain::{ApiTokenId, TenantId, TenantKind, UnitId, UserId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};
use store::{
    Actor, ApiTokenRecord, AuditQuery, AuditRecord, NewApiToken, NewAuditEntry, NewTenant, NewUnit, Result,
    StorageError, TenantRecord, TenantSettings, UnitRecord,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// A token's last use is written at most this often, so a busy Fachverfahren does not cost a
/// write per request.
const TOKEN_TOUCH_INTERVAL: time::Duration = time::Duration::seconds(60);

pub(crate) const TENANT_COLUMNS: &str = "id, name, kind, host, ip_allowlist, created_at";

pub(crate) fn tenant_row(r: &PgRow) -> Result<TenantRecord> {
    Ok(TenantRecord {
        id: parsed(r, 0, TenantId::parse)?,
        name: get(r, 1)?,
        kind: parsed(r, 2, TenantKind::parse)?,
        host: get(r, 3)?,
        ip_allowlist: get(r, 4)?,
        created_at: get(r, 5)?,
    })
}

async fn insert_tenant(pool: &PgPool, t: &NewTenant) -> Result<Option<TenantRecord>> {
    // Only the id is an arbiter: a taken host is an error (Duplicate("host")), not a no-op.
    sqlx::query(&format!(
        "INSERT INTO tenants (id, name, kind, host, created_at) VALUES ($1, $2, $3, $4, {NOW_MS})
         ON CONFLICT (id) DO NOTHING RETURNING {TENANT_COLUMNS}"
    ))
    .bind(t.id.as_str())
    .bind(&t.name)
    .bind(t.kind.as_str())
    .bind(t.host.as_deref())
    .fetch_optional(pool)
    .await
    .map_err(map_err)?
    .map(|r| tenant_row(&r))
    .transpose()
}

pub(crate) async fn ensure_tenant(pool: &PgPool, t: &NewTenant) -> Result<TenantRecord> {
    match insert_tenant(pool, t).await? {
        Some(created) => Ok(created),
        None => get_tenant(pool, &t.id).await,
    }
}

pub(crate) async fn create_tenant(pool: &PgPool, t: &NewTenant) -> Result<TenantRecord> {
    insert_tenant(pool, t).await?.ok_or(StorageError::Duplicate("tenant"))
}

pub(crate) async fn get_tenant(pool: &PgPool, tenant: &TenantId) -> Result<TenantRecord> {
    let row = sqlx::query(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"))
        .bind(tenant.as_str())
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    tenant_row(&row)
}

pub(crate) async fn list_tenants(pool: &PgPool) -> Result<Vec<TenantRecord>> {
    sqlx::query(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name COLLATE \"C\", id"))
        .fetch_all(pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(tenant_row)
        .collect()
}

pub(crate) async fn find_tenant_by_host(pool: &PgPool, host: &str) -> Result<Option<TenantRecord>> {
    sqlx::query(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE host = $1"))
        .bind(host)
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .map(|r| tenant_row(&r))
        .transpose()
}

pub(crate) async fn update_tenant(pool: &PgPool, tenant: &TenantId, s: &TenantSettings) -> Result<TenantRecord> {
    let row = sqlx::query(&format!(
        "UPDATE tenants SET name = $2, host = $3, ip_allowlist = $4 WHERE id = $1 RETURNING {TENANT_COLUMNS}"
    ))
    .bind(tenant.as_str())
    .bind(&s.name)
    .bind(s.host.as_deref())
    .bind(&s.ip_allowlist)
    .fetch_optional(pool)
    .await
    .map_err(map_err)?
    .ok_or(StorageError::NotFound)?;
    tenant_row(&row)
}

// --- Organisationseinheiten ---

pub(crate) const UNIT_COLUMNS: &str = "tenant_id, id, name, kennung";

pub(crate) fn unit_row(r: &PgRow) -> Result<UnitRecord> {
    Ok(UnitRecord {
        tenant: parsed(r, 0, TenantId::parse)?,
        id: UnitId(get(r, 1)?),
        name: get(r, 2)?,
        kennung: get(r, 3)?,
    })
}

pub(crate) async fn insert_unit(conn: &mut PgConnection, tenant: &TenantId, u: &NewUnit) -> Result<UnitRecord> {
    let row = sqlx::query(&format!(
        "INSERT INTO units (tenant_id, id, name, kennung) VALUES ($1, $2, $3, $4) RETURNING {UNIT_COLUMNS}"
    ))
    .bind(tenant.as_str())
    .bind(u.id.0)
    .bind(&u.name)
    .bind(&u.kennung)
    .fetch_one(conn)
    .await
    .map_err(map_err)?;
    unit_row(&row)
}

pub(crate) async fn create_unit(pool: &PgPool, tenant: &TenantId, u: &NewUnit) -> Result<UnitRecord> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    insert_unit(&mut conn, tenant, u).await
}

pub(crate) async fn update_unit(
    pool: &PgPool,
    tenant: &TenantId,
    id: UnitId,
    name: &str,
    kennung: &str,
) -> Result<UnitRecord> {
    let row = sqlx::query(&format!(
        "UPDATE units SET name = $3, kennung = $4 WHERE tenant_id = $1 AND id = $2 RETURNING {UNIT_COLUMNS}"
    ))
    .bind(tenant.as_str())
    .bind(id.0)
    .bind(name)
    .bind(kennung)
    .fetch_optional(pool)
    .await
    .map_err(map_err)?
    .ok_or(StorageError::NotFound)?;
    unit_row(&row)
}

pub(crate) async fn list_units(pool: &PgPool, tenant: &TenantId) -> Result<Vec<UnitRecord>> {
    sqlx::query(&format!(
        "SELECT {UNIT_COLUMNS} FROM units WHERE tenant_id = $1 ORDER BY name COLLATE \"C\", kennung COLLATE \"C\""
    ))
    .bind(tenant.as_str())
    .fetch_all(pool)
    .await
    .map_err(map_err)?
    .iter()
    .map(unit_row)
    .collect()
}

pub(crate) async fn route_kennung(pool: &PgPool, kennung: &str) -> Result<Option<UnitRecord>> {
    sqlx::query(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE kennung = $1"))
        .bind(kennung)
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .map(|r| unit_row(&r))
        .transpose()
}

/// The name of a unit of the tenant, `None` if the tenant has no such unit.
pub(crate) async fn unit_name(conn: &mut PgConnection, tenant: &TenantId, unit: Uuid) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT name FROM units WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(unit)
        .fetch_optional(conn)
        .await
        .map_err(map_err)
}

// --- API tokens ---

const TOKEN_COLUMNS: &str = "tenant_id, id, name, scopes, created_at, created_by, last_used_at, revoked_at";

fn token_row(r: &PgRow) -> Result<ApiTokenRecord> {
    Ok(ApiTokenRecord {
        tenant: parsed(r, 0, TenantId::parse)?,
        id: ApiTokenId(get(r, 1)?),
        name: get(r, 2)?,
        scopes: scopes_from_text(get(r, 3)?),
        created_at: get(r, 4)?,
        created_by: get(r, 5)?,
        last_used_at: get(r, 6)?,
        revoked_at: get(r, 7)?,
    })
}

pub(crate) async fn create_api_token(pool: &PgPool, tenant: &TenantId, t: &NewApiToken) -> Result<ApiTokenRecord> {
    let row = sqlx::query(&format!(
        "INSERT INTO api_tokens (tenant_id, id, name, scopes, token_hash, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(tenant.as_str())
    .bind(t.id.0)
    .bind(&t.name)
    .bind(scopes_to_text(&t.scopes))
    .bind(&t.token_hash)
    .bind(ms(t.created_at))
    .bind(&t.created_by)
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    token_row(&row)
}

pub(crate) async fn list_api_tokens(pool: &PgPool, tenant: &TenantId) -> Result<Vec<ApiTokenRecord>> {
    sqlx::query(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(tenant.as_str())
    .fetch_all(pool)
    .await
    .map_err(map_err)?
    .iter()
    .map(token_row)
    .collect()
}

/// The first revocation's time stays: revoking again changes nothing.
pub(crate) async fn revoke_api_token(
    pool: &PgPool,
    tenant: &TenantId,
    id: ApiTokenId,
    now: OffsetDateTime,
) -> Result<()> {
    let done =
        sqlx::query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $3) WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id.0)
            .bind(ms(now))
            .execute(pool)
            .await
            .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// Reads first and writes only a stale last use: most requests of a token cost one read.
/// The write moves `last_used_at` forward only, whichever process is slower.
pub(crate) async fn find_api_token(pool: &PgPool, hash: &str, now: OffsetDateTime) -> Result<Option<ApiTokenRecord>> {
    let now = ms(now);
    let Some(row) =
        sqlx::query(&format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"))
            .bind(hash)
            .fetch_optional(pool)
            .await
            .map_err(map_err)?
    else {
        return Ok(None);
    };
    let mut token = token_row(&row)?;
    if token.last_used_at.is_none_or(|last| now - last >= TOKEN_TOUCH_INTERVAL) {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $3
             WHERE tenant_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(token.tenant.as_str())
        .bind(token.id.0)
        .bind(now)
        .execute(pool)
        .await
        .map_err(map_err)?;
        token.last_used_at = Some(now);
    }
    Ok(Some(token))
}

// --- audit log ---

const AUDIT_COLUMNS: &str = "tenant_seq, tenant_id, at, actor_id, actor_name, action, target, detail, ip";

pub(crate) fn audit_row(r: &PgRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: get(r, 0)?,
        entry: NewAuditEntry {
            at: get(r, 2)?,
            actor: Actor { user: get::<Option<Uuid>>(r, 3)?.map(UserId), name: get(r, 4)? },
            action: get(r, 5)?,
            target: get(r, 6)?,
            detail: get(r, 7)?,
            ip: get(r, 8)?,
        },
    })
}

/// On the pool, or inside a transaction (the tombstone of a final deletion).
pub(crate) async fn append_audit<'c>(
    exec: impl sqlx::PgExecutor<'c>,
    tenant: &TenantId,
    e: &NewAuditEntry,
) -> Result<()> {
    // The tenant's counter row stays locked until commit: numbers follow commit order.
    sqlx::query(&format!(
        "{}
         INSERT INTO audit (tenant_id, at, actor_id, actor_name, action, target, detail, ip, tenant_seq)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, s.value FROM s",
        crate::convert::take_tenant_numbers("audit", "1")
    ))
    .bind(tenant.as_str())
    .bind(ms(e.at))
    .bind(e.actor.user.map(|u| u.0))
    .bind(&e.actor.name)
    .bind(&e.action)
    .bind(e.target.as_deref())
    .bind(e.detail.as_deref())
    .bind(e.ip.as_deref())
    .execute(exec)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Two statements rather than `$3 IS NULL OR action = $3`, so each keeps its index range scan.
pub(crate) async fn list_audit(pool: &PgPool, tenant: &TenantId, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
    let before = q.before.unwrap_or(i64::MAX);
    let limit = i64::from(q.limit);
    let rows = match &q.action {
        Some(action) => {
            sqlx::query(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit WHERE tenant_id = $1 AND action = $2 AND tenant_seq < $3
             ORDER BY tenant_seq DESC LIMIT $4"
            ))
            .bind(tenant.as_str())
            .bind(action)
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
        None => {
            sqlx::query(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit WHERE tenant_id = $1 AND tenant_seq < $2 ORDER BY tenant_seq DESC LIMIT $3"
            ))
            .bind(tenant.as_str())
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await
        }
    };
    rows.map_err(map_err)?.iter().map(audit_row).collect()
}

/// The tenant's audit log, oldest first, after `after` (export).
pub(crate) async fn audit_after(pool: &PgPool, tenant: &TenantId, after: i64, limit: u32) -> Result<Vec<AuditRecord>> {
    sqlx::query(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit WHERE tenant_id = $1 AND tenant_seq > $2 ORDER BY tenant_seq LIMIT $3"
    ))
    .bind(tenant.as_str())
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(map_err)?
    .iter()
    .map(audit_row)
    .collect()
}

#[async_trait]
impl store::TenantStore for crate::Tenant<'_> {
    async fn get_tenant(&self) -> Result<TenantRecord> {
        let tenant = &self.tenant;
        crate::tenants::get_tenant(&self.pool, tenant).await
    }

    async fn update_tenant(&self, settings: TenantSettings) -> Result<TenantRecord> {
        let tenant = &self.tenant;
        crate::tenants::update_tenant(&self.pool, tenant, &settings).await
    }

    async fn create_unit(&self, unit: NewUnit) -> Result<UnitRecord> {
        let tenant = &self.tenant;
        crate::tenants::create_unit(&self.pool, tenant, &unit).await
    }

    async fn update_unit(&self, id: UnitId, name: &str, kennung: &str) -> Result<UnitRecord> {
        let tenant = &self.tenant;
        crate::tenants::update_unit(&self.pool, tenant, id, name, kennung).await
    }

    async fn list_units(&self) -> Result<Vec<UnitRecord>> {
        let tenant = &self.tenant;
        crate::tenants::list_units(&self.pool, tenant).await
    }
}

#[async_trait]
impl store::AuditStore for crate::Tenant<'_> {
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<()> {
        crate::tenants::append_audit(&self.pool, &self.tenant, &entry).await
    }

    async fn list_audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        crate::tenants::list_audit(&self.pool, &self.tenant, query).await
    }
}
