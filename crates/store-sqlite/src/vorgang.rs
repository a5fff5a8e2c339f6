use crate::convert::{from_ms, json_at, ms, opt_date_at, opt_uuid_at, parsed_at, to_json, uuid_at};
use crate::engine::map_err;
use crate::tenants::unit_name;
use async_trait::async_trait;
use domain::access::Pile;
use domain::vorgang::{plan_change, ChangePlan, Names, Update};
use domain::{
    DocumentId, TenantId, TransactionId, UnitId, UserId, Visibility, VorgangEvent, VorgangId, VorgangStatus,
    Vorgangsnummer,
};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use store::{
    Actor, DocumentKind, DocumentRecord, EventRecord, Result, SortKey, StatusCounts, StorageError, UserRef, View,
    VorgangChange, VorgangHead, VorgangListItem, VorgangRecord, WorklistPage, WorklistQuery,
};
use time::OffsetDateTime;

const HEAD_COLUMNS: &str = "id, nummer, status, status_since, version";

fn head_row(r: &Row<'_>) -> rusqlite::Result<VorgangHead> {
    Ok(VorgangHead {
        id: VorgangId(uuid_at(r, 0)?),
        nummer: parsed_at(r, 1, Vorgangsnummer::parse)?,
        status: parsed_at(r, 2, VorgangStatus::parse)?,
        status_since: from_ms(r.get(3)?),
        version: r.get(4)?,
    })
}

/// The head of the Vorgang whose unique `column` (id, nummer, transaction_id) has `value`.
/// What a Vorgang's head is looked up by; each with its own fixed statement (no column name is
/// ever spliced into SQL).
#[derive(Clone, Copy)]
pub(crate) enum HeadBy {
    Id,
    Nummer,
    TransactionId,
}

pub(crate) fn head_by(conn: &Connection, tenant: &TenantId, by: HeadBy, value: &str) -> Result<Option<VorgangHead>> {
    static SQL: std::sync::OnceLock<[String; 3]> = std::sync::OnceLock::new();
    let statements = SQL.get_or_init(|| {
        ["id", "nummer", "transaction_id"]
            .map(|c| format!("SELECT {HEAD_COLUMNS} FROM vorgaenge WHERE tenant_id = ?1 AND {c} = ?2"))
    });
    conn.prepare_cached(&statements[by as usize])
        .and_then(|mut s| s.query_row(params![tenant.as_str(), value], head_row).optional())
        .map_err(map_err)
}

pub(crate) fn find_by_transaction(
    conn: &Connection,
    tenant: &TenantId,
    tx: &TransactionId,
) -> Result<Option<VorgangHead>> {
    head_by(conn, tenant, HeadBy::TransactionId, tx.as_str())
}

pub(crate) fn insert_event(
    conn: &Connection,
    tenant: &TenantId,
    vorgang: impl Into<Option<VorgangId>>,
    at: OffsetDateTime,
    actor: &Actor,
    event: &VorgangEvent,
) -> Result<()> {
    let vorgang = vorgang.into();
    let payload = to_json(event)?;
    let tenant_seq = next_tenant_seq(conn, tenant, "events")?;
    conn.prepare_cached(
        "INSERT INTO events (tenant_id, vorgang_id, at, actor_id, actor_name, kind, payload, tenant_seq, schema_version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant.as_str(),
            vorgang.map(|v| v.0.to_string()),
            ms(at),
            actor.user.map(|u| u.0.to_string()),
            actor.name,
            event.kind(),
            payload,
            tenant_seq,
            domain::vorgang::EVENT_SCHEMA_VERSION
        ])
    })
    .map_err(map_err)?;
    Ok(())
}

/// The next number of the tenant's log `name` (`events`, `audit`): per tenant, so no tenant
/// learns from the numbers how busy another is; never handed out twice.
pub(crate) fn next_tenant_seq(conn: &Connection, tenant: &TenantId, name: &str) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO tenant_sequences (tenant_id, name, value) VALUES (?1, ?2, 1)
         ON CONFLICT (tenant_id, name) DO UPDATE SET value = value + 1 RETURNING value",
    )
    .and_then(|mut s| s.query_row(params![tenant.as_str(), name], |r| r.get(0)))
    .map_err(map_err)
}

