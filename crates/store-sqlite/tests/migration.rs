//! A database created before tenants, units and roles (migration 1 only) opens with its data
//! carried over: tenant kinds, roles, and counts rebuilt per unit that the triggers keep on.

use domain::{Role, TenantId, TenantKind, UserId, Visibility, VorgangId, VorgangStatus};
use ozgcloud_store_sqlite::SqliteStore;
use rusqlite::{params, Connection};
use store::{Actor, SortKey, Store, View, VorgangChange, WorklistQuery};

const V1: &str = include_str!("../migrations/0001_init.sql");

struct Old {
    admin: UserId,
    clerk: UserId,
    neu: [VorgangId; 2],
}

fn create_version_1(path: &std::path::Path) -> Old {
    let conn = Connection::open(path).expect("open");
    conn.execute_batch(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 'init', 0);",
    )
    .expect("schema_migrations");
    conn.execute_batch(V1).expect("migration 1");
    conn.execute_batch(
        "INSERT INTO tenants (id, name, created_at) VALUES ('plattform', 'Plattform', 0), ('kiel', 'Stadt Kiel', 0);",
    )
    .expect("tenants");
    let (admin, clerk) = (UserId::new(), UserId::new());
    for (id, name, role) in [(admin, "admin", "ADMIN"), (clerk, "clerk", "SACHBEARBEITUNG")] {
        conn.execute(
            "INSERT INTO users (tenant_id, id, username, display_name, role, password_hash, created_at)
             VALUES ('kiel', ?1, ?2, ?2, ?3, 'hash', 0)",
            params![id.0.to_string(), name, role],
        )
        .expect("user");
    }
    let neu = [VorgangId::new(), VorgangId::new()];
    let rows = [
        (neu[0], "NEU", None, "31005-AAAAAA"),
        (neu[1], "NEU", None, "31005-BBBBBB"),
        (VorgangId::new(), "ANGENOMMEN", Some(clerk), "31005-CCCCCC"),
    ];
    for (i, (id, status, assignee, nummer)) in rows.into_iter().enumerate() {
        conn.execute(
            "INSERT INTO vorgaenge (tenant_id, id, nummer, transaction_id, status, status_since, version, assignee_id,
                                    eingang_at, form_id, form_name, zustaendige_stelle)
             VALUES ('kiel', ?1, ?2, ?3, ?4, 0, 1, ?5, ?6, 'f', 'Formular', '123')",
            params![id.0.to_string(), nummer, format!("tx-{i}"), status, assignee.map(|a| a.0.to_string()), i as i64],
        )
        .expect("vorgang");
    }
    Old { admin, clerk, neu }
}

#[tokio::test(flavor = "multi_thread")]
async fn version_1_data_is_carried_over() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("db.sqlite");
    let old = create_version_1(&path);
    let store = SqliteStore::open(&path).expect("open migrates");
    let kiel = TenantId::parse("kiel").expect("slug");

    assert_eq!(store.tenant(&TenantId::platform()).get_tenant().await.expect("platform").kind, TenantKind::Plattform);
    let tenant = store.tenant(&kiel).get_tenant().await.expect("kiel");
    assert_eq!((tenant.kind, tenant.host, tenant.ip_allowlist), (TenantKind::Stadt, None, vec![]));
    let admin = store.tenant(&kiel).get_user(old.admin).await.expect("admin");
    assert_eq!((admin.roles, admin.units, admin.failed_logins), (vec![Role::Admin], vec![], 0));
    let clerk = store.tenant(&kiel).get_user(old.clerk).await.expect("clerk");
    assert_eq!(clerk.roles, vec![Role::Sachbearbeitung]);

    let counts = store.tenant(&kiel).status_counts(&Visibility::Tenant, &View::Alle).await.expect("counts");
    assert_eq!((counts.get(VorgangStatus::Neu), counts.get(VorgangStatus::Angenommen)), (2, 1), "counts rebuilt");
    let mine = store.tenant(&kiel).status_counts(&Visibility::Tenant, &View::Meine(old.clerk)).await.expect("counts");
    assert_eq!(mine.total(), 1);
    let q = WorklistQuery {
        visibility: Visibility::Restricted { units: vec![], user: Some(old.clerk), all_new: false },
        view: View::Alle,
        status: None,
        sort: SortKey::EingangAt,
        descending: false,
        page: 0,
        per_page: 50,
        filter: Default::default(),
    };
    assert_eq!(store.tenant(&kiel).worklist(&q).await.expect("worklist").total, 1, "visibility on migrated rows");

    // The recreated triggers keep counting.
    let by = Actor { user: Some(old.clerk), name: "clerk".into() };
    store
        .tenant(&kiel)
        .apply_change(old.neu[1], 1, VorgangChange::Assign { to: Some(old.clerk) }, &by)
        .await
        .expect("assign");
    let mine = store.tenant(&kiel).status_counts(&Visibility::Tenant, &View::Meine(old.clerk)).await.expect("counts");
    assert_eq!(mine.total(), 2);
    let claimed =
        store.tenant(&kiel).claim_next(&Visibility::Tenant, old.clerk, &by).await.expect("claim").expect("one");
    assert_eq!(claimed.id, old.neu[0]);
    drop(store);

    // Opening again applies nothing twice.
    let store = SqliteStore::open(&path).expect("open again");
    let counts = store.tenant(&kiel).status_counts(&Visibility::Tenant, &View::Meine(old.clerk)).await.expect("counts");
    assert_eq!(counts.total(), 3);
}
