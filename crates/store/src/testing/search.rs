//! Conformance checks of "Vorgang suchen" and the worklist filters (issue 6): the
//! `WorklistFilter` of `Store::worklist` and `Store::forms`.
//!
//! Behaviour pinned here, so that backends agree:
//! - Terms come from `domain::search::terms`; each must be the prefix of a folded word of
//!   the Vorgangsnummer, Aktenzeichen, applicant name, form name or a form-data value; all
//!   must match (in any of the fields).
//! - View, status and visibility apply to a search exactly as to the worklist.
//! - With a filter active the counts are those of the matching Vorgänge per status (without
//!   the status filter), and `total` is the number of matches with the status filter.
//! - `treffer` is a snippet of the form-data text when the form data holds a hit, else None;
//!   always None without terms.
//! - `forms` lists the distinct form names of the tenant byte-wise.
//! - A Vorgang deleted by `purge_vorgang` is never found again, by none of its words.

use super::*;
use crate::WorklistFilter;
use domain::search;

fn filter_terms(q: &str) -> WorklistFilter {
    WorklistFilter { terms: search::terms(q), ..Default::default() }
}

fn search_query(vis: &Visibility, view: View, status: Option<VorgangStatus>, filter: WorklistFilter) -> WorklistQuery {
    WorklistQuery { visibility: vis.clone(), filter, ..query(view, status, SortKey::EingangAt, false, 0, 500) }
}

/// The ids the worklist finds for `filter` (whole tenant, all views), in Eingang order.
async fn found(db: &Db, t: &TenantId, filter: WorklistFilter) -> Vec<VorgangId> {
    let page =
        db.tenant(t).worklist(&search_query(&Visibility::Tenant, View::Alle, None, filter)).await.expect("worklist");
    let ids: Vec<VorgangId> = page.items.iter().map(|i| i.id).collect();
    assert_eq!(page.total, ids.len() as u64, "total is the number of matches");
    assert_eq!(page.counts.total(), ids.len() as u64, "counts are those of the matches");
    ids
}

async fn find(db: &Db, t: &TenantId, q: &str) -> Vec<VorgangId> {
    found(db, t, filter_terms(q)).await
}

fn person(vorname: &str, nachname: &str) -> Antragsteller {
    Antragsteller { vorname: Some(vorname.into()), nachname: Some(nachname.into()), ..Default::default() }
}

/// A Vorgang of `applicant` whose form data holds `values` (and the applicant's name).
fn vorgang_of(minutes: i64, form: &str, applicant: Antragsteller, values: &[&str]) -> NewVorgang {
    let mut items = vec![FormItem::group(
        "antragsteller",
        "Antragsteller",
        vec![
            FormItem::field(
                "pers_vorname",
                "Vorname",
                FormValue::String(applicant.vorname.clone().unwrap_or_default()),
            ),
            FormItem::field(
                "pers_nachname",
                "Nachname",
                FormValue::String(applicant.nachname.clone().unwrap_or_default()),
            ),
        ],
    )];
    for (i, v) in values.iter().enumerate() {
        items.push(FormItem::field(&format!("feld{i}"), &format!("Feld {i}"), FormValue::String((*v).to_owned())));
    }
    NewVorgang { applicant, form_data: items, documents: vec![], ..new_vorgang(at(minutes), form) }
}

pub async fn search_matches_german_spellings(db: &Db) {
    let t = fresh_tenant(db).await;
    let mueller = intake(
        db,
        &t,
        vorgang_of(0, "Gewerbeanmeldung", person("Jürgen", "Müller"), &["Große Straße 5", "Café Crème"]),
    )
    .await;
    let other = intake(db, &t, vorgang_of(1, "Hundesteuer", person("Hans", "Schmidt"), &["Am Deich 1"])).await;
    for q in ["Müller", "muller", "mueller", "MÜLLER", "MUELLER", "Müll", "mul", "jurg", "JÜRGEN", "Juergen"] {
        assert_eq!(find(db, &t, q).await, vec![mueller.id], "search {q:?} finds Müller");
    }
    for q in ["strasse", "Straße", "STRASSE", "Stras", "grosse", "groß", "cafe", "creme", "crème"] {
        assert_eq!(find(db, &t, q).await, vec![mueller.id], "search {q:?} in the form data");
    }
    for q in ["ller", "xyzzy", "straßenbahn", "müllerin"] {
        assert!(find(db, &t, q).await.is_empty(), "search {q:?} finds nothing (prefixes of words only)");
    }
    assert_eq!(find(db, &t, "schm").await, vec![other.id]);
    // Nothing a clerk types reaches the full-text syntax: operators are just words.
    for q in ["\"müller\"*", "müller OR schmidt", "müller:* | schmidt", "(müller)", "müller -jürgen", "*", "' ; --"]
    {
        let terms = search::terms(q);
        let page = db
            .tenant(&t)
            .worklist(&search_query(&Visibility::Tenant, View::Alle, None, filter_terms(q)))
            .await
            .unwrap_or_else(|e| panic!("search {q:?} ({terms:?}) must not fail: {e}"));
        if !terms.is_empty() {
            assert!(page.items.len() <= 1, "search {q:?}: terms are ANDed, never ORed");
        }
    }
    // Terms that are not `search::terms` are ignored, not interpreted.
    let raw = WorklistFilter { terms: vec!["mül\"ler".into(), "OR".into(), "schmidt".into()], ..Default::default() };
    assert_eq!(found(db, &t, raw).await, vec![other.id], "foreign terms are dropped");
}

