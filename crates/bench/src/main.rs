//! Benchmarks of the backbone, run against the real server over real HTTP on loopback.
//!
//! cargo run --release -p ozgcloud-bench -- intake   [seconds] [concurrency]
//! cargo run --release -p ozgcloud-bench -- worklist [vorgaenge] [requests]
//! cargo run --release -p ozgcloud-bench -- search   [vorgaenge] [requests per query shape]
//!
//! With `OZGCLOUD_BENCH_BACKEND=postgres` the server runs on a fresh PostgreSQL database on
//! `OZGCLOUD_TEST_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/postgres).
//!
//! Client and server share this process and the machine's cores, so the figures are a
//! lower bound for a server on its own machine. Peak RSS is the whole process's.

use domain::{Antragsteller, FormItem, FormValue, TenantId, TransactionId, VorgangId, Vorgangsnummer};
use ozgcloud::{Config, Server};
use rand::Rng;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{DeliveryId, NewDelivery, NewVorgang};
use store_postgres::testing::TestDatabase;
use time::OffsetDateTime;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("intake") => intake(arg(1, 20), arg(2, 64) as usize).await,
        Some("worklist") => worklist(arg(1, 100_000) as usize, arg(2, 2_000) as usize).await,
        Some("search") => search(arg(1, 100_000) as usize, arg(2, 300) as usize).await,
        _ => {
            eprintln!(
                "usage: ozgcloud-bench intake [seconds] [concurrency] | worklist [vorgaenge] [requests] | search [vorgaenge] [requests]"
            );
            std::process::exit(2);
        }
    }
    println!("peak RSS: {} MiB", peak_rss_kib() / 1024);
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

struct Bench {
    server: Server,
    db: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn stop(self) {
        self.server.stop().await;
        if let Some(db) = self.db {
            db.drop_db().await;
        }
    }
}

