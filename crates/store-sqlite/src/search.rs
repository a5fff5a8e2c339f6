//! "Vorgang suchen" and the worklist filters on SQLite: the FTS5 index `vorgang_fts`
//! (contentless, rowid = `vorgaenge.rowid`, see migration 0004) and the filtered worklist.
//!
//! The indexed words come from `domain::search` (folded `[a-z0-9]+` words), and so do the
//! query terms: the MATCH expression is built from terms only, passed as a parameter.

use crate::convert::{ms, parsed_at};
use crate::engine::map_err;
use crate::vorgang::{list_item, sort_column, view_filter, visibility_filter, worklist_index};
use async_trait::async_trait;
use domain::search::{self, Searchable};
use domain::{FormItem, TenantId, VorgangStatus};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use store::{Result, StatusCounts, StorageError, WorklistPage, WorklistQuery};

/// How many words a hit's snippet shows.
const SNIPPET_WORDS: usize = 14;
/// Vorgänge indexed per transaction by [`backfill`].
const BACKFILL_BATCH: i64 = 500;

/// Writes the search entry of the Vorgang at `rowid`: its index words and the form-data text
/// its snippets are taken from. Replaces an earlier entry.
pub(crate) fn index(conn: &Connection, tenant: &str, id: &str, rowid: i64, s: &Searchable<'_>) -> Result<()> {
    conn.prepare_cached("DELETE FROM vorgang_fts WHERE rowid = ?1")
        .and_then(|mut st| st.execute([rowid]))
        .map_err(map_err)?;
    conn.prepare_cached("INSERT INTO vorgang_fts (rowid, words) VALUES (?1, ?2)")
        .and_then(|mut st| st.execute(params![rowid, s.index_text()]))
        .map_err(map_err)?;
    conn.prepare_cached("UPDATE vorgang_daten SET such_text = ?3 WHERE tenant_id = ?1 AND vorgang_id = ?2")
        .and_then(|mut st| st.execute(params![tenant, id, s.form_text]))
        .map_err(map_err)?;
    Ok(())
}

/// The search entry of a new (or imported) Vorgang whose rows were just written.
pub(crate) fn index_new(
    conn: &Connection,
    tenant: &str,
    id: &str,
    rowid: i64,
    s: Searchable<'_>,
    form_data: &[FormItem],
) -> Result<()> {
    let form_text = search::form_text(form_data);
    index(conn, tenant, id, rowid, &Searchable { form_text: &form_text, ..s })
}

struct Stored {
    rowid: i64,
    tenant: String,
    id: String,
    nummer: String,
    aktenzeichen: Option<String>,
    applicant_name: Option<String>,
    form_name: String,
    form_data: String,
}

const STORED_SELECT: &str = "SELECT v.rowid, v.tenant_id, v.id, v.nummer, v.aktenzeichen, v.applicant_name,
        v.form_name, d.form_data
     FROM vorgang_daten d JOIN vorgaenge v ON v.tenant_id = d.tenant_id AND v.id = d.vorgang_id";

fn stored_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        rowid: r.get(0)?,
        tenant: r.get(1)?,
        id: r.get(2)?,
        nummer: r.get(3)?,
        aktenzeichen: r.get(4)?,
        applicant_name: r.get(5)?,
        form_name: r.get(6)?,
        form_data: r.get(7)?,
    })
}

fn index_stored(conn: &Connection, v: &Stored) -> Result<()> {
    // Unreadable form data must not stop the index (nor the start): its words stay unsearched.
    let form_data: Vec<FormItem> = serde_json::from_str(&v.form_data).unwrap_or_else(|e| {
        tracing::warn!(vorgang = %v.id, error = %e, "search: form data not indexed");
        Vec::new()
    });
    let s = Searchable {
        nummer: &v.nummer,
        aktenzeichen: v.aktenzeichen.as_deref(),
        applicant_name: v.applicant_name.as_deref(),
        form_name: &v.form_name,
        form_text: "",
    };
    index_new(conn, &v.tenant, &v.id, v.rowid, s, &form_data)
}