pub async fn search_ands_terms_over_all_fields(db: &Db) {
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let klara =
        intake(db, &t, vorgang_of(0, "Gewerbeanmeldung", person("Klara", "Müller"), &["Onlinehandel mit Keramik"]))
            .await;
    let hans = intake(db, &t, vorgang_of(1, "Gewerbeanmeldung", person("Hans", "Müller"), &["Bäckerei"])).await;
    let firm = NewVorgang {
        applicant: Antragsteller { firma: Some("Bäckerei Größe GmbH".into()), ..Default::default() },
        ..vorgang_of(2, "Antrag auf Baumfällung", Antragsteller::default(), &["Eiche", "Gartenstraße 3"])
    };
    let firm = intake(db, &t, firm).await;
    assert_eq!(find(db, &t, "müller klara").await, vec![klara.id]);
    assert_eq!(find(db, &t, "klara müller").await, vec![klara.id], "order of terms does not matter");
    assert_eq!(find(db, &t, "müller").await, vec![klara.id, hans.id]);
    assert!(find(db, &t, "müller eiche").await.is_empty(), "all terms must match");
    assert_eq!(find(db, &t, "muller keram").await, vec![klara.id], "name and form data together");
    // Each field on its own.
    assert_eq!(find(db, &t, "baumfall").await, vec![firm.id], "form name");
    assert_eq!(find(db, &t, "groesse gmbh").await, vec![firm.id], "applicant (firm) name");
    assert_eq!(find(db, &t, "gartenstr 3").await, vec![firm.id], "form-data value");
    assert_eq!(find(db, &t, "backerei").await, vec![hans.id, firm.id], "form data and firm name");
    let nummer = hans.nummer.as_str().to_owned();
    assert_eq!(find(db, &t, &nummer).await, vec![hans.id], "the whole Vorgangsnummer");
    let tail: String = nummer.rsplit('-').next().expect("nummer part").chars().take(4).collect();
    assert!(find(db, &t, &tail.to_lowercase()).await.contains(&hans.id), "a part of the Vorgangsnummer");
    let az = set_aktenzeichen(db, &t, &klara, Some("II/Gew-2024/17"), &actor(&u)).await;
    assert_eq!(find(db, &t, "gew 2024 17").await, vec![klara.id], "the Aktenzeichen");
    assert_eq!(find(db, &t, "II/GEW-2024/17").await, vec![klara.id], "the Aktenzeichen as written");

    // Snippets: from the form data when it holds a hit.
    let page = db
        .tenant(&t)
        .worklist(&search_query(&Visibility::Tenant, View::Alle, None, filter_terms("keramik")))
        .await
        .expect("worklist");
    let treffer = page.items[0].treffer.clone().expect("a snippet for a form-data hit");
    assert!(treffer.contains("Keramik"), "the snippet shows the hit as written: {treffer}");
    let page = db
        .tenant(&t)
        .worklist(&search_query(&Visibility::Tenant, View::Alle, None, filter_terms("baumfällung")))
        .await
        .expect("worklist");
    assert_eq!(page.items[0].treffer, None, "a hit in the form name only has no snippet");
    let plain =
        db.tenant(&t).worklist(&query(View::Alle, None, SortKey::EingangAt, false, 0, 50)).await.expect("worklist");
    assert!(plain.items.iter().all(|i| i.treffer.is_none()), "no snippets without a search");
    let items = db
        .tenant(&t)
        .worklist(&search_query(&Visibility::Tenant, View::Alle, None, filter_terms("klara")))
        .await
        .expect("worklist")
        .items;
    assert_eq!((items[0].aktenzeichen.as_deref(), items[0].version), (Some("II/Gew-2024/17"), az.version));

    // Sorting and paging work on the hits like on the worklist.
    let mut q = search_query(&Visibility::Tenant, View::Alle, None, filter_terms("müller"));
    q.sort = SortKey::Nummer;
    q.per_page = 1;
    let mut pages = Vec::new();
    for page in 0..3 {
        q.page = page;
        let p = db.tenant(&t).worklist(&q).await.expect("worklist page");
        assert_eq!(p.total, 2);
        pages.extend(p.items.into_iter().map(|i| i.nummer));
    }
    let mut want = vec![klara.nummer.clone(), hans.nummer.clone()];
    want.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(pages, want, "pages of the hits in sort order");
}

