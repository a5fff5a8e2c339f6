//! The embedded SQLite backend of the storage contract.

mod access;
mod convert;
mod documents;
mod engine;
mod intake;
mod jobs;
mod migrate;
mod notes;
mod portal;
mod search;
mod tenants;
mod transfer;
mod users;
mod vorgang;

use async_trait::async_trait;
use engine::Engine;
use std::path::Path;
use store::*;

pub struct SqliteStore {
    engine: Engine,
    /// Held while the store is open: one process per database file.
    _lock: std::fs::File,
}

impl SqliteStore {
    /// Opens (or creates) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StorageError::Other(format!("{}: {e}", dir.display())))?;
        }
        // The embedded database belongs to one process: a second one would run start-up
        // recovery on deliveries the first is processing. Taken before anything is touched.
        let lock = lock_database(path)?;
        // Vorgänge of older versions get their search entry before the first request.
        let migrate = |c: &mut rusqlite::Connection| migrate::migrate(c).and_then(|()| search::backfill(c).map(drop));
        Ok(Self { engine: Engine::start(path, migrate)?, _lock: lock })
    }
}

/// An exclusive advisory lock on `<database>.lock`, released when the process ends (even by
/// kill -9): a stale lock file never blocks a restart.
fn lock_database(path: &Path) -> Result<std::fs::File> {
    let lock_path = path.with_extension("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StorageError::Other(format!("{}: {e}", lock_path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StorageError::Other(format!(
            "die Datenbank {} wird bereits von einem anderen ozgcloud-Prozess benutzt",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StorageError::Other(format!("{}: {e}", lock_path.display()))),
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.engine.close();
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
