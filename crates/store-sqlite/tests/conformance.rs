//! The shared storage conformance suite, run against the SQLite backend.

use ozgcloud_store_sqlite::SqliteStore;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_store_conforms_to_the_storage_contract() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(&dir.path().join("db.sqlite")).expect("open the SQLite store");
    store::testing::run_all(Arc::new(store)).await;
}