pub async fn search_follows_aktenzeichen_changes(db: &Db) {
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let by = actor(&u);
    let head = intake(db, &t, vorgang_of(0, "Gewerbeanmeldung", person("Klara", "Muster"), &["Keramik"])).await;
    let head = set_aktenzeichen(db, &t, &head, Some("Alpha-1"), &by).await;
    assert_eq!(find(db, &t, "alpha").await, vec![head.id]);
    let head = set_aktenzeichen(db, &t, &head, Some("Beta-2"), &by).await;
    assert!(find(db, &t, "alpha").await.is_empty(), "the old Aktenzeichen is no longer found");
    assert_eq!(find(db, &t, "beta 2 keramik muster").await, vec![head.id], "the new one, and the rest still");
    let head = set_aktenzeichen(db, &t, &head, None, &by).await;
    assert!(find(db, &t, "beta").await.is_empty(), "a cleared Aktenzeichen is no longer found");
    assert_eq!(find(db, &t, "klara").await, vec![head.id]);
    // Other changes keep the entry.
    let head = assign(db, &t, &head, Some(u.id), &by).await;
    let head = move_status(db, &t, head.id, StatusCommand::Annehmen, None, &by).await;
    assert_eq!(find(db, &t, "keramik").await, vec![head.id]);
}

pub async fn search_respects_view_status_and_visibility(db: &Db) {
    let t = fresh_tenant(db).await;
    let ua = new_unit(db, &t, "Ordnungsamt").await;
    let ub = new_unit(db, &t, "Bauamt").await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let bernd = new_user(db, &t, "bernd", "Bernd Brot").await;
    let by = actor(&anna);
    // (unit, assignee, annehmen?) of Vorgänge of "Müller", and one of "Schmidt" in unit A.
    let plan: [(Option<UnitId>, Option<&UserRecord>, bool); 7] = [
        (Some(ua.id), None, false),
        (Some(ua.id), Some(&anna), true),
        (Some(ub.id), None, false),
        (Some(ub.id), Some(&bernd), true),
        (Some(ub.id), Some(&anna), true),
        (None, None, false),
        (None, Some(&bernd), false),
    ];
    let mut all = Vec::new();
    for (i, (unit, assignee, annehmen)) in plan.iter().enumerate() {
        let v = NewVorgang { unit: *unit, ..vorgang_of(i as i64, "Gewerbeanmeldung", person("Klara", "Müller"), &[]) };
        let mut head = intake(db, &t, v).await;
        if let Some(user) = assignee {
            head = assign(db, &t, &head, Some(user.id), &by).await;
        }
        if *annehmen {
            head = move_status(db, &t, head.id, StatusCommand::Annehmen, None, &by).await;
        }
        all.push((head.id, *unit, assignee.map(|u| u.id), head.status));
    }
    let schmidt =
        NewVorgang { unit: Some(ua.id), ..vorgang_of(10, "Gewerbeanmeldung", person("Hans", "Schmidt"), &[]) };
    intake(db, &t, schmidt).await;

    let visibilities = [
        Visibility::Tenant,
        Visibility::Restricted { units: vec![ua.id], user: None, all_new: false },
        Visibility::Restricted { units: vec![ua.id], user: Some(bernd.id), all_new: false },
        Visibility::Restricted { units: vec![], user: Some(anna.id), all_new: true },
        Visibility::Restricted { units: vec![], user: None, all_new: false },
    ];
    for vis in &visibilities {
        for view in [View::Alle, View::Meine(anna.id), View::NichtZugewiesen] {
            for status in [None, Some(VorgangStatus::Neu), Some(VorgangStatus::Angenommen)] {
                let want: Vec<VorgangId> = all
                    .iter()
                    .filter(|(_, unit, assignee, st)| {
                        vis.covers(*unit, *assignee, *st)
                            && match &view {
                                View::Alle => true,
                                View::Meine(me) => *assignee == Some(*me),
                                View::NichtZugewiesen => assignee.is_none(),
                            }
                    })
                    .filter(|v| status.is_none_or(|s| v.3 == s))
                    .map(|v| v.0)
                    .collect();
                let what = format!("{vis:?} {view:?} {status:?}");
                let page = db
                    .tenant(&t)
                    .worklist(&search_query(vis, view.clone(), status, filter_terms("müller klara")))
                    .await
                    .expect("worklist");
                assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), want, "search within {what}");
                assert_eq!(page.total, want.len() as u64, "total {what}");
                if status.is_none() {
                    for s in [VorgangStatus::Neu, VorgangStatus::Angenommen] {
                        let n = want.iter().filter(|id| all.iter().any(|v| v.0 == **id && v.3 == s)).count() as u64;
                        assert_eq!(page.counts.get(s), n, "count of {s:?} among the hits, {what}");
                    }
                }
            }
        }
    }
    // The restricted clerk never finds what is outside her units, even by its number.
    let outside = all[3].0;
    let rec = db.tenant(&t).get_vorgang(outside).await.expect("get_vorgang");
    let vis = Visibility::Restricted { units: vec![ua.id], user: Some(anna.id), all_new: false };
    let page = db
        .tenant(&t)
        .worklist(&search_query(&vis, View::Alle, None, filter_terms(rec.head.nummer.as_str())))
        .await
        .expect("worklist");
    assert!(page.items.is_empty() && page.total == 0 && page.counts.total() == 0, "nothing outside the visibility");
}