/// Recomputes the search entry of a stored Vorgang (after its Aktenzeichen changed).
pub(crate) fn reindex(conn: &Connection, tenant: &TenantId, id: &str) -> Result<()> {
    let v = conn
        .prepare_cached(&format!("{STORED_SELECT} WHERE v.tenant_id = ?1 AND v.id = ?2"))
        .and_then(|mut s| s.query_row(params![tenant.as_str(), id], stored_row).optional())
        .map_err(map_err)?
        .ok_or(StorageError::NotFound)?;
    index_stored(conn, &v)
}

/// Indexes the Vorgänge stored before the search existed (`such_text` NULL), in batches of
/// their own transactions; run at startup after the migrations. Returns how many.
pub(crate) fn backfill(conn: &mut Connection) -> Result<u64> {
    let mut done = 0;
    loop {
        let tx = conn.transaction().map_err(map_err)?;
        let batch: Vec<Stored> = tx
            .prepare(&format!(
                "{STORED_SELECT} WHERE d.rowid IN
                   (SELECT rowid FROM vorgang_daten INDEXED BY vorgang_daten_unindexed WHERE such_text IS NULL LIMIT ?1)"
            ))
            .and_then(|mut s| s.query_map([BACKFILL_BATCH], stored_row)?.collect())
            .map_err(map_err)?;
        if batch.is_empty() {
            tx.commit().map_err(map_err)?;
            break;
        }
        for v in &batch {
            index_stored(&tx, v)?;
        }
        tx.commit().map_err(map_err)?;
        done += batch.len() as u64;
    }
    if done > 0 {
        tracing::info!(vorgaenge = done, "sqlite: search index built for existing Vorgänge");
    }
    Ok(done)
}

/// The distinct form names of the tenant, byte-wise: a skip scan over the form index (one
/// probe per form, however many Vorgänge there are).
pub(crate) fn forms(conn: &Connection, tenant: &TenantId) -> Result<Vec<String>> {
    conn.prepare_cached(
        "WITH RECURSIVE f (name) AS (
             SELECT (SELECT form_name FROM vorgaenge INDEXED BY vorgaenge_by_form WHERE tenant_id = ?1
                     ORDER BY form_name LIMIT 1)
             UNION ALL
             SELECT (SELECT v.form_name FROM vorgaenge v INDEXED BY vorgaenge_by_form
                     WHERE v.tenant_id = ?1 AND v.form_name > f.name ORDER BY v.form_name LIMIT 1)
             FROM f WHERE f.name IS NOT NULL)
         SELECT name FROM f WHERE name IS NOT NULL",
    )
    .and_then(|mut s| s.query_map([tenant.as_str()], |r| r.get(0))?.collect())
    .map_err(map_err)
}

