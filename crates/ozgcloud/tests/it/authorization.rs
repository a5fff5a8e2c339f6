//! The authorization matrix: every route of the router × every role × own / foreign tenant.
//! The routes come from `web::routes()`, the same table the server is built from, so a new
//! route is in this test the moment it exists, with the permission it was registered with;
//! the matrix stops until [`call`] knows how to send it a valid request.
//!
//! Every cell sends a request that succeeds if the caller may use the route: the form fields
//! with the caller's CSRF token, valid JSON, multipart for uploads, current versions, and
//! objects in the state the route needs (new ones for each cell that changes or uses them
//! up). So an allowed cell must really succeed (2xx, a redirect that is not to the login, a
//! download), a refused one must be refused by authentication or authorization, and any 5xx
//! fails. The same valid request with the other tenant's objects, or at its address, must be
//! refused or not found, and the other tenant's data is the same afterwards.

use crate::helpers::*;
use domain::{Permission, Principal, Role, TenantId, TokenScope, UnitId, UserId};
use reqwest::multipart::{Form, Part};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use web::policy::RouteRule;

/// The password a cell of `POST /passwort` sets.
const NEW_PASSWORD: &str = "Matrix-Kennwort-fuer-Heute-7";
const PDF: &[u8] = b"%PDF-1.4 matrix";

const OWN: usize = 0;
const FREMD: usize = 1;
const PLATFORM: usize = 2;

/// Cells that cannot succeed in this setup although the caller may use the route: each must
/// give exactly this answer instead.
struct CannotSucceed {
    method: &'static str,
    path: &'static str,
    /// `None`: every caller.
    caller: Option<&'static str>,
    status: u16,
    why: &'static str,
}

const CANNOT_SUCCEED: [CannotSucceed; 3] = [
    CannotSucceed {
        method: "GET",
        path: "/anmelden/oidc",
        caller: None,
        status: 404,
        why: "no identity provider is configured here (the server discovers it at start); single sign-on runs \
              end to end against a real provider in it::oidc",
    },
    CannotSucceed {
        method: "GET",
        path: "/anmelden/oidc/rueckkehr",
        caller: None,
        status: 404,
        why: "the provider's return address, without a provider configured (see it::oidc)",
    },
    CannotSucceed {
        method: "POST",
        path: "/api/v1/vorgaenge/naechster",
        caller: Some("Token BEARBEITEN"),
        status: 400,
        why: "only a person can take the next Vorgang (the documented 400 for API tokens)",
    },
];

/// One tenant: where it is addressed, its shared objects, and who prepares new ones.
struct Tenant {
    id: TenantId,
    prefix: String,
    /// The account the public login routes sign in with.
    login: &'static str,
    objects: Objects,
    setup: Setup,
}

/// What a tenant's `{id}`s stand for in the cells that read them or leave them as they are,
/// and what valid bodies need to know about them.
#[derive(Clone)]
struct Objects {
    /// NEU, in the clerks' unit, assigned to the setup clerk: every reader of the tenant sees it.
    vorgang: String,
    /// The applicant's representation (a PDF) of `vorgang`.
    document: String,
    /// Attached to `vorgang` by a machine (the tenant's BEARBEITEN token).
    clerk_document: String,
    /// A Wiedervorlage of `vorgang`.
    wiedervorlage: String,
    /// Deletion requested by the setup clerk (ZU_LOESCHEN).
    zu_loeschen: String,
    /// On the list "nicht zuordenbar", its Kennung since given to a unit: re-processable.
    delivery: String,
    /// A clerk the admin pages edit, and the form fields that leave them as they are.
    user: String,
    user_form: Vec<(&'static str, String)>,
    /// A clerk Vorgänge are assigned to, a unit they are handed to.
    colleague: String,
    other_unit: String,
    /// A unit, edited without change.
    unit: String,
    unit_name: String,
    unit_kennung: String,
    /// The Kennung intake routes to the tenant's clerks.
    kennung: String,
    /// An API token to revoke.
    token: String,
    /// The tenant the operator's host form names; this tenant's name.
    tenant: String,
    name: String,
}

/// Who prepares a tenant's objects, over HTTP as the app's users do.
struct Setup {
    root: String,
    http: Client,
    /// Delivers Anträge (scope EINGANG).
    intake: String,
    /// Reads and works every Vorgang of the tenant (scope BEARBEITEN); `None` on the
    /// platform, which has no Vorgänge.
    machine: Option<Api>,
    /// A clerk of the unit: asks for deletions (a person must).
    clerk: Option<Api>,
    /// A tenant admin's browser and CSRF token: creates units.
    admin: Option<(Browser, String)>,
}

impl Setup {
    async fn deliver(&self, kennung: &str) -> reqwest::Response {
        let pdf = Part::bytes(PDF.to_vec()).file_name("antrag.pdf").mime_str("application/pdf").expect("mime");
        let form = Form::new()
            .text("formData", antrag_for(kennung, &unique("matrix")).to_string())
            .part("representation", pdf);
        let url = format!("{}/antrag", self.root);
        self.http.post(url).bearer_auth(&self.intake).multipart(form).send().await.expect("deliver")
    }

    fn machine(&self) -> &Api {
        self.machine.as_ref().expect("a tenant with Vorgänge")
    }

    async fn new_vorgang(&self, kennung: &str) -> (String, i64) {
        let res = self.deliver(kennung).await;
        assert_eq!(res.status(), StatusCode::OK, "setup: deliver to {kennung}");
        let receipt: Value = res.json().await.expect("receipt");
        let v = &receipt["vorgang"];
        (v["vorgangId"].as_str().expect("id").to_owned(), v["version"].as_i64().expect("version"))
    }

    async fn version(&self, vorgang: &str) -> i64 {
        self.machine().vorgang(vorgang).await["version"].as_i64().expect("version")
    }

    async fn zu_loeschen(&self, kennung: &str) -> (String, i64) {
        let (id, _) = self.new_vorgang(kennung).await;
        let clerk = self.clerk.as_ref().expect("a clerk");
        for (command, reason) in
            [("ANNEHMEN", None), ("BEARBEITEN", None), ("ABSCHLIESSEN", None), ("LOESCHEN_ANFORDERN", Some("Dublette"))]
        {
            let res = clerk.command(&id, command, self.version(&id).await, reason).await;
            assert_eq!(res.status(), StatusCode::OK, "setup: {command}");
        }
        let version = self.version(&id).await;
        (id, version)
    }

