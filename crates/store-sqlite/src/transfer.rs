//! Export and import of a whole tenant (see `Store::export_page` / `Store::import_records`).
//!
//! Export pages walk the primary keys (`(tenant_id, id)`, events and audit entries by
//! `(tenant_id, seq)`), so a
//! page costs the same however deep into the tenant it is. An import batch is one writer job:
//! it runs in its own SAVEPOINT and is committed with the group, all or nothing.

use crate::access::{append_audit, audit_after};
use crate::convert::ms;
use crate::documents::{clerk_documents_after, insert_clerk_document};
use crate::engine::map_err;
use crate::intake::{delivery_row, DELIVERY_COLUMNS};
use crate::notes::{insert_kommentar, insert_wiedervorlage, kommentare_after, vorgang_exists, wiedervorlagen_after};
use crate::tenants::{check_units, get_tenant, insert_unit, unit_row, upsert_imported, UNIT_COLUMNS};
use crate::users::{delete_sessions_of, set_units, user_row, USER_SELECT};
use crate::vorgang::{documents_of, events_after, insert_event, vorgang_row, VORGANG_SELECT};
use async_trait::async_trait;
use domain::user::{normalize_roles, roles_to_text};
use domain::{TenantId, UserId};
use rusqlite::{params, Connection};
use store::{
    AuditRecord, DeliveryRecord, EventRecord, ExportCounts, ExportRecord, ExportSection, Result, StorageError,
    TenantRecord, UnitRecord, UserRecord, VorgangRecord,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) fn count_for_export(conn: &Connection, tenant: &TenantId) -> Result<ExportCounts> {
    conn.prepare_cached(
        "SELECT (SELECT count(*) FROM units WHERE tenant_id = ?1),
                (SELECT count(*) FROM users WHERE tenant_id = ?1),
                (SELECT count(*) FROM deliveries WHERE tenant_id = ?1),
                (SELECT count(*) FROM vorgaenge WHERE tenant_id = ?1),
                (SELECT count(*) FROM documents WHERE tenant_id = ?1),
                (SELECT count(*) FROM events WHERE tenant_id = ?1),
                (SELECT count(*) FROM audit WHERE tenant_id = ?1),
                (SELECT count(*) FROM kommentare WHERE tenant_id = ?1)
                  + (SELECT count(*) FROM wiedervorlagen WHERE tenant_id = ?1)
                  + (SELECT count(*) FROM documents WHERE tenant_id = ?1 AND kind = 'CLERK')",
    )
    .and_then(|mut s| {
        s.query_row([tenant.as_str()], |r| {
            let n = |i: usize| r.get::<_, i64>(i).map(|n| n.max(0) as u64);
            Ok(ExportCounts {
                units: n(0)?,
                users: n(1)?,
                deliveries: n(2)?,
                vorgaenge: n(3)?,
                documents: n(4)?,
                events: n(5)?,
                audit: n(6)?,
                notes: n(7)?,
            })
        })
    })
    .map_err(map_err)
}

fn invalid_cursor() -> StorageError {
    StorageError::Other("invalid export cursor".into())
}

/// The id after which a page of a uuid-keyed section starts ("" sorts before every id).
fn uuid_cursor(after: Option<&str>) -> Result<String> {
    match after {
        None => Ok(String::new()),
        Some(a) => Uuid::parse_str(a).map(|u| u.to_string()).map_err(|_| invalid_cursor()),
    }
}

/// The cursor of the next page: the key of the last record when the page is full.
fn next<T>(items: &[T], limit: u32, key: impl Fn(&T) -> String) -> Option<String> {
    (items.len() >= limit as usize).then(|| items.last().map(key)).flatten()
}