/// The filter shared by the worklist page and its counts: tenant, view, optional status.
pub(crate) fn view_filter(tenant: &TenantId, view: &View, status: Option<VorgangStatus>) -> (String, Vec<String>) {
    let mut sql = String::from("v.tenant_id = ?");
    let mut args = vec![tenant.as_str().to_owned()];
    match view {
        View::Alle => {}
        View::Meine(user) => {
            sql.push_str(" AND v.assignee_id = ?");
            args.push(user.0.to_string());
        }
        View::NichtZugewiesen => sql.push_str(" AND v.assignee_id IS NULL"),
    }
    if let Some(s) = status {
        sql.push_str(" AND v.status = ?");
        args.push(s.as_str().to_owned());
    }
    (sql, args)
}

/// The visibility as a predicate on `unit_id`, `assignee_id` and `status`, which both the
/// Vorgang rows (`prefix` "v.") and the count rows (`prefix` "") carry, with its arguments.
/// `None` when it covers nothing at all: the caller answers without asking the database.
pub(crate) fn visibility_filter(vis: &Visibility, prefix: &str) -> Option<(String, Vec<String>)> {
    let Visibility::Restricted { units, user, all_new } = vis else {
        return Some((String::new(), Vec::new()));
    };
    let mut terms = Vec::new();
    let mut args = Vec::new();
    if !units.is_empty() {
        terms.push(format!("{prefix}unit_id IN ({})", vec!["?"; units.len()].join(", ")));
        args.extend(units.iter().map(|u| u.0.to_string()));
    }
    if let Some(user) = user {
        terms.push(format!("{prefix}assignee_id = ?"));
        args.push(user.0.to_string());
    }
    if *all_new {
        terms.push(format!("{prefix}status = 'NEU'"));
    }
    (!terms.is_empty()).then(|| (format!(" AND ({})", terms.join(" OR ")), args))
}

pub(crate) fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::EingangAt => "v.eingang_at",
        SortKey::Nummer => "v.nummer",
        SortKey::FormName => "v.form_name",
        SortKey::Status => "v.status",
        SortKey::Aktenzeichen => "v.aktenzeichen",
    }
}

pub(crate) fn list_item(r: &Row<'_>) -> rusqlite::Result<VorgangListItem> {
    let assignee = match opt_uuid_at(r, 6)? {
        Some(id) => Some(UserRef { id: UserId(id), display_name: r.get::<_, Option<String>>(7)?.unwrap_or_default() }),
        None => None,
    };
    Ok(VorgangListItem {
        id: VorgangId(uuid_at(r, 0)?),
        nummer: parsed_at(r, 1, Vorgangsnummer::parse)?,
        status: parsed_at(r, 2, VorgangStatus::parse)?,
        aktenzeichen: r.get(3)?,
        form_name: r.get(4)?,
        eingang_at: from_ms(r.get(5)?),
        assignee,
        applicant_name: r.get(8)?,
        version: r.get(9)?,
        naechste_frist: opt_date_at(r, 10)?,
        treffer: None,
    })
}

/// Sums the trigger-kept count rows the view and visibility cover: a handful of rows per
/// unit and assignee, however many Vorgänge there are.
pub(crate) fn status_counts(
    conn: &Connection,
    tenant: &TenantId,
    vis: &Visibility,
    view: &View,
) -> Result<StatusCounts> {
    let Some((vis_filter, vis_args)) = visibility_filter(vis, "") else {
        return Ok(StatusCounts::default());
    };
    let (view_filter, mut args): (&str, Vec<String>) = match view {
        View::Alle => ("", vec![tenant.as_str().to_owned()]),
        View::Meine(user) => (" AND assignee_id = ?", vec![tenant.as_str().to_owned(), user.0.to_string()]),
        View::NichtZugewiesen => (" AND assignee_id = ''", vec![tenant.as_str().to_owned()]),
    };
    args.extend(vis_args);
    let filter = format!("{view_filter}{vis_filter}");
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT status, sum(n) FROM vorgang_counts WHERE tenant_id = ?{filter} GROUP BY status HAVING sum(n) > 0"
        ))
        .map_err(map_err)?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            Ok((parsed_at(r, 0, VorgangStatus::parse)?, r.get::<_, i64>(1)? as u64))
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(map_err)?;
    Ok(StatusCounts { by_status: rows })
}

