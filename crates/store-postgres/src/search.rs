//! "Vorgang suchen" and the worklist filters on PostgreSQL: `vorgaenge.such_vektor`
//! (`to_tsvector('simple', words)`, GIN-indexed, see migration 0005) and the filtered
//! worklist.
//!
//! The indexed words come from `domain::search` (folded `[a-z0-9]+` words), and so do the
//! query terms: the tsquery `term1:* & term2:*` is built from terms only and passed as a
//! bind parameter.

use crate::convert::{get, map_err, parsed, to_u64};
use crate::vorgang::{list_item, page_items, sort_column, view_filter, Arg, Filter, LIST_ITEM_COLUMNS};
use async_trait::async_trait;
use domain::search::{self, Searchable};
use domain::{FormItem, TenantId, VorgangStatus};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use store::{Result, StatusCounts, StorageError, VorgangListItem, WorklistPage, WorklistQuery};
use uuid::Uuid;

/// How many words a hit's snippet shows.
const SNIPPET_WORDS: usize = 14;
/// Vorgänge indexed per transaction by [`backfill`].
const BACKFILL_BATCH: i64 = 500;

/// The searchable text of a Vorgang: `(index words, form-data text)`.
pub(crate) fn texts(s: Searchable<'_>, form_data: &[FormItem]) -> (String, String) {
    let form_text = search::form_text(form_data);
    let words = Searchable { form_text: &form_text, ..s }.index_text();
    (words, form_text)
}

/// Writes the search entries of stored Vorgänge: `(id, index words, form-data text)`.
async fn write(conn: &mut PgConnection, tenant: &str, entries: &[(Uuid, String, String)]) -> Result<()> {
    let ids: Vec<Uuid> = entries.iter().map(|e| e.0).collect();
    let words: Vec<&str> = entries.iter().map(|e| e.1.as_str()).collect();
    let texts: Vec<&str> = entries.iter().map(|e| e.2.as_str()).collect();
    sqlx::query(
        "UPDATE vorgaenge v SET such_vektor = to_tsvector('simple', x.words)
         FROM unnest($2::uuid[], $3::text[]) AS x (id, words) WHERE v.tenant_id = $1 AND v.id = x.id",
    )
    .bind(tenant)
    .bind(&ids)
    .bind(words)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    sqlx::query(
        "UPDATE vorgang_daten d SET such_text = x.text
         FROM unnest($2::uuid[], $3::text[]) AS x (id, text) WHERE d.tenant_id = $1 AND d.vorgang_id = x.id",
    )
    .bind(tenant)
    .bind(&ids)
    .bind(texts)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

const STORED_SELECT: &str = "SELECT v.tenant_id, v.id, v.nummer, v.aktenzeichen, v.applicant_name, v.form_name,
        d.form_data::text
     FROM vorgang_daten d JOIN vorgaenge v ON v.tenant_id = d.tenant_id AND v.id = d.vorgang_id";

/// `(tenant, id, index words, form-data text)` of a row of [`STORED_SELECT`].
fn stored_texts(r: &sqlx::postgres::PgRow) -> Result<(String, Uuid, String, String)> {
    let id: Uuid = get(r, 1)?;
    // Unreadable form data must not stop the index (nor the start): its words stay unsearched.
    let form_data: Vec<FormItem> = serde_json::from_str(get::<&str>(r, 6)?).unwrap_or_else(|e| {
        tracing::warn!(vorgang = %id, error = %e, "search: form data not indexed");
        Vec::new()
    });
    let (nummer, aktenzeichen, applicant): (&str, Option<&str>, Option<&str>) = (get(r, 2)?, get(r, 3)?, get(r, 4)?);
    let s = Searchable { nummer, aktenzeichen, applicant_name: applicant, form_name: get(r, 5)?, form_text: "" };
    let (words, text) = texts(s, &form_data);
    Ok((get(r, 0)?, id, words, text))
}

/// Recomputes the search entry of a stored Vorgang (after its Aktenzeichen changed), in the
/// caller's transaction.
pub(crate) async fn reindex(conn: &mut PgConnection, tenant: &TenantId, id: Uuid) -> Result<()> {
    let row = sqlx::query(&format!("{STORED_SELECT} WHERE v.tenant_id = $1 AND v.id = $2"))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    let (_, id, words, text) = stored_texts(&row)?;
    write(conn, tenant.as_str(), &[(id, words, text)]).await
}

/// Indexes the Vorgänge stored before the search existed (`such_text` NULL), in batches of
/// their own transactions; run at startup after the migrations. Several processes starting
/// at once share the work (`SKIP LOCKED`), and rows a command holds are skipped, never
/// waited for (commands lock the Vorgang, then its data; this would lock the other way
/// round). Returns how many this process indexed.
pub(crate) async fn backfill(pool: &PgPool) -> Result<u64> {
    let mut done = 0;
    loop {
        let mut tx = pool.begin().await.map_err(map_err)?;
        let rows = sqlx::query(&format!(
            "{STORED_SELECT} WHERE d.such_text IS NULL ORDER BY d.tenant_id, d.vorgang_id LIMIT $1
             FOR UPDATE OF v, d SKIP LOCKED"
        ))
        .bind(BACKFILL_BATCH)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        if rows.is_empty() {
            tx.commit().await.map_err(map_err)?;
            break;
        }
        let mut by_tenant: HashMap<String, Vec<(Uuid, String, String)>> = HashMap::new();
        for r in &rows {
            let (tenant, id, words, text) = stored_texts(r)?;
            by_tenant.entry(tenant).or_default().push((id, words, text));
        }
        for (tenant, entries) in &by_tenant {
            write(&mut tx, tenant, entries).await?;
        }
        tx.commit().await.map_err(map_err)?;
        done += rows.len() as u64;
    }
    if done > 0 {
        tracing::info!(vorgaenge = done, "postgres: search index built for existing Vorgänge");
    }
    Ok(done)
}

/// The distinct form names of the tenant, byte-wise: a skip scan over the form index (one
/// probe per form, however many Vorgänge there are).
pub(crate) async fn forms(pool: &PgPool, tenant: &TenantId) -> Result<Vec<String>> {
    sqlx::query_scalar(
        "WITH RECURSIVE f (name) AS (
             (SELECT form_name FROM vorgaenge WHERE tenant_id = $1 ORDER BY form_name LIMIT 1)
             UNION ALL
             SELECT (SELECT v.form_name FROM vorgaenge v WHERE v.tenant_id = $1 AND v.form_name > f.name
                     ORDER BY v.form_name LIMIT 1)
             FROM f WHERE f.name IS NOT NULL)
         SELECT name FROM f WHERE name IS NOT NULL",
    )
    .bind(tenant.as_str())
    .fetch_all(pool)
    .await
    .map_err(map_err)
}

