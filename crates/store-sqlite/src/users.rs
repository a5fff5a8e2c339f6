use crate::convert::{from_ms, ms, parsed_at, uuid_at};
use crate::engine::map_err;
use domain::{Role, TenantId, UserId};
use rusqlite::{params, Connection, OptionalExtension, Row};
use store::{NewSession, NewUser, Result, SessionRecord, StorageError, UserRecord};
use time::OffsetDateTime;

pub(crate) const USER_COLUMNS: &str = "tenant_id, id, username, display_name, email, role, password_hash, disabled";

pub(crate) fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        tenant: parsed_at(r, 0, TenantId::parse)?,
        id: UserId(uuid_at(r, 1)?),
        username: r.get(2)?,
        display_name: r.get(3)?,
        email: r.get(4)?,
        role: parsed_at(r, 5, Role::parse)?,
        password_hash: r.get(6)?,
        disabled: r.get(7)?,
    })
}

pub(crate) fn ensure_tenant(conn: &Connection, tenant: &TenantId, name: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO NOTHING")
        .and_then(|mut s| s.execute(params![tenant.as_str(), name, ms(OffsetDateTime::now_utc())]))
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn create_user(conn: &Connection, u: &NewUser) -> Result<UserRecord> {
    let taken: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1 AND username = ?2)")
        .and_then(|mut s| s.query_row(params![u.tenant.as_str(), u.username], |r| r.get(0)))
        .map_err(map_err)?;
    if taken {
        return Err(StorageError::Duplicate("username"));
    }
    conn.prepare_cached(
        "INSERT INTO users (tenant_id, id, username, display_name, email, role, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            u.tenant.as_str(),
            u.id.0.to_string(),
            u.username,
            u.display_name,
            u.email,
            u.role.as_str(),
            u.password_hash,
            ms(OffsetDateTime::now_utc())
        ])
    })
    .map_err(map_err)?;
    get_user(conn, &u.tenant, u.id)
}

pub(crate) fn find_user_by_username(
    conn: &Connection,
    tenant: &TenantId,
    username: &str,
) -> Result<Option<UserRecord>> {
    conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ?1 AND username = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), username], user_row).optional())
        .map_err(map_err)
}

pub(crate) fn get_user(conn: &Connection, tenant: &TenantId, id: UserId) -> Result<UserRecord> {
    conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ?1 AND id = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), id.0.to_string()], user_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
}

pub(crate) fn list_users(conn: &Connection, tenant: &TenantId) -> Result<Vec<UserRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = ?1 ORDER BY display_name, username"
    ))
    .and_then(|mut s| s.query_map([tenant.as_str()], user_row)?.collect())
    .map_err(map_err)
}

pub(crate) fn count_users(conn: &Connection, tenant: &TenantId) -> Result<u64> {
    conn.prepare_cached("SELECT count(*) FROM users WHERE tenant_id = ?1")
        .and_then(|mut s| s.query_row([tenant.as_str()], |r| r.get::<_, i64>(0)))
        .map(|n| n as u64)
        .map_err(map_err)
}

pub(crate) fn set_password(conn: &Connection, tenant: &TenantId, id: UserId, hash: &str) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE users SET password_hash = ?3 WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string(), hash]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(crate) fn create_session(conn: &Connection, s: &NewSession) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (token_hash, tenant_id, user_id, csrf_token, created_at, last_seen, idle_timeout_secs, absolute_expiry)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
    )
    .and_then(|mut st| {
        st.execute(params![
            s.token_hash,
            s.tenant.as_str(),
            s.user.0.to_string(),
            s.csrf_token,
            ms(s.created_at),
            s.idle_timeout_secs,
            ms(s.absolute_expiry)
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

pub(crate) struct SessionLookup {
    pub record: SessionRecord,
    pub last_seen: OffsetDateTime,
    pub expires: OffsetDateTime,
}

pub(crate) fn find_session(conn: &Connection, token_hash: &str) -> Result<Option<SessionLookup>> {
    conn.prepare_cached(
        "SELECT s.csrf_token, s.last_seen, s.idle_timeout_secs, s.absolute_expiry,
                u.tenant_id, u.id, u.username, u.display_name, u.email, u.role, u.password_hash, u.disabled
         FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
         WHERE s.token_hash = ?1",
    )
    .and_then(|mut st| {
        st.query_row([token_hash], |r| {
            let last_seen = from_ms(r.get(1)?);
            let idle: i64 = r.get(2)?;
            let absolute = from_ms(r.get(3)?);
            let user = UserRecord {
                tenant: parsed_at(r, 4, TenantId::parse)?,
                id: UserId(uuid_at(r, 5)?),
                username: r.get(6)?,
                display_name: r.get(7)?,
                email: r.get(8)?,
                role: parsed_at(r, 9, Role::parse)?,
                password_hash: r.get(10)?,
                disabled: r.get(11)?,
            };
            let expires = (last_seen + time::Duration::seconds(idle)).min(absolute);
            Ok(SessionLookup {
                record: SessionRecord { tenant: user.tenant.clone(), csrf_token: r.get(0)?, user },
                last_seen,
                expires,
            })
        })
        .optional()
    })
    .map_err(map_err)
}

pub(crate) fn touch_session(conn: &Connection, token_hash: &str, now: OffsetDateTime) -> Result<()> {
    conn.prepare_cached("UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1")
        .and_then(|mut s| s.execute(params![token_hash, ms(now)]))
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn delete_session(conn: &Connection, token_hash: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")
        .and_then(|mut s| s.execute([token_hash]))
        .map_err(map_err)?;
    Ok(())
}
