use crate::convert::{from_ms, ms, parsed_at, uuid_at};
use crate::engine::map_err;
use crate::tenants::check_units;
use async_trait::async_trait;
use domain::user::{after_failed_login, normalize_roles, roles_from_text, roles_to_text};
use domain::ApiTokenId;
use domain::{TenantId, UnitId, UserId};
use rusqlite::{params, Connection, OptionalExtension, Row};
use store::ApiTokenRecord;
use store::NewApiToken;
use store::{NewSession, NewUser, Result, SessionRecord, StorageError, UserRecord, UserUpdate};
use time::OffsetDateTime;

// A macro, not a const, so that `concat!` can build both statements from it.
macro_rules! user_columns {
    () => {
        "u.tenant_id, u.id, u.username, u.display_name, u.email, u.roles, u.password_hash, u.disabled,
         u.oidc_subject, u.failed_logins, u.locked_until,
         (SELECT group_concat(uu.unit_id) FROM user_units uu WHERE uu.tenant_id = u.tenant_id AND uu.user_id = u.id),
         u.password_change_required"
    };
}

/// A user with its units (a subquery, so a list costs one statement); [`user_row`] reads it.
pub(crate) const USER_SELECT: &str = concat!("SELECT ", user_columns!(), " FROM users u");

pub(crate) fn user_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    user_row_at(r, 0)
}

/// A user from the [`USER_SELECT`] columns starting at `at`.
fn user_row_at(r: &Row<'_>, at: usize) -> rusqlite::Result<UserRecord> {
    let units: Option<String> = r.get(at + 11)?;
    let mut units: Vec<UnitId> = units.as_deref().unwrap_or_default().split(',').filter_map(UnitId::parse).collect();
    units.sort();
    units.dedup();
    Ok(UserRecord {
        tenant: parsed_at(r, at, TenantId::parse)?,
        id: UserId(uuid_at(r, at + 1)?),
        username: r.get(at + 2)?,
        display_name: r.get(at + 3)?,
        email: r.get(at + 4)?,
        roles: roles_from_text(&r.get::<_, String>(at + 5)?),
        password_hash: r.get(at + 6)?,
        disabled: r.get(at + 7)?,
        oidc_subject: r.get(at + 8)?,
        failed_logins: r.get::<_, i64>(at + 9)?.clamp(0, i64::from(u32::MAX)) as u32,
        locked_until: r.get::<_, Option<i64>>(at + 10)?.map(from_ms),
        units,
        password_change_required: r.get(at + 12)?,
    })
}

fn exists(conn: &Connection, sql: &str, tenant: &TenantId, value: &str) -> Result<bool> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(params![tenant.as_str(), value], |r| r.get(0)))
        .map_err(map_err)
}

/// Whether a user of the tenant other than `except` has the OIDC subject.
fn subject_taken(conn: &Connection, tenant: &TenantId, subject: &str, except: UserId) -> Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1 AND oidc_subject = ?2 AND id <> ?3)")
        .and_then(|mut s| s.query_row(params![tenant.as_str(), subject, except.0.to_string()], |r| r.get(0)))
        .map_err(map_err)
}

/// Replaces the user's units (already checked to be the tenant's).
pub(crate) fn set_units(conn: &Connection, tenant: &TenantId, user: UserId, units: &[UnitId]) -> Result<()> {
    let (t, id) = (tenant.as_str(), user.0.to_string());
    conn.prepare_cached("DELETE FROM user_units WHERE tenant_id = ?1 AND user_id = ?2")
        .and_then(|mut s| s.execute(params![t, id]))
        .map_err(map_err)?;
    for unit in units {
        conn.prepare_cached("INSERT OR IGNORE INTO user_units (tenant_id, user_id, unit_id) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![t, id, unit.0.to_string()]))
            .map_err(map_err)?;
    }
    Ok(())
}

pub(crate) fn delete_sessions_of(conn: &Connection, tenant: &TenantId, user: UserId) -> Result<()> {
    conn.prepare_cached("DELETE FROM sessions WHERE tenant_id = ?1 AND user_id = ?2")
        .and_then(|mut s| s.execute(params![tenant.as_str(), user.0.to_string()]))
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn create_user(conn: &Connection, t: &TenantId, u: &NewUser) -> Result<UserRecord> {
    if exists(conn, "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1 AND username = ?2)", t, &u.username)? {
        return Err(StorageError::Duplicate("username"));
    }
    if let Some(subject) = &u.oidc_subject {
        if subject_taken(conn, t, subject, u.id)? {
            return Err(StorageError::Duplicate("oidc_subject"));
        }
    }
    check_units(conn, t, &u.units)?;
    conn.prepare_cached(
        "INSERT INTO users (tenant_id, id, username, display_name, email, roles, password_hash, oidc_subject, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            t.as_str(),
            u.id.0.to_string(),
            u.username,
            u.display_name,
            u.email,
            roles_to_text(&normalize_roles(u.roles.clone())),
            u.password_hash,
            u.oidc_subject,
            ms(OffsetDateTime::now_utc())
        ])
    })
    .map_err(map_err)?;
    set_units(conn, t, u.id, &u.units)?;
    get_user(conn, t, u.id)
}