    async fn add_wiedervorlage(&self, vorgang: &str) -> (String, i64) {
        let body = json!({"betreff": "Matrix", "beschreibung": "", "frist": tomorrow()});
        let res = self.machine().post(&format!("/api/v1/vorgaenge/{vorgang}/wiedervorlagen"), body).await;
        assert_eq!(res.status(), StatusCode::OK, "setup: Wiedervorlage");
        let w: Value = res.json().await.expect("json");
        (w["id"].as_str().expect("id").to_owned(), w["version"].as_i64().expect("version"))
    }

    async fn wiedervorlage_version(&self, vorgang: &str, id: &str) -> i64 {
        let list = self.machine().get_json(&format!("/api/v1/vorgaenge/{vorgang}/wiedervorlagen")).await;
        let w = list.as_array().expect("list").iter().find(|w| w["id"] == id).expect("the Wiedervorlage");
        w["version"].as_i64().expect("version")
    }

    async fn create_unit(&self, kennung: &str) {
        let (admin, csrf) = self.admin.as_ref().expect("an admin");
        let fields = [("_csrf", csrf.as_str()), ("name", "Wartende Stelle"), ("kennung", kennung)];
        let res = admin.post_form("/admin/einheiten", &fields).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "setup: unit {kennung}");
    }

    /// A delivery no unit claimed, whose Kennung `unit_maker` then gave to a unit.
    async fn waiting_delivery(&self, unit_maker: &Setup) -> String {
        let kennung = unique("wartet");
        let res = self.deliver(&kennung).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED, "setup: a delivery to {kennung} waits");
        let id = res.json::<Value>().await.expect("json")["deliveryId"].as_str().expect("id").to_owned();
        unit_maker.create_unit(&kennung).await;
        id
    }
}

/// A document attached to `vorgang` by whoever `by` is.
async fn attach(by: &Api, vorgang: &str) -> String {
    let body = json!({"filename": "vermerk.txt", "content": "VmVybWVyaw==", "contentType": "text/plain"});
    let res = by.post(&format!("/api/v1/vorgaenge/{vorgang}/dokumente"), body).await;
    assert_eq!(res.status(), StatusCode::OK, "setup: attach");
    res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned()
}

fn tomorrow() -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(1);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

impl Tenant {
    fn has_vorgaenge(&self) -> bool {
        self.setup.machine.is_some()
    }

    /// A NEU Vorgang of the clerks' unit and its version: a new one for a cell that changes
    /// it (`fresh`), else the shared one. (The platform has none: its ids exist nowhere.)
    async fn vorgang(&self, fresh: bool) -> (String, i64) {
        let o = &self.objects;
        match (self.has_vorgaenge(), fresh) {
            (false, _) => (o.vorgang.clone(), 0),
            (true, true) => self.setup.new_vorgang(&o.kennung).await,
            (true, false) => (o.vorgang.clone(), self.setup.version(&o.vorgang).await),
        }
    }

    async fn zu_loeschen(&self, fresh: bool) -> (String, i64) {
        let o = &self.objects;
        match (self.has_vorgaenge(), fresh) {
            (false, _) => (o.zu_loeschen.clone(), 0),
            (true, true) => self.setup.zu_loeschen(&o.kennung).await,
            (true, false) => (o.zu_loeschen.clone(), self.setup.version(&o.zu_loeschen).await),
        }
    }

    async fn wiedervorlage(&self, fresh: bool) -> (String, i64) {
        let o = &self.objects;
        match (self.has_vorgaenge(), fresh) {
            (false, _) => (o.wiedervorlage.clone(), 0),
            (true, true) => {
                let (v, _) = self.setup.new_vorgang(&o.kennung).await;
                self.setup.add_wiedervorlage(&v).await
            }
            (true, false) => {
                (o.wiedervorlage.clone(), self.setup.wiedervorlage_version(&o.vorgang, &o.wiedervorlage).await)
            }
        }
    }

    /// A clerk's document: a new one attached by `by` (only the one who attached it may
    /// remove it), else the shared one.
    async fn clerk_document(&self, fresh: bool, by: Option<Api>) -> String {
        if !(fresh && self.has_vorgaenge()) {
            return self.objects.clerk_document.clone();
        }
        let (v, _) = self.setup.new_vorgang(&self.objects.kennung).await;
        attach(by.as_ref().unwrap_or(self.setup.machine()), &v).await
    }

    async fn delivery(&self, fresh: bool, unit_maker: &Setup) -> String {
        if fresh {
            self.setup.waiting_delivery(unit_maker).await
        } else {
            self.objects.delivery.clone()
        }
    }
}

/// How one caller authenticates.
enum Credentials {
    None,
    /// A person: UI cookie session with its CSRF token, API bearer session.
    Person {
        cookies: Client,
        csrf: String,
        bearer: String,
    },
    Token(String),
}

struct Caller {
    label: &'static str,
    principal: Option<Principal>,
    /// Index of the caller's tenant in [`World::tenants`].
    home: usize,
    username: &'static str,
    credentials: Credentials,
}

struct World<'a> {
    app: &'a TestApp,
    tenants: [Tenant; 3],
}

