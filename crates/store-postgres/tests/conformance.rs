//! The shared storage conformance suite against PostgreSQL (each check a test of its own), and what only a server shared by
//! several processes can get wrong: each `PostgresStore` below has its own pool, so to the
//! database they are different processes.
//!
//! Needs a PostgreSQL server (`OZGCLOUD_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`); skipped without one, except in CI.

use domain::{
    Antragsteller, Role, StatusCommand, TenantId, TenantKind, TransactionId, UserId, Visibility, VorgangId,
    VorgangStatus, Vorgangsnummer,
};
use ozgcloud_store_postgres::testing::TestDatabase;
use ozgcloud_store_postgres::PostgresStore;
use sqlx::{Connection, Executor};
use std::collections::HashSet;
use std::sync::Arc;
use store::{
    Actor, DeliveryId, IntakeOutcome, NewDelivery, NewTenant, NewUser, NewVorgang, NewWiedervorlage, SortKey,
    StorageError, Store, UserRecord, View, VorgangChange, VorgangHead, WiedervorlageUpdate, WorklistQuery,
};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use uuid::Uuid;

/// Every check of the shared contract as a test of its own, each on a fresh database.
mod contract {
    use super::*;

    macro_rules! conformance {
        ($($check:ident),* $(,)?) => {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $check() {
                    let Some(db) = TestDatabase::create().await else { return };
                    let store = PostgresStore::connect(&db.url).await.expect("connect to the test database");
                    store.migrate().await.expect("migrating again is a no-op");
                    let store: store::testing::Db = Arc::new(store);
                    store::testing::$check(&store).await;
                    drop(store);
                    db.drop_db().await;
                }
            )*
        };
    }

    store::for_each_conformance_check!(conformance);
}

/// Several stores ("processes") on one database, started at once and then racing.
#[tokio::test(flavor = "multi_thread")]
async fn processes_sharing_one_database_stay_consistent() {
    let Some(db) = TestDatabase::create().await else { return };
    let mut starting = JoinSet::new();
    for _ in 0..4 {
        let url = db.url.clone();
        starting.spawn(async move { PostgresStore::connect(&url).await });
    }
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    while let Some(started) = starting.join_next().await {
        stores.push(Arc::new(started.expect("connect task").expect("concurrent start (and migration) succeeds")));
    }
    // One row per migration file (crates/store-postgres/migrations).
    const MIGRATION_FILES: i64 = 11;
    let version_rows: i64 = {
        let probe = PostgresStore::connect(&db.url).await.expect("connect");
        let n = sqlx::query_scalar("SELECT count(*) FROM schema_migrations")
            .fetch_one(probe.pool())
            .await
            .expect("schema_migrations");
        probe.close().await;
        n
    };
    assert_eq!(version_rows, MIGRATION_FILES, "each migration is applied once");

    worklist_sorts_text_byte_wise_whatever_the_locale(&stores[0]).await;
    concurrent_duplicate_intake_is_duplicate_not_error(&stores).await;
    concurrent_nummer_collision_is_nummer_taken(&stores).await;
    concurrent_changes_at_one_version_let_one_win(&stores).await;
    concurrent_claims_across_processes_take_each_vorgang_once(&stores).await;
    concurrent_create_user_reports_duplicate(&stores).await;
    event_log_reader_never_skips_a_late_commit(&stores).await;
    concurrent_login_failures_all_count(&stores).await;
    concurrent_units_with_one_kennung_let_one_win(&stores).await;
    concurrent_distribution_keeps_unit_counts_exact(&stores).await;
    concurrent_wiedervorlagen_keep_naechste_frist_exact(&stores).await;

    drop(stores);
    db.drop_db().await;
}

