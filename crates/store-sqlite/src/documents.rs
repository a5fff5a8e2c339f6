//! Clerks' documents ("Daten anhängen") and the final deletion of a Vorgang (issue 6).

use crate::access::append_audit;
use crate::convert::{from_ms, ms, opt_uuid_at};
use crate::engine::map_err;
use crate::notes::vorgang_exists;
use crate::vorgang::{document_row, insert_event, DOCUMENT_COLUMNS};
use async_trait::async_trait;
use domain::{DocumentId, KommentarId, TenantId, UserId, VorgangEvent, VorgangId, WiedervorlageId};
use rusqlite::{params, Connection, OptionalExtension, Row};
use store::{Actor, AttachedTo, ClerkDocumentRecord, NewAuditEntry, NewJob, Purged, Result, StorageError};
use time::OffsetDateTime;

const CLERK_COLUMNS: &str = "attached_kind, attached_id, added_at, actor_id, actor_name";

fn clerk_document_row(r: &Row<'_>) -> rusqlite::Result<ClerkDocumentRecord> {
    let document = document_row(r)?;
    let kind: Option<String> = r.get(8)?;
    let attached_to = match (kind.as_deref(), opt_uuid_at(r, 9)?) {
        (Some("KOMMENTAR"), Some(id)) => AttachedTo::Kommentar(KommentarId(id)),
        (Some("WIEDERVORLAGE"), Some(id)) => AttachedTo::Wiedervorlage(WiedervorlageId(id)),
        _ => AttachedTo::Vorgang,
    };
    Ok(ClerkDocumentRecord {
        document,
        attached_to,
        at: from_ms(r.get::<_, Option<i64>>(10)?.unwrap_or(0)),
        by: Actor { user: opt_uuid_at(r, 11)?.map(UserId), name: r.get::<_, Option<String>>(12)?.unwrap_or_default() },
    })
}

fn note_of_vorgang(conn: &Connection, tenant: &TenantId, vorgang: VorgangId, to: AttachedTo) -> Result<bool> {
    let (table, id) = match to {
        AttachedTo::Vorgang => return vorgang_exists(conn, tenant, vorgang),
        AttachedTo::Kommentar(k) => ("kommentare", k.0),
        AttachedTo::Wiedervorlage(w) => ("wiedervorlagen", w.0),
    };
    conn.prepare_cached(&format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE tenant_id = ?1 AND id = ?2 AND vorgang_id = ?3)"
    ))
    .and_then(|mut s| s.query_row(params![tenant.as_str(), id.to_string(), vorgang.0.to_string()], |r| r.get(0)))
    .map_err(map_err)
}

/// Stores the record as it is; checks that the tenant holds the Vorgang (and the note).
pub(crate) fn insert_clerk_document(conn: &Connection, tenant: &TenantId, c: &ClerkDocumentRecord) -> Result<()> {
    let d = &c.document;
    if !note_of_vorgang(conn, tenant, d.vorgang_id, c.attached_to)? {
        return Err(StorageError::NotFound);
    }
    let attached_id = match c.attached_to {
        AttachedTo::Vorgang => None,
        AttachedTo::Kommentar(k) => Some(k.0.to_string()),
        AttachedTo::Wiedervorlage(w) => Some(w.0.to_string()),
    };
    conn.prepare_cached(
        "INSERT INTO documents (tenant_id, id, vorgang_id, kind, filename, content_type, size, blob_key, sha256,
                                attached_kind, attached_id, added_at, actor_id, actor_name)
         VALUES (?1, ?2, ?3, 'CLERK', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            d.id.0.to_string(),
            d.vorgang_id.0.to_string(),
            d.filename,
            d.content_type,
            d.size as i64,
            d.blob_key,
            d.sha256,
            c.attached_to.kind(),
            attached_id,
            ms(c.at),
            c.by.user.map(|u| u.0.to_string()),
            c.by.name
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

pub(crate) fn add_clerk_document(conn: &Connection, tenant: &TenantId, c: &ClerkDocumentRecord) -> Result<()> {
    insert_clerk_document(conn, tenant, c)?;
    let event = VorgangEvent::DokumentAngehaengt { document_id: c.document.id, zu: c.attached_to.kind().into() };
    insert_event(conn, tenant, c.document.vorgang_id, c.at, &c.by, &event)
}

pub(crate) fn list_clerk_documents(
    conn: &Connection,
    tenant: &TenantId,
    vorgang: VorgangId,
) -> Result<Vec<ClerkDocumentRecord>> {
    if !vorgang_exists(conn, tenant, vorgang)? {
        return Err(StorageError::NotFound);
    }
    conn.prepare_cached(&format!(
        "SELECT {DOCUMENT_COLUMNS}, {CLERK_COLUMNS} FROM documents
         WHERE tenant_id = ?1 AND vorgang_id = ?2 AND kind = 'CLERK' ORDER BY added_at, id"
    ))
    .and_then(|mut s| s.query_map(params![tenant.as_str(), vorgang.0.to_string()], clerk_document_row)?.collect())
    .map_err(map_err)
}

/// The tenant's clerk documents after `after` (an id, "" for the first), by id: export.
pub(crate) fn clerk_documents_after(
    conn: &Connection,
    tenant: &TenantId,
    after: &str,
    limit: u32,
) -> Result<Vec<ClerkDocumentRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {DOCUMENT_COLUMNS}, {CLERK_COLUMNS} FROM documents
         WHERE tenant_id = ?1 AND kind = 'CLERK' AND id > ?2 ORDER BY id LIMIT ?3"
    ))
    .and_then(|mut s| s.query_map(params![tenant.as_str(), after, limit], clerk_document_row)?.collect())
    .map_err(map_err)
}

