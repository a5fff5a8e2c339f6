//! Tenants and their Organisationseinheiten: installation-wide lookups (host, kennung) next
//! to the tenant-scoped ones.

use crate::convert::{from_ms, ms, parsed_at, uuid_at};
use crate::engine::map_err;
use async_trait::async_trait;
use domain::{TenantId, TenantKind, UnitId};
use rusqlite::{params, Connection, OptionalExtension, Row};
use store::{NewTenant, NewUnit, Result, StorageError, TenantRecord, TenantSettings, UnitRecord};
use time::OffsetDateTime;

const TENANT_COLUMNS: &str = "id, name, kind, host, ip_allowlist, created_at";

pub(crate) fn allowlist_to_text(entries: &[String]) -> String {
    entries.join("\n")
}

pub(crate) fn allowlist_from_text(text: &str) -> Vec<String> {
    text.split('\n').filter(|e| !e.is_empty()).map(str::to_owned).collect()
}

fn tenant_row(r: &Row<'_>) -> rusqlite::Result<TenantRecord> {
    Ok(TenantRecord {
        id: parsed_at(r, 0, TenantId::parse)?,
        name: r.get(1)?,
        kind: parsed_at(r, 2, TenantKind::parse)?,
        host: r.get(3)?,
        ip_allowlist: allowlist_from_text(&r.get::<_, String>(4)?),
        created_at: from_ms(r.get(5)?),
    })
}

fn find_tenant(conn: &Connection, tenant: &TenantId) -> Result<Option<TenantRecord>> {
    conn.prepare_cached(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?1"))
        .and_then(|mut s| s.query_row([tenant.as_str()], tenant_row).optional())
        .map_err(map_err)
}

pub(crate) fn get_tenant(conn: &Connection, tenant: &TenantId) -> Result<TenantRecord> {
    find_tenant(conn, tenant)?.ok_or(StorageError::NotFound)
}

pub(crate) fn tenant_exists(conn: &Connection, tenant: &TenantId) -> Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = ?1)")
        .and_then(|mut s| s.query_row([tenant.as_str()], |r| r.get(0)))
        .map_err(map_err)
}

/// Whether a tenant other than `except` is reached at `host`.
fn host_taken(conn: &Connection, host: Option<&str>, except: &TenantId) -> Result<bool> {
    let Some(host) = host else { return Ok(false) };
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM tenants WHERE host = ?1 AND id <> ?2)")
        .and_then(|mut s| s.query_row(params![host, except.as_str()], |r| r.get(0)))
        .map_err(map_err)
}

pub(crate) fn ensure_tenant(conn: &Connection, t: &NewTenant) -> Result<TenantRecord> {
    match find_tenant(conn, &t.id)? {
        Some(existing) => Ok(existing),
        None => create_tenant(conn, t),
    }
}

