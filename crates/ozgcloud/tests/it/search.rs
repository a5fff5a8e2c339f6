//! "Vorgang suchen" and the worklist filters (issue 6): the page (search box, filters,
//! highlighting, escaping, bookmarkable URLs) and the API, on both backends.

use crate::helpers::*;
use serde_json::Value;

/// A Gewerbeanmeldung of `vorname nachname` doing `taetigkeit`, for the unit with `kennung`.
fn antrag(vorname: &str, nachname: &str, taetigkeit: &str, kennung: &str) -> Value {
    let mut v = gewerbeanmeldung(&unique("tx"));
    v["control"]["zustaendigeStelle"] = kennung.into();
    v["control"]["organisationsEinheitenId"] = kennung.into();
    let person = &mut v["formData"][0]["formItems"][0]["formItems"];
    person[0]["stringValue"] = vorname.into();
    person[1]["stringValue"] = nachname.into();
    v["formData"][1]["formItems"][0]["stringValue"] = taetigkeit.into();
    v
}

async fn deliver(app: &TestApp, antrag: &Value) -> (String, String) {
    let receipt = app.deliver_ok(antrag).await;
    let v = &receipt["vorgang"];
    (v["vorgangId"].as_str().expect("id").to_owned(), v["vorgangNummer"].as_str().expect("nummer").to_owned())
}

fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().expect("items").iter().filter_map(|i| i["vorgangId"].as_str().map(str::to_owned)).collect()
}

async fn search_page_highlights_and_escapes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let (mueller, nummer) = deliver(&app, &antrag("Jürgen", "Müller", "Töpferei und Keramik", KENNUNG)).await;
    let (hostile, _) = deliver(&app, &antrag("Eve", "<script>alert(1)</script>", "Hacking", KENNUNG)).await;
    let (_other, _) = deliver(&app, &antrag("Hans", "Schmidt", "Bäckerei", KENNUNG)).await;
    let max = app.browser("max").await;

    let page = max.page("/vorgaenge").await;
    assert!(page.contains("<label for=\"suche\">Vorgang suchen</label>"), "a visible label");
    assert!(page.contains("<form class=\"search\" method=\"get\""), "a GET form: works without JavaScript");
    for label in ["Formular", "Organisationseinheit", "Bearbeiter/in", "Eingang von", "Eingang bis"] {
        assert!(page.contains(&format!(">{label}</label>")), "filter {label}");
    }
    assert!(page.contains("<legend>Filter</legend>"));
    assert!(page.contains("<option value=\"Gewerbeanmeldung\">Gewerbeanmeldung</option>"), "the forms to choose");
    assert!(page.contains("Max Schröder</option>"), "the colleagues to choose");
    assert!(!page.contains("alert(1)</script>"), "applicant names are escaped in the plain worklist too");

    for q in ["mueller", "MÜLLER", "Müll", "muller jurg"] {
        let page = max.page(&format!("/vorgaenge?suche={}", urlencode(q))).await;
        assert!(page.contains(&format!("/vorgaenge/{mueller}\"")), "{q}: Müller's Vorgang is listed");
        assert!(!page.contains(&format!("/vorgaenge/{hostile}\"")), "{q}: only hits are listed");
        assert!(page.contains("<mark>Müller</mark>"), "{q}: the hit is highlighted as written");
        assert!(page.contains("1 Vorgang gefunden"), "{q}: the number of hits");
    }
    // A hit in the form data: a snippet with the hit marked.
    let page = max.page("/vorgaenge?suche=keram").await;
    assert!(page.contains("Töpferei und <mark>Keramik</mark>"), "snippet of the form data");
    assert!(page.contains("Treffer in den Antragsdaten"));
    // The Vorgangsnummer, marked in its column.
    let page = max.page(&format!("/vorgaenge?suche={nummer}")).await;
    assert!(page.contains(&format!("/vorgaenge/{mueller}\"")));
    assert!(page.contains("<mark>"), "the number's parts are marked");

    // A hostile name is text, never markup, also when it is a hit.
    let page = max.page("/vorgaenge?suche=script").await;
    assert!(page.contains(&format!("/vorgaenge/{hostile}\"")));
    assert!(!page.contains("<script>alert"), "no markup from user data");
    assert!(entities(&page).contains("&lt;<mark>script</mark>&gt;"), "escaped, and the hit marked");
    let page = max.page("/vorgaenge?suche=%3Cscript%3Ealert").await;
    assert!(!page.contains("<script>alert"), "the query itself is escaped when shown");
    assert!(entities(&page).contains("value=\"&lt;script&gt;alert\""), "the search box shows what was typed");

    let page = max.page("/vorgaenge?suche=xyzzy").await;
    assert!(page.contains("Keine Vorgänge gefunden"), "an empty result says so");
    assert!(page.contains("0 Vorgänge gefunden"));

    // Nothing searchable typed (one letter, a dash): said, not silently ignored.
    let page = max.page("/vorgaenge?suche=m+%E2%80%93").await;
    assert!(page.contains("wurde nicht gesucht: Suchwörter brauchen mindestens zwei"), "why nothing was searched");
    assert!(page.contains("value=\"m –\""), "the box keeps what was typed");
}

