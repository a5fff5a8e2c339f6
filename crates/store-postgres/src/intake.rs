use crate::convert::{get, map_err, ms, parsed, to_i64, to_json, to_u64};
use crate::vorgang::{append_event, head_by_transaction, NOW_MS};
use async_trait::async_trait;
use domain::TransactionId;
use domain::{TenantId, VorgangId, VorgangStatus};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};
use store::{
    Actor, DeliveryId, DeliveryRecord, DeliveryStatus, IntakeOutcome, NewDelivery, NewVorgang, Result, StorageError,
    VorgangHead,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) async fn record_delivery(pool: &PgPool, tenant: &TenantId, d: &NewDelivery) -> Result<()> {
    sqlx::query(
        "INSERT INTO deliveries (tenant_id, id, received_at, channel, content_type, blob_key, size, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'RECEIVED')",
    )
    .bind(tenant.as_str())
    .bind(d.id.0)
    .bind(ms(d.received_at))
    .bind(&d.channel)
    .bind(&d.content_type)
    .bind(&d.blob_key)
    .bind(to_i64(d.size, "delivery size")?)
    .execute(pool)
    .await
    .map_err(map_err)?;
    Ok(())
}

async fn finish_delivery(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: DeliveryId,
    status: DeliveryStatus,
    vorgang: VorgangId,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE deliveries SET status = $3, vorgang_id = $4, error_field = NULL, error_message = NULL,
         attempts = attempts + 1
         WHERE tenant_id = $1 AND id = $2 AND status IN ('RECEIVED', 'QUARANTINED', 'UNROUTABLE')",
    )
    .bind(tenant.as_str())
    .bind(id.0)
    .bind(status.as_str())
    .bind(vorgang.0)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    // Only an unfinished delivery changes: a concurrent second processing of a delivery that
    // already created its Vorgang must not relabel it a duplicate.
    if done.rows_affected() == 0 && crate::transfer::missing(&mut *conn, tenant, "deliveries", vec![id.0]).await? > 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// Creates the Vorgang, or finds the one that has the transaction id already.
///
/// Race-safe across processes without a pre-check: `INSERT ... ON CONFLICT DO NOTHING` either
/// inserts, or (after waiting for a concurrent inserter of the same key to commit or roll
/// back) inserts nothing. Only then does it look at what is there, in a new snapshot (READ
/// COMMITTED): the transaction id taken means a duplicate, the number taken means
/// [`StorageError::NummerTaken`]. A concurrent duplicate is thus always `Duplicate`, never an
/// error.
pub(crate) async fn complete_intake(
    pool: &PgPool,
    tenant: &TenantId,
    delivery: DeliveryId,
    v: &NewVorgang,
) -> Result<IntakeOutcome> {
    let t = tenant.as_str();
    let json = (to_json(&v.leika_ids)?, to_json(&v.applicant)?, to_json(&v.control)?, to_json(&v.form_data)?);
    let applicant_name = v.applicant.display_name();
    let searchable = domain::search::Searchable {
        nummer: v.nummer.as_str(),
        aktenzeichen: None,
        applicant_name: applicant_name.as_deref(),
        form_name: &v.form_name,
        form_text: "",
    };
    let (words, such_text) = crate::search::texts(searchable, &v.form_data);
    let mut tx = pool.begin().await.map_err(map_err)?;
    let inserted: Option<OffsetDateTime> = sqlx::query_scalar(&format!(
        "INSERT INTO vorgaenge (tenant_id, id, nummer, transaction_id, status, status_since, version, eingang_at,
                                form_id, form_name, zustaendige_stelle, applicant_name, unit_id, such_vektor)
         VALUES ($1, $2, $3, $4, 'NEU', {NOW_MS}, 1, $5, $6, $7, $8, $9, $10, to_tsvector('simple', $11))
         ON CONFLICT DO NOTHING
         RETURNING status_since"
    ))
    .bind(t)
    .bind(v.id.0)
    .bind(v.nummer.as_str())
    .bind(v.transaction_id.as_str())
    .bind(ms(v.eingang_at))
    .bind(&v.form_id)
    .bind(&v.form_name)
    .bind(&v.zustaendige_stelle)
    .bind(&applicant_name)
    .bind(v.unit.map(|u| u.0))
    .bind(&words)
    .fetch_optional(&mut *tx)
    .await
    .map_err(map_err)?;

    let Some(now) = inserted else {
        // Nothing inserted: which key is taken?
        if let Some(existing) = head_by_transaction(&mut tx, tenant, v.transaction_id.as_str()).await? {
            finish_delivery(&mut tx, tenant, delivery, DeliveryStatus::Duplicate, existing.id).await?;
            tx.commit().await.map_err(map_err)?;
            return Ok(IntakeOutcome::Duplicate(existing));
        }
        let nummer_taken: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM vorgaenge WHERE tenant_id = $1 AND nummer = $2)")
                .bind(t)
                .bind(v.nummer.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?;
        return Err(if nummer_taken {
            StorageError::NummerTaken
        } else {
            StorageError::Other(format!("Vorgang id {} exists already", v.id))
        });
    };

    sqlx::query(
        "INSERT INTO vorgang_daten (tenant_id, vorgang_id, leika_ids, applicant, control, form_data, such_text)
         VALUES ($1, $2, $3::json, $4::json, $5::json, $6::json, $7)",
    )
    .bind(t)
    .bind(v.id.0)
    .bind(json.0)
    .bind(json.1)
    .bind(json.2)
    .bind(json.3)
    .bind(&such_text)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    let docs: Vec<(Uuid, &store::DocumentRecord)> = v.documents.iter().map(|d| (v.id.0, d)).collect();
    crate::transfer::insert_documents(&mut tx, t, &docs).await?;
    finish_delivery(&mut tx, tenant, delivery, DeliveryStatus::Processed, v.id).await?;
    append_event(
        &mut tx,
        tenant,
        v.id,
        now,
        &Actor::system("Eingang"),
        &domain::vorgang::eingegangen(&v.nummer, &v.form_name, &v.transaction_id),
    )
    .await?;
    tx.commit().await.map_err(map_err)?;
    Ok(IntakeOutcome::Created(VorgangHead {
        id: v.id,
        nummer: v.nummer.clone(),
        status: VorgangStatus::Neu,
        status_since: now,
        version: 1,
    }))
}

