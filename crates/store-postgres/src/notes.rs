//! Kommentare and Wiedervorlagen (issue 6): the clerk's own notes on a Vorgang.
//!
//! Notes never change the Vorgang's version, but every change of a Wiedervorlage keeps
//! `vorgaenge.naechste_frist` (the earliest open Frist) in the same transaction. Such a change
//! first locks the Vorgang's row (`FOR NO KEY UPDATE`, conflicting with the `FOR UPDATE` of
//! commands): so the changes of one Vorgang's Wiedervorlagen take turns, and the recomputing
//! statement, which runs after the lock is taken, sees what the one before committed. Locks
//! are always taken Vorgang first, then Wiedervorlage, then (last) the event log.

use crate::convert::{finish, get, map_err, ms, parsed, to_u64};
use crate::vorgang::{append_event, Arg, Filter, NOW_MS};
use async_trait::async_trait;
use domain::notes::{plan_wiedervorlage_update, WiedervorlageNow, WiedervorlagePlan};
use domain::{KommentarId, TenantId, UserId, Visibility, VorgangEvent, VorgangId, Vorgangsnummer, WiedervorlageId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};
use store::{
    Actor, KommentarRecord, NewWiedervorlage, Result, StorageError, WiedervorlageRecord, WiedervorlageUpdate,
    WiedervorlagenQuery,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) const KOMMENTAR_COLUMNS: &str = "k.id, k.vorgang_id, k.text, k.at, k.actor_id, k.actor_name";

pub(crate) fn kommentar_row(r: &PgRow) -> Result<KommentarRecord> {
    Ok(KommentarRecord {
        id: KommentarId(get(r, 0)?),
        vorgang_id: VorgangId(get(r, 1)?),
        text: get(r, 2)?,
        at: get(r, 3)?,
        author: Actor { user: get::<Option<Uuid>>(r, 4)?.map(UserId), name: get(r, 5)? },
    })
}

/// The columns [`wiedervorlage_row`] reads, from `wiedervorlagen w` joined with `vorgaenge v`.
pub(crate) const WIEDERVORLAGE_COLUMNS: &str = "w.id, w.vorgang_id, v.nummer, w.betreff, w.beschreibung, w.frist,
     w.erledigt, w.erledigt_at, w.created_at, w.actor_id, w.actor_name, w.version";

/// `FROM` for [`WIEDERVORLAGE_COLUMNS`].
pub(crate) const WIEDERVORLAGE_FROM: &str =
    "wiedervorlagen w JOIN vorgaenge v ON v.tenant_id = w.tenant_id AND v.id = w.vorgang_id";

pub(crate) fn wiedervorlage_row(r: &PgRow) -> Result<WiedervorlageRecord> {
    Ok(WiedervorlageRecord {
        id: WiedervorlageId(get(r, 0)?),
        vorgang_id: VorgangId(get(r, 1)?),
        vorgang_nummer: parsed(r, 2, Vorgangsnummer::parse)?,
        betreff: get(r, 3)?,
        beschreibung: get(r, 4)?,
        frist: get(r, 5)?,
        erledigt: get(r, 6)?,
        erledigt_at: get(r, 7)?,
        created_at: get(r, 8)?,
        created_by: Actor { user: get::<Option<Uuid>>(r, 9)?.map(UserId), name: get(r, 10)? },
        version: get(r, 11)?,
    })
}

