//! Export and import of a whole tenant (see `Store::export_page` / `Store::import_records`).
//!
//! Export pages walk the primary keys (`(tenant_id, id)`, events by `(tenant_id, seq)`), so a
//! page costs the same however deep into the tenant it is. An import batch is one transaction;
//! each run of records of one kind is one statement over arrays (`unnest`), so a batch of
//! hundreds of Vorgänge costs a handful of round trips.

use crate::convert::{finish, get, map_err, ms, to_i64, to_json, to_u64};
use crate::documents::{clerk_documents_after, insert_clerk_document};
use crate::intake::{delivery_row, DELIVERY_COLUMNS};
use crate::notes::{
    kommentar_row, refresh_naechste_frist, wiedervorlage_row, KOMMENTAR_COLUMNS, WIEDERVORLAGE_COLUMNS,
    WIEDERVORLAGE_FROM,
};
use crate::tenants::{audit_after, get_tenant, insert_unit, unit_row, UNIT_COLUMNS};
use crate::users::{set_units, user_at, USER_COLUMNS};
use crate::vorgang::{
    document_row, events_after, vorgang_at, DOCUMENT_COLUMNS, EVENT_LOG_LOCK, NOW_MS, VORGANG_SELECT,
};
use async_trait::async_trait;
use domain::user::{normalize_roles, roles_to_text};
use domain::{TenantId, VorgangId};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use store::{
    AuditRecord, DeliveryRecord, DocumentRecord, EventRecord, ExportCounts, ExportRecord, ExportSection, NewUnit,
    Result, StorageError, TenantRecord, UnitRecord, UserRecord, VorgangRecord,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) async fn count_for_export(pool: &PgPool, tenant: &TenantId) -> Result<ExportCounts> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM users WHERE tenant_id = $1),
                (SELECT count(*) FROM deliveries WHERE tenant_id = $1),
                (SELECT count(*) FROM vorgaenge WHERE tenant_id = $1),
                (SELECT count(*) FROM documents WHERE tenant_id = $1),
                (SELECT count(*) FROM events WHERE tenant_id = $1),
                (SELECT count(*) FROM units WHERE tenant_id = $1),
                (SELECT count(*) FROM audit WHERE tenant_id = $1),
                (SELECT count(*) FROM kommentare WHERE tenant_id = $1)
                    + (SELECT count(*) FROM wiedervorlagen WHERE tenant_id = $1)
                    + (SELECT count(*) FROM documents WHERE tenant_id = $1 AND kind = 'CLERK')",
    )
    .bind(tenant.as_str())
    .fetch_one(pool)
    .await
    .map_err(map_err)?;
    let n = |i: usize| get::<i64>(&row, i).map(to_u64);
    Ok(ExportCounts {
        units: n(5)?,
        users: n(0)?,
        deliveries: n(1)?,
        vorgaenge: n(2)?,
        documents: n(3)?,
        events: n(4)?,
        audit: n(6)?,
        notes: n(7)?,
    })
}

fn invalid_cursor() -> StorageError {
    StorageError::Other("invalid export cursor".into())
}

fn uuid_cursor(after: Option<&str>) -> Result<Option<Uuid>> {
    after.map(|a| Uuid::parse_str(a).map_err(|_| invalid_cursor())).transpose()
}

/// The cursor of the next page: the key of the last record when the page is full.
fn next<T>(items: &[T], limit: u32, key: impl Fn(&T) -> String) -> Option<String> {
    (items.len() >= limit as usize).then(|| items.last().map(key)).flatten()
}

/// The key condition of a page of a uuid-keyed table: `$2` is the last id of the page before.
/// Two statements rather than `$2 IS NULL OR ...`, so both keep a plain index range scan.
fn after_clause(alias: &str, after: Option<Uuid>) -> (String, &'static str) {
    match after {
        Some(_) => (format!("AND {alias}id > $2"), "$3"),
        None => (String::new(), "$2"),
    }
}

