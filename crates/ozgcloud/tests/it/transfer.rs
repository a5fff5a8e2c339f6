//! `ozgcloud export` / `ozgcloud import`: a tenant moves between SQLite and PostgreSQL and the
//! API shows the same worklists, details, histories, documents and quarantine afterwards.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

/// Demo Vorgänge (all statuses, assignees, documents), Aktenzeichen and two quarantined
/// deliveries.
async fn fill(app: &TestApp, count: usize) {
    assert_eq!(ozgcloud::demo::seed(&app.server.state, count).await.expect("demo data"), count);
    // The tenant's own form service: what it cannot deliver is in the tenant's quarantine.
    let token = app.token(&domain::TenantId::default_tenant(), &[domain::TokenScope::Eingang]).await;
    let res = app
        .http
        .post(app.url("/antrag"))
        .bearer_auth(&token)
        .header("content-type", "multipart/form-data")
        .body(b"no boundary".to_vec())
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "quarantined");
    let mut no_control = gewerbeanmeldung(&unique("tx"));
    no_control.as_object_mut().expect("object").remove("control");
    let form = reqwest::multipart::Form::new().text("formData", no_control.to_string()).part(
        "attachment",
        reqwest::multipart::Part::bytes(vec![7; 300]).file_name("Lageplan.png").mime_str("image/png").expect("mime"),
    );
    let res = app.http.post(app.url("/antrag")).bearer_auth(&token).multipart(form).send().await.expect("send");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "quarantined");
    let max = app.api("max").await;
    let list = max.get_json("/api/v1/vorgaenge?proSeite=6&sort=nummer&richtung=asc").await;
    for (i, item) in list["items"].as_array().expect("items").iter().enumerate() {
        let id = item["vorgangId"].as_str().expect("id");
        let body = json!({"aktenzeichen": format!("32.1-{i}/26 Größe"), "version": item["version"]});
        let res = max.send(reqwest::Method::PUT, &format!("/api/v1/vorgaenge/{id}/aktenzeichen"), body).await;
        assert_eq!(res.status(), StatusCode::OK, "set Aktenzeichen");
    }
    // Clerks' documents, on a Vorgang and on a Kommentar.
    let first = list["items"][0]["vorgangId"].as_str().expect("id").to_owned();
    let attach = |body: Value| {
        let (max, path) = (max.clone(), format!("/api/v1/vorgaenge/{first}/dokumente"));
        async move { max.post(&path, body).await }
    };
    let res = attach(json!({"filename": "Vermerk.pdf", "content": "JVBERi0xLjQKJSVFT0YK"})).await;
    assert_eq!(res.status(), StatusCode::OK, "attach a document");
    let k: Value = max
        .post(&format!("/api/v1/vorgaenge/{first}/kommentare"), json!({"text": "Notiz"}))
        .await
        .json()
        .await
        .expect("k");
    let res = attach(
        json!({"filename": "Notiz.txt", "content": "Tm90aXo=", "contentType": "text/plain", "kommentarId": k["id"]}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK, "attach to a Kommentar");
    // A Vorgang that came in, was asked to be deleted and was deleted: only its GELOESCHT
    // event and the tombstone remain, and they move too.
    let doomed = app.deliver_ok(&gewerbeanmeldung(&unique("weg"))).await["vorgang"]["vorgangId"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(max.command(&doomed, "VERWERFEN", 1, Some("Test")).await.status(), StatusCode::OK);
    assert_eq!(max.command(&doomed, "LOESCHEN_ANFORDERN", 2, Some("Test")).await.status(), StatusCode::OK);
    let lena = app.api_at("", "lena", ozgcloud::demo::DEMO_PASSWORD).await;
    let res = lena.send(reqwest::Method::DELETE, &format!("/api/v1/vorgaenge/{doomed}?version=3"), Value::Null).await;
    assert_eq!(res.status(), StatusCode::OK, "deleted for good");
}

fn without_seq(mut events: Value) -> Value {
    for e in events.as_array_mut().expect("events") {
        e.as_object_mut().expect("event").remove("seq");
    }
    events
}

async fn bytes(res: reqwest::Response) -> Vec<u8> {
    assert_eq!(res.status(), StatusCode::OK);
    res.bytes().await.expect("body").to_vec()
}

/// A Fachverfahren's view: every Vorgang of the tenant.
async fn reader(app: &TestApp) -> Api {
    let token = app.token(&domain::TenantId::default_tenant(), &[domain::TokenScope::Lesen]).await;
    Api { base: app.server.url(), token, http: app.http.clone() }
}

/// Everything a clerk, the Poststelle, an admin or a Fachverfahren can see is the same in
/// `src` and `dst`.
async fn assert_same(src: &TestApp, dst: &TestApp) {
    for user in ["max", "erika"] {
        let (a, b) = (src.api(user).await, dst.api(user).await);
        for view in ["alle", "meine", "nicht-zugewiesen"] {
            for sort in ["eingang", "nummer", "formular", "status", "aktenzeichen"] {
                for dir in ["asc", "desc"] {
                    let path = format!("/api/v1/vorgaenge?proSeite=500&ansicht={view}&sort={sort}&richtung={dir}");
                    assert_eq!(b.get_json(&path).await, a.get_json(&path).await, "{user}: {path}");
                }
            }
        }
    }
    let (a, b) = (reader(src).await, reader(dst).await);
    let list = a.get_json("/api/v1/vorgaenge?proSeite=500").await;
    let items = list["items"].as_array().expect("items");
    assert_eq!(list["total"].as_u64(), Some(items.len() as u64), "one page holds all");
    let (mut documents, mut clerk_documents) = (0, 0);
    for item in items {
        let id = item["vorgangId"].as_str().expect("id");
        let detail = a.vorgang(id).await;
        assert_eq!(b.vorgang(id).await, detail, "detail of {id}");
        let history = format!("/api/v1/vorgaenge/{id}/historie");
        assert_eq!(without_seq(b.get_json(&history).await), without_seq(a.get_json(&history).await), "{history}");
        for doc in detail["documents"].as_array().expect("documents") {
            let path = format!("/api/v1/dokumente/{}", doc["id"].as_str().expect("document id"));
            let content = bytes(a.get(&path).await).await;
            assert_eq!(content.len() as u64, doc["size"].as_u64().expect("size"));
            assert_eq!(bytes(b.get(&path).await).await, content, "document bytes of {path}");
            documents += 1;
        }
        let own = format!("/api/v1/vorgaenge/{id}/dokumente");
        let clerk_docs = a.get_json(&own).await;
        assert_eq!(b.get_json(&own).await, clerk_docs, "{own}");
        for doc in clerk_docs.as_array().expect("clerk documents") {
            let path = format!("/api/v1/dokumente/{}", doc["id"].as_str().expect("document id"));
            assert_eq!(bytes(b.get(&path).await).await, bytes(a.get(&path).await).await, "clerk document {path}");
            clerk_documents += 1;
        }
    }
    assert!(documents > 0, "the demo Vorgänge have documents");
    assert_eq!(clerk_documents, 2, "the clerks' documents moved");
    let log = "/api/v1/events?limit=1000";
    let events = a.get_json(log).await;
    assert!(events.as_array().expect("events").len() < 1000, "one page holds the log");
    assert_eq!(without_seq(b.get_json(log).await), without_seq(events), "the event log, in order");

    let (a, b) = (src.api("admin").await, dst.api("admin").await);
    let quarantine = a.get_json("/api/v1/quarantaene").await;
    assert_eq!(quarantine["total"], 2);
    assert_eq!(b.get_json("/api/v1/quarantaene").await, quarantine, "the quarantine");
    let (ua, ub) = (src.browser("admin").await, dst.browser("admin").await);
    for entry in quarantine["items"].as_array().expect("items") {
        let raw = format!("/admin/quarantaene/{}/roh", entry["deliveryId"].as_str().expect("id"));
        let content = bytes(ua.get(&raw).await).await;
        assert_eq!(content.len() as u64, entry["size"].as_u64().expect("size"));
        assert_eq!(bytes(ub.get(&raw).await).await, content, "raw delivery {raw}");
    }
}

fn header(file: &Path) -> Value {
    let text = std::fs::read_to_string(file).expect("export file");
    let first = text.lines().next().expect("a first line");
    serde_json::from_str::<Value>(first).expect("json")["header"].clone()
}

/// The round trip of the issue: SQLite → export → import into PostgreSQL → identical.
async fn sqlite_to_postgres() {
    let src = TestApp::spawn(Backend::Sqlite).await.expect("SQLite always runs");
    fill(&src, 60).await;
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("export.jsonl");
    let tenant = domain::TenantId::default_tenant();
    let exported = ozgcloud::transfer::export(&src.server.state, &tenant, &file, false).await.expect("export");
    assert_eq!(
        (exported.counts.units, exported.counts.users, exported.counts.deliveries, exported.counts.vorgaenge),
        (5, 5, 62, 60),
        "5 demo units; admin, max, erika, paula, lena; 60 deliveries and 2 quarantined; 60 Vorgänge"
    );
    assert!(exported.counts.audit > 0, "the audit log moves too");
    assert!(exported.counts.documents >= 60 && exported.counts.events > 60, "{exported:?}");
    let head = header(&file);
    assert_eq!((head["format"].as_str(), head["version"].as_u64()), (Some("ozgcloud-export"), Some(1)));
    assert_eq!((head["backend"].as_str(), head["counts"]["vorgaenge"].as_u64()), (Some("sqlite"), Some(60)));
    let again = ozgcloud::transfer::export(&src.server.state, &tenant, &file, false).await;
    assert!(again.is_err(), "an existing export file is not overwritten");

    let Some(dst) = TestApp::spawn_bare(Backend::Postgres).await else { return };
    let imported = ozgcloud::transfer::import(&dst.server.state, &tenant, &file, false).await.expect("import");
    assert_eq!(imported.counts, exported.counts, "the import reads what the export wrote");
    assert_eq!(dst.server.state.store.tenant(&tenant).count_for_export().await.expect("count"), exported.counts);
    assert_same(&src, &dst).await;

    // The moved store works on.
    let max = dst.api("max").await;
    let claimed = max.claim_next().await;
    if let Some(id) = claimed["vorgang"]["vorgangId"].as_str() {
        assert_eq!(max.vorgang(id).await["assignee"]["name"], "Max Schröder");
    }

    // A second import into a store with Vorgänge is refused, and changes nothing.
    let refused = ozgcloud::transfer::import(&dst.server.state, &tenant, &file, false).await.expect_err("refused");
    assert!(refused.to_string().contains("enthält bereits 60 Vorgänge"), "{refused}");

    // A truncated file is refused before anything is written.
    let content = std::fs::read(&file).expect("export file");
    let cut = out.path().join("abgebrochen.jsonl");
    std::fs::write(&cut, &content[..content.len() / 2]).expect("write");
    let empty = TestApp::spawn_bare(Backend::Sqlite).await.expect("SQLite");
    let err = ozgcloud::transfer::import(&empty.server.state, &tenant, &cut, false).await.expect_err("truncated");
    assert!(err.to_string().contains("unvollständig"), "{err}");
    let other = out.path().join("irgendwas.txt");
    std::fs::write(&other, "hallo\n").expect("write");
    let err = ozgcloud::transfer::import(&empty.server.state, &tenant, &other, false).await.expect_err("not an export");
    assert!(err.to_string().contains("keine ozgcloud-Exportdatei"), "{err}");
    let state = &empty.server.state;
    assert_eq!(state.store.tenant(&tenant).count_for_export().await.expect("count").vorgaenge, 0);
}

/// The other direction, through the command line: `ozgcloud export` on PostgreSQL,
/// `ozgcloud import` into SQLite.
async fn postgres_to_sqlite_with_the_cli() {
    let Some(src) = TestApp::spawn(Backend::Postgres).await else { return };
    fill(&src, 25).await;
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("export.jsonl");
    let url = src.db.as_ref().map(|d| d.url.clone()).expect("database url");
    let exported =
        cli(&["--database-url", &url, "--data-dir", &path(src.dir.path()), "export", "--out", &path(&file)]).await;
    assert!(exported.0, "ozgcloud export succeeds: {}", exported.2);
    assert!(exported.1.contains("5 Einheiten, 5 Benutzer, 27 Eingänge, 25 Vorgänge"), "{}", exported.1);

    let dst = TestApp::spawn_bare(Backend::Sqlite).await.expect("SQLite always runs");
    let dst_dir = path(dst.dir.path());
    // The embedded database belongs to one process: the import runs with the server stopped.
    let refused_while_running = cli(&["--data-dir", &dst_dir, "import", "--in", &path(&file)]).await;
    assert!(!refused_while_running.0, "no import into a running server's SQLite");
    assert!(refused_while_running.2.contains("anderen ozgcloud-Prozess"), "{}", refused_while_running.2);
    let imported = std::sync::Mutex::new(None);
    let dst = dst
        .restart_bare(async {
            let out = cli(&["--data-dir", &dst_dir, "import", "--in", &path(&file)]).await;
            *imported.lock().expect("lock") = Some(out);
        })
        .await;
    let imported = imported.into_inner().expect("lock").expect("ran");
    assert!(imported.0, "ozgcloud import succeeds: {}", imported.2);
    assert!(imported.1.contains("5 Einheiten, 5 Benutzer, 27 Eingänge, 25 Vorgänge"), "{}", imported.1);
    assert_same(&src, &dst).await;

    let second = std::sync::Mutex::new(None);
    let _dst = dst
        .restart_bare(async {
            let out = cli(&["--data-dir", &dst_dir, "import", "--in", &path(&file)]).await;
            *second.lock().expect("lock") = Some(out);
        })
        .await;
    let refused = second.into_inner().expect("lock").expect("ran");
    assert!(!refused.0, "a second import fails");
    assert!(refused.2.contains("Fehler: Der Mandant „default“ enthält bereits 25 Vorgänge"), "{}", refused.2);
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Runs the binary: (success, stdout, stderr).
async fn cli(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ozgcloud"))
        .args(args)
        .env("OZGCLOUD_LOG", "warn")
        .env_remove("OZGCLOUD_DATABASE_URL")
        .env_remove("OZGCLOUD_DATA_DIR")
        .output()
        .await
        .expect("run ozgcloud");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_export_imports_into_postgres_identically() {
    sqlite_to_postgres().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_export_imports_into_sqlite_identically_via_the_cli() {
    postgres_to_sqlite_with_the_cli().await
}

/// The import refuses a file whose blob does not match its SHA-256, and a format version it
/// does not know, and leaves the target without Vorgänge and deliveries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refuses_a_bad_checksum_and_an_unknown_version() {
    use base64::Engine as _;
    let src = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    src.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("export.jsonl");
    let tenant = domain::TenantId::default_tenant();
    ozgcloud::transfer::export(&src.server.state, &tenant, &file, false).await.expect("export");
    let text = std::fs::read_to_string(&file).expect("export file");

    // One blob's content changed, its size and checksum kept.
    let mut tampered = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line).expect("json line");
            if !tampered {
                if let Some(data) = value["blob"]["data"].as_str() {
                    let mut bytes = base64::engine::general_purpose::STANDARD.decode(data).expect("base64");
                    bytes[0] ^= 1;
                    value["blob"]["data"] = base64::engine::general_purpose::STANDARD.encode(bytes).into();
                    tampered = true;
                }
            }
            value.to_string()
        })
        .collect();
    assert!(tampered, "the export has a blob");
    let bad_blob = out.path().join("pruefsumme.jsonl");
    std::fs::write(&bad_blob, lines.join("\n") + "\n").expect("write");

    // The next format version.
    let mut header: Value = serde_json::from_str(text.lines().next().expect("header")).expect("json");
    header["header"]["version"] = 2.into();
    let newer = out.path().join("version2.jsonl");
    let rest: Vec<&str> = text.lines().skip(1).collect();
    std::fs::write(&newer, format!("{header}\n{}\n", rest.join("\n"))).expect("write");

    let dst = TestApp::spawn_bare(Backend::Sqlite).await.expect("sqlite");
    let err = ozgcloud::transfer::import(&dst.server.state, &tenant, &bad_blob, false).await.expect_err("checksum");
    assert!(err.to_string().contains("beschädigt (Prüfsumme)"), "{err}");
    let err = ozgcloud::transfer::import(&dst.server.state, &tenant, &newer, false).await.expect_err("version");
    assert!(err.to_string().contains("Version 2 wird nicht unterstützt"), "{err}");
    let counts = dst.server.state.store.tenant(&tenant).count_for_export().await.expect("count");
    assert_eq!((counts.vorgaenge, counts.deliveries), (0, 0), "nothing of the refused files is in the store");
}
