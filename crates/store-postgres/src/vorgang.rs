use crate::convert::finish;
use crate::convert::{get, json, map_err, parsed, to_json, to_u64};
use crate::tenants::unit_name;
use async_trait::async_trait;
use domain::access::Pile;
use domain::vorgang::{plan_change, ChangePlan, Names, Update};
use domain::{
    DocumentId, TenantId, TransactionId, UnitId, UserId, Visibility, VorgangEvent, VorgangId, VorgangStatus,
    Vorgangsnummer,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};
use store::{
    Actor, DocumentKind, DocumentRecord, EventRecord, Result, SortKey, StatusCounts, StorageError, UserRef, View,
    VorgangChange, VorgangHead, VorgangListItem, VorgangRecord, WorklistPage, WorklistQuery,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub(crate) const HEAD_COLUMNS: &str = "id, nummer, status, status_since, version";

/// Now, at millisecond precision, by the database clock: one clock for all processes. Fixed
/// for the statement (`statement_timestamp`), so a value set and returned by one statement
/// agrees with itself.
pub(crate) const NOW_MS: &str = "date_trunc('milliseconds', statement_timestamp())";

/// The two-key advisory lock space of the event log: the first key, the tenant's hash second.
pub(crate) const EVENT_LOG_LOCK: i32 = 0x6F7A_6576; // "ozev"

/// A [`VorgangHead`] from [`HEAD_COLUMNS`] at `offset`.
pub(crate) fn head_at(r: &PgRow, offset: usize) -> Result<VorgangHead> {
    Ok(VorgangHead {
        id: VorgangId(get(r, offset)?),
        nummer: parsed(r, offset + 1, Vorgangsnummer::parse)?,
        status: parsed(r, offset + 2, VorgangStatus::parse)?,
        status_since: get(r, offset + 3)?,
        version: get(r, offset + 4)?,
    })
}

pub(crate) async fn head_by_transaction(
    conn: &mut PgConnection,
    tenant: &TenantId,
    tx: &str,
) -> Result<Option<VorgangHead>> {
    sqlx::query(&format!("SELECT {HEAD_COLUMNS} FROM vorgaenge WHERE tenant_id = $1 AND transaction_id = $2"))
        .bind(tenant.as_str())
        .bind(tx)
        .fetch_optional(conn)
        .await
        .map_err(map_err)?
        .map(|r| head_at(&r, 0))
        .transpose()
}

pub(crate) async fn find_by_transaction(
    pool: &PgPool,
    tenant: &TenantId,
    tx: &TransactionId,
) -> Result<Option<VorgangHead>> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    head_by_transaction(&mut conn, tenant, tx.as_str()).await
}