/// The index that serves a worklist query best: the filter's own index where the filter
/// already yields the sort order or a clerk's (small) own set, otherwise the sort index,
/// walked in order with the filter checked on the index entries.
pub(crate) fn worklist_index(q: &WorklistQuery) -> &'static str {
    match (&q.view, q.sort, q.status) {
        (View::Meine(_), _, _) | (View::NichtZugewiesen, SortKey::EingangAt, Some(_)) => "vorgaenge_by_assignee",
        (View::Alle, SortKey::EingangAt, Some(_)) => "vorgaenge_by_status",
        (_, SortKey::EingangAt, _) => "vorgaenge_sort_eingang",
        (_, SortKey::Nummer, _) => "vorgaenge_sort_nummer",
        (_, SortKey::FormName, _) => "vorgaenge_sort_form",
        (_, SortKey::Status, _) => "vorgaenge_sort_status",
        (_, SortKey::Aktenzeichen, _) => "vorgaenge_sort_aktenzeichen",
    }
}

pub(crate) fn worklist(conn: &Connection, tenant: &TenantId, q: &WorklistQuery) -> Result<WorklistPage> {
    // One read transaction: the counts and the page see the same snapshot.
    conn.execute_batch("BEGIN").map_err(map_err)?;
    let page = worklist_in_snapshot(conn, tenant, q);
    conn.execute_batch("COMMIT").map_err(map_err)?;
    page
}

fn worklist_in_snapshot(conn: &Connection, tenant: &TenantId, q: &WorklistQuery) -> Result<WorklistPage> {
    if !q.filter.is_empty() {
        return crate::search::filtered_page(conn, tenant, q);
    }
    let Some((sql, args)) = page_query(tenant, q) else {
        return Ok(WorklistPage { items: Vec::new(), total: 0, counts: StatusCounts::default() });
    };
    let counts = status_counts(conn, tenant, &q.visibility, &q.view)?;
    let total = q.status.map_or_else(|| counts.total(), |s| counts.get(s));
    let mut stmt = conn.prepare_cached(&sql).map_err(map_err)?;
    let items = stmt
        .query_map(params_from_iter(args.iter()), list_item)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(map_err)?;
    Ok(WorklistPage { items, total, counts })
}

/// The statement and arguments of a worklist page; `None` when the visibility covers nothing.
fn page_query(tenant: &TenantId, q: &WorklistQuery) -> Option<(String, Vec<String>)> {
    let (vis_filter, vis_args) = visibility_filter(&q.visibility, "v.")?;
    let (mut filter, mut args) = view_filter(tenant, &q.view, q.status);
    filter.push_str(&vis_filter);
    args.extend(vis_args);
    let dir = if q.descending { "DESC" } else { "ASC" };
    let col = sort_column(q.sort);
    // The page's rows are found on the index alone (rowids only); only those 50 rows are
    // then read and joined, however deep the page.
    let sql = format!(
        "SELECT v.id, v.nummer, v.status, v.aktenzeichen, v.form_name, v.eingang_at, v.assignee_id, u.display_name,
                v.applicant_name, v.version, v.naechste_frist
         FROM (SELECT v.rowid AS rid FROM vorgaenge v INDEXED BY {index} WHERE {filter}
               ORDER BY {col} {dir}, v.id {dir} LIMIT ? OFFSET ?) page
         JOIN vorgaenge v ON v.rowid = page.rid
         LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.assignee_id
         ORDER BY {col} {dir}, v.id {dir}",
        index = worklist_index(q)
    );
    args.push(q.per_page.to_string());
    args.push((u64::from(q.page) * u64::from(q.per_page)).to_string());
    Some((sql, args))
}

