use crate::helpers::*;
use serde_json::Value;

async fn worklist_sorts_pages_and_filters(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let n = ozgcloud::demo::seed(&app.server.state, 120).await.expect("demo");
    assert_eq!(n, 120);
    // Max works all five demo units here, so his worklist holds every Vorgang.
    let state = &app.server.state;
    let tenant = domain::TenantId::default_tenant();
    let units: Vec<_> =
        state.store.tenant(&tenant).list_units().await.expect("units").into_iter().map(|u| u.id).collect();
    let max = state.store.tenant(&tenant).find_user_by_username("max").await.expect("find").expect("max");
    let update = store::UserUpdate {
        display_name: max.display_name.clone(),
        email: None,
        roles: max.roles.clone(),
        units,
        disabled: false,
    };
    state.store.tenant(&tenant).update_user(max.id, update).await.expect("units for max");
    let api = app.api("max").await;
    let all = api.get_json("/api/v1/vorgaenge?proSeite=50").await;
    assert_eq!(all["total"], 120);
    assert_eq!(all["items"].as_array().expect("items").len(), 50);
    let counts: u64 = all["counts"].as_object().expect("counts").values().filter_map(Value::as_u64).sum();
    assert_eq!(counts, 120);
    let dates: Vec<&str> =
        all["items"].as_array().expect("items").iter().filter_map(|i| i["eingangAt"].as_str()).collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first by default");

    let last = api.get_json("/api/v1/vorgaenge?proSeite=50&seite=3").await;
    assert_eq!(last["items"].as_array().expect("items").len(), 20);

    let by_nummer = api.get_json("/api/v1/vorgaenge?sort=nummer&richtung=asc&proSeite=500").await;
    let nummern: Vec<&str> =
        by_nummer["items"].as_array().expect("items").iter().filter_map(|i| i["vorgangNummer"].as_str()).collect();
    assert!(nummern.windows(2).all(|w| w[0] <= w[1]));

    let neu = api.get_json("/api/v1/vorgaenge?status=NEU&proSeite=500").await;
    assert_eq!(neu["total"], all["counts"]["NEU"]);
    assert!(neu["items"].as_array().expect("items").iter().all(|i| i["status"] == "NEU"));

    let mine = api.get_json("/api/v1/vorgaenge?ansicht=meine&proSeite=500").await;
    assert!(mine["items"].as_array().expect("items").iter().all(|i| i["assignee"]["name"] == "Max Schröder"));
    let unassigned = api.get_json("/api/v1/vorgaenge?ansicht=nicht-zugewiesen&proSeite=500").await;
    assert!(unassigned["items"].as_array().expect("items").iter().all(|i| i["assignee"].is_null()));

    let browser = app.browser("max").await;
    let page = browser.page("/vorgaenge?ansicht=alle&status=IN_BEARBEITUNG&sort=formular&richtung=asc").await;
    assert!(page.contains("aria-sort=\"ascending\""));
    assert!(page.contains("im Status „In Bearbeitung“"));
    for column in ["Status", "Aktenzeichen", "Vorgangsnummer", "Formularname", "Eingangsdatum", "Sachbearbeiter:in"] {
        assert!(page.contains(column), "column {column}");
    }
    for label in ["Neu", "Angenommen", "In Bearbeitung", "Beschieden", "Abgeschlossen", "Verworfen", "Zu Löschen"] {
        assert!(page.contains(&format!("<span>{label}</span>")), "count for {label}");
    }
}

on_both_backends!(worklist_sorts_pages_and_filters,);
