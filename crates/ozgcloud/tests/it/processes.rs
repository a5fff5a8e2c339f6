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
    let mut child = Command::new(env!("CARGO_BIN_EXE_ozgcloud"))
        .args(["--data-dir", &data_dir.to_string_lossy(), "serve", "--listen", "127.0.0.1:0", "--open-intake"])
        .env("OZGCLOUD_DATABASE_URL", database_url)
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
        let unit = state.store.create_unit(&tenant, unit).await.expect("unit").id;
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
