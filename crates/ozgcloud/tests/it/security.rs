//! Login hardening over real HTTP: lockout, idle timeout, CSRF, IP allowlist, API tokens,
//! audit log, cookie and transport headers.

use crate::helpers::*;
use domain::tenant::IpNet;
use domain::{TenantId, TokenScope};
use reqwest::StatusCode;
use serde_json::{json, Value};
use store::{AuditQuery, TenantSettings};

async fn audit(app: &TestApp, action: &str) -> Vec<store::AuditRecord> {
    let q = AuditQuery { before: None, action: Some(action.into()), limit: 100 };
    app.server.state.store.tenant(&TenantId::default_tenant()).list_audit(&q).await.expect("audit")
}

async fn five_failed_logins_lock_the_account(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let b = app.anonymous_browser("");
    for attempt in 1..=4 {
        assert_eq!(
            b.login("max", "falsch-falsch-falsch").await.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let fifth = b.login("max", "falsch-falsch-falsch").await;
    assert_eq!(fifth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(fifth.text().await.expect("html").contains("gesperrt"));
    // Locked: the right password does not help either, in the UI and the API.
    assert_eq!(b.login("max", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let res = app.http.post(app.url("/api/v1/login")).json(&json!({"username": "max", "password": PASSWORD})).send();
    assert_eq!(res.await.expect("login").status(), StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not affected.
    app.browser("erika").await;
    assert_eq!(audit(&app, "anmeldung_fehlgeschlagen").await.len(), 5);
    assert_eq!(audit(&app, "konto_gesperrt").await.len(), 1);
    // An admin's password reset lifts the lock.
    let state = &app.server.state;
    let max =
        state.store.tenant(&TenantId::default_tenant()).find_user_by_username("max").await.expect("find").expect("max");
    let hash = web::hash_password(PASSWORD).expect("hash");
    state.store.tenant(&TenantId::default_tenant()).set_password(max.id, &hash).await.expect("reset");
    assert_eq!(b.login("max", PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

/// The login form must not tell which user names exist: six failed logins for an account and
/// for a name without one get the same status and the same page, attempt by attempt (lockout
/// included), and the API answers them alike.
async fn failed_logins_do_not_tell_which_names_exist(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let nobody = unique("niemand");
    let (known, unknown) = (app.anonymous_browser(""), app.anonymous_browser(""));
    // The page without what differs by design: the name typed (echoed into the form) and the
    // form's random CSRF token.
    let normalized = |html: String, name: &str| {
        let html = html.replace(&csrf_in(&html), "CSRF");
        html.replace(&format!("value=\"{name}\""), "value=\"NAME\"")
    };
    let message = |html: &str| {
        let start = html.find("id=\"login-fehler\">").expect("an error message") + "id=\"login-fehler\">".len();
        html[start..].split("</p>").next().expect("message end").to_owned()
    };
    for attempt in 1..=6 {
        let a = known.login("erika", "falsch-falsch-falsch").await;
        let b = unknown.login(&nobody, "falsch-falsch-falsch").await;
        assert_eq!(a.status(), b.status(), "attempt {attempt}: same status");
        let expected = if attempt < 5 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(a.status(), expected, "attempt {attempt}");
        let (a, b) = (a.text().await.expect("html"), b.text().await.expect("html"));
        assert_eq!(message(&a), message(&b), "attempt {attempt}: the same message");
        assert_eq!(normalized(a, "erika"), normalized(b, &nobody), "attempt {attempt}: the same page");
    }
    // Locked, both: the right password of the account does not help, and says nothing new.
    let a = known.login("erika", PASSWORD).await;
    let b = unknown.login(&nobody, PASSWORD).await;
    assert_eq!((a.status(), b.status()), (StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(message(&a.text().await.expect("html")), message(&b.text().await.expect("html")));
    // The API: the same problem for both (under the same request id, which the problem names).
    let api = |name: String| {
        app.http
            .post(app.url("/api/v1/login"))
            .header("x-request-id", "gleiche-anfrage")
            .json(&json!({"username": name, "password": "falsch-falsch"}))
            .send()
    };
    let (a, b) = (api("erika".into()).await.expect("login"), api(nobody.clone()).await.expect("login"));
    assert_eq!((a.status(), b.status()), (StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(a.bytes().await.expect("body"), b.bytes().await.expect("body"), "byte-identical problems");
    // Another name is not affected by these failures.
    let other = app.anonymous_browser("").login(&unique("niemand"), "falsch-falsch-falsch").await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

async fn idle_sessions_expire(backend: Backend) {
    let idle = std::time::Duration::from_secs(2);
    let Some(app) =
        TestApp::spawn_with(backend, |c| c.session_idle = time::Duration::try_from(idle).expect("idle")).await
    else {
        return;
    };
    // Each session is used right after its login: another login's argon2 check (seconds in a
    // debug build on a busy machine) must not run while a session idles towards its timeout.
    let api = app.api("max").await;
    assert_eq!(api.get("/api/v1/vorgaenge").await.status(), StatusCode::OK);
    let b = app.browser("max").await;
    assert_eq!(b.get("/vorgaenge").await.status(), StatusCode::OK);
    // Idle for longer than the timeout, counted from the last use.
    tokio::time::sleep(idle + std::time::Duration::from_millis(1100)).await;
    let res = b.get("/vorgaenge").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login");
    assert_eq!(api.get("/api/v1/vorgaenge").await.status(), StatusCode::UNAUTHORIZED);
    let swept = app
        .server
        .state
        .store
        .installation()
        .delete_expired_sessions(time::OffsetDateTime::now_utc())
        .await
        .expect("sweep");
    assert_eq!(swept, 0, "expired sessions were already removed when they were presented");
}

async fn state_changing_forms_need_the_csrf_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let admin = app.browser("admin").await;
    let page = admin.page("/admin/einheiten").await;
    let form = [("name", "Bauamt"), ("kennung", "bau-1")];
    let res = admin.post_form("/admin/einheiten", &form).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "without token");
    let res = admin.post_form("/admin/einheiten", &[("_csrf", "falsch"), form[0], form[1]]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "wrong token");
    let csrf = csrf_in(&page);
    let res = admin.post_form("/admin/einheiten", &[("_csrf", &csrf), form[0], form[1]]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "with the page's token");
    let units = app.server.state.store.tenant(&TenantId::default_tenant()).list_units().await.expect("units");
    assert!(units.iter().any(|u| u.kennung == "bau-1"));
    assert_eq!(audit(&app, "einheit_angelegt").await.len(), 1, "admin actions are audited");
}

async fn ip_allowlist_keeps_clerks_in_their_network_but_not_intake(backend: Backend) {
    let proxy = IpNet::parse("127.0.0.1").expect("net");
    let Some(app) = TestApp::spawn_with(backend, |c| c.trusted_proxies = vec![proxy]).await else { return };
    let b = app.browser("max").await; // before the list is set
    let state = &app.server.state;
    let tenant = state.store.tenant(&TenantId::default_tenant()).get_tenant().await.expect("tenant");
    let settings = TenantSettings { name: tenant.name, host: None, ip_allowlist: vec!["10.20.0.0/16".into()] };
    state.store.tenant(&tenant.id).update_tenant(settings).await.expect("allowlist");

    let from = |ip: &'static str| app.http.get(app.url("/login")).header("x-forwarded-for", ip).send();
    assert_eq!(from("192.0.2.7").await.expect("get").status(), StatusCode::FORBIDDEN);
    assert_eq!(from("10.20.3.4").await.expect("get").status(), StatusCode::OK);
    assert_eq!(app.http.get(app.url("/login")).send().await.expect("get").status(), StatusCode::FORBIDDEN);
    let res = b.get("/vorgaenge").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a session does not outrun the allowlist");
    assert!(res.text().await.expect("html").contains("freigegebenen Netzen"));
    let res = app.http.post(app.url("/api/v1/login")).json(&json!({"username": "max", "password": PASSWORD})).send();
    assert_eq!(res.await.expect("login").status(), StatusCode::FORBIDDEN);
    // Form services deliver from anywhere.
    app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    let token = app.token(&TenantId::default_tenant(), &[TokenScope::Lesen]).await;
    let res = app.http.get(app.url("/api/v1/vorgaenge")).bearer_auth(token).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK, "machines with tokens are not clerks");
    let inside = Browser { base: b.base.clone(), http: b.http.clone() };
    let res = inside.http.get(app.url("/vorgaenge")).header("x-forwarded-for", "10.20.9.9").send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK);
}

async fn api_tokens_act_within_their_scopes_until_revoked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let receipt = app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    let id = receipt["vorgang"]["vorgangId"].as_str().expect("id").to_owned();
    let reader = app.token(&TenantId::default_tenant(), &[TokenScope::Lesen]).await;
    let writer = app.token(&TenantId::default_tenant(), &[TokenScope::Bearbeiten]).await;
    let get = |token: &str, path: &str| app.http.get(app.url(path)).bearer_auth(token.to_owned()).send();
    assert_eq!(get(&reader, &format!("/api/v1/vorgaenge/{id}")).await.expect("get").status(), StatusCode::OK);
    assert_eq!(get(&reader, "/api/v1/events?after=0").await.expect("get").status(), StatusCode::OK);
    let command = |token: &str| {
        app.http
            .post(app.url(&format!("/api/v1/vorgaenge/{id}/status")))
            .bearer_auth(token.to_owned())
            .json(&json!({"command": "ANNEHMEN", "version": 1}))
            .send()
    };
    assert_eq!(command(&reader).await.expect("post").status(), StatusCode::FORBIDDEN);
    assert_eq!(command(&writer).await.expect("post").status(), StatusCode::OK);
    let history: Value =
        get(&reader, &format!("/api/v1/vorgaenge/{id}/historie")).await.expect("get").json().await.expect("json");
    assert!(history.to_string().contains("API-Token"), "the token is named as actor: {history}");
    // The admin page lists and revokes it.
    let state = &app.server.state;
    let tokens = state.store.tenant(&TenantId::default_tenant()).list_api_tokens().await.expect("tokens");
    let mut revoked = 0;
    for t in tokens.iter().filter(|t| t.scopes == vec![TokenScope::Lesen]) {
        let admin = app.browser("admin").await;
        let page = admin.page("/admin/tokens").await;
        assert!(page.contains(&t.name));
        let res = admin.post_form(&format!("/admin/tokens/{}/widerrufen", t.id), &[("_csrf", &csrf_in(&page))]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        revoked += 1;
    }
    assert_eq!(revoked, 1);
    assert_eq!(get(&reader, "/api/v1/vorgaenge").await.expect("get").status(), StatusCode::UNAUTHORIZED);
    assert_eq!(audit(&app, "token_widerrufen").await.len(), 1);
}

async fn reads_of_personal_data_are_in_the_audit_log(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let receipt = app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    let id = receipt["vorgang"]["vorgangId"].as_str().expect("id").to_owned();
    let max = app.api("max").await;
    let v = max.vorgang(&id).await;
    let doc = v["documents"][0]["id"].as_str().expect("doc").to_owned();
    assert_eq!(max.get(&format!("/api/v1/dokumente/{doc}")).await.status(), StatusCode::OK);
    app.browser("erika").await.page(&format!("/vorgaenge/{id}")).await;
    let reads = audit(&app, "vorgang_gelesen").await;
    assert_eq!(reads.len(), 2);
    assert!(reads.iter().all(|r| r.entry.target.as_deref() == Some(id.as_str())));
    let names: Vec<&str> = reads.iter().map(|r| r.entry.actor.name.as_str()).collect();
    assert_eq!(names, ["Erika Mustermann", "Max Schröder"], "newest first");
    assert_eq!(audit(&app, "dokument_gelesen").await.len(), 1);
    assert_eq!(audit(&app, "anmeldung").await.len(), 2);
    // The tenant admin sees and exports it.
    let admin = app.browser("admin").await;
    let page = admin.page("/admin/protokoll").await;
    assert!(page.contains("Max Schröder"));
    let csv = admin.get("/admin/protokoll.csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().expect("ct").starts_with("text/csv"));
    let text = csv.text().await.expect("csv");
    assert!(text.contains("vorgang_gelesen") || text.contains("Vorgang gelesen"), "{text}");
    assert!(text.contains(&id));
}

/// Without `--trusted-proxy`, an `X-Forwarded-For` header is the client's own claim: neither
/// the IP allowlist nor the audit log believes it.
async fn forwarded_for_from_an_untrusted_client_is_ignored(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let state = &app.server.state;
    let allow = |list: &'static str| async move {
        let tenant = state.store.tenant(&TenantId::default_tenant()).get_tenant().await.expect("tenant");
        let settings = TenantSettings { name: tenant.name, host: None, ip_allowlist: vec![list.into()] };
        state.store.tenant(&tenant.id).update_tenant(settings).await.expect("allowlist");
    };
    allow("10.20.0.0/16").await;
    let page = app.http.get(app.url("/login")).header("x-forwarded-for", "10.20.3.4").send().await.expect("get");
    assert_eq!(page.status(), StatusCode::FORBIDDEN, "a forged address does not open the allowlist");
    let login = |forwarded: &'static str, password: &'static str| {
        app.http
            .post(app.url("/api/v1/login"))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"username": "max", "password": password}))
            .send()
    };
    assert_eq!(login("10.20.3.4", PASSWORD).await.expect("login").status(), StatusCode::FORBIDDEN);

    allow("127.0.0.1").await;
    assert_eq!(login("192.0.2.7", PASSWORD).await.expect("login").status(), StatusCode::OK);
    assert_eq!(login("192.0.2.8", "falsch-falsch").await.expect("login").status(), StatusCode::UNAUTHORIZED);
    for action in ["anmeldung", "anmeldung_fehlgeschlagen"] {
        let entries = audit(&app, action).await;
        assert_eq!(entries.len(), 1, "{action}");
        assert_eq!(entries[0].entry.ip.as_deref(), Some("127.0.0.1"), "{action}: the peer, not the claim");
    }
}

/// A lockout ends by itself after 15 minutes (the login clock moved on, not waited for), for
/// an account and for a name without one.
async fn a_lockout_ends_after_15_minutes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let b = app.anonymous_browser("");
    let nobody = unique("niemand");
    for name in ["max", nobody.as_str()] {
        for _ in 1..=4 {
            assert_eq!(b.login(name, "falsch-falsch-falsch").await.status(), StatusCode::UNAUTHORIZED);
        }
        assert_eq!(b.login(name, "falsch-falsch-falsch").await.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let _later = web::session::advance_login_clock(&app.server.state, time::Duration::minutes(14));
    assert_eq!(b.login("max", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS, "14 minutes: still locked");
    assert_eq!(b.login(&nobody, "falsch-falsch-falsch").await.status(), StatusCode::TOO_MANY_REQUESTS);
    let _after = web::session::advance_login_clock(&app.server.state, time::Duration::minutes(2));
    assert_eq!(b.login("max", PASSWORD).await.status(), StatusCode::SEE_OTHER, "16 minutes: open again");
    let fresh = app.anonymous_browser("");
    assert_eq!(fresh.login(&nobody, "falsch-falsch-falsch").await.status(), StatusCode::UNAUTHORIZED, "unlocked too");
}

/// Host routing behind HTTPS: the session cookie carries the `__Host-` prefix (Secure,
/// `Path=/`, no Domain), and a cookie of that value without the prefix is not a session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_routing_uses_the_host_cookie_prefix() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.public_url = "https://ozg.example".into();
        c.routing = web::tenancy::TenantRouting::Host;
    })
    .await
    .expect("sqlite");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let form = http.get(app.url("/login")).send().await.expect("get");
    let csrf_cookie =
        form.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_owned();
    assert!(csrf_cookie.starts_with("__Host-ozg_login_csrf="), "{csrf_cookie}");
    let csrf = csrf_in(&form.text().await.expect("html"));
    let res = http
        .post(app.url("/login"))
        .header("cookie", &csrf_cookie)
        .form(&[("_csrf", csrf.as_str()), ("username", "max"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("ozg_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(session.starts_with("__Host-ozg_session="), "{session}");
    assert!(session.contains("; Secure") && session.contains("Path=/;") && !session.contains("Domain"), "{session}");
    let value = session.split(';').next().expect("pair").trim_start_matches("__Host-ozg_session=").to_owned();
    let with = |cookie: String| http.get(app.url("/vorgaenge")).header("cookie", cookie).send();
    assert_eq!(with(format!("__Host-ozg_session={value}")).await.expect("get").status(), StatusCode::OK);
    let plain = with(format!("ozg_session={value}")).await.expect("get");
    assert_eq!(plain.status(), StatusCode::SEE_OTHER, "the unprefixed name is not the session cookie");
}

/// A method a path does not have is 405 with `Allow`, as problem+json, and runs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_are_405_with_allow() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let api = app.api("max").await;
    let res = app
        .http
        .request(reqwest::Method::PATCH, app.url("/api/v1/vorgaenge"))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let res = app.http.request(reqwest::Method::DELETE, app.url("/api/v1/login")).send().await.expect("delete");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "also before authentication");
    assert_eq!(res.headers()["allow"], "POST");
}

/// HTTPS deployments: Secure cookies and HSTS; never over plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_and_transport_headers() {
    let app =
        TestApp::spawn_with(Backend::Sqlite, |c| c.public_url = "https://ozg.example".into()).await.expect("sqlite");
    let login = app.http.get(app.url("/login")).send().await.expect("get");
    assert_eq!(login.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    let cookie = login.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    let csp = login.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    let plain = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let res = plain.http.get(plain.url("/login")).send().await.expect("get");
    assert!(res.headers().get("strict-transport-security").is_none());
}

/// Passwords an admin hands out (typed, generated or reset) are one-time passwords: they
/// open only the page to change them.
async fn passwords_set_by_an_admin_must_be_changed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let admin = app.browser("admin").await;
    let csrf = csrf_in(&admin.page("/admin/benutzer").await);
    let res = admin
        .post_form(
            "/admin/benutzer",
            &[
                ("_csrf", &csrf),
                ("username", "greta"),
                ("display_name", "Greta Grün"),
                ("email", "greta@example.org"),
                ("roles", "SACHBEARBEITUNG"),
                ("password", "Erstes-Passwort-2026"),
            ],
        )
        .await;
    assert!(res.status().is_success() || res.status().is_redirection(), "user created: {}", res.status());
    let greta = app.browser_at("", "greta", "Erstes-Passwort-2026").await;
    let res = greta.get("/vorgaenge").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/passwort", "a typed initial password is one-time too");
    let page = greta.page("/passwort").await;
    let res = greta
        .post_form(
            "/passwort",
            &[
                ("_csrf", &csrf_in(&page)),
                ("aktuell", "Erstes-Passwort-2026"),
                ("neu", "Eigenes-Kennwort-2026"),
                ("wiederholung", "Eigenes-Kennwort-2026"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let greta = app.browser_at("", "greta", "Eigenes-Kennwort-2026").await;
    assert_eq!(greta.get("/vorgaenge").await.status(), StatusCode::OK, "her own password opens everything");
    let state = &app.server.state;
    let tenant = TenantId::default_tenant();
    let audit = state
        .store
        .tenant(&tenant)
        .list_audit(&AuditQuery { before: None, action: Some("passwort_geaendert".into()), limit: 5 })
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1, "the change is in the audit log");

    // A reset by the admin: one-time again.
    let id = state.store.tenant(&tenant).find_user_by_username("greta").await.expect("find").expect("greta").id;
    let page = admin.page(&format!("/admin/benutzer/{id}")).await;
    let res = admin.post_form(&format!("/admin/benutzer/{id}/passwort"), &[("_csrf", &csrf_in(&page))]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.expect("html");
    let one_time = html.split("<code class=\"secret-value\">").nth(1).and_then(|s| s.split('<').next()).expect("pw");
    let greta = app.browser_at("", "greta", one_time).await;
    assert_eq!(greta.get("/vorgaenge").await.headers()["location"], "/passwort");
    // Guessing the current password counts like failed logins: five, and it is locked.
    let page = greta.page("/passwort").await;
    let csrf = csrf_in(&page);
    let guess = [
        ("_csrf", csrf.as_str()),
        ("aktuell", "geraten-geraten"),
        ("neu", "Noch-ein-Kennwort-1"),
        ("wiederholung", "Noch-ein-Kennwort-1"),
    ];
    for _ in 0..5 {
        assert_eq!(greta.post_form("/passwort", &guess).await.status(), StatusCode::BAD_REQUEST);
    }
    let right = [
        ("_csrf", csrf.as_str()),
        ("aktuell", one_time),
        ("neu", "Noch-ein-Kennwort-1"),
        ("wiederholung", "Noch-ein-Kennwort-1"),
    ];
    assert_eq!(greta.post_form("/passwort", &right).await.status(), StatusCode::TOO_MANY_REQUESTS, "locked");
    // Logging out stays possible.
    let page = greta.page("/passwort").await;
    let res = greta.post_form("/logout", &[("_csrf", &csrf_in(&page))]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

on_both_backends!(
    five_failed_logins_lock_the_account,
    failed_logins_do_not_tell_which_names_exist,
    idle_sessions_expire,
    state_changing_forms_need_the_csrf_token,
    ip_allowlist_keeps_clerks_in_their_network_but_not_intake,
    api_tokens_act_within_their_scopes_until_revoked,
    reads_of_personal_data_are_in_the_audit_log,
    passwords_set_by_an_admin_must_be_changed,
    forwarded_for_from_an_untrusted_client_is_ignored,
    a_lockout_ends_after_15_minutes,
);

/// Log lines of the whole test process, while a test asks for them.
mod log_capture {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    static ON: AtomicBool = AtomicBool::new(false);
    static TEXT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    struct Writer;

    impl std::io::Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if ON.load(Ordering::Relaxed) {
                TEXT.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Installs the process's log subscriber (as the binary does, plain text) writing here.
    pub fn start() -> bool {
        ON.store(true, Ordering::Relaxed);
        tracing_subscriber::fmt().with_ansi(false).with_writer(|| Writer).try_init().is_ok()
    }

    pub fn stop() -> String {
        ON.store(false, Ordering::Relaxed);
        let text = std::mem::take(&mut *TEXT.lock().unwrap_or_else(|e| e.into_inner()));
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// Every answer carries the request's id, a problem names it as its `instance`, and the log
/// lines written while the request is handled carry it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_problem_and_log_line_carries_the_request_id() {
    assert!(log_capture::start(), "no other test installs a log subscriber");
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite");
    let api = app.api("max").await;
    let plain = |id: &str| (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');

    // A 404 problem: its instance is the id in the header.
    let missing = format!("/api/v1/vorgaenge/{}", uuid::Uuid::new_v4());
    let res = api.get(&missing).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let id = res.headers()["x-request-id"].to_str().expect("an id").to_owned();
    assert!(plain(&id), "{id}");
    let problem: Value = res.json().await.expect("problem");
    assert_eq!(problem["instance"], format!("urn:request:{id}"), "{problem}");
    let other = api.get(&missing).await.headers()["x-request-id"].to_str().expect("id").to_owned();
    assert_ne!(other, id, "each request has its own id");

    // A caller's plain id is kept; anything else is replaced by a new one.
    let get_with =
        |value: String| app.http.get(app.url(&missing)).bearer_auth(&api.token).header("x-request-id", value);
    let own = unique("Proxy-Id");
    let res = get_with(own.clone()).send().await.expect("get");
    assert_eq!(res.headers()["x-request-id"], own.as_str());
    assert_eq!(res.json::<Value>().await.expect("problem")["instance"], format!("urn:request:{own}"));
    for odd in ["mit leerzeichen".to_owned(), "a_b".to_owned(), "<x>".to_owned(), "x".repeat(65)] {
        let res = get_with(odd.clone()).send().await.expect("get");
        let id = res.headers()["x-request-id"].to_str().expect("id").to_owned();
        assert!(id != odd && plain(&id), "{odd:?} replaced by {id:?}");
        assert_eq!(res.json::<Value>().await.expect("problem")["instance"], format!("urn:request:{id}"));
    }
    // Pages and successful answers carry it as well.
    assert!(app.http.get(app.url("/login")).send().await.expect("get").headers().contains_key("x-request-id"));
    assert!(api.get("/api/v1/vorgaenge").await.headers().contains_key("x-request-id"));

    // The log lines of a request: the handler's and the access log's.
    let own = unique("log");
    let res = app
        .http
        .post(app.url("/api/v1/login"))
        .header("x-request-id", &own)
        .json(&json!({"username": "max", "password": "falsch-falsch"}))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // A per-token intake address: the secret in the path is never logged, also when the
    // address is mistyped.
    let token = app.token(&TenantId::default_tenant(), &[TokenScope::Eingang]).await;
    let own_intake = unique("log");
    let form = reqwest::multipart::Form::new().text("formData", gewerbeanmeldung(&unique("tx")).to_string());
    let res = app
        .http
        .post(app.url(&format!("/antrag/{token}")))
        .header("x-request-id", &own_intake)
        .multipart(form)
        .send()
        .await
        .expect("deliver");
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.http.post(app.url(&format!("/t/default/antrag/{token}/x"))).send().await.expect("post");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let logs = log_capture::stop();
    let secret = token.trim_start_matches(web::auth::API_TOKEN_PREFIX);
    assert!(!logs.contains(secret), "the token is not in the log");
    let intake: Vec<&str> = logs.lines().filter(|l| l.contains(&format!("id={own_intake}"))).collect();
    assert!(intake.iter().any(|l| l.contains("path=/antrag ") || l.contains("path=\"/antrag\"")), "{intake:#?}");
    let lines: Vec<&str> = logs.lines().filter(|l| l.contains(&format!("id={own}"))).collect();
    assert!(lines.iter().any(|l| l.contains("login failed")), "the handler's line: {lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("path=\"/api/v1/login\"") || l.contains("path=/api/v1/login")),
        "{lines:#?}"
    );
}