/// The FTS5 query of the terms: every term as a prefix (`"term"*`), all required. Terms that
/// are not `domain::search` terms are dropped (they cannot come from `search::terms`).
fn match_expression(terms: &[String]) -> Option<String> {
    let terms: Vec<String> = terms.iter().filter(|t| search::is_term(t)).map(|t| format!("\"{t}\"*")).collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// How a filtered query reaches the Vorgänge: through the search index (rowids), or the
/// index of its most selective filter, which carries the columns of the others.
fn access(q: &WorklistQuery, for_counts: bool) -> String {
    let f = &q.filter;
    let index = if match_expression(&f.terms).is_some() {
        // The hits' rowids drive the query; every other index would walk all Vorgänge.
        return "NOT INDEXED".to_owned();
    } else if f.form_name.is_some() {
        "vorgaenge_by_form"
    } else if f.unit.is_some() {
        "vorgaenge_by_unit"
    } else if f.assignee.is_some() {
        "vorgaenge_by_assignee"
    } else if for_counts {
        "vorgaenge_sort_eingang"
    } else {
        worklist_index(q)
    };
    format!("INDEXED BY {index}")
}

/// The WHERE clause of view, visibility and filter (and the status unless `for_counts`),
/// with its arguments; `None` when the visibility covers nothing.
/// With `joined`, the statement reads `vorgang_fts` itself (the hits drive the query).
fn filter(tenant: &TenantId, q: &WorklistQuery, for_counts: bool, joined: bool) -> Option<(String, Vec<Value>)> {
    let (vis_sql, vis_args) = visibility_filter(&q.visibility, "v.")?;
    let (mut sql, args) = view_filter(tenant, &q.view, if for_counts { None } else { q.status });
    let mut args: Vec<Value> = args.into_iter().map(Value::Text).collect();
    sql.push_str(&vis_sql);
    args.extend(vis_args.into_iter().map(Value::Text));
    let f = &q.filter;
    if let Some(m) = match_expression(&f.terms) {
        sql.push_str(if joined {
            " AND vorgang_fts MATCH ?"
        } else {
            " AND v.rowid IN (SELECT rowid FROM vorgang_fts WHERE vorgang_fts MATCH ?)"
        });
        args.push(Value::Text(m));
    }
    if let Some(form) = &f.form_name {
        sql.push_str(" AND v.form_name = ?");
        args.push(Value::Text(form.clone()));
    }
    if let Some(unit) = f.unit {
        sql.push_str(" AND v.unit_id = ?");
        args.push(Value::Text(unit.0.to_string()));
    }
    if let Some(user) = f.assignee {
        sql.push_str(" AND v.assignee_id = ?");
        args.push(Value::Text(user.0.to_string()));
    }
    if let Some(von) = f.eingang_von {
        sql.push_str(" AND v.eingang_at >= ?");
        args.push(Value::Integer(ms(von)));
    }
    if let Some(bis) = f.eingang_bis {
        sql.push_str(" AND v.eingang_at < ?");
        args.push(Value::Integer(ms(bis)));
    }
    Some((sql, args))
}

/// A worklist page with search or filters: the counts are those of the matching Vorgänge
/// (counted, not taken from the kept counters), the page is sorted like any other.
pub(crate) fn filtered_page(conn: &Connection, tenant: &TenantId, q: &WorklistQuery) -> Result<WorklistPage> {
    let text = match_expression(&q.filter.terms).is_some();
    let Some((count_filter, count_args)) = filter(tenant, q, true, text) else {
        return Ok(WorklistPage { items: Vec::new(), total: 0, counts: StatusCounts::default() });
    };
    let (counts, mut items) = if text {
        hits_page(conn, q, &count_filter, &count_args)?
    } else {
        filter_page(conn, tenant, q, &count_filter, &count_args)?
    };
    let total = q.status.map_or_else(|| counts.total(), |s| counts.get(s));
    let terms: Vec<String> = q.filter.terms.iter().filter(|t| search::is_term(t)).cloned().collect();
    if !terms.is_empty() {
        let mut stmt = conn
            .prepare_cached("SELECT such_text FROM vorgang_daten WHERE tenant_id = ?1 AND vorgang_id = ?2")
            .map_err(map_err)?;
        for item in &mut items {
            let text: Option<String> = stmt
                .query_row(params![tenant.as_str(), item.id.0.to_string()], |r| r.get(0))
                .optional()
                .map_err(map_err)?
                .flatten();
            item.treffer = text.and_then(|t| search::snippet(&t, &terms, SNIPPET_WORDS));
        }
    }
    Ok(WorklistPage { items, total, counts })
}

const LIST_SELECT: &str =
    "SELECT v.id, v.nummer, v.status, v.aktenzeichen, v.form_name, v.eingang_at, v.assignee_id, u.display_name,
            v.applicant_name, v.version, v.naechste_frist, v.rowid
     FROM vorgaenge v LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.assignee_id";

fn counts_of(rows: impl Iterator<Item = VorgangStatus>) -> StatusCounts {
    let mut by_status: Vec<(VorgangStatus, u64)> = Vec::new();
    for s in rows {
        match by_status.iter_mut().find(|(st, _)| *st == s) {
            Some((_, n)) => *n += 1,
            None => by_status.push((s, 1)),
        }
    }
    // As GROUP BY status yields them.
    by_status.sort_by_key(|(s, _)| s.as_str());
    StatusCounts { by_status }
}

/// SQLite's order of values (NULL, numbers, text byte-wise, blobs).
fn sqlite_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
        }
    }
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// The text search: the hits within view, visibility and filters are read once (rowid,
/// status, sort key); counts, order and page come from that one pass, and only the page's
/// rows are read in full. A common prefix can hit tens of thousands of Vorgänge: one pass
/// over their rows instead of two (counts, then page) halves its cost.
fn hits_page(
    conn: &Connection,
    q: &WorklistQuery,
    filter: &str,
    args: &[Value],
) -> Result<(StatusCounts, Vec<store::VorgangListItem>)> {
    let col = sort_column(q.sort);
    let mut hits: Vec<(i64, VorgangStatus, Value, String)> = conn
        .prepare_cached(&format!(
            "SELECT v.rowid, v.status, {col}, v.id FROM vorgang_fts CROSS JOIN vorgaenge v NOT INDEXED
             ON v.rowid = vorgang_fts.rowid WHERE {filter}"
        ))
        .and_then(|mut s| {
            s.query_map(params_from_iter(args.iter()), |r| {
                Ok((r.get(0)?, parsed_at(r, 1, VorgangStatus::parse)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(map_err)?;
    let counts = counts_of(hits.iter().map(|h| h.1));
    if let Some(status) = q.status {
        hits.retain(|h| h.1 == status);
    }
    hits.sort_by(|a, b| sqlite_order(&a.2, &b.2).then_with(|| a.3.cmp(&b.3)));
    if q.descending {
        hits.reverse();
    }
    let start = usize::try_from(u64::from(q.page) * u64::from(q.per_page)).unwrap_or(usize::MAX);
    let page: Vec<i64> = hits.iter().skip(start).take(q.per_page as usize).map(|h| h.0).collect();
    if page.is_empty() {
        return Ok((counts, Vec::new()));
    }
    let sql = format!("{LIST_SELECT} WHERE v.rowid IN ({})", vec!["?"; page.len()].join(", "));
    let mut rows: Vec<(i64, store::VorgangListItem)> = conn
        .prepare(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(page.iter()), |r| Ok((r.get::<_, i64>(11)?, list_item(r)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(map_err)?;
    rows.sort_by_key(|(rowid, _)| page.iter().position(|p| p == rowid));
    Ok((counts, rows.into_iter().map(|(_, item)| item).collect()))
}

/// Filters without text: counted on the most selective filter's index, the page walked on
/// it in sort order (like the plain worklist).
fn filter_page(
    conn: &Connection,
    tenant: &TenantId,
    q: &WorklistQuery,
    count_filter: &str,
    count_args: &[Value],
) -> Result<(StatusCounts, Vec<store::VorgangListItem>)> {
    let counts = conn
        .prepare_cached(&format!(
            "SELECT v.status, count(*) FROM vorgaenge v {access} WHERE {count_filter} GROUP BY v.status",
            access = access(q, true)
        ))
        .and_then(|mut s| {
            s.query_map(params_from_iter(count_args.iter()), |r| {
                Ok((parsed_at(r, 0, VorgangStatus::parse)?, r.get::<_, i64>(1)? as u64))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(map_err)?;
    let counts = StatusCounts { by_status: counts };
    if q.status.map_or_else(|| counts.total(), |s| counts.get(s)) == 0 {
        return Ok((counts, Vec::new()));
    }
    let Some((page_filter, mut page_args)) = filter(tenant, q, false, false) else {
        return Ok((counts, Vec::new()));
    };
    let dir = if q.descending { "DESC" } else { "ASC" };
    let col = sort_column(q.sort);
    let sql = format!(
        "SELECT v.id, v.nummer, v.status, v.aktenzeichen, v.form_name, v.eingang_at, v.assignee_id, u.display_name,
                v.applicant_name, v.version, v.naechste_frist
         FROM (SELECT v.rowid AS rid FROM vorgaenge v {access} WHERE {page_filter}
               ORDER BY {col} {dir}, v.id {dir} LIMIT ? OFFSET ?) page
         JOIN vorgaenge v ON v.rowid = page.rid
         LEFT JOIN users u ON u.tenant_id = v.tenant_id AND u.id = v.assignee_id
         ORDER BY {col} {dir}, v.id {dir}",
        access = access(q, false)
    );
    page_args.push(Value::Integer(i64::from(q.per_page)));
    page_args.push(Value::Integer(i64::from(q.page) * i64::from(q.per_page)));
    let items = conn
        .prepare_cached(&sql)
        .and_then(|mut s| {
            s.query_map(params_from_iter(page_args.iter()), list_item)?.collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(map_err)?;
    Ok((counts, items))
}

#[async_trait]
impl store::SearchStore for crate::Tenant<'_> {
    async fn forms(&self) -> Result<Vec<String>> {
        let tenant = self.tenant.clone();
        self.engine.read(move |c| crate::search::forms(c, &tenant)).await
    }
}