async fn start() -> Bench {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = match std::env::var("OZGCLOUD_BENCH_BACKEND").as_deref() {
        Ok("postgres") => Some(TestDatabase::create().await.expect("PostgreSQL for the benchmark")),
        _ => None,
    };
    let mut config = Config::new(dir.path().to_owned());
    config.database_url = db.as_ref().map(|d| d.url.clone());
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.admin_password = Some("bench-passwort-123".into());
    config.open_intake = true;
    let state = ozgcloud::open_state(&config).await.expect("state");
    ozgcloud::ensure_admin(&state, config.admin_password.as_deref()).await.expect("admin");
    let server = ozgcloud::start(&config, state).await.expect("start");
    println!("backend: {}", server.state.store.backend());
    Bench { server, db, _dir: dir }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

/// About `kb` KiB of form data: nested groups like a real Gewerbeanmeldung.
fn form_data(tx: &str, kb: usize) -> Value {
    let mut items = vec![json!({"name": "antragsteller", "label": "Antragsteller", "formItems": [
        {"name": "pers_vorname", "label": "Vorname", "stringValue": "Klara"},
        {"name": "pers_nachname", "label": "Nachname", "stringValue": "Muster"},
        {"name": "sh_plz", "label": "PLZ", "stringValue": "24103"},
        {"name": "ort", "label": "Ort", "stringValue": "Kiel"}]})];
    let mut i = 0;
    while serde_json::to_vec(&items).map(|v| v.len()).unwrap_or(0) < kb * 1024 {
        items.push(json!({"name": format!("gruppe_{i}"), "label": format!("Abschnitt {i}"), "formItems": [
            {"name": "beschreibung", "label": "Beschreibung", "stringValue": "Lorem ipsum dolor sit amet, consectetur adipiscing elit"},
            {"name": "anzahl", "label": "Anzahl", "numberValue": i},
            {"name": "datum", "label": "Datum", "dateValue": "2026-11-23"}]}));
        i += 1;
    }
    json!({"control": {"transactionId": tx, "zustaendigeStelle": "10363455", "leikaIds": ["99050012104000"],
        "formId": "gewerbeanmeldung", "name": "Gewerbeanmeldung"}, "formData": items})
}

async fn intake(seconds: u64, concurrency: usize) {
    let bench = start().await;
    let server = &bench.server;
    units(server).await;
    let url = format!("{}/antrag", server.url());
    let attachment: Arc<Vec<u8>> = Arc::new((0..100 * 1024).map(|i| (i % 251) as u8).collect());
    let client = reqwest::Client::new();
    let form_size = serde_json::to_vec(&form_data("x", 5)).map(|v| v.len()).unwrap_or(0);
    println!("intake: {concurrency} concurrent clients for {seconds} s, formData {form_size} B + attachment {} B, durable commits", attachment.len());
    let done = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (client, url, attachment, done) = (client.clone(), url.clone(), attachment.clone(), done.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    let tx = format!("bench-{w}-{n}");
                    n += 1;
                    let form = Form::new()
                        .part(
                            "formData",
                            Part::text(form_data(&tx, 5).to_string()).mime_str("application/json").expect("mime"),
                        )
                        .part(
                            "attachment",
                            Part::bytes(attachment.as_ref().clone())
                                .file_name("anlage.pdf")
                                .mime_str("application/pdf")
                                .expect("mime"),
                        );
                    let t = Instant::now();
                    let res = client.post(&url).multipart(form).send().await.expect("send");
                    assert!(res.status().is_success(), "intake failed: {}", res.status());
                    latencies.push(t.elapsed());
                    done.fetch_add(1, Ordering::Relaxed);
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let n = done.load(Ordering::Relaxed);
    println!(
        "intake: {n} Anträge in {elapsed:.1} s = {:.0} intakes/s; latency p50 {:.1} ms, p99 {:.1} ms",
        n as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    );
    bench.stop().await;
}

/// Ten Organisationseinheiten (the first carries the Kennung the bench forms name).
async fn units(server: &Server) -> Vec<domain::UnitId> {
    let tenant = TenantId::default_tenant();
    let mut units = Vec::new();
    for u in 0..10 {
        let kennung = if u == 0 { "10363455".to_owned() } else { format!("bench-{u}") };
        let unit = store::NewUnit { id: domain::UnitId::new(), name: format!("Einheit {u}"), kennung };
        units.push(server.state.store.tenant(&tenant).create_unit(unit).await.expect("unit").id);
    }
    units
}

/// 20 clerks, each working two of the ten units; Vorgänge spread evenly over the units.
/// With `people`, applicants, addresses and form texts vary like in a real office (for the
/// search bench); otherwise every applicant is "Klara Muster-i" (the worklist bench's data).
async fn seed(server: &Server, count: usize, people: bool) -> Vec<domain::UnitId> {
    let units = Arc::new(units(server).await);
    let tenant = TenantId::default_tenant();
    let mut clerks = Vec::new();
    for c in 0..20 {
        let id = ozgcloud::add_user(
            &server.state,
            &tenant,
            &format!("clerk{c}"),
            &format!("Sachbearbeiter:in {c}"),
            vec![domain::Role::Sachbearbeitung],
            vec![units[c % 10], units[(c + 1) % 10]],
            "bench-passwort-123",
        )
        .await
        .expect("clerk");
        clerks.push(id);
    }
    let clerks = Arc::new(clerks);
    let store = server.state.store.clone();
    let forms = [
        "Gewerbeanmeldung",
        "Hundesteuer-Anmeldung",
        "Antrag auf Baumfällung",
        "Antrag auf Straßensperrung",
        "Antrag auf Filmaufnahmen",
    ];
    let t = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..256)
        .map(|_| {
            let (store, tenant, next, clerks, units) =
                (store.clone(), tenant.clone(), next.clone(), clerks.clone(), units.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let data = if people { person_data(i) } else { muster_data(i) };
                    insert_one(&*store, &tenant, i, forms[i % forms.len()], units[i % units.len()], &clerks, data)
                        .await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("seed worker");
    }
    println!("seeded {count} Vorgänge in {:.1} s", t.elapsed().as_secs_f64());
    units.to_vec()
}

fn muster_data(i: usize) -> Vec<FormItem> {
    vec![FormItem::group(
        "antragsteller",
        "Antragsteller",
        vec![
            FormItem::field("pers_vorname", "Vorname", FormValue::String("Klara".into())),
            FormItem::field("pers_nachname", "Nachname", FormValue::String(format!("Muster-{i}"))),
        ],
    )]
}

const NACHNAMEN: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Simon",
    "Ludwig",
    "Böhm",
    "Winter",
    "Kraus",
    "Martin",
    "Krämer",
    "Vogt",
    "Stein",
    "Jäger",
    "Otto",
    "Sommer",
    "Groß",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Graf",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Kühn",
    "Pohl",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Voigt",
    "Sauer",
    "Arnold",
    "Wolff",
    "Pfeiffer",
    "Yılmaz",
    "Kowalski",
    "Nowak",
    "Nguyen",
    "Öztürk",
    "Đorđević",
];
const VORNAMEN: &[&str] = &[
    "Anna",
    "Jürgen",
    "Klara",
    "Max",
    "Sophie",
    "Lukas",
    "Marie",
    "Paul",
    "Emma",
    "Jonas",
    "Mia",
    "Felix",
    "Lena",
    "Leon",
    "Hannah",
    "Finn",
    "Lea",
    "Elias",
    "Laura",
    "Ben",
    "Sarah",
    "Noah",
    "Julia",
    "Tim",
    "Lisa",
    "Jan",
    "Katharina",
    "Tobias",
    "Johanna",
    "Sebastian",
    "Renate",
    "Günter",
    "Ursula",
    "Horst",
    "Gisela",
    "Dieter",
    "Brigitte",
    "Uwe",
    "Sabine",
    "Frank",
];
const STRASSEN: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Gartenweg",
    "Schulstraße",
    "Dorfstraße",
    "Lindenallee",
    "Am Markt",
    "Kirchweg",
    "Mühlenweg",
    "Bergstraße",
    "Birkenweg",
    "Holstenstraße",
    "Hafenstraße",
    "Goethestraße",
    "Schillerplatz",
    "Rosenstraße",
    "Ahornweg",
    "Feldstraße",
    "Wiesengrund",
    "Königsallee",
];
const ORTE: &[&str] = &["Kiel", "Lübeck", "Flensburg", "Neumünster", "Norderstedt", "Elmshorn", "Pinneberg", "Itzehoe"];
const TAETIGKEITEN: &[&str] = &[
    "Onlinehandel mit Keramik",
    "Friseursalon",
    "Gaststätte mit Außenbewirtschaftung",
    "Elektroinstallation",
    "Gebäudereinigung",
    "Imbiss",
    "Kfz-Werkstatt",
    "Hausmeisterservice",
    "Softwareentwicklung",
    "Blumenladen",
    "Fahrradreparatur",
    "Fotostudio",
    "Nachhilfe",
    "Bäckerei",
    "Getränkehandel",
    "Umzugsunternehmen",
    "Malerbetrieb",
    "Kosmetikstudio",
    "Tischlerei",
    "Versicherungsvermittlung",
];
const WOERTER: &[&str] = &[
    "Antrag",
    "bitte",
    "Genehmigung",
    "Termin",
    "Unterlagen",
    "beigefügt",
    "Nachweis",
    "Fläche",
    "Quadratmeter",
    "Baum",
    "Eiche",
    "Linde",
    "Grundstück",
    "Nachbar",
    "Zufahrt",
    "Sperrung",
    "Veranstaltung",
    "Straßenfest",
    "Filmaufnahmen",
    "Drehgenehmigung",
    "Hund",
    "Rasse",
    "Labrador",
    "Dackel",
    "Schäferhund",
    "Steuer",
    "Anmeldung",
    "Abmeldung",
    "Gewerbe",
    "Betrieb",
    "Mitarbeiter",
    "Öffnungszeiten",
    "Werktags",
    "Wochenende",
    "Lärm",
    "Genehmigt",
    "Frist",
    "dringend",
    "Rückfrage",
    "telefonisch",
    "erreichbar",
    "Vormittag",
    "Nachmittag",
    "Zeitraum",
    "Juni",
    "Juli",
    "August",
    "Fällung",
    "Ersatzpflanzung",
    "Gutachten",
];

/// A small deterministic mixer, so the seed is the same in every run.
fn pick<'a>(list: &[&'a str], i: usize, salt: usize) -> &'a str {
    let mut x = (i as u64 ^ (salt as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 31;
    list[(x % list.len() as u64) as usize]
}

/// An applicant with address and contact, the activity and a few sentences of free text:
/// about 0.5 KiB of form data. Every 20,000th applicant is a "Zwölfling" (the rare name), all in unit 0 (clerk0 sees them).
fn person_data(i: usize) -> Vec<FormItem> {
    let nachname = if i % 20_000 == 10 { "Zwölfling" } else { pick(NACHNAMEN, i, 1) };
    let vorname = pick(VORNAMEN, i, 2);
    let text: Vec<&str> = (0..24).map(|w| pick(WOERTER, i, 10 + w)).collect();
    let s = |v: String| FormValue::String(v);
    vec![
        FormItem::group(
            "antragsteller",
            "Antragsteller",
            vec![
                FormItem::field("pers_vorname", "Vorname", s(vorname.into())),
                FormItem::field("pers_nachname", "Nachname", s(nachname.into())),
                FormItem::field("sh_strasse", "Straße", s(pick(STRASSEN, i, 3).into())),
                FormItem::field("sh_hausnummer", "Hausnummer", s(format!("{}", i % 120 + 1))),
                FormItem::field("sh_plz", "PLZ", s(format!("24{:03}", i % 1000))),
                FormItem::field("ort", "Ort", s(pick(ORTE, i, 4).into())),
                FormItem::field("kont_email", "E-Mail", s(format!("{}.{}@example.org", vorname, i).to_lowercase())),
            ],
        ),
        FormItem::group(
            "angaben",
            "Angaben",
            vec![
                FormItem::field("taetigkeit", "Tätigkeit", s(pick(TAETIGKEITEN, i, 5).into())),
                FormItem::field("beschreibung", "Beschreibung", s(text.join(" "))),
                FormItem::field(
                    "beginn",
                    "Beginn",
                    FormValue::Date(format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1)),
                ),
            ],
        ),
    ]
}

