//! Kommentare and Wiedervorlagen of a Vorgang (issue 6).
//!
//! Notes never bump the Vorgang's version; each change records its event in the same
//! transaction. `vorgaenge.naechste_frist` is kept by the triggers of migration 3.

use crate::convert::{date_at, date_text, from_ms, ms, opt_uuid_at, parsed_at, uuid_at};
use crate::engine::map_err;
use crate::vorgang::{head_by, insert_event, visibility_filter, HeadBy};
use async_trait::async_trait;
use domain::notes::{plan_wiedervorlage_update, WiedervorlageNow, WiedervorlagePlan};
use domain::{KommentarId, TenantId, UserId, Visibility, VorgangEvent, VorgangId, Vorgangsnummer, WiedervorlageId};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use store::{
    Actor, KommentarRecord, NewWiedervorlage, Result, StorageError, WiedervorlageRecord, WiedervorlageUpdate,
    WiedervorlagenQuery,
};
use time::OffsetDateTime;

/// Now, at the millisecond precision the store keeps.
fn now_ms() -> OffsetDateTime {
    from_ms(ms(OffsetDateTime::now_utc()))
}

pub(crate) fn vorgang_exists(conn: &Connection, tenant: &TenantId, vorgang: VorgangId) -> Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM vorgaenge WHERE tenant_id = ?1 AND id = ?2)")
        .and_then(|mut s| s.query_row(params![tenant.as_str(), vorgang.0.to_string()], |r| r.get(0)))
        .map_err(map_err)
}

// --- Kommentare ---

pub(crate) const KOMMENTAR_COLUMNS: &str = "id, vorgang_id, text, at, actor_id, actor_name";

pub(crate) fn kommentar_row(r: &Row<'_>) -> rusqlite::Result<KommentarRecord> {
    Ok(KommentarRecord {
        id: KommentarId(uuid_at(r, 0)?),
        vorgang_id: VorgangId(uuid_at(r, 1)?),
        text: r.get(2)?,
        at: from_ms(r.get(3)?),
        author: Actor { user: opt_uuid_at(r, 4)?.map(UserId), name: r.get(5)? },
    })
}

/// Stores the Kommentar as it is; checks only that the tenant holds its Vorgang.
pub(crate) fn insert_kommentar(conn: &Connection, tenant: &TenantId, k: &KommentarRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO kommentare (tenant_id, id, vorgang_id, text, at, actor_id, actor_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            k.id.0.to_string(),
            k.vorgang_id.0.to_string(),
            k.text,
            ms(k.at),
            k.author.user.map(|u| u.0.to_string()),
            k.author.name
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

pub(crate) fn add_kommentar(
    conn: &Connection,
    tenant: &TenantId,
    vorgang: VorgangId,
    id: KommentarId,
    text: &str,
    author: &Actor,
) -> Result<KommentarRecord> {
    if !vorgang_exists(conn, tenant, vorgang)? {
        return Err(StorageError::NotFound);
    }
    let record =
        KommentarRecord { id, vorgang_id: vorgang, text: text.to_owned(), at: now_ms(), author: author.clone() };
    insert_kommentar(conn, tenant, &record)?;
    let event = VorgangEvent::KommentarHinzugefuegt { kommentar_id: id };
    insert_event(conn, tenant, vorgang, record.at, author, &event)?;
    Ok(record)
}

/// NotFound if the tenant has no such Vorgang.
pub(crate) fn list_kommentare(
    conn: &Connection,
    tenant: &TenantId,
    vorgang: VorgangId,
) -> Result<Vec<KommentarRecord>> {
    if !vorgang_exists(conn, tenant, vorgang)? {
        return Err(StorageError::NotFound);
    }
    conn.prepare_cached(&format!(
        "SELECT {KOMMENTAR_COLUMNS} FROM kommentare WHERE tenant_id = ?1 AND vorgang_id = ?2 ORDER BY at, id"
    ))
    .and_then(|mut s| s.query_map(params![tenant.as_str(), vorgang.0.to_string()], kommentar_row)?.collect())
    .map_err(map_err)
}

/// The tenant's Kommentare after `after` (an id, "" for the first), by id.
pub(crate) fn kommentare_after(
    conn: &Connection,
    tenant: &TenantId,
    after: &str,
    limit: u32,
) -> Result<Vec<KommentarRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {KOMMENTAR_COLUMNS} FROM kommentare WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"
    ))
    .and_then(|mut s| s.query_map(params![tenant.as_str(), after, limit], kommentar_row)?.collect())
    .map_err(map_err)
}

