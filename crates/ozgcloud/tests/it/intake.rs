use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn nested_multipart_delivery_becomes_a_vorgang_in_worklist_and_detail(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let tx = unique("tx");
    let res = app
        .deliver(&gewerbeanmeldung(&tx), vec![("Ausweis.pdf", "application/pdf", b"%PDF-1.4 ausweis".to_vec())])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let receipt: Value = res.json().await.expect("json");
    assert_eq!(receipt["transactionId"], tx);
    let nummer = receipt["vorgang"]["vorgangNummer"].as_str().expect("nummer");
    assert!(domain::Vorgangsnummer::parse(nummer).is_some(), "{nummer}");
    assert_eq!(receipt["vorgang"]["status"], "NEU");
    assert!(receipt["vorgang"]["statusSince"].as_str().is_some());
    let id = receipt["vorgang"]["vorgangId"].as_str().expect("id").to_owned();

    let api = app.api("max").await;
    let list = api.get_json("/api/v1/vorgaenge").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["vorgangNummer"], nummer);
    assert_eq!(list["items"][0]["applicantName"], "Muster, Klara");
    assert_eq!(list["counts"]["NEU"], 1);

    let v = api.vorgang(&id).await;
    assert_eq!(v["formName"], "Gewerbeanmeldung");
    assert_eq!(v["control"]["organisationsEinheitenId"], "10363455", "extra control keys are kept");
    assert_eq!(v["antragsteller"]["plz"], "24103");
    assert_eq!(v["antragsteller"]["email"], "klara@example.org");
    assert_eq!(v["formData"][1]["formItems"][3]["formItems"][1]["formItems"][0]["stringValue"], "Markt 5");
    assert_eq!(v["documents"].as_array().expect("docs").len(), 2);
    let attachment =
        v["documents"].as_array().expect("docs").iter().find(|d| d["kind"] == "ATTACHMENT").expect("attachment");
    assert_eq!(attachment["filename"], "Ausweis.pdf");
    let bytes = api.get(attachment["href"].as_str().expect("href")).await.bytes().await.expect("bytes");
    assert_eq!(&bytes[..], b"%PDF-1.4 ausweis");

    let browser = app.browser("max").await;
    let list = browser.page("/vorgaenge").await;
    assert!(list.contains(nummer) && list.contains("Muster, Klara"), "worklist shows the Vorgang");
    let detail = browser.page(&format!("/vorgaenge/{id}")).await;
    for expected in [
        "Klara",
        "Holstenstraße 12",
        "24103 Kiel",
        "Onlinehandel mit Keramik",
        "01.04.1990",
        "Nein",
        "<th scope=\"col\">Straße</th>",
        "Markt 5",
        "Ausweis.pdf",
        "Eingegangen",
    ] {
        assert!(detail.contains(expected), "detail page shows {expected}");
    }
}

async fn the_same_transaction_id_gives_one_vorgang_also_when_racing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let tx = unique("tx");
    let first = app.deliver_ok(&gewerbeanmeldung(&tx)).await;
    let again = app.deliver_ok(&gewerbeanmeldung(&tx)).await;
    assert_eq!(first["vorgang"]["vorgangId"], again["vorgang"]["vorgangId"]);
    assert_eq!(again["duplicate"], true);

    let racing_tx = unique("race");
    let form = gewerbeanmeldung(&racing_tx);
    let results = futures_util::future::join_all((0..12).map(|_| app.deliver(&form, vec![]))).await;
    let mut ids = Vec::new();
    for r in results {
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.expect("json");
        ids.push(body["vorgang"]["vorgangId"].as_str().expect("id").to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "all concurrent deliveries name the same Vorgang");
    let list = app.api("max").await.get_json("/api/v1/vorgaenge").await;
    assert_eq!(list["total"], 2, "two transaction ids, two Vorgänge");
}