/// Like a real office: about a third still new and unassigned, the rest assigned to one of
/// the clerks and spread over the statuses.
async fn insert_one(
    store: &dyn store::Store,
    tenant: &TenantId,
    i: usize,
    form: &str,
    unit: domain::UnitId,
    clerks: &[domain::UserId],
    data: Vec<FormItem>,
) {
    let received = OffsetDateTime::now_utc() - time::Duration::minutes(rand::thread_rng().gen_range(0..525_600));
    let delivery = DeliveryId::new();
    store
        .tenant(tenant)
        .record_delivery(NewDelivery {
            id: delivery,
            received_at: received,
            channel: "bench".into(),
            content_type: "application/json".into(),
            blob_key: format!("{tenant}/bench/{i}"),
            size: 0,
        })
        .await
        .expect("delivery");
    let mut vorgang = NewVorgang {
        id: VorgangId::new(),
        nummer: Vorgangsnummer::generate(received.date(), &mut rand::thread_rng()),
        transaction_id: TransactionId::parse(&format!("seed-{i}")).expect("tx"),
        eingang_at: received,
        form_id: form.to_lowercase(),
        form_name: form.to_owned(),
        zustaendige_stelle: "10363455".into(),
        unit: Some(unit),
        leika_ids: vec![],
        applicant: Antragsteller::extract(&data, None),
        control: json!({}),
        form_data: data,
        documents: vec![],
    };
    let mut head = loop {
        match store.tenant(tenant).complete_intake(delivery, vorgang.clone()).await {
            Ok(outcome) => break outcome.head().clone(),
            Err(store::StorageError::NummerTaken) => {
                vorgang.nummer = Vorgangsnummer::generate(received.date(), &mut rand::thread_rng())
            }
            Err(e) => panic!("seed: {e}"),
        }
    };
    use domain::StatusCommand::*;
    let (assignee, path): (usize, &[domain::StatusCommand]) = {
        let mut rng = rand::thread_rng();
        let path: &[domain::StatusCommand] = match rng.gen_range(0..100) {
            0..=34 => return,
            35..=49 => &[],
            50..=59 => &[Annehmen],
            60..=79 => &[Annehmen, Bearbeiten],
            80..=86 => &[Annehmen, Bearbeiten, Bescheiden],
            87..=95 => &[Annehmen, Bearbeiten, Abschliessen],
            _ => &[Verwerfen],
        };
        (rng.gen_range(0..clerks.len()), path)
    };
    let actor = store::Actor { user: Some(clerks[assignee]), name: "Seed".into() };
    let change = store::VorgangChange::Assign { to: Some(clerks[assignee]) };
    head = store.tenant(tenant).apply_change(head.id, head.version, change, &actor).await.expect("assign");
    for command in path {
        let to = command.target(head.status, None).expect("legal");
        let reason = command.requires_reason().then(|| "Seed".to_owned());
        let change = store::VorgangChange::Status { command: *command, from: head.status, to, reason };
        head = store.tenant(tenant).apply_change(head.id, head.version, change, &actor).await.expect("status");
    }
}

