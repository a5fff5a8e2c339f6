use crate::convert::{from_ms, ms, opt_uuid_at, parsed_at, to_json, uuid_at};
use crate::engine::map_err;
use crate::tenants::{tenant_exists, unit_name};
use crate::vorgang::{head_by, insert_event, HeadBy};
use async_trait::async_trait;
use domain::TransactionId;
use domain::{TenantId, VorgangId, VorgangStatus};
use rusqlite::{params, Connection, OptionalExtension, Row};
use store::VorgangHead;
use store::{
    Actor, DeliveryId, DeliveryRecord, DeliveryStatus, IntakeOutcome, NewDelivery, NewVorgang, Result, StorageError,
};
use time::OffsetDateTime;

pub(crate) fn record_delivery(conn: &Connection, tenant: &TenantId, d: &NewDelivery) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO deliveries (tenant_id, id, received_at, channel, content_type, blob_key, size, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'RECEIVED')",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            d.id.0.to_string(),
            ms(d.received_at),
            d.channel,
            d.content_type,
            d.blob_key,
            d.size as i64
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

fn finish_delivery(
    conn: &Connection,
    tenant: &TenantId,
    id: DeliveryId,
    status: DeliveryStatus,
    vorgang: VorgangId,
) -> Result<()> {
    // Only an unfinished delivery changes: a concurrent second processing of a delivery that
    // already created its Vorgang must not relabel it a duplicate.
    let n = conn
        .prepare_cached(
            "UPDATE deliveries SET status = ?3, vorgang_id = ?4, error_field = NULL, error_message = NULL,
             attempts = attempts + 1 WHERE tenant_id = ?1 AND id = ?2 AND status IN ('RECEIVED', 'QUARANTINED', 'UNROUTABLE')",
        )
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string(), status.as_str(), vorgang.0.to_string()]))
        .map_err(map_err)?;
    if n == 0 {
        get_delivery(conn, tenant, id)?;
    }
    Ok(())
}