// --- Wiedervorlagen ---

/// The columns [`wiedervorlage_row`] reads, of `wiedervorlagen w` joined with its Vorgang `v`.
const WIEDERVORLAGE_SELECT: &str =
    "SELECT w.id, w.vorgang_id, v.nummer, w.betreff, w.beschreibung, w.frist, w.erledigt, w.erledigt_at,
            w.created_at, w.actor_id, w.actor_name, w.version
     FROM wiedervorlagen w
     JOIN vorgaenge v ON v.tenant_id = w.tenant_id AND v.id = w.vorgang_id";

fn wiedervorlage_row(r: &Row<'_>) -> rusqlite::Result<WiedervorlageRecord> {
    Ok(WiedervorlageRecord {
        id: WiedervorlageId(uuid_at(r, 0)?),
        vorgang_id: VorgangId(uuid_at(r, 1)?),
        vorgang_nummer: parsed_at(r, 2, Vorgangsnummer::parse)?,
        betreff: r.get(3)?,
        beschreibung: r.get(4)?,
        frist: date_at(r, 5)?,
        erledigt: r.get(6)?,
        erledigt_at: r.get::<_, Option<i64>>(7)?.map(from_ms),
        created_at: from_ms(r.get(8)?),
        created_by: Actor { user: opt_uuid_at(r, 9)?.map(UserId), name: r.get(10)? },
        version: r.get(11)?,
    })
}