/// One page of a uuid-keyed table of the tenant, in id order. `select` is the statement up to
/// and including `WHERE {alias}tenant_id = $1`.
async fn keyset_rows(
    pool: &PgPool,
    select: &str,
    alias: &str,
    t: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<sqlx::postgres::PgRow>> {
    let after = uuid_cursor(after)?;
    let (cond, lim) = after_clause(alias, after);
    let sql = format!("{select} {cond} ORDER BY {alias}id LIMIT {lim}");
    let mut query = sqlx::query(&sql).bind(t);
    if let Some(a) = after {
        query = query.bind(a);
    }
    query.bind(i64::from(limit)).fetch_all(pool).await.map_err(map_err)
}

pub(crate) async fn export_page(
    pool: &PgPool,
    tenant: &TenantId,
    section: ExportSection,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<ExportRecord>, Option<String>)> {
    let limit = limit.max(1);
    let t = tenant.as_str();
    match section {
        ExportSection::Tenant => Ok((vec![ExportRecord::Tenant(get_tenant(pool, tenant).await?)], None)),
        ExportSection::Units => {
            let units = keyset_rows(
                pool,
                &format!("SELECT {UNIT_COLUMNS} FROM units WHERE tenant_id = $1"),
                "",
                t,
                after,
                limit,
            )
            .await?
            .iter()
            .map(unit_row)
            .collect::<Result<Vec<UnitRecord>>>()?;
            let cursor = next(&units, limit, |u| u.id.0.to_string());
            Ok((units.into_iter().map(ExportRecord::Unit).collect(), cursor))
        }
        ExportSection::Users => {
            let users = keyset_rows(
                pool,
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.tenant_id = $1"),
                "u.",
                t,
                after,
                limit,
            )
            .await?
            .iter()
            .map(|r| user_at(r, 0))
            .collect::<Result<Vec<UserRecord>>>()?;
            let cursor = next(&users, limit, |u| u.id.0.to_string());
            Ok((users.into_iter().map(ExportRecord::User).collect(), cursor))
        }
        ExportSection::Deliveries => {
            let deliveries = keyset_rows(
                pool,
                &format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = $1"),
                "",
                t,
                after,
                limit,
            )
            .await?
            .iter()
            .map(delivery_row)
            .collect::<Result<Vec<DeliveryRecord>>>()?;
            let cursor = next(&deliveries, limit, |d| d.id.0.to_string());
            Ok((deliveries.into_iter().map(ExportRecord::Delivery).collect(), cursor))
        }
        ExportSection::Vorgaenge => {
            let mut vorgaenge =
                keyset_rows(pool, &format!("{VORGANG_SELECT} WHERE v.tenant_id = $1"), "v.", t, after, limit)
                    .await?
                    .iter()
                    .map(|r| vorgang_at(r, tenant))
                    .collect::<Result<Vec<VorgangRecord>>>()?;
            let ids: Vec<Uuid> = vorgaenge.iter().map(|v| v.head.id.0).collect();
            let mut documents: HashMap<VorgangId, Vec<DocumentRecord>> = HashMap::new();
            let rows = sqlx::query(&format!(
                "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = $1 AND vorgang_id = ANY($2) AND kind <> 'CLERK'
                 ORDER BY vorgang_id, kind COLLATE \"C\" DESC, filename COLLATE \"C\""
            ))
            .bind(t)
            .bind(&ids)
            .fetch_all(pool)
            .await
            .map_err(map_err)?;
            for r in &rows {
                let d = document_row(r)?;
                documents.entry(d.vorgang_id).or_default().push(d);
            }
            for v in &mut vorgaenge {
                v.documents = documents.remove(&v.head.id).unwrap_or_default();
            }
            let cursor = next(&vorgaenge, limit, |v| v.head.id.0.to_string());
            Ok((vorgaenge.into_iter().map(|v| ExportRecord::Vorgang(Box::new(v))).collect(), cursor))
        }
        ExportSection::Events => {
            let after = match after {
                None => 0,
                Some(a) => a.parse::<i64>().map_err(|_| invalid_cursor())?,
            };
            let events = events_after(pool, tenant, after, limit).await?;
            let cursor = next(&events, limit, |e| e.seq.to_string());
            Ok((events.into_iter().map(ExportRecord::Event).collect(), cursor))
        }
        ExportSection::Audit => {
            let after = match after {
                None => 0,
                Some(a) => a.parse::<i64>().map_err(|_| invalid_cursor())?,
            };
            let entries = audit_after(pool, tenant, after, limit).await?;
            let cursor = next(&entries, limit, |e| e.seq.to_string());
            Ok((entries.into_iter().map(ExportRecord::Audit).collect(), cursor))
        }
        ExportSection::Notes => export_notes(pool, tenant, after, limit).await,
    }
}

pub(crate) async fn import_records(pool: &PgPool, tenant: &TenantId, records: &[ExportRecord]) -> Result<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let imported = import_in(&mut tx, tenant, records).await;
    finish(tx, imported).await
}

