//! The authorization matrix: every route of the router × every role × own / foreign tenant.
//! The routes come from `web::routes()`, the same table the server is built from, so a new
//! route is in this test the moment it exists, with the permission it was registered with.

use crate::helpers::*;
use domain::{Permission, Principal, Role, TenantId, TokenScope, UnitId, UserId};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;

/// The ids a route's `{id}` stands for, per tenant.
#[derive(Clone, Default)]
struct Objects {
    vorgang: String,
    document: String,
    delivery: String,
    user: String,
    unit: String,
    token: String,
    tenant: String,
    wiedervorlage: String,
    job: String,
}

impl Objects {
    fn id_for(&self, path: &str) -> String {
        let id = if path.contains("/vorgaenge/") {
            &self.vorgang
        } else if path.contains("/wiedervorlagen/") {
            &self.wiedervorlage
        } else if path.contains("/dokumente/") {
            &self.document
        } else if path.contains("/quarantaene/") {
            &self.delivery
        } else if path.contains("/benutzer/") {
            &self.user
        } else if path.contains("/einheiten/") {
            &self.unit
        } else if path.contains("/tokens/") {
            &self.token
        } else if path.contains("/mandanten/") {
            &self.tenant
        } else if path.contains("/auftraege/") {
            &self.job
        } else {
            panic!("the matrix does not know what {{id}} means in {path}: teach Objects::id_for")
        };
        path.replace("{id}", id)
    }
}

/// How one caller authenticates.
#[derive(Clone)]
enum Credentials {
    None,
    /// A person: UI cookie session with its CSRF token, API bearer session.
    Person {
        cookies: Client,
        csrf: String,
        bearer: String,
    },
    Token(String),
}

struct Caller {
    label: &'static str,
    principal: Option<Principal>,
    prefix: String,
    credentials: Credentials,
    objects: Objects,
}

fn no_redirects() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

async fn person(app: &TestApp, label: &'static str, prefix: &str, username: &str, objects: &Objects) -> Caller {
    let b = app.browser_at(prefix, username, PASSWORD).await;
    let start = b.get("/").await;
    let landing = start.headers()["location"].to_str().expect("location").to_owned();
    let page = b.http.get(app.url(&landing)).send().await.expect("landing").text().await.expect("html");
    let csrf = csrf_in(&page);
    let api = app.api_at(prefix, username, PASSWORD).await;
    let tenant = TenantId::parse(prefix.strip_prefix("/t/").unwrap_or(TenantId::DEFAULT)).expect("tenant");
    let user =
        app.server.state.store.tenant(&tenant).find_user_by_username(username).await.expect("find").expect("user");
    Caller {
        label,
        principal: Some(user.principal()),
        prefix: prefix.to_owned(),
        credentials: Credentials::Person { cookies: b.http, csrf, bearer: api.token },
        objects: objects.clone(),
    }
}

async fn request(app: &TestApp, caller: &Caller, method: &Method, path: &str) -> reqwest::Response {
    let url = app.url(&format!("{}{path}", caller.prefix));
    let api = path.starts_with("/api/") || path == "/antrag";
    let rb = match &caller.credentials {
        Credentials::None => no_redirects().request(method.clone(), &url),
        Credentials::Token(t) => no_redirects().request(method.clone(), &url).bearer_auth(t),
        Credentials::Person { bearer, .. } if api => no_redirects().request(method.clone(), &url).bearer_auth(bearer),
        Credentials::Person { cookies, csrf, .. } => cookies.request(method.clone(), &url).header("x-csrf-token", csrf),
    };
    let rb = match (method, api) {
        (&Method::GET, _) => rb,
        (_, true) => rb.header("content-type", "application/json").body("{}"),
        (_, false) => rb.header("content-type", "application/x-www-form-urlencoded").body(""),
    };
    rb.send().await.expect("request")
}

fn refused(res: &reqwest::Response) -> bool {
    let to_login = res.status() == StatusCode::SEE_OTHER
        && res.headers().get("location").and_then(|l| l.to_str().ok()).is_some_and(|l| l.ends_with("/login"));
    matches!(res.status(), StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) || to_login
}

fn expected(caller: &Caller, permission: Permission, path: &str) -> bool {
    let api = path.starts_with("/api/") || path == "/antrag";
    match (&caller.principal, permission) {
        (_, Permission::Public) => true,
        (Some(Principal::Token { .. }), _) if !api => false,
        // Intake is closed in this app: a token with scope EINGANG is needed.
        (None, _) => false,
        (Some(p), permission) => p.grants(permission),
    }
}