/// Appends one event to the tenant's log. Call it last in a transaction: it takes the tenant's
/// event-log lock, held until commit, so that sequence numbers are handed out in commit order
/// and a reader of [`events_after`] never sees seq n+1 before n. Nothing after this may wait
/// for another lock (no deadlock: the holder only commits).
pub(crate) async fn append_event(
    conn: &mut PgConnection,
    tenant: &TenantId,
    vorgang: impl Into<Option<VorgangId>>,
    at: OffsetDateTime,
    actor: &Actor,
    event: &VorgangEvent,
) -> Result<()> {
    let vorgang: Option<VorgangId> = vorgang.into();
    let payload = to_json(event)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(EVENT_LOG_LOCK)
        .bind(tenant.as_str())
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    sqlx::query(&format!(
        "{}
         INSERT INTO events (tenant_id, vorgang_id, at, actor_id, actor_name, kind, payload, tenant_seq, schema_version)
         SELECT $1, $2, $3, $4, $5, $6, $7::json, s.value, $8 FROM s",
        crate::convert::take_tenant_numbers("events", "1")
    ))
    .bind(tenant.as_str())
    .bind(vorgang.map(|v| v.0))
    .bind(at)
    .bind(actor.user.map(|u| u.0))
    .bind(&actor.name)
    .bind(event.kind())
    .bind(payload)
    .bind(domain::vorgang::EVENT_SCHEMA_VERSION as i32)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// A value bound to a placeholder of a [`Filter`].
pub(crate) enum Arg {
    Uuid(Uuid),
    Uuids(Vec<Uuid>),
    Text(&'static str),
    Date(time::Date),
    Owned(String),
    Time(OffsetDateTime),
}

/// A WHERE clause built up with its arguments; `$1` is always the tenant.
pub(crate) struct Filter {
    pub(crate) sql: String,
    args: Vec<Arg>,
}

impl Filter {
    pub(crate) fn new(tenant_condition: &str) -> Self {
        Self { sql: tenant_condition.to_owned(), args: Vec::new() }
    }

    /// The placeholder for `arg`.
    pub(crate) fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len() + 1)
    }

    /// The number of the next placeholder.
    pub(crate) fn next(&self) -> usize {
        self.args.len() + 2
    }

    pub(crate) fn bind<'q>(&self, q: PgQuery<'q>, tenant: &'q TenantId) -> PgQuery<'q> {
        let mut q = q.bind(tenant.as_str());
        for a in &self.args {
            q = match a {
                Arg::Uuid(u) => q.bind(*u),
                Arg::Uuids(us) => q.bind(us.clone()),
                Arg::Text(t) => q.bind(*t),
                Arg::Date(d) => q.bind(*d),
                Arg::Owned(s) => q.bind(s.clone()),
                Arg::Time(t) => q.bind(*t),
            };
        }
        q
    }

    /// `AND (...)` for [`Visibility::covers`] over the given columns; nothing for the whole
    /// tenant. Only the parts that can match are written, so the planner sees a plain
    /// predicate. Callers handle [`Visibility::is_nothing`] before (no parts at all).
    pub(crate) fn visibility(&mut self, vis: &Visibility, unit: &str, assignee: &str, status: &str) {
        let Visibility::Restricted { units, user, all_new } = vis else { return };
        let mut parts = Vec::new();
        if !units.is_empty() {
            let p = self.arg(Arg::Uuids(units.iter().map(|u| u.0).collect()));
            parts.push(format!("{unit} = ANY({p})"));
        }
        if let Some(user) = user {
            let p = self.arg(Arg::Uuid(user.0));
            parts.push(format!("{assignee} = {p}"));
        }
        if *all_new {
            parts.push(format!("{status} = 'NEU'"));
        }
        if parts.is_empty() {
            parts.push("FALSE".to_owned());
        }
        self.sql.push_str(&format!(" AND ({})", parts.join(" OR ")));
    }
}

pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

pub(crate) fn view_filter(vis: &Visibility, view: &View, status: Option<VorgangStatus>) -> Filter {
    let mut f = Filter::new("v.tenant_id = $1");
    match view {
        View::Alle => {}
        View::Meine(user) => {
            let p = f.arg(Arg::Uuid(user.0));
            f.sql.push_str(&format!(" AND v.assignee_id = {p}"));
        }
        View::NichtZugewiesen => f.sql.push_str(" AND v.assignee_id IS NULL"),
    }
    if let Some(s) = status {
        let p = f.arg(Arg::Text(s.as_str()));
        f.sql.push_str(&format!(" AND v.status = {p}"));
    }
    f.visibility(vis, "v.unit_id", "v.assignee_id", "v.status");
    f
}

/// Byte-wise order for text (like SQLite and Rust), whatever the database's locale.
pub(crate) fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::EingangAt => "v.eingang_at",
        SortKey::Nummer => "v.nummer COLLATE \"C\"",
        SortKey::FormName => "v.form_name COLLATE \"C\"",
        SortKey::Status => "v.status COLLATE \"C\"",
        SortKey::Aktenzeichen => "v.aktenzeichen COLLATE \"C\"",
    }
}