async fn import_in(tx: &mut PgConnection, tenant: &TenantId, records: &[ExportRecord]) -> Result<()> {
    let mut rest = records;
    // Runs of records of one kind, in the order given.
    while let Some(first) = rest.first() {
        let section = first.section();
        let n = rest.iter().take_while(|r| r.section() == section).count();
        let (run, tail) = rest.split_at(n);
        rest = tail;
        match section {
            ExportSection::Tenant => {
                for r in run {
                    if let ExportRecord::Tenant(record) = r {
                        start_import(&mut *tx, tenant, record).await?;
                    }
                }
            }
            ExportSection::Units => {
                for r in run {
                    if let ExportRecord::Unit(u) = r {
                        let unit = NewUnit { id: u.id, name: u.name.clone(), kennung: u.kennung.clone() };
                        insert_unit(&mut *tx, tenant, &unit).await?;
                    }
                }
            }
            ExportSection::Users => {
                for r in run {
                    if let ExportRecord::User(u) = r {
                        import_user(&mut *tx, tenant, u).await?;
                    }
                }
            }
            ExportSection::Deliveries => {
                let ds: Vec<&DeliveryRecord> =
                    run.iter().filter_map(|r| if let ExportRecord::Delivery(d) = r { Some(d) } else { None }).collect();
                import_deliveries(&mut *tx, tenant, &ds).await?;
            }
            ExportSection::Vorgaenge => {
                let vs: Vec<&VorgangRecord> = run
                    .iter()
                    .filter_map(|r| if let ExportRecord::Vorgang(v) = r { Some(v.as_ref()) } else { None })
                    .collect();
                import_vorgaenge(&mut *tx, tenant, &vs).await?;
            }
            ExportSection::Events => {
                let es: Vec<&EventRecord> =
                    run.iter().filter_map(|r| if let ExportRecord::Event(e) = r { Some(e) } else { None }).collect();
                import_events(&mut *tx, tenant, &es).await?;
            }
            ExportSection::Audit => {
                let es: Vec<&AuditRecord> =
                    run.iter().filter_map(|r| if let ExportRecord::Audit(e) = r { Some(e) } else { None }).collect();
                import_audit(&mut *tx, tenant, &es).await?;
            }
            ExportSection::Notes => import_notes(&mut *tx, tenant, run).await?,
        }
    }
    Ok(())
}

/// Creates the tenant or takes the imported name, kind and allowlist (not the host: the new
/// installation has its own names), then refuses a tenant that holds Vorgänge or deliveries.
/// The upsert locks the tenant's row until commit, so two imports into one tenant take turns
/// and the second sees what the first wrote.
async fn start_import(conn: &mut PgConnection, tenant: &TenantId, record: &TenantRecord) -> Result<()> {
    let t = tenant.as_str();
    sqlx::query(&format!(
        "INSERT INTO tenants (id, name, kind, ip_allowlist, created_at) VALUES ($1, $2, $3, $4, {NOW_MS})
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                                        ip_allowlist = excluded.ip_allowlist"
    ))
    .bind(t)
    .bind(&record.name)
    .bind(record.kind.as_str())
    .bind(&record.ip_allowlist)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM vorgaenge WHERE tenant_id = $1)
             OR EXISTS (SELECT 1 FROM deliveries WHERE tenant_id = $1)",
    )
    .bind(t)
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)?;
    if taken {
        return Err(StorageError::Duplicate("tenant"));
    }
    Ok(())
}

/// Replaces the tenant's user with the same username or id (ending its sessions), keeping
/// the imported id.
async fn import_user(conn: &mut PgConnection, tenant: &TenantId, u: &UserRecord) -> Result<()> {
    let t = tenant.as_str();
    sqlx::query(
        "DELETE FROM sessions WHERE tenant_id = $1
           AND user_id IN (SELECT id FROM users WHERE tenant_id = $1 AND (id = $2 OR username = $3))",
    )
    .bind(t)
    .bind(u.id.0)
    .bind(&u.username)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    sqlx::query("DELETE FROM users WHERE tenant_id = $1 AND (id = $2 OR username = $3)")
        .bind(t)
        .bind(u.id.0)
        .bind(&u.username)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    sqlx::query(
        "INSERT INTO users (tenant_id, id, username, display_name, email, roles, password_hash, disabled,
                            oidc_subject, failed_logins, locked_until, created_at, password_change_required)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now(), $12)",
    )
    .bind(t)
    .bind(u.id.0)
    .bind(&u.username)
    .bind(&u.display_name)
    .bind(u.email.as_deref())
    .bind(roles_to_text(&normalize_roles(u.roles.clone())))
    .bind(&u.password_hash)
    .bind(u.disabled)
    .bind(u.oidc_subject.as_deref())
    .bind(i32::try_from(u.failed_logins).unwrap_or(i32::MAX))
    .bind(u.locked_until.map(ms))
    .bind(u.password_change_required)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    set_units(conn, tenant, u.id, &u.units).await
}