async fn objects_of(app: &TestApp, tenant: &TenantId, token_for_intake: &str, kennung: &str) -> Objects {
    let state = &app.server.state;
    let deliver = |body: String| {
        let pdf = reqwest::multipart::Part::bytes(b"%PDF-1.4 test".to_vec()).file_name("antrag.pdf");
        let form = reqwest::multipart::Form::new().text("formData", body).part("representation", pdf);
        app.http.post(app.url("/antrag")).bearer_auth(token_for_intake.to_owned()).multipart(form).send()
    };
    let receipt: Value =
        deliver(antrag_for(kennung, &unique("matrix")).to_string()).await.expect("deliver").json().await.expect("json");
    let vorgang = receipt["vorgang"]["vorgangId"].as_str().expect("vorgang").to_owned();
    let record =
        state.store.tenant(tenant).get_vorgang(domain::VorgangId::parse(&vorgang).expect("id")).await.expect("get");
    let bad: Value = deliver("{kaputt".into()).await.expect("deliver").json().await.expect("json");
    let users = state.store.tenant(tenant).list_users().await.expect("users");
    let units = state.store.tenant(tenant).list_units().await.expect("units");
    let victim = users.iter().find(|u| u.username == "erika" || u.username == "anna").expect("a clerk");
    let wiedervorlage = store::NewWiedervorlage {
        id: domain::WiedervorlageId::new(),
        vorgang_id: record.head.id,
        betreff: "Matrix".into(),
        beschreibung: String::new(),
        frist: time::OffsetDateTime::now_utc().date(),
        created_at: time::OffsetDateTime::now_utc(),
        created_by: store::Actor::system("Test"),
    };
    let wiedervorlage = state.store.tenant(tenant).add_wiedervorlage(wiedervorlage).await.expect("wiedervorlage");
    // A job that stays pending (due in a day): retry and discard find it.
    let job = app::work::probe_job(0, 0, 1).at(time::OffsetDateTime::now_utc() + time::Duration::days(1));
    let job = state.app.jobs.enqueue(job).await.expect("job").expect("new");
    Objects {
        vorgang,
        document: record.documents[0].id.to_string(),
        delivery: bad["deliveryId"].as_str().expect("delivery").to_owned(),
        user: victim.id.to_string(),
        unit: units[0].id.to_string(),
        token: state.store.tenant(tenant).list_api_tokens().await.expect("tokens")[0].id.to_string(),
        tenant: tenant.to_string(),
        wiedervorlage: wiedervorlage.id.to_string(),
        job: job.to_string(),
    }
}

