//! Realistic demo data: Anträge of typical municipal forms, delivered through the real
//! intake (raw payload stored, parsed, attachments in the document store) and then moved
//! through the status model by demo clerks.

use base64::Engine as _;
use domain::vorgang::decide_status_move;
use domain::{Role, StatusCommand, TenantId, UnitId, UserId, Visibility};
use intake::Payload;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use store::{Actor, NewUnit, View, VorgangChange};
use time::{Duration, OffsetDateTime};
use web::AppState;

use crate::SetupError;

pub const DEMO_PASSWORD: &str = "Demo-Passwort-2026";

const VORNAMEN: &[&str] = &[
    "Klara",
    "Jonas",
    "Sophie",
    "Lukas",
    "Marie",
    "Finn",
    "Hannah",
    "Paul",
    "Emma",
    "Ben",
    "Lea",
    "Ole",
    "Ida",
    "Hauke",
    "Frauke",
    "Jürgen",
    "Gül",
    "Mehmet",
    "Anna-Lena",
    "Sönke",
];
const NACHNAMEN: &[&str] = &[
    "Muster",
    "Petersen",
    "Hansen",
    "Jensen",
    "Schmidt",
    "Möller",
    "Clausen",
    "Thomsen",
    "Nielsen",
    "Carstensen",
    "Jöhnk",
    "Yılmaz",
    "Schröder",
    "Brodersen",
    "Lorenzen",
    "Wulf",
    "Hinrichsen",
    "Krüger",
    "Özdemir",
    "Weiß",
];
const STRASSEN: &[&str] = &[
    "Holstenstraße",
    "Dänische Straße",
    "Königsweg",
    "Lindenallee",
    "Am Markt",
    "Große Straße",
    "Schulweg",
    "Friedrichstraße",
    "Hafenstraße",
    "Mühlenweg",
    "Kirchenstraße",
    "Bahnhofstraße",
];
const ORTE: &[(&str, &str)] = &[
    ("24103", "Kiel"),
    ("23552", "Lübeck"),
    ("24937", "Flensburg"),
    ("24534", "Neumünster"),
    ("22846", "Norderstedt"),
    ("25335", "Elmshorn"),
    ("25813", "Husum"),
    ("24837", "Schleswig"),
    ("24340", "Eckernförde"),
    ("24768", "Rendsburg"),
];
const BAEUME: &[&str] =
    &["Stieleiche", "Rotbuche", "Winterlinde", "Bergahorn", "Hainbuche", "Sandbirke", "Gemeine Esche", "Vogelkirsche"];
const RASSEN: &[&str] = &[
    "Labrador Retriever",
    "Dackel",
    "Border Collie",
    "Mischling",
    "Golden Retriever",
    "Jack Russell Terrier",
    "Beagle",
];
const TAETIGKEITEN: &[&str] = &[
    "Einzelhandel mit Bekleidung",
    "IT-Dienstleistungen",
    "Gastronomie (Café)",
    "Handel mit Fahrrädern",
    "Friseursalon",
    "Reinigungsdienst",
    "Onlinehandel mit Keramik",
];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn s(name: &str, label: &str, v: impl Into<String>) -> Value {
    json!({"name": name, "label": label, "stringValue": v.into()})
}
fn n(name: &str, label: &str, v: f64) -> Value {
    json!({"name": name, "label": label, "numberValue": v})
}
fn d(name: &str, label: &str, v: OffsetDateTime) -> Value {
    let date = v.date();
    json!({"name": name, "label": label, "dateValue": format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())})
}
fn b(name: &str, label: &str, v: bool) -> Value {
    json!({"name": name, "label": label, "booleanValue": v})
}
fn group(name: &str, label: &str, items: Vec<Value>) -> Value {
    json!({"name": name, "label": label, "formItems": items})
}

struct Person {
    vorname: String,
    nachname: String,
}