/// Sets `naechste_frist` of the tenant's Vorgänge `ids` to the earliest Frist of their open
/// Wiedervorlagen. Run it after taking the rows' locks, in a statement of its own (READ
/// COMMITTED: its snapshot then holds what earlier lock holders committed).
pub(crate) async fn refresh_naechste_frist(conn: &mut PgConnection, tenant: &TenantId, ids: &[Uuid]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE vorgaenge v SET naechste_frist =
             (SELECT min(w.frist) FROM wiedervorlagen w
              WHERE w.tenant_id = v.tenant_id AND w.vorgang_id = v.id AND NOT w.erledigt)
         WHERE v.tenant_id = $1 AND v.id = ANY($2)",
    )
    .bind(tenant.as_str())
    .bind(ids)
    .execute(conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Locks the tenant's Vorgang for a change of its notes; NotFound if there is none.
async fn lock_vorgang(conn: &mut PgConnection, tenant: &TenantId, vorgang: Uuid) -> Result<()> {
    sqlx::query("SELECT 1 FROM vorgaenge WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE")
        .bind(tenant.as_str())
        .bind(vorgang)
        .fetch_optional(conn)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
        .map(|_| ())
}

/// Whether the tenant has the Vorgang (for lists that came back empty).
async fn vorgang_exists(conn: &mut PgConnection, tenant: &TenantId, vorgang: VorgangId) -> Result<bool> {
    Ok(crate::transfer::missing(conn, tenant, "vorgaenge", vec![vorgang.0]).await? == 0)
}

pub(crate) async fn add_kommentar(
    pool: &PgPool,
    tenant: &TenantId,
    vorgang: VorgangId,
    id: KommentarId,
    text: &str,
    author: &Actor,
) -> Result<KommentarRecord> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let added = async {
        // Inserted only if the tenant has the Vorgang; the foreign key holds it until commit.
        let row = sqlx::query(&format!(
            "INSERT INTO kommentare AS k (tenant_id, id, vorgang_id, text, at, actor_id, actor_name)
             SELECT v.tenant_id, $3, v.id, $4, {NOW_MS}, $5, $6 FROM vorgaenge v WHERE v.tenant_id = $1 AND v.id = $2
             RETURNING {KOMMENTAR_COLUMNS}"
        ))
        .bind(tenant.as_str())
        .bind(vorgang.0)
        .bind(id.0)
        .bind(text)
        .bind(author.user.map(|u| u.0))
        .bind(&author.name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        let record = kommentar_row(&row)?;
        let event = VorgangEvent::KommentarHinzugefuegt { kommentar_id: id };
        append_event(&mut tx, tenant, vorgang, record.at, author, &event).await?;
        Ok(record)
    }
    .await;
    finish(tx, added).await
}

pub(crate) async fn list_kommentare(
    pool: &PgPool,
    tenant: &TenantId,
    vorgang: VorgangId,
) -> Result<Vec<KommentarRecord>> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    let list = sqlx::query(&format!(
        "SELECT {KOMMENTAR_COLUMNS} FROM kommentare k WHERE k.tenant_id = $1 AND k.vorgang_id = $2
         ORDER BY k.at, k.id"
    ))
    .bind(tenant.as_str())
    .bind(vorgang.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?
    .iter()
    .map(kommentar_row)
    .collect::<Result<Vec<_>>>()?;
    if list.is_empty() && !vorgang_exists(&mut conn, tenant, vorgang).await? {
        return Err(StorageError::NotFound);
    }
    Ok(list)
}

async fn wiedervorlage_in(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: WiedervorlageId,
) -> Result<WiedervorlageRecord> {
    let row = sqlx::query(&format!(
        "SELECT {WIEDERVORLAGE_COLUMNS} FROM {WIEDERVORLAGE_FROM} WHERE w.tenant_id = $1 AND w.id = $2"
    ))
    .bind(tenant.as_str())
    .bind(id.0)
    .fetch_optional(conn)
    .await
    .map_err(map_err)?
    .ok_or(StorageError::NotFound)?;
    wiedervorlage_row(&row)
}

pub(crate) async fn add_wiedervorlage(
    pool: &PgPool,
    tenant: &TenantId,
    w: &NewWiedervorlage,
) -> Result<WiedervorlageRecord> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let added = async {
        lock_vorgang(&mut tx, tenant, w.vorgang_id.0).await?;
        let created_at = ms(w.created_at);
        sqlx::query(
            "INSERT INTO wiedervorlagen (tenant_id, id, vorgang_id, betreff, beschreibung, frist, erledigt,
                                         erledigt_at, created_at, actor_id, actor_name, version)
             VALUES ($1, $2, $3, $4, $5, $6, FALSE, NULL, $7, $8, $9, 1)",
        )
        .bind(tenant.as_str())
        .bind(w.id.0)
        .bind(w.vorgang_id.0)
        .bind(&w.betreff)
        .bind(&w.beschreibung)
        .bind(w.frist)
        .bind(created_at)
        .bind(w.created_by.user.map(|u| u.0))
        .bind(&w.created_by.name)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        refresh_naechste_frist(&mut tx, tenant, &[w.vorgang_id.0]).await?;
        let record = wiedervorlage_in(&mut tx, tenant, w.id).await?;
        let event = VorgangEvent::WiedervorlageAngelegt {
            wiedervorlage_id: w.id,
            betreff: record.betreff.clone(),
            frist: record.frist,
        };
        append_event(&mut tx, tenant, w.vorgang_id, created_at, &w.created_by, &event).await?;
        Ok(record)
    }
    .await;
    finish(tx, added).await
}