/// A database at migration 2 with data, as installations before tenants and units have it:
/// migration 3 gives tenants a kind, turns the single role into roles and counts by unit.
#[tokio::test(flavor = "multi_thread")]
async fn migration_3_upgrades_existing_data() {
    let Some(db) = TestDatabase::create().await else { return };
    {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        let old = [include_str!("../migrations/0001_init.sql"), include_str!("../migrations/0002_worklist.sql")];
        for sql in old {
            conn.execute(sql).await.expect("old migration");
        }
        conn.execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL,
                                             applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
             INSERT INTO schema_migrations (version, name) VALUES (1, 'init'), (2, 'worklist');
             INSERT INTO tenants VALUES ('plattform', 'Plattform', now()), ('kiel', 'Kiel', now());
             INSERT INTO users (tenant_id, id, username, display_name, role, password_hash, created_at) VALUES
                 ('kiel', '00000000-0000-0000-0000-00000000000a', 'admin', 'Admin', 'ADMIN', 'x', now()),
                 ('kiel', '00000000-0000-0000-0000-00000000000b', 'anna', 'Anna', 'SACHBEARBEITUNG', 'x', now());
             INSERT INTO vorgaenge (tenant_id, id, nummer, transaction_id, status, status_since, version, eingang_at,
                                    form_id, form_name, zustaendige_stelle, assignee_id) VALUES
                 ('kiel', gen_random_uuid(), 'N-1', 'tx-1', 'NEU', now(), 1, now(), 'f', 'F', 'z', NULL),
                 ('kiel', gen_random_uuid(), 'N-2', 'tx-2', 'NEU', now(), 1, now(), 'f', 'F', 'z', NULL),
                 ('kiel', gen_random_uuid(), 'N-3', 'tx-3', 'IN_BEARBEITUNG', now(), 1, now(), 'f', 'F', 'z',
                  '00000000-0000-0000-0000-00000000000b');",
        )
        .await
        .expect("data of an old installation");
        conn.close().await.expect("close");
    }
    let store = PostgresStore::connect(&db.url).await.expect("migration 3 applies to existing data");
    let kiel = TenantId::parse("kiel").expect("slug");
    let kinds: Vec<(String, TenantKind)> = store
        .installation()
        .list_tenants()
        .await
        .expect("list_tenants")
        .into_iter()
        .map(|t| (t.id.to_string(), t.kind))
        .collect();
    assert_eq!(kinds, vec![("kiel".into(), TenantKind::Stadt), ("plattform".into(), TenantKind::Plattform)]);
    let roles: Vec<(String, Vec<Role>)> = store
        .tenant(&kiel)
        .list_users()
        .await
        .expect("list_users")
        .into_iter()
        .map(|u| (u.username, u.roles))
        .collect();
    assert_eq!(roles, vec![("admin".into(), vec![Role::Admin]), ("anna".into(), vec![Role::Sachbearbeitung])]);
    let counts = store.tenant(&kiel).status_counts(&Visibility::Tenant, &View::Alle).await.expect("status_counts");
    assert_eq!((counts.get(VorgangStatus::Neu), counts.get(VorgangStatus::InBearbeitung)), (2, 1));
    let anna = Visibility::Restricted { units: vec![], user: Some(UserId(Uuid::from_u128(0xb))), all_new: false };
    let counts = store.tenant(&kiel).status_counts(&anna, &View::Alle).await.expect("status_counts");
    assert_eq!(counts.total(), 1, "the counts were rebuilt with their new key");
    store.close().await;
    db.drop_db().await;
}

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

fn at(minutes: i64) -> OffsetDateTime {
    time::macros::datetime!(2024-03-01 08:00 UTC) + time::Duration::minutes(minutes)
}

async fn tenant(db: &Arc<dyn Store>) -> TenantId {
    let t = TenantId::parse(&format!("t-{}", &Uuid::new_v4().simple().to_string()[..12])).expect("slug");
    let new = NewTenant { id: t.clone(), name: "Nebenläufigkeit".into(), kind: TenantKind::Stadt, host: None };
    db.installation().ensure_tenant(new).await.expect("ensure_tenant");
    t
}

