//! Issue 6: clerks' documents ("Daten anhängen", attachments of notes) and the final
//! deletion of a Vorgang by a second person.

use crate::helpers::*;
use domain::{Role, TenantId};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

fn vorgang_id(receipt: &Value) -> String {
    receipt["vorgang"]["vorgangId"].as_str().expect("vorgang id").to_owned()
}

fn file(name: &str, mime: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec()).file_name(name.to_owned()).mime_str(mime).expect("mime")
}

async fn post_multipart(b: &Browser, path: &str, form: Form) -> reqwest::Response {
    b.http.post(format!("{}{path}", b.base)).multipart(form).send().await.expect("post multipart")
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries.filter_map(Result::ok).map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 }).sum()
        })
        .unwrap_or(0)
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned()
}

async fn clerks_attach_documents_and_preview_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let id = vorgang_id(&app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await);
    let max = app.browser("max").await;
    let page = max.page(&format!("/vorgaenge/{id}")).await;
    let csrf = csrf_in(&page);
    assert!(page.contains("Noch keine Dokumente der Verwaltung"), "the clerk's section is there, empty");

    let form = Form::new()
        .text("_csrf", csrf.clone())
        .part("datei", file("Vermerk Ortstermin.pdf", "application/pdf", PDF))
        .part("datei", file("Foto.png", "image/png", PNG))
        // Claims to be a PDF, but is not one: stored, never previewed.
        .part("datei", file("liste.pdf", "application/pdf", b"a;b;c\n"));
    let res = post_multipart(&max, &format!("/vorgaenge/{id}/dokumente"), form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).ends_with("meldung=dokumente#bearbeitungsdokumente"), "{}", location(&res));

    let page = max.page(&format!("/vorgaenge/{id}")).await;
    let own = page.split("id=\"h-bearbeitungsdokumente\"").nth(1).expect("own documents section");
    let own = own.split("</section>").next().expect("section end");
    for name in ["Vermerk Ortstermin.pdf", "Foto.png", "liste.pdf"] {
        assert!(own.contains(name), "{name} listed among the clerk's documents");
    }
    assert_eq!(own.matches("/vorschau").count(), 2, "PDF and image are previewable, the fake PDF is not");
    assert!(own.contains("Max Schröder"), "who attached it");
    let applicant = page.split("id=\"h-dokumente\"").nth(1).expect("applicant section");
    let applicant = applicant.split("</section>").next().expect("section end");
    assert!(!applicant.contains("Vermerk"), "kept apart from the applicant's documents");
    assert!(page.contains("Dokument angehängt: Vermerk Ortstermin.pdf"), "in the history");

    // Download and preview of the clerk's PDF.
    let doc_id = own.split("/dokumente/").nth(1).and_then(|s| s.split('"').next()).expect("a document link").to_owned();
    let res = max.get(&format!("/dokumente/{doc_id}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(location(&res).is_empty());
    let disposition = res.headers()["content-disposition"].to_str().expect("header").to_owned();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), PDF, "the bytes as uploaded");
    let res = max.get(&format!("/dokumente/{doc_id}/vorschau")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.headers()["content-disposition"].to_str().expect("header").starts_with("inline;"));
    assert!(res.headers()["content-security-policy"].to_str().expect("csp").contains("sandbox"));

    // Over the API: listed with the Vorgang's documents? No -- the applicant's stay apart.
    let api = app.api("erika").await;
    let v = api.vorgang(&id).await;
    assert_eq!(v["documents"].as_array().map(Vec::len), Some(1), "the API's documents are the applicant's");
    let history = api.get_json(&format!("/api/v1/vorgaenge/{id}/historie")).await;
    let attached = history.as_array().expect("events").iter().filter(|e| e["event"]["type"] == "DOKUMENT_ANGEHAENGT");
    assert_eq!(attached.count(), 3, "one event per file");
    assert!(!history.to_string().contains("Vermerk"), "the outbox carries no file names");

    // Refusals: no CSRF token, no file, a file over the limit, another tenant's clerk.
    let form = Form::new().part("datei", file("x.pdf", "application/pdf", PDF));
    let res = post_multipart(&max, &format!("/vorgaenge/{id}/dokumente"), form).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "multipart forms need the CSRF token too");
    let form = Form::new().text("_csrf", csrf.clone()).part("datei", file("", "application/octet-stream", b""));
    let res = post_multipart(&max, &format!("/vorgaenge/{id}/dokumente"), form).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.expect("html").contains("mindestens eine Datei"), "a German message");
    let big = vec![b'x'; web::upload::MAX_FILE + 1];
    let form =
        Form::new().text("_csrf", csrf.clone()).part("datei", file("gross.bin", "application/octet-stream", &big));
    let res = post_multipart(&max, &format!("/vorgaenge/{id}/dokumente"), form).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.expect("html").contains("größer als die erlaubten 20 MB"));
    let kiel = app.other_tenant("kiel", "kiel-ordnung").await;
    let anna = app.browser_at(&kiel.prefix, "anna", PASSWORD).await;
    let anna_page = anna.page("/vorgaenge").await;
    let form = Form::new().text("_csrf", csrf_in(&anna_page)).part("datei", file("x.pdf", "application/pdf", PDF));
    let res = post_multipart(&anna, &format!("/vorgaenge/{id}/dokumente"), form).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another tenant's Vorgang does not exist for her");
    assert_eq!(anna.get(&format!("/dokumente/{doc_id}")).await.status(), StatusCode::NOT_FOUND);
    let page = max.page(&format!("/vorgaenge/{id}")).await;
    assert_eq!(page.matches("Dokument angehängt").count(), 3, "nothing refused was stored");

    // Removing a wrongly attached file: gone from the list and the document store, in the
    // history; the applicant's documents cannot be removed.
    let state = &app.server.state;
    let vid = domain::VorgangId::parse(&id).expect("id");
    let docs =
        state.store.tenant(&state.config.default_tenant.clone().expect("tenant")).list_clerk_documents(vid).await;
    let wrong = docs.expect("docs").into_iter().find(|d| d.document.filename == "liste.pdf").expect("liste.pdf");
    let res = max.post_form(&format!("/dokumente/{}/entfernen", wrong.document.id), &[("_csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).ends_with("meldung=dokument-entfernt#bearbeitungsdokumente"), "{}", location(&res));
    let page = max.page(&format!("/vorgaenge/{id}")).await;
    assert!(!page.contains("liste.pdf") && page.contains("Dokument entfernt"), "removed, and in the history");
    assert!(state.app.jobs.wait_idle(std::time::Duration::from_secs(20)).await.expect("jobs"), "the jobs ran");
    assert!(state.blobs.get(&wrong.document.blob_key).await.is_err(), "its bytes are deleted");
    let applicant_doc = v["documents"][0]["id"].as_str().expect("applicant document").to_owned();
    let res = max.post_form(&format!("/dokumente/{applicant_doc}/entfernen"), &[("_csrf", csrf.as_str())]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "the applicant's documents stay");
    // A note of another Vorgang is refused over the API, and its bytes are not kept.
    let other = vorgang_id(&app.deliver_ok(&gewerbeanmeldung(&unique("other"))).await);
    let k: Value = api
        .post(&format!("/api/v1/vorgaenge/{other}/kommentare"), serde_json::json!({"text": "anderer"}))
        .await
        .json()
        .await
        .expect("kommentar");
    let blobs_before = count_files(app.dir.path());
    let res = api
        .post(
            &format!("/api/v1/vorgaenge/{id}/dokumente"),
            serde_json::json!({"filename": "x.pdf", "content": "JVBERi0=", "kommentarId": k["id"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(count_files(app.dir.path()), blobs_before, "no orphaned file");
    let res = api.send(reqwest::Method::DELETE, &format!("/api/v1/dokumente/{doc_id}"), Value::Null).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "only who attached it removes it");
    assert!(res.text().await.expect("problem").contains("nur, wer es angehängt hat"));
    let max_api = app.api("max").await;
    let res = max_api.send(reqwest::Method::DELETE, &format!("/api/v1/dokumente/{doc_id}"), Value::Null).await;
    assert_eq!(res.status(), StatusCode::OK, "over the API");
    let audit = state
        .store
        .tenant(&state.config.default_tenant.clone().expect("tenant"))
        .list_audit(&store::AuditQuery { before: None, action: Some("dokument_entfernt".into()), limit: 10 })
        .await
        .expect("audit");
    assert_eq!(audit.len(), 2, "both removals are audited");
    assert!(audit.iter().all(|a| !a.entry.detail.clone().unwrap_or_default().contains(".pdf")), "no file names");
    assert_eq!(api.get_json(&format!("/api/v1/vorgaenge/{id}/dokumente")).await.as_array().map(Vec::len), Some(1));
}

async fn kommentare_and_wiedervorlagen_carry_attachments(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let id = vorgang_id(&app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await);
    let max = app.browser("max").await;
    let csrf = csrf_in(&max.page(&format!("/vorgaenge/{id}")).await);
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("text", "Telefonnotiz angehängt")
        .part("anhang", file("Telefonnotiz.pdf", "application/pdf", PDF));
    let res = post_multipart(&max, &format!("/vorgaenge/{id}/kommentare"), form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("betreff", "Ausweis prüfen")
        .text("beschreibung", "")
        .text("frist", "2099-01-31")
        .part("anhang", file("Ausweis.png", "image/png", PNG))
        .part("anhang", file("", "application/octet-stream", b""));
    let res = post_multipart(&max, &format!("/vorgaenge/{id}/wiedervorlagen"), form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Without a file, multipart or urlencoded, a note is just a note.
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("text", "Ohne Anhang")
        .part("anhang", file("", "application/octet-stream", b""));
    assert_eq!(
        post_multipart(&max, &format!("/vorgaenge/{id}/kommentare"), form).await.status(),
        StatusCode::SEE_OTHER
    );

    let page = max.page(&format!("/vorgaenge/{id}")).await;
    let kommentare =
        page.split("id=\"h-kommentare\"").nth(1).expect("section").split("</section>").next().expect("end");
    assert!(kommentare.contains("Telefonnotiz angehängt") && kommentare.contains("Anhang: <a"), "{kommentare}");
    assert!(kommentare.contains("Telefonnotiz.pdf"));
    let wv = page.split("id=\"h-wiedervorlagen\"").nth(1).expect("section").split("</section>").next().expect("end");
    assert!(wv.contains("Ausweis.png"), "the Wiedervorlage's attachment: {wv}");
    assert_eq!(wv.matches("Anhang: <a").count(), 1, "the empty file input added nothing");
    let own = page.split("id=\"h-bearbeitungsdokumente\"").nth(1).expect("section");
    assert!(
        own.split("</section>").next().expect("end").contains("Noch keine Dokumente der Verwaltung"),
        "notes' files stay with the notes"
    );
    assert!(page.contains("Dokument angehängt (zu einem Kommentar): Telefonnotiz.pdf"));
    assert!(page.contains("Dokument angehängt (zu einer Wiedervorlage): Ausweis.png"));

    // A failing note stores no file.
    let form = Form::new()
        .text("_csrf", csrf)
        .text("text", "   ")
        .part("anhang", file("verwaist.pdf", "application/pdf", PDF));
    assert_eq!(
        post_multipart(&max, &format!("/vorgaenge/{id}/kommentare"), form).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(!max.page(&format!("/vorgaenge/{id}")).await.contains("verwaist.pdf"));
}

async fn final_deletion_needs_a_second_person(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let state = &app.server.state;
    let tenant = TenantId::default_tenant();
    let unit = state.store.tenant(&tenant).list_units().await.expect("units")[0].id;
    ozgcloud::add_user(state, &tenant, "lena", "Lena Löscher", vec![Role::Loeschberechtigt], vec![unit], PASSWORD)
        .await
        .expect("user");
    ozgcloud::add_user(
        state,
        &tenant,
        "olga",
        "Olga Beides",
        vec![Role::Sachbearbeitung, Role::Loeschberechtigt],
        vec![unit],
        PASSWORD,
    )
    .await
    .expect("user");
    let id = vorgang_id(&app.deliver_ok(&gewerbeanmeldung(&unique("del"))).await);
    let kept = vorgang_id(&app.deliver_ok(&gewerbeanmeldung(&unique("kept"))).await);
    let vid = domain::VorgangId::parse(&id).expect("id");

    // Olga works it: a Kommentar with a file, her own document, Verwerfen, Löschanforderung.
    let olga = app.browser("olga").await;
    let csrf = csrf_in(&olga.page(&format!("/vorgaenge/{id}")).await);
    let form = Form::new()
        .text("_csrf", csrf.clone())
        .text("text", "Klara Muster rief an")
        .part("anhang", file("Notiz.pdf", "application/pdf", PDF));
    assert_eq!(
        post_multipart(&olga, &format!("/vorgaenge/{id}/kommentare"), form).await.status(),
        StatusCode::SEE_OTHER
    );
    let olga_api = app.api("olga").await;
    assert_eq!(olga_api.command(&id, "VERWERFEN", 1, Some("Doppelt eingereicht")).await.status(), StatusCode::OK);
    // A machine cannot ask for deletion: the four-eyes rule needs a person who asked.
    let machine = Api {
        base: app.server.url(),
        token: app.token(&tenant, &[domain::TokenScope::Bearbeiten]).await,
        http: app.http.clone(),
    };
    let res = machine.command(&id, "LOESCHEN_ANFORDERN", 2, Some("per Token")).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no deletion request by token");
    let res = olga_api.command(&id, "LOESCHEN_ANFORDERN", 2, Some("Dublette von Klara Muster")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let version = 3;

    let record = state.store.tenant(&tenant).get_vorgang(vid).await.expect("vorgang");
    let mut blob_keys: Vec<String> = record.documents.iter().map(|d| d.blob_key.clone()).collect();
    blob_keys.extend(
        state
            .store
            .tenant(&tenant)
            .list_clerk_documents(vid)
            .await
            .expect("docs")
            .into_iter()
            .map(|d| d.document.blob_key),
    );
    assert_eq!(blob_keys.len(), 2, "the applicant's representation and the clerk's note file");
    for key in &blob_keys {
        assert!(state.blobs.get(key).await.is_ok(), "{key} stored");
    }

    // Not by the person who asked, not by a clerk without the right, not without confirmation.
    let page = olga.page(&format!("/vorgaenge/{id}")).await;
    assert!(page.contains("Ausführen muss sie eine zweite Person mit Löschrecht"), "the four-eyes rule is shown");
    let res = olga
        .post_form(&format!("/vorgaenge/{id}/loeschen"), &[("_csrf", &csrf), ("version", "3"), ("bestaetigt", "ja")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.expect("html").contains("zweite Person"), "why it was refused");
    let max = app.browser("max").await;
    let max_csrf = csrf_in(&max.page(&format!("/vorgaenge/{id}")).await);
    let res = max
        .post_form(
            &format!("/vorgaenge/{id}/loeschen"),
            &[("_csrf", &max_csrf), ("version", "3"), ("bestaetigt", "ja")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a clerk without the delete right");
    let lena = app.browser("lena").await;
    let page = lena.page(&format!("/vorgaenge/{id}")).await;
    assert!(page.contains("Endgültig löschen"), "the delete right sees the button");
    let lena_csrf = csrf_in(&page);
    let res = lena.post_form(&format!("/vorgaenge/{id}/loeschen"), &[("_csrf", &lena_csrf), ("version", "3")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "the confirmation is required");
    let res = lena
        .post_form(
            &format!("/vorgaenge/{id}/loeschen"),
            &[("_csrf", &lena_csrf), ("version", "2"), ("bestaetigt", "ja")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "a stale page deletes nothing");
    let page = lena.page(&format!("/vorgaenge/{kept}")).await;
    assert!(!page.contains("id=\"h-loeschen\""), "no button for a Vorgang that awaits no deletion");
    assert!(state.store.tenant(&tenant).get_vorgang(vid).await.is_ok(), "refusals deleted nothing");

    let res = lena
        .post_form(
            &format!("/vorgaenge/{id}/loeschen"),
            &[("_csrf", &lena_csrf), ("version", &version.to_string()), ("bestaetigt", "ja")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).ends_with("/vorgaenge?meldung=geloescht"));
    assert!(lena.page("/vorgaenge?meldung=geloescht").await.contains("endgültig gelöscht"));

    // Gone: the Vorgang, its documents (records and blobs, by the jobs the deletion
    // enqueued), its raw delivery, its history.
    assert!(state.app.jobs.wait_idle(std::time::Duration::from_secs(20)).await.expect("jobs"), "the jobs ran");
    assert_eq!(olga.get(&format!("/vorgaenge/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(olga_api.get(&format!("/api/v1/vorgaenge/{id}")).await.status(), StatusCode::NOT_FOUND);
    for key in &blob_keys {
        assert!(state.blobs.get(key).await.is_err(), "{key} deleted from the document store");
    }
    let pending = state
        .store
        .installation()
        .list_jobs(&store::JobQuery { state: None, kind: Some(domain::jobs::kinds::BLOB_LOESCHEN.into()), limit: 1000 })
        .await
        .expect("jobs");
    assert!(
        pending.iter().all(|j| j.state == domain::jobs::JobState::Completed),
        "nothing left to delete: {pending:?}"
    );
    assert_eq!(olga_api.get_json("/api/v1/vorgaenge").await["total"], 1, "the other Vorgang stays");

    // The tombstone: in the audit log, without personal data; the outbox says GELOESCHT.
    let audit = state
        .store
        .tenant(&tenant)
        .list_audit(&store::AuditQuery { before: None, action: Some("vorgang_geloescht".into()), limit: 5 })
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1);
    let detail = audit[0].entry.detail.clone().unwrap_or_default();
    assert!(detail.contains(&record.head.nummer.to_string()) && detail.contains("endgültig gelöscht"), "{detail}");
    for personal in ["Klara", "Muster", "Dublette", "Kiel"] {
        assert!(!detail.contains(personal), "no personal data in the tombstone: {detail}");
    }
    assert_eq!(audit[0].entry.actor.name, "Lena Löscher");
    let reader = Api {
        base: app.server.url(),
        token: app.token(&tenant, &[domain::TokenScope::Lesen]).await,
        http: app.http.clone(),
    };
    let log = reader.get_json("/api/v1/events?after=0&limit=1000").await;
    let of_deleted: Vec<&Value> = log.as_array().expect("events").iter().filter(|e| e["vorgangId"] == id).collect();
    assert_eq!(of_deleted.len(), 1, "only the GELOESCHT event remains: {of_deleted:?}");
    assert_eq!(of_deleted[0]["event"]["type"], "GELOESCHT");
    assert!(!log.to_string().contains("Klara"), "no personal data in the outbox");
}

/// A file from our origin is served as what it claims only when that is on the preview
/// allowlist (PDF, images, plain text); JavaScript, XHTML and the like are plain bytes.
async fn only_allowlisted_types_are_served_as_declared(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let script = b"alert(document.cookie)".to_vec();
    let xhtml = b"<html xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></html>".to_vec();
    let receipt = app
        .deliver(
            &gewerbeanmeldung(&unique("tx")),
            vec![
                ("skript.js", "text/javascript", script.clone()),
                ("seite.xhtml", "application/xhtml+xml", xhtml.clone()),
                ("notiz.txt", "text/plain; charset=utf-8", b"Hallo".to_vec()),
            ],
        )
        .await;
    assert_eq!(receipt.status(), StatusCode::OK);
    let id = vorgang_id(&receipt.json().await.expect("receipt"));
    let api = app.api("max").await;
    let v = api.vorgang(&id).await;
    let doc = |name: &str| {
        let docs = v["documents"].as_array().expect("documents");
        let d = docs.iter().find(|d| d["filename"] == name).unwrap_or_else(|| panic!("{name} in {docs:?}"));
        d["id"].as_str().expect("id").to_owned()
    };
    let max = app.browser("max").await;
    for (name, served) in [
        ("skript.js", "application/octet-stream"),
        ("seite.xhtml", "application/octet-stream"),
        ("notiz.txt", "text/plain; charset=utf-8"),
    ] {
        let d = doc(name);
        for res in [
            api.get(&format!("/api/v1/dokumente/{d}")).await,
            max.get(&format!("/dokumente/{d}")).await,
            max.get(&format!("/dokumente/{d}/vorschau")).await,
        ] {
            assert_eq!(res.status(), StatusCode::OK, "{name}: {}", res.url());
            assert_eq!(res.headers()["content-type"], served, "{name}: {}", res.url());
        }
    }
    let res = max.get(&format!("/dokumente/{}/vorschau", doc("seite.xhtml"))).await;
    assert!(res.headers()["content-disposition"].to_str().expect("header").starts_with("attachment;"), "no preview");
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), xhtml.as_slice(), "the bytes unchanged");

    // A clerk's upload declared as JavaScript: stored with its type, served as bytes.
    let page = max.page(&format!("/vorgaenge/{id}")).await;
    let form = Form::new().text("_csrf", csrf_in(&page)).part("datei", file("makro.js", "text/javascript", &script));
    let res = post_multipart(&max, &format!("/vorgaenge/{id}/dokumente"), form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = max.page(&format!("/vorgaenge/{id}")).await;
    let own = page.split("id=\"h-bearbeitungsdokumente\"").nth(1).expect("own documents section");
    let uploaded = own.split("/dokumente/").nth(1).and_then(|s| s.split('"').next()).expect("a link").to_owned();
    let res = max.get(&format!("/dokumente/{uploaded}")).await;
    assert_eq!(res.headers()["content-type"], "application/octet-stream");
    assert_eq!(res.bytes().await.expect("bytes").as_ref(), script.as_slice());
}

on_both_backends!(
    clerks_attach_documents_and_preview_them,
    only_allowlisted_types_are_served_as_declared,
    kommentare_and_wiedervorlagen_carry_attachments,
    final_deletion_needs_a_second_person
);

/// A session cookie of `username` (of the default tenant), as a login would set it.
async fn session_cookie(app: &TestApp, username: &str) -> String {
    let state = &app.server.state;
    let tenant = TenantId::default_tenant();
    let user = state.store.tenant(&tenant).find_user_by_username(username).await.expect("lookup").expect("user");
    let token = web::auth::new_token();
    let now = time::OffsetDateTime::now_utc();
    let session = store::NewSession {
        token_hash: web::auth::token_hash(&token),
        user: user.id,
        csrf_token: web::auth::new_token(),
        created_at: now,
        idle_timeout_secs: 3600,
        absolute_expiry: now + time::Duration::hours(1),
    };
    state.store.tenant(&tenant).create_session(session).await.expect("session");
    format!("{}={token}", web::auth::SESSION_COOKIE)
}

/// A multipart upload that announces 100 KB, sends the start of its body and then nothing.
async fn stalled_upload(app: &TestApp, path: &str, cookie: Option<&str>) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut conn = tokio::net::TcpStream::connect(app.server.addr).await.expect("connect");
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\n{cookie}Content-Type: multipart/form-data; boundary=b\r\n\
         Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    conn
}

/// The status code the server answers on `conn` within `wait`, if any.
async fn answer_status(conn: &mut tokio::net::TcpStream, wait: std::time::Duration) -> Option<u16> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(wait, conn.read(&mut buf)).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&buf[..n]);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// The few upload slots are shared by all tenants. Who may not upload to a route is refused
/// before a slot is taken or the body waited for, and a body that does not come in time is
/// cut off (the intake's slow-body rule) and gives its slot back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_slots_go_only_to_authorized_requests_and_not_for_long() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.rate_window = std::time::Duration::from_secs(1))
        .await
        .expect("sqlite");
    let id = vorgang_id(&app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await);
    let path = format!("/vorgaenge/{id}/dokumente");
    let wait = std::time::Duration::from_secs(5);
    // The tenant admin is signed in but may not work Vorgänge; the others are not signed in.
    let admin = session_cookie(&app, "admin").await;
    let mut refused = Vec::new();
    for cookie in [Some(admin.as_str()); 5].into_iter().chain([None, Some("ozg_session=erfunden")]) {
        let mut conn = stalled_upload(&app, &path, cookie).await;
        let status = answer_status(&mut conn, wait).await;
        let expected = if cookie == Some(admin.as_str()) { 403 } else { 303 };
        assert_eq!(status, Some(expected), "refused at once, without waiting for the body ({cookie:?})");
        refused.push(conn); // still open
    }
    let max = app.browser("max").await;
    let page = max.page(&format!("/vorgaenge/{id}")).await;
    let upload = |name: &str| {
        let form = Form::new().text("_csrf", csrf_in(&page)).part("datei", file(name, "application/pdf", PDF));
        post_multipart(&max, &path, form)
    };
    let started = std::time::Instant::now();
    let res = upload("Vermerk.pdf").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the clerk's upload goes through");
    assert!(started.elapsed() < wait, "without waiting for a slot: {:?}", started.elapsed());

    // The clerk's own uploads that stall hold the slots only until the body is overdue.
    let max_cookie = session_cookie(&app, "max").await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(stalled_upload(&app, &path, Some(&max_cookie)).await);
    }
    for conn in &mut stalled {
        let status = answer_status(conn, std::time::Duration::from_secs(20)).await;
        assert_eq!(status, Some(408), "a body that does not come is cut off");
    }
    assert_eq!(upload("Vermerk 2.pdf").await.status(), StatusCode::SEE_OTHER, "the slots are free again");
    drop((refused, stalled));
}
