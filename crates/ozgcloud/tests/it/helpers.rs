//! `TestApp`: the real server on a random port with a fresh temp data dir, and typed helpers
//! so tests read as stories.

use domain::{Role, UnitId};
use ozgcloud::{Config, Server};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use store_postgres::testing::TestDatabase;

pub const PASSWORD: &str = "test-passwort-123";
/// The `zustaendigeStelle` of the test forms; the default tenant's Gewerbeamt carries it.
pub const KENNUNG: &str = "10363455";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` as two tests, `<name>::sqlite` and `<name>::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

pub struct TestApp {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub db: Option<TestDatabase>,
    pub http: Client,
}

impl TestApp {
    /// The real server on a random port with a fresh data dir and, for PostgreSQL, a fresh
    /// database. `None` when PostgreSQL is not reachable outside CI (the test is skipped).
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await?),
        };
        Some(Self::start_in(dir, db, adjust).await)
    }

    /// Stops the server and starts a new one on the same data (a restart).
    pub async fn restart(self, adjust: impl FnOnce(&mut Config)) -> Self {
        let TestApp { server, dir, db, .. } = self;
        server.stop().await;
        Self::start_in(dir, db, adjust).await
    }

    /// Stops the server and starts one with only its first-start admins on the same data (the
    /// embedded database belongs to one process: a command-line import needs it stopped).
    pub async fn restart_bare(self, between: impl std::future::Future<Output = ()>) -> Self {
        let TestApp { server, dir, db, .. } = self;
        server.stop().await;
        between.await;
        Self::start_impl(dir, db, false, |_| {}).await
    }

    /// The server on an existing data dir (and database).
    pub async fn start_in(dir: tempfile::TempDir, db: Option<TestDatabase>, adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_impl(dir, db, true, adjust).await
    }

    /// A server with only its first-start admins: no units, no clerks (an import target).
    pub async fn spawn_bare(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await?),
        };
        Some(Self::start_impl(dir, db, false, |_| {}).await)
    }

    async fn start_impl(
        dir: tempfile::TempDir,
        db: Option<TestDatabase>,
        seed: bool,
        adjust: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config::new(dir.path().to_owned());
        config.listen = "127.0.0.1:0".parse().expect("addr");
        config.admin_password = Some(PASSWORD.to_owned());
        config.database_url = db.as_ref().map(|d| d.url.clone());
        // One server per database in these tests: recover at once.
        config.recovery_min_age = time::Duration::ZERO;
        // Most tests deliver like a form service in a closed network; token tests turn it off.
        config.open_intake = true;
        adjust(&mut config);
        // After an in-process stop, the last clones of the old store (finishing tasks) may
        // hold the SQLite data-dir lock a moment longer: wait for it, briefly.
        let mut tries = 0;
        let state = loop {
            match ozgcloud::open_state(&config).await {
                Ok(state) => break state,
                Err(e) if tries < 50 && e.to_string().contains("anderen ozgcloud-Prozess") => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("open state: {e}"),
            }
        };
        ozgcloud::ensure_admin(&state, Some(PASSWORD)).await.expect("admin");
        if let Some(tenant) = state.config.default_tenant.clone().filter(|_| seed) {
            // The unit the test forms name as zustaendigeStelle, and two clerks working it.
            let unit = match state
                .store
                .tenant(&tenant)
                .list_units()
                .await
                .expect("units")
                .into_iter()
                .find(|u| u.kennung == KENNUNG)
            {
                Some(u) => u.id,
                None => {
                    let unit = store::NewUnit { id: UnitId::new(), name: "Gewerbeamt".into(), kennung: KENNUNG.into() };
                    state.store.tenant(&tenant).create_unit(unit).await.expect("unit").id
                }
            };
            for (u, n) in [("max", "Max Schröder"), ("erika", "Erika Mustermann")] {
                if state.store.tenant(&tenant).find_user_by_username(u).await.expect("lookup").is_none() {
                    ozgcloud::add_user(&state, &tenant, u, n, vec![Role::Sachbearbeitung], vec![unit], PASSWORD)
                        .await
                        .expect("user");
                }
            }
        }
        let server = ozgcloud::start(&config, state).await.expect("start");
        Self { server, dir, db, http: Client::new() }
    }

    /// An API token of `tenant` with these scopes, created as a tenant admin would.
    pub async fn token(&self, tenant: &domain::TenantId, scopes: &[domain::TokenScope]) -> String {
        let token = format!("{}{}", web::auth::API_TOKEN_PREFIX, web::auth::new_token());
        self.server
            .state
            .store
            .tenant(tenant)
            .create_api_token(store::NewApiToken {
                id: domain::ApiTokenId::new(),
                name: format!("Test {scopes:?}"),
                scopes: scopes.to_vec(),
                token_hash: web::auth::token_hash(&token),
                created_at: time::OffsetDateTime::now_utc(),
                created_by: "Test".into(),
            })
            .await
            .expect("token");
        token
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn deliver(&self, form_data: &Value, attachments: Vec<(&str, &str, Vec<u8>)>) -> Response {
        let mut form =
            Form::new().part("formData", Part::text(form_data.to_string()).mime_str("application/json").expect("mime"));
        form = form.part(
            "representation",
            Part::bytes(b"%PDF-1.4 test".to_vec()).file_name("antrag.pdf").mime_str("application/pdf").expect("mime"),
        );
        for (name, mime, bytes) in attachments {
            form = form.part("attachment", Part::bytes(bytes).file_name(name.to_owned()).mime_str(mime).expect("mime"));
        }
        self.http.post(self.url("/antrag")).multipart(form).send().await.expect("deliver")
    }

    pub async fn deliver_raw(&self, content_type: &str, body: Vec<u8>) -> Response {
        self.http
            .post(self.url("/antrag"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("deliver raw")
    }

    /// Delivers and returns the receipt, asserting success.
    pub async fn deliver_ok(&self, form_data: &Value) -> Value {
        let res = self.deliver(form_data, vec![]).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("receipt")
    }

    pub async fn api(&self, username: &str) -> Api {
        self.api_at("", username, PASSWORD).await
    }

    /// An API session of a user of the tenant at `prefix` (`""` or `/t/{tenant}`).
    pub async fn api_at(&self, prefix: &str, username: &str, password: &str) -> Api {
        let res = self
            .http
            .post(self.url(&format!("{prefix}/api/v1/login")))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), StatusCode::OK, "api login as {username} at {prefix:?}");
        let body: Value = res.json().await.expect("json");
        Api {
            base: format!("{}{prefix}", self.server.url()),
            token: body["token"].as_str().expect("token").to_owned(),
            http: self.http.clone(),
        }
    }

    /// A browser-like client: cookie jar, no redirects followed automatically.
    pub async fn browser(&self, username: &str) -> Browser {
        self.browser_at("", username, PASSWORD).await
    }

    /// A browser, not signed in, for the tenant at `prefix`.
    pub fn anonymous_browser(&self, prefix: &str) -> Browser {
        let http =
            Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Browser { base: format!("{}{prefix}", self.server.url()), http }
    }

    pub async fn browser_at(&self, prefix: &str, username: &str, password: &str) -> Browser {
        let b = self.anonymous_browser(prefix);
        let res = b.login(username, password).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "ui login as {username} at {prefix:?}");
        b
    }
}

pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("csrf field in page") + marker.len();
    html[start..].split('"').next().expect("csrf value").to_owned()
}

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    pub http: Client,
}

impl Api {
    pub async fn get(&self, path: &str) -> Response {
        self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.expect("get")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.expect("json")
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> Response {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("send")
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn vorgang(&self, id: &str) -> Value {
        self.get_json(&format!("/api/v1/vorgaenge/{id}")).await
    }

    pub async fn command(&self, id: &str, command: &str, version: i64, reason: Option<&str>) -> Response {
        self.post(
            &format!("/api/v1/vorgaenge/{id}/status"),
            json!({"command": command, "version": version, "reason": reason}),
        )
        .await
    }

    pub async fn claim_next(&self) -> Value {
        let res = self.post("/api/v1/vorgaenge/naechster", json!({})).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }
}

pub struct Browser {
    pub base: String,
    pub http: Client,
}

impl Browser {
    /// Submits the login form as a person would (CSRF token from the page).
    pub async fn login(&self, username: &str, password: &str) -> Response {
        let page = self.get("/login").await.text().await.expect("html");
        let csrf = csrf_in(&page);
        self.post_form("/login", &[("_csrf", &csrf), ("username", username), ("password", password)]).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(format!("{}{path}", self.base)).send().await.expect("get")
    }

    pub async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.expect("html")
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.http.post(format!("{}{path}", self.base)).form(fields).send().await.expect("post")
    }
}

static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// A Gewerbeanmeldung as Gover/AFM deliver it: steps, groups, a repeated block, extra control keys.
pub fn gewerbeanmeldung(transaction_id: &str) -> Value {
    json!({
        "control": {
            "transactionId": transaction_id,
            "zustaendigeStelle": "10363455",
            "organisationsEinheitenId": "10363455",
            "leikaIds": ["99050012104000"],
            "formId": "gewerbeanmeldung",
            "name": "Gewerbeanmeldung",
            "serviceKonto": {"type": "OSI", "trustLevel": "LOW", "postfachAddress": {"identifier": "osi-4711", "type": "OSI"}}
        },
        "formData": [
            {"name": "schritt1", "label": "Angaben zur Person", "formItems": [
                {"name": "antragsteller", "label": "Antragsteller", "formItems": [
                    {"name": "pers_vorname", "label": "Vorname", "stringValue": "Klara"},
                    {"name": "pers_nachname", "label": "Nachname", "stringValue": "Muster"},
                    {"name": "pers_geburtsdatum", "label": "Geburtsdatum", "dateValue": "1990-04-01"},
                    {"name": "adresse", "label": "Anschrift", "formItems": [
                        {"name": "sh_strasse", "label": "Straße", "stringValue": "Holstenstraße"},
                        {"name": "sh_hausnummer", "label": "Hausnummer", "stringValue": "12"},
                        {"name": "sh_plz", "label": "PLZ", "stringValue": "24103"},
                        {"name": "ort", "label": "Ort", "stringValue": "Kiel"}
                    ]},
                    {"name": "kont_email", "label": "E-Mail", "stringValue": "klara@example.org"}
                ]}
            ]},
            {"name": "schritt2", "label": "Betrieb", "formItems": [
                {"name": "taetigkeit", "label": "Tätigkeit", "stringValue": "Onlinehandel mit Keramik"},
                {"name": "beschaeftigte", "label": "Beschäftigte", "numberValue": 3},
                {"name": "nebenerwerb", "label": "Nebenerwerb", "booleanValue": false},
                {"name": "betriebsstaetten", "label": "Betriebsstätten", "formItems": [
                    {"name": "zeile", "label": "Betriebsstätte 1", "formItems": [
                        {"name": "strasse", "label": "Straße", "stringValue": "Hafenstraße 1"},
                        {"name": "ort_b", "label": "Ort", "stringValue": "Kiel"}]},
                    {"name": "zeile", "label": "Betriebsstätte 2", "formItems": [
                        {"name": "strasse", "label": "Straße", "stringValue": "Markt 5"},
                        {"name": "ort_b", "label": "Ort", "stringValue": "Lübeck"}]}
                ]}
            ]}
        ]
    })
}

/// A second tenant with one unit and one clerk `anna`, provisioned as the operator would.
pub struct OtherTenant {
    pub id: domain::TenantId,
    pub prefix: String,
    pub admin_password: String,
    pub unit: UnitId,
    pub kennung: String,
}

impl TestApp {
    pub async fn other_tenant(&self, slug: &str, kennung: &str) -> OtherTenant {
        let state = &self.server.state;
        let id = domain::TenantId::parse(slug).expect("slug");
        let provisioned = app::provisioning::provision_tenant(
            state.store.as_ref(),
            app::provisioning::TenantRequest {
                name: format!("Stadt {slug}"),
                kind: domain::TenantKind::Stadt,
                id: Some(id.clone()),
                host: None,
                admin_email: format!("admin@{slug}.example"),
                admin_username: None,
            },
        )
        .await
        .expect("provision");
        let unit = store::NewUnit { id: UnitId::new(), name: "Ordnungsamt".into(), kennung: kennung.into() };
        let unit = state.store.tenant(&id).create_unit(unit).await.expect("unit").id;
        ozgcloud::add_user(state, &id, "anna", "Anna Andersen", vec![Role::Sachbearbeitung], vec![unit], PASSWORD)
            .await
            .expect("anna");
        OtherTenant {
            prefix: format!("/t/{slug}"),
            id,
            admin_password: provisioned.one_time_password,
            unit,
            kennung: kennung.to_owned(),
        }
    }
}

/// A form addressed to `kennung`.
pub fn antrag_for(kennung: &str, transaction_id: &str) -> Value {
    let mut form = gewerbeanmeldung(transaction_id);
    form["control"]["zustaendigeStelle"] = json!(kennung);
    form
}
