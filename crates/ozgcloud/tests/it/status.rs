use crate::helpers::*;
use domain::{StatusCommand, VorgangStatus};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Legal paths from NEU to every status the glossary's moves reach.
fn path_to(target: VorgangStatus) -> &'static [&'static str] {
    match target {
        VorgangStatus::Neu => &[],
        VorgangStatus::Angenommen => &["ANNEHMEN"],
        VorgangStatus::InBearbeitung => &["ANNEHMEN", "BEARBEITEN"],
        VorgangStatus::Beschieden => &["ANNEHMEN", "BEARBEITEN", "BESCHEIDEN"],
        VorgangStatus::Abgeschlossen => &["ANNEHMEN", "BEARBEITEN", "ABSCHLIESSEN"],
        VorgangStatus::Verworfen => &["VERWERFEN"],
        VorgangStatus::ZuLoeschen => &["VERWERFEN", "LOESCHEN_ANFORDERN"],
        VorgangStatus::Weitergeleitet => &[],
    }
}

async fn vorgang_in(app: &TestApp, api: &Api, target: VorgangStatus) -> (String, i64) {
    let receipt = app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    let id = receipt["vorgang"]["vorgangId"].as_str().expect("id").to_owned();
    let mut version = receipt["vorgang"]["version"].as_i64().expect("version");
    for command in path_to(target) {
        let res = api.command(&id, command, version, Some("Begründung")).await;
        assert_eq!(res.status(), StatusCode::OK, "{command} on the way to {target}");
        version = res.json::<Value>().await.expect("json")["version"].as_i64().expect("version");
    }
    (id, version)
}

async fn every_legal_and_illegal_status_move(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let api = app.api("max").await;
    let reachable = VorgangStatus::ALL.into_iter().filter(|s| *s != VorgangStatus::Weitergeleitet);
    let mut legal_moves = 0;
    for from in reachable {
        for command in StatusCommand::ALL {
            let (id, version) = vorgang_in(&app, &api, from).await;
            let expected = command.target(from, Some(VorgangStatus::Verworfen));
            let res = api.command(&id, command.as_str(), version, Some("Weil es so ist")).await;
            match expected {
                Ok(to) => {
                    legal_moves += 1;
                    assert_eq!(res.status(), StatusCode::OK, "{command:?} from {from:?}");
                    let head: Value = res.json().await.expect("json");
                    assert_eq!(head["status"], to.as_str(), "{command:?} from {from:?}");
                    assert_eq!(head["version"], version + 1);
                    let history = api.get_json(&format!("/api/v1/vorgaenge/{id}/historie")).await;
                    let last = history.as_array().and_then(|h| h.last()).expect("event");
                    assert_eq!(last["event"]["type"], "STATUS_GEAENDERT");
                    assert_eq!(last["event"]["from"], from.as_str());
                    assert_eq!(last["event"]["to"], to.as_str());
                    assert_eq!(last["event"]["command"], command.as_str());
                    assert_eq!(last["actor"], "Max Schröder");
                }
                Err(_) => {
                    assert_eq!(
                        res.status(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "{command:?} from {from:?} must be refused"
                    );
                    let p: Value = res.json().await.expect("problem");
                    assert!(p["detail"].as_str().expect("detail").contains("nicht möglich"), "{p}");
                    assert_eq!(api.vorgang(&id).await["status"], from.as_str(), "nothing changed");
                }
            }
        }
    }
    assert_eq!(legal_moves, 13);
}

async fn reasons_are_required_where_the_rules_say_so(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let api = app.api("max").await;
    let (id, version) = vorgang_in(&app, &api, VorgangStatus::Neu).await;
    let res = api.command(&id, "VERWERFEN", version, None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json::<Value>().await.expect("json")["detail"], "Für „Verwerfen“ ist eine Begründung erforderlich");
    let res = api.command(&id, "FLIEGEN", version, None).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.expect("json")["field"], "command");
}