pub(crate) fn document_row(r: &Row<'_>) -> rusqlite::Result<DocumentRecord> {
    Ok(DocumentRecord {
        id: DocumentId(uuid_at(r, 0)?),
        vorgang_id: VorgangId(uuid_at(r, 1)?),
        kind: parsed_at(r, 2, DocumentKind::parse)?,
        filename: r.get(3)?,
        content_type: r.get(4)?,
        size: r.get::<_, i64>(5)? as u64,
        blob_key: r.get(6)?,
        sha256: r.get(7)?,
    })
}

pub(crate) const DOCUMENT_COLUMNS: &str = "id, vorgang_id, kind, filename, content_type, size, blob_key, sha256";

pub(crate) fn get_document(conn: &Connection, tenant: &TenantId, id: DocumentId) -> Result<DocumentRecord> {
    conn.prepare_cached(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = ?1 AND id = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), id.0.to_string()], document_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)
}

/// The columns [`vorgang_row`] reads: the Vorgang with its data and its assignee's name.
pub(crate) const VORGANG_SELECT: &str =
    "SELECT v.id, v.nummer, v.status, v.status_since, v.version, v.transaction_id, v.aktenzeichen,
            v.assignee_id, u.display_name, v.eingang_at, v.form_id, v.form_name, v.zustaendige_stelle,
            d.leika_ids, d.applicant, d.control, d.form_data, v.status_before_deletion, v.unit_id
     FROM vorgaenge v
     JOIN vorgang_daten d ON d.tenant_id = v.tenant_id AND d.vorgang_id = v.id
     LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.assignee_id";

/// A [`VorgangRecord`] without documents from a row of [`VORGANG_SELECT`].
pub(crate) fn vorgang_row(r: &Row<'_>, tenant: &TenantId) -> rusqlite::Result<VorgangRecord> {
    let assignee = opt_uuid_at(r, 7)?.map(|u| UserRef {
        id: UserId(u),
        display_name: r.get::<_, Option<String>>(8).ok().flatten().unwrap_or_default(),
    });
    Ok(VorgangRecord {
        head: head_row(r)?,
        tenant: tenant.clone(),
        transaction_id: parsed_at(r, 5, TransactionId::parse)?,
        aktenzeichen: r.get(6)?,
        assignee,
        eingang_at: from_ms(r.get(9)?),
        form_id: r.get(10)?,
        form_name: r.get(11)?,
        zustaendige_stelle: r.get(12)?,
        leika_ids: json_at(r, 13)?,
        applicant: json_at(r, 14)?,
        control: json_at(r, 15)?,
        form_data: json_at(r, 16)?,
        documents: Vec::new(),
        status_before_deletion_request: r.get::<_, Option<String>>(17)?.and_then(|s| VorgangStatus::parse(&s)),
        unit: opt_uuid_at(r, 18)?.map(UnitId),
    })
}

/// The applicant's documents of a Vorgang, representation first (clerks' documents are
/// `crate::documents::list_clerk_documents`).
pub(crate) fn documents_of(conn: &Connection, tenant: &TenantId, id: &str) -> Result<Vec<DocumentRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = ?1 AND vorgang_id = ?2 AND kind <> 'CLERK'
         ORDER BY kind DESC, filename"
    ))
    .and_then(|mut s| s.query_map(params![tenant.as_str(), id], document_row)?.collect())
    .map_err(map_err)
}