async fn worklist(count: usize, requests: usize) {
    let bench = start().await;
    let server = &bench.server;
    seed(server, count, false).await;
    vacuum(&bench).await;
    let client = reqwest::Client::new();
    let token = login(server, &client).await;
    // What clerks do all day: the first pages of their views, some sorting and filtering,
    // now and then a deep page.
    let pages = count / 50;
    let mut rng = rand::thread_rng();
    for (label, base) in [("HTML page", "/vorgaenge"), ("JSON API", "/api/v1/vorgaenge")] {
        let mut latencies = Vec::with_capacity(requests);
        for i in 0..requests {
            let view = ["alle", "meine", "nicht-zugewiesen"][i % 3];
            let sort = ["eingang", "eingang", "nummer", "formular", "status", "aktenzeichen"][rng.gen_range(0..6)];
            let status = ["", "&status=NEU", "&status=IN_BEARBEITUNG"][rng.gen_range(0..3)];
            let page = if rng.gen_bool(0.9) { rng.gen_range(1..=5) } else { rng.gen_range(1..=pages.max(1)) };
            let url = format!("{}{base}?ansicht={view}&sort={sort}{status}&seite={page}", server.url());
            let t = Instant::now();
            let res = client.get(&url).bearer_auth(&token).send().await.expect("get");
            assert!(res.status().is_success(), "{url}: {}", res.status());
            let _ = res.bytes().await.expect("body");
            latencies.push(t.elapsed());
        }
        latencies.sort();
        println!(
            "worklist {label} at {count} Vorgänge, {requests} requests: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0)
        );
    }
    bench.stop().await;
}

