//! OpenID Connect relying party: authorization code flow with PKCE (S256), `state` and `nonce`.
//!
//! Self-contained: the web layer calls [`OidcClient::discover`] once at startup, [`OidcClient::start`]
//! when a browser wants to log in (keeping the returned [`PendingLogin`] in a short-lived HttpOnly
//! cookie) and [`OidcClient::finish`] on the callback. The identity comes from the ID token only,
//! whose signature is checked against the provider's JWKS.
//!
//! Transport rule: the issuer and every endpoint must be `https`, except on loopback hosts
//! (`127.0.0.0/8`, `::1`, `localhost`), where plain `http` is accepted for development and tests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use url::Url;

/// Timeout of every request to the provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Leeway for `exp`, `nbf` and `iat` of the ID token.
const CLOCK_LEEWAY_SECS: u64 = 60;
/// Largest response body accepted from the provider (discovery, JWKS, token response).
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Longest encoded [`PendingLogin`] that [`PendingLogin::decode`] looks at.
const MAX_PENDING_LEN: usize = 2048;

/// How to reach the OpenID provider and which claims carry roles and units.
#[derive(Clone)]
pub struct OidcSettings {
    /// The issuer identifier, e.g. `https://idp.example.org/realms/ozg`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Space-separated scopes; must contain `openid`. Default `openid profile email`.
    pub scopes: String,
    /// ID-token claim with the roles (array of strings or one string). A name with dots that is not
    /// itself a claim is read as a path, e.g. `realm_access.roles`. Default `ozg_roles`.
    pub roles_claim: String,
    /// ID-token claim with the organisational units, read like `roles_claim`. Default `ozg_units`.
    pub units_claim: String,
}

impl OidcSettings {
    /// Settings with the default scopes and claim names.
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: "openid profile email".to_owned(),
            roles_claim: "ozg_roles".to_owned(),
            units_claim: "ozg_units".to_owned(),
        }
    }
}

impl fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("roles_claim", &self.roles_claim)
            .field("units_claim", &self.units_claim)
            .finish()
    }
}

/// What can go wrong talking to the provider or checking its answer. No message contains a
/// secret, a code or a token.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The settings are unusable (bad issuer URL, no `openid` scope, ...).
    #[error("invalid OIDC settings: {0}")]
    Config(String),
    /// The provider could not be reached or did not answer in time.
    #[error("request to the OpenID provider failed ({context}): {message}")]
    Http { context: &'static str, message: String },
    /// Discovery document or JWKS is missing something or contradicts the settings.
    #[error("invalid OpenID provider metadata: {0}")]
    Discovery(String),
    /// The `state` of the callback is not the one of the pending login (CSRF or a stale tab).
    #[error("state of the callback does not match the pending login")]
    StateMismatch,
    /// The token endpoint refused the code (e.g. `invalid_grant` for a used or expired code).
    #[error("token endpoint answered {status}: {error}{}", .description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    TokenEndpoint { status: u16, error: String, description: Option<String> },
    /// The ID token is missing, badly signed, expired, for someone else or has the wrong nonce.
    #[error("invalid ID token: {0}")]
    InvalidIdToken(String),
}

/// The secrets of one login attempt, kept by the browser (cookie) until the callback.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
}

impl PendingLogin {
    /// URL-safe (base64url of JSON), fit for a cookie value.
    pub fn encode(&self) -> String {
        // Serialising a struct of strings cannot fail; an empty value would simply not decode.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The inverse of [`PendingLogin::encode`]; `None` for anything malformed or incomplete.
    pub fn decode(s: &str) -> Option<Self> {
        if s.is_empty() || s.len() > MAX_PENDING_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).ok()?;
        let pending: PendingLogin = serde_json::from_slice(&bytes).ok()?;
        let complete = !pending.state.is_empty() && !pending.nonce.is_empty() && !pending.verifier.is_empty();
        complete.then_some(pending)
    }
}

/// Who logged in, as the provider says in the ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct OidcIdentity {
    /// `sub`: stable per issuer; together with `issuer` the key of the account.
    pub subject: String,
    pub issuer: String,
    /// `preferred_username`
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<String>,
    pub units: Vec<String>,
}

/// An OpenID provider found by discovery, ready for logins. Cheap to clone.
#[derive(Clone)]
pub struct OidcClient {
    inner: Arc<Inner>,
}

