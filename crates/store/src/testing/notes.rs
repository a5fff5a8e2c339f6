//! Conformance checks of Kommentare and Wiedervorlagen.

use super::*;

pub async fn kommentare_are_added_and_listed(db: &Db) {
    let t = fresh_tenant(db).await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let other_vorgang = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    let events_before = db.tenant(&t).history(head.id).await.expect("history").len();

    let before = OffsetDateTime::now_utc();
    let text = "Rückruf am Montag\nAusweis fehlt „noch“ \u{1F600}";
    let k1 =
        db.tenant(&t).add_kommentar(head.id, KommentarId::new(), text, &actor(&anna)).await.expect("add_kommentar");
    assert_eq!((k1.vorgang_id, k1.text.as_str(), &k1.author), (head.id, text, &actor(&anna)), "stored as given");
    assert_recent(k1.at, before, "Kommentar at");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let k2 =
        db.tenant(&t).add_kommentar(head.id, KommentarId::new(), "Zweiter", &system()).await.expect("add_kommentar");
    assert!(k2.at > k1.at, "later Kommentare are later");
    db.tenant(&t)
        .add_kommentar(other_vorgang.id, KommentarId::new(), "Anderer Vorgang", &system())
        .await
        .expect("add_kommentar");

    assert_eq!(
        db.tenant(&t).list_kommentare(head.id).await.expect("list_kommentare"),
        vec![k1.clone(), k2.clone()],
        "the Vorgang's Kommentare, oldest first, as returned by add_kommentar"
    );
    let vorgang = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!(vorgang.head, head, "a Kommentar changes neither version nor status of the Vorgang");

    let history = db.tenant(&t).history(head.id).await.expect("history");
    assert_eq!(history.len(), events_before + 2, "one event per Kommentar");
    let new_events = &history[events_before..];
    assert_eq!(
        new_events.iter().map(|e| (&e.event, &e.actor)).collect::<Vec<_>>(),
        vec![
            (&VorgangEvent::KommentarHinzugefuegt { kommentar_id: k1.id }, &actor(&anna)),
            (&VorgangEvent::KommentarHinzugefuegt { kommentar_id: k2.id }, &system()),
        ],
        "KommentarHinzugefuegt, by the author, without the text"
    );
    // Commands at the version from before the Kommentare still apply.
    set_aktenzeichen(db, &t, &head, Some("AZ-K"), &actor(&anna)).await;

    assert_not_found(
        db.tenant(&t).add_kommentar(VorgangId::new(), KommentarId::new(), "x", &system()).await,
        "add_kommentar to an unknown Vorgang",
    );
    assert_not_found(db.tenant(&t).list_kommentare(VorgangId::new()).await, "list_kommentare of an unknown Vorgang");

    // Another tenant sees nothing of it and cannot add to it.
    let other = fresh_tenant(db).await;
    assert_not_found(
        db.tenant(&other).add_kommentar(head.id, KommentarId::new(), "fremd", &system()).await,
        "add_kommentar to another tenant's Vorgang",
    );
    assert_not_found(db.tenant(&other).list_kommentare(head.id).await, "list_kommentare of another tenant's Vorgang");
    let own = intake(db, &other, new_vorgang(at(2), "Gewerbeanmeldung")).await;
    let theirs = db.tenant(&other).add_kommentar(own.id, KommentarId::new(), "eigen", &system()).await.expect("add");
    assert_eq!(db.tenant(&other).list_kommentare(own.id).await.expect("list"), vec![theirs]);
    assert_eq!(
        db.tenant(&t).list_kommentare(head.id).await.expect("list"),
        vec![k1, k2],
        "unchanged by the other tenant"
    );
}