fn vorgang(eingang_at: OffsetDateTime) -> NewVorgang {
    NewVorgang {
        id: VorgangId::new(),
        nummer: Vorgangsnummer::generate(eingang_at.date(), &mut rand::thread_rng()),
        transaction_id: TransactionId::parse(&format!("tx-{}", Uuid::new_v4())).expect("transaction id"),
        eingang_at,
        form_id: "gewerbe-an".into(),
        form_name: "Gewerbeanmeldung".into(),
        zustaendige_stelle: "10363455".into(),
        unit: None,
        leika_ids: vec!["99050012104000".into()],
        applicant: Antragsteller { nachname: Some("Muster".into()), ..Default::default() },
        control: serde_json::json!({"zustaendigeStelle": "10363455"}),
        form_data: vec![],
        documents: vec![],
    }
}

async fn delivery(db: &Arc<dyn Store>, t: &TenantId) -> DeliveryId {
    let id = DeliveryId::new();
    db.tenant(t)
        .record_delivery(NewDelivery {
            id,
            received_at: at(0),
            channel: "api-json".into(),
            content_type: "application/json".into(),
            blob_key: format!("eingang/{id}"),
            size: 10,
        })
        .await
        .expect("record_delivery");
    id
}

async fn intake(db: &Arc<dyn Store>, t: &TenantId, v: NewVorgang) -> VorgangHead {
    let d = delivery(db, t).await;
    match db.tenant(t).complete_intake(d, v).await.expect("complete_intake") {
        IntakeOutcome::Created(h) => h,
        other => panic!("expected Created, got {other:?}"),
    }
}

async fn user(db: &Arc<dyn Store>, t: &TenantId, i: usize) -> UserRecord {
    db.tenant(t)
        .create_user(NewUser {
            id: UserId::new(),
            username: format!("user{i}"),
            display_name: format!("Sachbearbeitung {i:02}"),
            email: None,
            roles: vec![Role::Sachbearbeitung],
            units: vec![],
            password_hash: "$argon2id$v=19$x".into(),
            oidc_subject: None,
        })
        .await
        .expect("create_user")
}

fn actor(u: &UserRecord) -> Actor {
    Actor { user: Some(u.id), name: u.display_name.clone() }
}

fn store(stores: &[Arc<dyn Store>], i: usize) -> Arc<dyn Store> {
    stores[i % stores.len()].clone()
}

// ---------------------------------------------------------------------------------------
// checks
// ---------------------------------------------------------------------------------------

async fn concurrent_duplicate_intake_is_duplicate_not_error(stores: &[Arc<dyn Store>]) {
    let t = tenant(&stores[0]).await;
    let original = vorgang(at(0));
    let mut tasks = JoinSet::new();
    for i in 0..16 {
        let db = store(stores, i);
        let t = t.clone();
        // Every delivery carries the same transaction id, with its own Vorgang id and number.
        let v = NewVorgang { id: VorgangId::new(), ..vorgang(at(0)) };
        let v = NewVorgang { transaction_id: original.transaction_id.clone(), ..v };
        tasks.spawn(async move {
            let d = delivery(&db, &t).await;
            db.tenant(&t).complete_intake(d, v).await
        });
    }
    let mut created = Vec::new();
    let mut duplicates = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done.expect("intake task") {
            Ok(IntakeOutcome::Created(h)) => created.push(h),
            Ok(IntakeOutcome::Duplicate(h)) => duplicates.push(h),
            Err(e) => panic!("a concurrent duplicate intake must not fail: {e:?}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one concurrent intake creates the Vorgang");
    assert_eq!(duplicates.len(), 15);
    assert!(duplicates.iter().all(|h| *h == created[0]), "every duplicate returns the created head");
    let found = stores[1].tenant(&t).find_by_transaction(&original.transaction_id).await.expect("find_by_transaction");
    assert_eq!(found, Some(created[0].clone()));
    assert_eq!(
        stores[2].tenant(&t).events_after(0, 100).await.expect("events_after").len(),
        1,
        "one EINGEGANGEN event"
    );
}

async fn concurrent_nummer_collision_is_nummer_taken(stores: &[Arc<dyn Store>]) {
    let t = tenant(&stores[0]).await;
    let nummer = vorgang(at(0)).nummer;
    let mut tasks = JoinSet::new();
    for i in 0..12 {
        let db = store(stores, i);
        let t = t.clone();
        let v = NewVorgang { nummer: nummer.clone(), ..vorgang(at(i as i64)) };
        tasks.spawn(async move {
            let d = delivery(&db, &t).await;
            db.tenant(&t).complete_intake(d, v).await
        });
    }
    let (mut created, mut taken) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.expect("intake task") {
            Ok(IntakeOutcome::Created(_)) => created += 1,
            Err(StorageError::NummerTaken) => taken += 1,
            other => panic!("a concurrent number collision must be NummerTaken, got {other:?}"),
        }
    }
    assert_eq!((created, taken), (1, 11), "one wins the number, the others must draw another");
}