struct Inner {
    settings: OidcSettings,
    /// The issuer exactly as the provider spells it (compared with `iss`).
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    jwks_uri: Url,
    http: reqwest::Client,
    /// Usable signing keys; replaced when a token names a key id we do not know.
    keys: RwLock<Vec<Jwk>>,
}

impl fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.settings.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ProviderMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    response_types_supported: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenErrorResponse {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

impl OidcClient {
    /// Fetches `<issuer>/.well-known/openid-configuration` and the JWKS.
    pub async fn discover(settings: OidcSettings) -> Result<Self, OidcError> {
        if settings.client_id.is_empty() {
            return Err(OidcError::Config("client_id is empty".into()));
        }
        if !settings.scopes.split_ascii_whitespace().any(|s| s == "openid") {
            return Err(OidcError::Config("scopes must contain `openid`".into()));
        }
        let issuer_url =
            Url::parse(&settings.issuer).map_err(|e| OidcError::Config(format!("issuer is not a URL: {e}")))?;
        check_transport(&issuer_url).map_err(|e| OidcError::Config(format!("issuer: {e}")))?;
        if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
            return Err(OidcError::Config("issuer must not have a query or fragment".into()));
        }

        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(HTTP_TIMEOUT)
            // Endpoints are taken literally; a redirect could leak the client credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ozgcloud/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OidcError::Http { context: "client setup", message: e.to_string() })?;

        let discovery_url = format!("{}/.well-known/openid-configuration", settings.issuer.trim_end_matches('/'));
        let meta: ProviderMetadata = get_json(&http, &discovery_url, "discovery").await?;

        // OpenID Connect Discovery 1.0 §4.3: the issuer in the document is the configured one.
        // A trailing slash in the settings is forgiven; `iss` is then compared with the provider's spelling.
        if meta.issuer.trim_end_matches('/') != settings.issuer.trim_end_matches('/') {
            return Err(OidcError::Discovery(format!(
                "issuer in the discovery document is {:?}, expected {:?}",
                meta.issuer, settings.issuer
            )));
        }
        let authorization_endpoint = endpoint(&meta.authorization_endpoint, "authorization_endpoint")?;
        let token_endpoint = endpoint(&meta.token_endpoint, "token_endpoint")?;
        let jwks_uri = endpoint(&meta.jwks_uri, "jwks_uri")?;
        if let Some(methods) = &meta.code_challenge_methods_supported {
            if !methods.iter().any(|m| m == "S256") {
                return Err(OidcError::Discovery("provider does not support PKCE with S256".into()));
            }
        }
        if let Some(methods) = &meta.token_endpoint_auth_methods_supported {
            if !methods.iter().any(|m| m == "client_secret_basic") {
                return Err(OidcError::Discovery("provider does not support client_secret_basic".into()));
            }
        }
        if let Some(types) = &meta.response_types_supported {
            if !types.iter().any(|t| t == "code") {
                return Err(OidcError::Discovery("provider does not support response_type code".into()));
            }
        }