async fn import_deliveries(conn: &mut PgConnection, tenant: &TenantId, ds: &[&DeliveryRecord]) -> Result<()> {
    if ds.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = ds.iter().map(|d| d.id.0).collect();
    let received: Vec<OffsetDateTime> = ds.iter().map(|d| ms(d.received_at)).collect();
    let channels: Vec<&str> = ds.iter().map(|d| d.channel.as_str()).collect();
    let content_types: Vec<&str> = ds.iter().map(|d| d.content_type.as_str()).collect();
    let keys: Vec<&str> = ds.iter().map(|d| d.blob_key.as_str()).collect();
    let sizes: Vec<i64> = ds.iter().map(|d| to_i64(d.size, "delivery size")).collect::<Result<_>>()?;
    let statuses: Vec<&str> = ds.iter().map(|d| d.status.as_str()).collect();
    let fields: Vec<Option<&str>> = ds.iter().map(|d| d.error_field.as_deref()).collect();
    let messages: Vec<Option<&str>> = ds.iter().map(|d| d.error_message.as_deref()).collect();
    let vorgaenge: Vec<Option<Uuid>> = ds.iter().map(|d| d.vorgang_id.map(|v| v.0)).collect();
    let attempts: Vec<i32> = ds.iter().map(|d| i32::try_from(d.attempts).unwrap_or(i32::MAX)).collect();
    sqlx::query(
        "INSERT INTO deliveries (tenant_id, id, received_at, channel, content_type, blob_key, size, status,
                                 error_field, error_message, vorgang_id, attempts)
         SELECT $1, d.id, d.received_at, d.channel, d.content_type, d.blob_key, d.size, d.status,
                d.error_field, d.error_message, d.vorgang_id, d.attempts
         FROM unnest($2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[],
                     $9::text[], $10::text[], $11::uuid[], $12::int4[])
              AS d (id, received_at, channel, content_type, blob_key, size, status, error_field, error_message,
                    vorgang_id, attempts)",
    )
    .bind(tenant.as_str())
    .bind(ids)
    .bind(received)
    .bind(channels)
    .bind(content_types)
    .bind(keys)
    .bind(sizes)
    .bind(statuses)
    .bind(fields)
    .bind(messages)
    .bind(vorgaenge)
    .bind(attempts)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// How many of `ids` are not in `table` (`users` or `vorgaenge`) of the tenant.
/// How many of `ids` have no row in `table` of the tenant. `table` is always a literal.
pub(crate) async fn missing(
    conn: &mut PgConnection,
    tenant: &TenantId,
    table: &'static str,
    mut ids: Vec<Uuid>,
) -> Result<i64> {
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(0);
    }
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM unnest($2::uuid[]) AS x (id)
         WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.tenant_id = $1 AND t.id = x.id)"
    ))
    .bind(tenant.as_str())
    .bind(ids)
    .fetch_one(&mut *conn)
    .await
    .map_err(map_err)
}