/// Document files in the data dir (all tenants; not the raw deliveries).
fn document_files(app: &TestApp) -> usize {
    fn walk(dir: &std::path::Path, under_dokument: bool) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
        entries
            .flatten()
            .map(|e| {
                let path = e.path();
                let inside = under_dokument || e.file_name() == "dokument";
                if path.is_dir() {
                    walk(&path, inside)
                } else {
                    usize::from(inside)
                }
            })
            .sum()
    }
    walk(&app.dir.path().join("dokumente"), false)
}

/// Racing deliveries of one transaction id that lose write their files first: they remove
/// them again, so the data dir holds the one Vorgang's files only.
async fn a_lost_duplicate_race_leaves_no_file(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    assert_eq!(document_files(&app), 0);
    let form = gewerbeanmeldung(&unique("race"));
    let attachment = || vec![("Ausweis.pdf", "application/pdf", b"%PDF-1.4 ausweis".to_vec())];
    let results = futures_util::future::join_all((0..12).map(|_| app.deliver(&form, attachment()))).await;
    let mut duplicates = 0;
    for r in results {
        assert_eq!(r.status(), StatusCode::OK);
        duplicates += usize::from(r.json::<Value>().await.expect("json")["duplicate"] == true);
    }
    assert_eq!(duplicates, 11);
    let list = app.api("max").await.get_json("/api/v1/vorgaenge").await;
    assert_eq!(list["total"], 1);
    assert_eq!(document_files(&app), 2, "the one Vorgang's representation and attachment, nothing else");
}

/// A Vorgangsnummer that is taken is drawn again; when every draw collides the delivery
/// fails without a second Vorgang and without files (its raw payload stays for recovery).
async fn a_vorgangsnummer_collision_leaves_no_file_and_no_second_vorgang(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let first = app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    let taken = domain::Vorgangsnummer::parse(first["vorgang"]["vorgangNummer"].as_str().expect("nummer"))
        .expect("a Vorgangsnummer");
    assert_eq!(document_files(&app), 1);
    let state = &app.server.state;
    let intake = |nummern: Box<dyn Fn() -> domain::Vorgangsnummer + Send + Sync>| {
        intake::Intake::new(state.store.clone(), state.blobs.clone(), intake::Limits::default())
            .with_nummern(move |_| nummern())
    };
    let payload = || intake::Payload::Json {
        content_type: "application/json".into(),
        body: serde_json::to_vec(&json!({
            "control": gewerbeanmeldung(&unique("tx"))["control"],
            "formData": [],
            "attachments": [{"filename": "a.pdf", "contentType": "application/pdf", "content": "JVBERi0xLjQ="}],
        }))
        .expect("json")
        .into(),
    };
    // Always the taken number: refused after the retries.
    let always = taken.clone();
    let colliding = intake(Box::new(move || always.clone()));
    let err = colliding.deliver(&domain::TenantId::platform(), payload()).await.expect_err("no free number");
    assert!(!matches!(err, intake::IntakeError::Invalid { .. }), "{err}");
    assert_eq!(document_files(&app), 1, "the failed delivery's file is removed");
    let list = app.api("max").await.get_json("/api/v1/vorgaenge").await;
    assert_eq!(list["total"], 1, "no second Vorgang");

    // The taken number once, then a free one: one new Vorgang with its one file.
    let drawn = std::sync::atomic::AtomicUsize::new(0);
    let once = intake(Box::new(move || {
        if drawn.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            taken.clone()
        } else {
            domain::Vorgangsnummer::generate(time::OffsetDateTime::now_utc().date(), &mut rand::thread_rng())
        }
    }));
    let receipt = once.deliver(&domain::TenantId::platform(), payload()).await.expect("delivered");
    assert!(!receipt.duplicate);
    assert_eq!(document_files(&app), 2);
    let list = app.api("max").await.get_json("/api/v1/vorgaenge").await;
    assert_eq!(list["total"], 2);
}