fn no_redirects() -> Client {
    Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// A new UI session of `username`, and its CSRF token.
async fn session(app: &TestApp, prefix: &str, username: &str) -> (Client, String) {
    let b = app.browser_at(prefix, username, PASSWORD).await;
    let csrf = csrf_in(&b.page("/passwort").await);
    (b.http, csrf)
}

fn principal_of(users: &[store::UserRecord], username: &str) -> Principal {
    users.iter().find(|u| u.username == username).unwrap_or_else(|| panic!("user {username}")).principal()
}

async fn person(
    app: &TestApp,
    label: &'static str,
    (home, prefix): (usize, &str),
    username: &'static str,
    principal: Principal,
) -> Caller {
    let (cookies, csrf) = session(app, prefix, username).await;
    let bearer = app.api_at(prefix, username, PASSWORD).await.token;
    Caller {
        label,
        principal: Some(principal),
        home,
        username,
        credentials: Credentials::Person { cookies, csrf, bearer },
    }
}

fn api_of(app: &TestApp, prefix: &str, token: &str) -> Api {
    Api { base: format!("{}{prefix}", app.server.url()), token: token.to_owned(), http: app.http.clone() }
}

/// The tenants, their objects and setup actors, and the callers. With the snapshot below,
/// the only place that reads or writes the store directly.
async fn seed(app: &TestApp) -> (World<'_>, Vec<Caller>) {
    let state = &app.server.state;
    let store = &state.store;
    let own = TenantId::default_tenant();
    let platform = TenantId::platform();
    let fremd = app.other_tenant("fremd", "fremd-1").await;
    // Its host is what the operator's host form changes.
    let dritte = app.other_tenant("dritte", "dritte-1").await;
    let gewerbe =
        store.tenant(&own).list_units().await.expect("units").into_iter().find(|u| u.kennung == KENNUNG).expect("unit");
    let unit = |tenant: &TenantId, name: &str, kennung: &str| {
        let new = store::NewUnit { id: UnitId::new(), name: name.into(), kennung: kennung.into() };
        let tenant = tenant.clone();
        async move { store.tenant(&tenant).create_unit(new).await.expect("unit") }
    };
    let own_other = unit(&own, "Bauamt", "bau-matrix").await;
    let fremd_other = unit(&fremd.id, "Bauamt", "fremd-bau").await;
    let platform_unit = unit(&platform, "Betrieb", "plattform-1").await;
    let people = [
        (&own, "paula", vec![Role::Poststelle], vec![gewerbe.id]),
        (&own, "lena", vec![Role::Loeschberechtigt], vec![gewerbe.id]),
        (&own, "vorbereitung", vec![Role::Sachbearbeitung], vec![gewerbe.id]),
        (&own, "einrichtung", vec![Role::Admin], vec![]),
        (&fremd.id, "vorbereitung", vec![Role::Sachbearbeitung], vec![fremd.unit]),
        (&fremd.id, "einrichtung", vec![Role::Admin], vec![]),
        (&platform, "anmeldung", vec![Role::Sachbearbeitung], vec![platform_unit.id]),
        (&platform, "opfer", vec![Role::Sachbearbeitung], vec![platform_unit.id]),
    ];
    for (tenant, name, roles, units) in people {
        ozgcloud::add_user(state, tenant, name, name, roles, units, PASSWORD).await.expect("user");
    }
    let victim_token = |tenant: &TenantId| {
        let tenant = tenant.clone();
        async move {
            let token = store::NewApiToken {
                id: domain::ApiTokenId::new(),
                name: "Matrix: zu widerrufen".into(),
                scopes: vec![TokenScope::Lesen],
                token_hash: web::auth::token_hash(&web::auth::new_token()),
                created_at: time::OffsetDateTime::now_utc(),
                created_by: "Test".into(),
            };
            store.tenant(&tenant).create_api_token(token).await.expect("token").id.to_string()
        }
    };
    let name_of = |tenant: &TenantId| {
        let tenant = tenant.clone();
        async move { store.tenant(&tenant).get_tenant().await.expect("tenant").name }
    };
    let own_users = store.tenant(&own).list_users().await.expect("users");
    let fremd_users = store.tenant(&fremd.id).list_users().await.expect("users");
    let platform_users = store.tenant(&platform).list_users().await.expect("users");
    let user =
        |users: &[store::UserRecord], name: &str| users.iter().find(|u| u.username == name).expect("user").clone();
    let user_form = |u: &store::UserRecord| {
        let mut form = vec![("display_name", u.display_name.clone()), ("email", u.email.clone().unwrap_or_default())];
        form.extend(u.roles.iter().map(|r| ("roles", r.as_str().to_owned())));
        form.extend(u.units.iter().map(|id| ("units", id.to_string())));
        form
    };

    let setup = |prefix: &'static str, intake: String, machine: Option<String>, with_people: bool| async move {
        let api = |token: String| api_of(app, prefix, &token);
        Setup {
            root: app.server.url(),
            http: app.http.clone(),
            intake,
            machine: machine.map(api),
            clerk: if with_people { Some(app.api_at(prefix, "vorbereitung", PASSWORD).await) } else { None },
            admin: if with_people {
                let b = app.browser_at(prefix, "einrichtung", PASSWORD).await;
                let csrf = csrf_in(&b.page("/admin/einheiten").await);
                Some((b, csrf))
            } else {
                None
            },
        }
    };
    let own_setup = setup(
        "",
        app.token(&own, &[TokenScope::Eingang]).await,
        Some(app.token(&own, &[TokenScope::Bearbeiten]).await),
        true,
    )
    .await;
    let fremd_setup = setup(
        "/t/fremd",
        app.token(&fremd.id, &[TokenScope::Eingang]).await,
        Some(app.token(&fremd.id, &[TokenScope::Bearbeiten]).await),
        true,
    )
    .await;
    let platform_setup = setup("/t/plattform", app.token(&platform, &[TokenScope::Eingang]).await, None, false).await;

    let erika = user(&own_users, "erika");
    let anna = user(&fremd_users, "anna");
    let opfer = user(&platform_users, "opfer");
    let own_objects = Objects {
        user: erika.id.to_string(),
        user_form: user_form(&erika),
        colleague: user(&own_users, "max").id.to_string(),
        other_unit: own_other.id.to_string(),
        unit: gewerbe.id.to_string(),
        unit_name: gewerbe.name.clone(),
        unit_kennung: gewerbe.kennung.clone(),
        kennung: KENNUNG.to_owned(),
        token: victim_token(&own).await,
        tenant: own.to_string(),
        name: name_of(&own).await,
        ..vorgang_objects(&own_setup, KENNUNG, &user(&own_users, "vorbereitung")).await
    };
    let fremd_objects = Objects {
        user: anna.id.to_string(),
        user_form: user_form(&anna),
        colleague: anna.id.to_string(),
        other_unit: fremd_other.id.to_string(),
        unit: fremd.unit.to_string(),
        unit_name: "Ordnungsamt".into(),
        unit_kennung: fremd.kennung.clone(),
        kennung: fremd.kennung.clone(),
        token: victim_token(&fremd.id).await,
        tenant: fremd.id.to_string(),
        name: name_of(&fremd.id).await,
        ..vorgang_objects(&fremd_setup, &fremd.kennung, &user(&fremd_users, "vorbereitung")).await
    };
    // The platform has no Vorgänge: those ids exist nowhere (the operator may not use those
    // routes, so the route rule refuses before any lookup).
    let platform_objects = Objects {
        vorgang: domain::VorgangId::new().to_string(),
        document: domain::DocumentId::new().to_string(),
        clerk_document: domain::DocumentId::new().to_string(),
        wiedervorlage: domain::WiedervorlageId::new().to_string(),
        zu_loeschen: domain::VorgangId::new().to_string(),
        delivery: platform_setup.waiting_delivery(&own_setup).await,
        user: opfer.id.to_string(),
        user_form: user_form(&opfer),
        colleague: UserId::new().to_string(),
        other_unit: platform_unit.id.to_string(),
        unit: platform_unit.id.to_string(),
        unit_name: platform_unit.name.clone(),
        unit_kennung: platform_unit.kennung.clone(),
        kennung: platform_unit.kennung.clone(),
        token: victim_token(&platform).await,
        // Operators manage all tenants: the host form names another one.
        tenant: dritte.id.to_string(),
        name: name_of(&platform).await,
    };

    let mut callers =
        vec![Caller { label: "anonym", principal: None, home: OWN, username: "", credentials: Credentials::None }];
    for (label, username) in
        [("Sachbearbeitung", "max"), ("Poststelle", "paula"), ("Löschberechtigt", "lena"), ("Admin", "admin")]
    {
        callers.push(person(app, label, (OWN, ""), username, principal_of(&own_users, username)).await);
    }
    let betrieb = principal_of(&platform_users, "betrieb");
    callers.push(person(app, "Betrieb", (PLATFORM, "/t/plattform"), "betrieb", betrieb).await);
    for (label, scope) in [
        ("Token EINGANG", TokenScope::Eingang),
        ("Token LESEN", TokenScope::Lesen),
        ("Token BEARBEITEN", TokenScope::Bearbeiten),
    ] {
        callers.push(Caller {
            label,
            principal: Some(Principal::Token { scopes: vec![scope] }),
            home: OWN,
            username: "",
            credentials: Credentials::Token(app.token(&own, &[scope]).await),
        });
    }

    let tenants = [
        Tenant { id: own, prefix: String::new(), login: "vorbereitung", objects: own_objects, setup: own_setup },
        Tenant {
            id: fremd.id.clone(),
            prefix: fremd.prefix.clone(),
            login: "vorbereitung",
            objects: fremd_objects,
            setup: fremd_setup,
        },
        Tenant {
            id: platform,
            prefix: "/t/plattform".into(),
            login: "anmeldung",
            objects: platform_objects,
            setup: platform_setup,
        },
    ];
    (World { app, tenants }, callers)
}

