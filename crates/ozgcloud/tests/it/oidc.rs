//! Login through a real OpenID provider (the certified npm package `oidc-provider`, run under
//! node by the test): authorization code + PKCE through the server's pages, roles and units
//! from the token's claims, no access for identities without an account.

#[path = "../../../web/tests/support/oidc_provider.rs"]
mod oidc_provider;

use crate::helpers::*;
use domain::{Role, TenantId};
use oidc_provider::{login_at_provider, Provider};
use reqwest::StatusCode;
use web::oidc::OidcSettings;

const CLIENT_ID: &str = "ozgcloud";
const SECRET: &str = "test-geheimnis-oidc";
const ACCOUNTS: &str = r#"{
    "max": {"name": "Max Schröder", "ozg_roles": ["SACHBEARBEITUNG", "POSTSTELLE"], "ozg_units": ["10363455"]},
    "fremder": {"name": "Fred Fremder", "ozg_roles": ["ADMIN"], "ozg_units": []}
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_a_real_openid_provider() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let base = format!("http://127.0.0.1:{port}");
    let redirect = format!("{base}/anmelden/oidc/rueckkehr");
    let Some(provider) = Provider::start(CLIENT_ID, SECRET, &[redirect.as_str()], ACCOUNTS) else { return };
    let issuer = provider.issuer.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.listen = format!("127.0.0.1:{port}").parse().expect("addr");
        c.public_url = base.clone();
        c.oidc = Some(OidcSettings::new(issuer, CLIENT_ID, SECRET));
    })
    .await
    .expect("sqlite");
    // The admin entered Max's address; the provider asserts the same one (`<login>@example.org`).
    let tenant = TenantId::default_tenant();
    let state = &app.server.state;
    let max = state.store.tenant(&tenant).find_user_by_username("max").await.expect("find").expect("max");
    let update = store::UserUpdate {
        display_name: max.display_name.clone(),
        email: Some("max@example.org".into()),
        roles: max.roles.clone(),
        units: max.units.clone(),
        disabled: false,
    };
    state.store.tenant(&tenant).update_user(max.id, update).await.expect("e-mail");
    // `fremder` is also the name of a local account, but with another address: not linked.
    ozgcloud::add_user(state, &tenant, "fremder", "Franz Fremder", vec![Role::Admin], vec![], PASSWORD)
        .await
        .expect("fremder");

    let b = app.anonymous_browser("");
    assert!(b.page("/login").await.contains("/anmelden/oidc"), "the login page offers single sign-on");
    let start = b.get("/anmelden/oidc").await;
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    let authorize = start.headers()["location"].to_str().expect("location").to_owned();
    assert!(authorize.starts_with(&provider.issuer) && authorize.contains("code_challenge_method=S256"));
    let back = login_at_provider(&b.http, &authorize, "max", &redirect).await;
    let res = b.http.get(&back).send().await.expect("callback");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap_or_default());
    let worklist = b.get("/vorgaenge").await;
    assert_eq!(worklist.status(), StatusCode::OK);
    assert!(worklist.text().await.expect("html").contains("Max Schröder"));
    // Roles and units came with the token; the identity is linked to the account.
    let max = app.server.state.store.tenant(&tenant).find_user_by_username("max").await.expect("find").expect("max");
    assert_eq!(max.roles, vec![Role::Sachbearbeitung, Role::Poststelle]);
    assert!(max.oidc_subject.as_deref().is_some_and(|s| s.ends_with("|max")), "{:?}", max.oidc_subject);
    let q = store::AuditQuery { before: None, action: Some("anmeldung_oidc".into()), limit: 10 };
    assert_eq!(app.server.state.store.tenant(&tenant).list_audit(&q).await.expect("audit").len(), 1);

    // Same name, unconfirmed address (and an ADMIN claim): no account, no access.
    let stranger = app.anonymous_browser("");
    let authorize = stranger.get("/anmelden/oidc").await.headers()["location"].to_str().expect("location").to_owned();
    let back = login_at_provider(&stranger.http, &authorize, "fremder", &redirect).await;
    let res = stranger.http.get(&back).send().await.expect("callback");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(stranger.get("/vorgaenge").await.status(), StatusCode::SEE_OTHER, "not signed in");

    // A callback without the login's cookie (forged or replayed) is refused.
    let forged = app
        .anonymous_browser("")
        .get(&format!("/anmelden/oidc/rueckkehr?{}", back.split('?').nth(1).unwrap_or("")))
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}