/// Deliveries without a sender's token are the platform's: its operator sees the quarantine.
async fn quarantine(app: &TestApp) -> Vec<Value> {
    let admin = app.api_at("/t/plattform", "betrieb", PASSWORD).await;
    admin.get_json("/api/v1/quarantaene").await["items"].as_array().expect("items").clone()
}

async fn bad_deliveries_get_a_precise_error_and_land_in_quarantine(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.limits.max_file = 1024).await else { return };

    let malformed = app.deliver(&json!("placeholder"), vec![]).await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let p: Value = malformed.json().await.expect("problem");
    assert_eq!(p["field"], "$", "a JSON string instead of an object: {p}");

    let form = reqwest::multipart::Form::new().text("formData", "{\"control\": {\"transactionId\": ");
    let res = app.http.post(app.url("/antrag")).multipart(form).send().await.expect("send");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: Value = res.json().await.expect("problem");
    assert_eq!(p["field"], "formData");
    assert!(p["detail"].as_str().expect("detail").contains("kein gültiges JSON"), "{p}");
    assert!(p["deliveryId"].is_string());

    let mut no_control = gewerbeanmeldung(&unique("tx"));
    no_control.as_object_mut().expect("obj").remove("control");
    let p: Value = app.deliver(&no_control, vec![]).await.json().await.expect("problem");
    assert_eq!(p["field"], "control");
    assert_eq!(p["detail"], "Eingang ungültig: control: fehlt");

    let mut no_tx = gewerbeanmeldung(&unique("tx"));
    no_tx["control"].as_object_mut().expect("obj").remove("transactionId");
    let p: Value = app.deliver(&no_tx, vec![]).await.json().await.expect("problem");
    assert_eq!(p["field"], "control.transactionId");

    let res =
        app.deliver(&gewerbeanmeldung(&unique("tx")), vec![("gross.pdf", "application/pdf", vec![b'x'; 2048])]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let p: Value = res.json().await.expect("problem");
    assert_eq!(p["field"], "attachment[0]");
    assert!(p["detail"].as_str().expect("detail").contains("größer"), "{p}");

    let res = app.deliver_raw("multipart/form-data", b"no boundary".to_vec()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.expect("problem")["field"], "Content-Type");

    let q = quarantine(&app).await;
    assert_eq!(q.len(), 6, "every bad delivery is kept: {q:?}");
    let fields: Vec<&str> = q.iter().filter_map(|e| e["field"].as_str()).collect();
    for f in ["$", "formData", "control", "control.transactionId", "attachment[0]", "Content-Type"] {
        assert!(fields.contains(&f), "quarantine names {f}: {fields:?}");
    }
    let list = app.api("max").await.get_json("/api/v1/vorgaenge").await;
    assert_eq!(list["total"], 0, "no Vorgang from bad input");

    // Clerks may not see the quarantine; admins can re-process (still invalid → 400 again).
    assert_eq!(app.api("max").await.get("/api/v1/quarantaene").await.status(), StatusCode::FORBIDDEN);
    let admin = app.api_at("/t/plattform", "betrieb", PASSWORD).await;
    let id = q[0]["deliveryId"].as_str().expect("id");
    let res = admin.post(&format!("/api/v1/quarantaene/{id}/verarbeiten"), json!({})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let q = quarantine(&app).await;
    assert_eq!(q.iter().find(|e| e["deliveryId"] == id).expect("still there")["attempts"], 2);

    let ui = app.browser_at("/t/plattform", "betrieb", PASSWORD).await.page("/admin/quarantaene").await;
    assert!(ui.contains("control.transactionId") && ui.contains("Erneut verarbeiten"));
}

async fn a_request_over_the_total_limit_is_refused_with_413(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.limits.max_request = 10 * 1024).await else { return };
    let res = app
        .deliver(&gewerbeanmeldung(&unique("tx")), vec![("big.bin", "application/octet-stream", vec![0; 20 * 1024])])
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn quarantined_delivery_is_reprocessed_after_the_limit_is_raised(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.limits.max_file = 1024).await else { return };
    let tx = unique("tx");
    let res = app.deliver(&gewerbeanmeldung(&tx), vec![("scan.pdf", "application/pdf", vec![b'y'; 4096])]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let app = app.restart(|c| c.limits.max_file = 1024 * 1024).await;
    let q = quarantine(&app).await;
    let id = q[0]["deliveryId"].as_str().expect("id");
    let admin = app.api_at("/t/plattform", "betrieb", PASSWORD).await;
    let res = admin.post(&format!("/api/v1/quarantaene/{id}/verarbeiten"), json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let receipt: Value = res.json().await.expect("receipt");
    assert_eq!(receipt["transactionId"], tx);
    assert!(quarantine(&app).await.is_empty());
}

async fn a_delivery_interrupted_before_parsing_is_finished_on_restart(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let tx = unique("tx");
    // Simulate a crash after the raw payload was stored and recorded, before parsing.
    let state = &app.server.state;
    let body = serde_json::to_vec(&gewerbeanmeldung(&tx)).expect("json");
    let key = documents::new_key("plattform", "eingang", uuid::Uuid::now_v7());
    state.blobs.put(&key, body.clone().into()).await.expect("put");
    state
        .store
        .tenant(&domain::TenantId::platform())
        .record_delivery(store::NewDelivery {
            id: store::DeliveryId::new(),
            received_at: time::OffsetDateTime::now_utc(),
            channel: "api-json".into(),
            content_type: "application/json".into(),
            blob_key: key,
            size: body.len() as u64,
        })
        .await
        .expect("record");
    assert_eq!(app.api("max").await.get_json("/api/v1/vorgaenge").await["total"], 0);
    let app = app.restart(|_| {}).await;
    let list = app.api("max").await.get_json("/api/v1/vorgaenge").await;
    assert_eq!(list["total"], 1, "recovered on start");
    assert_eq!(app.deliver_ok(&gewerbeanmeldung(&tx)).await["duplicate"], true);
}

async fn json_api_intake_with_base64_files(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mut body = gewerbeanmeldung(&unique("tx"));
    body["attachments"] =
        json!([{"filename": "../../Foto.png", "contentType": "image/png", "content": "iVBORw0KGgo="}]);
    let res = app.http.post(app.url("/api/v1/antraege")).json(&body).send().await.expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    let receipt: Value = res.json().await.expect("json");
    let id = receipt["vorgang"]["vorgangId"].as_str().expect("id");
    let v = app.api("max").await.vorgang(id).await;
    assert_eq!(v["documents"][0]["filename"], "Foto.png", "path parts are stripped");

    body["attachments"] = json!([{"filename": "x.png", "content": "%%%"}]);
    body["control"]["transactionId"] = json!(unique("tx"));
    let res = app.http.post(app.url("/api/v1/antraege")).json(&body).send().await.expect("send");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.expect("problem")["field"], "attachments[0].content");
}

async fn intake_needs_an_api_token_unless_open(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.open_intake = false).await else {
        return;
    };
    let res = app.deliver(&gewerbeanmeldung(&unique("tx")), vec![]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let send = |token: String| {
        let form = reqwest::multipart::Form::new().text("formData", gewerbeanmeldung(&unique("tx")).to_string());
        app.http.post(app.url("/antrag")).bearer_auth(token).multipart(form).send()
    };
    assert_eq!(send("ozgapi_falsch".into()).await.expect("send").status(), StatusCode::UNAUTHORIZED);
    let reader = app.token(&domain::TenantId::default_tenant(), &[domain::TokenScope::Lesen]).await;
    assert_eq!(send(reader).await.expect("send").status(), StatusCode::FORBIDDEN, "no EINGANG scope");
    let token = app.token(&domain::TenantId::default_tenant(), &[domain::TokenScope::Eingang]).await;
    assert_eq!(send(token).await.expect("send").status(), StatusCode::OK);
    let platform = app.token(&domain::TenantId::platform(), &[domain::TokenScope::Eingang]).await;
    assert_eq!(send(platform).await.expect("send").status(), StatusCode::OK);
}

/// A tenant admin reads a raw delivery only while it is in the quarantine lists; once it
/// became a Vorgang, the raw access ends.
async fn raw_deliveries_are_readable_only_while_in_quarantine(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let tenant = domain::TenantId::default_tenant();
    let token = app.token(&tenant, &[domain::TokenScope::Eingang]).await;
    let deliver = |form: Value| {
        let form = reqwest::multipart::Form::new().text("formData", form.to_string());
        app.http.post(app.url("/antrag")).bearer_auth(&token).multipart(form).send()
    };
    // Nobody carries the Kennung yet: it waits in the tenant's list "nicht zuordenbar".
    let res = deliver(antrag_for("bau-0815", &unique("tx"))).await.expect("deliver");
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let waiting = res.json::<Value>().await.expect("json")["deliveryId"].as_str().expect("id").to_owned();
    // A faulty one stays in the quarantine.
    let mut faulty = gewerbeanmeldung(&unique("tx"));
    faulty.as_object_mut().expect("object").remove("control");
    let res = deliver(faulty).await.expect("deliver");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let broken = res.json::<Value>().await.expect("json")["deliveryId"].as_str().expect("id").to_owned();

    let admin = app.browser("admin").await;
    for id in [&waiting, &broken] {
        let res = admin.get(&format!("/admin/quarantaene/{id}/roh")).await;
        assert_eq!(res.status(), StatusCode::OK, "readable while listed");
        assert_eq!(res.headers()["content-type"], "application/octet-stream");
    }
    // The unit appears; the delivery is processed into a Vorgang and leaves the list.
    let unit = store::NewUnit { id: domain::UnitId::new(), name: "Bauamt".into(), kennung: "bau-0815".into() };
    app.server.state.store.tenant(&tenant).create_unit(unit).await.expect("unit");
    let res = app.api("admin").await.post(&format!("/api/v1/quarantaene/{waiting}/verarbeiten"), json!({})).await;
    assert_eq!(res.status(), StatusCode::OK, "processed");
    let res = admin.get(&format!("/admin/quarantaene/{waiting}/roh")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "no raw access once it is a Vorgang");
    assert_eq!(admin.get(&format!("/admin/quarantaene/{broken}/roh")).await.status(), StatusCode::OK, "still listed");
}

/// Every submission is stored raw before it is parsed, also one in a format its address does
/// not take: never parsed as something it is not, it is answered 415 with a German detail
/// and kept in the quarantine with a precise error.
async fn unsupported_content_types_are_415_and_quarantined(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let send = |path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut req = app.http.post(app.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let json = gewerbeanmeldung(&unique("tx")).to_string().into_bytes();
    let cases: [(&str, Option<&str>, Vec<u8>, &str); 4] = [
        (
            "/antrag",
            Some("application/xml"),
            b"<antrag/>".to_vec(),
            "„application/xml“ wird hier nicht angenommen (erwartet: multipart/form-data)",
        ),
        (
            "/antrag",
            Some("application/json"),
            json.clone(),
            "„application/json“ wird hier nicht angenommen (erwartet: multipart/form-data)",
        ),
        ("/antrag", None, b"formData=x".to_vec(), "fehlt (erwartet: multipart/form-data)"),
        (
            "/api/v1/antraege",
            Some("text/plain; charset=utf-8"),
            json.clone(),
            "„text/plain“ wird hier nicht angenommen (erwartet: application/json)",
        ),
    ];
    let mut ids = Vec::new();
    for (path, content_type, body, message) in cases {
        let res = send(path, content_type, body).await.expect("send");
        assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path} {content_type:?}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let p: Value = res.json().await.expect("problem");
        assert_eq!(p["type"], "https://ozgcloud.de/probleme/unsupported-media-type");
        assert_eq!(p["field"], "Content-Type");
        assert_eq!(p["detail"], format!("Eingang nicht lesbar: Content-Type: {message}"), "{p}");
        ids.push(p["deliveryId"].as_str().expect("stored: a delivery id").to_owned());
    }
    // The formats each address takes still work; a multipart type without boundary stays the
    // multipart parser's error (400).
    let res = send("/api/v1/antraege", Some("application/json; charset=utf-8"), json.clone()).await.expect("send");
    assert_eq!(res.status(), StatusCode::OK, "JSON with a charset");
    let mut other = gewerbeanmeldung(&unique("tx"));
    other["control"]["name"] = "Gewerbeummeldung".into();
    let res = send("/api/v1/antraege", Some("application/vnd.ozg+json"), other.to_string().into_bytes()).await;
    assert_eq!(res.expect("send").status(), StatusCode::OK, "a +json type");
    let res = send("/antrag", Some("multipart/form-data"), b"no boundary".to_vec()).await.expect("send");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    let q = quarantine(&app).await;
    for id in &ids {
        let entry = q.iter().find(|e| e["deliveryId"] == id.as_str()).unwrap_or_else(|| panic!("{id} in {q:?}"));
        assert_eq!(entry["field"], "Content-Type");
        assert!(entry["message"].as_str().is_some_and(|m| m.contains("erwartet")), "{entry}");
    }
    let operator = app.browser_at("/t/plattform", "betrieb", PASSWORD).await;
    let raw = operator.get(&format!("/admin/quarantaene/{}/roh", ids[0])).await;
    assert_eq!(raw.bytes().await.expect("raw").as_ref(), b"<antrag/>", "the raw bytes are kept");
    // Re-processing does not guess either.
    let admin = app.api_at("/t/plattform", "betrieb", PASSWORD).await;
    let res = admin.post(&format!("/api/v1/quarantaene/{}/verarbeiten", ids[1]), json!({})).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.api("max").await.get_json("/api/v1/vorgaenge").await["total"], 2, "only the two good ones");

    // A stored delivery of a channel intake does not know is not taken for multipart either.
    let state = &app.server.state;
    let key = documents::new_key("plattform", "eingang", uuid::Uuid::now_v7());
    state.blobs.put(&key, json.clone().into()).await.expect("put");
    let id = store::DeliveryId::new();
    let delivery = store::NewDelivery {
        id,
        received_at: time::OffsetDateTime::now_utc(),
        channel: "fax".into(),
        content_type: "multipart/form-data; boundary=b".into(),
        blob_key: key,
        size: json.len() as u64,
    };
    state.store.tenant(&domain::TenantId::platform()).record_delivery(delivery).await.expect("record");
    let res = admin.post(&format!("/api/v1/quarantaene/{id}/verarbeiten"), json!({})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let p: Value = res.json().await.expect("problem");
    assert_eq!(
        (p["field"].as_str(), p["detail"].as_str()),
        (Some("channel"), Some("Eingang ungültig: channel: unbekannter Eingangskanal „fax“"))
    );
    assert!(quarantine(&app).await.iter().any(|e| e["deliveryId"] == id.to_string()), "and it is in the quarantine");
}

on_both_backends!(
    nested_multipart_delivery_becomes_a_vorgang_in_worklist_and_detail,
    the_same_transaction_id_gives_one_vorgang_also_when_racing,
    bad_deliveries_get_a_precise_error_and_land_in_quarantine,
    a_request_over_the_total_limit_is_refused_with_413,
    quarantined_delivery_is_reprocessed_after_the_limit_is_raised,
    a_delivery_interrupted_before_parsing_is_finished_on_restart,
    json_api_intake_with_base64_files,
    intake_needs_an_api_token_unless_open,
    raw_deliveries_are_readable_only_while_in_quarantine,
    unsupported_content_types_are_415_and_quarantined,
    a_lost_duplicate_race_leaves_no_file,
    a_vorgangsnummer_collision_leaves_no_file_and_no_second_vorgang,
);

/// Intake holds request bodies in memory until the delivery is stored: all intakes together
/// stay within a budget; beyond it a sender waits briefly, then gets 503 with Retry-After.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_intake_memory_budget_is_503_with_retry_after() {
    use tokio::io::AsyncWriteExt;
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.limits.memory_budget = 64 * 1024;
        c.limits.budget_wait = std::time::Duration::from_millis(300);
    })
    .await
    else {
        return;
    };
    // A sender announcing 64 KiB and sending only its start holds the whole budget.
    let mut slow = tokio::net::TcpStream::connect(app.server.addr).await.expect("connect");
    slow.write_all(
        b"POST /antrag HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b\r\n\
          Content-Length: 65536\r\n\r\n--b\r\n",
    )
    .await
    .expect("write");
    let mut busy = None;
    for _ in 0..40 {
        let res = app.deliver(&gewerbeanmeldung(&unique("tx")), vec![]).await;
        if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            busy = Some(res);
            break;
        }
        assert_eq!(res.status(), StatusCode::OK, "before the slow sender holds the budget");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let busy = busy.expect("a full budget answers 503");
    assert_eq!(busy.headers()["retry-after"], "5");
    let problem: Value = busy.json().await.expect("problem");
    assert!(problem["detail"].as_str().unwrap_or("").contains("Zu viele gleichzeitige Einlieferungen"), "{problem}");

    // The slow sender gives up: its room is free again.
    drop(slow);
    let mut delivered = false;
    for _ in 0..40 {
        let res = app.deliver(&gewerbeanmeldung(&unique("tx")), vec![]).await;
        if res.status() == StatusCode::OK {
            delivered = true;
            break;
        }
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert!(delivered, "intake works again once the budget has room");
}