        let keys = fetch_jwks(&http, &jwks_uri).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                issuer: meta.issuer,
                settings,
                authorization_endpoint,
                token_endpoint,
                jwks_uri,
                http,
                keys: RwLock::new(keys),
            }),
        })
    }

    /// The issuer as the provider spells it.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// A fresh login attempt: returns the URL to redirect the browser to and the secrets to keep
    /// (in a short-lived HttpOnly cookie) until the callback.
    pub fn start(&self, redirect_uri: &str) -> (String, PendingLogin) {
        let pending = PendingLogin { state: random_token(), nonce: random_token(), verifier: random_token() };
        let mut url = self.inner.authorization_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.inner.settings.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.inner.settings.scopes)
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &pkce_challenge(&pending.verifier))
            .append_pair("code_challenge_method", "S256");
        (url.into(), pending)
    }

    /// Handles the callback: checks `state` against the pending login, exchanges the code (with the PKCE verifier,
    /// client_secret_basic), validates the ID token (signature against JWKS — refetch JWKS once on unknown `kid`;
    /// iss, aud, exp with 60 s leeway, nonce) and returns the identity.
    pub async fn finish(
        &self,
        pending: &PendingLogin,
        redirect_uri: &str,
        code: &str,
        state: &str,
    ) -> Result<OidcIdentity, OidcError> {
        if pending.state.is_empty() || !constant_time_eq(pending.state.as_bytes(), state.as_bytes()) {
            return Err(OidcError::StateMismatch);
        }
        if code.is_empty() {
            return Err(OidcError::TokenEndpoint {
                status: 0,
                error: "invalid_request".into(),
                description: Some("no authorization code in the callback".into()),
            });
        }
        let id_token = self.exchange_code(pending, redirect_uri, code).await?;
        let claims = self.verify_id_token(&id_token).await?;
        self.check_claims(&claims, &pending.nonce)?;
        Ok(self.identity(&claims))
    }

    async fn exchange_code(&self, pending: &PendingLogin, redirect_uri: &str, code: &str) -> Result<String, OidcError> {
        let settings = &self.inner.settings;
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before they go into the Basic header.
        let credentials = format!("{}:{}", form_encode(&settings.client_id), form_encode(&settings.client_secret));
        let authorization = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials));
        let response = self
            .inner
            .http
            .post(self.inner.token_endpoint.clone())
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", pending.verifier.as_str()),
            ])
            .send()
            .await
            .map_err(|e| http_error("token", e))?;
        let status = response.status();
        let body = read_limited(response, "token").await?;
        if !status.is_success() {
            let parsed: Option<TokenErrorResponse> = serde_json::from_slice(&body).ok();
            let (error, description) = match parsed {
                Some(TokenErrorResponse { error: Some(error), error_description }) => (error, error_description),
                _ => ("unexpected_response".to_owned(), None),
            };
            return Err(OidcError::TokenEndpoint { status: status.as_u16(), error, description });
        }
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| OidcError::TokenEndpoint {
            status: status.as_u16(),
            error: "invalid_response".into(),
            description: Some(format!("token response is not valid JSON: {e}")),
        })?;
        token
            .id_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OidcError::InvalidIdToken("token response has no id_token".into()))
    }

    /// Signature and the standard claims (`iss`, `aud`, `exp`, `nbf`); returns all claims.
    async fn verify_id_token(&self, token: &str) -> Result<serde_json::Map<String, Value>, OidcError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| OidcError::InvalidIdToken(format!("unreadable header: {e}")))?;
        if !is_asymmetric(header.alg) {
            return Err(OidcError::InvalidIdToken(format!("algorithm {:?} is not accepted", header.alg)));
        }
        match self.verify_with_known_keys(token, header.alg, header.kid.as_deref()) {
            Err(Verify::NoKey) => {
                // Probably a key rotation at the provider: fetch the JWKS once more and retry.
                let fresh = fetch_jwks(&self.inner.http, &self.inner.jwks_uri).await?;
                *self.inner.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
                match self.verify_with_known_keys(token, header.alg, header.kid.as_deref()) {
                    Ok(claims) => Ok(claims),
                    Err(Verify::NoKey) => Err(OidcError::InvalidIdToken(format!(
                        "no signing key for kid {:?} and algorithm {:?} in the provider's JWKS",
                        header.kid, header.alg
                    ))),
                    Err(Verify::Failed(e)) => Err(e),
                }
            }
            Ok(claims) => Ok(claims),
            Err(Verify::Failed(e)) => Err(e),
        }
    }

    fn verify_with_known_keys(
        &self,
        token: &str,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<serde_json::Map<String, Value>, Verify> {
        let keys = self.inner.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let candidates: Vec<DecodingKey> = keys
            .iter()
            .filter(|jwk| kid.is_none() || jwk.common.key_id.as_deref() == kid)
            .filter(|jwk| key_fits(jwk, alg))
            .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
            .collect();
        if candidates.is_empty() {
            return Err(Verify::NoKey);
        }

        let mut validation = Validation::new(alg);
        validation.leeway = CLOCK_LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[self.inner.issuer.as_str()]);
        validation.set_audience(&[self.inner.settings.client_id.as_str()]);
        validation.set_required_spec_claims(&["iss", "sub", "aud", "exp"]);

        let mut last = None;
        for key in &candidates {
            match jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, key, &validation) {
                Ok(data) => return Ok(data.claims),
                // Without a kid several keys may fit; only a bad signature means "try the next one".
                Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => last = Some(e),
                Err(e) => return Err(Verify::Failed(jwt_error(&e))),
            }
        }
        Err(Verify::Failed(match last {
            Some(e) => jwt_error(&e),
            None => OidcError::InvalidIdToken("signature check failed".into()),
        }))
    }

    /// The OIDC-specific checks jsonwebtoken does not know: nonce, azp, iat.
    fn check_claims(&self, claims: &serde_json::Map<String, Value>, nonce: &str) -> Result<(), OidcError> {
        match claims.get("nonce").and_then(Value::as_str) {
            Some(got) if !nonce.is_empty() && constant_time_eq(got.as_bytes(), nonce.as_bytes()) => {}
            Some(_) => return Err(OidcError::InvalidIdToken("nonce does not match the pending login".into())),
            None => return Err(OidcError::InvalidIdToken("nonce missing".into())),
        }
        let client_id = self.inner.settings.client_id.as_str();
        let several_audiences = claims.get("aud").and_then(Value::as_array).is_some_and(|a| a.len() > 1);
        match claims.get("azp").and_then(Value::as_str) {
            Some(azp) if azp != client_id => {
                return Err(OidcError::InvalidIdToken("azp names another client".into()));
            }
            None if several_audiences => {
                return Err(OidcError::InvalidIdToken("several audiences but no azp".into()));
            }
            _ => {}
        }
        if let Some(iat) = claims.get("iat").and_then(Value::as_u64) {
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            if iat > now.saturating_add(CLOCK_LEEWAY_SECS) {
                return Err(OidcError::InvalidIdToken("issued in the future".into()));
            }
        }
        match claims.get("sub").and_then(Value::as_str) {
            Some(sub) if !sub.is_empty() => Ok(()),
            _ => Err(OidcError::InvalidIdToken("sub missing or empty".into())),
        }
    }

    fn identity(&self, claims: &serde_json::Map<String, Value>) -> OidcIdentity {
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        OidcIdentity {
            subject: text("sub").unwrap_or_default(),
            issuer: text("iss").unwrap_or_else(|| self.inner.issuer.clone()),
            username: text("preferred_username"),
            name: text("name"),
            email: text("email"),
            roles: string_list(claim_at(claims, &self.inner.settings.roles_claim)),
            units: string_list(claim_at(claims, &self.inner.settings.units_claim)),
        }
    }
}