pub(crate) fn get_vorgang(conn: &Connection, tenant: &TenantId, id: VorgangId) -> Result<VorgangRecord> {
    let vid = id.0.to_string();
    let mut record = conn
        .prepare_cached(&format!("{VORGANG_SELECT} WHERE v.tenant_id = ?1 AND v.id = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), vid], |r| vorgang_row(r, tenant)).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    record.documents = documents_of(conn, tenant, &vid)?;
    Ok(record)
}

pub(crate) fn event_row(r: &Row<'_>) -> rusqlite::Result<EventRecord> {
    Ok(EventRecord {
        seq: r.get(0)?,
        vorgang_id: opt_uuid_at(r, 1)?.map(VorgangId),
        at: from_ms(r.get(2)?),
        actor: Actor { user: opt_uuid_at(r, 3)?.map(UserId), name: r.get(4)? },
        event: json_at(r, 5)?,
        schema_version: r.get(6)?,
    })
}

pub(crate) fn history(conn: &Connection, tenant: &TenantId, id: VorgangId) -> Result<Vec<EventRecord>> {
    let exists: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM vorgaenge WHERE tenant_id = ?1 AND id = ?2)")
        .and_then(|mut s| s.query_row(params![tenant.as_str(), id.0.to_string()], |r| r.get(0)))
        .map_err(map_err)?;
    if !exists {
        return Err(StorageError::NotFound);
    }
    conn.prepare_cached(
        "SELECT tenant_seq, vorgang_id, at, actor_id, actor_name, payload, schema_version FROM events
         WHERE tenant_id = ?1 AND vorgang_id = ?2 ORDER BY tenant_seq",
    )
    .and_then(|mut s| s.query_map(params![tenant.as_str(), id.0.to_string()], event_row)?.collect())
    .map_err(map_err)
}

pub(crate) fn events_after(conn: &Connection, tenant: &TenantId, after: i64, limit: u32) -> Result<Vec<EventRecord>> {
    conn.prepare_cached(
        "SELECT tenant_seq, vorgang_id, at, actor_id, actor_name, payload, schema_version FROM events
         WHERE tenant_id = ?1 AND tenant_seq > ?2 ORDER BY tenant_seq LIMIT ?3",
    )
    .and_then(|mut s| s.query_map(params![tenant.as_str(), after, limit], event_row)?.collect())
    .map_err(map_err)
}

struct Current {
    version: i64,
    status: VorgangStatus,
    assignee: Option<String>,
    aktenzeichen: Option<String>,
    unit: Option<String>,
}

/// The display name of a user of the tenant; `enabled_only` for new assignments (the
/// previous assignee is named in the history even when disabled since).
fn user_name(conn: &Connection, tenant: &TenantId, user: &str, enabled_only: bool) -> Result<Option<String>> {
    conn.prepare_cached("SELECT display_name FROM users WHERE tenant_id = ?1 AND id = ?2 AND (disabled = 0 OR NOT ?3)")
        .and_then(|mut s| s.query_row(params![tenant.as_str(), user, enabled_only], |r| r.get(0)).optional())
        .map_err(map_err)
}

pub(crate) fn apply_change(
    conn: &Connection,
    tenant: &TenantId,
    id: VorgangId,
    expected_version: i64,
    change: &VorgangChange,
    actor: &Actor,
) -> Result<VorgangHead> {
    let t = tenant.as_str();
    let vid = id.0.to_string();
    let cur = conn
        .prepare_cached(
            "SELECT version, status, assignee_id, aktenzeichen, unit_id FROM vorgaenge WHERE tenant_id = ?1 AND id = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![t, vid], |r| {
                Ok(Current {
                    version: r.get(0)?,
                    status: parsed_at(r, 1, VorgangStatus::parse)?,
                    assignee: r.get(2)?,
                    aktenzeichen: r.get(3)?,
                    unit: r.get(4)?,
                })
            })
            .optional()
        })
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    // The storage looks up the names the event records; the domain decides the rest.
    let names = match change {
        VorgangChange::Assign { to } => Names {
            before: match &cur.assignee {
                Some(u) => user_name(conn, tenant, u, false)?,
                None => None,
            },
            after: match to {
                Some(user) => Some(
                    user_name(conn, tenant, &user.0.to_string(), true)?
                        .ok_or(StorageError::InvalidReference("assignee"))?,
                ),
                None => None,
            },
        },
        VorgangChange::Unit { to } => Names {
            before: match &cur.unit {
                Some(unit) => unit_name(conn, tenant, unit)?,
                None => None,
            },
            after: match to {
                Some(u) => {
                    Some(unit_name(conn, tenant, &u.0.to_string())?.ok_or(StorageError::InvalidReference("unit"))?)
                }
                None => None,
            },
        },
        _ => Names::default(),
    };
    let current =
        domain::vorgang::Current { version: cur.version, status: cur.status, aktenzeichen: cur.aktenzeichen.clone() };
    let ChangePlan { update, event } = plan_change(&current, expected_version, change, names)
        .map_err(|s| StorageError::Conflict { current_version: s.current_version })?;
    let now = OffsetDateTime::now_utc();
    let id_text = |u: Option<uuid::Uuid>| u.map(|u| u.to_string());
    let written = match &update {
        Update::Status { to, before_deletion } => conn
            .prepare_cached(
                "UPDATE vorgaenge SET status = ?3, status_since = ?4, version = version + 1,
                 status_before_deletion = ?5 WHERE tenant_id = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.execute(params![t, vid, to.as_str(), ms(now), before_deletion.map(VorgangStatus::as_str)])
            }),
        Update::Assignee(to) => conn
            .prepare_cached(
                "UPDATE vorgaenge SET assignee_id = ?3, version = version + 1 WHERE tenant_id = ?1 AND id = ?2",
            )
            .and_then(|mut s| s.execute(params![t, vid, id_text(to.map(|u| u.0))])),
        Update::Aktenzeichen(az) => conn
            .prepare_cached(
                "UPDATE vorgaenge SET aktenzeichen = ?3, version = version + 1 WHERE tenant_id = ?1 AND id = ?2",
            )
            .and_then(|mut s| s.execute(params![t, vid, az])),
        Update::Unit(to) => conn
            .prepare_cached("UPDATE vorgaenge SET unit_id = ?3, version = version + 1 WHERE tenant_id = ?1 AND id = ?2")
            .and_then(|mut s| s.execute(params![t, vid, id_text(to.map(|u| u.0))])),
    };
    written.map_err(map_err)?;
    if update.touches_search() {
        crate::search::reindex(conn, tenant, &vid)?;
    }
    insert_event(conn, tenant, id, now, actor, &event)?;
    head_by(conn, tenant, HeadBy::Id, &vid)?.ok_or(StorageError::NotFound)
}