pub async fn search_is_tenant_isolated(db: &Db) {
    let a = fresh_tenant(db).await;
    let b = fresh_tenant(db).await;
    let in_a = intake(db, &a, vorgang_of(0, "Gewerbeanmeldung", person("Klara", "Zwölfling"), &["Geheimwort"])).await;
    let in_b = intake(db, &b, vorgang_of(0, "Gewerbeanmeldung", person("Klara", "Zwölfling"), &["Geheimwort"])).await;
    assert_eq!(find(db, &a, "zwolfling geheim").await, vec![in_a.id]);
    assert_eq!(find(db, &b, "zwolfling geheim").await, vec![in_b.id]);
    assert!(find(db, &a, in_b.nummer.as_str()).await.iter().all(|id| *id != in_b.id), "never another tenant's");
    let c = fresh_tenant(db).await;
    assert!(find(db, &c, "zwolfling").await.is_empty());
    assert!(db.tenant(&c).forms().await.expect("forms").is_empty(), "no forms in an empty tenant");
}

/// id, minute of Eingang, form, unit, assignee.
type Planned = (VorgangId, i64, &'static str, Option<UnitId>, Option<UserId>);

pub async fn worklist_filters(db: &Db) {
    let t = fresh_tenant(db).await;
    let ua = new_unit(db, &t, "Ordnungsamt").await;
    let ub = new_unit(db, &t, "Bauamt").await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let bernd = new_user(db, &t, "bernd", "Bernd Brot").await;
    let by = actor(&anna);
    // minute, form, unit, assignee
    let plan: [(i64, &str, Option<UnitId>, Option<&UserRecord>); 6] = [
        (0, "Gewerbeanmeldung", Some(ua.id), Some(&anna)),
        (60, "Hundesteuer", Some(ua.id), None),
        (120, "Gewerbeanmeldung", Some(ub.id), Some(&bernd)),
        (180, "Antrag auf Straßensperrung", Some(ub.id), Some(&anna)),
        (240, "Gewerbeanmeldung", None, None),
        (300, "Hundesteuer", Some(ub.id), Some(&anna)),
    ];
    let mut all: Vec<Planned> = Vec::new();
    for (minute, form, unit, assignee) in plan {
        let v = NewVorgang { unit, ..vorgang_of(minute, form, person("Klara", "Muster"), &[]) };
        let mut head = intake(db, &t, v).await;
        if let Some(user) = assignee {
            head = assign(db, &t, &head, Some(user.id), &by).await;
        }
        all.push((head.id, minute, form, unit, assignee.map(|u| u.id)));
    }
    assert_eq!(
        db.tenant(&t).forms().await.expect("forms"),
        vec!["Antrag auf Straßensperrung".to_owned(), "Gewerbeanmeldung".into(), "Hundesteuer".into()],
        "forms: distinct, byte-wise"
    );
    let ids = |f: &dyn Fn(&Planned) -> bool| -> Vec<VorgangId> { all.iter().filter(|v| f(v)).map(|v| v.0).collect() };
    let gewerbe = WorklistFilter { form_name: Some("Gewerbeanmeldung".into()), ..Default::default() };
    assert_eq!(found(db, &t, gewerbe.clone()).await, ids(&|v| v.2 == "Gewerbeanmeldung"), "by form");
    let unit_b = WorklistFilter { unit: Some(ub.id), ..Default::default() };
    assert_eq!(found(db, &t, unit_b.clone()).await, ids(&|v| v.3 == Some(ub.id)), "by unit");
    let of_anna = WorklistFilter { assignee: Some(anna.id), ..Default::default() };
    assert_eq!(found(db, &t, of_anna.clone()).await, ids(&|v| v.4 == Some(anna.id)), "by assignee");
    let range = WorklistFilter { eingang_von: Some(at(60)), eingang_bis: Some(at(240)), ..Default::default() };
    assert_eq!(found(db, &t, range.clone()).await, ids(&|v| (60..240).contains(&v.1)), "von inclusive, bis exclusive");
    let from = WorklistFilter { eingang_von: Some(at(181)), ..Default::default() };
    assert_eq!(found(db, &t, from).await, ids(&|v| v.1 >= 181), "only von");
    let until = WorklistFilter { eingang_bis: Some(at(1)), ..Default::default() };
    assert_eq!(found(db, &t, until).await, ids(&|v| v.1 < 1), "only bis");
    let combined = WorklistFilter {
        form_name: Some("Hundesteuer".into()),
        unit: Some(ub.id),
        assignee: Some(anna.id),
        eingang_von: Some(at(0)),
        eingang_bis: Some(at(1000)),
        terms: search::terms("klara"),
    };
    assert_eq!(found(db, &t, combined).await, vec![all[5].0], "all filters together");
    let none = WorklistFilter { form_name: Some("Gewerbe".into()), ..Default::default() };
    assert!(found(db, &t, none).await.is_empty(), "the form filter is exact");
    let foreign_unit = WorklistFilter { unit: Some(UnitId::new()), ..Default::default() };
    assert!(found(db, &t, foreign_unit).await.is_empty());

    // Filters combine with view, status and sort; the counts are those of the matches.
    let q = WorklistQuery {
        sort: SortKey::FormName,
        ..search_query(&Visibility::Tenant, View::NichtZugewiesen, None, unit_b)
    };
    assert!(db.tenant(&t).worklist(&q).await.expect("worklist").items.is_empty(), "unit B has no unassigned one");
    let q = search_query(&Visibility::Tenant, View::Meine(anna.id), None, gewerbe.clone());
    assert_eq!(
        db.tenant(&t).worklist(&q).await.expect("worklist").items.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![all[0].0]
    );
    let q = search_query(&Visibility::Tenant, View::NichtZugewiesen, None, of_anna);
    assert!(db.tenant(&t).worklist(&q).await.expect("worklist").items.is_empty(), "unassigned and Anna's: none");
    let head = db.tenant(&t).get_vorgang(all[2].0).await.expect("get_vorgang").head;
    move_status(db, &t, head.id, StatusCommand::Annehmen, None, &by).await;
    let q = search_query(&Visibility::Tenant, View::Alle, Some(VorgangStatus::Neu), gewerbe.clone());
    let page = db.tenant(&t).worklist(&q).await.expect("worklist");
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![all[0].0, all[4].0]);
    assert_eq!(page.total, 2);
    assert_eq!((page.counts.get(VorgangStatus::Neu), page.counts.get(VorgangStatus::Angenommen)), (2, 1));
    let vis = Visibility::Restricted { units: vec![ua.id], user: None, all_new: false };
    let page = db.tenant(&t).worklist(&search_query(&vis, View::Alle, None, gewerbe)).await.expect("worklist");
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![all[0].0], "filters within the visibility");
    let page = db.tenant(&t).worklist(&search_query(&vis, View::Alle, None, range)).await.expect("worklist");
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![all[1].0]);
}