/// The shared Vorgang objects of a tenant with clerks (the rest of [`Objects`] is filled in by
/// the caller).
async fn vorgang_objects(setup: &Setup, kennung: &str, clerk: &store::UserRecord) -> Objects {
    let (vorgang, version) = setup.new_vorgang(kennung).await;
    // Assigned, so that "take the next one" takes the new ones and this one stays as it is.
    let body = json!({"userId": clerk.id.to_string(), "version": version});
    let res = setup.machine().send(Method::PUT, &format!("/api/v1/vorgaenge/{vorgang}/zuweisung"), body).await;
    assert_eq!(res.status(), StatusCode::OK, "setup: assign");
    let detail = setup.machine().vorgang(&vorgang).await;
    let document = detail["documents"][0]["id"].as_str().expect("document").to_owned();
    let clerk_document = attach(setup.machine(), &vorgang).await;
    let (wiedervorlage, _) = setup.add_wiedervorlage(&vorgang).await;
    let (zu_loeschen, _) = setup.zu_loeschen(kennung).await;
    let delivery = setup.waiting_delivery(setup).await;
    Objects {
        vorgang,
        document,
        clerk_document,
        wiedervorlage,
        zu_loeschen,
        delivery,
        user: String::new(),
        user_form: Vec::new(),
        colleague: String::new(),
        other_unit: String::new(),
        unit: String::new(),
        unit_name: String::new(),
        unit_kennung: String::new(),
        kennung: kennung.to_owned(),
        token: String::new(),
        tenant: String::new(),
        name: String::new(),
    }
}

/// A pending job (due in a day), or one discarded: what "verwerfen" and "wiederholen" act on.
/// Jobs are the installation's, not a tenant's.
async fn job(app: &TestApp, discarded: bool) -> String {
    let jobs = &app.server.state.app.jobs;
    let job = app::work::probe_job(0, 0, 1).at(time::OffsetDateTime::now_utc() + time::Duration::days(1));
    let id = jobs.enqueue(job).await.expect("job").expect("new");
    if discarded {
        jobs.discard(id, "Matrix").await.expect("discard");
    }
    id.to_string()
}

/// The other tenant's data that a write could touch.
#[derive(Debug, PartialEq)]
struct Snapshot {
    tenant: store::TenantRecord,
    users: Vec<store::UserRecord>,
    units: Vec<store::UnitRecord>,
    tokens: Vec<store::ApiTokenRecord>,
    vorgaenge: Vec<store::VorgangRecord>,
    history: Vec<Vec<store::EventRecord>>,
    kommentare: Vec<store::KommentarRecord>,
    wiedervorlagen: Vec<store::WiedervorlageRecord>,
    clerk_documents: Vec<store::ClerkDocumentRecord>,
    deliveries: Vec<store::DeliveryRecord>,
}

