use crate::convert::{get, map_err, ms, parsed, to_u64};
use domain::{Role, TenantId, UserId};
use sqlx::postgres::PgRow;
use sqlx::PgPool;
use store::{NewSession, NewUser, Result, SessionRecord, StorageError, UserRecord};
use time::OffsetDateTime;

pub(crate) const USER_COLUMNS: &str = "tenant_id, id, username, display_name, email, role, password_hash, disabled";

/// A [`UserRecord`] from [`USER_COLUMNS`] at `offset`.
pub(crate) fn user_at(r: &PgRow, offset: usize) -> Result<UserRecord> {
    Ok(UserRecord {
        tenant: parsed(r, offset, TenantId::parse)?,
        id: UserId(get(r, offset + 1)?),
        username: get(r, offset + 2)?,
        display_name: get(r, offset + 3)?,
        email: get(r, offset + 4)?,
        role: parsed(r, offset + 5, Role::parse)?,
        password_hash: get(r, offset + 6)?,
        disabled: get(r, offset + 7)?,
    })
}

pub(crate) async fn ensure_tenant(pool: &PgPool, tenant: &TenantId, name: &str) -> Result<()> {
    sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, now()) ON CONFLICT (id) DO NOTHING")
        .bind(tenant.as_str())
        .bind(name)
        .execute(pool)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// A taken username is [`StorageError::Duplicate`], also when a concurrent insert of the same
/// name commits first (the insert waits for it, then inserts nothing).
pub(crate) async fn create_user(pool: &PgPool, u: &NewUser) -> Result<UserRecord> {
    let row = sqlx::query(&format!(
        "INSERT INTO users (tenant_id, id, username, display_name, email, role, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now())
         ON CONFLICT (tenant_id, username) DO NOTHING
         RETURNING {USER_COLUMNS}"
    ))
    .bind(u.tenant.as_str())
    .bind(u.id.0)
    .bind(&u.username)
    .bind(&u.display_name)
    .bind(u.email.as_deref())
    .bind(u.role.as_str())
    .bind(&u.password_hash)
    .fetch_optional(pool)
    .await
    .map_err(map_err)?
    .ok_or(StorageError::Duplicate("username"))?;
    user_at(&row, 0)
}

pub(crate) async fn find_user_by_username(
    pool: &PgPool,
    tenant: &TenantId,
    username: &str,
) -> Result<Option<UserRecord>> {
    sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username = $2"))
        .bind(tenant.as_str())
        .bind(username)
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .map(|r| user_at(&r, 0))
        .transpose()
}

pub(crate) async fn get_user(pool: &PgPool, tenant: &TenantId, id: UserId) -> Result<UserRecord> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant.as_str())
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    user_at(&row, 0)
}

pub(crate) async fn list_users(pool: &PgPool, tenant: &TenantId) -> Result<Vec<UserRecord>> {
    sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1
         ORDER BY display_name COLLATE \"C\", username COLLATE \"C\""
    ))
    .bind(tenant.as_str())
    .fetch_all(pool)
    .await
    .map_err(map_err)?
    .iter()
    .map(|r| user_at(r, 0))
    .collect()
}

pub(crate) async fn count_users(pool: &PgPool, tenant: &TenantId) -> Result<u64> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_one(pool)
        .await
        .map_err(map_err)?;
    Ok(to_u64(n))
}

pub(crate) async fn set_password(pool: &PgPool, tenant: &TenantId, id: UserId, hash: &str) -> Result<()> {
    let done = sqlx::query("UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.0)
        .bind(hash)
        .execute(pool)
        .await
        .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(crate) async fn create_session(pool: &PgPool, s: &NewSession) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, tenant_id, user_id, csrf_token, created_at, last_seen, idle_timeout_secs,
                               absolute_expiry)
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
    )
    .bind(&s.token_hash)
    .bind(s.tenant.as_str())
    .bind(s.user.0)
    .bind(&s.csrf_token)
    .bind(ms(s.created_at))
    .bind(s.idle_timeout_secs)
    .bind(ms(s.absolute_expiry))
    .execute(pool)
    .await
    .map_err(map_err)?;
    Ok(())
}

pub(crate) struct SessionLookup {
    pub record: SessionRecord,
    pub last_seen: OffsetDateTime,
    pub expires: OffsetDateTime,
}

pub(crate) async fn find_session(pool: &PgPool, token_hash: &str) -> Result<Option<SessionLookup>> {
    let Some(r) = sqlx::query(
        "SELECT s.csrf_token, s.last_seen, s.idle_timeout_secs, s.absolute_expiry,
                u.tenant_id, u.id, u.username, u.display_name, u.email, u.role, u.password_hash, u.disabled
         FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
         WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
    .map_err(map_err)?
    else {
        return Ok(None);
    };
    let last_seen: OffsetDateTime = get(&r, 1)?;
    let idle: i64 = get(&r, 2)?;
    let absolute: OffsetDateTime = get(&r, 3)?;
    let user = user_at(&r, 4)?;
    let expires =
        last_seen.checked_add(time::Duration::seconds(idle)).map_or(absolute, |idle_end| idle_end.min(absolute));
    Ok(Some(SessionLookup {
        record: SessionRecord { tenant: user.tenant.clone(), csrf_token: get(&r, 0)?, user },
        last_seen,
        expires,
    }))
}

/// Moves `last_seen` forward only: a slower process with an older `now` cannot shorten the
/// session another process just touched.
pub(crate) async fn touch_session(pool: &PgPool, token_hash: &str, now: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen = $2 WHERE token_hash = $1 AND last_seen < $2")
        .bind(token_hash)
        .bind(ms(now))
        .execute(pool)
        .await
        .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn delete_session(pool: &PgPool, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await.map_err(map_err)?;
    Ok(())
}
