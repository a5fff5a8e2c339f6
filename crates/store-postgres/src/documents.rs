//! Clerks' documents ("Daten anhängen") and the final deletion of a Vorgang (issue 6).

use crate::convert::{finish, get, map_err, ms};
use crate::tenants::append_audit;
use crate::vorgang::{append_event, document_row, DOCUMENT_COLUMNS};
use async_trait::async_trait;
use domain::{DocumentId, KommentarId, TenantId, UserId, VorgangEvent, VorgangId, WiedervorlageId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};
use store::{Actor, AttachedTo, ClerkDocumentRecord, NewAuditEntry, NewJob, Purged, Result, StorageError};
use uuid::Uuid;

/// [`DOCUMENT_COLUMNS`] and then these.
const CLERK_COLUMNS: &str = "attached_kind, attached_id, added_at, actor_id, actor_name";

fn clerk_document_row(r: &PgRow) -> Result<ClerkDocumentRecord> {
    let kind: Option<String> = get(r, 8)?;
    let attached_to = match (kind.as_deref(), get::<Option<Uuid>>(r, 9)?) {
        (Some("KOMMENTAR"), Some(id)) => AttachedTo::Kommentar(KommentarId(id)),
        (Some("WIEDERVORLAGE"), Some(id)) => AttachedTo::Wiedervorlage(WiedervorlageId(id)),
        _ => AttachedTo::Vorgang,
    };
    Ok(ClerkDocumentRecord {
        document: document_row(r)?,
        attached_to,
        at: get::<Option<time::OffsetDateTime>>(r, 10)?.unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        by: Actor {
            user: get::<Option<Uuid>>(r, 11)?.map(UserId),
            name: get::<Option<String>>(r, 12)?.unwrap_or_default(),
        },
    })
}

/// Inserts the record as it is, if the tenant holds its Vorgang (and the note it hangs on);
/// NotFound otherwise.
pub(crate) async fn insert_clerk_document(
    conn: &mut PgConnection,
    tenant: &TenantId,
    c: &ClerkDocumentRecord,
) -> Result<()> {
    let d = &c.document;
    let (note_check, note_id) = match c.attached_to {
        AttachedTo::Vorgang => ("", None),
        AttachedTo::Kommentar(k) => (
            "AND EXISTS (SELECT 1 FROM kommentare k WHERE k.tenant_id = v.tenant_id AND k.vorgang_id = v.id AND k.id = $14)",
            Some(k.0),
        ),
        AttachedTo::Wiedervorlage(w) => (
            "AND EXISTS (SELECT 1 FROM wiedervorlagen w WHERE w.tenant_id = v.tenant_id AND w.vorgang_id = v.id AND w.id = $14)",
            Some(w.0),
        ),
    };
    let sql = format!(
        "INSERT INTO documents (tenant_id, id, vorgang_id, kind, filename, content_type, size, blob_key, sha256,
                                attached_kind, attached_id, added_at, actor_id, actor_name)
         SELECT v.tenant_id, $3, v.id, 'CLERK', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13
         FROM vorgaenge v WHERE v.tenant_id = $1 AND v.id = $2 {note_check}"
    );
    let mut q = sqlx::query(&sql)
        .bind(tenant.as_str())
        .bind(d.vorgang_id.0)
        .bind(d.id.0)
        .bind(&d.filename)
        .bind(&d.content_type)
        .bind(i64::try_from(d.size).map_err(|_| StorageError::Other("document too large".into()))?)
        .bind(&d.blob_key)
        .bind(&d.sha256)
        .bind(c.attached_to.kind())
        .bind(note_id)
        .bind(ms(c.at))
        .bind(c.by.user.map(|u| u.0))
        .bind(&c.by.name);
    if let Some(id) = note_id {
        q = q.bind(id);
    }
    let inserted = q.execute(&mut *conn).await.map_err(map_err)?.rows_affected();
    if inserted == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

pub(crate) async fn add_clerk_document(pool: &PgPool, tenant: &TenantId, c: &ClerkDocumentRecord) -> Result<()> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let added = async {
        insert_clerk_document(&mut tx, tenant, c).await?;
        let event = VorgangEvent::DokumentAngehaengt { document_id: c.document.id, zu: c.attached_to.kind().into() };
        append_event(&mut tx, tenant, c.document.vorgang_id, ms(c.at), &c.by, &event).await
    }
    .await;
    finish(tx, added).await
}

pub(crate) async fn list_clerk_documents(
    pool: &PgPool,
    tenant: &TenantId,
    vorgang: VorgangId,
) -> Result<Vec<ClerkDocumentRecord>> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM vorgaenge WHERE tenant_id = $1 AND id = $2)")
        .bind(tenant.as_str())
        .bind(vorgang.0)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    if !exists {
        return Err(StorageError::NotFound);
    }
    sqlx::query(&format!(
        "SELECT {DOCUMENT_COLUMNS}, {CLERK_COLUMNS} FROM documents
         WHERE tenant_id = $1 AND vorgang_id = $2 AND kind = 'CLERK' ORDER BY added_at, id"
    ))
    .bind(tenant.as_str())
    .bind(vorgang.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?
    .iter()
    .map(clerk_document_row)
    .collect()
}

