//! The clerk's notes (issue 6): Kommentare and Wiedervorlagen, in the UI and the API.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn res_location_ok(res: &reqwest::Response) -> bool {
    res.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.ends_with("meldung=kommentar#kommentare"))
}

fn day(offset_days: i64) -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(offset_days);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

async fn kommentare_are_internal_notes_in_the_history(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let id =
        app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await["vorgang"]["vorgangId"].as_str().expect("id").to_owned();
    let max = app.browser("max").await;
    let page = max.page(&format!("/vorgaenge/{id}")).await;
    let res = max
        .post_form(
            &format!("/vorgaenge/{id}/kommentare"),
            &[("_csrf", &csrf_in(&page)), ("text", "Ausweiskopie fehlt,\nRückruf vereinbart")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = max.page(&format!("/vorgaenge/{id}")).await;
    assert!(page.contains("Ausweiskopie fehlt,\nRückruf vereinbart"), "shown on the Vorgang");
    assert!(res_location_ok(&res), "back to the Vorgang's comments");

    let erika = app.api("erika").await;
    let list = erika.get_json(&format!("/api/v1/vorgaenge/{id}/kommentare")).await;
    assert_eq!(list[0]["author"], "Max Schröder");
    let res = erika.post(&format!("/api/v1/vorgaenge/{id}/kommentare"), json!({"text": "  "})).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "empty comments are refused");
    let res = erika.post(&format!("/api/v1/vorgaenge/{id}/kommentare"), json!({"text": "Gesehen"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(erika.get_json(&format!("/api/v1/vorgaenge/{id}/kommentare")).await.as_array().map(Vec::len), Some(2));
    // A note does not make a stale form of somebody else conflict.
    assert_eq!(erika.vorgang(&id).await["version"], 1);
    let history = erika.get_json(&format!("/api/v1/vorgaenge/{id}/historie")).await;
    let kinds: Vec<&str> =
        history.as_array().expect("events").iter().filter_map(|e| e["event"]["type"].as_str()).collect();
    assert_eq!(kinds, ["EINGEGANGEN", "KOMMENTAR_HINZUGEFUEGT", "KOMMENTAR_HINZUGEFUEGT"]);
    assert!(!history.to_string().contains("Ausweiskopie"), "the outbox carries no comment text");
    // Other tenants' and other units' clerks see nothing.
    let kiel = app.other_tenant("kiel", "kiel-ordnung").await;
    let anna = app.api_at(&kiel.prefix, "anna", PASSWORD).await;
    assert_eq!(anna.get(&format!("/api/v1/vorgaenge/{id}/kommentare")).await.status(), StatusCode::NOT_FOUND);
    let res = anna.post(&format!("/api/v1/vorgaenge/{id}/kommentare"), json!({"text": "fremd"})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

async fn wiedervorlagen_are_due_listed_and_done(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let first =
        app.deliver_ok(&gewerbeanmeldung(&unique("a"))).await["vorgang"]["vorgangId"].as_str().expect("id").to_owned();
    let second =
        app.deliver_ok(&gewerbeanmeldung(&unique("b"))).await["vorgang"]["vorgangId"].as_str().expect("id").to_owned();
    let max = app.api("max").await;
    let add = |id: &str, betreff: &str, frist: String| {
        let max = max.clone();
        let path = format!("/api/v1/vorgaenge/{id}/wiedervorlagen");
        let body = json!({"betreff": betreff, "beschreibung": "", "frist": frist});
        async move { max.post(&path, body).await }
    };
    let overdue: Value = add(&first, "Ausweis nachfordern", day(-2)).await.json().await.expect("json");
    assert_eq!(overdue["version"], 1);
    add(&first, "Rückfrage Ordnungsamt", day(7)).await;
    add(&second, "Frist Stellungnahme", day(3)).await;
    let res = add(&second, "kaputt", "31.02.2026".into()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.expect("problem")["field"], "frist");

    // The worklist shows the next Frist; the status bar counts what is due.
    let list = max.get_json("/api/v1/vorgaenge").await;
    let item = |id: &str| list["items"].as_array().expect("items").iter().find(|i| i["vorgangId"] == id).cloned();
    assert_eq!(item(&first).expect("first")["naechsteFrist"], day(-2));
    assert_eq!(item(&second).expect("second")["naechsteFrist"], day(3));
    let browser = app.browser("max").await;
    let worklist = browser.page("/vorgaenge").await;
    assert!(worklist.contains("überfällig") && worklist.contains("1 Wiedervorlagen fällig"), "status bar");
    let across = browser.page("/wiedervorlagen").await;
    let (a, b, c) = (
        across.find("Ausweis nachfordern").expect("a"),
        across.find("Frist Stellungnahme").expect("b"),
        across.find("Rückfrage Ordnungsamt").expect("c"),
    );
    assert!(a < b && b < c, "sorted by Frist");

    // Done in the list view; the next Frist moves on; reopened via the API.
    let wid = overdue["id"].as_str().expect("id").to_owned();
    let res = browser
        .post_form(
            &format!("/wiedervorlagen/{wid}/erledigt"),
            &[("_csrf", &csrf_in(&across)), ("version", "1"), ("erledigt", "1"), ("zurueck", "liste")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let list = max.get_json("/api/v1/vorgaenge").await;
    let first_item = list["items"].as_array().expect("items").iter().find(|i| i["vorgangId"] == first.as_str());
    assert_eq!(first_item.expect("first")["naechsteFrist"], day(7));
    assert!(browser.page("/vorgaenge").await.contains("0 Wiedervorlagen fällig"));
    let stale =
        max.send(Method::PUT, &format!("/api/v1/wiedervorlagen/{wid}"), json!({"erledigt": false, "version": 1})).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT, "a stale version never overwrites");
    let reopened = max
        .send(
            Method::PUT,
            &format!("/api/v1/wiedervorlagen/{wid}"),
            json!({"erledigt": false, "betreff": "Ausweis nachfordern (2)", "frist": day(1), "version": 2}),
        )
        .await;
    assert_eq!(reopened.status(), StatusCode::OK);
    let all = max.get_json(&format!("/api/v1/vorgaenge/{first}/wiedervorlagen")).await;
    assert_eq!(all[0]["betreff"], "Ausweis nachfordern (2)");
    let history = max.get_json(&format!("/api/v1/vorgaenge/{first}/historie")).await.to_string();
    for kind in ["WIEDERVORLAGE_ANGELEGT", "WIEDERVORLAGE_ERLEDIGT", "WIEDERVORLAGE_WIEDEREROEFFNET"] {
        assert!(history.contains(kind), "{kind} in {history}");
    }
    let detail = browser.page(&format!("/vorgaenge/{first}")).await;
    assert!(detail.contains("Wiedervorlage erledigt: Ausweis nachfordern"), "one timeline");

    // Wiedervorlagen of Vorgänge one cannot see are not listed.
    let kiel = app.other_tenant("kiel", "kiel-ordnung").await;
    let anna = app.api_at(&kiel.prefix, "anna", PASSWORD).await;
    assert_eq!(anna.get_json("/api/v1/wiedervorlagen").await.as_array().map(Vec::len), Some(0));
    let res =
        anna.send(Method::PUT, &format!("/api/v1/wiedervorlagen/{wid}"), json!({"erledigt": true, "version": 3})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

on_both_backends!(kommentare_are_internal_notes_in_the_history, wiedervorlagen_are_due_listed_and_done);