async fn concurrent_changes_at_one_version_let_one_win(stores: &[Arc<dyn Store>]) {
    let t = tenant(&stores[0]).await;
    let u = user(&stores[0], &t, 0).await;
    let head = intake(&stores[0], &t, vorgang(at(0))).await;
    let mut tasks = JoinSet::new();
    for i in 0..12 {
        let db = store(stores, i);
        let (t, by) = (t.clone(), actor(&u));
        let change = match i % 3 {
            0 => VorgangChange::Status {
                command: StatusCommand::Annehmen,
                from: VorgangStatus::Neu,
                to: VorgangStatus::Angenommen,
                reason: None,
            },
            1 => VorgangChange::Assign { to: Some(u.id) },
            _ => VorgangChange::Aktenzeichen(domain::Aktenzeichen::parse(&format!("AZ-{i}")).expect("valid")),
        };
        tasks.spawn(async move { db.tenant(&t).apply_change(head.id, head.version, change, &by).await });
    }
    let (mut won, mut conflicts) = (Vec::new(), 0);
    while let Some(done) = tasks.join_next().await {
        match done.expect("change task") {
            Ok(h) => won.push(h),
            Err(StorageError::Conflict { current_version }) => {
                assert_eq!(current_version, 2, "the loser learns the winner's version");
                conflicts += 1;
            }
            Err(e) => panic!("a concurrent change must win or conflict, got {e:?}"),
        }
    }
    assert_eq!((won.len(), conflicts), (1, 11), "exactly one change at version 1 wins");
    let rec = stores[1].tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!(rec.head, won[0]);
    assert_eq!(stores[2].tenant(&t).history(head.id).await.expect("history").len(), 2, "one event for the winner");
}

async fn concurrent_claims_across_processes_take_each_vorgang_once(stores: &[Arc<dyn Store>]) {
    let t = tenant(&stores[0]).await;
    let mut pile = HashSet::new();
    for i in 0..12 {
        pile.insert(intake(&store(stores, i), &t, vorgang(at(i as i64))).await.id);
    }
    let mut users = Vec::new();
    for i in 0..24 {
        users.push(user(&stores[0], &t, i).await);
    }
    let mut tasks = JoinSet::new();
    for (i, u) in users.into_iter().enumerate() {
        let db = store(stores, i);
        let t = t.clone();
        tasks.spawn(async move {
            let got = db.tenant(&t).claim_next(&Visibility::Tenant, u.id, &actor(&u)).await;
            (u, got)
        });
    }
    let mut claimed = Vec::new();
    let mut empty = 0;
    while let Some(done) = tasks.join_next().await {
        match done.expect("claim task") {
            (u, Ok(Some(h))) => claimed.push((u, h)),
            (_, Ok(None)) => empty += 1,
            (_, Err(e)) => panic!("concurrent claim_next must not fail: {e:?}"),
        }
    }
    assert_eq!((claimed.len(), empty), (12, 12));
    let ids: HashSet<VorgangId> = claimed.iter().map(|(_, h)| h.id).collect();
    assert_eq!(ids, pile, "every Vorgang claimed exactly once");
    for (u, h) in &claimed {
        assert_eq!(h.version, 2);
        let rec = stores[0].tenant(&t).get_vorgang(h.id).await.expect("get_vorgang");
        assert_eq!(rec.assignee, Some(u.as_ref()));
    }
}