/// Marks a delivery that failed; one that already has a Vorgang is never relabelled (a late
/// failure report of a second processing), and that is no error.
async fn mark_failed(
    pool: &PgPool,
    tenant: &TenantId,
    id: DeliveryId,
    status: DeliveryStatus,
    field: &str,
    message: &str,
) -> Result<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let done = sqlx::query(
        "UPDATE deliveries SET status = $3, error_field = $4, error_message = $5, attempts = attempts + 1
         WHERE tenant_id = $1 AND id = $2 AND vorgang_id IS NULL",
    )
    .bind(tenant.as_str())
    .bind(id.0)
    .bind(status.as_str())
    .bind(field)
    .bind(message)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if done.rows_affected() == 0 && crate::transfer::missing(&mut tx, tenant, "deliveries", vec![id.0]).await? > 0 {
        return Err(StorageError::NotFound);
    }
    if done.rows_affected() == 0 {
        return Ok(());
    }
    if let Some(event) = status.failure_event(id, field) {
        let actor = DeliveryStatus::failure_actor();
        append_event(&mut tx, tenant, None, ms(OffsetDateTime::now_utc()), &actor, &event).await?;
    }
    tx.commit().await.map_err(map_err)?;
    Ok(())
}

pub(crate) async fn quarantine(
    pool: &PgPool,
    tenant: &TenantId,
    id: DeliveryId,
    field: &str,
    message: &str,
) -> Result<()> {
    mark_failed(pool, tenant, id, DeliveryStatus::Quarantined, field, message).await
}

/// The field named is the one routing reads: no unit carries the delivery's zustaendigeStelle.
pub(crate) async fn unroutable(pool: &PgPool, tenant: &TenantId, id: DeliveryId, message: &str) -> Result<()> {
    mark_failed(pool, tenant, id, DeliveryStatus::Unroutable, "control.zustaendigeStelle", message).await
}

/// Hands the delivery to another tenant as RECEIVED, so intake processes it there. One that
/// already has a Vorgang stays where its Vorgang is: [`StorageError::Duplicate`]`("delivery")`.
pub(crate) async fn move_delivery(
    pool: &PgPool,
    from: &TenantId,
    id: DeliveryId,
    to: &TenantId,
    blob_key: &str,
) -> Result<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    // The old key, read under the row lock the UPDATE takes anyway.
    let old: Option<(String,)> = sqlx::query_as(
        "SELECT blob_key FROM deliveries WHERE tenant_id = $1 AND id = $2 AND vorgang_id IS NULL FOR UPDATE",
    )
    .bind(from.as_str())
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await
    .map_err(map_err)?;
    let Some((old_key,)) = old else {
        return Err(if crate::transfer::missing(&mut tx, from, "deliveries", vec![id.0]).await? > 0 {
            StorageError::NotFound
        } else {
            StorageError::Duplicate("delivery")
        });
    };
    sqlx::query(
        "UPDATE deliveries SET tenant_id = $3, status = 'RECEIVED', error_field = NULL, error_message = NULL,
                               blob_key = $4
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(from.as_str())
    .bind(id.0)
    .bind(to.as_str())
    .bind(blob_key)
    .execute(&mut *tx)
    .await
    .map_err(map_err)?;
    if old_key != blob_key {
        crate::jobs::insert(&mut tx, &store::NewJob::blob_deletion(from, &old_key)).await?;
    }
    tx.commit().await.map_err(map_err)
}