async fn every_route_for_every_role_in_both_tenants(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.open_intake = false).await else { return };
    let state = &app.server.state;
    let own = TenantId::default_tenant();
    let fremd = app.other_tenant("fremd", "fremd-1").await;
    let gewerbe = state.store.tenant(&own).list_units().await.expect("units")[0].id;
    for (name, roles) in [("paula", vec![Role::Poststelle]), ("lena", vec![Role::Loeschberechtigt])] {
        ozgcloud::add_user(state, &own, name, name, roles, vec![gewerbe], PASSWORD).await.expect("user");
    }
    let own_intake = app.token(&own, &[TokenScope::Eingang]).await;
    let fremd_intake = app.token(&fremd.id, &[TokenScope::Eingang]).await;
    let own_objects = objects_of(&app, &own, &own_intake, KENNUNG).await;
    let foreign_objects = objects_of(&app, &fremd.id, &fremd_intake, &fremd.kennung).await;
    let platform = TenantId::platform();
    let platform_unit = store::NewUnit { id: UnitId::new(), name: "Betrieb".into(), kennung: "plattform-1".into() };
    let platform_objects = Objects {
        vorgang: domain::VorgangId::new().to_string(),
        document: domain::DocumentId::new().to_string(),
        delivery: uuid::Uuid::now_v7().to_string(),
        user: UserId::new().to_string(),
        unit: state.store.tenant(&platform).create_unit(platform_unit).await.expect("unit").id.to_string(),
        token: uuid::Uuid::now_v7().to_string(),
        tenant: fremd.id.to_string(),
        wiedervorlage: domain::WiedervorlageId::new().to_string(),
        // Jobs are the installation's: the operator acts on them from the platform tenant.
        job: own_objects.job.clone(),
    };

    let mut callers = vec![Caller {
        label: "anonym",
        principal: None,
        prefix: String::new(),
        credentials: Credentials::None,
        objects: own_objects.clone(),
    }];
    for (label, username) in
        [("Sachbearbeitung", "max"), ("Poststelle", "paula"), ("Löschberechtigt", "lena"), ("Admin", "admin")]
    {
        callers.push(person(&app, label, "", username, &own_objects).await);
    }
    callers.push(person(&app, "Betrieb", "/t/plattform", "betrieb", &platform_objects).await);
    for (label, scope) in [
        ("Token EINGANG", TokenScope::Eingang),
        ("Token LESEN", TokenScope::Lesen),
        ("Token BEARBEITEN", TokenScope::Bearbeiten),
    ] {
        callers.push(Caller {
            label,
            principal: Some(Principal::Token { scopes: vec![scope] }),
            prefix: String::new(),
            credentials: Credentials::Token(app.token(&own, &[scope]).await),
            objects: own_objects.clone(),
        });
    }

    let (_, table) = web::routes();
    let mut rules: Vec<_> = table.rules().to_vec();
    // Signing out ends the session the later requests ride on.
    rules.sort_by_key(|r| r.path == "/logout");
    assert!(rules.len() >= 40, "all routes enumerated: {}", rules.len());
    let foreign_before = state
        .store
        .tenant(&fremd.id)
        .get_vorgang(domain::VorgangId::parse(&foreign_objects.vorgang).expect("id"))
        .await
        .expect("get");
    let mut failures = Vec::new();
    let mut checked: HashMap<&str, usize> = HashMap::new();
    for caller in &callers {
        for rule in &rules {
            let path = if rule.path.contains("{id}") { caller.objects.id_for(&rule.path) } else { rule.path.clone() };
            let res = request(&app, caller, &rule.method, &path).await;
            if res.status().is_server_error() {
                failures.push(format!("{} {path} as {}: {} (a server error)", rule.method, caller.label, res.status()));
            }
            let allowed = expected(caller, rule.permission, &rule.path);
            if allowed == refused(&res) {
                failures.push(format!(
                    "{} {} {} as {}: {} (expected {})",
                    rule.method,
                    rule.path,
                    path,
                    caller.label,
                    res.status(),
                    if allowed { "allowed" } else { "refused" }
                ));
            }
            *checked.entry(caller.label).or_default() += 1;

            // The same route with the other tenant's objects, or at the other tenant's address:
            // never a success.
            if rule.permission == Permission::Public || rule.permission == Permission::Intake || rule.path == "/logout"
            {
                continue;
            }
            let foreign_path = if rule.path.contains("{id}") {
                if caller.label == "Betrieb" {
                    continue; // operators manage all tenants by id, by design
                }
                foreign_objects.id_for(&rule.path)
            } else {
                format!("{}{}", fremd.prefix, rule.path)
            };
            let res = request(&app, caller, &rule.method, &foreign_path).await;
            if res.status().is_server_error() {
                failures.push(format!(
                    "{} {foreign_path} as {}: {} (a server error)",
                    rule.method,
                    caller.label,
                    res.status()
                ));
            }
            let leaked = res.status().is_success()
                || (res.status() == StatusCode::SEE_OTHER && !refused(&res))
                || res.status() == StatusCode::CONFLICT;
            if leaked {
                failures.push(format!(
                    "{} {foreign_path} as {}: {} reached the other tenant",
                    rule.method,
                    caller.label,
                    res.status()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} violations:\n{}", failures.len(), failures.join("\n"));
    let foreign_after = state.store.tenant(&fremd.id).get_vorgang(foreign_before.head.id).await.expect("get");
    assert_eq!(foreign_after.head, foreign_before.head, "the other tenant's Vorgang is untouched");
    assert_eq!(checked.len(), callers.len());
    println!("authorization matrix: {} routes × {} callers, both tenants", rules.len(), callers.len());
}

/// A route registered without a rule would make the server refuse to build its router; the
/// table also contains every API route of the OpenAPI document.
#[test]
fn every_api_route_of_the_openapi_document_has_a_rule() {
    let (_, table) = web::routes();
    let doc: Value = serde_json::from_str(&web::openapi_json()).expect("openapi");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for method in item.as_object().expect("item").keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            assert!(table.permission(&m, path).is_some(), "{method} {path} has no rule");
        }
    }
}

on_both_backends!(every_route_for_every_role_in_both_tenants);