pub(crate) async fn update_wiedervorlage(
    pool: &PgPool,
    tenant: &TenantId,
    id: WiedervorlageId,
    expected_version: i64,
    update: &WiedervorlageUpdate,
    actor: &Actor,
) -> Result<WiedervorlageRecord> {
    let t = tenant.as_str();
    let mut tx = pool.begin().await.map_err(map_err)?;
    let updated = async {
        // The Vorgang of a Wiedervorlage never changes: read it, lock the Vorgang, then the row.
        let vorgang: Uuid =
            sqlx::query_scalar("SELECT vorgang_id FROM wiedervorlagen WHERE tenant_id = $1 AND id = $2")
                .bind(t)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?
                .ok_or(StorageError::NotFound)?;
        lock_vorgang(&mut tx, tenant, vorgang).await?;
        let cur = sqlx::query(&format!(
            "SELECT version, erledigt, erledigt_at, {NOW_MS} FROM wiedervorlagen
             WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
        ))
        .bind(t)
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
        let stored = WiedervorlageNow { version: get(&cur, 0)?, erledigt: get(&cur, 1)?, erledigt_at: get(&cur, 2)? };
        let at: OffsetDateTime = get(&cur, 3)?;
        let WiedervorlagePlan { erledigt_at, event } = plan_wiedervorlage_update(
            &stored,
            expected_version,
            id,
            &update.betreff,
            update.frist,
            update.erledigt,
            at,
        )
        .map_err(|s| StorageError::Conflict { current_version: s.current_version })?;
        sqlx::query(
            "UPDATE wiedervorlagen SET betreff = $3, beschreibung = $4, frist = $5, erledigt = $6, erledigt_at = $7,
                 version = version + 1
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(t)
        .bind(id.0)
        .bind(&update.betreff)
        .bind(&update.beschreibung)
        .bind(update.frist)
        .bind(update.erledigt)
        .bind(erledigt_at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        refresh_naechste_frist(&mut tx, tenant, &[vorgang]).await?;
        let record = wiedervorlage_in(&mut tx, tenant, id).await?;
        append_event(&mut tx, tenant, VorgangId(vorgang), at, actor, &event).await?;
        Ok(record)
    }
    .await;
    finish(tx, updated).await
}

pub(crate) async fn get_wiedervorlage(
    pool: &PgPool,
    tenant: &TenantId,
    id: WiedervorlageId,
) -> Result<WiedervorlageRecord> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    wiedervorlage_in(&mut conn, tenant, id).await
}

pub(crate) async fn list_wiedervorlagen(
    pool: &PgPool,
    tenant: &TenantId,
    vorgang: VorgangId,
) -> Result<Vec<WiedervorlageRecord>> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    let list = sqlx::query(&format!(
        "SELECT {WIEDERVORLAGE_COLUMNS} FROM {WIEDERVORLAGE_FROM} WHERE w.tenant_id = $1 AND w.vorgang_id = $2
         ORDER BY w.erledigt, w.frist, w.id"
    ))
    .bind(tenant.as_str())
    .bind(vorgang.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?
    .iter()
    .map(wiedervorlage_row)
    .collect::<Result<Vec<_>>>()?;
    if list.is_empty() && !vorgang_exists(&mut conn, tenant, vorgang).await? {
        return Err(StorageError::NotFound);
    }
    Ok(list)
}

/// The condition over `wiedervorlagen w` joined with `vorgaenge v`: the tenant's, within the
/// visibility (the worklist's predicate), open ones unless `include_done`.
fn filter(vis: &Visibility, include_done: bool) -> Filter {
    let mut f = Filter::new("w.tenant_id = $1");
    if !include_done {
        f.sql.push_str(" AND NOT w.erledigt");
    }
    f.visibility(vis, "v.unit_id", "v.assignee_id", "v.status");
    f
}

pub(crate) async fn wiedervorlagen(
    pool: &PgPool,
    tenant: &TenantId,
    q: &WiedervorlagenQuery,
) -> Result<(Vec<WiedervorlageRecord>, u64)> {
    if q.visibility.is_nothing() {
        return Ok((Vec::new(), 0));
    }
    let f = filter(&q.visibility, q.include_done);
    // One snapshot for the page and the total.
    let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(map_err)?;
    let total: i64 = f
        .bind(sqlx::query(&format!("SELECT count(*) FROM {WIEDERVORLAGE_FROM} WHERE {}", f.sql)), tenant)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)
        .and_then(|r| get(&r, 0))?;
    let sql = format!(
        "SELECT {WIEDERVORLAGE_COLUMNS} FROM {WIEDERVORLAGE_FROM} WHERE {filter}
         ORDER BY w.frist, w.id LIMIT ${limit} OFFSET ${offset}",
        filter = f.sql,
        limit = f.next(),
        offset = f.next() + 1,
    );
    let rows = f
        .bind(sqlx::query(&sql), tenant)
        .bind(i64::from(q.limit))
        .bind(i64::from(q.offset))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
    tx.commit().await.map_err(map_err)?;
    let items = rows.iter().map(wiedervorlage_row).collect::<Result<Vec<_>>>()?;
    Ok((items, to_u64(total)))
}