/// A sender too slow to deliver its body in time is cut off with 408 and gives its room in
/// the memory budget back, while its connection is still open.
#[tokio::test(flavor = "multi_thread")]
async fn a_too_slow_intake_body_is_408_and_frees_its_room() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.limits.memory_budget = 64 * 1024;
        c.limits.budget_wait = std::time::Duration::from_millis(200);
        c.limits.rate_window = std::time::Duration::from_millis(300);
        c.limits.min_body_rate = usize::MAX / 4;
    })
    .await
    else {
        return;
    };
    let mut slow = tokio::net::TcpStream::connect(app.server.addr).await.expect("connect");
    slow.write_all(
        b"POST /antrag HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b\r\n\
          Content-Length: 30000\r\n\r\n--b\r\n",
    )
    .await
    .expect("write");
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), slow.read(&mut answer))
        .await
        .expect("the server answers the slow sender")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("zu langsam"), "a German reason: {answer}");
    let res = app.deliver(&gewerbeanmeldung(&unique("tx")), vec![]).await;
    assert_eq!(res.status(), StatusCode::OK, "the budget has room again");
    drop(slow);
}

/// Senders that announce huge bodies and then send nothing (here five API tokens of one
/// tenant) reserve no more than an unproven request may, so a normal delivery of another
/// sender neither waits nor fails; and they are cut off with 408 within the first rate window,
/// not after a grace period that grows with the announced size.
#[tokio::test(flavor = "multi_thread")]
async fn header_only_senders_neither_block_intake_nor_stay_long() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.limits.budget_wait = std::time::Duration::from_secs(3);
        c.limits.rate_window = std::time::Duration::from_secs(1);
    })
    .await
    else {
        return;
    };
    let tenant = domain::TenantId::default_tenant();
    let mut stalled = Vec::new();
    for _ in 0..5 {
        let token = app.token(&tenant, &[domain::TokenScope::Eingang]).await;
        let mut conn = tokio::net::TcpStream::connect(app.server.addr).await.expect("connect");
        // Together more than the whole default budget of 1 GiB (each counts twice).
        let head = format!(
            "POST /antrag HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 115000000\r\n\r\n"
        );
        conn.write_all(head.as_bytes()).await.expect("write");
        stalled.push(conn);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let res = app.deliver(&gewerbeanmeldung(&unique("tx")), vec![]).await;
    assert_eq!(res.status(), StatusCode::OK, "a normal delivery goes through");
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "without waiting: {:?}", started.elapsed());
    for conn in &mut stalled {
        let mut answer = vec![0u8; 1024];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut answer))
            .await
            .expect("the stalled sender is cut off quickly")
            .expect("read");
        let answer = String::from_utf8_lossy(&answer[..n]);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
}

