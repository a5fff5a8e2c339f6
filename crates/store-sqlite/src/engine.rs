//! One writer thread with group commit, and a pool of reader connections.
//!
//! SQLite allows one writer at a time. Instead of letting request tasks fight over the write
//! lock, every write is a job sent to one thread. The thread takes all jobs waiting, runs
//! each inside its own SAVEPOINT (a failing job rolls back alone) and commits them in one
//! transaction: one fsync for many intakes. Jobs get their results only after the COMMIT,
//! so a caller never sees success for data that is not durable. Because writes are
//! serialized, "take next" and optimistic version checks are atomic without extra locking.

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use store::StorageError;
use tokio::sync::oneshot;

type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A write: given the connection it runs and returns how to answer after the COMMIT; given
/// none (the transaction could not begin) it runs nothing and answers with the failure.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Completion + Send>;

const MAX_BATCH: usize = 256;

pub(crate) struct Engine {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    path: PathBuf,
}

pub(crate) fn map_err(e: rusqlite::Error) -> StorageError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StorageError::Retryable(e.to_string())
        }
        _ => StorageError::Other(e.to_string()),
    }
}

fn open(path: &Path, read_only: bool) -> Result<Connection, StorageError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(map_err)?;
    // FULL: every commit is fsynced; group commit keeps that affordable.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000; PRAGMA cache_size = -32000; PRAGMA temp_store = MEMORY;
         PRAGMA secure_delete = ON;",
    )
    .map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl Engine {
    pub(crate) fn start(
        path: &Path,
        migrate: impl FnOnce(&mut Connection) -> Result<(), StorageError>,
    ) -> Result<Self, StorageError> {
        let mut writer = open(path, false)?;
        migrate(&mut writer)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx))
            .map_err(|e| StorageError::Other(e.to_string()))?;
        Ok(Self { jobs: Mutex::new(Some(tx)), readers: Arc::new(Mutex::new(Vec::new())), path: path.to_owned() })
    }

    /// Runs `f` inside the next group-commit transaction.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, StorageError>>();
        let job: Job = Box::new(move |conn: Option<&Connection>| {
            let result = match conn {
                Some(conn) => run_in_savepoint(conn, f),
                None => Err(StorageError::Retryable("could not begin a write transaction".into())),
            };
            Box::new(move |commit: Result<(), String>| {
                let outcome = match commit {
                    Ok(()) => result,
                    Err(e) => Err(StorageError::Retryable(e)),
                };
                let _ = reply.send(outcome);
            })
        });
        let sender = self.jobs.lock().map_err(|_| StorageError::Other("writer lock poisoned".into()))?.clone();
        sender
            .ok_or_else(|| StorageError::Other("store closed".into()))?
            .send(job)
            .map_err(|_| StorageError::Other("writer thread stopped".into()))?;
        answer.await.map_err(|_| StorageError::Other("writer thread dropped the job".into()))?
    }

    /// Runs `f` on a reader connection from the pool, off the async threads.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let readers = self.readers.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match readers.lock().ok().and_then(|mut pool| pool.pop()) {
                Some(c) => c,
                None => open(&path, true)?,
            };
            let result = f(&conn);
            if let Ok(mut pool) = readers.lock() {
                if pool.len() < 16 {
                    pool.push(conn);
                }
            }
            result
        })
        .await
        .map_err(|e| StorageError::Other(e.to_string()))?
    }

    /// Stops accepting writes; the writer thread finishes what is queued and exits.
    pub(crate) fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
    }
}

fn run_in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    conn.execute_batch("SAVEPOINT job").map_err(map_err)?;
    let result = f(conn);
    let end = if result.is_ok() { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
    conn.execute_batch(end).map_err(map_err)?;
    result
}

/// Runs one job; a job that panics is rolled back alone (its savepoint) and its caller gets
/// an error (the reply is dropped), while the thread goes on serving every later write.
fn run_guarded(conn: &Connection, job: Job) -> Option<Completion> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Some(conn)))) {
        Ok(done) => Some(done),
        Err(_) => {
            tracing::error!("sqlite: a write panicked; rolled back, the writer goes on");
            // The panic may have left the job's savepoint open.
            let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            None
        }
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let msg = e.to_string();
            tracing::error!(error = %msg, "sqlite: cannot begin write transaction");
            // Every caller is answered: nothing ran, so trying again is safe (Retryable).
            for job in batch {
                job(None)(Err(msg.clone()));
            }
            continue;
        }
        let completions: Vec<Completion> = batch.into_iter().filter_map(|job| run_guarded(&conn, job)).collect();
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if let Err(e) = &commit {
            tracing::error!(error = %e, "sqlite: group commit failed");
            let _ = conn.execute_batch("ROLLBACK");
        }
        for done in completions {
            done(commit.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_write_does_not_stop_later_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::start(&dir.path().join("t.sqlite"), |c| {
            c.execute_batch("CREATE TABLE t (x INTEGER)").map_err(map_err)
        })
        .expect("engine");
        engine.write(|c| c.execute("INSERT INTO t VALUES (1)", []).map(drop).map_err(map_err)).await.expect("write");
        let panicked = engine
            .write(|c| -> Result<(), StorageError> {
                c.execute("INSERT INTO t VALUES (2)", []).map_err(map_err)?;
                panic!("a bug in one write")
            })
            .await;
        assert!(panicked.is_err(), "the caller of the panicking write gets an error");
        engine
            .write(|c| c.execute("INSERT INTO t VALUES (3)", []).map(drop).map_err(map_err))
            .await
            .expect("later write");
        let rows: Vec<i64> = engine
            .read(|c| {
                c.prepare("SELECT x FROM t ORDER BY x")
                    .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                    .map_err(map_err)
            })
            .await
            .expect("read");
        assert_eq!(rows, vec![1, 3], "the panicking write was rolled back alone");
    }
}