pub(crate) async fn count_due_wiedervorlagen(
    pool: &PgPool,
    tenant: &TenantId,
    vis: &Visibility,
    day: time::Date,
) -> Result<u64> {
    if vis.is_nothing() {
        return Ok(0);
    }
    let mut f = filter(vis, false);
    let p = f.arg(Arg::Date(day));
    f.sql.push_str(&format!(" AND w.frist <= {p}"));
    let row = f
        .bind(sqlx::query(&format!("SELECT count(*) FROM {WIEDERVORLAGE_FROM} WHERE {}", f.sql)), tenant)
        .fetch_one(pool)
        .await
        .map_err(map_err)?;
    Ok(to_u64(get(&row, 0)?))
}

#[async_trait]
impl store::NoteStore for crate::Tenant<'_> {
    async fn add_kommentar(
        &self,
        vorgang: VorgangId,
        id: KommentarId,
        text: &str,
        author: &Actor,
    ) -> Result<KommentarRecord> {
        let tenant = &self.tenant;
        crate::notes::add_kommentar(&self.pool, tenant, vorgang, id, text, author).await
    }

    async fn list_kommentare(&self, vorgang: VorgangId) -> Result<Vec<KommentarRecord>> {
        let tenant = &self.tenant;
        crate::notes::list_kommentare(&self.pool, tenant, vorgang).await
    }

    async fn add_wiedervorlage(&self, w: NewWiedervorlage) -> Result<WiedervorlageRecord> {
        let tenant = &self.tenant;
        crate::notes::add_wiedervorlage(&self.pool, tenant, &w).await
    }

    async fn update_wiedervorlage(
        &self,
        id: WiedervorlageId,
        expected_version: i64,
        update: WiedervorlageUpdate,
        actor: &Actor,
    ) -> Result<WiedervorlageRecord> {
        let tenant = &self.tenant;
        crate::notes::update_wiedervorlage(&self.pool, tenant, id, expected_version, &update, actor).await
    }

    async fn get_wiedervorlage(&self, id: WiedervorlageId) -> Result<WiedervorlageRecord> {
        let tenant = &self.tenant;
        crate::notes::get_wiedervorlage(&self.pool, tenant, id).await
    }

    async fn list_wiedervorlagen(&self, vorgang: VorgangId) -> Result<Vec<WiedervorlageRecord>> {
        let tenant = &self.tenant;
        crate::notes::list_wiedervorlagen(&self.pool, tenant, vorgang).await
    }

    async fn wiedervorlagen(&self, query: &WiedervorlagenQuery) -> Result<(Vec<WiedervorlageRecord>, u64)> {
        let tenant = &self.tenant;
        crate::notes::wiedervorlagen(&self.pool, tenant, query).await
    }

    async fn count_due_wiedervorlagen(&self, visibility: &Visibility, day: time::Date) -> Result<u64> {
        let tenant = &self.tenant;
        crate::notes::count_due_wiedervorlagen(&self.pool, tenant, visibility, day).await
    }
}