async fn import_vorgaenge(conn: &mut PgConnection, tenant: &TenantId, vs: &[&VorgangRecord]) -> Result<()> {
    if vs.is_empty() {
        return Ok(());
    }
    let t = tenant.as_str();
    let assignees: Vec<Option<Uuid>> = vs.iter().map(|v| v.assignee.as_ref().map(|a| a.id.0)).collect();
    if missing(conn, tenant, "users", assignees.iter().flatten().copied().collect()).await? > 0 {
        return Err(StorageError::InvalidReference("assignee"));
    }
    let units: Vec<Option<Uuid>> = vs.iter().map(|v| v.unit.map(|u| u.0)).collect();
    if missing(conn, tenant, "units", units.iter().flatten().copied().collect()).await? > 0 {
        return Err(StorageError::InvalidReference("unit"));
    }
    let ids: Vec<Uuid> = vs.iter().map(|v| v.head.id.0).collect();
    let nummern: Vec<&str> = vs.iter().map(|v| v.head.nummer.as_str()).collect();
    let transactions: Vec<&str> = vs.iter().map(|v| v.transaction_id.as_str()).collect();
    let statuses: Vec<&str> = vs.iter().map(|v| v.head.status.as_str()).collect();
    let since: Vec<OffsetDateTime> = vs.iter().map(|v| ms(v.head.status_since)).collect();
    let before_deletion: Vec<Option<&str>> =
        vs.iter().map(|v| v.status_before_deletion_request.map(|s| s.as_str())).collect();
    let versions: Vec<i64> = vs.iter().map(|v| v.head.version).collect();
    let aktenzeichen: Vec<Option<&str>> = vs.iter().map(|v| v.aktenzeichen.as_deref()).collect();
    let eingang: Vec<OffsetDateTime> = vs.iter().map(|v| ms(v.eingang_at)).collect();
    let form_ids: Vec<&str> = vs.iter().map(|v| v.form_id.as_str()).collect();
    let form_names: Vec<&str> = vs.iter().map(|v| v.form_name.as_str()).collect();
    let stellen: Vec<&str> = vs.iter().map(|v| v.zustaendige_stelle.as_str()).collect();
    let applicant_names: Vec<Option<String>> = vs.iter().map(|v| v.applicant.display_name()).collect();
    let (search_words, search_texts): (Vec<String>, Vec<String>) = vs
        .iter()
        .zip(&applicant_names)
        .map(|(v, name)| {
            let searchable = domain::search::Searchable {
                nummer: v.head.nummer.as_str(),
                aktenzeichen: v.aktenzeichen.as_deref(),
                applicant_name: name.as_deref(),
                form_name: &v.form_name,
                form_text: "",
            };
            crate::search::texts(searchable, &v.form_data)
        })
        .unzip();
    sqlx::query(
        "INSERT INTO vorgaenge (tenant_id, id, nummer, transaction_id, status, status_since, status_before_deletion,
                                version, aktenzeichen, assignee_id, eingang_at, form_id, form_name,
                                zustaendige_stelle, applicant_name, unit_id, such_vektor)
         SELECT $1, v.id, v.nummer, v.transaction_id, v.status, v.status_since, v.status_before_deletion,
                v.version, v.aktenzeichen, v.assignee_id, v.eingang_at, v.form_id, v.form_name,
                v.zustaendige_stelle, v.applicant_name, v.unit_id, to_tsvector('simple', v.words)
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::int8[],
                     $9::text[], $10::uuid[], $11::timestamptz[], $12::text[], $13::text[], $14::text[], $15::text[],
                     $16::uuid[], $17::text[])
              AS v (id, nummer, transaction_id, status, status_since, status_before_deletion, version, aktenzeichen,
                    assignee_id, eingang_at, form_id, form_name, zustaendige_stelle, applicant_name, unit_id,
                    words)",
    )
    .bind(t)
    .bind(&ids)
    .bind(nummern)
    .bind(transactions)
    .bind(statuses)
    .bind(since)
    .bind(before_deletion)
    .bind(versions)
    .bind(aktenzeichen)
    .bind(assignees)
    .bind(eingang)
    .bind(form_ids)
    .bind(form_names)
    .bind(stellen)
    .bind(applicant_names)
    .bind(units)
    .bind(search_words)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;

    let mut json = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for v in vs {
        json.0.push(to_json(&v.leika_ids)?);
        json.1.push(to_json(&v.applicant)?);
        json.2.push(to_json(&v.control)?);
        json.3.push(to_json(&v.form_data)?);
    }
    sqlx::query(
        "INSERT INTO vorgang_daten (tenant_id, vorgang_id, leika_ids, applicant, control, form_data, such_text)
         SELECT $1, d.id, d.leika_ids::json, d.applicant::json, d.control::json, d.form_data::json, d.such_text
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
              AS d (id, leika_ids, applicant, control, form_data, such_text)",
    )
    .bind(t)
    .bind(&ids)
    .bind(json.0)
    .bind(json.1)
    .bind(json.2)
    .bind(json.3)
    .bind(search_texts)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;

    let docs: Vec<(Uuid, &DocumentRecord)> =
        vs.iter().flat_map(|v| v.documents.iter().map(move |d| (v.head.id.0, d))).collect();
    insert_documents(conn, t, &docs).await
}