/// Stores the Wiedervorlage as it is (`vorgang_nummer` comes from the Vorgang); checks only
/// that the tenant holds its Vorgang.
pub(crate) fn insert_wiedervorlage(conn: &Connection, tenant: &TenantId, w: &WiedervorlageRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO wiedervorlagen (tenant_id, id, vorgang_id, betreff, beschreibung, frist, erledigt, erledigt_at,
                                     created_at, actor_id, actor_name, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            w.id.0.to_string(),
            w.vorgang_id.0.to_string(),
            w.betreff,
            w.beschreibung,
            date_text(w.frist),
            w.erledigt,
            w.erledigt_at.map(ms),
            ms(w.created_at),
            w.created_by.user.map(|u| u.0.to_string()),
            w.created_by.name,
            w.version
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

pub(crate) fn get_wiedervorlage(
    conn: &Connection,
    tenant: &TenantId,
    id: WiedervorlageId,
) -> Result<WiedervorlageRecord> {
    conn.prepare_cached(&format!("{WIEDERVORLAGE_SELECT} WHERE w.tenant_id = ?1 AND w.id = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), id.0.to_string()], wiedervorlage_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
}

pub(crate) fn add_wiedervorlage(
    conn: &Connection,
    tenant: &TenantId,
    w: &NewWiedervorlage,
) -> Result<WiedervorlageRecord> {
    let head = head_by(conn, tenant, HeadBy::Id, &w.vorgang_id.0.to_string())?.ok_or(StorageError::NotFound)?;
    let record = WiedervorlageRecord {
        id: w.id,
        vorgang_id: w.vorgang_id,
        vorgang_nummer: head.nummer,
        betreff: w.betreff.clone(),
        beschreibung: w.beschreibung.clone(),
        frist: w.frist,
        erledigt: false,
        erledigt_at: None,
        created_at: w.created_at,
        created_by: w.created_by.clone(),
        version: 1,
    };
    insert_wiedervorlage(conn, tenant, &record)?;
    let event =
        VorgangEvent::WiedervorlageAngelegt { wiedervorlage_id: w.id, betreff: w.betreff.clone(), frist: w.frist };
    insert_event(conn, tenant, w.vorgang_id, now_ms(), &w.created_by, &event)?;
    // As stored (timestamps at millisecond precision).
    get_wiedervorlage(conn, tenant, w.id)
}

pub(crate) fn update_wiedervorlage(
    conn: &Connection,
    tenant: &TenantId,
    id: WiedervorlageId,
    expected_version: i64,
    update: &WiedervorlageUpdate,
    actor: &Actor,
) -> Result<WiedervorlageRecord> {
    let current = get_wiedervorlage(conn, tenant, id)?;
    let now = now_ms();
    let stored =
        WiedervorlageNow { version: current.version, erledigt: current.erledigt, erledigt_at: current.erledigt_at };
    let WiedervorlagePlan { erledigt_at, event } =
        plan_wiedervorlage_update(&stored, expected_version, id, &update.betreff, update.frist, update.erledigt, now)
            .map_err(|s| StorageError::Conflict { current_version: s.current_version })?;
    conn.prepare_cached(
        "UPDATE wiedervorlagen SET betreff = ?3, beschreibung = ?4, frist = ?5, erledigt = ?6, erledigt_at = ?7,
                version = version + 1
         WHERE tenant_id = ?1 AND id = ?2",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            id.0.to_string(),
            update.betreff,
            update.beschreibung,
            date_text(update.frist),
            update.erledigt,
            erledigt_at.map(ms)
        ])
    })
    .map_err(map_err)?;
    insert_event(conn, tenant, current.vorgang_id, now, actor, &event)?;
    get_wiedervorlage(conn, tenant, id)
}

/// Open ones by Frist, then done ones by Frist; NotFound if the tenant has no such Vorgang.
pub(crate) fn list_wiedervorlagen(
    conn: &Connection,
    tenant: &TenantId,
    vorgang: VorgangId,
) -> Result<Vec<WiedervorlageRecord>> {
    if !vorgang_exists(conn, tenant, vorgang)? {
        return Err(StorageError::NotFound);
    }
    conn.prepare_cached(&format!(
        "{WIEDERVORLAGE_SELECT} WHERE w.tenant_id = ?1 AND w.vorgang_id = ?2 ORDER BY w.erledigt, w.frist, w.id"
    ))
    .and_then(|mut s| s.query_map(params![tenant.as_str(), vorgang.0.to_string()], wiedervorlage_row)?.collect())
    .map_err(map_err)
}

/// The tenant's Wiedervorlagen after `after` (an id, "" for the first), by id.
pub(crate) fn wiedervorlagen_after(
    conn: &Connection,
    tenant: &TenantId,
    after: &str,
    limit: u32,
) -> Result<Vec<WiedervorlageRecord>> {
    conn.prepare_cached(&format!("{WIEDERVORLAGE_SELECT} WHERE w.tenant_id = ?1 AND w.id > ?2 ORDER BY w.id LIMIT ?3"))
        .and_then(|mut s| s.query_map(params![tenant.as_str(), after, limit], wiedervorlage_row)?.collect())
        .map_err(map_err)
}

/// The filter of the views across Vorgänge: tenant, open only unless `include_done`, the
/// visibility on the Vorgang. `None` when the visibility covers nothing.
fn across_filter(tenant: &TenantId, vis: &Visibility, include_done: bool) -> Option<(String, Vec<String>)> {
    let (vis_filter, vis_args) = visibility_filter(vis, "v.")?;
    let mut sql = String::from("w.tenant_id = ?");
    if !include_done {
        sql.push_str(" AND w.erledigt = 0");
    }
    sql.push_str(&vis_filter);
    let mut args = vec![tenant.as_str().to_owned()];
    args.extend(vis_args);
    Some((sql, args))
}

pub(crate) fn wiedervorlagen(
    conn: &Connection,
    tenant: &TenantId,
    q: &WiedervorlagenQuery,
) -> Result<(Vec<WiedervorlageRecord>, u64)> {
    let Some((filter, mut args)) = across_filter(tenant, &q.visibility, q.include_done) else {
        return Ok((Vec::new(), 0));
    };
    // One read transaction: the total and the page see the same snapshot.
    conn.execute_batch("BEGIN").map_err(map_err)?;
    let result = (|| {
        let total: i64 = conn
            .prepare_cached(&format!(
                "SELECT count(*) FROM wiedervorlagen w
                 JOIN vorgaenge v ON v.tenant_id = w.tenant_id AND v.id = w.vorgang_id WHERE {filter}"
            ))
            .and_then(|mut s| s.query_row(params_from_iter(args.iter()), |r| r.get(0)))
            .map_err(map_err)?;
        args.push(q.limit.to_string());
        args.push(q.offset.to_string());
        let items = conn
            .prepare_cached(&format!("{WIEDERVORLAGE_SELECT} WHERE {filter} ORDER BY w.frist, w.id LIMIT ? OFFSET ?"))
            .and_then(|mut s| s.query_map(params_from_iter(args.iter()), wiedervorlage_row)?.collect())
            .map_err(map_err)?;
        Ok((items, total.max(0) as u64))
    })();
    conn.execute_batch("COMMIT").map_err(map_err)?;
    result
}

pub(crate) fn count_due(conn: &Connection, tenant: &TenantId, vis: &Visibility, day: time::Date) -> Result<u64> {
    let Some((filter, mut args)) = across_filter(tenant, vis, false) else {
        return Ok(0);
    };
    args.push(date_text(day));
    let n: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM wiedervorlagen w
             JOIN vorgaenge v ON v.tenant_id = w.tenant_id AND v.id = w.vorgang_id WHERE {filter} AND w.frist <= ?"
        ))
        .and_then(|mut s| s.query_row(params_from_iter(args.iter()), |r| r.get(0)))
        .map_err(map_err)?;
    Ok(n.max(0) as u64)
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
        let (tenant, text, author) = (self.tenant.clone(), text.to_owned(), author.clone());
        self.engine.write(move |c| crate::notes::add_kommentar(c, &tenant, vorgang, id, &text, &author)).await
    }

    async fn list_kommentare(&self, vorgang: VorgangId) -> Result<Vec<KommentarRecord>> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::notes::list_kommentare(c, &tenant, vorgang)).await
    }

    async fn add_wiedervorlage(&self, w: NewWiedervorlage) -> Result<WiedervorlageRecord> {
        let tenant = self.tenant.clone();
        self.engine.write(move |c| crate::notes::add_wiedervorlage(c, &tenant, &w)).await
    }

    async fn update_wiedervorlage(
        &self,
        id: WiedervorlageId,
        expected_version: i64,
        update: WiedervorlageUpdate,
        actor: &Actor,
    ) -> Result<WiedervorlageRecord> {
        let (tenant, actor) = (self.tenant.clone(), actor.clone());
        self.engine
            .write(move |c| crate::notes::update_wiedervorlage(c, &tenant, id, expected_version, &update, &actor))
            .await
    }

    async fn get_wiedervorlage(&self, id: WiedervorlageId) -> Result<WiedervorlageRecord> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::notes::get_wiedervorlage(c, &tenant, id)).await
    }

    async fn list_wiedervorlagen(&self, vorgang: VorgangId) -> Result<Vec<WiedervorlageRecord>> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::notes::list_wiedervorlagen(c, &tenant, vorgang)).await
    }

    async fn wiedervorlagen(&self, query: &WiedervorlagenQuery) -> Result<(Vec<WiedervorlageRecord>, u64)> {
        let (tenant, query) = (self.tenant.clone(), query.clone());
        self.engine.read(move |c| crate::notes::wiedervorlagen(c, &tenant, &query)).await
    }

    async fn count_due_wiedervorlagen(&self, visibility: &Visibility, day: time::Date) -> Result<u64> {
        let (tenant, visibility) = (self.tenant.clone(), visibility.clone());
        self.engine.read(move |c| crate::notes::count_due(c, &tenant, &visibility, day)).await
    }
}
