//! The shared storage conformance suite against the SQLite backend: every check of the
//! contract is a test of its own, on a fresh database.

use ozgcloud_store_sqlite::SqliteStore;
use std::sync::Arc;

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $check() {
                let dir = tempfile::tempdir().expect("temporary directory");
                let store = SqliteStore::open(&dir.path().join("db.sqlite")).expect("open the SQLite store");
                let db: store::testing::Db = Arc::new(store);
                store::testing::$check(&db).await;
            }
        )*
    };
}

store::for_each_conformance_check!(conformance);