fn antragsteller(rng: &mut StdRng) -> (Person, Value) {
    let p = Person { vorname: pick(rng, VORNAMEN).to_string(), nachname: pick(rng, NACHNAMEN).to_string() };
    let (plz, ort) = *pick(rng, ORTE);
    let mail = format!(
        "{}.{}@example.org",
        p.vorname.to_lowercase().replace(['ü', 'ö', 'ä', 'ı', ' '], "_"),
        p.nachname.to_lowercase().replace(['ü', 'ö', 'ä', 'ı', ' '], "_")
    );
    let birth = OffsetDateTime::now_utc() - Duration::days(rng.gen_range(20 * 365..80 * 365));
    let g = group(
        "antragsteller",
        "Antragsteller:in",
        vec![
            s("pers_anrede", "Anrede", *pick(rng, &["Frau", "Herr", "divers"])),
            s("pers_vorname", "Vorname", p.vorname.clone()),
            s("pers_nachname", "Nachname", p.nachname.clone()),
            d("pers_geburtsdatum", "Geburtsdatum", birth),
            group(
                "anschrift",
                "Anschrift",
                vec![
                    s("sh_strasse", "Straße", *pick(rng, STRASSEN)),
                    s("sh_hausnummer", "Hausnummer", rng.gen_range(1..120).to_string()),
                    s("sh_plz", "PLZ", plz),
                    s("ort", "Ort", ort),
                ],
            ),
            group(
                "kontakt",
                "Kontakt",
                vec![
                    s("kont_email", "E-Mail", mail),
                    s("kont_telefonnummer", "Telefon", format!("0431 {}", rng.gen_range(100000..999999))),
                ],
            ),
        ],
    );
    (p, g)
}