/// Documents of any number of Vorgänge in one statement: `(vorgang id, document)`.
pub(crate) async fn insert_documents(conn: &mut PgConnection, t: &str, docs: &[(Uuid, &DocumentRecord)]) -> Result<()> {
    if docs.is_empty() {
        return Ok(());
    }
    let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (vorgang, d) in docs {
        cols.0.push(d.id.0);
        cols.1.push(*vorgang);
        cols.2.push(d.kind.as_str());
        cols.3.push(d.filename.as_str());
        cols.4.push(d.content_type.as_str());
        cols.5.push(to_i64(d.size, "document size")?);
        cols.6.push(d.blob_key.as_str());
        cols.7.push(d.sha256.as_str());
    }
    sqlx::query(
        "INSERT INTO documents (tenant_id, id, vorgang_id, kind, filename, content_type, size, blob_key, sha256)
         SELECT $1, d.id, d.vorgang_id, d.kind, d.filename, d.content_type, d.size, d.blob_key, d.sha256
         FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::int8[], $8::text[], $9::text[])
              AS d (id, vorgang_id, kind, filename, content_type, size, blob_key, sha256)",
    )
    .bind(t)
    .bind(cols.0)
    .bind(cols.1)
    .bind(cols.2)
    .bind(cols.3)
    .bind(cols.4)
    .bind(cols.5)
    .bind(cols.6)
    .bind(cols.7)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Appends the events in the order given, under the tenant's event-log lock (as every append