/// Steady state of a live PostgreSQL database: autovacuum has set the visibility map, so
/// index-only scans need no heap visits. Right after a bulk load it has not.
async fn vacuum(bench: &Bench) {
    if let Some(db) = &bench.db {
        let store = store_postgres::PostgresStore::connect(&db.url).await.expect("connect");
        sqlx::raw_sql("VACUUM ANALYZE").execute(store.pool()).await.expect("vacuum");
        store.close().await;
        println!("VACUUM ANALYZE done");
    }
}

async fn login(server: &Server, client: &reqwest::Client) -> String {
    let login: Value = client
        .post(format!("{}/api/v1/login", server.url()))
        .json(&json!({"username": "clerk0", "password": "bench-passwort-123"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    login["token"].as_str().expect("token").to_owned()
}

/// "Vorgang suchen" at `count` Vorgänge of varied applicants: each query shape `requests`
/// times as the page and as the API, signed in as clerk0 (2 of 10 units), rotating the views.
async fn search(count: usize, requests: usize) {
    let bench = start().await;
    let server = &bench.server;
    let units = seed(server, count, true).await;
    vacuum(&bench).await;
    let client = reqwest::Client::new();
    let token = login(server, &client).await;
    let today = OffsetDateTime::now_utc().date();
    let iso = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let (von, bis) = (iso(today - time::Duration::days(90)), iso(today));
    let shapes: Vec<(&str, String)> = vec![
        ("rare name (5 in 100,000)", "suche=zw%C3%B6lfling".into()),
        ("common name", "suche=m%C3%BCller".into()),
        ("common 3-letter prefix", "suche=sch".into()),
        ("two terms", "suche=m%C3%BCller+anna".into()),
        ("name and form-data word", "suche=schmidt+keramik".into()),
        ("search + status NEU", "suche=schmidt&status=NEU".into()),
        ("form + Eingang range, no text", format!("formular=Hundesteuer-Anmeldung&von={von}&bis={bis}")),
        ("unit filter, no text", format!("einheit={}", units[1].0)),
    ];
    println!("search at {count} Vorgänge, {requests} requests per shape and response kind");
    println!("| query | hits (clerk0, Alle) | HTML p50 | HTML p99 | JSON p50 | JSON p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    for (label, params) in &shapes {
        let hits = client
            .get(format!("{}/api/v1/vorgaenge?{params}", server.url()))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get")
            .json::<Value>()
            .await
            .expect("json")["total"]
            .as_u64()
            .unwrap_or(0);
        let mut row = Vec::new();
        let mut max = 0.0f64;
        for base in ["/vorgaenge", "/api/v1/vorgaenge"] {
            let mut latencies = Vec::with_capacity(requests);
            for i in 0..requests {
                let view = ["alle", "meine", "nicht-zugewiesen"][i % 3];
                let url = format!("{}{base}?ansicht={view}&{params}", server.url());
                let t = Instant::now();
                let res = client.get(&url).bearer_auth(&token).send().await.expect("get");
                assert!(res.status().is_success(), "{url}: {}", res.status());
                let _ = res.bytes().await.expect("body");
                latencies.push(t.elapsed());
            }
            latencies.sort();
            row.push(format!("{:.2} ms", percentile(&latencies, 0.5)));
            row.push(format!("{:.2} ms", percentile(&latencies, 0.99)));
            max = max.max(percentile(&latencies, 1.0));
        }
        println!("| {label} (`{params}`) | {hits} | {} | {max:.2} ms |", row.join(" | "));
    }
    bench.stop().await;
}