/// A small but valid one-page PDF, so previews work in the browser.
pub fn tiny_pdf(title: &str) -> Vec<u8> {
    let text: String = title.chars().filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\')).collect();
    let content = format!("BT /F1 14 Tf 56 780 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    pdf
}

fn file(name: &str, content_type: &str, bytes: &[u8]) -> Value {
    json!({"filename": name, "contentType": content_type, "content": base64::engine::general_purpose::STANDARD.encode(bytes)})
}

/// One Antrag as the JSON intake takes it.
pub fn antrag(rng: &mut StdRng, seq: usize) -> Value {
    let (person, applicant) = antragsteller(rng);
    let now = OffsetDateTime::now_utc();
    let (form_id, form_name, oe, leika, mut items, attachments): (&str, &str, &str, &str, Vec<Value>, Vec<Value>) =
        match rng.gen_range(0..5) {
            0 => {
                let firma = format!(
                    "{} {}",
                    person.nachname,
                    pick(rng, &["GmbH", "e.K.", "& Söhne", "UG (haftungsbeschränkt)"])
                );
                let staetten = (0..rng.gen_range(1..4))
                    .map(|i| {
                        let (plz, ort) = *pick(rng, ORTE);
                        group(
                            "betriebsstaette",
                            &format!("Betriebsstätte {}", i + 1),
                            vec![
                                s("strasse", "Straße", format!("{} {}", pick(rng, STRASSEN), rng.gen_range(1..80))),
                                s("plz", "PLZ", plz),
                                s("ort_betrieb", "Ort", ort),
                            ],
                        )
                    })
                    .collect();
                (
                    "gewerbeanmeldung",
                    "Gewerbeanmeldung",
                    "10363455",
                    "99050012104000",
                    vec![
                        applicant,
                        group(
                            "betrieb",
                            "Angaben zum Betrieb",
                            vec![
                                s("firmenname", "Name des Betriebs", firma),
                                s("taetigkeit", "Angemeldete Tätigkeit", *pick(rng, TAETIGKEITEN)),
                                d("beginn", "Beginn der Tätigkeit", now + Duration::days(rng.gen_range(1..90))),
                                n("beschaeftigte_vollzeit", "Beschäftigte (Vollzeit)", f64::from(rng.gen_range(0..25))),
                                b("nebenerwerb", "Im Nebenerwerb", rng.gen_bool(0.3)),
                            ],
                        ),
                        group("betriebsstaetten", "Betriebsstätten", staetten),
                    ],
                    vec![file("Personalausweis.pdf", "application/pdf", &tiny_pdf("Kopie Personalausweis"))],
                )
            }
            1 => {
                let hunde = (0..rng.gen_range(1..3))
                    .map(|i| {
                        group(
                            "hund",
                            &format!("Hund {}", i + 1),
                            vec![
                                s(
                                    "hund_name",
                                    "Name",
                                    *pick(rng, &["Bello", "Luna", "Balu", "Frieda", "Emil", "Nala"]),
                                ),
                                s("rasse", "Rasse", *pick(rng, RASSEN)),
                                d("hund_geburtsdatum", "Geburtsdatum", now - Duration::days(rng.gen_range(90..4000))),
                                b("gefaehrlich", "Gefährlicher Hund", false),
                            ],
                        )
                    })
                    .collect();
                (
                    "hundesteuer-anmeldung",
                    "Hundesteuer-Anmeldung",
                    "10363460",
                    "99107004004000",
                    vec![
                        applicant,
                        group("hunde", "Hunde", hunde),
                        b("steuerbefreiung", "Steuerbefreiung beantragt", rng.gen_bool(0.1)),
                    ],
                    vec![],
                )
            }
            2 => {
                let baeume = (0..rng.gen_range(1..5))
                    .map(|i| {
                        group(
                            "baum",
                            &format!("Baum {}", i + 1),
                            vec![
                                s("baumart", "Baumart", *pick(rng, BAEUME)),
                                n("stammumfang", "Stammumfang (cm)", f64::from(rng.gen_range(60..320))),
                                n("hoehe", "Höhe (m)", f64::from(rng.gen_range(40..280)) / 10.0),
                            ],
                        )
                    })
                    .collect();
                (
                    "baumfaellung",
                    "Antrag auf Baumfällung",
                    "10363470",
                    "99091002001000",
                    vec![
                        applicant,
                        group(
                            "grundstueck",
                            "Grundstück",
                            vec![
                                s("lage", "Lage", format!("{} {}", pick(rng, STRASSEN), rng.gen_range(1..90))),
                                s(
                                    "flurstueck",
                                    "Flurstück",
                                    format!(
                                        "Gemarkung {}, Flur {}, Flurstück {}/{}",
                                        pick(rng, ORTE).1,
                                        rng.gen_range(1..20),
                                        rng.gen_range(1..400),
                                        rng.gen_range(1..9)
                                    ),
                                ),
                            ],
                        ),
                        group("baeume", "Zu fällende Bäume", baeume),
                        s(
                            "begruendung",
                            "Begründung",
                            *pick(
                                rng,
                                &[
                                    "Der Baum ist morsch und droht umzustürzen.",
                                    "Wurzeln heben die Garagenzufahrt an.",
                                    "Pilzbefall laut Gutachten.",
                                ],
                            ),
                        ),
                        b("ersatzpflanzung", "Ersatzpflanzung vorgesehen", rng.gen_bool(0.7)),
                    ],
                    vec![
                        file("Lageplan.pdf", "application/pdf", &tiny_pdf("Lageplan Grundstueck")),
                        file("Foto-Baum.png", "image/png", TINY_PNG),
                    ],
                )
            }
            3 => {
                let von = now + Duration::days(rng.gen_range(7..60));
                (
                    "strassensperrung",
                    "Antrag auf Straßensperrung",
                    "10363480",
                    "99099001000000",
                    vec![
                        applicant,
                        group(
                            "massnahme",
                            "Maßnahme",
                            vec![
                                s(
                                    "art",
                                    "Art der Maßnahme",
                                    *pick(rng, &["Umzug", "Kranaufstellung", "Straßenfest", "Baustelleneinrichtung"]),
                                ),
                                s("strasse_sperrung", "Straße", *pick(rng, STRASSEN)),
                                d("von", "Von", von),
                                d("bis", "Bis", von + Duration::days(rng.gen_range(0..5))),
                                b("vollsperrung", "Vollsperrung", rng.gen_bool(0.4)),
                            ],
                        ),
                    ],
                    vec![file("Verkehrszeichenplan.pdf", "application/pdf", &tiny_pdf("Verkehrszeichenplan"))],
                )
            }
            _ => {
                let drehorte = (0..rng.gen_range(1..4))
                    .map(|i| {
                        group(
                            "drehort",
                            &format!("Drehort {}", i + 1),
                            vec![
                                s("drehort_ort", "Ort", format!("{}, {}", pick(rng, STRASSEN), pick(rng, ORTE).1)),
                                d("drehtag", "Drehtag", now + Duration::days(rng.gen_range(10..80))),
                                s(
                                    "uhrzeit",
                                    "Uhrzeit",
                                    format!("{:02}:00–{:02}:00", rng.gen_range(6..12), rng.gen_range(13..22)),
                                ),
                            ],
                        )
                    })
                    .collect();
                (
                    "filmaufnahmen",
                    "Antrag auf Filmaufnahmen",
                    "10363490",
                    "99003004000000",
                    vec![
                        applicant,
                        s(
                            "produktion",
                            "Produktion",
                            format!(
                                "{} – {}",
                                pick(rng, &["Nordlicht Film", "Kieler Bilder", "Förde Media"]),
                                pick(rng, &["Tatort", "Imagefilm", "Dokumentation", "Werbespot"])
                            ),
                        ),
                        n("teamgroesse", "Teamgröße", f64::from(rng.gen_range(3..60))),
                        group("drehorte", "Drehorte", drehorte),
                    ],
                    vec![],
                )
            }
        };
    items.push(b("datenschutz", "Datenschutzhinweise gelesen", true));
    json!({
        "control": {
            "transactionId": format!("demo-{seq}-{}", rng.gen::<u32>()),
            "zustaendigeStelle": oe,
            "organisationsEinheitenId": oe,
            "leikaIds": [leika],
            "formId": form_id,
            "name": form_name,
            "serviceKonto": {"type": "OSI", "trustLevel": "STORK-QAA-Level-1", "postfachAddress": {"identifier": format!("osi-{}", rng.gen::<u32>()), "type": "OSI"}}
        },
        "formData": [group("antrag", form_name, items)],
        "representations": [file(&format!("{form_id}.pdf"), "application/pdf", &tiny_pdf(form_name))],
        "attachments": attachments,
    })
}

/// 1×1 pixel PNG.
const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D,
    0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// The path of commands that leads from NEU to a wanted status.
fn path_to(rng: &mut StdRng) -> &'static [StatusCommand] {
    use StatusCommand::*;
    match rng.gen_range(0..100) {
        0..=29 => &[],
        30..=41 => &[Annehmen],
        42..=61 => &[Annehmen, Bearbeiten],
        62..=71 => &[Annehmen, Bearbeiten, Bescheiden],
        72..=86 => &[Annehmen, Bearbeiten, Bescheiden, Abschliessen],
        87..=94 => &[Verwerfen],
        _ => &[Annehmen, Bearbeiten, Bescheiden, Abschliessen, LoeschenAnfordern],
    }
}