enum Verify {
    /// No key in the JWKS fits `kid`/`alg`.
    NoKey,
    Failed(OidcError),
}

fn jwt_error(e: &jsonwebtoken::errors::Error) -> OidcError {
    use jsonwebtoken::errors::ErrorKind as K;
    let reason = match e.kind() {
        K::InvalidSignature => "signature does not verify".to_owned(),
        K::ExpiredSignature => "expired".to_owned(),
        K::ImmatureSignature => "not valid yet (nbf)".to_owned(),
        K::InvalidIssuer => "issued by another issuer".to_owned(),
        K::InvalidAudience => "issued for another client (aud)".to_owned(),
        K::MissingRequiredClaim(c) => format!("claim {c} missing"),
        K::InvalidAlgorithm => "algorithm does not fit the key".to_owned(),
        other => format!("{other:?}"),
    };
    OidcError::InvalidIdToken(reason)
}

/// Signature algorithms accepted for ID tokens: public-key ones only (no HMAC with the client secret).
fn is_asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// Whether `jwk` is a signing key usable with `alg`.
fn key_fits(jwk: &Jwk, alg: Algorithm) -> bool {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return false;
    }
    if let Some(key_alg) = jwk.common.key_algorithm {
        if format!("{key_alg:?}") != format!("{alg:?}") {
            return false;
        }
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(p) => {
            matches!((&p.curve, alg), (EllipticCurve::P256, Algorithm::ES256) | (EllipticCurve::P384, Algorithm::ES384))
        }
        AlgorithmParameters::OctetKeyPair(p) => p.curve == EllipticCurve::Ed25519 && alg == Algorithm::EdDSA,
        AlgorithmParameters::OctetKey(_) => false,
    }
}

async fn fetch_jwks(http: &reqwest::Client, jwks_uri: &Url) -> Result<Vec<Jwk>, OidcError> {
    #[derive(Deserialize)]
    struct RawSet {
        keys: Vec<Value>,
    }
    let raw: RawSet = get_json(http, jwks_uri.as_str(), "jwks").await?;
    // Keys of other kinds (encryption keys, curves ring lacks) are skipped, not fatal.
    let keys: Vec<Jwk> = raw
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .filter(|k| !matches!(k.algorithm, AlgorithmParameters::OctetKey(_)))
        .filter(|k| matches!(k.common.public_key_use, None | Some(PublicKeyUse::Signature)))
        .collect();
    if keys.is_empty() {
        return Err(OidcError::Discovery("JWKS has no usable signing key".into()));
    }
    Ok(keys)
}