/// does: sequence numbers in commit order).
async fn import_events(conn: &mut PgConnection, tenant: &TenantId, es: &[&EventRecord]) -> Result<()> {
    if es.is_empty() {
        return Ok(());
    }
    let t = tenant.as_str();
    let mut held = Vec::new();
    for e in es {
        held.extend(e.required_vorgang()?.map(|v| v.0));
    }
    if missing(conn, tenant, "vorgaenge", held).await? > 0 {
        return Err(StorageError::InvalidReference("vorgang"));
    }
    let vorgaenge: Vec<Option<Uuid>> = es.iter().map(|e| e.vorgang_id.map(|v| v.0)).collect();
    let at: Vec<OffsetDateTime> = es.iter().map(|e| ms(e.at)).collect();
    let actor_ids: Vec<Option<Uuid>> = es.iter().map(|e| e.actor.user.map(|u| u.0)).collect();
    let actor_names: Vec<&str> = es.iter().map(|e| e.actor.name.as_str()).collect();
    let kinds: Vec<&str> = es.iter().map(|e| e.event.kind()).collect();
    let payloads: Vec<String> = es.iter().map(|e| to_json(&e.event)).collect::<Result<_>>()?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(EVENT_LOG_LOCK)
        .bind(t)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    sqlx::query(&format!(
        "{}
         INSERT INTO events (tenant_id, vorgang_id, at, actor_id, actor_name, kind, payload, tenant_seq, schema_version)
         SELECT $1, e.vorgang_id, e.at, e.actor_id, e.actor_name, e.kind, e.payload::json, s.value - $8 + e.n, $9
         FROM unnest($2::uuid[], $3::timestamptz[], $4::uuid[], $5::text[], $6::text[], $7::text[])
              WITH ORDINALITY AS e (vorgang_id, at, actor_id, actor_name, kind, payload, n), s
         ORDER BY e.n",
        crate::convert::take_tenant_numbers("events", "$8")
    ))
    .bind(t)
    .bind(vorgaenge)
    .bind(at)
    .bind(actor_ids)
    .bind(actor_names)
    .bind(kinds)
    .bind(payloads)
    .bind(es.len() as i64)
    // The payloads were just written by this version's code.
    .bind(domain::vorgang::EVENT_SCHEMA_VERSION as i32)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Appends the audit entries in the order given, under the tenant's next numbers.
async fn import_audit(conn: &mut PgConnection, tenant: &TenantId, es: &[&AuditRecord]) -> Result<()> {
    if es.is_empty() {
        return Ok(());
    }
    let at: Vec<OffsetDateTime> = es.iter().map(|e| ms(e.entry.at)).collect();
    let actor_ids: Vec<Option<Uuid>> = es.iter().map(|e| e.entry.actor.user.map(|u| u.0)).collect();
    let actor_names: Vec<&str> = es.iter().map(|e| e.entry.actor.name.as_str()).collect();
    let actions: Vec<&str> = es.iter().map(|e| e.entry.action.as_str()).collect();
    let targets: Vec<Option<&str>> = es.iter().map(|e| e.entry.target.as_deref()).collect();
    let details: Vec<Option<&str>> = es.iter().map(|e| e.entry.detail.as_deref()).collect();
    let ips: Vec<Option<&str>> = es.iter().map(|e| e.entry.ip.as_deref()).collect();
    sqlx::query(&format!(
        "{}
         INSERT INTO audit (tenant_id, at, actor_id, actor_name, action, target, detail, ip, tenant_seq)
         SELECT $1, e.at, e.actor_id, e.actor_name, e.action, e.target, e.detail, e.ip, s.value - $9 + e.n
         FROM unnest($2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
              WITH ORDINALITY AS e (at, actor_id, actor_name, action, target, detail, ip, n), s
         ORDER BY e.n",
        crate::convert::take_tenant_numbers("audit", "$9")
    ))
    .bind(tenant.as_str())
    .bind(at)
    .bind(actor_ids)
    .bind(actor_names)
    .bind(actions)
    .bind(targets)
    .bind(details)
    .bind(ips)
    .bind(es.len() as i64)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// The Notes section: the Kommentare by id (cursor `k:<id>`), then the Wiedervorlagen by id
/// (cursor `w:<id>`), then the clerks' documents by id (cursor `d:<id>`). A page that ends
/// one part goes on with the next.
async fn export_notes(
    pool: &PgPool,
    tenant: &TenantId,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<ExportRecord>, Option<String>)> {
    let t = tenant.as_str();
    let id = |s: &str| Uuid::parse_str(s).map_err(|_| invalid_cursor());
    // (in the Kommentare, after which Kommentar), (after which Wiedervorlage)
    let (kommentare, wiedervorlagen, documents_after) = match after.map(|a| a.split_once(':')) {
        None => ((true, None), (true, None), None),
        Some(Some(("k", k))) => ((true, Some(id(k)?)), (true, None), None),
        Some(Some(("w", w))) => ((false, None), (true, Some(id(w)?)), None),
        Some(Some(("d", d))) => ((false, None), (false, None), Some(id(d)?)),
        Some(_) => return Err(invalid_cursor()),
    };
    let mut records = Vec::new();
    let mut last_key = None;
    if let (true, kommentare_after) = kommentare {
        let (cond, lim) = after_clause("k.", kommentare_after);
        let sql = format!(
            "SELECT {KOMMENTAR_COLUMNS} FROM kommentare k WHERE k.tenant_id = $1 {cond} ORDER BY k.id LIMIT {lim}"
        );
        let mut query = sqlx::query(&sql).bind(t);
        if let Some(a) = kommentare_after {
            query = query.bind(a);
        }
        let rows = query.bind(i64::from(limit)).fetch_all(pool).await.map_err(map_err)?;
        for r in &rows {
            let k = kommentar_row(r)?;
            last_key = Some(format!("k:{}", k.id.0));
            records.push(ExportRecord::Kommentar(k));
        }
    }
    let room = (limit as usize).saturating_sub(records.len());
    if let (true, wiedervorlagen_after) = wiedervorlagen {
        if room == 0 {
            return Ok((records, last_key));
        }
        let (cond, lim) = after_clause("w.", wiedervorlagen_after);
        let sql = format!(
            "SELECT {WIEDERVORLAGE_COLUMNS} FROM {WIEDERVORLAGE_FROM} WHERE w.tenant_id = $1 {cond}
             ORDER BY w.id LIMIT {lim}"
        );
        let mut query = sqlx::query(&sql).bind(t);
        if let Some(a) = wiedervorlagen_after {
            query = query.bind(a);
        }
        let rows = query.bind(to_i64(room as u64, "limit")?).fetch_all(pool).await.map_err(map_err)?;
        for r in &rows {
            let w = wiedervorlage_row(r)?;
            last_key = Some(format!("w:{}", w.id.0));
            records.push(ExportRecord::Wiedervorlage(w));
        }
    }
    let room = (limit as usize).saturating_sub(records.len());
    if room == 0 {
        return Ok((records, last_key));
    }
    for d in clerk_documents_after(pool, tenant, documents_after, to_i64(room as u64, "limit")?).await? {
        last_key = Some(format!("d:{}", d.document.id.0));
        records.push(ExportRecord::ClerkDocument(Box::new(d)));
    }
    let cursor = if records.len() >= limit as usize { last_key } else { None };
    Ok((records, cursor))
}

/// Kommentare (in the order given) and Wiedervorlagen with their ids, versions and state;
/// then `naechste_frist` of their Vorgänge is computed afresh.
async fn import_notes(conn: &mut PgConnection, tenant: &TenantId, run: &[ExportRecord]) -> Result<()> {
    let t = tenant.as_str();
    let mut ks = Vec::new();
    let mut ws = Vec::new();
    for r in run {
        match r {
            ExportRecord::Kommentar(k) => ks.push(k),
            ExportRecord::Wiedervorlage(w) => ws.push(w),
            _ => {}
        }
    }
    let vorgaenge: Vec<Uuid> = ks.iter().map(|k| k.vorgang_id.0).chain(ws.iter().map(|w| w.vorgang_id.0)).collect();
    if missing(conn, tenant, "vorgaenge", vorgaenge.clone()).await? > 0 {
        return Err(StorageError::InvalidReference("vorgang"));
    }
    if !ks.is_empty() {
        let ids: Vec<Uuid> = ks.iter().map(|k| k.id.0).collect();
        let vs: Vec<Uuid> = ks.iter().map(|k| k.vorgang_id.0).collect();
        let texts: Vec<&str> = ks.iter().map(|k| k.text.as_str()).collect();
        let at: Vec<OffsetDateTime> = ks.iter().map(|k| ms(k.at)).collect();
        let actor_ids: Vec<Option<Uuid>> = ks.iter().map(|k| k.author.user.map(|u| u.0)).collect();
        let actor_names: Vec<&str> = ks.iter().map(|k| k.author.name.as_str()).collect();
        sqlx::query(
            "INSERT INTO kommentare (tenant_id, id, vorgang_id, text, at, actor_id, actor_name)
             SELECT $1, k.id, k.vorgang_id, k.text, k.at, k.actor_id, k.actor_name
             FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::uuid[], $7::text[])
                  WITH ORDINALITY AS k (id, vorgang_id, text, at, actor_id, actor_name, n)
             ORDER BY k.n",
        )
        .bind(t)
        .bind(ids)
        .bind(vs)
        .bind(texts)
        .bind(at)
        .bind(actor_ids)
        .bind(actor_names)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    }
    if !ws.is_empty() {
        let mut cols = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for w in &ws {
            cols.0.push(w.id.0);
            cols.1.push(w.vorgang_id.0);
            cols.2.push(w.betreff.as_str());
            cols.3.push(w.beschreibung.as_str());
            cols.4.push(w.frist);
            cols.5.push(w.erledigt);
            cols.6.push(w.erledigt_at.map(ms));
            cols.7.push(ms(w.created_at));
            cols.8.push(w.created_by.user.map(|u| u.0));
            cols.9.push(w.created_by.name.as_str());
            cols.10.push(w.version);
        }
        sqlx::query(
            "INSERT INTO wiedervorlagen (tenant_id, id, vorgang_id, betreff, beschreibung, frist, erledigt,
                                         erledigt_at, created_at, actor_id, actor_name, version)
             SELECT $1, w.id, w.vorgang_id, w.betreff, w.beschreibung, w.frist, w.erledigt, w.erledigt_at,
                    w.created_at, w.actor_id, w.actor_name, w.version
             FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::date[], $7::bool[],
                         $8::timestamptz[], $9::timestamptz[], $10::uuid[], $11::text[], $12::int8[])
                  AS w (id, vorgang_id, betreff, beschreibung, frist, erledigt, erledigt_at, created_at, actor_id,
                        actor_name, version)",
        )
        .bind(t)
        .bind(cols.0)
        .bind(cols.1)
        .bind(cols.2)
        .bind(cols.3)
        .bind(cols.4)
        .bind(cols.5)
        .bind(cols.6)
        .bind(cols.7)
        .bind(cols.8)
        .bind(cols.9)
        .bind(cols.10)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
        let mut touched: Vec<Uuid> = ws.iter().map(|w| w.vorgang_id.0).collect();
        touched.sort_unstable();
        touched.dedup();
        refresh_naechste_frist(conn, tenant, &touched).await?;
    }
    for r in run {
        if let ExportRecord::ClerkDocument(d) = r {
            insert_clerk_document(&mut *conn, tenant, d).await.map_err(|e| match e {
                StorageError::NotFound => StorageError::InvalidReference("vorgang"),
                e => e,
            })?;
        }
    }
    Ok(())
}

#[async_trait]
impl store::TransferStore for crate::Tenant<'_> {
    async fn count_for_export(&self) -> Result<ExportCounts> {
        let tenant = &self.tenant;
        crate::transfer::count_for_export(&self.pool, tenant).await
    }

    async fn export_page(
        &self,
        section: ExportSection,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<ExportRecord>, Option<String>)> {
        let tenant = &self.tenant;
        crate::transfer::export_page(&self.pool, tenant, section, after, limit).await
    }

    async fn import_records(&self, records: Vec<ExportRecord>) -> Result<()> {
        let tenant = &self.tenant;
        crate::transfer::import_records(&self.pool, tenant, &records).await
    }
}