pub(crate) fn find_user_by_username(
    conn: &Connection,
    tenant: &TenantId,
    username: &str,
) -> Result<Option<UserRecord>> {
    conn.prepare_cached(&format!("{USER_SELECT} WHERE u.tenant_id = ?1 AND u.username = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), username], user_row).optional())
        .map_err(map_err)
}

pub(crate) fn find_user_by_oidc_subject(
    conn: &Connection,
    tenant: &TenantId,
    subject: &str,
) -> Result<Option<UserRecord>> {
    conn.prepare_cached(&format!("{USER_SELECT} WHERE u.tenant_id = ?1 AND u.oidc_subject = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), subject], user_row).optional())
        .map_err(map_err)
}

pub(crate) fn get_user(conn: &Connection, tenant: &TenantId, id: UserId) -> Result<UserRecord> {
    conn.prepare_cached(&format!("{USER_SELECT} WHERE u.tenant_id = ?1 AND u.id = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), id.0.to_string()], user_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
}

pub(crate) fn list_users(conn: &Connection, tenant: &TenantId) -> Result<Vec<UserRecord>> {
    conn.prepare_cached(&format!("{USER_SELECT} WHERE u.tenant_id = ?1 ORDER BY u.display_name, u.username"))
        .and_then(|mut s| s.query_map([tenant.as_str()], user_row)?.collect())
        .map_err(map_err)
}

pub(crate) fn count_users(conn: &Connection, tenant: &TenantId) -> Result<u64> {
    conn.prepare_cached("SELECT count(*) FROM users WHERE tenant_id = ?1")
        .and_then(|mut s| s.query_row([tenant.as_str()], |r| r.get::<_, i64>(0)))
        .map(|n| n as u64)
        .map_err(map_err)
}

pub(crate) fn link_oidc_subject(conn: &Connection, tenant: &TenantId, id: UserId, subject: &str) -> Result<()> {
    get_user(conn, tenant, id)?;
    if subject_taken(conn, tenant, subject, id)? {
        return Err(StorageError::Duplicate("oidc_subject"));
    }
    conn.prepare_cached("UPDATE users SET oidc_subject = ?3 WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string(), subject]))
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn update_user(conn: &Connection, tenant: &TenantId, id: UserId, u: &UserUpdate) -> Result<UserRecord> {
    get_user(conn, tenant, id)?;
    check_units(conn, tenant, &u.units)?;
    conn.prepare_cached(
        "UPDATE users SET display_name = ?3, email = ?4, roles = ?5, disabled = ?6 WHERE tenant_id = ?1 AND id = ?2",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            id.0.to_string(),
            u.display_name,
            u.email,
            roles_to_text(&normalize_roles(u.roles.clone())),
            u.disabled
        ])
    })
    .map_err(map_err)?;
    set_units(conn, tenant, id, &u.units)?;
    if u.disabled {
        delete_sessions_of(conn, tenant, id)?;
    }
    get_user(conn, tenant, id)
}

pub(crate) fn require_password_change(conn: &Connection, tenant: &TenantId, id: UserId) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE users SET password_change_required = 1 WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string()]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(crate) fn set_password(conn: &Connection, tenant: &TenantId, id: UserId, hash: &str) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE users SET password_hash = ?3, failed_logins = 0, locked_until = NULL, password_change_required = 0
             WHERE tenant_id = ?1 AND id = ?2",
        )
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string(), hash]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    // Whoever knew the old password may hold a session: all of them end.
    delete_sessions_of(conn, tenant, id)
}

/// Read and write happen in one writer job, so concurrent failures are counted one by one.
pub(crate) fn record_login_failure(
    conn: &Connection,
    tenant: &TenantId,
    id: UserId,
    now: OffsetDateTime,
) -> Result<UserRecord> {
    let user = get_user(conn, tenant, id)?;
    let (failed, lock) = after_failed_login(user.failed_logins, now);
    conn.prepare_cached(
        "UPDATE users SET failed_logins = ?3, locked_until = coalesce(?4, locked_until) WHERE tenant_id = ?1 AND id = ?2",
    )
    .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string(), i64::from(failed), lock.map(ms)]))
    .map_err(map_err)?;
    get_user(conn, tenant, id)
}

