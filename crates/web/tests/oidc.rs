//! The OIDC relying party (`ozgcloud_web::oidc`) against a real OpenID provider: the certified npm
//! package `oidc-provider`, run by `node tests/oidc-provider/provider.mjs`.
//!
//! Needs `node` and `npm ci` in `tests/oidc-provider`; without them the tests print why and pass,
//! except with `CI=true`, where they fail.

#[path = "support/oidc_provider.rs"]
mod oidc_provider;

use oidc_provider::{login_at_provider, Provider, ProviderConfig};
use ozgcloud_web::oidc::{OidcClient, OidcError, OidcIdentity, OidcSettings, PendingLogin};
use std::time::Duration;

const CLIENT_ID: &str = "ozgcloud-test";
/// Characters that must be form-encoded in the Basic header (RFC 6749 §2.3.1); oidc-provider allows
/// printable ASCII only.
const SECRET: &str = "s3cr3t:+/ %=&?";
/// Nothing listens there: the flow stops at the redirect to it.
const REDIRECT_URI: &str = "http://127.0.0.1:9/oidc/callback";
const ACCOUNTS: &str =
    r#"{"max":{"name":"Max Schröder","ozg_roles":["SACHBEARBEITUNG"],"ozg_units":["fachdienst-ordnung"]}}"#;

fn start_provider(id_token_alg: &str) -> Option<Provider> {
    Provider::start_with(ProviderConfig {
        client_id: CLIENT_ID.into(),
        client_secret: SECRET.into(),
        redirect_uris: vec![REDIRECT_URI.into()],
        accounts_json: ACCOUNTS.into(),
        id_token_alg: id_token_alg.into(),
        port: None,
    })
}

/// A browser: keeps cookies, follows no redirect by itself.
fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

async fn discover(issuer: &str, secret: &str) -> Result<OidcClient, OidcError> {
    OidcClient::discover(OidcSettings::new(issuer, CLIENT_ID, secret)).await
}

/// One login at the provider up to the callback: the pending login, `code` and `state`.
async fn login(client: &OidcClient, browser: &reqwest::Client, user: &str) -> (PendingLogin, String, String) {
    let (authorize_url, pending) = client.start(REDIRECT_URI);
    let callback = login_at_provider(browser, &authorize_url, user, REDIRECT_URI).await;
    let callback = reqwest::Url::parse(&callback).expect("callback URL");
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {name} in {callback}"))
    };
    assert_eq!(callback.path(), "/oidc/callback");
    (pending, param("code"), param("state"))
}

fn assert_max(identity: &OidcIdentity, issuer: &str) {
    assert_eq!(
        identity,
        &OidcIdentity {
            subject: "max".into(),
            issuer: issuer.into(),
            username: Some("max".into()),
            name: Some("Max Schröder".into()),
            email: Some("max@example.org".into()),
            roles: vec!["SACHBEARBEITUNG".into()],
            units: vec!["fachdienst-ordnung".into()],
        }
    );
}