pub async fn wiedervorlagen_lifecycle(db: &Db) {
    let t = fresh_tenant(db).await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let by = actor(&anna);
    let a = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let b = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    let c = intake(db, &t, new_vorgang(at(2), "Anwohnerparken")).await;

    let new1 = new_wiedervorlage(a.id, "Ausweis nachfordern", day(9), &by);
    let w1 = db.tenant(&t).add_wiedervorlage(new1.clone()).await.expect("add_wiedervorlage");
    assert_eq!(
        w1,
        WiedervorlageRecord {
            id: new1.id,
            vorgang_id: a.id,
            vorgang_nummer: a.nummer.clone(),
            betreff: new1.betreff.clone(),
            beschreibung: new1.beschreibung.clone(),
            frist: day(9),
            erledigt: false,
            erledigt_at: None,
            created_at: new1.created_at,
            created_by: by.clone(),
            version: 1,
        },
        "a new Wiedervorlage: version 1, open, with the Vorgangsnummer"
    );
    assert_eq!(db.tenant(&t).get_wiedervorlage(w1.id).await.expect("get_wiedervorlage"), w1);
    let e = last_event(db, &t, a.id).await;
    assert_eq!(
        (e.event, e.actor),
        (
            VorgangEvent::WiedervorlageAngelegt {
                wiedervorlage_id: w1.id,
                betreff: "Ausweis nachfordern".into(),
                frist: time::macros::date!(2026 - 12 - 10)
            },
            by.clone()
        ),
        "WiedervorlageAngelegt with Betreff and ISO Frist"
    );
    let w2 = db.tenant(&t).add_wiedervorlage(new_wiedervorlage(a.id, "Rückruf", day(0), &system())).await.expect("add");
    let w3 = db
        .tenant(&t)
        .add_wiedervorlage(new_wiedervorlage(b.id, "Frist Stellungnahme", day(-30), &by))
        .await
        .expect("add");
    assert_eq!(
        db.tenant(&t).get_vorgang(a.id).await.expect("get_vorgang").head,
        a,
        "no version bump for Wiedervorlagen"
    );
    assert_eq!(
        (naechste_frist(db, &t, a.id).await, naechste_frist(db, &t, b.id).await, naechste_frist(db, &t, c.id).await),
        (Some(day(0)), Some(day(-30)), None),
        "the worklist shows the earliest open Frist"
    );
    assert_eq!(db.tenant(&t).list_wiedervorlagen(a.id).await.expect("list"), vec![w2.clone(), w1.clone()], "by Frist");
    assert_eq!(db.tenant(&t).list_wiedervorlagen(c.id).await.expect("list"), vec![]);

    // A stale version conflicts and changes nothing.
    let stale = WiedervorlageUpdate { frist: day(99), ..update_of(&w2) };
    match db.tenant(&t).update_wiedervorlage(w2.id, 2, stale, &by).await {
        Err(StorageError::Conflict { current_version: 1 }) => {}
        other => panic!("update at a stale version must be Conflict {{ current_version: 1 }}, got {other:?}"),
    }
    assert_eq!(db.tenant(&t).get_wiedervorlage(w2.id).await.expect("get"), w2, "the conflict changed nothing");

    let history_len = |db: &Db, id: VorgangId| {
        let (db, t) = (db.clone(), t.clone());
        async move { db.tenant(&t).history(id).await.expect("history").len() }
    };
    // Changing the content: Geaendert.
    let n = history_len(db, a.id).await;
    let change = WiedervorlageUpdate {
        betreff: "Rückruf (verschoben)".into(),
        beschreibung: String::new(),
        frist: day(19),
        erledigt: false,
    };
    let w2 = db.tenant(&t).update_wiedervorlage(w2.id, 1, change, &by).await.expect("update_wiedervorlage");
    assert_eq!(
        (w2.betreff.as_str(), w2.beschreibung.as_str(), w2.frist, w2.erledigt, w2.erledigt_at, w2.version),
        ("Rückruf (verschoben)", "", day(19), false, None, 2),
        "the update applies and bumps the version"
    );
    assert_eq!(db.tenant(&t).get_wiedervorlage(w2.id).await.expect("get"), w2);
    assert_eq!(history_len(db, a.id).await, n + 1, "one event per update");
    let e = last_event(db, &t, a.id).await;
    assert_eq!(
        (e.event, e.actor),
        (
            VorgangEvent::WiedervorlageGeaendert {
                wiedervorlage_id: w2.id,
                betreff: "Rückruf (verschoben)".into(),
                frist: time::macros::date!(2026 - 12 - 20)
            },
            by.clone()
        )
    );
    assert_eq!(naechste_frist(db, &t, a.id).await, Some(day(9)), "a later Frist moves naechste_frist");
    assert_eq!(db.tenant(&t).list_wiedervorlagen(a.id).await.expect("list"), vec![w1.clone(), w2.clone()]);

    // Done: Erledigt, erledigt_at set, out of naechste_frist, listed after the open ones.
    let before = OffsetDateTime::now_utc();
    let w1 = db
        .tenant(&t)
        .update_wiedervorlage(w1.id, 1, WiedervorlageUpdate { erledigt: true, ..update_of(&w1) }, &system())
        .await
        .expect("update_wiedervorlage done");
    assert_eq!((w1.erledigt, w1.version), (true, 2));
    let done_at = w1.erledigt_at.expect("erledigt_at when done");
    assert_recent(done_at, before, "erledigt_at");
    let e = last_event(db, &t, a.id).await;
    assert_eq!(
        (e.event, e.actor),
        (
            VorgangEvent::WiedervorlageErledigt { wiedervorlage_id: w1.id, betreff: "Ausweis nachfordern".into() },
            system()
        )
    );
    assert_eq!(naechste_frist(db, &t, a.id).await, Some(day(19)), "a done Wiedervorlage has no Frist any more");
    assert_eq!(db.tenant(&t).list_wiedervorlagen(a.id).await.expect("list"), vec![w2.clone(), w1.clone()], "done last");

    // Changing a done one keeps it done with its erledigt_at: Geaendert.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let w1 = db
        .tenant(&t)
        .update_wiedervorlage(w1.id, 2, WiedervorlageUpdate { frist: day(-1), ..update_of(&w1) }, &by)
        .await
        .expect("update a done one");
    assert_eq!((w1.erledigt, w1.erledigt_at, w1.frist, w1.version), (true, Some(done_at), day(-1), 3));
    assert_eq!(last_event(db, &t, a.id).await.event.kind(), "WIEDERVORLAGE_GEAENDERT");
    assert_eq!(naechste_frist(db, &t, a.id).await, Some(day(19)), "done ones stay out of naechste_frist");

    // All done: no naechste_frist.
    let w2 = db
        .tenant(&t)
        .update_wiedervorlage(w2.id, 2, WiedervorlageUpdate { erledigt: true, ..update_of(&w2) }, &by)
        .await
        .expect("done");
    assert_eq!(naechste_frist(db, &t, a.id).await, None, "no open Wiedervorlage, no naechste_frist");
    assert_eq!(db.tenant(&t).list_wiedervorlagen(a.id).await.expect("list"), vec![w1.clone(), w2.clone()], "by Frist");

    // Reopened: Wiedereroeffnet, erledigt_at cleared, back in naechste_frist.
    let n = history_len(db, a.id).await;
    let w1 = db
        .tenant(&t)
        .update_wiedervorlage(w1.id, 3, WiedervorlageUpdate { erledigt: false, ..update_of(&w1) }, &by)
        .await
        .expect("reopen");
    assert_eq!((w1.erledigt, w1.erledigt_at, w1.version), (false, None, 4));
    assert_eq!(history_len(db, a.id).await, n + 1, "one event per update");
    let e = last_event(db, &t, a.id).await;
    assert_eq!(
        e.event,
        VorgangEvent::WiedervorlageWiedereroeffnet { wiedervorlage_id: w1.id, betreff: "Ausweis nachfordern".into() }
    );
    assert_eq!(naechste_frist(db, &t, a.id).await, Some(day(-1)));
    assert_eq!(
        db.tenant(&t).list_wiedervorlagen(a.id).await.expect("list"),
        vec![w1.clone(), w2.clone()],
        "open first"
    );
    assert_eq!(db.tenant(&t).get_vorgang(a.id).await.expect("get_vorgang").head, a, "still no version bump");
    let kinds_a = kinds(&db.tenant(&t).history(a.id).await.expect("history"));
    assert_eq!(
        kinds_a.iter().filter(|k| k.starts_with("WIEDERVORLAGE_")).count(),
        7,
        "two Angelegt, five updates: {kinds_a:?}"
    );

    // Unknown ids.
    assert_not_found(db.tenant(&t).get_wiedervorlage(WiedervorlageId::new()).await, "get of an unknown Wiedervorlage");
    assert_not_found(
        db.tenant(&t).update_wiedervorlage(WiedervorlageId::new(), 1, update_of(&w1), &by).await,
        "update of an unknown Wiedervorlage",
    );
    assert_not_found(
        db.tenant(&t).add_wiedervorlage(new_wiedervorlage(VorgangId::new(), "x", day(0), &by)).await,
        "add to an unknown Vorgang",
    );
    assert_not_found(db.tenant(&t).list_wiedervorlagen(VorgangId::new()).await, "list of an unknown Vorgang");

    // Another tenant sees nothing of them and cannot touch them.
    let other = fresh_tenant(db).await;
    assert_not_found(db.tenant(&other).get_wiedervorlage(w1.id).await, "get of another tenant's Wiedervorlage");
    assert_not_found(
        db.tenant(&other).update_wiedervorlage(w1.id, w1.version, update_of(&w1), &by).await,
        "update of another tenant's Wiedervorlage",
    );
    assert_not_found(
        db.tenant(&other).add_wiedervorlage(new_wiedervorlage(a.id, "x", day(0), &by)).await,
        "add to another tenant's Vorgang",
    );
    assert_not_found(db.tenant(&other).list_wiedervorlagen(a.id).await, "list of another tenant's Vorgang");
    let everything = WiedervorlagenQuery { visibility: Visibility::Tenant, include_done: true, limit: 100, offset: 0 };
    assert_eq!(db.tenant(&other).wiedervorlagen(&everything).await.expect("wiedervorlagen"), (vec![], 0));
    assert_eq!(db.tenant(&other).count_due_wiedervorlagen(&Visibility::Tenant, day(100)).await.expect("count_due"), 0);
    assert_eq!(db.tenant(&t).get_wiedervorlage(w1.id).await.expect("get"), w1, "unchanged by the other tenant");
    assert_eq!(db.tenant(&t).get_wiedervorlage(w3.id).await.expect("get"), w3);
}

