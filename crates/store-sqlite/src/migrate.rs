use crate::engine::map_err;
use rusqlite::Connection;
use store::StorageError;

/// Embedded, ordered, applied once each; the database records what it has.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "tenants", include_str!("../migrations/0002_tenants.sql")),
    (3, "notes", include_str!("../migrations/0003_notes.sql")),
    (4, "search", include_str!("../migrations/0004_search.sql")),
    (5, "documents", include_str!("../migrations/0005_documents.sql")),
    (6, "password_change", include_str!("../migrations/0006_password_change.sql")),
    (7, "secure_delete", include_str!("../migrations/0007_secure_delete.sql")),
    (8, "jobs", include_str!("../migrations/0008_jobs.sql")),
    (9, "tenant_sequences", include_str!("../migrations/0009_tenant_sequences.sql")),
    (10, "portal_sessions", include_str!("../migrations/0010_portal_sessions.sql")),
    (11, "tenant_events", include_str!("../migrations/0011_tenant_events.sql")),
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .map_err(map_err)?;
    for (version, name, sql) in MIGRATIONS {
        let tx = conn.transaction().map_err(map_err)?;
        let done: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| r.get(0))
            .map_err(map_err)?;
        if done {
            continue;
        }
        tracing::info!(version, name, "sqlite: applying migration");
        tx.execute_batch(sql).map_err(map_err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, unixepoch() * 1000)",
            rusqlite::params![version, name],
        )
        .map_err(map_err)?;
        tx.commit().map_err(map_err)?;
    }
    Ok(())
}