pub(crate) fn export_page(
    conn: &Connection,
    tenant: &TenantId,
    section: ExportSection,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<ExportRecord>, Option<String>)> {
    let limit = limit.max(1);
    let t = tenant.as_str();
    let from = match section {
        ExportSection::Units | ExportSection::Users | ExportSection::Deliveries | ExportSection::Vorgaenge => {
            uuid_cursor(after)?
        }
        ExportSection::Tenant | ExportSection::Events | ExportSection::Audit | ExportSection::Notes => String::new(),
    };
    match section {
        ExportSection::Tenant => Ok((vec![ExportRecord::Tenant(get_tenant(conn, tenant)?)], None)),
        ExportSection::Units => {
            let units: Vec<UnitRecord> = conn
                .prepare_cached(&format!(
                    "SELECT {UNIT_COLUMNS} FROM units WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                ))
                .and_then(|mut s| s.query_map(params![t, from, limit], unit_row)?.collect())
                .map_err(map_err)?;
            let cursor = next(&units, limit, |u| u.id.0.to_string());
            Ok((units.into_iter().map(ExportRecord::Unit).collect(), cursor))
        }
        ExportSection::Users => {
            let users: Vec<UserRecord> = conn
                .prepare_cached(&format!("{USER_SELECT} WHERE u.tenant_id = ?1 AND u.id > ?2 ORDER BY u.id LIMIT ?3"))
                .and_then(|mut s| s.query_map(params![t, from, limit], user_row)?.collect())
                .map_err(map_err)?;
            let cursor = next(&users, limit, |u| u.id.0.to_string());
            Ok((users.into_iter().map(ExportRecord::User).collect(), cursor))
        }
        ExportSection::Deliveries => {
            let deliveries: Vec<DeliveryRecord> = conn
                .prepare_cached(&format!(
                    "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
                ))
                .and_then(|mut s| s.query_map(params![t, from, limit], delivery_row)?.collect())
                .map_err(map_err)?;
            let cursor = next(&deliveries, limit, |d| d.id.0.to_string());
            Ok((deliveries.into_iter().map(ExportRecord::Delivery).collect(), cursor))
        }
        ExportSection::Vorgaenge => {
            let mut vorgaenge: Vec<VorgangRecord> = conn
                .prepare_cached(&format!(
                    "{VORGANG_SELECT} WHERE v.tenant_id = ?1 AND v.id > ?2 ORDER BY v.id LIMIT ?3"
                ))
                .and_then(|mut s| s.query_map(params![t, from, limit], |r| vorgang_row(r, tenant))?.collect())
                .map_err(map_err)?;
            for v in &mut vorgaenge {
                v.documents = documents_of(conn, tenant, &v.head.id.0.to_string())?;
            }
            let cursor = next(&vorgaenge, limit, |v| v.head.id.0.to_string());
            Ok((vorgaenge.into_iter().map(|v| ExportRecord::Vorgang(Box::new(v))).collect(), cursor))
        }
        ExportSection::Events => {
            let after = match after {
                None => 0,
                Some(a) => a.parse::<i64>().map_err(|_| invalid_cursor())?,
            };
            let events = events_after(conn, tenant, after, limit)?;
            let cursor = next(&events, limit, |e| e.seq.to_string());
            Ok((events.into_iter().map(ExportRecord::Event).collect(), cursor))
        }
        ExportSection::Audit => {
            let after = match after {
                None => 0,
                Some(a) => a.parse::<i64>().map_err(|_| invalid_cursor())?,
            };
            let entries = audit_after(conn, tenant, after, limit)?;
            let cursor = next(&entries, limit, |e| e.seq.to_string());
            Ok((entries.into_iter().map(ExportRecord::Audit).collect(), cursor))
        }
        ExportSection::Notes => export_notes(conn, tenant, after, limit),
    }
}

/// Kommentare by id, then Wiedervorlagen by id, then clerk documents by id; the cursor is
/// `k:<id>`, `w:<id>` or `d:<id>`. A page that ends one part goes on with the next.
fn export_notes(
    conn: &Connection,
    tenant: &TenantId,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<ExportRecord>, Option<String>)> {
    // Where to start: which part (0 = Kommentare, 1 = Wiedervorlagen, 2 = documents), after which id.
    let (part, from) = match after.map(|a| a.split_once(':')) {
        None => (0, String::new()),
        Some(Some(("k", id))) => (0, uuid_cursor(Some(id))?),
        Some(Some(("w", id))) => (1, uuid_cursor(Some(id))?),
        Some(Some(("d", id))) => (2, uuid_cursor(Some(id))?),
        Some(_) => return Err(invalid_cursor()),
    };
    let mut records = Vec::new();
    for p in part..3 {
        let from = if p == part { from.as_str() } else { "" };
        let room = limit - records.len() as u32;
        let (page, cursor) = match p {
            0 => {
                let ks = kommentare_after(conn, tenant, from, room)?;
                let c = next(&ks, room, |k| format!("k:{}", k.id.0));
                (ks.into_iter().map(ExportRecord::Kommentar).collect::<Vec<_>>(), c)
            }
            1 => {
                let ws = wiedervorlagen_after(conn, tenant, from, room)?;
                let c = next(&ws, room, |w| format!("w:{}", w.id.0));
                (ws.into_iter().map(ExportRecord::Wiedervorlage).collect(), c)
            }
            _ => {
                let ds = clerk_documents_after(conn, tenant, from, room)?;
                let c = next(&ds, room, |d| format!("d:{}", d.document.id.0));
                (ds.into_iter().map(|d| ExportRecord::ClerkDocument(Box::new(d))).collect(), c)
            }
        };
        records.extend(page);
        if cursor.is_some() {
            return Ok((records, cursor));
        }
    }
    Ok((records, None))
}

pub(crate) fn import_records(conn: &Connection, tenant: &TenantId, records: &[ExportRecord]) -> Result<()> {
    for record in records {
        match record {
            ExportRecord::Tenant(t) => start_import(conn, tenant, t)?,
            ExportRecord::Unit(u) => insert_unit(conn, tenant, u.id, &u.name, &u.kennung)?,
            ExportRecord::User(u) => import_user(conn, tenant, u)?,
            ExportRecord::Delivery(d) => import_delivery(conn, tenant, d)?,
            ExportRecord::Vorgang(v) => import_vorgang(conn, tenant, v)?,
            ExportRecord::Event(e) => import_event(conn, tenant, e)?,
            ExportRecord::Audit(AuditRecord { entry, .. }) => append_audit(conn, tenant, entry)?,
            ExportRecord::Kommentar(k) => {
                if !vorgang_exists(conn, tenant, k.vorgang_id)? {
                    return Err(StorageError::InvalidReference("vorgang"));
                }
                insert_kommentar(conn, tenant, k)?
            }
            ExportRecord::Wiedervorlage(w) => {
                if !vorgang_exists(conn, tenant, w.vorgang_id)? {
                    return Err(StorageError::InvalidReference("vorgang"));
                }
                insert_wiedervorlage(conn, tenant, w)?
            }
            ExportRecord::ClerkDocument(d) => insert_clerk_document(conn, tenant, d).map_err(|e| match e {
                StorageError::NotFound => StorageError::InvalidReference("vorgang"),
                e => e,
            })?,
        }
    }
    Ok(())
}

/// Refuses a tenant that holds Vorgänge or deliveries; creates it or takes the imported name,
/// kind and allowlist.
fn start_import(conn: &Connection, tenant: &TenantId, imported: &TenantRecord) -> Result<()> {
    let t = tenant.as_str();
    let taken: bool = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM vorgaenge WHERE tenant_id = ?1)
                 OR EXISTS (SELECT 1 FROM deliveries WHERE tenant_id = ?1)",
        )
        .and_then(|mut s| s.query_row([t], |r| r.get(0)))
        .map_err(map_err)?;
    if taken {
        return Err(StorageError::Duplicate("tenant"));
    }
    upsert_imported(conn, tenant, imported)
}