async fn concurrent_create_user_reports_duplicate(stores: &[Arc<dyn Store>]) {
    let t = tenant(&stores[0]).await;
    let mut tasks = JoinSet::new();
    for i in 0..8 {
        let db = store(stores, i);
        let t = t.clone();
        tasks.spawn(async move {
            db.tenant(&t)
                .create_user(NewUser {
                    id: UserId::new(),
                    username: "anna".into(),
                    display_name: format!("Anna {i}"),
                    email: None,
                    roles: vec![Role::Admin],
                    units: vec![],
                    password_hash: "$argon2id$v=19$x".into(),
                    oidc_subject: None,
                })
                .await
        });
    }
    let (mut ok, mut dup) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.expect("create_user task") {
            Ok(_) => ok += 1,
            Err(StorageError::Duplicate("username")) => dup += 1,
            Err(e) => panic!("a concurrent duplicate username must be Duplicate(\"username\"), got {e:?}"),
        }
    }
    assert_eq!((ok, dup), (1, 7));
}

/// Writers in several processes append to one tenant's log while a reader pages through it
/// by sequence number, as an outbox consumer would. Sequence numbers are drawn when a row is
/// inserted, not when it commits: without ordering the appends, the reader could move past a
/// number whose transaction commits later and miss that event for good.
async fn event_log_reader_never_skips_a_late_commit(stores: &[Arc<dyn Store>]) {
    let t = tenant(&stores[0]).await;
    let u = user(&stores[0], &t, 0).await;
    const WRITERS: usize = 6;
    const ROUNDS: usize = 15;
    let mut writers = JoinSet::new();
    for w in 0..WRITERS {
        let db = store(stores, w);
        let (t, u) = (t.clone(), u.clone());
        writers.spawn(async move {
            for r in 0..ROUNDS {
                let head = intake(&db, &t, vorgang(at((w * ROUNDS + r) as i64))).await;
                let az = domain::Aktenzeichen::parse(&format!("AZ-{w}-{r}")).expect("valid");
                db.tenant(&t)
                    .apply_change(head.id, head.version, VorgangChange::Aktenzeichen(az), &actor(&u))
                    .await
                    .expect("apply_change");
            }
        });
    }
    let reader = store(stores, WRITERS + 1);
    let mut seen = Vec::new();
    let mut cursor = 0;
    let expected = WRITERS * ROUNDS * 2;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut writers_done = false;
    loop {
        let page = reader.tenant(&t).events_after(cursor, 7).await.expect("events_after");
        if let Some(last) = page.last() {
            cursor = last.seq;
        }
        let was_empty = page.is_empty();
        seen.extend(page.into_iter().map(|e| e.seq));
        if writers_done && was_empty {
            break;
        }
        if !writers_done && writers.is_empty() {
            writers_done = true;
        }
        while let Some(done) = writers.try_join_next() {
            done.expect("writer task");
        }
        assert!(tokio::time::Instant::now() < deadline, "the writers take too long");
        if was_empty {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
    let all: Vec<i64> =
        reader.tenant(&t).events_after(0, 10_000).await.expect("events_after").iter().map(|e| e.seq).collect();
    assert_eq!(all.len(), expected, "every append is in the log");
    assert_eq!(seen, all, "a reader paging by seq saw every event, in order, none skipped");
}

/// The shared suite's fixture sorts the same in every locale; these names do not. The test
/// database has a German ICU collation where the server supports it (PostgreSQL 15+).
async fn worklist_sorts_text_byte_wise_whatever_the_locale(db: &Arc<dyn Store>) {
    let t = tenant(db).await;
    let u = user(db, &t, 0).await;
    let names = ["apfel", "Zebra", "Äpfel", "ab", "a-b", "Bär", "Ärger", "zebra"];
    for (i, name) in names.iter().enumerate() {
        let head = intake(db, &t, NewVorgang { form_name: (*name).to_owned(), ..vorgang(at(i as i64)) }).await;
        let az = (i % 4 != 0).then(|| domain::Aktenzeichen::parse(name).expect("valid").expect("non-empty"));
        db.tenant(&t)
            .apply_change(head.id, head.version, VorgangChange::Aktenzeichen(az), &actor(&u))
            .await
            .expect("apply_change");
    }
    let listed = |sort: SortKey, descending: bool| {
        let (db, t) = (db.clone(), t.clone());
        async move {
            let q = WorklistQuery {
                visibility: Visibility::Tenant,
                view: View::Alle,
                status: None,
                sort,
                descending,
                page: 0,
                per_page: 100,
                filter: Default::default(),
            };
            db.tenant(&t).worklist(&q).await.expect("worklist").items
        }
    };
    let forms: Vec<String> = listed(SortKey::FormName, false).await.into_iter().map(|i| i.form_name).collect();
    let mut want: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    want.sort();
    assert_eq!(forms, want, "form names sort byte-wise (Rust's str order), not by the database's locale");
    let items = listed(SortKey::Aktenzeichen, true).await;
    let azs: Vec<Option<String>> = items.iter().map(|i| i.aktenzeichen.clone()).collect();
    let mut want: Vec<(Option<String>, VorgangId)> = items.iter().map(|i| (i.aktenzeichen.clone(), i.id)).collect();
    want.sort();
    want.reverse();
    assert_eq!(
        azs,
        want.into_iter().map(|(a, _)| a).collect::<Vec<_>>(),
        "Aktenzeichen descending, byte-wise, missing last"
    );
}

/// Guessing passwords in parallel, through several processes, must not get more tries.
async fn concurrent_login_failures_all_count(stores: &[Arc<dyn Store>]) {
    let t = tenant(&stores[0]).await;
    let u = user(&stores[0], &t, 0).await;
    let now = at(0);
    let tries = domain::user::MAX_FAILED_LOGINS as usize;
    let mut tasks = JoinSet::new();
    for i in 0..tries {
        let db = store(stores, i);
        let t = t.clone();
        tasks.spawn(async move { db.tenant(&t).record_login_failure(u.id, now).await });
    }
    let mut locked = 0;
    while let Some(done) = tasks.join_next().await {
        let rec = done.expect("login failure task").expect("record_login_failure");
        if rec.locked_until.is_some() {
            locked += 1;
        }
    }
    assert_eq!(locked, 1, "exactly the failure that reaches the limit locks the account");
    let rec = stores[1].tenant(&t).get_user(u.id).await.expect("get_user");
    assert_eq!((rec.failed_logins, rec.locked_until), (0, Some(now + domain::user::LOCK_DURATION)));
}

async fn concurrent_units_with_one_kennung_let_one_win(stores: &[Arc<dyn Store>]) {
    let kennung = format!("k-{}", Uuid::new_v4().simple());
    let mut tasks = JoinSet::new();
    for i in 0..8 {
        let db = store(stores, i);
        let t = tenant(&db).await;
        let unit = store::NewUnit { id: domain::UnitId::new(), name: format!("Amt {i}"), kennung: kennung.clone() };
        tasks.spawn(async move { db.tenant(&t).create_unit(unit).await });
    }
    let (mut ok, mut dup) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.expect("create_unit task") {
            Ok(_) => ok += 1,
            Err(StorageError::Duplicate("kennung")) => dup += 1,
            Err(e) => panic!("a concurrent duplicate kennung must be Duplicate(\"kennung\"), got {e:?}"),
        }
    }
    assert_eq!((ok, dup), (1, 7));
    assert!(stores[0].installation().route_kennung(&kennung).await.expect("route_kennung").is_some());
}

/// Vorgänge moved between units and assigned concurrently, in several processes: the counts
/// kept by the trigger equal what the worklist finds, for every unit.
async fn concurrent_distribution_keeps_unit_counts_exact(stores: &[Arc<dyn Store>]) {
    let t = tenant(&stores[0]).await;
    let u = user(&stores[0], &t, 0).await;
    let mut units = Vec::new();
    for i in 0..3 {
        let unit = store::NewUnit {
            id: domain::UnitId::new(),
            name: format!("Einheit {i}"),
            kennung: format!("k-{}", Uuid::new_v4().simple()),
        };
        units.push(stores[0].tenant(&t).create_unit(unit).await.expect("create_unit").id);
    }
    let mut heads = Vec::new();
    for i in 0..24 {
        let v = NewVorgang { unit: Some(units[i % 3]), ..vorgang(at(i as i64)) };
        heads.push(intake(&store(stores, i), &t, v).await);
    }
    let mut tasks = JoinSet::new();
    for (i, head) in heads.into_iter().enumerate() {
        let db = store(stores, i);
        let (t, by, units) = (t.clone(), actor(&u), units.clone());
        tasks.spawn(async move {
            let to = (i % 4 != 0).then(|| units[(i + 1) % 3]);
            let h = db.tenant(&t).apply_change(head.id, head.version, VorgangChange::Unit { to }, &by).await?;
            if i % 2 == 0 {
                db.tenant(&t)
                    .apply_change(h.id, h.version, VorgangChange::Assign { to: Some(by.user.expect("user")) }, &by)
                    .await?;
            }
            Ok::<_, StorageError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("distribution task").expect("apply_change");
    }
    let mut visibilities: Vec<Visibility> =
        units.iter().map(|unit| Visibility::Restricted { units: vec![*unit], user: None, all_new: false }).collect();
    visibilities.push(Visibility::Restricted { units: vec![], user: Some(u.id), all_new: false });
    visibilities.push(Visibility::Restricted { units: vec![units[0]], user: Some(u.id), all_new: true });
    visibilities.push(Visibility::Tenant);
    let mut per_unit = 0;
    for vis in visibilities {
        for view in [View::Alle, View::Meine(u.id), View::NichtZugewiesen] {
            let q = WorklistQuery {
                visibility: vis.clone(),
                view: view.clone(),
                status: None,
                sort: SortKey::EingangAt,
                descending: false,
                page: 0,
                per_page: 100,
                filter: Default::default(),
            };
            let page = stores[1].tenant(&t).worklist(&q).await.expect("worklist");
            assert_eq!(page.total, page.items.len() as u64, "counts match the list for {vis:?} / {view:?}");
            let counts = stores[2].tenant(&t).status_counts(&vis, &view).await.expect("status_counts");
            assert_eq!(counts, page.counts);
            let one_unit = matches!(&vis, Visibility::Restricted { units, user: None, .. } if units.len() == 1);
            if one_unit && view == View::Alle {
                per_unit += page.total;
            }
        }
    }
    assert_eq!(per_unit, 18, "the Vorgänge with a unit (every fourth has none), each counted in one unit");
}

/// Wiedervorlagen of one Vorgang added, changed and closed concurrently in several processes,
/// while commands and Kommentare touch the same Vorgang: `naechste_frist` in the worklist is
/// still the earliest open Frist, each version is won once, and notes leave the Vorgang's
/// version alone.
async fn concurrent_wiedervorlagen_keep_naechste_frist_exact(stores: &[Arc<dyn Store>]) {
    let t = tenant(&stores[0]).await;
    let u = user(&stores[0], &t, 0).await;
    let head = intake(&stores[0], &t, vorgang(at(0))).await;
    let day = |d: i64| time::macros::date!(2024 - 06 - 01) + time::Duration::days(d);
    let mut tasks = JoinSet::new();
    for i in 0..12 {
        let (db, t, by) = (store(stores, i), t.clone(), actor(&u));
        tasks.spawn(async move {
            let w = NewWiedervorlage {
                id: domain::WiedervorlageId::new(),
                vorgang_id: head.id,
                betreff: format!("Wiedervorlage {i}"),
                beschreibung: String::new(),
                frist: day(i as i64),
                created_at: at(i as i64),
                created_by: by.clone(),
            };
            db.tenant(&t).add_wiedervorlage(w).await?;
            db.tenant(&t).add_kommentar(head.id, domain::KommentarId::new(), &format!("Kommentar {i}"), &by).await?;
            Ok::<_, StorageError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("add task").expect("add_wiedervorlage / add_kommentar");
    }
    let all = stores[1].tenant(&t).list_wiedervorlagen(head.id).await.expect("list_wiedervorlagen");
    assert_eq!(all.len(), 12);
    // Each Wiedervorlage is changed by three processes at version 1: one wins. The even ones
    // are closed, the odd ones moved to a later Frist; meanwhile the Vorgang gets a command.
    let mut tasks = JoinSet::new();
    for (i, w) in all.iter().enumerate() {
        for j in 0..3 {
            let (db, t, by, w) = (store(stores, i + j), t.clone(), actor(&u), w.clone());
            tasks.spawn(async move {
                let update = WiedervorlageUpdate {
                    betreff: w.betreff.clone(),
                    beschreibung: format!("Versuch {j}"),
                    frist: if i % 2 == 0 { w.frist } else { w.frist + time::Duration::days(30) },
                    erledigt: i % 2 == 0,
                };
                db.tenant(&t).update_wiedervorlage(w.id, 1, update, &by).await.map(|_| ())
            });
        }
    }
    let by = actor(&u);
    let changed = stores[2]
        .tenant(&t)
        .apply_change(head.id, head.version, VorgangChange::Assign { to: Some(u.id) }, &by)
        .await
        .expect("apply_change while notes change");
    let (mut won, mut conflicts) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.expect("update task") {
            Ok(()) => won += 1,
            Err(StorageError::Conflict { current_version: 2 }) => conflicts += 1,
            Err(e) => panic!("a concurrent update at one version must be Conflict at version 2, got {e:?}"),
        }
    }
    assert_eq!((won, conflicts), (12, 24), "each version of each Wiedervorlage is won once");
    let all = stores[0].tenant(&t).list_wiedervorlagen(head.id).await.expect("list_wiedervorlagen");
    let earliest_open = all.iter().filter(|w| !w.erledigt).map(|w| w.frist).min();
    assert_eq!(earliest_open, Some(day(1 + 30)));
    let q = WorklistQuery {
        visibility: Visibility::Tenant,
        view: View::Alle,
        status: None,
        sort: SortKey::EingangAt,
        descending: false,
        page: 0,
        per_page: 10,
        filter: Default::default(),
    };
    let item =
        stores[3].tenant(&t).worklist(&q).await.expect("worklist").items.into_iter().next().expect("the Vorgang");
    assert_eq!(item.naechste_frist, earliest_open, "naechste_frist is the earliest open Frist");
    assert_eq!(item.version, changed.version, "notes do not change the Vorgang's version");
    assert_eq!(stores[1].tenant(&t).list_kommentare(head.id).await.expect("list_kommentare").len(), 12);
    let history = stores[0].tenant(&t).history(head.id).await.expect("history");
    assert_eq!(history.len(), 1 + 12 + 12 + 12 + 1, "one event per note and change, none for a conflict");
    let seqs: Vec<i64> = history.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]), "the history is in seq order");
}
