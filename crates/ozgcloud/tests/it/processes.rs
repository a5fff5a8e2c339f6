//! Several `ozgcloud serve` processes on one PostgreSQL database behave as one system.

use crate::helpers::*;
use domain::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Stdio;
use store_postgres::testing::TestDatabase;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

struct Process {
    _child: Child,
    base: String,
}

async fn serve(database_url: &str, data_dir: &std::path::Path) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ozgcloud"));
    command.args(["--data-dir", &data_dir.to_string_lossy(), "serve", "--listen", "127.0.0.1:0", "--open-intake"]);
    if database_url.is_empty() {
        command.env_remove("OZGCLOUD_DATABASE_URL");
    } else {
        command.env("OZGCLOUD_DATABASE_URL", database_url);
    }
    let mut child = command
        .env("OZGCLOUD_ADMIN_PASSWORD", PASSWORD)
        .env("OZGCLOUD_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start ozgcloud");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(rest) = line.strip_prefix("ozgcloud läuft auf ") {
                return rest.split_whitespace().next().expect("url").to_owned();
            }
        }
        panic!("ozgcloud exited before it was ready")
    })
    .await
    .expect("ozgcloud ready within 60 s");
    // Keep draining stdout so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Process { _child: child, base }
}

async fn login(http: &reqwest::Client, base: &str, user: &str) -> Api {
    let res = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK);
    let token = res.json::<Value>().await.expect("json")["token"].as_str().expect("token").to_owned();
    Api { base: base.to_owned(), token, http: http.clone() }
}

async fn deliver(http: &reqwest::Client, base: &str, tx: &str) -> Value {
    let form = reqwest::multipart::Form::new().text("formData", gewerbeanmeldung(tx).to_string());
    let res = http.post(format!("{base}/antrag")).multipart(form).send().await.expect("deliver");
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.expect("receipt")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_database_are_one_system() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut config = ozgcloud::Config::new(dir.path().to_owned());
        config.database_url = Some(db.url.clone());
        let state = ozgcloud::open_state(&config).await.expect("state");
        let tenant = domain::TenantId::default_tenant();
        let unit = store::NewUnit { id: domain::UnitId::new(), name: "Gewerbeamt".into(), kennung: KENNUNG.into() };
        let unit = state.store.tenant(&tenant).create_unit(unit).await.expect("unit").id;
        for (u, n) in [("max", "Max Schröder"), ("erika", "Erika Mustermann")] {
            ozgcloud::add_user(&state, &tenant, u, n, vec![Role::Sachbearbeitung], vec![unit], PASSWORD)
                .await
                .expect("user");
        }
    }
    let (a, b) = tokio::join!(serve(&db.url, dir.path()), serve(&db.url, dir.path()));
    let http = reqwest::Client::new();

    // The same delivery, racing into both processes: one Vorgang.
    let tx = unique("zwei-prozesse");
    let receipts = futures_util::future::join_all((0..16).map(|i| {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let (http, tx) = (http.clone(), tx.clone());
        async move { deliver(&http, &base, &tx).await }
    }))
    .await;
    let mut ids: Vec<&str> = receipts.iter().filter_map(|r| r["vorgang"]["vorgangId"].as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "one Vorgang for one transaction id across processes");
    assert_eq!(receipts.iter().filter(|r| r["duplicate"] == false).count(), 1);

    for _ in 0..9 {
        deliver(&http, &a.base, &unique("stapel")).await;
    }
    let max = login(&http, &a.base, "max").await;
    let erika = login(&http, &b.base, "erika").await;
    let claims = futures_util::future::join_all((0..24).map(|i| {
        let api = if i % 2 == 0 { max.clone() } else { erika.clone() };
        async move { api.claim_next().await }
    }))
    .await;
    let mut claimed: Vec<&str> = claims.iter().filter_map(|c| c["vorgang"]["vorgangId"].as_str()).collect();
    assert_eq!(claimed.len(), 10, "every Vorgang handed out once");
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 10, "no Vorgang handed out twice across processes");

    // Optimistic concurrency across processes.
    let id = ids[0];
    let version = max.vorgang(id).await["version"].as_i64().expect("version");
    let (r1, r2) = tokio::join!(
        max.command(id, "ANNEHMEN", version, None),
        erika.command(id, "VERWERFEN", version, Some("Dublette"))
    );
    let mut statuses = [r1.status(), r2.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);

    drop((a, b));
    db.drop_db().await;
}

