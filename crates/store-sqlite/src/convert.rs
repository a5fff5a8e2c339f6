use rusqlite::types::Type;
use rusqlite::Row;
use time::OffsetDateTime;
use uuid::Uuid;

/// Timestamps are stored as Unix milliseconds (UTC): compact, sortable, exact enough.
pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_ms(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn conversion(idx: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, what.to_owned().into())
}

pub(crate) fn uuid_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let s: String = row.get(idx)?;
    Uuid::parse_str(&s).map_err(|_| conversion(idx, "uuid"))
}

pub(crate) fn opt_uuid_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Uuid>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| Uuid::parse_str(&s).map_err(|_| conversion(idx, "uuid"))).transpose()
}

pub(crate) fn parsed_at<T>(row: &Row<'_>, idx: usize, parse: impl FnOnce(&str) -> Option<T>) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    parse(&s).ok_or_else(|| conversion(idx, "enum"))
}

pub(crate) fn json_at<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    serde_json::from_str(&s).map_err(|_| conversion(idx, "json"))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, store::StorageError> {
    serde_json::to_string(v).map_err(|e| store::StorageError::Other(e.to_string()))
}

/// Dates are stored as ISO text (`YYYY-MM-DD`), which sorts like the dates.
pub(crate) fn date_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub(crate) fn date_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<time::Date> {
    parsed_at(row, idx, domain::notes::parse_date)
}

pub(crate) fn opt_date_at(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<time::Date>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| domain::notes::parse_date(&s).ok_or_else(|| conversion(idx, "date"))).transpose()
}
