//! Errors and values between sqlx and the storage contract.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row};
use store::StorageError;
use time::{OffsetDateTime, UtcOffset};

/// SQLSTATEs after which the whole transaction was rolled back and running it again may
/// succeed: serialization failure, deadlock, lock not available, too many connections,
/// and the server shutting down or starting up.
const RETRYABLE: &[&str] = &["40001", "40P01", "55P03", "53300", "57P01", "57P02", "57P03"];

/// Unique constraints whose violation is a [`StorageError::Duplicate`] of the contract.
const UNIQUE: &[(&str, &str)] = &[
    ("tenants_pkey", "tenant"),
    ("tenants_host_key", "host"),
    ("units_pkey", "unit"),
    ("units_kennung_key", "kennung"),
    ("users_username_key", "username"),
    ("users_oidc_subject_key", "oidc_subject"),
    ("api_tokens_pkey", "token"),
    ("api_tokens_hash_key", "token"),
    ("kommentare_pkey", "kommentar"),
    ("wiedervorlagen_pkey", "wiedervorlage"),
];

/// Foreign keys whose violation is a [`StorageError::InvalidReference`]: the database checks
/// the reference at the moment of writing, so a concurrent change cannot slip between a
/// check and the write.
const FOREIGN: &[(&str, &str)] = &[
    ("vorgaenge_unit_fkey", "unit"),
    ("user_units_unit_fkey", "unit"),
    ("deliveries_tenant_id_fkey", "tenant"),
    ("units_tenant_id_fkey", "tenant"),
    ("users_tenant_id_fkey", "tenant"),
    ("api_tokens_tenant_id_fkey", "tenant"),
    ("vorgaenge_tenant_id_fkey", "tenant"),
    ("kommentare_vorgang_fkey", "vorgang"),
    ("wiedervorlagen_vorgang_fkey", "vorgang"),
    ("portal_sessions_tenant_id_fkey", "tenant"),
];

fn named(table: &[(&str, &'static str)], constraint: Option<&str>) -> Option<&'static str> {
    let constraint = constraint?;
    table.iter().find(|(c, _)| *c == constraint).map(|(_, what)| *what)
}

pub(crate) fn map_err(e: sqlx::Error) -> StorageError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code();
            match code.as_deref() {
                Some(c) if RETRYABLE.contains(&c) || c.starts_with("08") => StorageError::Retryable(e.to_string()),
                Some("23505") => named(UNIQUE, db.constraint())
                    .map_or_else(|| StorageError::Other(e.to_string()), StorageError::Duplicate),
                Some("23503") => named(FOREIGN, db.constraint())
                    .map_or_else(|| StorageError::Other(e.to_string()), StorageError::InvalidReference),
                _ => StorageError::Other(e.to_string()),
            }
        }
        // No connection to be had, or it broke: the transaction did not commit (or, if the
        // break hit the COMMIT itself, the operation is idempotent or version-checked).
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => StorageError::Retryable(e.to_string()),
        _ => StorageError::Other(e.to_string()),
    }
}

/// Timestamps are stored at millisecond precision (like the SQLite backend), so what a write
/// returns equals what a later read yields. Always UTC.
pub(crate) fn ms(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000).unwrap_or(t)
}

/// Column `idx` of `row`.
pub(crate) fn get<'r, T>(row: &'r PgRow, idx: usize) -> Result<T, StorageError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(idx).map_err(map_err)
}

/// A text column parsed into a domain value (status, role, slug, ...).
pub(crate) fn parsed<T>(row: &PgRow, idx: usize, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, StorageError> {
    let s: &str = get(row, idx)?;
    parse(s).ok_or_else(|| StorageError::Other(format!("column {idx}: unexpected value {s:?}")))
}

/// A JSON column, selected as `::text`.
pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &PgRow, idx: usize) -> Result<T, StorageError> {
    let s: &str = get(row, idx)?;
    serde_json::from_str(s).map_err(|e| StorageError::Other(format!("column {idx}: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::Other(e.to_string()))
}

pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64, StorageError> {
    i64::try_from(v).map_err(|_| StorageError::Other(format!("{what} {v} is out of range")))
}

pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Commits on success. On failure rolls back before returning: a dropped transaction is only
/// rolled back later, in the background, and would hold the row lock meanwhile (a claim
/// right after a failed one would skip that Vorgang, a change right after would wait).
pub(crate) async fn finish<T>(
    tx: sqlx::Transaction<'_, Postgres>,
    result: Result<T, StorageError>,
) -> Result<T, StorageError> {
    match result {
        Ok(v) => {
            tx.commit().await.map_err(map_err)?;
            Ok(v)
        }
        Err(e) => {
            // The error to report is the first one; a failed rollback ends the connection anyway.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// `WITH s AS (…)`: takes the next `count` numbers (an SQL expression, e.g. `1` or `$8`) of the
/// tenant's log `name` (`events`, `audit`) for tenant `$1`; `s.value` is the last one taken.
/// The counter row stays locked until commit, so numbers follow commit order per tenant.
pub(crate) fn take_tenant_numbers(name: &str, count: &str) -> String {
    format!(
        "WITH s AS (INSERT INTO tenant_sequences (tenant_id, name, value) VALUES ($1, '{name}', {count})
                    ON CONFLICT (tenant_id, name) DO UPDATE SET value = tenant_sequences.value + {count}
                    RETURNING value)"
    )
}