/// Form services that cannot send an `Authorization` header deliver to `/antrag/<token>`: the
/// token authenticates as a bearer token would (tenant, scope, revocation), only a pure
/// `EINGANG` token may stand in a URL, and a wrong secret is refused even with open intake.
#[tokio::test(flavor = "multi_thread")]
async fn a_per_token_intake_address_needs_no_header_and_is_rotatable() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let other = app.other_tenant("flensburg", "20000001").await;
    let send = |path: String, form: Value| {
        let form = reqwest::multipart::Form::new().text("formData", form.to_string());
        app.http.post(app.url(&path)).multipart(form).send()
    };
    let token = app.token(&other.id, &[domain::TokenScope::Eingang]).await;
    let res = send(format!("/antrag/{token}"), antrag_for(&other.kennung, &unique("tx"))).await.expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    // The token's tenant binds the delivery as a bearer token would: another tenant's unit is
    // not reachable with it.
    let res = send(format!("/antrag/{token}"), gewerbeanmeldung(&unique("tx"))).await.expect("send");
    assert_eq!(res.status(), StatusCode::ACCEPTED, "not routed into another tenant");
    let res = send(format!("/t/flensburg/antrag/{token}"), antrag_for(&other.kennung, &unique("tx"))).await;
    assert_eq!(res.expect("send").status(), StatusCode::OK, "also under a tenant prefix");

    // Wrong secrets are refused although intake is open in this test.
    for wrong in ["ozgapi_falsch".to_owned(), "irgendwas".to_owned(), format!("{token}x")] {
        let res = send(format!("/antrag/{wrong}"), gewerbeanmeldung(&unique("tx"))).await.expect("send");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{wrong}");
    }
    // A token that could do more than deliver never works in a URL.
    let broad = app.token(&other.id, &[domain::TokenScope::Eingang, domain::TokenScope::Lesen]).await;
    let res = send(format!("/antrag/{broad}"), antrag_for(&other.kennung, &unique("tx"))).await.expect("send");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Rotation: a revoked token's address is dead at once.
    let store = &app.server.state.store;
    let record = store
        .tenant(&other.id)
        .list_api_tokens()
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.scopes == [domain::TokenScope::Eingang]);
    store
        .tenant(&other.id)
        .revoke_api_token(record.expect("token").id, time::OffsetDateTime::now_utc())
        .await
        .expect("revoke");
    let res = send(format!("/antrag/{token}"), antrag_for(&other.kennung, &unique("tx"))).await.expect("send");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let fresh = app.token(&other.id, &[domain::TokenScope::Eingang]).await;
    let res = send(format!("/antrag/{fresh}"), antrag_for(&other.kennung, &unique("tx"))).await.expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    let anna = app.api_at(&other.prefix, "anna", PASSWORD).await.get_json("/api/v1/vorgaenge").await;
    assert_eq!(anna["total"], 3, "the deliveries of both tokens are Flensburg's");
}