/// Sums the trigger-maintained count rows the view and visibility cover: the same predicate
/// as the worklist's, over the count keys (nil UUID for "none", which no unit or user has).
async fn counts_in(conn: &mut PgConnection, tenant: &TenantId, vis: &Visibility, view: &View) -> Result<StatusCounts> {
    if vis.is_nothing() {
        return Ok(StatusCounts::default());
    }
    let mut f = Filter::new("tenant_id = $1");
    match view {
        View::Alle => {}
        View::Meine(user) => {
            let p = f.arg(Arg::Uuid(user.0));
            f.sql.push_str(&format!(" AND assignee_key = {p}"));
        }
        View::NichtZugewiesen => {
            let p = f.arg(Arg::Uuid(Uuid::nil()));
            f.sql.push_str(&format!(" AND assignee_key = {p}"));
        }
    }
    f.visibility(vis, "unit_key", "assignee_key", "status");
    let sql = format!(
        "SELECT status, sum(n)::bigint FROM vorgang_counts WHERE {}
         GROUP BY status HAVING sum(n) > 0",
        f.sql
    );
    let rows = f.bind(sqlx::query(&sql), tenant).fetch_all(conn).await.map_err(map_err)?;
    let by_status = rows
        .iter()
        .map(|r| Ok((parsed(r, 0, VorgangStatus::parse)?, to_u64(get(r, 1)?))))
        .collect::<Result<Vec<_>>>()?;
    Ok(StatusCounts { by_status })
}

pub(crate) async fn status_counts(
    pool: &PgPool,
    tenant: &TenantId,
    vis: &Visibility,
    view: &View,
) -> Result<StatusCounts> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    counts_in(&mut conn, tenant, vis, view).await
}

pub(crate) fn list_item(r: &PgRow) -> Result<VorgangListItem> {
    let assignee = get::<Option<Uuid>>(r, 6)?
        .map(|id| {
            Ok::<_, StorageError>(UserRef {
                id: UserId(id),
                display_name: get::<Option<String>>(r, 7)?.unwrap_or_default(),
            })
        })
        .transpose()?;
    Ok(VorgangListItem {
        id: VorgangId(get(r, 0)?),
        nummer: parsed(r, 1, Vorgangsnummer::parse)?,
        status: parsed(r, 2, VorgangStatus::parse)?,
        aktenzeichen: get(r, 3)?,
        form_name: get(r, 4)?,
        eingang_at: get(r, 5)?,
        assignee,
        applicant_name: get(r, 8)?,
        version: get(r, 9)?,
        naechste_frist: get(r, 10)?,
        treffer: None,
    })
}

pub(crate) async fn worklist(pool: &PgPool, tenant: &TenantId, q: &WorklistQuery) -> Result<WorklistPage> {
    if q.visibility.is_nothing() {
        return Ok(WorklistPage { items: Vec::new(), total: 0, counts: StatusCounts::default() });
    }
    if !q.filter.is_empty() {
        return crate::search::filtered_page(pool, tenant, q).await;
    }
    // One snapshot for the counts and the page, so the total matches the items.
    let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(map_err)?;
    let counts = counts_in(&mut tx, tenant, &q.visibility, &q.view).await?;
    let total = q.status.map_or_else(|| counts.total(), |s| counts.get(s));
    let items = page_items(&mut tx, tenant, q, &view_filter(&q.visibility, &q.view, q.status)).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(WorklistPage { items, total, counts })
}

/// The columns [`list_item`] reads, of `vorgaenge v` and its assignee `users u`.
pub(crate) const LIST_ITEM_COLUMNS: &str = "v.id, v.nummer, v.status, v.aktenzeichen, v.form_name, v.eingang_at,
     v.assignee_id, u.display_name, v.applicant_name, v.version, v.naechste_frist";