/// The tenant's clerk documents after `after` (by id), at most `limit`: export.
pub(crate) async fn clerk_documents_after(
    pool: &PgPool,
    tenant: &TenantId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ClerkDocumentRecord>> {
    sqlx::query(&format!(
        "SELECT {DOCUMENT_COLUMNS}, {CLERK_COLUMNS} FROM documents
         WHERE tenant_id = $1 AND kind = 'CLERK' AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
    ))
    .bind(tenant.as_str())
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(map_err)?
    .iter()
    .map(clerk_document_row)
    .collect()
}

pub(crate) async fn remove_clerk_document(
    pool: &PgPool,
    tenant: &TenantId,
    id: DocumentId,
    actor: &Actor,
) -> Result<ClerkDocumentRecord> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let removed = async {
        let row = sqlx::query(&format!(
            "DELETE FROM documents WHERE tenant_id = $1 AND id = $2 AND kind = 'CLERK'
             RETURNING {DOCUMENT_COLUMNS}, {CLERK_COLUMNS}"
        ))
        .bind(tenant.as_str())
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        let found = clerk_document_row(&row)?;
        crate::jobs::insert(&mut tx, &NewJob::blob_deletion(tenant, &found.document.blob_key)).await?;
        let event = VorgangEvent::DokumentEntfernt { document_id: id };
        let now = ms(time::OffsetDateTime::now_utc());
        append_event(&mut tx, tenant, found.document.vorgang_id, now, actor, &event).await?;
        Ok(found)
    }
    .await;
    finish(tx, removed).await
}

pub(crate) async fn purge_vorgang(
    pool: &PgPool,
    tenant: &TenantId,
    id: VorgangId,
    expected_version: i64,
    tombstone: &NewAuditEntry,
    actor: &Actor,
) -> Result<Purged> {
    let t = tenant.as_str();
    let mut tx = pool.begin().await.map_err(map_err)?;
    let purged = async {
        let row = sqlx::query("SELECT version, nummer FROM vorgaenge WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(t)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
            .ok_or(StorageError::NotFound)?;
        let (version, nummer): (i64, String) = (get(&row, 0)?, get(&row, 1)?);
        if version != expected_version {
            return Err(StorageError::Conflict { current_version: version });
        }
        let blob_keys: Vec<String> = sqlx::query_scalar(
            "SELECT blob_key FROM documents WHERE tenant_id = $1 AND vorgang_id = $2
             UNION SELECT blob_key FROM deliveries WHERE tenant_id = $1 AND vorgang_id = $2",
        )
        .bind(t)
        .bind(id.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        for table in ["documents", "kommentare", "wiedervorlagen", "events", "deliveries", "vorgang_daten"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND vorgang_id = $2"))
                .bind(t)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        sqlx::query("DELETE FROM vorgaenge WHERE tenant_id = $1 AND id = $2")
            .bind(t)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        for key in &blob_keys {
            crate::jobs::insert(&mut tx, &NewJob::blob_deletion(tenant, key)).await?;
        }
        append_audit(&mut *tx, tenant, tombstone).await?;
        let event = VorgangEvent::Geloescht { vorgang_nummer: nummer };
        append_event(&mut tx, tenant, id, ms(tombstone.at), actor, &event).await?;
        Ok(Purged { blob_keys })
    }
    .await;
    finish(tx, purged).await
}

#[async_trait]
impl store::DocumentStore for crate::Tenant<'_> {
    async fn add_clerk_document(&self, doc: ClerkDocumentRecord) -> Result<()> {
        let tenant = &self.tenant;
        crate::documents::add_clerk_document(&self.pool, tenant, &doc).await
    }

    async fn list_clerk_documents(&self, vorgang: VorgangId) -> Result<Vec<ClerkDocumentRecord>> {
        let tenant = &self.tenant;
        crate::documents::list_clerk_documents(&self.pool, tenant, vorgang).await
    }

    async fn remove_clerk_document(&self, id: DocumentId, actor: &Actor) -> Result<ClerkDocumentRecord> {
        let tenant = &self.tenant;
        crate::documents::remove_clerk_document(&self.pool, tenant, id, actor).await
    }

    async fn purge_vorgang(
        &self,
        id: VorgangId,
        expected_version: i64,
        tombstone: NewAuditEntry,
        actor: &Actor,
    ) -> Result<Purged> {
        let tenant = &self.tenant;
        crate::documents::purge_vorgang(&self.pool, tenant, id, expected_version, &tombstone, actor).await
    }
}
