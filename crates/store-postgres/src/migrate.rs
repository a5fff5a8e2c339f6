use crate::convert::map_err;
use sqlx::{Executor, PgPool};
use store::StorageError;

/// Embedded, ordered, applied once each; the database records what it has.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "worklist", include_str!("../migrations/0002_worklist.sql")),
    (3, "tenants", include_str!("../migrations/0003_tenants.sql")),
    (4, "notes", include_str!("../migrations/0004_notes.sql")),
    (5, "search", include_str!("../migrations/0005_search.sql")),
    (6, "documents", include_str!("../migrations/0006_documents.sql")),
    (7, "password_change", include_str!("../migrations/0007_password_change.sql")),
    (8, "jobs", include_str!("../migrations/0008_jobs.sql")),
    (9, "tenant_sequences", include_str!("../migrations/0009_tenant_sequences.sql")),
    (10, "portal_sessions", include_str!("../migrations/0010_portal_sessions.sql")),
    (11, "tenant_events", include_str!("../migrations/0011_tenant_events.sql")),
];

/// Key of the advisory lock that serializes migrations of several processes starting at once
/// ("ozgcloud" in ASCII; the one-key space, apart from the two-key locks of the event log).
const MIGRATION_LOCK: i64 = 0x6F7A_6763_6C6F_7564;

/// Applies pending migrations, all in one transaction under an advisory lock: a second process
/// starting at the same time waits, then finds them applied. PostgreSQL DDL is transactional,
/// so a failing migration leaves nothing behind.
pub(crate) async fn migrate(pool: &PgPool) -> Result<(), StorageError> {
    let mut tx = pool.begin().await.map_err(map_err)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await.map_err(map_err)?;
    // Multi-statement SQL goes through `Executor::execute(&str)` (simple query protocol).
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version     BIGINT PRIMARY KEY,
             name        TEXT NOT NULL,
             applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(map_err)?;
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations").fetch_all(&mut *tx).await.map_err(map_err)?;
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tracing::info!(version, name, "postgres: applying migration");
        tx.execute(*sql).await.map_err(map_err)?;
        sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
    }
    tx.commit().await.map_err(map_err)
}