/// The query's page of the Vorgänge `f` selects, in its order: the page's ids are found on
/// an index alone; only the rows shown are then read.
pub(crate) async fn page_items(
    conn: &mut PgConnection,
    tenant: &TenantId,
    q: &WorklistQuery,
    f: &Filter,
) -> Result<Vec<VorgangListItem>> {
    // A missing Aktenzeichen sorts first ascending, last descending (like Rust's Option).
    let (dir, nulls) = if q.descending { ("DESC", "NULLS LAST") } else { ("ASC", "NULLS FIRST") };
    let sql = format!(
        "SELECT {LIST_ITEM_COLUMNS}
         FROM (SELECT v.id FROM vorgaenge v WHERE {filter}
               ORDER BY {col} {dir} {nulls}, v.id {dir} LIMIT ${limit} OFFSET ${offset}) page
         JOIN vorgaenge v ON v.tenant_id = $1 AND v.id = page.id
         LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.assignee_id
         ORDER BY {col} {dir} {nulls}, v.id {dir}",
        filter = f.sql,
        col = sort_column(q.sort),
        limit = f.next(),
        offset = f.next() + 1,
    );
    let rows = f
        .bind(sqlx::query(&sql), tenant)
        .bind(i64::from(q.per_page))
        .bind(i64::from(q.page) * i64::from(q.per_page))
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    rows.iter().map(list_item).collect()
}

pub(crate) const DOCUMENT_COLUMNS: &str = "id, vorgang_id, kind, filename, content_type, size, blob_key, sha256";

pub(crate) fn document_row(r: &PgRow) -> Result<DocumentRecord> {
    Ok(DocumentRecord {
        id: DocumentId(get(r, 0)?),
        vorgang_id: VorgangId(get(r, 1)?),
        kind: parsed(r, 2, DocumentKind::parse)?,
        filename: get(r, 3)?,
        content_type: get(r, 4)?,
        size: to_u64(get(r, 5)?),
        blob_key: get(r, 6)?,
        sha256: get(r, 7)?,
    })
}

pub(crate) async fn get_document(pool: &PgPool, tenant: &TenantId, id: DocumentId) -> Result<DocumentRecord> {
    let row = sqlx::query(&format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = $1 AND id = $2"))
        .bind(tenant.as_str())
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    document_row(&row)
}

/// The columns [`vorgang_at`] reads: the Vorgang with its data and its assignee's name.
pub(crate) const VORGANG_SELECT: &str =
    "SELECT v.id, v.nummer, v.status, v.status_since, v.version, v.transaction_id, v.aktenzeichen,
            v.assignee_id, u.display_name, v.eingang_at, v.form_id, v.form_name, v.zustaendige_stelle,
            d.leika_ids::text, d.applicant::text, d.control::text, d.form_data::text, v.status_before_deletion,
            v.unit_id
     FROM vorgaenge v
     JOIN vorgang_daten d ON d.tenant_id = v.tenant_id AND d.vorgang_id = v.id
     LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.assignee_id";

/// A [`VorgangRecord`] without documents from a row of [`VORGANG_SELECT`].
pub(crate) fn vorgang_at(r: &PgRow, tenant: &TenantId) -> Result<VorgangRecord> {
    let assignee = get::<Option<Uuid>>(r, 7)?
        .map(|u| {
            Ok::<_, StorageError>(UserRef {
                id: UserId(u),
                display_name: get::<Option<String>>(r, 8)?.unwrap_or_default(),
            })
        })
        .transpose()?;
    Ok(VorgangRecord {
        head: head_at(r, 0)?,
        tenant: tenant.clone(),
        transaction_id: parsed(r, 5, TransactionId::parse)?,
        aktenzeichen: get(r, 6)?,
        assignee,
        eingang_at: get(r, 9)?,
        form_id: get(r, 10)?,
        form_name: get(r, 11)?,
        zustaendige_stelle: get(r, 12)?,
        leika_ids: json(r, 13)?,
        applicant: json(r, 14)?,
        control: json(r, 15)?,
        form_data: json(r, 16)?,
        documents: Vec::new(),
        status_before_deletion_request: get::<Option<&str>>(r, 17)?.and_then(VorgangStatus::parse),
        unit: get::<Option<Uuid>>(r, 18)?.map(UnitId),
    })
}

pub(crate) async fn get_vorgang(pool: &PgPool, tenant: &TenantId, id: VorgangId) -> Result<VorgangRecord> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    let r = sqlx::query(&format!("{VORGANG_SELECT} WHERE v.tenant_id = $1 AND v.id = $2"))
        .bind(tenant.as_str())
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    let mut record = vorgang_at(&r, tenant)?;
    // The applicant's documents never change after intake: no need to read them in the same
    // snapshot. (Clerks' documents are `crate::documents::list_clerk_documents`.)
    record.documents = sqlx::query(&format!(
        "SELECT {DOCUMENT_COLUMNS} FROM documents WHERE tenant_id = $1 AND vorgang_id = $2 AND kind <> 'CLERK'
         ORDER BY kind COLLATE \"C\" DESC, filename COLLATE \"C\""
    ))
    .bind(tenant.as_str())
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?
    .iter()
    .map(document_row)
    .collect::<Result<_>>()?;
    Ok(record)
}