pub async fn wiedervorlagen_across_vorgaenge(db: &Db) {
    use StatusCommand as C;
    let t = fresh_tenant(db).await;
    let (ua, ub) = (new_unit(db, &t, "Ordnungsamt").await, new_unit(db, &t, "Bauamt").await);
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let bernd = new_user(db, &t, "bernd", "Bernd Bär").await;
    let by = actor(&anna);
    type Spec<'a> = (Option<UnitId>, &'a [StatusCommand], Option<UserId>);
    let specs: [Spec; 5] = [
        (Some(ua.id), &[], None),
        (Some(ub.id), &[C::Annehmen], Some(anna.id)),
        (None, &[], None),
        (None, &[C::Annehmen, C::Bearbeiten], Some(bernd.id)),
        (Some(ub.id), &[C::Annehmen], None),
    ];
    // (head, unit, assignee, status)
    let mut vorgaenge = Vec::new();
    for (i, (unit, commands, assignee)) in specs.into_iter().enumerate() {
        let mut head = intake(db, &t, NewVorgang { unit, ..new_vorgang(at(i as i64), "Gewerbeanmeldung") }).await;
        for c in commands {
            head = move_status(db, &t, head.id, *c, None, &by).await;
        }
        if assignee.is_some() {
            head = assign(db, &t, &head, assignee, &by).await;
        }
        vorgaenge.push((head.clone(), unit, assignee, head.status));
    }
    // (Vorgang index, Frist, done); the same Frist twice to pin the order by id.
    let notes =
        [(0, 3, false), (1, 1, false), (2, 3, false), (3, -2, false), (4, 5, false), (0, -5, true), (3, 0, true)];
    let mut all = Vec::new();
    for (i, frist, done) in notes {
        let mut w = db
            .tenant(&t)
            .add_wiedervorlage(new_wiedervorlage(vorgaenge[i].0.id, &format!("WV {i}"), day(frist), &by))
            .await
            .expect("add_wiedervorlage");
        if done {
            w = db
                .tenant(&t)
                .update_wiedervorlage(w.id, 1, WiedervorlageUpdate { erledigt: true, ..update_of(&w) }, &by)
                .await
                .expect("done");
        }
        all.push((i, w));
    }
    // Another tenant's Wiedervorlage never shows.
    let other = fresh_tenant(db).await;
    let theirs = intake(db, &other, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    db.tenant(&other).add_wiedervorlage(new_wiedervorlage(theirs.id, "fremd", day(0), &system())).await.expect("add");

    let visibilities = [
        Visibility::Tenant,
        Visibility::Restricted { units: vec![ua.id], user: None, all_new: false },
        Visibility::Restricted { units: vec![ub.id], user: Some(bernd.id), all_new: false },
        Visibility::Restricted { units: vec![], user: Some(anna.id), all_new: true },
        Visibility::Restricted { units: vec![], user: None, all_new: true },
        Visibility::Restricted { units: vec![], user: None, all_new: false },
        Visibility::Restricted { units: vec![UnitId::new()], user: Some(UserId::new()), all_new: false },
    ];
    for vis in &visibilities {
        for include_done in [false, true] {
            let mut want: Vec<WiedervorlageRecord> = all
                .iter()
                .filter(|(i, w)| {
                    let (_, unit, assignee, status) = &vorgaenge[*i];
                    vis.covers(*unit, *assignee, *status) && (include_done || !w.erledigt)
                })
                .map(|(_, w)| w.clone())
                .collect();
            want.sort_by_key(|w| (w.frist, w.id));
            let q = WiedervorlagenQuery { visibility: vis.clone(), include_done, limit: 100, offset: 0 };
            let (items, total) = db.tenant(&t).wiedervorlagen(&q).await.expect("wiedervorlagen");
            assert_eq!(items, want, "wiedervorlagen {vis:?}, include_done {include_done}: by Frist, then id");
            assert_eq!(total, want.len() as u64, "total {vis:?}, include_done {include_done}");
            let q = WiedervorlagenQuery { limit: 2, offset: 1, ..q };
            let (page, total) = db.tenant(&t).wiedervorlagen(&q).await.expect("wiedervorlagen page");
            assert_eq!(page, want.iter().skip(1).take(2).cloned().collect::<Vec<_>>(), "limit and offset {vis:?}");
            assert_eq!(total, want.len() as u64, "the total is of all pages");
            for d in [-10, -2, 0, 3, 100] {
                let due = want.iter().filter(|w| !w.erledigt && w.frist <= day(d)).count() as u64;
                assert_eq!(
                    db.tenant(&t).count_due_wiedervorlagen(vis, day(d)).await.expect("count_due_wiedervorlagen"),
                    due,
                    "due on or before {} within {vis:?}",
                    day(d)
                );
            }
        }
    }
    let (items, _) = db
        .tenant(&t)
        .wiedervorlagen(&WiedervorlagenQuery {
            visibility: Visibility::Tenant,
            include_done: true,
            limit: 100,
            offset: 0,
        })
        .await
        .expect("wiedervorlagen");
    for w in &items {
        let head = &vorgaenge.iter().find(|v| v.0.id == w.vorgang_id).expect("a Vorgang of the tenant").0;
        assert_eq!(w.vorgang_nummer, head.nummer, "records carry their Vorgangsnummer");
    }
    let page = all_of(db, &t, View::Alle).await;
    let frist_of = |i: usize| page.items.iter().find(|it| it.id == vorgaenge[i].0.id).and_then(|it| it.naechste_frist);
    assert_eq!(
        (0..5).map(frist_of).collect::<Vec<_>>(),
        vec![Some(day(3)), Some(day(1)), Some(day(3)), Some(day(-2)), Some(day(5))],
        "naechste_frist in the worklist"
    );
}