pub(crate) fn complete_intake(
    conn: &Connection,
    tenant: &TenantId,
    delivery: DeliveryId,
    v: &NewVorgang,
) -> Result<IntakeOutcome> {
    if let Some(existing) = head_by(conn, tenant, HeadBy::TransactionId, v.transaction_id.as_str())? {
        finish_delivery(conn, tenant, delivery, DeliveryStatus::Duplicate, existing.id)?;
        return Ok(IntakeOutcome::Duplicate(existing));
    }
    if head_by(conn, tenant, HeadBy::Nummer, v.nummer.as_str())?.is_some() {
        return Err(StorageError::NummerTaken);
    }
    let unit = v.unit.map(|u| u.0.to_string());
    if let Some(u) = &unit {
        if unit_name(conn, tenant, u)?.is_none() {
            return Err(StorageError::InvalidReference("unit"));
        }
    }
    let t = tenant.as_str();
    let id = v.id.0.to_string();
    let now = OffsetDateTime::now_utc();
    conn.prepare_cached(
        "INSERT INTO vorgaenge (tenant_id, id, nummer, transaction_id, status, status_since, version, eingang_at,
                                form_id, form_name, zustaendige_stelle, applicant_name, unit_id)
         VALUES (?1, ?2, ?3, ?4, 'NEU', ?5, 1, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .and_then(|mut s| {
        s.execute(params![
            t,
            id,
            v.nummer.as_str(),
            v.transaction_id.as_str(),
            ms(now),
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
    insert_daten_and_documents(conn, t, &id, &v.leika_ids, &v.applicant, &v.control, &v.form_data, &v.documents)?;
    let applicant_name = v.applicant.display_name();
    let searchable = domain::search::Searchable {
        nummer: v.nummer.as_str(),
        aktenzeichen: None,
        applicant_name: applicant_name.as_deref(),
        form_name: &v.form_name,
        form_text: "",
    };
    crate::search::index_new(conn, t, &id, rowid, searchable, &v.form_data)?;
    insert_event(
        conn,
        tenant,
        v.id,
        now,
        &Actor::system("Eingang"),
        &domain::vorgang::eingegangen(&v.nummer, &v.form_name, &v.transaction_id),
    )?;
    finish_delivery(conn, tenant, delivery, DeliveryStatus::Processed, v.id)?;
    Ok(IntakeOutcome::Created(store::VorgangHead {
        id: v.id,
        nummer: v.nummer.clone(),
        status: VorgangStatus::Neu,
        status_since: from_ms(ms(now)),
        version: 1,
    }))
}

pub(crate) fn quarantine(
    conn: &Connection,
    tenant: &TenantId,
    id: DeliveryId,
    field: &str,
    message: &str,
) -> Result<()> {
    mark_failed(conn, tenant, id, DeliveryStatus::Quarantined, field, message)
}

pub(crate) fn unroutable(conn: &Connection, tenant: &TenantId, id: DeliveryId, message: &str) -> Result<()> {
    mark_failed(conn, tenant, id, DeliveryStatus::Unroutable, "control.zustaendigeStelle", message)
}

/// Labels a delivery that could not become a Vorgang. One that has its Vorgang already (a
/// late failure report racing a successful processing) keeps its label.
fn mark_failed(
    conn: &Connection,
    tenant: &TenantId,
    id: DeliveryId,
    status: DeliveryStatus,
    field: &str,
    message: &str,
) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE deliveries SET status = ?3, error_field = ?4, error_message = ?5, attempts = attempts + 1
             WHERE tenant_id = ?1 AND id = ?2 AND vorgang_id IS NULL",
        )
        .and_then(|mut s| s.execute(params![tenant.as_str(), id.0.to_string(), status.as_str(), field, message]))
        .map_err(map_err)?;
    if n == 0 {
        get_delivery(conn, tenant, id)?;
        return Ok(());
    }
    if let Some(event) = status.failure_event(id, field) {
        let actor = DeliveryStatus::failure_actor();
        crate::vorgang::insert_event(conn, tenant, None, OffsetDateTime::now_utc(), &actor, &event)?;
    }
    Ok(())
}

/// Hands the delivery to the tenant intake routed it to, to be processed there from the start.
pub(crate) fn move_delivery(
    conn: &Connection,
    from: &TenantId,
    id: DeliveryId,
    to: &TenantId,
    blob_key: &str,
) -> Result<()> {
    let delivery = get_delivery(conn, from, id)?;
    if delivery.vorgang_id.is_some() {
        return Err(StorageError::Duplicate("delivery"));
    }
    if !tenant_exists(conn, to)? {
        return Err(StorageError::InvalidReference("tenant"));
    }
    conn.prepare_cached(
        "UPDATE deliveries SET tenant_id = ?3, status = 'RECEIVED', error_field = NULL, error_message = NULL,
                               blob_key = ?4
         WHERE tenant_id = ?1 AND id = ?2",
    )
    .and_then(|mut s| s.execute(params![from.as_str(), id.0.to_string(), to.as_str(), blob_key]))
    .map_err(map_err)?;
    if delivery.blob_key != blob_key {
        crate::jobs::insert(conn, &store::NewJob::blob_deletion(from, &delivery.blob_key))?;
    }
    Ok(())
}

pub(crate) const DELIVERY_COLUMNS: &str = "tenant_id, id, received_at, channel, content_type, blob_key, size, status,
    error_field, error_message, vorgang_id, attempts";

pub(crate) fn delivery_row(r: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        tenant: parsed_at(r, 0, TenantId::parse)?,
        id: DeliveryId(uuid_at(r, 1)?),
        received_at: from_ms(r.get(2)?),
        channel: r.get(3)?,
        content_type: r.get(4)?,
        blob_key: r.get(5)?,
        size: r.get::<_, i64>(6)? as u64,
        status: parsed_at(r, 7, DeliveryStatus::parse)?,
        error_field: r.get(8)?,
        error_message: r.get(9)?,
        vorgang_id: opt_uuid_at(r, 10)?.map(VorgangId),
        attempts: r.get::<_, i64>(11)? as u32,
    })
}

pub(crate) fn get_delivery(conn: &Connection, tenant: &TenantId, id: DeliveryId) -> Result<DeliveryRecord> {
    conn.prepare_cached(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = ?1 AND id = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), id.0.to_string()], delivery_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
}