pub(crate) const DELIVERY_COLUMNS: &str = "tenant_id, id, received_at, channel, content_type, blob_key, size, status,
    error_field, error_message, vorgang_id, attempts";

pub(crate) fn delivery_row(r: &PgRow) -> Result<DeliveryRecord> {
    Ok(DeliveryRecord {
        tenant: parsed(r, 0, TenantId::parse)?,
        id: DeliveryId(get(r, 1)?),
        received_at: get(r, 2)?,
        channel: get(r, 3)?,
        content_type: get(r, 4)?,
        blob_key: get(r, 5)?,
        size: to_u64(get(r, 6)?),
        status: parsed(r, 7, DeliveryStatus::parse)?,
        error_field: get(r, 8)?,
        error_message: get(r, 9)?,
        vorgang_id: get::<Option<Uuid>>(r, 10)?.map(VorgangId),
        attempts: u32::try_from(get::<i32>(r, 11)?).unwrap_or(0),
    })
}

pub(crate) async fn get_delivery(pool: &PgPool, tenant: &TenantId, id: DeliveryId) -> Result<DeliveryRecord> {
    let row = sqlx::query(&format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant.as_str())
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    delivery_row(&row)
}

pub(crate) async fn list_quarantine(
    pool: &PgPool,
    tenant: &TenantId,
    status: DeliveryStatus,
    limit: u32,
    offset: u32,
) -> Result<(Vec<DeliveryRecord>, u64)> {
    // One snapshot for the page and the total.
    let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(map_err)?;
    let items = sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = $1 AND status = $4
         ORDER BY received_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(tenant.as_str())
    .bind(i64::from(limit))
    .bind(i64::from(offset))
    .bind(status.as_str())
    .fetch_all(&mut *tx)
    .await
    .map_err(map_err)?
    .iter()
    .map(delivery_row)
    .collect::<Result<Vec<_>>>()?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND status = $2")
        .bind(tenant.as_str())
        .bind(status.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    Ok((items, to_u64(total)))
}

pub(crate) async fn unfinished(pool: &PgPool, limit: u32) -> Result<Vec<DeliveryRecord>> {
    sqlx::query(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE status = 'RECEIVED' ORDER BY received_at, tenant_id, id LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(map_err)?
    .iter()
    .map(delivery_row)
    .collect()
}

#[async_trait]
impl store::IntakeStore for crate::Tenant<'_> {
    async fn record_delivery(&self, delivery: NewDelivery) -> Result<()> {
        crate::intake::record_delivery(&self.pool, &self.tenant, &delivery).await
    }

    async fn complete_intake(&self, delivery: DeliveryId, vorgang: NewVorgang) -> Result<IntakeOutcome> {
        let tenant = &self.tenant;
        crate::intake::complete_intake(&self.pool, tenant, delivery, &vorgang).await
    }

    async fn quarantine_delivery(&self, delivery: DeliveryId, field: &str, message: &str) -> Result<()> {
        let tenant = &self.tenant;
        crate::intake::quarantine(&self.pool, tenant, delivery, field, message).await
    }

    async fn unroutable_delivery(&self, delivery: DeliveryId, message: &str) -> Result<()> {
        let tenant = &self.tenant;
        crate::intake::unroutable(&self.pool, tenant, delivery, message).await
    }

    async fn move_delivery(&self, delivery: DeliveryId, to: &TenantId, blob_key: &str) -> Result<()> {
        let from = &self.tenant;
        crate::intake::move_delivery(&self.pool, from, delivery, to, blob_key).await
    }

    async fn get_delivery(&self, delivery: DeliveryId) -> Result<DeliveryRecord> {
        let tenant = &self.tenant;
        crate::intake::get_delivery(&self.pool, tenant, delivery).await
    }

    async fn list_quarantine(
        &self,
        status: DeliveryStatus,
        limit: u32,
        offset: u32,
    ) -> Result<(Vec<DeliveryRecord>, u64)> {
        let tenant = &self.tenant;
        crate::intake::list_quarantine(&self.pool, tenant, status, limit, offset).await
    }

    async fn find_by_transaction(&self, tx: &TransactionId) -> Result<Option<VorgangHead>> {
        let tenant = &self.tenant;
        crate::vorgang::find_by_transaction(&self.pool, tenant, tx).await
    }
}