async fn snapshot(app: &TestApp, t: &Tenant) -> Snapshot {
    let store = &app.server.state.store;
    let ids = [&t.objects.vorgang, &t.objects.zu_loeschen].map(|id| domain::VorgangId::parse(id).expect("id"));
    let (mut vorgaenge, mut history) = (Vec::new(), Vec::new());
    for id in ids {
        vorgaenge.push(store.tenant(&t.id).get_vorgang(id).await.expect("vorgang"));
        history.push(store.tenant(&t.id).history(id).await.expect("history"));
    }
    let mut deliveries = Vec::new();
    for status in [store::DeliveryStatus::Quarantined, store::DeliveryStatus::Unroutable] {
        deliveries.extend(store.tenant(&t.id).list_quarantine(status, 1000, 0).await.expect("quarantine").0);
    }
    Snapshot {
        tenant: store.tenant(&t.id).get_tenant().await.expect("tenant"),
        users: store.tenant(&t.id).list_users().await.expect("users"),
        units: store.tenant(&t.id).list_units().await.expect("units"),
        tokens: store.tenant(&t.id).list_api_tokens().await.expect("tokens"),
        kommentare: store.tenant(&t.id).list_kommentare(ids[0]).await.expect("kommentare"),
        wiedervorlagen: store.tenant(&t.id).list_wiedervorlagen(ids[0]).await.expect("wiedervorlagen"),
        clerk_documents: store.tenant(&t.id).list_clerk_documents(ids[0]).await.expect("documents"),
        vorgaenge,
        history,
        deliveries,
    }
}

