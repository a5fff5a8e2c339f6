use crate::helpers::*;
use reqwest::StatusCode;

async fn clerk_works_a_vorgang_in_the_browser_without_javascript(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let receipt = app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    let id = receipt["vorgang"]["vorgangId"].as_str().expect("id");

    assert_eq!(
        app.http.get(app.url("/vorgaenge")).send().await.expect("get").url().path(),
        "/login",
        "anonymous → login"
    );

    let b = app.browser("max").await;
    let list = b.page("/vorgaenge").await;
    let csrf = csrf_in(&list);
    let res = b.post_form("/vorgaenge/naechster", &[("_csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().expect("loc").to_owned();
    assert!(location.starts_with(&format!("/vorgaenge/{id}")), "{location}");
    let detail = b.page(&location).await;
    assert!(detail.contains("Der nächste Vorgang wurde Ihnen zugewiesen."));
    assert!(detail.contains("Annehmen") && detail.contains("Verwerfen") && !detail.contains(">Bescheiden<"));

    let version = app.api("max").await.vorgang(id).await["version"].as_i64().expect("v").to_string();
    let res = b
        .post_form(
            &format!("/vorgaenge/{id}/status"),
            &[("_csrf", &csrf), ("command", "ANNEHMEN"), ("version", &version)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = b
        .post_form(
            &format!("/vorgaenge/{id}/status"),
            &[("_csrf", &csrf), ("command", "ANNEHMEN"), ("version", &version)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "the stale form is refused");
    assert!(res.text().await.expect("html").contains("inzwischen geändert"));

    let version = app.api("max").await.vorgang(id).await["version"].as_i64().expect("v").to_string();
    let res = b
        .post_form(
            &format!("/vorgaenge/{id}/aktenzeichen"),
            &[("_csrf", &csrf), ("aktenzeichen", "32.1-4711"), ("version", &version)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let detail = b.page(&format!("/vorgaenge/{id}")).await;
    assert!(detail.contains("32.1-4711") && detail.contains("Aktenzeichen gesetzt"));
    assert!(detail.contains("Annehmen: Neu → Angenommen"));

    // CSRF: without the token (or with a wrong one) nothing changes.
    let res = b.post_form("/vorgaenge/naechster", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = b.post_form("/vorgaenge/naechster", &[("_csrf", "falsch")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = b.post_form("/logout", &[("_csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.get("/vorgaenge").await.status(), StatusCode::SEE_OTHER, "logged out");
}

async fn login_refuses_wrong_passwords_and_forged_forms(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = client.get(app.url("/login")).send().await.expect("get").text().await.expect("html");
    let csrf = csrf_in(&page);
    let res = client
        .post(app.url("/login"))
        .form(&[("_csrf", csrf.as_str()), ("username", "max"), ("password", "falsch-falsch-falsch")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.expect("html").contains("Benutzername oder Passwort ist falsch."));
    let fresh = reqwest::Client::new();
    let res = fresh
        .post(app.url("/login"))
        .form(&[("_csrf", "x"), ("username", "max"), ("password", PASSWORD)])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no login CSRF cookie");
    // A login form of another tenant: its cookie and token do not sign in here.
    let fresh = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let other = fresh.get(app.url("/t/plattform/login")).send().await.expect("get");
    let cookie = other.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_owned();
    let token = csrf_in(&other.text().await.expect("html"));
    let res = fresh
        .post(app.url("/login"))
        .header("cookie", &cookie)
        .form(&[("_csrf", token.as_str()), ("username", "max"), ("password", PASSWORD)])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a login token is bound to its tenant");
    let res = fresh
        .post(app.url("/t/plattform/login"))
        .header("cookie", &cookie)
        .form(&[("_csrf", token.as_str()), ("username", "betrieb"), ("password", PASSWORD)])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "and works where it was issued");
    let res = app.http.get(app.url("/api/v1/vorgaenge")).bearer_auth("kein-token").send().await.expect("get");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "an invalid bearer token is an error, not anonymous");
}

async fn pages_carry_security_headers_and_documents_download_safely(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let b = app.browser("max").await;
    let res = b.get("/vorgaenge").await;
    let h = res.headers();
    assert!(h["content-security-policy"].to_str().expect("csp").contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");

    let res = app
        .deliver(
            &gewerbeanmeldung(&unique("tx")),
            vec![("bösartig<script>.html", "text/html", b"<script>alert(1)</script>".to_vec())],
        )
        .await;
    let id =
        res.json::<serde_json::Value>().await.expect("json")["vorgang"]["vorgangId"].as_str().expect("id").to_owned();
    let v = app.api("max").await.vorgang(&id).await;
    let doc = v["documents"].as_array().expect("docs").iter().find(|d| d["kind"] == "ATTACHMENT").expect("doc").clone();
    let doc_id = doc["id"].as_str().expect("id");
    let res = b.get(&format!("/dokumente/{doc_id}")).await;
    assert!(res.headers()["content-disposition"].to_str().expect("cd").starts_with("attachment;"));
    let res = b.get(&format!("/dokumente/{doc_id}/vorschau")).await;
    assert!(
        res.headers()["content-disposition"].to_str().expect("cd").starts_with("attachment;"),
        "HTML is never previewed inline"
    );
}

async fn openapi_document_is_served_and_lists_the_api(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let doc: serde_json::Value =
        app.http.get(app.url("/api/v1/openapi.json")).send().await.expect("get").json().await.expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/antrag",
        "/api/v1/antraege",
        "/api/v1/vorgaenge",
        "/api/v1/vorgaenge/{id}",
        "/api/v1/vorgaenge/{id}/status",
        "/api/v1/vorgaenge/naechster",
        "/api/v1/quarantaene",
        "/api/v1/events",
    ] {
        assert!(paths.contains_key(p), "OpenAPI documents {p}");
    }
    let health: serde_json::Value =
        app.http.get(app.url("/healthz")).send().await.expect("get").json().await.expect("json");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(health["store"], expected);
}

/// A NUL in delivered data never reaches a page raw (browsers drop or replace it, so the
/// clerk would see something else than was delivered): it is shown as U+FFFD, in the form
/// data and wherever else a template shows a delivered value.
/// Intake keeps U+FFFD where a NUL was (`domain::antrag`), on both engines; PostgreSQL could
/// not store a NUL in a text column at all.
async fn nul_in_delivered_values_is_shown_visibly(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mut form = gewerbeanmeldung(&unique("tx"));
    form["formData"][0]["formItems"][0]["formItems"][1]["stringValue"] = "Mus\u{0}ter".into();
    form["formData"][1]["formItems"][0]["stringValue"] = "Keramik\u{0}<b>fett</b>".into();
    let receipt = app.deliver_ok(&form).await;
    let id = receipt["vorgang"]["vorgangId"].as_str().expect("id").to_owned();
    let b = app.browser("max").await;
    for path in [format!("/vorgaenge/{id}"), "/vorgaenge".to_owned()] {
        let res = b.get(&path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let bytes = res.bytes().await.expect("body");
        assert!(!bytes.contains(&0), "{path}: no raw NUL byte in the page");
        let page = String::from_utf8(bytes.to_vec()).expect("UTF-8");
        assert!(page.contains("Mus\u{FFFD}ter"), "{path}: the applicant's name shows where the NUL was");
    }
    let detail = b.page(&format!("/vorgaenge/{id}")).await;
    assert!(detail.contains("<dd>Keramik\u{FFFD}&lt;b&gt;fett&lt;/b&gt;</dd>"), "form data: visible and escaped");
}

on_both_backends!(
    clerk_works_a_vorgang_in_the_browser_without_javascript,
    login_refuses_wrong_passwords_and_forged_forms,
    pages_carry_security_headers_and_documents_download_safely,
    openapi_document_is_served_and_lists_the_api,
    nul_in_delivered_values_is_shown_visibly,
);