pub(crate) fn list_quarantine(
    conn: &Connection,
    tenant: &TenantId,
    status: DeliveryStatus,
    limit: u32,
    offset: u32,
) -> Result<(Vec<DeliveryRecord>, u64)> {
    let items = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE status = ?1 AND tenant_id = ?2
             ORDER BY received_at DESC, id DESC LIMIT ?3 OFFSET ?4"
        ))
        .and_then(|mut s| {
            s.query_map(params![status.as_str(), tenant.as_str(), limit, offset], delivery_row)?.collect()
        })
        .map_err(map_err)?;
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM deliveries WHERE status = ?1 AND tenant_id = ?2")
        .and_then(|mut s| s.query_row(params![status.as_str(), tenant.as_str()], |r| r.get(0)))
        .map_err(map_err)?;
    Ok((items, total as u64))
}

pub(crate) fn unfinished(conn: &Connection, limit: u32) -> Result<Vec<DeliveryRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE status = 'RECEIVED' ORDER BY received_at LIMIT ?1"
    ))
    .and_then(|mut s| s.query_map([limit], delivery_row)?.collect())
    .map_err(map_err)
}

/// The bulky data and the documents of a Vorgang whose row was just inserted.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_daten_and_documents(
    conn: &Connection,
    t: &str,
    id: &str,
    leika_ids: &[String],
    applicant: &domain::Antragsteller,
    control: &serde_json::Value,
    form_data: &[domain::FormItem],
    documents: &[store::DocumentRecord],
) -> Result<()> {
    let json = (to_json(&leika_ids)?, to_json(&applicant)?, to_json(&control)?, to_json(&form_data)?);
    conn.prepare_cached(
        "INSERT INTO vorgang_daten (tenant_id, vorgang_id, leika_ids, applicant, control, form_data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| s.execute(params![t, id, json.0, json.1, json.2, json.3]))
    .map_err(map_err)?;
    for d in documents {
        conn.prepare_cached(
            "INSERT INTO documents (tenant_id, id, vorgang_id, kind, filename, content_type, size, blob_key, sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .and_then(|mut s| {
            s.execute(params![
                t,
                d.id.0.to_string(),
                id,
                d.kind.as_str(),
                d.filename,
                d.content_type,
                d.size as i64,
                d.blob_key,
                d.sha256
            ])
        })
        .map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl store::IntakeStore for crate::Tenant<'_> {
    async fn record_delivery(&self, delivery: NewDelivery) -> Result<()> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::intake::record_delivery(c, &tenant, &delivery)).await
    }

    async fn complete_intake(&self, delivery: DeliveryId, vorgang: NewVorgang) -> Result<IntakeOutcome> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::intake::complete_intake(c, &tenant, delivery, &vorgang)).await
    }

    async fn quarantine_delivery(&self, delivery: DeliveryId, field: &str, message: &str) -> Result<()> {
        let (tenant, field, message) = (self.tenant.clone(), field.to_owned(), message.to_owned());
        self.engine.write(move |c| crate::intake::quarantine(c, &tenant, delivery, &field, &message)).await
    }

    async fn unroutable_delivery(&self, delivery: DeliveryId, message: &str) -> Result<()> {
        let (tenant, message) = (self.tenant.clone(), message.to_owned());
        self.engine.write(move |c| crate::intake::unroutable(c, &tenant, delivery, &message)).await
    }

    async fn move_delivery(&self, delivery: DeliveryId, to: &TenantId, blob_key: &str) -> Result<()> {
        let (from, to, key) = (self.tenant.clone(), to.clone(), blob_key.to_owned());
        self.engine.write(move |c| crate::intake::move_delivery(c, &from, delivery, &to, &key)).await
    }

    async fn get_delivery(&self, delivery: DeliveryId) -> Result<DeliveryRecord> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::intake::get_delivery(c, &tenant, delivery)).await
    }

    async fn list_quarantine(
        &self,
        status: DeliveryStatus,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<DeliveryRecord>, u64)> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::intake::list_quarantine(c, &tenant, status, limit, offset)).await
    }

    async fn find_by_transaction(&self, tx: &TransactionId) -> Result<Option<VorgangHead>> {
        let (tenant, tx) = (self.tenant.clone(), tx.clone());
        self.engine.read(move |c| crate::vorgang::find_by_transaction(c, &tenant, &tx)).await
    }
}