/// Two processes on one PostgreSQL take jobs from one queue: every job runs exactly once,
/// both processes work, and periodic work is scheduled once per period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_run_each_job_exactly_once() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    const PROBES: usize = 300;
    // Enqueued before either process starts, with the operator's command.
    let out = Command::new(env!("CARGO_BIN_EXE_ozgcloud"))
        .args(["jobs", "probe", "--count", &PROBES.to_string(), "--dauer-ms", "50"])
        .env("OZGCLOUD_DATABASE_URL", &db.url)
        .env("OZGCLOUD_LOG", "warn")
        .output()
        .await
        .expect("ozgcloud jobs probe");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (a, b) = tokio::join!(serve(&db.url, dir.path()), serve(&db.url, dir.path()));
    let store = store_postgres::PostgresStore::connect(&db.url).await.expect("connect");
    let query = store::JobQuery { state: None, kind: Some(domain::jobs::kinds::PROBE.into()), limit: 10_000 };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(90);
    let probes = loop {
        let probes = store::JobStore::list_jobs(&store, &query).await.expect("list");
        if probes.iter().all(|j| j.state == domain::jobs::JobState::Completed) {
            break probes;
        }
        assert!(tokio::time::Instant::now() < deadline, "probes not done in time");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(probes.len(), PROBES);
    assert!(probes.iter().all(|j| j.attempt == 1), "no job was taken twice");
    let workers: std::collections::HashSet<&str> = probes.iter().filter_map(|j| j.leased_by.as_deref()).collect();
    assert_eq!(workers.len(), 2, "both processes took jobs: {workers:?}");
    let periodic = store::JobStore::list_jobs(
        &store,
        &store::JobQuery { state: None, kind: Some(domain::jobs::kinds::SITZUNGEN_AUFRAEUMEN.into()), limit: 100 },
    )
    .await
    .expect("list");
    let mut keys: Vec<&str> = periodic.iter().filter_map(|j| j.unique_key.as_deref()).collect();
    let n = keys.len();
    keys.dedup();
    assert!(n >= 1 && keys.len() == n, "one session sweep per minute, not one per process: {keys:?}");
    drop((a, b));
    store.close().await;
    db.drop_db().await;
}

/// The embedded SQLite belongs to one process: a second `serve` on the same data directory
/// is refused before it touches anything, and a taken port fails before any setup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_one_sqlite_data_dir_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = serve("", dir.path()).await;
    let second = Command::new(env!("CARGO_BIN_EXE_ozgcloud"))
        .args(["--data-dir", &dir.path().to_string_lossy(), "serve", "--listen", "127.0.0.1:0"])
        .env_remove("OZGCLOUD_DATABASE_URL")
        .env("OZGCLOUD_LOG", "warn")
        .output()
        .await
        .expect("second ozgcloud");
    assert!(!second.status.success(), "the second process must not start");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("bereits von einem anderen ozgcloud-Prozess benutzt"), "{stderr}");
    let http = reqwest::Client::new();
    let health = http.get(format!("{}/healthz", first.base)).send().await.expect("healthz");
    assert_eq!(health.status(), StatusCode::OK, "the first one runs on");

    // A taken port: fails at once, and a fresh data directory stays untouched.
    let port = first.base.rsplit(':').next().expect("port").to_owned();
    let fresh = tempfile::tempdir().expect("tempdir");
    let taken = Command::new(env!("CARGO_BIN_EXE_ozgcloud"))
        .args(["--data-dir", &fresh.path().join("daten").to_string_lossy(), "serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .env_remove("OZGCLOUD_DATABASE_URL")
        .env("OZGCLOUD_LOG", "warn")
        .output()
        .await
        .expect("ozgcloud on a taken port");
    assert!(!taken.status.success());
    assert!(!fresh.path().join("daten").exists(), "nothing set up before the port was had");
}