async fn filters_combine_and_stay_in_the_url(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let (a, _) = deliver(&app, &antrag("Klara", "Muster", "Keramik", KENNUNG)).await;
    let (b, _) = deliver(&app, &antrag("Klaus", "Muster", "Keramik", KENNUNG)).await;
    let (c, _) = deliver(&app, &antrag("Hans", "Schmidt", "Keramik", KENNUNG)).await;
    let api = app.api("max").await;
    // Max takes the oldest new one (a).
    assert_eq!(api.claim_next().await["vorgang"]["vorgangId"], a.as_str());
    let max = app.server.state.store.tenant(&domain::TenantId::default_tenant()).find_user_by_username("max").await;
    let max = max.expect("lookup").expect("max");
    let units = app.server.state.store.tenant(&domain::TenantId::default_tenant()).list_units().await.expect("units");
    let unit = units.iter().find(|u| u.kennung == KENNUNG).expect("Gewerbeamt").id;
    // The filters take German calendar days (Europe/Berlin), as the product computes them; the
    // UTC date is a day behind from 22:00 or 23:00 UTC on. Taken after the deliveries, so they
    // are never after "today".
    let today = web::fmt::today();
    let iso = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let (yesterday, tomorrow) = (iso(today.previous_day().expect("day")), iso(today.next_day().expect("day")));

    let all = api.get_json("/api/v1/vorgaenge?suche=keramik").await;
    assert_eq!(
        (all["total"].as_u64(), all["counts"]["NEU"].as_u64(), all["counts"]["NEU"].as_u64()),
        (Some(3), Some(3), Some(3))
    );
    assert!(all["items"][0]["treffer"].as_str().is_some_and(|t| t.contains("Keramik")), "the API returns the snippet");
    let muster = api.get_json("/api/v1/vorgaenge?suche=muster&richtung=asc").await;
    assert_eq!(ids(&muster), vec![a.clone(), b.clone()]);
    assert_eq!(muster["items"][0]["treffer"].as_str().map(|t| t.contains("Muster")), Some(true));
    let mine = api.get_json(&format!("/api/v1/vorgaenge?suche=muster&bearbeiter={}", max.id.0)).await;
    assert_eq!(ids(&mine), vec![a.clone()], "by assignee");
    let unassigned = api.get_json("/api/v1/vorgaenge?suche=muster&ansicht=nicht-zugewiesen").await;
    assert_eq!(ids(&unassigned), vec![b.clone()], "search within a view");
    let combined = api
        .get_json(&format!(
            "/api/v1/vorgaenge?suche=keramik&formular=Gewerbeanmeldung&einheit={unit}&von={yesterday}&bis={tomorrow}&status=NEU&richtung=asc"
        ))
        .await;
    assert_eq!(ids(&combined), vec![a.clone(), b.clone(), c.clone()], "all filters together");
    let future = api.get_json(&format!("/api/v1/vorgaenge?von={tomorrow}")).await;
    assert_eq!(future["total"], 0, "by Eingang date");
    assert_eq!(api.get_json("/api/v1/vorgaenge?formular=Hundesteuer").await["total"], 0, "by form");
    let status = api.get_json("/api/v1/vorgaenge?suche=muster&status=IN_BEARBEITUNG").await;
    assert_eq!((status["total"].as_u64(), status["counts"]["NEU"].as_u64()), (Some(0), Some(2)), "counts of the hits");

    // The page keeps every filter in its links: sort, status, view and paging.
    let browser = app.browser("max").await;
    let url = format!(
        "/vorgaenge?ansicht=alle&suche=Muster&formular=Gewerbeanmeldung&einheit={unit}&von={yesterday}&bis={tomorrow}"
    );
    let page = browser.page(&url).await;
    let sort_link = page
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("sort=nummer"))
        .expect("a sort link")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    for part in [
        "suche=Muster",
        "formular=Gewerbeanmeldung",
        &format!("einheit={unit}"),
        &format!("von={yesterday}"),
        &format!("bis={tomorrow}"),
    ] {
        assert!(sort_link.contains(part), "sort link keeps {part}: {sort_link}");
    }
    let sorted = browser.page(&sort_link).await;
    assert!(sorted.contains(&format!("/vorgaenge/{a}\"")) && sorted.contains(&format!("/vorgaenge/{b}\"")));
    assert!(!sorted.contains(&format!("/vorgaenge/{c}\"")), "the bookmark reproduces the search");
    assert!(sorted.contains("value=\"Muster\""), "the search box keeps the text");
    assert!(sorted.contains(&format!("<option value=\"{unit}\" selected>")), "the unit stays selected");
    assert!(sorted.contains(&format!("value=\"{yesterday}\"")), "the dates stay");
    assert!(sorted.contains("Suche und Filter zurücksetzen"));
    // The hidden fields carry view and sort into the next search.
    assert!(sorted.contains("<input type=\"hidden\" name=\"sort\" value=\"nummer\">"));
}