/// What counts as the success of a cell.
#[derive(Clone, Copy, Debug)]
enum Success {
    /// 2xx, or a redirect that is not to the login (or the password change).
    Any,
    /// 200: the bytes.
    Download,
    /// A redirect whose target contains this.
    RedirectTo(&'static str),
}

enum Body {
    None,
    /// Urlencoded; the caller's CSRF token is added.
    Form(Vec<(&'static str, String)>),
    /// Text fields and files (field, file name, type, bytes); the caller's CSRF token is added.
    Multipart(Vec<(&'static str, String)>, Vec<(&'static str, &'static str, &'static str, &'static [u8])>),
    Json(Value),
    /// The login form as a browser sends it: the login page's CSRF token and its cookie.
    Login {
        username: &'static str,
    },
}

/// One cell's request.
struct Call {
    method: Method,
    path: String,
    body: Body,
    success: Success,
    /// The route ends the session it is sent in: sent in a new session of the caller.
    own_session: bool,
}

fn form(fields: &[(&'static str, &str)]) -> Body {
    Body::Form(fields.iter().map(|(k, v)| (*k, (*v).to_owned())).collect())
}

/// The caller's own API access, if it may attach documents (to remove them again).
fn worker_api(w: &World<'_>, caller: &Caller) -> Option<Api> {
    if !caller.principal.as_ref().is_some_and(|p| p.grants(Permission::WorkVorgaenge)) {
        return None;
    }
    let prefix = &w.tenants[caller.home].prefix;
    match &caller.credentials {
        Credentials::Person { bearer, .. } => Some(api_of(w.app, prefix, bearer)),
        Credentials::Token(t) => Some(api_of(w.app, prefix, t)),
        Credentials::None => None,
    }
}

/// The valid request of `rule` for `caller` with the objects of `t`: new ones where the cell
/// changes or uses them up (`fresh`), else `t`'s shared ones with their current versions.
async fn call(w: &World<'_>, caller: &Caller, rule: &RouteRule, t: &Tenant, fresh: bool) -> Call {
    use Success::*;
    let o = &t.objects;
    let p = rule.path.as_str();
    let at = |id: &str| p.replace("{id}", id);
    let json_antrag = antrag_for(&o.kennung, &unique("matrix"));
    let mut own_session = false;
    let (path, body, success) = match (rule.method.as_str(), p) {
        // Reading.
        ("GET", "/admin/protokoll.csv") => (p.to_owned(), Body::None, Download),
        ("GET", _) if !p.contains('{') => (p.to_owned(), Body::None, Any),
        ("GET", "/dokumente/{id}" | "/dokumente/{id}/vorschau" | "/api/v1/dokumente/{id}") => {
            (at(&o.document), Body::None, Download)
        }
        ("GET", "/admin/quarantaene/{id}/roh") => (at(&o.delivery), Body::None, Download),
        ("GET", "/admin/benutzer/{id}") => (at(&o.user), Body::None, Any),
        ("GET", "/wiedervorlagen/{id}") => (at(&o.wiedervorlage), Body::None, Any),
        (
            "GET",
            "/vorgaenge/{id}"
            | "/api/v1/vorgaenge/{id}"
            | "/api/v1/vorgaenge/{id}/historie"
            | "/api/v1/vorgaenge/{id}/dokumente"
            | "/api/v1/vorgaenge/{id}/kommentare"
            | "/api/v1/vorgaenge/{id}/wiedervorlagen",
        ) => (at(&o.vorgang), Body::None, Any),

        // Sessions and intake.
        ("POST", "/login") => (p.to_owned(), Body::Login { username: t.login }, Any),
        ("POST", "/api/v1/login") => {
            (p.to_owned(), Body::Json(json!({"username": t.login, "password": PASSWORD})), Any)
        }
        ("POST", "/logout") => {
            own_session = true;
            (p.to_owned(), form(&[]), RedirectTo("/login?meldung=abgemeldet"))
        }
        ("POST", "/passwort") => {
            own_session = true;
            let fields = [("aktuell", PASSWORD), ("neu", NEW_PASSWORD), ("wiederholung", NEW_PASSWORD)];
            (p.to_owned(), form(&fields), RedirectTo("/login?meldung=passwort-geaendert"))
        }
        ("POST", "/antrag") => {
            let body = Body::Multipart(
                vec![("formData", json_antrag.to_string())],
                vec![("representation", "antrag.pdf", "application/pdf", PDF)],
            );
            (p.to_owned(), body, Any)
        }
        ("POST", "/api/v1/antraege") => (p.to_owned(), Body::Json(json_antrag), Any),

        // Working Vorgänge: each cell on a Vorgang of its own.
        ("POST", "/vorgaenge/naechster" | "/api/v1/vorgaenge/naechster") => {
            // There is one to take.
            if fresh && t.has_vorgaenge() {
                t.vorgang(true).await;
            }
            if p.starts_with("/api/") {
                (p.to_owned(), Body::None, Any)
            } else {
                (p.to_owned(), form(&[]), RedirectTo("meldung=uebernommen"))
            }
        }
        ("POST", "/vorgaenge/{id}/status") => {
            let (id, v) = t.vorgang(fresh).await;
            (at(&id), form(&[("command", "ANNEHMEN"), ("version", &v.to_string())]), RedirectTo("meldung=status"))
        }
        ("POST", "/api/v1/vorgaenge/{id}/status") => {
            let (id, v) = t.vorgang(fresh).await;
            (at(&id), Body::Json(json!({"command": "ANNEHMEN", "version": v})), Any)
        }
        ("POST", "/vorgaenge/{id}/zuweisung") => {
            let (id, v) = t.vorgang(fresh).await;
            let fields = [("user_id", o.colleague.as_str()), ("version", &v.to_string())];
            (at(&id), form(&fields), RedirectTo("meldung=zugewiesen"))
        }
        ("PUT", "/api/v1/vorgaenge/{id}/zuweisung") => {
            let (id, v) = t.vorgang(fresh).await;
            (at(&id), Body::Json(json!({"userId": o.colleague, "version": v})), Any)
        }
        ("POST", "/vorgaenge/{id}/aktenzeichen") => {
            let (id, v) = t.vorgang(fresh).await;
            let fields = [("aktenzeichen", "Matrix/1"), ("version", &v.to_string())];
            (at(&id), form(&fields), RedirectTo("meldung=aktenzeichen"))
        }
        ("PUT", "/api/v1/vorgaenge/{id}/aktenzeichen") => {
            let (id, v) = t.vorgang(fresh).await;
            (at(&id), Body::Json(json!({"aktenzeichen": "Matrix/1", "version": v})), Any)
        }
        ("POST", "/vorgaenge/{id}/einheit") => {
            let (id, v) = t.vorgang(fresh).await;
            let fields = [("unit_id", o.other_unit.as_str()), ("version", &v.to_string())];
            (at(&id), form(&fields), RedirectTo("meldung=weitergegeben"))
        }
        ("PUT", "/api/v1/vorgaenge/{id}/einheit") => {
            let (id, v) = t.vorgang(fresh).await;
            (at(&id), Body::Json(json!({"unitId": o.other_unit, "version": v})), Any)
        }
        ("POST", "/vorgaenge/{id}/kommentare") => {
            let (id, _) = t.vorgang(fresh).await;
            let body = Body::Multipart(vec![("text", "Rückruf vereinbart".into())], vec![]);
            (at(&id), body, RedirectTo("meldung=kommentar"))
        }
        ("POST", "/api/v1/vorgaenge/{id}/kommentare") => {
            let (id, _) = t.vorgang(fresh).await;
            (at(&id), Body::Json(json!({"text": "Rückruf vereinbart"})), Any)
        }
        ("POST", "/vorgaenge/{id}/wiedervorlagen") => {
            let (id, _) = t.vorgang(fresh).await;
            let fields = vec![("betreff", "Nachfragen".into()), ("beschreibung", String::new()), ("frist", tomorrow())];
            (at(&id), Body::Multipart(fields, vec![]), RedirectTo("meldung=wiedervorlage"))
        }
        ("POST", "/api/v1/vorgaenge/{id}/wiedervorlagen") => {
            let (id, _) = t.vorgang(fresh).await;
            (at(&id), Body::Json(json!({"betreff": "Nachfragen", "frist": tomorrow()})), Any)
        }
        ("POST", "/vorgaenge/{id}/dokumente") => {
            let (id, _) = t.vorgang(fresh).await;
            let body = Body::Multipart(vec![], vec![("datei", "vermerk.pdf", "application/pdf", PDF)]);
            (at(&id), body, RedirectTo("meldung=dokumente"))
        }
        ("POST", "/api/v1/vorgaenge/{id}/dokumente") => {
            let (id, _) = t.vorgang(fresh).await;
            (at(&id), Body::Json(json!({"filename": "vermerk.txt", "content": "VmVybWVyaw=="})), Any)
        }
        ("POST", "/dokumente/{id}/entfernen") => {
            let doc = t.clerk_document(fresh, worker_api(w, caller)).await;
            (at(&doc), form(&[]), RedirectTo("meldung=dokument-entfernt"))
        }
        ("DELETE", "/api/v1/dokumente/{id}") => {
            let doc = t.clerk_document(fresh, worker_api(w, caller)).await;
            (at(&doc), Body::None, Any)
        }
        ("POST", "/vorgaenge/{id}/loeschen") => {
            let (id, v) = t.zu_loeschen(fresh).await;
            (at(&id), form(&[("version", &v.to_string()), ("bestaetigt", "ja")]), RedirectTo("meldung=geloescht"))
        }
        ("DELETE", "/api/v1/vorgaenge/{id}") => {
            let (id, v) = t.zu_loeschen(fresh).await;
            (format!("{}?version={v}", at(&id)), Body::None, Any)
        }
        ("POST", "/wiedervorlagen/{id}") => {
            let (id, v) = t.wiedervorlage(fresh).await;
            let fields = [
                ("betreff", "Nachfragen"),
                ("beschreibung", "erneut"),
                ("frist", &tomorrow()),
                ("version", &v.to_string()),
            ];
            (at(&id), form(&fields), RedirectTo("meldung=wiedervorlage-gespeichert"))
        }
        ("POST", "/wiedervorlagen/{id}/erledigt") => {
            let (id, v) = t.wiedervorlage(fresh).await;
            let v = v.to_string();
            let fields = [("version", v.as_str()), ("erledigt", "1"), ("zurueck", "liste")];
            (at(&id), form(&fields), RedirectTo("meldung=wiedervorlage-erledigt"))
        }
        ("PUT", "/api/v1/wiedervorlagen/{id}") => {
            let (id, v) = t.wiedervorlage(fresh).await;
            (at(&id), Body::Json(json!({"betreff": "Nachfragen", "erledigt": true, "version": v})), Any)
        }

        // Quarantine: a delivery that goes through now.
        ("POST", "/admin/quarantaene/{id}/verarbeiten") => {
            let id = t.delivery(fresh, &w.tenants[OWN].setup).await;
            (at(&id), form(&[]), Any)
        }
        ("POST", "/api/v1/quarantaene/{id}/verarbeiten") => {
            let id = t.delivery(fresh, &w.tenants[OWN].setup).await;
            (at(&id), Body::None, Any)
        }

        // Tenant administration.
        ("POST", "/admin/benutzer") => {
            let username = unique("neu");
            let fields = [
                ("username", username.as_str()),
                ("display_name", "Neue Kollegin"),
                ("email", ""),
                ("password", ""),
                ("roles", "SACHBEARBEITUNG"),
                ("units", o.unit.as_str()),
            ];
            (p.to_owned(), form(&fields), Any)
        }
        ("POST", "/admin/benutzer/{id}") => {
            (at(&o.user), Body::Form(o.user_form.clone()), RedirectTo("meldung=benutzer-gespeichert"))
        }
        ("POST", "/admin/benutzer/{id}/passwort") => (at(&o.user), form(&[]), Any),
        ("POST", "/admin/einheiten") => {
            let fields = [("name", "Matrix-Amt"), ("kennung", &unique("matrix-amt"))];
            (p.to_owned(), form(&fields), RedirectTo("meldung=einheit-angelegt"))
        }
        ("POST", "/admin/einheiten/{id}") => {
            let fields = [("name", o.unit_name.as_str()), ("kennung", &o.unit_kennung)];
            (at(&o.unit), form(&fields), RedirectTo("meldung=einheit-gespeichert"))
        }
        ("POST", "/admin/tokens") => {
            (p.to_owned(), form(&[("name", "Matrix-Fachverfahren"), ("scopes", "LESEN")]), Any)
        }
        ("POST", "/admin/tokens/{id}/widerrufen") => (at(&o.token), form(&[]), RedirectTo("meldung=token-widerrufen")),
        ("POST", "/admin/einstellungen") => {
            let fields = [("name", o.name.as_str()), ("ip_allowlist", "")];
            (p.to_owned(), form(&fields), RedirectTo("meldung=einstellungen-gespeichert"))
        }

        // The platform operator.
        ("POST", "/betrieb/mandanten") => {
            let id = unique("matrix");
            let fields = [
                ("name", "Stadt Matrix"),
                ("kind", "STADT"),
                ("id", id.as_str()),
                ("host", ""),
                ("admin_email", "it@matrix.example"),
                ("admin_username", ""),
            ];
            (p.to_owned(), form(&fields), Any)
        }
        ("POST", "/betrieb/mandanten/{id}/host") => {
            let host = format!("{}.example", unique("matrix"));
            (at(&o.tenant), form(&[("host", &host)]), RedirectTo("meldung=host-gespeichert"))
        }
        ("POST", "/betrieb/auftraege/probe") => (p.to_owned(), form(&[]), RedirectTo("meldung=auftrag-probe")),
        ("POST", "/betrieb/auftraege/{id}/wiederholen") => {
            (at(&job(w.app, true).await), form(&[]), RedirectTo("meldung=auftrag-wiederholt"))
        }
        ("POST", "/betrieb/auftraege/{id}/verwerfen") => {
            (at(&job(w.app, false).await), form(&[]), RedirectTo("meldung=auftrag-verworfen"))
        }
        (method, path) => panic!("the matrix does not know a valid request for {method} {path}: add it to `call`"),
    };
    Call { method: rule.method.clone(), path, body, success, own_session }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/antrag"
}

async fn send(w: &World<'_>, caller: &Caller, prefix: &str, call: &Call) -> reqwest::Response {
    let url = w.app.url(&format!("{prefix}{}", call.path));
    let (client, csrf, bearer) = match &caller.credentials {
        // Signing in again would replace the session the caller's later cells ride on.
        _ if matches!(call.body, Body::Login { .. }) => (no_redirects(), None, None),
        Credentials::None => (no_redirects(), None, None),
        Credentials::Token(t) => (no_redirects(), None, Some(t.clone())),
        Credentials::Person { bearer, .. } if is_api(&call.path) => (no_redirects(), None, Some(bearer.clone())),
        Credentials::Person { .. } if call.own_session => {
            let (client, csrf) = session(w.app, &w.tenants[caller.home].prefix, caller.username).await;
            (client, Some(csrf), None)
        }
        Credentials::Person { cookies, csrf, .. } => (cookies.clone(), Some(csrf.clone()), None),
    };
    let bearer = bearer.or_else(|| match (&caller.credentials, &call.body) {
        (Credentials::Token(t), Body::Login { .. }) => Some(t.clone()),
        _ => None,
    });
    let mut rb = client.request(call.method.clone(), &url);
    if let Some(b) = &bearer {
        rb = rb.bearer_auth(b);
    }
    let with_csrf = |fields: &[(&'static str, String)]| {
        let mut all: Vec<(&str, String)> = csrf.iter().map(|c| ("_csrf", c.clone())).collect();
        all.extend(fields.iter().cloned());
        all
    };
    let rb = match &call.body {
        Body::None => rb,
        Body::Json(v) => rb.json(v),
        Body::Form(fields) => rb.form(&with_csrf(fields)),
        Body::Multipart(fields, files) => {
            let mut mp = Form::new();
            for (k, v) in with_csrf(fields) {
                mp = mp.text(k, v);
            }
            for (field, name, mime, bytes) in files {
                mp = mp.part(*field, Part::bytes(bytes.to_vec()).file_name(*name).mime_str(mime).expect("mime"));
            }
            rb.multipart(mp)
        }
        Body::Login { username } => {
            let login = w.app.url(&format!("{prefix}/login"));
            let page = client.get(login).send().await.expect("login page").text().await.expect("html");
            let fields =
                [("_csrf", csrf_in(&page)), ("username", (*username).to_owned()), ("password", PASSWORD.into())];
            rb.form(&fields)
        }
    };
    rb.send().await.expect("request")
}

/// What a cell was answered: read once, judged below, shown in the report.
struct Answer {
    status: StatusCode,
    location: String,
    text: String,
}

impl Answer {
    async fn of(res: reqwest::Response) -> Self {
        let status = res.status();
        let location = res.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("").to_owned();
        let bytes = res.bytes().await.unwrap_or_default();
        Self { status, location, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// Refused for the caller's rights: 401, 403 or the UI's redirect to the login (or the
    /// password change). A refusal of the CSRF token is none: it would mean the request, not
    /// the rule, was refused.
    fn refused(&self) -> bool {
        let csrf = self.text.contains("Sicherheitstoken des Formulars") || self.text.contains("probleme/csrf");
        let by_rule = matches!(self.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
            || (self.status == StatusCode::SEE_OTHER && to_refusal(&self.location));
        by_rule && !csrf
    }

    fn succeeded(&self, success: Success) -> bool {
        let status = self.status;
        match success {
            Success::Any => status.is_success() || (status == StatusCode::SEE_OTHER && !to_refusal(&self.location)),
            Success::Download => status == StatusCode::OK,
            Success::RedirectTo(target) => status == StatusCode::SEE_OTHER && self.location.contains(target),
        }
    }

    /// Status, redirect and the page's message, the problem's detail, or the start of the body.
    fn summary(&self) -> String {
        let text = &self.text;
        let alert = "role=\"alert\">";
        let said = match (text.find(alert), serde_json::from_str::<Value>(text)) {
            (Some(i), _) => text[i + alert.len()..].split('<').next().unwrap_or_default().to_owned(),
            (None, Ok(problem)) if problem["detail"].is_string() => {
                problem["detail"].as_str().unwrap_or_default().to_owned()
            }
            _ => text.chars().take(200).collect(),
        };
        format!("{} {} {}", self.status, self.location, said.split_whitespace().collect::<Vec<_>>().join(" "))
    }
}

/// A redirect to the login or to the password change: the UI's way of refusing.
fn to_refusal(location: &str) -> bool {
    let path = location.split('?').next().unwrap_or_default();
    path.ends_with("/login") || path.ends_with("/passwort")
}

fn expected(caller: &Caller, permission: Permission, path: &str) -> bool {
    match (&caller.principal, permission) {
        (_, Permission::Public) => true,
        (Some(Principal::Token { .. }), _) if !is_api(path) => false,
        // Intake is closed in this app: a token with scope EINGANG is needed.
        (None, _) => false,
        (Some(p), permission) => p.grants(permission),
    }
}

fn cannot_succeed(rule: &RouteRule, caller: &Caller) -> Option<&'static CannotSucceed> {
    CANNOT_SUCCEED
        .iter()
        .find(|c| c.method == rule.method.as_str() && c.path == rule.path && c.caller.is_none_or(|l| l == caller.label))
}

async fn every_route_for_every_role_in_both_tenants(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| c.open_intake = false).await else { return };
    let (world, callers) = seed(&app).await;
    let fremd = &world.tenants[FREMD];

    let (_, table) = web::routes();
    let mut rules: Vec<_> = table.rules().to_vec();
    // Changing the password ends every session of the caller: the last cell of each.
    rules.sort_by_key(|r| r.method == Method::POST && r.path == "/passwort");
    assert!(rules.len() >= 40, "all routes enumerated: {}", rules.len());
    let before = snapshot(&app, fremd).await;
    let mut failures = Vec::new();
    let (mut cells, mut successes, mut listed) = (0, 0, 0);
    for caller in &callers {
        let home = &world.tenants[caller.home];
        for rule in &rules {
            let allowed = expected(caller, rule.permission, &rule.path);
            // First the same valid request with the other tenant's objects (or at its address):
            // refused or not found. Intake routes by Kennung across tenants by design, and
            // operators manage every tenant and the installation's jobs.
            let skip_foreign = matches!(rule.permission, Permission::Public | Permission::Intake)
                || (caller.label == "Betrieb" && rule.permission == Permission::Operator);
            if !skip_foreign {
                let prefix = if rule.path.contains("{id}") { &home.prefix } else { &fremd.prefix };
                let c = call(&world, caller, rule, fremd, false).await;
                let res = Answer::of(send(&world, caller, prefix, &c).await).await;
                cells += 1;
                if res.status.is_server_error() || !(res.refused() || res.status == StatusCode::NOT_FOUND) {
                    failures.push(format!(
                        "{} {prefix}{} as {} with the other tenant's objects: {} (must be refused or not found)",
                        c.method,
                        c.path,
                        caller.label,
                        res.summary()
                    ));
                }
            }

            let c = call(&world, caller, rule, home, true).await;
            let res = Answer::of(send(&world, caller, &home.prefix, &c).await).await;
            cells += 1;
            let status = res.status;
            let problem = if status.is_server_error() {
                Some("a server error".to_owned())
            } else if let Some(x) = cannot_succeed(rule, caller).filter(|_| allowed) {
                listed += 1;
                (status.as_u16() != x.status).then(|| format!("listed as answering {}: {}", x.status, x.why))
            } else if allowed && !res.succeeded(c.success) {
                Some(format!("allowed: must succeed ({:?})", c.success))
            } else if !allowed && !res.refused() {
                Some("must be refused".to_owned())
            } else {
                successes += usize::from(allowed);
                None
            };
            if let Some(problem) = problem {
                failures.push(format!(
                    "{} {}{} as {}: {} ({problem})",
                    c.method,
                    home.prefix,
                    c.path,
                    caller.label,
                    res.summary()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} violations:\n{}", failures.len(), failures.join("\n"));
    let after = snapshot(&app, fremd).await;
    assert_eq!(after.tenant, before.tenant, "the other tenant's settings are untouched");
    assert_eq!(after.users, before.users, "the other tenant's users are untouched");
    assert_eq!(after.units, before.units, "the other tenant's units are untouched");
    assert_eq!(after.tokens, before.tokens, "the other tenant's tokens are untouched");
    assert_eq!(after.vorgaenge, before.vorgaenge, "the other tenant's Vorgänge are untouched");
    assert_eq!(after.history, before.history, "the other tenant's histories are untouched");
    assert_eq!(after.kommentare, before.kommentare, "the other tenant's Kommentare are untouched");
    assert_eq!(after.wiedervorlagen, before.wiedervorlagen, "the other tenant's Wiedervorlagen are untouched");
    assert_eq!(after.clerk_documents, before.clerk_documents, "the other tenant's documents are untouched");
    assert_eq!(after.deliveries, before.deliveries, "the other tenant's quarantine is untouched");
    assert_eq!(after, before);
    println!(
        "authorization matrix: {} routes × {} callers, {cells} cells checked: {successes} allowed and succeeded, \
         {listed} allowed but listed as unable to succeed here, the rest refused",
        rules.len(),
        callers.len()
    );
}

/// A route registered without a rule would make the server refuse to build its router; the
/// table also contains every API route of the OpenAPI document.
#[test]
fn every_api_route_of_the_openapi_document_has_a_rule() {
    let (_, table) = web::routes();
    let doc: Value = serde_json::from_str(&web::openapi_json()).expect("openapi");
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for method in item.as_object().expect("item").keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            assert!(table.permission(&m, path).is_some(), "{method} {path} has no rule");
        }
    }
}

on_both_backends!(every_route_for_every_role_in_both_tenants);