pub(crate) const EVENT_COLUMNS: &str =
    "tenant_seq, vorgang_id, at, actor_id, actor_name, payload::text, schema_version";

pub(crate) fn event_row(r: &PgRow) -> Result<EventRecord> {
    Ok(EventRecord {
        seq: get(r, 0)?,
        vorgang_id: get::<Option<Uuid>>(r, 1)?.map(VorgangId),
        at: get(r, 2)?,
        actor: Actor { user: get::<Option<Uuid>>(r, 3)?.map(UserId), name: get(r, 4)? },
        event: json(r, 5)?,
        schema_version: u32::try_from(get::<i32>(r, 6)?).unwrap_or(1),
    })
}

pub(crate) async fn history(pool: &PgPool, tenant: &TenantId, id: VorgangId) -> Result<Vec<EventRecord>> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    let events = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND vorgang_id = $2 ORDER BY tenant_seq"
    ))
    .bind(tenant.as_str())
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?
    .iter()
    .map(event_row)
    .collect::<Result<Vec<_>>>()?;
    // Every Vorgang has its EINGEGANGEN event: no events (almost always) means no Vorgang;
    // a deleted one has only its GELOESCHT event left.
    if events.last().is_none_or(|e| matches!(e.event, VorgangEvent::Geloescht { .. }))
        && crate::transfer::missing(&mut conn, tenant, "vorgaenge", vec![id.0]).await? > 0
    {
        return Err(StorageError::NotFound);
    }
    Ok(events)
}

pub(crate) async fn events_after(pool: &PgPool, tenant: &TenantId, after: i64, limit: u32) -> Result<Vec<EventRecord>> {
    sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND tenant_seq > $2 ORDER BY tenant_seq LIMIT $3"
    ))
    .bind(tenant.as_str())
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(map_err)?
    .iter()
    .map(event_row)
    .collect()
}

/// The display name of a user of the tenant; `enabled_only` for new assignments (the
/// previous assignee is named in the history even when disabled since).
async fn user_name(
    conn: &mut PgConnection,
    tenant: &TenantId,
    user: Uuid,
    enabled_only: bool,
) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT display_name FROM users WHERE tenant_id = $1 AND id = $2 AND (NOT disabled OR NOT $3)")
        .bind(tenant.as_str())
        .bind(user)
        .bind(enabled_only)
        .fetch_optional(conn)
        .await
        .map_err(map_err)
}