/// The tsquery of the terms: every term as a prefix, all required. Terms that are not
/// `domain::search` terms are dropped (they cannot come from `search::terms`).
fn tsquery(terms: &[String]) -> Option<String> {
    let terms: Vec<String> = terms.iter().filter(|t| search::is_term(t)).map(|t| format!("{t}:*")).collect();
    (!terms.is_empty()).then(|| terms.join(" & "))
}

/// View, visibility and filter (and the status unless `for_counts`) over `v`.
fn filter(q: &WorklistQuery, for_counts: bool) -> Filter {
    let mut f = view_filter(&q.visibility, &q.view, if for_counts { None } else { q.status });
    let w = &q.filter;
    if let Some(tsq) = tsquery(&w.terms) {
        let p = f.arg(Arg::Owned(tsq));
        f.sql.push_str(&format!(" AND v.such_vektor @@ to_tsquery('simple', {p})"));
    }
    if let Some(form) = &w.form_name {
        let p = f.arg(Arg::Owned(form.clone()));
        f.sql.push_str(&format!(" AND v.form_name = {p}"));
    }
    if let Some(unit) = w.unit {
        let p = f.arg(Arg::Uuid(unit.0));
        f.sql.push_str(&format!(" AND v.unit_id = {p}"));
    }
    if let Some(user) = w.assignee {
        let p = f.arg(Arg::Uuid(user.0));
        f.sql.push_str(&format!(" AND v.assignee_id = {p}"));
    }
    if let Some(von) = w.eingang_von {
        let p = f.arg(Arg::Time(von));
        f.sql.push_str(&format!(" AND v.eingang_at >= {p}"));
    }
    if let Some(bis) = w.eingang_bis {
        let p = f.arg(Arg::Time(bis));
        f.sql.push_str(&format!(" AND v.eingang_at < {p}"));
    }
    f
}

/// A worklist page with search or filters: the counts are those of the matching Vorgänge
/// (counted, not taken from the kept counters), the page is sorted like any other.
pub(crate) async fn filtered_page(pool: &PgPool, tenant: &TenantId, q: &WorklistQuery) -> Result<WorklistPage> {
    let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(map_err)?;
    let (counts, mut items) = if tsquery(&q.filter.terms).is_some() {
        hits_page(&mut tx, tenant, q).await?
    } else {
        filter_page(&mut tx, tenant, q).await?
    };
    let terms: Vec<String> = q.filter.terms.iter().filter(|t| search::is_term(t)).cloned().collect();
    if !terms.is_empty() && !items.is_empty() {
        let ids: Vec<Uuid> = items.iter().map(|i| i.id.0).collect();
        let texts: HashMap<Uuid, Option<String>> = sqlx::query_as(
            "SELECT vorgang_id, such_text FROM vorgang_daten WHERE tenant_id = $1 AND vorgang_id = ANY($2)",
        )
        .bind(tenant.as_str())
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .into_iter()
        .collect();
        for item in &mut items {
            item.treffer = texts
                .get(&item.id.0)
                .and_then(|t| t.as_deref())
                .and_then(|t| search::snippet(t, &terms, SNIPPET_WORDS));
        }
    }
    tx.commit().await.map_err(map_err)?;
    let total = q.status.map_or_else(|| counts.total(), |s| counts.get(s));
    Ok(WorklistPage { items, total, counts })
}

