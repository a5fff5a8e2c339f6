//! Many municipalities on one installation: provisioning, addressing, intake routing by
//! `zustaendigeStelle`, isolation, roles and units.

use crate::helpers::*;
use domain::{Role, TenantId, TokenScope};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn vorgang_id(receipt: &Value) -> String {
    receipt["vorgang"]["vorgangId"].as_str().expect("vorgang id").to_owned()
}

/// `ozgcloud tenant create` on the command line: a tenant whose admin can log in at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_create_on_the_command_line_gives_a_working_tenant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ozgcloud"))
        .args(["--data-dir", &dir.path().to_string_lossy(), "tenant", "create", "--name", "Stadt Musterstadt"])
        .args(["--kind", "stadt", "--admin-email", "it@musterstadt.example"])
        .env("OZGCLOUD_LOG", "warn")
        .output()
        .expect("run ozgcloud tenant create");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "tenant create failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    println!("tenant create took {:?}", started.elapsed());
    assert!(stdout.contains("/t/stadt-musterstadt/login"), "{stdout}");
    let password = stdout
        .split("Einmaliges Passwort: ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("password line")
        .trim()
        .to_owned();
    assert!(stdout.contains("bei der ersten Anmeldung geändert"), "says it is one-time: {stdout}");

    let app = TestApp::start_in(dir, None, |_| {}).await;
    let admin = app.browser_at("/t/stadt-musterstadt", "admin", &password).await;

    // The one-time password opens only the page to change it.
    for path in ["/", "/admin/benutzer", "/vorgaenge"] {
        let res = admin.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()["location"], "/t/stadt-musterstadt/passwort", "{path} leads to the password change");
    }
    let api = app.api_at("/t/stadt-musterstadt", "admin", &password).await;
    let res = api.get("/api/v1/quarantaene").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        res.json::<Value>().await.expect("problem")["type"],
        "https://ozgcloud.de/probleme/password-change-required"
    );
    let page = admin.page("/passwort").await;
    assert!(page.contains("gilt nur einmal"), "says why");
    let csrf = csrf_in(&page);
    let new_password = "Musterstadt-Rathaus-2026";
    for (aktuell, neu, wiederholung, why) in [
        ("falsch-falsch-falsch", new_password, new_password, "Das bisherige Passwort stimmt nicht"),
        (password.as_str(), new_password, "Musterstadt-Rathaus-2027", "stimmen nicht überein"),
        (password.as_str(), "kurz", "kurz", "mindestens 12"),
    ] {
        let res = admin
            .post_form(
                "/passwort",
                &[("_csrf", &csrf), ("aktuell", aktuell), ("neu", neu), ("wiederholung", wiederholung)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{why}");
        let html = res.text().await.expect("html");
        assert!(html.to_lowercase().contains(&why.to_lowercase()), "{why}: {html}");
    }
    let res = admin
        .post_form(
            "/passwort",
            &[("_csrf", &csrf), ("aktuell", &password), ("neu", new_password), ("wiederholung", new_password)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/t/stadt-musterstadt/login?meldung=passwort-geaendert");
    assert_eq!(admin.get("/admin/benutzer").await.status(), StatusCode::SEE_OTHER, "the old session ended");
    assert_eq!(api.get("/api/v1/quarantaene").await.status(), StatusCode::UNAUTHORIZED, "the API session too");
    let old = app.anonymous_browser("/t/stadt-musterstadt");
    assert_eq!(
        old.login("admin", &password).await.status(),
        StatusCode::UNAUTHORIZED,
        "the one-time password is spent"
    );

    let admin = app.browser_at("/t/stadt-musterstadt", "admin", new_password).await;
    let start = admin.get("/").await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    assert_eq!(start.headers()["location"], "/t/stadt-musterstadt/admin/benutzer", "admins start in administration");
    let users = admin.page("/admin/benutzer").await;
    assert!(users.contains("it@musterstadt.example"), "the admin is listed");
    // The tenant is not reachable as the default tenant, and an unknown tenant is a 404.
    assert_eq!(app.anonymous_browser("/t/gibt-es-nicht").get("/login").await.status(), StatusCode::NOT_FOUND);
    let listed = app.server.state.store.installation().list_tenants().await.expect("tenants");
    assert!(listed.iter().any(|t| t.id.as_str() == "stadt-musterstadt" && t.kind == domain::TenantKind::Stadt));
}

async fn intake_routes_each_delivery_to_the_unit_owning_its_stelle(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let kiel = app.other_tenant("kiel", "kiel-ordnung").await;
    let receipt = app.deliver_ok(&antrag_for("kiel-ordnung", &unique("kiel"))).await;
    let anna = app.api_at(&kiel.prefix, "anna", PASSWORD).await;
    let v = anna.vorgang(&vorgang_id(&receipt)).await;
    assert_eq!(v["unitId"], json!(kiel.unit.to_string()));
    let max = app.api("max").await;
    assert_eq!(max.get(&format!("/api/v1/vorgaenge/{}", vorgang_id(&receipt))).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(max.get_json("/api/v1/vorgaenge").await["total"], 0, "nothing of Kiel in the default tenant");

    // An unknown stelle: kept, answered 202, listed for the operator, never lost.
    let tx = unique("unbekannt");
    let res = app.deliver(&antrag_for("kiel-bauamt", &tx), vec![]).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.expect("json");
    let delivery = body["deliveryId"].as_str().expect("delivery id").to_owned();
    assert_eq!(body["zustaendigeStelle"], "kiel-bauamt");
    let operator = app.browser_at("/t/plattform", "betrieb", PASSWORD).await;
    let list = operator.page("/admin/quarantaene?liste=nicht-zuordenbar").await;
    assert!(list.contains(&delivery), "the operator sees it in the list 'nicht zuordenbar'");
    assert!(list.contains("kiel-bauamt"));
    // Kiel creates the unit; the operator processes the delivery again: it reaches Kiel.
    let unit = store::NewUnit { id: domain::UnitId::new(), name: "Bauamt".into(), kennung: "kiel-bauamt".into() };
    app.server.state.store.tenant(&kiel.id).create_unit(unit).await.expect("unit");
    let page = operator.page("/admin/quarantaene?liste=nicht-zuordenbar").await;
    let res =
        operator.post_form(&format!("/admin/quarantaene/{delivery}/verarbeiten"), &[("_csrf", &csrf_in(&page))]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()["location"].to_str().expect("location").contains("meldung=zugeordnet"));
    let kiel_admin = app.api_at(&kiel.prefix, "admin", &kiel.admin_password).await;
    assert_eq!(
        kiel_admin.get("/api/v1/vorgaenge").await.status(),
        StatusCode::FORBIDDEN,
        "admins do not read Vorgänge"
    );
    let total = app.server.state.store.tenant(&kiel.id).count_for_export().await.expect("count").vorgaenge;
    assert_eq!(total, 2, "both deliveries are Vorgänge of Kiel now");
    assert!(!operator.page("/admin/quarantaene?liste=nicht-zuordenbar").await.contains(&delivery));
    // The routed delivery's raw payload now lives under Kiel's key; the platform's copy goes
    // by a job. The failed attempt left a tenant-level event in the platform's log.
    let state = &app.server.state;
    let delivery_id = store::DeliveryId(uuid::Uuid::parse_str(&delivery).expect("uuid"));
    let moved = state.store.tenant(&kiel.id).get_delivery(delivery_id).await.expect("delivery in Kiel");
    assert!(moved.blob_key.starts_with("kiel/eingang/"), "the payload is Kiel's: {}", moved.blob_key);
    assert!(!state.blobs.get(&moved.blob_key).await.expect("payload").is_empty());
    assert!(state.app.jobs.wait_idle(std::time::Duration::from_secs(20)).await.expect("jobs"), "the jobs ran");
    let old_key = documents::new_key("plattform", "eingang", delivery_id.0);
    assert!(
        matches!(state.blobs.get(&old_key).await, Err(documents::DocumentError::NotFound)),
        "the platform's copy is gone"
    );
    let platform_log = state.store.tenant(&TenantId::platform()).events_after(0, 1000).await.expect("events");
    assert!(
        platform_log.iter().any(|e| e.vorgang_id.is_none()
            && e.event == domain::VorgangEvent::EingangNichtZuordenbar { delivery_id: delivery_id.0 }),
        "the unroutable attempt is a tenant-level event of the platform"
    );

    // A form service bound to the default tenant cannot deliver into Kiel.
    let token = app.token(&TenantId::default_tenant(), &[TokenScope::Eingang]).await;
    let form =
        reqwest::multipart::Form::new().text("formData", antrag_for("kiel-ordnung", &unique("fremd")).to_string());
    let res = app.http.post(app.url("/antrag")).bearer_auth(token).multipart(form).send().await.expect("send");
    assert_eq!(res.status(), StatusCode::ACCEPTED, "kept as not routable for its own tenant");
    assert_eq!(app.server.state.store.tenant(&kiel.id).count_for_export().await.expect("count").vorgaenge, 2);
}

async fn tenants_cannot_reach_each_other(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let kiel = app.other_tenant("kiel", "kiel-ordnung").await;
    let mine = app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    let theirs = app.deliver_ok(&antrag_for("kiel-ordnung", &unique("tx"))).await;
    let (mine, theirs) = (vorgang_id(&mine), vorgang_id(&theirs));

    let max = app.api("max").await;
    let anna = app.api_at(&kiel.prefix, "anna", PASSWORD).await;
    assert_eq!(anna.get(&format!("/api/v1/vorgaenge/{mine}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(max.get(&format!("/api/v1/vorgaenge/{theirs}")).await.status(), StatusCode::NOT_FOUND);
    let doc = anna.vorgang(&theirs).await["documents"][0]["id"].as_str().expect("doc").to_owned();
    assert_eq!(max.get(&format!("/api/v1/dokumente/{doc}")).await.status(), StatusCode::NOT_FOUND);
    let res = max
        .send(Method::POST, &format!("/api/v1/vorgaenge/{theirs}/status"), json!({"command": "ANNEHMEN", "version": 1}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "no writes across tenants");
    // A session is valid for its own tenant only, as bearer token and as cookie.
    let stolen = Api { base: app.url(&kiel.prefix), token: max.token.clone(), http: app.http.clone() };
    assert_eq!(stolen.get("/api/v1/vorgaenge").await.status(), StatusCode::UNAUTHORIZED);
    let browser = app.browser("max").await;
    let foreign = Browser { base: app.url(&kiel.prefix), http: browser.http.clone() };
    let res = foreign.get("/vorgaenge").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/t/kiel/login");
    // Tokens too.
    let token = app.token(&TenantId::default_tenant(), &[TokenScope::Lesen]).await;
    let res = app.http.get(app.url("/t/kiel/api/v1/vorgaenge")).bearer_auth(&token).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.http.get(app.url("/api/v1/vorgaenge")).bearer_auth(&token).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.expect("json")["total"], 1);
}

async fn roles_and_units_decide_what_is_seen_and_done(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let state = &app.server.state;
    let tenant = TenantId::default_tenant();
    let steuer = store::NewUnit { id: domain::UnitId::new(), name: "Steueramt".into(), kennung: "steuer-1".into() };
    let steuer = state.store.tenant(&tenant).create_unit(steuer).await.expect("unit").id;
    for (name, roles) in
        [("paula", vec![Role::Poststelle]), ("lena", vec![Role::Loeschberechtigt]), ("ada", vec![Role::Admin])]
    {
        ozgcloud::add_user(state, &tenant, name, name, roles, vec![steuer], PASSWORD).await.expect("user");
    }
    let gewerbe = vorgang_id(&app.deliver_ok(&gewerbeanmeldung(&unique("g"))).await);
    let steuer_v = vorgang_id(&app.deliver_ok(&antrag_for("steuer-1", &unique("s"))).await);

    let max = app.api("max").await;
    assert_eq!(max.get_json("/api/v1/vorgaenge").await["total"], 1, "only his unit");
    assert_eq!(max.get(&format!("/api/v1/vorgaenge/{steuer_v}")).await.status(), StatusCode::NOT_FOUND);

    // The Poststelle sees every new one and hands the Steuer one to the Gewerbeamt.
    let paula = app.api_at("", "paula", PASSWORD).await;
    assert_eq!(paula.get_json("/api/v1/vorgaenge").await["total"], 2);
    let version = paula.vorgang(&steuer_v).await["version"].as_i64().expect("version");
    let gewerbeamt =
        state.store.tenant(&tenant).list_units().await.expect("units").into_iter().find(|u| u.kennung == KENNUNG);
    let res = paula
        .send(
            Method::PUT,
            &format!("/api/v1/vorgaenge/{steuer_v}/einheit"),
            json!({"unitId": gewerbeamt.expect("unit").id.to_string(), "version": version}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(max.get_json("/api/v1/vorgaenge").await["total"], 2, "now his unit's");
    let history = max.get_json(&format!("/api/v1/vorgaenge/{steuer_v}/historie")).await;
    assert!(history.to_string().contains("EINHEIT_GEAENDERT"), "{history}");

    // Löschberechtigte read their units' Vorgänge but do not work them.
    let lena = app.api_at("", "lena", PASSWORD).await;
    assert_eq!(lena.get_json("/api/v1/vorgaenge").await["total"], 0, "the Steuer one moved away");
    let res = lena
        .send(
            Method::POST,
            &format!("/api/v1/vorgaenge/{gewerbe}/status"),
            json!({"command": "ANNEHMEN", "version": 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // An admin administers; reading Vorgänge is not part of it.
    let ada = app.api_at("", "ada", PASSWORD).await;
    assert_eq!(ada.get("/api/v1/vorgaenge").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(ada.get(&format!("/api/v1/vorgaenge/{gewerbe}")).await.status(), StatusCode::FORBIDDEN);
    let clerk_page = app.browser("max").await.get("/admin/benutzer").await;
    assert_eq!(clerk_page.status(), StatusCode::FORBIDDEN, "clerks do not administer");
}

on_both_backends!(
    intake_routes_each_delivery_to_the_unit_owning_its_stelle,
    tenants_cannot_reach_each_other,
    roles_and_units_decide_what_is_seen_and_done,
);

/// Host routing: the tenant is found by the `Host` header; sessions stay on their host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_by_host_name() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |c| c.routing = web::tenancy::TenantRouting::Host).await.expect("sqlite");
    let kiel = app.other_tenant("kiel", "kiel-ordnung").await;
    let state = &app.server.state;
    let settings = store::TenantSettings {
        name: "Landeshauptstadt Kiel".into(),
        host: Some("kiel.ozg.test".into()),
        ip_allowlist: vec![],
    };
    state.store.tenant(&kiel.id).update_tenant(settings).await.expect("host");
    let page = |host: &'static str| app.http.get(app.url("/login")).header("host", host).send();
    let kiel_login = page("kiel.ozg.test:8080").await.expect("get").text().await.expect("html");
    assert!(kiel_login.contains("Landeshauptstadt Kiel"), "the tenant by its host");
    let other = page("anderswo.test").await.expect("get").text().await.expect("html");
    assert!(other.contains("Standard-Mandant"), "unknown hosts get the default tenant");
    // A path prefix means nothing in host mode.
    let res = app.http.get(app.url("/t/kiel/login")).header("host", "anderswo.test").send().await.expect("get");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Anna's API session works on Kiel's host only.
    let login = app
        .http
        .post(app.url("/api/v1/login"))
        .header("host", "kiel.ozg.test")
        .json(&json!({"username": "anna", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::OK);
    let token = login.json::<Value>().await.expect("json")["token"].as_str().expect("token").to_owned();
    let list =
        |host: &'static str| app.http.get(app.url("/api/v1/vorgaenge")).header("host", host).bearer_auth(&token).send();
    assert_eq!(list("kiel.ozg.test").await.expect("get").status(), StatusCode::OK);
    assert_eq!(list("anderswo.test").await.expect("get").status(), StatusCode::UNAUTHORIZED);
}