pub(crate) fn claim_next(
    conn: &Connection,
    tenant: &TenantId,
    vis: &Visibility,
    user: UserId,
    actor: &Actor,
) -> Result<Option<VorgangHead>> {
    // The unit filter is checked on the pile index's entries.
    let (filter, units): (String, Vec<String>) = match vis.pile() {
        Pile::All => (String::new(), Vec::new()),
        Pile::Nothing => return Ok(None),
        Pile::Units(units) => (
            format!(" AND unit_id IN ({})", vec!["?"; units.len()].join(", ")),
            units.iter().map(|u| u.0.to_string()).collect(),
        ),
    };
    let mut args = vec![tenant.as_str().to_owned()];
    args.extend(units);
    let next = conn
        .prepare_cached(&format!(
            "SELECT id, version FROM vorgaenge INDEXED BY vorgaenge_pile
             WHERE tenant_id = ? AND status = 'NEU' AND assignee_id IS NULL{filter}
             ORDER BY eingang_at, id LIMIT 1"
        ))
        .and_then(|mut s| {
            s.query_row(params_from_iter(args.iter()), |r| Ok((uuid_at(r, 0)?, r.get::<_, i64>(1)?))).optional()
        })
        .map_err(map_err)?;
    let Some((id, version)) = next else {
        return Ok(None);
    };
    apply_change(conn, tenant, VorgangId(id), version, &VorgangChange::Assign { to: Some(user) }, actor).map(Some)
}