/// Replaces the tenant's user with the same username or id (ending its sessions), keeping
/// the imported id.
fn import_user(conn: &Connection, tenant: &TenantId, u: &UserRecord) -> Result<()> {
    let (t, id) = (tenant.as_str(), u.id.0.to_string());
    check_units(conn, tenant, &u.units)?;
    let replaced: Vec<String> = conn
        .prepare_cached("SELECT id FROM users WHERE tenant_id = ?1 AND (id = ?2 OR username = ?3)")
        .and_then(|mut s| s.query_map(params![t, id, u.username], |r| r.get(0))?.collect())
        .map_err(map_err)?;
    for old in replaced.iter().filter_map(|o| Uuid::parse_str(o).ok()).map(UserId) {
        delete_sessions_of(conn, tenant, old)?;
        set_units(conn, tenant, old, &[])?;
    }
    conn.prepare_cached("DELETE FROM users WHERE tenant_id = ?1 AND (id = ?2 OR username = ?3)")
        .and_then(|mut s| s.execute(params![t, id, u.username]))
        .map_err(map_err)?;
    if let Some(subject) = &u.oidc_subject {
        let taken: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1 AND oidc_subject = ?2)")
            .and_then(|mut s| s.query_row(params![t, subject], |r| r.get(0)))
            .map_err(map_err)?;
        if taken {
            return Err(StorageError::Duplicate("oidc_subject"));
        }
    }
    conn.prepare_cached(
        "INSERT INTO users (tenant_id, id, username, display_name, email, roles, password_hash, disabled,
                            oidc_subject, failed_logins, locked_until, created_at, password_change_required)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut s| {
        s.execute(params![
            t,
            id,
            u.username,
            u.display_name,
            u.email,
            roles_to_text(&normalize_roles(u.roles.clone())),
            u.password_hash,
            u.disabled,
            u.oidc_subject,
            i64::from(u.failed_logins),
            u.locked_until.map(ms),
            ms(OffsetDateTime::now_utc()),
            u.password_change_required
        ])
    })
    .map_err(map_err)?;
    set_units(conn, tenant, u.id, &u.units)
}