async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    context: &'static str,
) -> Result<T, OidcError> {
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| http_error(context, e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(OidcError::Http { context, message: format!("{url} answered {status}") });
    }
    let body = read_limited(response, context).await?;
    serde_json::from_slice(&body).map_err(|e| OidcError::Discovery(format!("{context}: {url} is not valid: {e}")))
}

async fn read_limited(mut response: reqwest::Response, context: &'static str) -> Result<Vec<u8>, OidcError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| http_error(context, e))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(OidcError::Http { context, message: "response too large".into() });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn http_error(context: &'static str, e: reqwest::Error) -> OidcError {
    // reqwest's message names the URL (no query secrets are ever in ours) but never the body.
    let message = if e.is_timeout() { format!("timed out: {e}") } else { e.to_string() };
    OidcError::Http { context, message }
}

fn endpoint(raw: &str, name: &str) -> Result<Url, OidcError> {
    let url = Url::parse(raw).map_err(|e| OidcError::Discovery(format!("{name} is not a URL: {e}")))?;
    check_transport(&url).map_err(|e| OidcError::Discovery(format!("{name}: {e}")))?;
    Ok(url)
}

/// `https`, or `http` on a loopback host.
fn check_transport(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!("{url} must use https (plain http only on loopback)")),
        other => Err(format!("{url}: scheme {other} is not supported")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A claim by exact name, or else by a dotted path (`realm_access.roles`).
fn claim_at<'a>(claims: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    if name.is_empty() {
        return None;
    }
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut current = claims.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

/// An array of strings (non-strings dropped) or a single string; anything else is empty.
fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// 32 bytes from the OS, base64url without padding (43 characters).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7636 S256: base64url(sha256(verifier)).
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn random_tokens_are_43_url_safe_chars_and_differ() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a, b);
    }

    #[test]
    fn pending_login_round_trips_and_rejects_garbage() {
        let p = PendingLogin { state: random_token(), nonce: random_token(), verifier: random_token() };
        let encoded = p.encode();
        assert!(encoded.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        let back = PendingLogin::decode(&encoded).expect("decodes");
        assert_eq!((back.state, back.nonce, back.verifier), (p.state, p.nonce, p.verifier));

        assert!(PendingLogin::decode("").is_none());
        assert!(PendingLogin::decode("not base64!").is_none());
        assert!(PendingLogin::decode(&URL_SAFE_NO_PAD.encode(b"{\"state\":1}")).is_none());
        let empty = PendingLogin { state: String::new(), nonce: "n".into(), verifier: "v".into() };
        assert!(PendingLogin::decode(&empty.encode()).is_none());
        assert!(PendingLogin::decode(&"A".repeat(MAX_PENDING_LEN + 1)).is_none());
    }

    #[test]
    fn transport_rule() {
        let ok = |s: &str| check_transport(&Url::parse(s).expect("url")).is_ok();
        assert!(ok("https://idp.example.org/realms/x"));
        assert!(ok("http://127.0.0.1:8080"));
        assert!(ok("http://127.1.2.3"));
        assert!(ok("http://[::1]:9000"));
        assert!(ok("http://localhost:9000"));
        assert!(!ok("http://idp.example.org"));
        assert!(!ok("http://10.0.0.1"));
        assert!(!ok("ftp://127.0.0.1"));
    }

    #[test]
    fn claims_by_name_or_path() {
        let claims: serde_json::Map<String, Value> = serde_json::from_value(serde_json::json!({
            "ozg_roles": ["A", "B", 3],
            "single": "X",
            "realm_access": {"roles": ["R1"]},
            "https://example.org/units": ["U"],
        }))
        .expect("map");
        assert_eq!(string_list(claim_at(&claims, "ozg_roles")), ["A", "B"]);
        assert_eq!(string_list(claim_at(&claims, "single")), ["X"]);
        assert_eq!(string_list(claim_at(&claims, "realm_access.roles")), ["R1"]);
        assert_eq!(string_list(claim_at(&claims, "https://example.org/units")), ["U"]);
        assert!(string_list(claim_at(&claims, "missing")).is_empty());
        assert!(string_list(claim_at(&claims, "")).is_empty());
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(form_encode("a b:+/ä"), "a+b%3A%2B%2F%C3%A4");
    }

    #[test]
    fn settings_debug_hides_the_secret() {
        let s = OidcSettings::new("https://idp", "client", "very-secret");
        assert!(!format!("{s:?}").contains("very-secret"));
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