pub async fn search_survives_export_and_import(db: &Db) {
    let src = fresh_tenant(db).await;
    let unit = new_unit(db, &src, "Ordnungsamt").await;
    let anna = new_user(db, &src, "anna", "Anna Amsel").await;
    let v = NewVorgang {
        unit: Some(unit.id),
        ..vorgang_of(0, "Gewerbeanmeldung", person("Jürgen", "Müller"), &["Töpferei"])
    };
    let head = intake(db, &src, v).await;
    let head = set_aktenzeichen(db, &src, &head, Some("AZ-Umzug-7"), &actor(&anna)).await;
    let records = export_all(db, &src, 100).await;
    let dst = TenantId::parse(&format!("t-{}", short())).expect("slug");
    db.tenant(&dst).import_records(with_kennung_suffix(&records, "-s")).await.expect("import_records");
    for q in ["mueller jurgen", "topferei", "umzug 7", head.nummer.as_str(), "gewerbeanm"] {
        assert_eq!(find(db, &dst, q).await, vec![head.id], "search {q:?} after the import");
    }
    let page = db
        .tenant(&dst)
        .worklist(&search_query(&Visibility::Tenant, View::Alle, None, filter_terms("töpf")))
        .await
        .expect("worklist");
    assert!(page.items[0].treffer.as_deref().is_some_and(|s| s.contains("Töpferei")), "snippets after the import");
    let unit_filter = WorklistFilter { unit: Some(unit.id), ..Default::default() };
    assert_eq!(found(db, &dst, unit_filter).await, vec![head.id], "unit filter after the import");
    assert_eq!(db.tenant(&dst).forms().await.expect("forms"), vec!["Gewerbeanmeldung".to_owned()]);
}