async fn conflicting_changes_never_overwrite_silently(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let max = app.api("max").await;
    let erika = app.api("erika").await;
    let (id, version) = vorgang_in(&app, &max, VorgangStatus::Neu).await;

    let first = max.command(&id, "ANNEHMEN", version, None).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = erika.command(&id, "VERWERFEN", version, Some("Dublette")).await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let p: Value = second.json().await.expect("problem");
    assert_eq!(p["currentVersion"], version + 1);
    assert_eq!(max.vorgang(&id).await["status"], "ANGENOMMEN");

    let az = |a: &str, v: i64| json!({"aktenzeichen": a, "version": v});
    let res = max
        .send(reqwest::Method::PUT, &format!("/api/v1/vorgaenge/{id}/aktenzeichen"), az("32.1-7/26", version + 1))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = erika
        .send(reqwest::Method::PUT, &format!("/api/v1/vorgaenge/{id}/aktenzeichen"), az("anders", version + 1))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(max.vorgang(&id).await["aktenzeichen"], "32.1-7/26");

    // Truly concurrent: of many simultaneous changes on one version exactly one wins.
    let v = max.vorgang(&id).await["version"].as_i64().expect("version");
    let path = format!("/api/v1/vorgaenge/{id}/aktenzeichen");
    let results = futures_util::future::join_all(
        (0..8).map(|i| max.send(reqwest::Method::PUT, &path, az(&format!("AZ-{i}"), v))),
    )
    .await;
    let ok = results.iter().filter(|r| r.status() == StatusCode::OK).count();
    let conflicts = results.iter().filter(|r| r.status() == StatusCode::CONFLICT).count();
    assert_eq!((ok, conflicts), (1, 7));
}

async fn assignment_and_aktenzeichen_are_recorded(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let max = app.api("max").await;
    let (id, version) = vorgang_in(&app, &max, VorgangStatus::Neu).await;
    let users = app.server.state.store.tenant(&domain::TenantId::default_tenant()).list_users().await.expect("users");
    let erika = users.iter().find(|u| u.username == "erika").expect("erika");
    let res = max
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/vorgaenge/{id}/zuweisung"),
            json!({"userId": erika.id.0, "version": version}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let v = max.vorgang(&id).await;
    assert_eq!(v["assignee"]["name"], "Erika Mustermann");
    let res = max
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/vorgaenge/{id}/zuweisung"),
            json!({"userId": uuid::Uuid::now_v7(), "version": version + 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "unknown user");
    let too_long = "x".repeat(101);
    let res = max
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/vorgaenge/{id}/aktenzeichen"),
            json!({"aktenzeichen": too_long, "version": version + 1}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let history = max.get_json(&format!("/api/v1/vorgaenge/{id}/historie")).await;
    let kinds: Vec<&str> =
        history.as_array().expect("events").iter().filter_map(|e| e["event"]["type"].as_str()).collect();
    assert_eq!(kinds, ["EINGEGANGEN", "ZUGEWIESEN"]);
    let fachverfahren = Api {
        base: app.server.url(),
        token: app.token(&domain::TenantId::default_tenant(), &[domain::TokenScope::Lesen]).await,
        http: app.http.clone(),
    };
    let events = fachverfahren.get_json("/api/v1/events?after=0").await;
    assert_eq!(events.as_array().expect("events").len(), 2, "the outbox has every change");
}

async fn concurrent_take_next_hands_out_distinct_vorgaenge(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let max = app.api("max").await;
    let erika = app.api("erika").await;
    let mut delivered = Vec::new();
    for _ in 0..10 {
        delivered.push(app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await["vorgang"]["vorgangId"].clone());
    }
    let claims = futures_util::future::join_all((0..24).map(|i| {
        let api = if i % 2 == 0 { max.clone() } else { erika.clone() };
        async move { api.claim_next().await }
    }))
    .await;
    let mut claimed: Vec<String> =
        claims.iter().filter_map(|c| c["vorgang"]["vorgangId"].as_str().map(str::to_owned)).collect();
    assert_eq!(claimed.len(), 10, "every Vorgang handed out once");
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 10, "never the same one twice");
    let unassigned = max.get_json("/api/v1/vorgaenge?ansicht=nicht-zugewiesen").await;
    assert_eq!(unassigned["total"], 0);
    let mine = max.get_json("/api/v1/vorgaenge?ansicht=meine").await["total"].as_u64().expect("n");
    let hers = erika.get_json("/api/v1/vorgaenge?ansicht=meine").await["total"].as_u64().expect("n");
    assert_eq!(mine + hers, 10);
    assert!(max.claim_next().await["vorgang"].is_null(), "empty pile");
}

async fn take_next_takes_the_oldest_first(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let first = app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    app.deliver_ok(&gewerbeanmeldung(&unique("tx"))).await;
    let max = app.api("max").await;
    assert_eq!(max.claim_next().await["vorgang"]["vorgangId"], first["vorgang"]["vorgangId"]);
}

on_both_backends!(
    every_legal_and_illegal_status_move,
    reasons_are_required_where_the_rules_say_so,
    conflicting_changes_never_overwrite_silently,
    assignment_and_aktenzeichen_are_recorded,
    concurrent_take_next_hands_out_distinct_vorgaenge,
    take_next_takes_the_oldest_first,
);