/// [`apply_change`] inside the caller's transaction. Locks the row first (`FOR UPDATE`), so the
/// version check and the update see the same row and concurrent changers queue up: the first
/// wins, the others get [`StorageError::Conflict`] with the version it left.
pub(crate) async fn apply_in(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: VorgangId,
    expected_version: i64,
    change: &VorgangChange,
    actor: &Actor,
) -> Result<VorgangHead> {
    let t = tenant.as_str();
    let cur = sqlx::query(
        "SELECT version, status, assignee_id, aktenzeichen, unit_id FROM vorgaenge
         WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(t)
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await
    .map_err(map_err)?
    .ok_or(StorageError::NotFound)?;
    let version: i64 = get(&cur, 0)?;
    let status = parsed(&cur, 1, VorgangStatus::parse)?;
    let assignee: Option<Uuid> = get(&cur, 2)?;
    let aktenzeichen: Option<String> = get(&cur, 3)?;
    let unit: Option<Uuid> = get(&cur, 4)?;
    // The storage looks up the names the event records; the domain decides the rest.
    let names = match change {
        VorgangChange::Assign { to } => Names {
            before: match assignee {
                Some(u) => user_name(conn, tenant, u, false).await?,
                None => None,
            },
            after: match to {
                Some(user) => Some(
                    user_name(conn, tenant, user.0, true).await?.ok_or(StorageError::InvalidReference("assignee"))?,
                ),
                None => None,
            },
        },
        VorgangChange::Unit { to } => Names {
            before: match unit {
                Some(u) => unit_name(conn, tenant, u).await?,
                None => None,
            },
            after: match to {
                Some(u) => Some(unit_name(conn, tenant, u.0).await?.ok_or(StorageError::InvalidReference("unit"))?),
                None => None,
            },
        },
        _ => Names::default(),
    };
    let current = domain::vorgang::Current { version, status, aktenzeichen };
    let ChangePlan { update, event } = plan_change(&current, expected_version, change, names)
        .map_err(|s| StorageError::Conflict { current_version: s.current_version })?;
    // Every UPDATE returns the new head and the time it happened (HEAD_COLUMNS, then `at`).
    let returning = format!("RETURNING {HEAD_COLUMNS}, {NOW_MS}");
    let query = match &update {
        Update::Status { .. } => format!(
            "UPDATE vorgaenge SET status = $3, status_since = {NOW_MS}, version = version + 1,
             status_before_deletion = $4 WHERE tenant_id = $1 AND id = $2 {returning}"
        ),
        Update::Assignee(_) => format!(
            "UPDATE vorgaenge SET assignee_id = $3, version = version + 1 WHERE tenant_id = $1 AND id = $2 {returning}"
        ),
        Update::Aktenzeichen(_) => format!(
            "UPDATE vorgaenge SET aktenzeichen = $3, version = version + 1 WHERE tenant_id = $1 AND id = $2 {returning}"
        ),
        Update::Unit(_) => format!(
            "UPDATE vorgaenge SET unit_id = $3, version = version + 1 WHERE tenant_id = $1 AND id = $2 {returning}"
        ),
    };
    let q = sqlx::query(&query).bind(t).bind(id.0);
    let q = match &update {
        Update::Status { to, before_deletion } => q.bind(to.as_str()).bind(before_deletion.map(VorgangStatus::as_str)),
        Update::Assignee(to) => q.bind(to.map(|u| u.0)),
        Update::Aktenzeichen(az) => q.bind(az.clone()),
        Update::Unit(to) => q.bind(to.map(|u| u.0)),
    };
    let row = q.fetch_one(&mut *conn).await.map_err(map_err)?;
    if update.touches_search() {
        crate::search::reindex(conn, tenant, id.0).await?;
    }
    let head = head_at(&row, 0)?;
    let at: OffsetDateTime = get(&row, 5)?;
    append_event(conn, tenant, id, at, actor, &event).await?;
    Ok(head)
}

pub(crate) async fn apply_change(
    pool: &PgPool,
    tenant: &TenantId,
    id: VorgangId,
    expected_version: i64,
    change: &VorgangChange,
    actor: &Actor,
) -> Result<VorgangHead> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    let head = apply_in(&mut tx, tenant, id, expected_version, change, actor).await;
    finish(tx, head).await
}