async fn search_respects_visibility_and_tenants(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let tenant = domain::TenantId::default_tenant();
    let bauamt = store::NewUnit { id: domain::UnitId::new(), name: "Bauamt".into(), kennung: "bau-4711".into() };
    app.server.state.store.tenant(&tenant).create_unit(bauamt).await.expect("unit");
    let (mine, _) = deliver(&app, &antrag("Klara", "Zwölfling", "Keramik", KENNUNG)).await;
    let (bau, bau_nummer) = deliver(&app, &antrag("Otto", "Zwölfling", "Keramik", "bau-4711")).await;
    let api = app.api("max").await;
    // A NEU Vorgang of another unit is not Max's; once accepted by someone there, never.
    let found = api.get_json("/api/v1/vorgaenge?suche=zwolfling").await;
    assert!(ids(&found).contains(&mine));
    let bau_vorgang =
        app.server.state.store.tenant(&tenant).get_vorgang(domain::VorgangId(bau.parse().expect("uuid"))).await;
    let bau_vorgang = bau_vorgang.expect("bau");
    let actor = store::Actor::system("Test");
    let change = store::VorgangChange::Status {
        command: domain::StatusCommand::Annehmen,
        from: domain::VorgangStatus::Neu,
        to: domain::VorgangStatus::Angenommen,
        reason: None,
    };
    app.server
        .state
        .store
        .tenant(&tenant)
        .apply_change(bau_vorgang.head.id, bau_vorgang.head.version, change, &actor)
        .await
        .expect("annehmen");
    for q in ["zwolfling", "otto", bau_nummer.as_str()] {
        let found = api.get_json(&format!("/api/v1/vorgaenge?suche={}", urlencode(q))).await;
        assert!(!ids(&found).contains(&bau), "{q}: another unit's Vorgang is never found");
        let page = app.browser("max").await.page(&format!("/vorgaenge?suche={}", urlencode(q))).await;
        assert!(!page.contains(&bau), "{q}: not on the page either");
    }
    // Another tenant's clerk finds only her tenant's.
    let kiel = app.other_tenant("kiel", "kiel-ordnung").await;
    let (theirs, _) = deliver(&app, &antrag("Klara", "Zwölfling", "Keramik", &kiel.kennung)).await;
    let anna = app.api_at(&kiel.prefix, "anna", PASSWORD).await;
    assert_eq!(ids(&anna.get_json("/api/v1/vorgaenge?suche=zwolfling").await), vec![theirs.clone()]);
    assert!(!ids(&api.get_json("/api/v1/vorgaenge?suche=zwolfling").await).contains(&theirs));
}

/// Numeric character references as named ones (the template engine writes `&#60;`).
fn entities(html: &str) -> String {
    html.replace("&#60;", "&lt;").replace("&#62;", "&gt;").replace("&#38;", "&amp;").replace("&#34;", "&quot;")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

on_both_backends!(
    search_page_highlights_and_escapes,
    filters_combine_and_stay_in_the_url,
    search_respects_visibility_and_tenants,
);