/// The text search in one pass over its hits: the GIN index yields them, each is read once
/// (status and sort key), and counts and the page's ids come from that one set; then only the
/// page's rows are read in full.
async fn hits_page(
    conn: &mut PgConnection,
    tenant: &TenantId,
    q: &WorklistQuery,
) -> Result<(StatusCounts, Vec<VorgangListItem>)> {
    let mut f = filter(q, true);
    let status = match q.status {
        Some(s) => format!("WHERE status = {}", f.arg(Arg::Text(s.as_str()))),
        None => String::new(),
    };
    let (dir, nulls) = if q.descending { ("DESC", "NULLS LAST") } else { ("ASC", "NULLS FIRST") };
    let sql = format!(
        "WITH hits AS MATERIALIZED (
             SELECT v.id, v.status, {col} AS k FROM vorgaenge v
             WHERE {filter})
         SELECT (SELECT coalesce(json_agg(json_build_array(status, n)), '[]')::text
                 FROM (SELECT status, count(*) AS n FROM hits GROUP BY status ORDER BY status) c),
                (SELECT coalesce(array_agg(id ORDER BY pos), '{{}}')
                 FROM (SELECT id, row_number() OVER (ORDER BY k {dir} {nulls}, id {dir}) AS pos FROM hits {status}
                       ORDER BY k {dir} {nulls}, id {dir} LIMIT ${limit} OFFSET ${offset}) p)",
        filter = f.sql,
        col = sort_column(q.sort),
        limit = f.next(),
        offset = f.next() + 1,
    );
    let row = f
        .bind(sqlx::query(&sql), tenant)
        .bind(i64::from(q.per_page))
        .bind(i64::from(q.page) * i64::from(q.per_page))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    let by_status: Vec<(String, i64)> =
        serde_json::from_str(get::<&str>(&row, 0)?).map_err(|e| StorageError::Other(format!("search counts: {e}")))?;
    let by_status = by_status
        .into_iter()
        .map(|(s, n)| {
            VorgangStatus::parse(&s).map(|s| (s, to_u64(n))).ok_or_else(|| StorageError::Other(format!("status {s}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let page: Vec<Uuid> = get(&row, 1)?;
    if page.is_empty() {
        return Ok((StatusCounts { by_status }, Vec::new()));
    }
    let rows = sqlx::query(&format!(
        "SELECT {LIST_ITEM_COLUMNS}
         FROM vorgaenge v LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.assignee_id
         WHERE v.tenant_id = $1 AND v.id = ANY($2)"
    ))
    .bind(tenant.as_str())
    .bind(&page)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    let mut items = rows.iter().map(list_item).collect::<Result<Vec<_>>>()?;
    items.sort_by_key(|i| page.iter().position(|p| *p == i.id.0));
    Ok((StatusCounts { by_status }, items))
}

/// Filters without text: counted, then the page found like the worklist's.
async fn filter_page(
    conn: &mut PgConnection,
    tenant: &TenantId,
    q: &WorklistQuery,
) -> Result<(StatusCounts, Vec<VorgangListItem>)> {
    let cf = filter(q, true);
    let sql = format!("SELECT v.status, count(*) FROM vorgaenge v WHERE {} GROUP BY v.status", cf.sql);
    let rows = cf.bind(sqlx::query(&sql), tenant).fetch_all(&mut *conn).await.map_err(map_err)?;
    let by_status = rows
        .iter()
        .map(|r| Ok((parsed(r, 0, VorgangStatus::parse)?, to_u64(get(r, 1)?))))
        .collect::<Result<Vec<_>>>()?;
    let counts = StatusCounts { by_status };
    let total = q.status.map_or_else(|| counts.total(), |s| counts.get(s));
    if total == 0 {
        return Ok((counts, Vec::new()));
    }
    let items = page_items(conn, tenant, q, &filter(q, false)).await?;
    Ok((counts, items))
}

#[async_trait]
impl store::SearchStore for crate::Tenant<'_> {
    async fn forms(&self) -> Result<Vec<String>> {
        let tenant = &self.tenant;
        crate::search::forms(&self.pool, tenant).await
    }
}