/// Takes the oldest unassigned NEU Vorgang within the visibility that no other transaction
/// holds (`SKIP LOCKED`): concurrent claimers, in this process or another, each get a
/// different one and never wait for each other.
pub(crate) async fn claim_next(
    pool: &PgPool,
    tenant: &TenantId,
    vis: &Visibility,
    user: UserId,
    actor: &Actor,
) -> Result<Option<VorgangHead>> {
    let units = match vis.pile() {
        Pile::All => None,
        Pile::Nothing => return Ok(None),
        Pile::Units(units) => Some(units.iter().map(|u| u.0).collect::<Vec<Uuid>>()),
    };
    let mut tx = pool.begin().await.map_err(map_err)?;
    let next = match units {
        None => {
            sqlx::query(
                "SELECT id, version FROM vorgaenge WHERE tenant_id = $1 AND status = 'NEU' AND assignee_id IS NULL
             ORDER BY eingang_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .bind(tenant.as_str())
            .fetch_optional(&mut *tx)
            .await
        }
        Some(units) => {
            sqlx::query(
                "SELECT id, version FROM vorgaenge WHERE tenant_id = $1 AND status = 'NEU' AND assignee_id IS NULL
               AND unit_id = ANY($2)
             ORDER BY eingang_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .bind(tenant.as_str())
            .bind(units)
            .fetch_optional(&mut *tx)
            .await
        }
    }
    .map_err(map_err)?;
    let Some(next) = next else {
        tx.commit().await.map_err(map_err)?;
        return Ok(None);
    };
    let claimed = async {
        let (id, version): (Uuid, i64) = (get(&next, 0)?, get(&next, 1)?);
        let change = VorgangChange::Assign { to: Some(user) };
        apply_in(&mut tx, tenant, VorgangId(id), version, &change, actor).await.map(Some)
    }
    .await;
    finish(tx, claimed).await
}

#[async_trait]
impl store::VorgangStore for crate::Tenant<'_> {
    async fn worklist(&self, query: &WorklistQuery) -> Result<WorklistPage> {
        let tenant = &self.tenant;
        crate::vorgang::worklist(&self.pool, tenant, query).await
    }

    async fn status_counts(&self, visibility: &Visibility, view: &View) -> Result<StatusCounts> {
        let tenant = &self.tenant;
        crate::vorgang::status_counts(&self.pool, tenant, visibility, view).await
    }

    async fn get_vorgang(&self, id: VorgangId) -> Result<VorgangRecord> {
        let tenant = &self.tenant;
        crate::vorgang::get_vorgang(&self.pool, tenant, id).await
    }

    async fn history(&self, id: VorgangId) -> Result<Vec<EventRecord>> {
        let tenant = &self.tenant;
        crate::vorgang::history(&self.pool, tenant, id).await
    }

    async fn get_document(&self, id: DocumentId) -> Result<DocumentRecord> {
        let tenant = &self.tenant;
        crate::vorgang::get_document(&self.pool, tenant, id).await
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<EventRecord>> {
        let tenant = &self.tenant;
        crate::vorgang::events_after(&self.pool, tenant, after, limit).await
    }

    async fn apply_change(
        &self,
        id: VorgangId,
        expected_version: i64,
        change: VorgangChange,
        actor: &Actor,
    ) -> Result<VorgangHead> {
        let tenant = &self.tenant;
        crate::vorgang::apply_change(&self.pool, tenant, id, expected_version, &change, actor).await
    }

    async fn claim_next(&self, visibility: &Visibility, user: UserId, actor: &Actor) -> Result<Option<VorgangHead>> {
        let tenant = &self.tenant;
        crate::vorgang::claim_next(&self.pool, tenant, visibility, user, actor).await
    }
}