#[async_trait]
impl store::VorgangStore for crate::Tenant<'_> {
    async fn worklist(&self, query: &WorklistQuery) -> Result<WorklistPage> {
        let (tenant, query) = (self.tenant.clone(), query.clone());
        self.engine.read(move |c| crate::vorgang::worklist(c, &tenant, &query)).await
    }

    async fn status_counts(&self, visibility: &Visibility, view: &View) -> Result<StatusCounts> {
        let (tenant, visibility, view) = (self.tenant.clone(), visibility.clone(), view.clone());
        self.engine.read(move |c| crate::vorgang::status_counts(c, &tenant, &visibility, &view)).await
    }

    async fn get_vorgang(&self, id: VorgangId) -> Result<VorgangRecord> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::vorgang::get_vorgang(c, &tenant, id)).await
    }

    async fn history(&self, id: VorgangId) -> Result<Vec<EventRecord>> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::vorgang::history(c, &tenant, id)).await
    }

    async fn get_document(&self, id: DocumentId) -> Result<DocumentRecord> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::vorgang::get_document(c, &tenant, id)).await
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<EventRecord>> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::vorgang::events_after(c, &tenant, after, limit)).await
    }

    async fn apply_change(
        &self,
        id: VorgangId,
        expected_version: i64,
        change: VorgangChange,
        actor: &Actor,
    ) -> Result<VorgangHead> {
        let (tenant, actor) = (self.tenant.clone(), actor.clone());
        self.engine
            .write(move |c| crate::vorgang::apply_change(c, &tenant, id, expected_version, &change, &actor))
            .await
    }

    async fn claim_next(&self, visibility: &Visibility, user: UserId, actor: &Actor) -> Result<Option<VorgangHead>> {
        let (tenant, visibility, actor) = (self.tenant.clone(), visibility.clone(), actor.clone());
        self.engine.write(move |c| crate::vorgang::claim_next(c, &tenant, &visibility, user, &actor)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conn: &Connection, sql: &str, args: &[String]) -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("prepare");
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3)).expect("plan");
        rows.collect::<rusqlite::Result<Vec<_>>>().expect("plan rows").join("\n")
    }

    /// Every worklist page, whatever the visibility, finds its rows on a covering index (or,
    /// for a clerk's own, on the assignee index), and the pile on its partial index: nothing
    /// scans the Vorgänge.
    #[test]
    fn restricted_pages_stay_index_only() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut conn = Connection::open(dir.path().join("plan.sqlite")).expect("open");
        crate::migrate::migrate(&mut conn).expect("migrate");
        let tenant = TenantId::default_tenant();
        let user = UserId::new();
        let visibilities = [
            Visibility::Tenant,
            Visibility::Restricted { units: vec![UnitId::new(), UnitId::new()], user: Some(user), all_new: true },
            Visibility::Restricted { units: vec![UnitId::new()], user: None, all_new: false },
        ];
        for visibility in &visibilities {
            for view in [View::Alle, View::Meine(user), View::NichtZugewiesen] {
                for sort in SortKey::ALL {
                    for status in [None, Some(VorgangStatus::Neu)] {
                        let q = WorklistQuery {
                            visibility: visibility.clone(),
                            view: view.clone(),
                            status,
                            sort,
                            descending: true,
                            page: 3,
                            per_page: 50,
                            filter: Default::default(),
                        };
                        let (sql, args) = page_query(&tenant, &q).expect("a page query");
                        let plan = plan(&conn, &sql, &args);
                        // A clerk's own Vorgänge are few: their index may read rows for the sort.
                        let own = matches!(view, View::Meine(_)) && plan.contains("INDEX vorgaenge_by_assignee");
                        assert!(own || plan.contains("USING COVERING INDEX vorgaenge_"), "{q:?}:\n{plan}");
                        assert!(!plan.contains("SCAN v\n") && !plan.ends_with("SCAN v"), "{q:?}:\n{plan}");
                    }
                }
            }
        }
        let pile = "SELECT id, version FROM vorgaenge INDEXED BY vorgaenge_pile
                    WHERE tenant_id = ? AND status = 'NEU' AND assignee_id IS NULL AND unit_id IN (?)
                    ORDER BY eingang_at, id LIMIT 1";
        let plan = plan(&conn, pile, &[tenant.as_str().to_owned(), UnitId::new().to_string()]);
        assert!(plan.contains("vorgaenge_pile") && !plan.contains("TEMP B-TREE"), "{plan}");
    }
}
