use crate::convert::{finish, get, map_err, ms, to_u64};
use crate::transfer::missing;
use async_trait::async_trait;
use domain::user::{roles_from_text, roles_to_text, LOCK_DURATION, MAX_FAILED_LOGINS};
use domain::ApiTokenId;
use domain::{TenantId, UnitId, UserId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};
use store::ApiTokenRecord;
use store::NewApiToken;
use store::{NewSession, NewUser, Result, SessionRecord, StorageError, UserRecord, UserUpdate};
use time::OffsetDateTime;
use uuid::Uuid;

/// The user's columns from `users u`, units as a sorted array (one round trip per read).
pub(crate) const USER_COLUMNS: &str = "u.tenant_id, u.id, u.username, u.display_name, u.email, u.roles,
    u.password_hash, u.disabled, u.oidc_subject, u.failed_logins, u.locked_until,
    ARRAY(SELECT uu.unit_id FROM user_units uu WHERE uu.tenant_id = u.tenant_id AND uu.user_id = u.id
          ORDER BY uu.unit_id), u.password_change_required";

/// A [`UserRecord`] from [`USER_COLUMNS`] at `offset`.
pub(crate) fn user_at(r: &PgRow, offset: usize) -> Result<UserRecord> {
    let units: Vec<Uuid> = get(r, offset + 11)?;
    Ok(UserRecord {
        tenant: crate::convert::parsed(r, offset, TenantId::parse)?,
        id: UserId(get(r, offset + 1)?),
        username: get(r, offset + 2)?,
        display_name: get(r, offset + 3)?,
        email: get(r, offset + 4)?,
        roles: roles_from_text(get(r, offset + 5)?),
        password_hash: get(r, offset + 6)?,
        disabled: get(r, offset + 7)?,
        oidc_subject: get(r, offset + 8)?,
        failed_logins: u32::try_from(get::<i32>(r, offset + 9)?).unwrap_or(0),
        locked_until: get(r, offset + 10)?,
        units: units.into_iter().map(UnitId).collect(),
        password_change_required: get(r, offset + 12)?,
    })
}

