//! Throw-away PostgreSQL databases for tests (feature `testing`).
//!
//! ```ignore
//! let Some(db) = TestDatabase::create().await else { return }; // skipped outside CI
//! let store = PostgresStore::connect(&db.url).await?;
//! // ... test ...
//! db.drop_db().await;
//! ```
//!
//! The server is the one in `OZGCLOUD_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), connected to as an administrator who may
//! create databases. Each [`TestDatabase`] is a new database named `ozg_test_<random>`.
//! When the server cannot be reached the tests skip, printing `SKIPPED: ...` to stderr,
//! except in CI (`CI=true`), where they must run and so panic.

use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

pub const URL_VAR: &str = "OZGCLOUD_TEST_DATABASE_URL";
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A fresh, empty database. Drop it with [`TestDatabase::drop_db`]; if a test panics before
/// that, dropping the value removes the database too (blocking, on a helper thread).
pub struct TestDatabase {
    /// Connection URL of the new database.
    pub url: String,
    /// Its name.
    pub name: String,
    admin_url: String,
    dropped: bool,
}

/// The admin URL from the environment, or the default.
pub fn admin_url() -> String {
    std::env::var(URL_VAR).ok().filter(|u| !u.trim().is_empty()).unwrap_or_else(|| DEFAULT_URL.to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable URL>".to_owned(),
    }
}

/// `admin_url` pointing at database `name` instead.
fn with_database(admin_url: &str, name: &str) -> Result<String, String> {
    let mut u = url::Url::parse(admin_url).map_err(|e| format!("{}: {e}", redacted(admin_url)))?;
    u.set_path(&format!("/{name}"));
    Ok(u.to_string())
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(admin_url).await?;
    admin.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str()).await?;
    admin.close().await
}

impl TestDatabase {
    /// Creates a new database on the test server; `None` (after printing why) when the server
    /// cannot be reached outside CI. Panics in CI, or when the server is reached but refuses.
    pub async fn create() -> Option<Self> {
        let admin_url = admin_url();
        let connecting = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&admin_url)).await;
        let connected = match connecting {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
        };
        let mut admin = match connected {
            Ok(c) => c,
            Err(e) => {
                let shown = redacted(&admin_url);
                if in_ci() {
                    panic!(
                        "PostgreSQL not reachable at {shown} ({e}); CI must run the PostgreSQL tests (set {URL_VAR})"
                    );
                }
                eprintln!("SKIPPED: PostgreSQL not reachable at {shown} ({e}); set {URL_VAR} to run these tests");
                return None;
            }
        };
        let name = format!("ozg_test_{}", Uuid::new_v4().simple());
        // A German ICU collation (PostgreSQL 15+) where available, as production databases
        // often have one: the store must sort byte-wise regardless of the database's locale.
        let german = format!(
            "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'
             LOCALE_PROVIDER icu ICU_LOCALE 'de-DE'"
        );
        if admin.execute(german.as_str()).await.is_err() {
            admin
                .execute(format!("CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'").as_str())
                .await
                .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {}: {e}", redacted(&admin_url)));
        }
        let _ = admin.close().await;
        let url = with_database(&admin_url, &name).unwrap_or_else(|e| panic!("test database URL: {e}"));
        Some(Self { url, name, admin_url, dropped: false })
    }

    /// Drops the database, ending connections still open to it.
    pub async fn drop_db(mut self) {
        self.dropped = true;
        if let Err(e) = drop_database(&self.admin_url, &self.name).await {
            panic!("DROP DATABASE {}: {e}", self.name);
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // A test failed before drop_db: clean up anyway, on a thread of its own (we may be
        // inside the test's runtime, which cannot block on a future).
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(drop_database(&admin_url, &name)).map_err(std::io::Error::other)
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test database {}", self.name),
        }
    }
}