pub(crate) fn create_tenant(conn: &Connection, t: &NewTenant) -> Result<TenantRecord> {
    if tenant_exists(conn, &t.id)? {
        return Err(StorageError::Duplicate("tenant"));
    }
    if host_taken(conn, t.host.as_deref(), &t.id)? {
        return Err(StorageError::Duplicate("host"));
    }
    conn.prepare_cached("INSERT INTO tenants (id, name, kind, host, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
        .and_then(|mut s| {
            s.execute(params![t.id.as_str(), t.name, t.kind.as_str(), t.host, ms(OffsetDateTime::now_utc())])
        })
        .map_err(map_err)?;
    get_tenant(conn, &t.id)
}

pub(crate) fn list_tenants(conn: &Connection) -> Result<Vec<TenantRecord>> {
    conn.prepare_cached(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY name, id"))
        .and_then(|mut s| s.query_map([], tenant_row)?.collect())
        .map_err(map_err)
}

pub(crate) fn find_tenant_by_host(conn: &Connection, host: &str) -> Result<Option<TenantRecord>> {
    conn.prepare_cached(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE host = ?1"))
        .and_then(|mut s| s.query_row([host], tenant_row).optional())
        .map_err(map_err)
}

pub(crate) fn update_tenant(conn: &Connection, tenant: &TenantId, s: &TenantSettings) -> Result<TenantRecord> {
    if !tenant_exists(conn, tenant)? {
        return Err(StorageError::NotFound);
    }
    if host_taken(conn, s.host.as_deref(), tenant)? {
        return Err(StorageError::Duplicate("host"));
    }
    conn.prepare_cached("UPDATE tenants SET name = ?2, host = ?3, ip_allowlist = ?4 WHERE id = ?1")
        .and_then(|mut st| st.execute(params![tenant.as_str(), s.name, s.host, allowlist_to_text(&s.ip_allowlist)]))
        .map_err(map_err)?;
    get_tenant(conn, tenant)
}

/// Creates the tenant of an import, or takes over name, kind and allowlist (the host stays:
/// it names this installation's routing, not the tenant's data).
pub(crate) fn upsert_imported(conn: &Connection, tenant: &TenantId, t: &TenantRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO tenants (id, name, kind, ip_allowlist, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, ip_allowlist = excluded.ip_allowlist",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            t.name,
            t.kind.as_str(),
            allowlist_to_text(&t.ip_allowlist),
            ms(OffsetDateTime::now_utc())
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

// --- units ---

pub(crate) const UNIT_COLUMNS: &str = "tenant_id, id, name, kennung";

pub(crate) fn unit_row(r: &Row<'_>) -> rusqlite::Result<UnitRecord> {
    Ok(UnitRecord {
        tenant: parsed_at(r, 0, TenantId::parse)?,
        id: UnitId(uuid_at(r, 1)?),
        name: r.get(2)?,
        kennung: r.get(3)?,
    })
}

fn kennung_taken(conn: &Connection, kennung: &str, except: Option<UnitId>) -> Result<bool> {
    let except = except.map(|u| u.0.to_string()).unwrap_or_default();
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM units WHERE kennung = ?1 AND id <> ?2)")
        .and_then(|mut s| s.query_row(params![kennung, except], |r| r.get(0)))
        .map_err(map_err)
}

/// The unit's name, if the tenant has the unit.
pub(crate) fn unit_name(conn: &Connection, tenant: &TenantId, unit: &str) -> Result<Option<String>> {
    conn.prepare_cached("SELECT name FROM units WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.query_row(params![tenant.as_str(), unit], |r| r.get(0)).optional())
        .map_err(map_err)
}

/// Refuses units the tenant does not have.
pub(crate) fn check_units(conn: &Connection, tenant: &TenantId, units: &[UnitId]) -> Result<()> {
    for u in units {
        if unit_name(conn, tenant, &u.0.to_string())?.is_none() {
            return Err(StorageError::InvalidReference("unit"));
        }
    }
    Ok(())
}

fn get_unit(conn: &Connection, tenant: &TenantId, id: UnitId) -> Result<UnitRecord> {
    conn.prepare_cached(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE tenant_id = ?1 AND id = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), id.0.to_string()], unit_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
}

pub(crate) fn insert_unit(conn: &Connection, tenant: &TenantId, id: UnitId, name: &str, kennung: &str) -> Result<()> {
    if kennung_taken(conn, kennung, None)? {
        return Err(StorageError::Duplicate("kennung"));
    }
    if unit_name(conn, tenant, &id.0.to_string())?.is_some() {
        return Err(StorageError::Duplicate("unit"));
    }
    conn.prepare_cached("INSERT INTO units (tenant_id, id, name, kennung) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string(), name, kennung]))
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn create_unit(conn: &Connection, tenant: &TenantId, u: &NewUnit) -> Result<UnitRecord> {
    if !tenant_exists(conn, tenant)? {
        return Err(StorageError::NotFound);
    }
    insert_unit(conn, tenant, u.id, &u.name, &u.kennung)?;
    get_unit(conn, tenant, u.id)
}

pub(crate) fn update_unit(
    conn: &Connection,
    tenant: &TenantId,
    id: UnitId,
    name: &str,
    kennung: &str,
) -> Result<UnitRecord> {
    get_unit(conn, tenant, id)?;
    if kennung_taken(conn, kennung, Some(id))? {
        return Err(StorageError::Duplicate("kennung"));
    }
    conn.prepare_cached("UPDATE units SET name = ?3, kennung = ?4 WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string(), name, kennung]))
        .map_err(map_err)?;
    get_unit(conn, tenant, id)
}

pub(crate) fn list_units(conn: &Connection, tenant: &TenantId) -> Result<Vec<UnitRecord>> {
    conn.prepare_cached(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE tenant_id = ?1 ORDER BY name, id"))
        .and_then(|mut s| s.query_map([tenant.as_str()], unit_row)?.collect())
        .map_err(map_err)
}

pub(crate) fn route_kennung(conn: &Connection, kennung: &str) -> Result<Option<UnitRecord>> {
    conn.prepare_cached(&format!("SELECT {UNIT_COLUMNS} FROM units WHERE kennung = ?1"))
        .and_then(|mut s| s.query_row([kennung], unit_row).optional())
        .map_err(map_err)
}

#[async_trait]
impl store::TenantStore for crate::Tenant<'_> {
    async fn get_tenant(&self) -> Result<TenantRecord> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::tenants::get_tenant(c, &tenant)).await
    }

    async fn update_tenant(&self, settings: TenantSettings) -> Result<TenantRecord> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::tenants::update_tenant(c, &tenant, &settings)).await
    }

    async fn create_unit(&self, unit: NewUnit) -> Result<UnitRecord> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::tenants::create_unit(c, &tenant, &unit)).await
    }

    async fn update_unit(&self, id: UnitId, name: &str, kennung: &str) -> Result<UnitRecord> {
        let (tenant, name, kennung) = (self.tenant.clone(), name.to_owned(), kennung.to_owned());
        self.engine.write(move |c| crate::tenants::update_unit(c, &tenant, id, &name, &kennung)).await
    }

    async fn list_units(&self) -> Result<Vec<UnitRecord>> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::tenants::list_units(c, &tenant)).await
    }
}