fn queue_blob_deletion(conn: &Connection, tenant: &TenantId, key: &str) -> Result<()> {
    crate::jobs::insert(conn, &NewJob::blob_deletion(tenant, key)).map(drop)
}

pub(crate) fn remove_clerk_document(
    conn: &Connection,
    tenant: &TenantId,
    id: DocumentId,
    actor: &Actor,
) -> Result<ClerkDocumentRecord> {
    let (t, did) = (tenant.as_str(), id.0.to_string());
    let found = conn
        .prepare_cached(&format!(
            "SELECT {DOCUMENT_COLUMNS}, {CLERK_COLUMNS} FROM documents WHERE tenant_id = ?1 AND id = ?2 AND kind = 'CLERK'"
        ))
        .and_then(|mut s| s.query_row(params![t, did], clerk_document_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    conn.prepare_cached("DELETE FROM documents WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.execute(params![t, did]))
        .map_err(map_err)?;
    queue_blob_deletion(conn, tenant, &found.document.blob_key)?;
    let event = VorgangEvent::DokumentEntfernt { document_id: id };
    insert_event(conn, tenant, found.document.vorgang_id, OffsetDateTime::now_utc(), actor, &event)?;
    Ok(found)
}

pub(crate) fn purge_vorgang(
    conn: &Connection,
    tenant: &TenantId,
    id: VorgangId,
    expected_version: i64,
    tombstone: &NewAuditEntry,
    actor: &Actor,
) -> Result<Purged> {
    let (t, vid) = (tenant.as_str(), id.0.to_string());
    let found: Option<(i64, String)> = conn
        .prepare_cached("SELECT version, nummer FROM vorgaenge WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.query_row(params![t, vid], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(map_err)?;
    let Some((version, nummer)) = found else {
        return Err(StorageError::NotFound);
    };
    if version != expected_version {
        return Err(StorageError::Conflict { current_version: version });
    }
    let blob_keys: Vec<String> = conn
        .prepare_cached(
            "SELECT blob_key FROM documents WHERE tenant_id = ?1 AND vorgang_id = ?2
             UNION SELECT blob_key FROM deliveries WHERE tenant_id = ?1 AND vorgang_id = ?2",
        )
        .and_then(|mut s| s.query_map(params![t, vid], |r| r.get(0))?.collect())
        .map_err(map_err)?;
    for table in ["documents", "kommentare", "wiedervorlagen", "events", "deliveries", "vorgang_daten"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE tenant_id = ?1 AND vorgang_id = ?2"))
            .and_then(|mut s| s.execute(params![t, vid]))
            .map_err(map_err)?;
    }
    conn.prepare_cached("DELETE FROM vorgaenge WHERE tenant_id = ?1 AND id = ?2")
        .and_then(|mut s| s.execute(params![t, vid]))
        .map_err(map_err)?;
    for key in &blob_keys {
        queue_blob_deletion(conn, tenant, key)?;
    }
    append_audit(conn, tenant, tombstone)?;
    insert_event(conn, tenant, id, tombstone.at, actor, &VorgangEvent::Geloescht { vorgang_nummer: nummer })?;
    Ok(Purged { blob_keys })
}

#[async_trait]
impl store::DocumentStore for crate::Tenant<'_> {
    async fn add_clerk_document(&self, doc: ClerkDocumentRecord) -> Result<()> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::documents::add_clerk_document(c, &tenant, &doc)).await
    }

    async fn list_clerk_documents(&self, vorgang: VorgangId) -> Result<Vec<ClerkDocumentRecord>> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::documents::list_clerk_documents(c, &tenant, vorgang)).await
    }

    async fn remove_clerk_document(&self, id: DocumentId, actor: &Actor) -> Result<ClerkDocumentRecord> {
        let (tenant, actor) = (self.tenant.clone(), actor.clone());
        self.engine.write(move |c| crate::documents::remove_clerk_document(c, &tenant, id, &actor)).await
    }

    async fn purge_vorgang(
        &self,
        id: VorgangId,
        expected_version: i64,
        tombstone: NewAuditEntry,
        actor: &Actor,
    ) -> Result<Purged> {
        let (tenant, actor) = (self.tenant.clone(), actor.clone());
        self.engine
            .write(move |c| crate::documents::purge_vorgang(c, &tenant, id, expected_version, &tombstone, &actor))
            .await
    }
}