/// Replaces the user's units; [`StorageError::InvalidReference`]`("unit")` for a unit the
/// tenant does not have.
pub(crate) async fn set_units(
    conn: &mut PgConnection,
    tenant: &TenantId,
    user: UserId,
    units: &[UnitId],
) -> Result<()> {
    let mut ids: Vec<Uuid> = units.iter().map(|u| u.0).collect();
    ids.sort_unstable();
    ids.dedup();
    if missing(conn, tenant, "units", ids.clone()).await? > 0 {
        return Err(StorageError::InvalidReference("unit"));
    }
    sqlx::query("DELETE FROM user_units WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.as_str())
        .bind(user.0)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    if !ids.is_empty() {
        sqlx::query(
            "INSERT INTO user_units (tenant_id, user_id, unit_id) SELECT $1, $2, x FROM unnest($3::uuid[]) AS x",
        )
        .bind(tenant.as_str())
        .bind(user.0)
        .bind(ids)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

async fn user_in(conn: &mut PgConnection, tenant: &TenantId, id: UserId) -> Result<UserRecord> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.id = $2"))
        .bind(tenant.as_str())
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    user_at(&row, 0)
}

/// A taken username is [`StorageError::Duplicate`], also when a concurrent insert of the same
/// name commits first (the insert waits for it, then inserts nothing).
pub(crate) async fn create_user(pool: &PgPool, tenant: &TenantId, u: &NewUser) -> Result<UserRecord> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let inserted = sqlx::query(
        "INSERT INTO users (tenant_id, id, username, display_name, email, roles, password_hash, oidc_subject,
                            created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
         ON CONFLICT (tenant_id, username) DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(u.id.0)
    .bind(&u.username)
    .bind(&u.display_name)
    .bind(u.email.as_deref())
    .bind(roles_to_text(&domain::user::normalize_roles(u.roles.clone())))
    .bind(&u.password_hash)
    .bind(u.oidc_subject.as_deref())
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if inserted.rows_affected() == 0 {
        return Err(StorageError::Duplicate("username"));
    }
    let user = async {
        set_units(&mut tx, tenant, u.id, &u.units).await?;
        user_in(&mut tx, tenant, u.id).await
    }
    .await;
    finish(tx, user).await
}

pub(crate) async fn find_user_by_username(
    pool: &PgPool,
    tenant: &TenantId,
    username: &str,
) -> Result<Option<UserRecord>> {
    sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.username = $2"))
        .bind(tenant.as_str())
        .bind(username)
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .map(|r| user_at(&r, 0))
        .transpose()
}

pub(crate) async fn find_user_by_oidc_subject(
    pool: &PgPool,
    tenant: &TenantId,
    subject: &str,
) -> Result<Option<UserRecord>> {
    sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1 AND u.oidc_subject = $2"))
        .bind(tenant.as_str())
        .bind(subject)
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .map(|r| user_at(&r, 0))
        .transpose()
}

pub(crate) async fn get_user(pool: &PgPool, tenant: &TenantId, id: UserId) -> Result<UserRecord> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    user_in(&mut conn, tenant, id).await
}

pub(crate) async fn list_users(pool: &PgPool, tenant: &TenantId) -> Result<Vec<UserRecord>> {
    sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1
         ORDER BY u.display_name COLLATE \"C\", u.username COLLATE \"C\""
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

pub(crate) async fn link_oidc_subject(pool: &PgPool, tenant: &TenantId, id: UserId, subject: &str) -> Result<()> {
    let done = sqlx::query("UPDATE users SET oidc_subject = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.0)
        .bind(subject)
        .execute(pool)
        .await
        .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

async fn delete_sessions_of(conn: &mut PgConnection, tenant: &TenantId, id: UserId) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant.as_str())
        .bind(id.0)
        .execute(conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

pub(crate) async fn update_user(pool: &PgPool, tenant: &TenantId, id: UserId, u: &UserUpdate) -> Result<UserRecord> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let done = sqlx::query(
        "UPDATE users SET display_name = $3, email = $4, roles = $5, disabled = $6 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id.0)
    .bind(&u.display_name)
    .bind(u.email.as_deref())
    .bind(roles_to_text(&domain::user::normalize_roles(u.roles.clone())))
    .bind(u.disabled)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    let user = async {
        set_units(&mut tx, tenant, id, &u.units).await?;
        if u.disabled {
            delete_sessions_of(&mut tx, tenant, id).await?;
        }
        user_in(&mut tx, tenant, id).await
    }
    .await;
    finish(tx, user).await
}

pub(crate) async fn require_password_change(pool: &PgPool, tenant: &TenantId, id: UserId) -> Result<()> {
    let done = sqlx::query("UPDATE users SET password_change_required = true WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.0)
        .execute(pool)
        .await
        .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// A new password ends every session of the user, wherever it was opened, and lifts a lock.
pub(crate) async fn set_password(pool: &PgPool, tenant: &TenantId, id: UserId, hash: &str) -> Result<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let done = sqlx::query(
        "UPDATE users SET password_hash = $3, failed_logins = 0, locked_until = NULL, password_change_required = false
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id.0)
    .bind(hash)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    delete_sessions_of(&mut tx, tenant, id).await?;
    tx.commit().await.map_err(map_err)
}

/// One statement, so concurrent failures (several processes, parallel guessing) each count:
/// the row lock serializes them and each sees the count the one before left.
pub(crate) async fn record_login_failure(
    pool: &PgPool,
    tenant: &TenantId,
    id: UserId,
    now: OffsetDateTime,
) -> Result<UserRecord> {
    let limit = i32::try_from(MAX_FAILED_LOGINS).unwrap_or(i32::MAX);
    let row = sqlx::query(&format!(
        "UPDATE users u SET
             failed_logins = CASE WHEN u.failed_logins + 1 >= $3 THEN 0 ELSE u.failed_logins + 1 END,
             locked_until = CASE WHEN u.failed_logins + 1 >= $3 THEN $4 ELSE u.locked_until END
         WHERE u.tenant_id = $1 AND u.id = $2
         RETURNING {USER_COLUMNS}"
    ))
    .bind(tenant.as_str())
    .bind(id.0)
    .bind(limit)
    .bind(ms(now + LOCK_DURATION))
    .fetch_optional(pool)
    .await
    .map_err(map_err)?
    .ok_or(StorageError::NotFound)?;
    user_at(&row, 0)
}

pub(crate) async fn record_login_success(pool: &PgPool, tenant: &TenantId, id: UserId) -> Result<()> {
    let done = sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.0)
        .execute(pool)
        .await
        .map_err(map_err)?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(crate) async fn create_session(pool: &PgPool, tenant: &TenantId, s: &NewSession) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, tenant_id, user_id, csrf_token, created_at, last_seen, idle_timeout_secs,
                               absolute_expiry)
         VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
    )
    .bind(&s.token_hash)
    .bind(tenant.as_str())
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
    pub times: domain::session::SessionTimes,
}

pub(crate) async fn find_session(pool: &PgPool, token_hash: &str) -> Result<Option<SessionLookup>> {
    let Some(r) = sqlx::query(&format!(
        "SELECT s.csrf_token, s.last_seen, s.idle_timeout_secs, s.absolute_expiry, {USER_COLUMNS}
         FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
         WHERE s.token_hash = $1"
    ))
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
    let times =
        domain::session::SessionTimes { last_seen, idle: time::Duration::seconds(idle), absolute_expiry: absolute };
    Ok(Some(SessionLookup {
        record: SessionRecord { tenant: user.tenant.clone(), csrf_token: get(&r, 0)?, user },
        times,
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

/// The same rule as [`find_session`]: expired at the end of the idle time or at the absolute
/// expiry, whichever comes first.
pub(crate) async fn delete_expired_sessions(pool: &PgPool, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM sessions
         WHERE absolute_expiry <= $1 OR last_seen + idle_timeout_secs * interval '1 second' <= $1",
    )
    .bind(now)
    .execute(pool)
    .await
    .map_err(map_err)?;
    Ok(done.rows_affected())
}

#[async_trait]
impl store::UserStore for crate::Tenant<'_> {
    async fn create_user(&self, user: NewUser) -> Result<UserRecord> {
        crate::users::create_user(&self.pool, &self.tenant, &user).await
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        let tenant = &self.tenant;
        crate::users::find_user_by_username(&self.pool, tenant, username).await
    }

    async fn get_user(&self, id: UserId) -> Result<UserRecord> {
        let tenant = &self.tenant;
        crate::users::get_user(&self.pool, tenant, id).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        let tenant = &self.tenant;
        crate::users::list_users(&self.pool, tenant).await
    }

    async fn count_users(&self) -> Result<u64> {
        let tenant = &self.tenant;
        crate::users::count_users(&self.pool, tenant).await
    }

    async fn find_user_by_oidc_subject(&self, subject: &str) -> Result<Option<UserRecord>> {
        let tenant = &self.tenant;
        crate::users::find_user_by_oidc_subject(&self.pool, tenant, subject).await
    }

    async fn link_oidc_subject(&self, id: UserId, subject: &str) -> Result<()> {
        let tenant = &self.tenant;
        crate::users::link_oidc_subject(&self.pool, tenant, id, subject).await
    }

    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<UserRecord> {
        let tenant = &self.tenant;
        crate::users::update_user(&self.pool, tenant, id, &update).await
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        let tenant = &self.tenant;
        crate::users::set_password(&self.pool, tenant, id, password_hash).await
    }

    async fn require_password_change(&self, id: UserId) -> Result<()> {
        let tenant = &self.tenant;
        crate::users::require_password_change(&self.pool, tenant, id).await
    }

    async fn record_login_failure(&self, id: UserId, now: OffsetDateTime) -> Result<UserRecord> {
        let tenant = &self.tenant;
        crate::users::record_login_failure(&self.pool, tenant, id, now).await
    }

    async fn record_login_success(&self, id: UserId) -> Result<()> {
        let tenant = &self.tenant;
        crate::users::record_login_success(&self.pool, tenant, id).await
    }

    async fn create_session(&self, session: NewSession) -> Result<()> {
        crate::users::create_session(&self.pool, &self.tenant, &session).await
    }

    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiTokenRecord> {
        crate::tenants::create_api_token(&self.pool, &self.tenant, &token).await
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>> {
        let tenant = &self.tenant;
        crate::tenants::list_api_tokens(&self.pool, tenant).await
    }

    async fn revoke_api_token(&self, id: ApiTokenId, now: OffsetDateTime) -> Result<()> {
        let tenant = &self.tenant;
        crate::tenants::revoke_api_token(&self.pool, tenant, id, now).await
    }
}