/// Fills an empty store with `count` Vorgänge and two demo clerks. Does nothing when the
/// tenant already has Vorgänge. Returns how many were created.
/// The demo town's Organisationseinheiten; the Kennungen are what the demo forms send.
pub const DEMO_UNITS: [(&str, &str); 5] = [
    ("10363455", "Gewerbeamt"),
    ("10363460", "Steueramt"),
    ("10363470", "Umweltamt"),
    ("10363480", "Straßenverkehrsbehörde"),
    ("10363490", "Kulturamt"),
];

/// Creates the demo units where missing and returns them (by Kennung order of [`DEMO_UNITS`]).
pub async fn ensure_units(state: &AppState, tenant: &TenantId) -> Result<Vec<UnitId>, SetupError> {
    let mut ids = Vec::new();
    for (kennung, name) in DEMO_UNITS {
        let existing = state.store.tenant(tenant).list_units().await?.into_iter().find(|u| u.kennung == kennung);
        let id = match existing {
            Some(u) => u.id,
            None => {
                let unit = NewUnit { id: UnitId::new(), name: name.to_owned(), kennung: kennung.to_owned() };
                state.store.tenant(tenant).create_unit(unit).await?.id
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Fills an empty default tenant with `count` Vorgänge, its units and demo users: the clerks
/// `max` and `erika` (each with some units), `paula` of the Poststelle and `lena`, who may
/// delete for good. Does nothing when
/// the tenant already has Vorgänge. Returns how many were created.
pub async fn seed(state: &AppState, count: usize) -> Result<usize, SetupError> {
    let tenant = state
        .config
        .default_tenant
        .clone()
        .ok_or_else(|| SetupError::Other("Demodaten brauchen einen Standard-Mandanten".into()))?;
    if state.store.tenant(&tenant).status_counts(&Visibility::Tenant, &View::Alle).await?.total() > 0 {
        return Ok(0);
    }
    let units = ensure_units(state, &tenant).await?;
    let mut clerks: Vec<(UserId, String)> = Vec::new();
    let people = [
        ("max", "Max Schröder", vec![Role::Sachbearbeitung], vec![units[0], units[1], units[2]]),
        ("erika", "Erika Mustermann", vec![Role::Sachbearbeitung], vec![units[0], units[3], units[4]]),
        ("paula", "Paula Post", vec![Role::Poststelle], vec![]),
        // Carries out the deletions the clerks request (the second pair of eyes).
        ("lena", "Lena Löscher", vec![Role::Loeschberechtigt], units.clone()),
    ];
    for (username, name, roles, their_units) in people {
        let clerk = roles.contains(&Role::Sachbearbeitung);
        let id = match state.store.tenant(&tenant).find_user_by_username(username).await? {
            Some(u) => u.id,
            None => crate::add_user(state, &tenant, username, name, roles, their_units, DEMO_PASSWORD).await?,
        };
        if clerk {
            clerks.push((id, name.to_owned()));
        }
    }
    let mut rng = StdRng::seed_from_u64(2026);
    let now = OffsetDateTime::now_utc();
    let mut tasks = tokio::task::JoinSet::new();
    for seq in 0..count {
        let body = serde_json::to_vec(&antrag(&mut rng, seq)).map_err(|e| SetupError::Other(e.to_string()))?;
        let received = now - Duration::minutes(rng.gen_range(5..60 * 24 * 90));
        let path = path_to(&mut rng);
        let clerk = clerks[rng.gen_range(0..clerks.len())].clone();
        let assign = !path.is_empty() || rng.gen_bool(0.2);
        let state = state.clone();
        let tenant = tenant.clone();
        tasks.spawn(async move {
            // Delivered like a form service would: to the installation, routed by Kennung.
            let r = state
                .intake
                .deliver_received_at(
                    &TenantId::platform(),
                    Payload::Json { content_type: "application/json".into(), body: body.into() },
                    received,
                )
                .await?;
            let actor = Actor { user: Some(clerk.0), name: clerk.1 };
            let mut head = r.vorgang;
            if assign {
                let change = VorgangChange::Assign { to: Some(clerk.0) };
                head = state.store.tenant(&tenant).apply_change(head.id, head.version, change, &actor).await?;
            }
            for command in path {
                let reason =
                    command.requires_reason().then(|| "Demo: Antrag unvollständig, keine Rückmeldung".to_owned());
                let to = decide_status_move(*command, head.status, None, reason.as_deref())
                    .map_err(|e| SetupError::Other(e.to_string()))?;
                let change = VorgangChange::Status { command: *command, from: head.status, to, reason };
                head = state.store.tenant(&tenant).apply_change(head.id, head.version, change, &actor).await?;
            }
            Ok::<(), SetupError>(())
        });
        if tasks.len() >= 16 {
            if let Some(r) = tasks.join_next().await {
                r.map_err(|e| SetupError::Other(e.to_string()))??;
            }
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| SetupError::Other(e.to_string()))??;
    }
    Ok(count)
}

impl From<intake::IntakeError> for SetupError {
    fn from(e: intake::IntakeError) -> Self {
        SetupError::Other(e.to_string())
    }
}