#[tokio::test]
async fn authorization_code_flow_against_a_real_provider() {
    let Some(provider) = start_provider("RS256") else { return };
    let client = discover(&provider.issuer, SECRET).await.expect("discovery");
    assert_eq!(client.issuer(), provider.issuer);

    // The authorization request carries PKCE S256, state and nonce.
    let (url, pending) = client.start(REDIRECT_URI);
    let url = reqwest::Url::parse(&url).expect("authorization URL");
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["scope"], "openid profile email");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["state"], pending.state);
    assert_eq!(params["nonce"], pending.nonce);
    assert_ne!(params["code_challenge"], pending.verifier);
    assert_eq!(pending.verifier.len(), 43);

    let browser = new_browser();
    let (pending, code, state) = login(&client, &browser, "max").await;
    assert_eq!(state, pending.state);

    // A foreign state is refused before the code is spent.
    let err = client.finish(&pending, REDIRECT_URI, &code, "forged-state").await.expect_err("wrong state");
    assert!(matches!(err, OidcError::StateMismatch), "{err:?}");

    // The pending login survives its cookie.
    let pending = PendingLogin::decode(&pending.encode()).expect("cookie round trip");
    let identity = client.finish(&pending, REDIRECT_URI, &code, &state).await.expect("login");
    assert_max(&identity, &provider.issuer);

    // A code works once.
    let err = client.finish(&pending, REDIRECT_URI, &code, &state).await.expect_err("code reuse");
    assert!(matches!(&err, OidcError::TokenEndpoint { error, .. } if error == "invalid_grant"), "{err:?}");

    // A nonce other than the one sent: the ID token is refused (the browser's session at the
    // provider is reused, no login form this time).
    let (mut pending, code, state) = login(&client, &browser, "max").await;
    pending.nonce = "tampered-nonce".into();
    let err = client.finish(&pending, REDIRECT_URI, &code, &state).await.expect_err("tampered nonce");
    assert!(matches!(&err, OidcError::InvalidIdToken(m) if m.contains("nonce")), "{err:?}");

    // A PKCE verifier other than the one the challenge was made from: the provider refuses the code.
    let (mut pending, code, state) = login(&client, &browser, "max").await;
    pending.verifier = "x".repeat(43);
    let err = client.finish(&pending, REDIRECT_URI, &code, &state).await.expect_err("wrong verifier");
    assert!(matches!(&err, OidcError::TokenEndpoint { error, .. } if error == "invalid_grant"), "{err:?}");

    // An account the provider knows nothing special about: no roles, no units, name = login.
    let (pending, code, state) = login(&client, &new_browser(), "erika").await;
    let erika = client.finish(&pending, REDIRECT_URI, &code, &state).await.expect("login erika");
    assert_eq!(erika.subject, "erika");
    assert_eq!(erika.username.as_deref(), Some("erika"));
    assert_eq!(erika.name.as_deref(), Some("erika"));
    assert_eq!(erika.email.as_deref(), Some("erika@example.org"));
    assert!(erika.roles.is_empty() && erika.units.is_empty(), "{erika:?}");

    // A wrong client secret: the token endpoint refuses the client; the secret is not in the message.
    let impostor = discover(&provider.issuer, "wrong-secret").await.expect("discovery");
    let (pending, code, state) = login(&impostor, &browser, "max").await;
    let err = impostor.finish(&pending, REDIRECT_URI, &code, &state).await.expect_err("wrong secret");
    assert!(matches!(&err, OidcError::TokenEndpoint { error, .. } if error == "invalid_client"), "{err:?}");
    assert!(!err.to_string().contains("wrong-secret"), "{err}");

    // Discovery under a different issuer fails.
    let err = discover(&format!("{}/elsewhere", provider.issuer), SECRET).await.expect_err("wrong issuer");
    assert!(matches!(err, OidcError::Http { .. } | OidcError::Discovery(_)), "{err:?}");
}

#[tokio::test]
async fn es256_id_tokens_and_key_rotation() {
    let Some(mut provider) = start_provider("ES256") else { return };
    let client = discover(&provider.issuer, SECRET).await.expect("discovery");

    let (pending, code, state) = login(&client, &new_browser(), "max").await;
    let identity = client.finish(&pending, REDIRECT_URI, &code, &state).await.expect("ES256 login");
    assert_max(&identity, &provider.issuer);

    // The provider comes back with new signing keys; the client only knows the old JWKS and must
    // fetch it again when the ID token names an unknown kid.
    provider.restart();
    let (pending, code, state) = login(&client, &new_browser(), "max").await;
    let identity = client.finish(&pending, REDIRECT_URI, &code, &state).await.expect("login after rotation");
    assert_max(&identity, &provider.issuer);
}

#[tokio::test]
async fn plain_http_is_refused_off_loopback() {
    let err = discover("http://idp.example.org/realms/ozg", SECRET).await.expect_err("plain http");
    assert!(matches!(err, OidcError::Config(_)), "{err:?}");
    let mut settings = OidcSettings::new("https://idp.example.org", CLIENT_ID, SECRET);
    settings.scopes = "profile email".into();
    let err = OidcClient::discover(settings).await.expect_err("no openid scope");
    assert!(matches!(err, OidcError::Config(_)), "{err:?}");
}