pub(crate) fn record_login_success(conn: &Connection, tenant: &TenantId, id: UserId) -> Result<()> {
    let n = conn
        .prepare_cached("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string()]))
        .map_err(map_err)?;
    if n == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(crate) fn create_session(conn: &Connection, tenant: &TenantId, s: &NewSession) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sessions (token_hash, tenant_id, user_id, csrf_token, created_at, last_seen, idle_timeout_secs, absolute_expiry)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
    )
    .and_then(|mut st| {
        st.execute(params![
            s.token_hash,
            tenant.as_str(),
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
    pub times: domain::session::SessionTimes,
}

pub(crate) fn find_session(conn: &Connection, token_hash: &str) -> Result<Option<SessionLookup>> {
    conn.prepare_cached(concat!(
        "SELECT s.csrf_token, s.last_seen, s.idle_timeout_secs, s.absolute_expiry, ",
        user_columns!(),
        " FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id WHERE s.token_hash = ?1"
    ))
    .and_then(|mut st| {
        st.query_row([token_hash], |r| {
            let last_seen = from_ms(r.get(1)?);
            let idle: i64 = r.get(2)?;
            let absolute = from_ms(r.get(3)?);
            let user = user_row_at(r, 4)?;
            let times = domain::session::SessionTimes {
                last_seen,
                idle: time::Duration::seconds(idle),
                absolute_expiry: absolute,
            };
            Ok(SessionLookup {
                record: SessionRecord { tenant: user.tenant.clone(), csrf_token: r.get(0)?, user },
                times,
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

/// The same expiry as `get_session` applies (gone at `min(last_seen + idle, absolute) <= now`).
pub(crate) fn delete_expired_sessions(conn: &Connection, now: OffsetDateTime) -> Result<u64> {
    conn.prepare_cached(
        "DELETE FROM sessions WHERE absolute_expiry <= ?1 OR last_seen + idle_timeout_secs * 1000 <= ?1",
    )
    .and_then(|mut s| s.execute([ms(now)]))
    .map(|n| n as u64)
    .map_err(map_err)
}

#[async_trait]
impl store::UserStore for crate::Tenant<'_> {
    async fn create_user(&self, user: NewUser) -> Result<UserRecord> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::users::create_user(c, &tenant, &user)).await
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<UserRecord>> {
        let (tenant, username) = (self.tenant.clone(), username.to_owned());
        self.engine.read(move |c| crate::users::find_user_by_username(c, &tenant, &username)).await
    }

    async fn get_user(&self, id: UserId) -> Result<UserRecord> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::users::get_user(c, &tenant, id)).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::users::list_users(c, &tenant)).await
    }

    async fn count_users(&self) -> Result<u64> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::users::count_users(c, &tenant)).await
    }

    async fn find_user_by_oidc_subject(&self, subject: &str) -> Result<Option<UserRecord>> {
        let (tenant, subject) = (self.tenant.clone(), subject.to_owned());
        self.engine.read(move |c| crate::users::find_user_by_oidc_subject(c, &tenant, &subject)).await
    }

    async fn link_oidc_subject(&self, id: UserId, subject: &str) -> Result<()> {
        let (tenant, subject) = (self.tenant.clone(), subject.to_owned());
        self.engine.write(move |c| crate::users::link_oidc_subject(c, &tenant, id, &subject)).await
    }

    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<UserRecord> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::users::update_user(c, &tenant, id, &update)).await
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        let (tenant, hash) = (self.tenant.clone(), password_hash.to_owned());
        self.engine.write(move |c| crate::users::set_password(c, &tenant, id, &hash)).await
    }

    async fn require_password_change(&self, id: UserId) -> Result<()> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::users::require_password_change(c, &tenant, id)).await
    }

    async fn record_login_failure(&self, id: UserId, now: OffsetDateTime) -> Result<UserRecord> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::users::record_login_failure(c, &tenant, id, now)).await
    }

    async fn record_login_success(&self, id: UserId) -> Result<()> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::users::record_login_success(c, &tenant, id)).await
    }

    async fn create_session(&self, session: NewSession) -> Result<()> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::users::create_session(c, &tenant, &session)).await
    }

    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiTokenRecord> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::access::create_api_token(c, &tenant, &token)).await
    }

    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::access::list_api_tokens(c, &tenant)).await
    }

    async fn revoke_api_token(&self, id: ApiTokenId, now: OffsetDateTime) -> Result<()> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::access::revoke_api_token(c, &tenant, id, now)).await
    }
}