pub async fn search_forgets_deleted_vorgaenge(db: &Db) {
    let t = fresh_tenant(db).await;
    let max = new_user(db, &t, "max", "Max Schröder").await;
    let kept = intake(db, &t, vorgang_of(0, "Gewerbeanmeldung", person("Klara", "Quappendorf"), &["Geheimnis"])).await;
    let gone = intake(db, &t, vorgang_of(1, "Gewerbeanmeldung", person("Otto", "Quappendorf"), &["Geheimnis"])).await;
    assert_eq!(find(db, &t, "quappendorf").await, vec![kept.id, gone.id]);
    let tombstone = NewAuditEntry {
        at: now_s(),
        actor: actor(&max),
        action: "vorgang_geloescht".into(),
        target: Some(gone.id.to_string()),
        detail: None,
        ip: None,
    };
    db.tenant(&t).purge_vorgang(gone.id, gone.version, tombstone, &actor(&max)).await.expect("purge_vorgang");
    assert_eq!(find(db, &t, "quappendorf").await, vec![kept.id], "a deleted Vorgang is never found again");
    assert_eq!(find(db, &t, "otto").await, vec![], "none of its words");
    // A Vorgang stored afterwards (which may get the deleted one's row) has only its own words.
    let next = intake(db, &t, vorgang_of(2, "Hundesteuer", person("Hans", "Schmidt"), &["Dackel"])).await;
    assert_eq!(find(db, &t, "otto").await, vec![]);
    assert_eq!(find(db, &t, "geheimnis").await, vec![kept.id]);
    assert_eq!(find(db, &t, "dackel schmidt").await, vec![next.id]);
}

/// Form data may carry control characters (a NUL from a broken form service): the Vorgang is
/// stored, its other words are found, and nothing is left unindexed.
pub async fn control_characters_do_not_break_the_index(db: &Db) {
    let t = fresh_tenant(db).await;
    let v = vorgang_of(0, "Gewerbeanmeldung", person("Nul", "Zeichen"), &["Kera\u{0}mik\u{7} Werkstatt"]);
    let head = intake(db, &t, v).await;
    assert_eq!(find(db, &t, "werkstatt").await, vec![head.id], "the other words are found");
    assert_eq!(find(db, &t, "mik").await, vec![head.id], "the control character separates words");
    let page =
        db.tenant(&t).worklist(&search_query(&Visibility::Tenant, View::Alle, None, filter_terms("werkstatt"))).await;
    let treffer = page.expect("worklist").items[0].treffer.clone().expect("a snippet");
    assert!(!treffer.chars().any(char::is_control), "{treffer:?}");
    assert_eq!(db.installation().index_unindexed().await.expect("index_unindexed"), 0, "everything written is indexed");
}