fn import_delivery(conn: &Connection, tenant: &TenantId, d: &DeliveryRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO deliveries (tenant_id, id, received_at, channel, content_type, blob_key, size, status,
                                 error_field, error_message, vorgang_id, attempts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            d.id.0.to_string(),
            ms(d.received_at),
            d.channel,
            d.content_type,
            d.blob_key,
            d.size as i64,
            d.status.as_str(),
            d.error_field,
            d.error_message,
            d.vorgang_id.map(|v| v.0.to_string()),
            i64::from(d.attempts)
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

fn exists(conn: &Connection, sql: &str, tenant: &TenantId, id: &str) -> Result<bool> {
    conn.prepare_cached(sql).and_then(|mut s| s.query_row(params![tenant.as_str(), id], |r| r.get(0))).map_err(map_err)
}

fn import_vorgang(conn: &Connection, tenant: &TenantId, v: &VorgangRecord) -> Result<()> {
    let t = tenant.as_str();
    let id = v.head.id.0.to_string();
    let assignee = v.assignee.as_ref().map(|a| a.id.0.to_string());
    if let Some(a) = &assignee {
        if !exists(conn, "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1 AND id = ?2)", tenant, a)? {
            return Err(StorageError::InvalidReference("assignee"));
        }
    }
    let unit = v.unit.map(|u| u.0.to_string());
    if let Some(u) = &unit {
        if !exists(conn, "SELECT EXISTS (SELECT 1 FROM units WHERE tenant_id = ?1 AND id = ?2)", tenant, u)? {
            return Err(StorageError::InvalidReference("unit"));
        }
    }
    conn.prepare_cached(
        "INSERT INTO vorgaenge (tenant_id, id, nummer, transaction_id, status, status_since, status_before_deletion,
                                version, aktenzeichen, assignee_id, eingang_at, form_id, form_name,
                                zustaendige_stelle, applicant_name, unit_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )
    .and_then(|mut s| {
        s.execute(params![
            t,
            id,
            v.head.nummer.as_str(),
            v.transaction_id.as_str(),
            v.head.status.as_str(),
            ms(v.head.status_since),
            v.status_before_deletion_request.map(|s| s.as_str()),
            v.head.version,
            v.aktenzeichen,
            assignee,
            ms(v.eingang_at),
            v.form_id,
            v.form_name,
            v.zustaendige_stelle,
            v.applicant.display_name(),
            unit
        ])
    })
    .map_err(map_err)?;
    let rowid = conn.last_insert_rowid();
    crate::intake::insert_daten_and_documents(
        conn,
        t,
        &id,
        &v.leika_ids,
        &v.applicant,
        &v.control,
        &v.form_data,
        &v.documents,
    )?;
    let applicant_name = v.applicant.display_name();
    let searchable = domain::search::Searchable {
        nummer: v.head.nummer.as_str(),
        aktenzeichen: v.aktenzeichen.as_deref(),
        applicant_name: applicant_name.as_deref(),
        form_name: &v.form_name,
        form_text: "",
    };
    crate::search::index_new(conn, t, &id, rowid, searchable, &v.form_data)?;
    Ok(())
}

fn import_event(conn: &Connection, tenant: &TenantId, e: &EventRecord) -> Result<()> {
    if let Some(vorgang) = e.required_vorgang()? {
        let vorgang = vorgang.0.to_string();
        if !exists(conn, "SELECT EXISTS (SELECT 1 FROM vorgaenge WHERE tenant_id = ?1 AND id = ?2)", tenant, &vorgang)?
        {
            return Err(StorageError::InvalidReference("vorgang"));
        }
    }
    insert_event(conn, tenant, e.vorgang_id, e.at, &e.actor, &e.event)
}

#[async_trait]
impl store::TransferStore for crate::Tenant<'_> {
    async fn count_for_export(&self) -> Result<ExportCounts> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::transfer::count_for_export(c, &tenant)).await
    }

    async fn export_page(
        &self,
        section: ExportSection,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ExportRecord>, Option<String>)> {
        let (tenant, after) = (self.tenant.clone(), after.map(str::to_owned));
        self.engine.read(move |c| crate::transfer::export_page(c, &tenant, section, after.as_deref(), limit)).await
    }

    async fn import_records(&self, records: Vec<ExportRecord>) -> Result<()> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::transfer::import_records(c, &tenant, &records)).await
    }
}
