//! Conformance checks of Vorgänge: reads, the worklist, commands, claims and visibility.

use super::*;

pub async fn get_vorgang_round_trips(db: &Db) {
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let v = new_vorgang(at(0), "Gewerbeanmeldung für Ärztinnen");
    let head = intake(db, &t, v.clone()).await;
    let rec = db.tenant(&t).get_vorgang(v.id).await.expect("get_vorgang");
    assert_eq!(rec.head, head);
    assert_eq!(rec.tenant, t);
    assert_eq!(rec.transaction_id, v.transaction_id);
    assert_eq!(rec.aktenzeichen, None);
    assert_eq!(rec.assignee, None);
    assert_eq!(rec.eingang_at, v.eingang_at);
    assert_eq!(rec.form_id, v.form_id);
    assert_eq!(rec.form_name, v.form_name);
    assert_eq!(rec.zustaendige_stelle, v.zustaendige_stelle);
    assert_eq!(rec.leika_ids, v.leika_ids, "leika_ids round-trip in order");
    assert_eq!(rec.applicant, v.applicant, "the applicant round-trips");
    assert_eq!(rec.control, v.control, "control round-trips, extra keys included");
    assert_eq!(rec.form_data, v.form_data, "the form-data tree round-trips");
    assert_eq!(by_id(rec.documents.clone()), by_id(v.documents.clone()), "documents round-trip");
    assert_eq!(rec.status_before_deletion_request, None);

    // A second Vorgang with sparse data.
    let mut sparse = new_vorgang(at(1), "Hundesteuer");
    sparse.leika_ids = vec![];
    sparse.applicant = Antragsteller::default();
    sparse.control = json!({});
    sparse.form_data = vec![];
    sparse.documents = vec![];
    intake(db, &t, sparse.clone()).await;
    let rec2 = db.tenant(&t).get_vorgang(sparse.id).await.expect("get_vorgang sparse");
    assert_eq!(
        (rec2.leika_ids, rec2.applicant, rec2.control, rec2.form_data, rec2.documents),
        (vec![], Antragsteller::default(), json!({}), vec![], vec![]),
        "empty data round-trips as empty"
    );

    // After changes, the record shows them.
    let h = assign(db, &t, &head, Some(u.id), &actor(&u)).await;
    let h = set_aktenzeichen(db, &t, &h, Some("32.1-123/24"), &actor(&u)).await;
    let rec = db.tenant(&t).get_vorgang(v.id).await.expect("get_vorgang after changes");
    assert_eq!(rec.head, h);
    assert_eq!(rec.assignee, Some(UserRef { id: u.id, display_name: u.display_name.clone() }));
    assert_eq!(rec.aktenzeichen.as_deref(), Some("32.1-123/24"));
    assert_eq!(rec.form_data, v.form_data, "changes leave the form data alone");
    assert_not_found(db.tenant(&t).get_vorgang(VorgangId::new()).await, "get_vorgang of an unknown id");
}

pub async fn get_document_returns_stored_documents(db: &Db) {
    let t = fresh_tenant(db).await;
    let v = new_vorgang(at(0), "Gewerbeanmeldung");
    intake(db, &t, v.clone()).await;
    let w = new_vorgang(at(1), "Gewerbeanmeldung");
    intake(db, &t, w.clone()).await;
    for doc in v.documents.iter().chain(w.documents.iter()) {
        assert_eq!(db.tenant(&t).get_document(doc.id).await.expect("get_document"), *doc, "document round-trips");
    }
    assert_eq!(db.tenant(&t).get_document(v.documents[0].id).await.expect("get_document").vorgang_id, v.id);
    assert_eq!(db.tenant(&t).get_document(w.documents[0].id).await.expect("get_document").vorgang_id, w.id);
    assert_not_found(db.tenant(&t).get_document(DocumentId::new()).await, "get_document of an unknown id");
}

pub async fn events_after_pages_the_tenant_log(db: &Db) {
    let t = fresh_tenant(db).await;
    assert!(db.tenant(&t).events_after(0, 100).await.expect("events_after, empty").is_empty());
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let a = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let b = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    let a = move_status(db, &t, a.id, StatusCommand::Annehmen, None, &actor(&u)).await;
    let b = assign(db, &t, &b, Some(u.id), &actor(&u)).await;
    set_aktenzeichen(db, &t, &a, Some("AZ-1"), &actor(&u)).await;
    move_status(db, &t, b.id, StatusCommand::Verwerfen, Some("Dublette"), &actor(&u)).await;

    let all = db.tenant(&t).events_after(0, 100).await.expect("events_after");
    assert_eq!(all.len(), 6, "two intakes and four changes: {all:?}");
    assert_seq_increasing(&all, "events_after");
    assert!(
        all.iter().all(|e| e.schema_version == domain::vorgang::EVENT_SCHEMA_VERSION),
        "every event carries the schema version it was written with"
    );
    assert_eq!(
        kinds(&all),
        vec![
            "EINGEGANGEN",
            "EINGEGANGEN",
            "STATUS_GEAENDERT",
            "ZUGEWIESEN",
            "AKTENZEICHEN_GEAENDERT",
            "STATUS_GEAENDERT"
        ],
        "the log is in the order things happened"
    );
    let mut merged = db.tenant(&t).history(a.id).await.expect("history a");
    merged.extend(db.tenant(&t).history(b.id).await.expect("history b"));
    merged.sort_by_key(|e| e.seq);
    assert_eq!(merged, all, "the log is the union of the histories");

    let first = db.tenant(&t).events_after(0, 2).await.expect("events_after limit 2");
    assert_eq!(first, all[..2].to_vec(), "limit keeps the oldest");
    let next = db.tenant(&t).events_after(first[1].seq, 3).await.expect("events_after next page");
    assert_eq!(next, all[2..5].to_vec(), "after is exclusive");
    let rest = db.tenant(&t).events_after(next[2].seq, 100).await.expect("events_after rest");
    assert_eq!(rest, all[5..].to_vec());
    assert!(db.tenant(&t).events_after(all[5].seq, 100).await.expect("events_after end").is_empty());
    let changes: Vec<&EventRecord> = all.iter().filter(|e| e.event.kind() != "EINGEGANGEN").collect();
    assert!(changes.iter().all(|e| e.actor == actor(&u)), "changes record their actor");
}

pub async fn worklist_views(db: &Db) {
    let fx = worklist_fixture(db).await;
    for view in views(&fx) {
        let page = db
            .tenant(&fx.tenant)
            .worklist(&query(view.clone(), None, SortKey::EingangAt, false, 0, 100))
            .await
            .expect("worklist");
        let want = expected(&fx, &view, None, SortKey::EingangAt, false);
        assert_eq!(page.items, want, "worklist {view:?}: the view's Vorgänge with every column");
        assert_eq!(page.total, want.len() as u64, "worklist {view:?}: total");
        assert_counts(&page.counts, &expected_counts(&fx, &view), &format!("worklist {view:?} counts"));
    }
    let nobody = View::Meine(UserId::new());
    let page = all_of(db, &fx.tenant, nobody.clone()).await;
    assert!(page.items.is_empty() && page.total == 0 && page.counts.total() == 0, "Meine of an unknown user is empty");
    assert_eq!(all_of(db, &fx.tenant, View::Alle).await.total, 8);
}

pub async fn worklist_status_filter(db: &Db) {
    let fx = worklist_fixture(db).await;
    for view in views(&fx) {
        for status in VorgangStatus::ALL {
            let page = db
                .tenant(&fx.tenant)
                .worklist(&query(view.clone(), Some(status), SortKey::EingangAt, true, 0, 100))
                .await
                .expect("worklist with status filter");
            let want = expected(&fx, &view, Some(status), SortKey::EingangAt, true);
            assert_eq!(page.items, want, "worklist {view:?} status {status}: items");
            assert_eq!(page.total, want.len() as u64, "worklist {view:?} status {status}: total counts the filter");
            assert_counts(
                &page.counts,
                &expected_counts(&fx, &view),
                &format!("worklist {view:?} status {status}: counts ignore the status filter"),
            );
        }
    }
}

pub async fn worklist_sorting(db: &Db) {
    let fx = worklist_fixture(db).await;
    for view in [View::Alle, View::Meine(fx.users[0].id), View::NichtZugewiesen] {
        for sort in SortKey::ALL {
            for descending in [false, true] {
                let page = db
                    .tenant(&fx.tenant)
                    .worklist(&query(view.clone(), None, sort, descending, 0, 100))
                    .await
                    .expect("worklist sorted");
                let want = expected(&fx, &view, None, sort, descending);
                let got_ids: Vec<VorgangId> = page.items.iter().map(|i| i.id).collect();
                let want_ids: Vec<VorgangId> = want.iter().map(|i| i.id).collect();
                assert_eq!(
                    got_ids,
                    want_ids,
                    "worklist {view:?} sorted by {sort:?} {}: order is (column, id) {}; got {:?}",
                    if descending { "desc" } else { "asc" },
                    if descending { "descending" } else { "ascending" },
                    page.items
                        .iter()
                        .map(|i| (i.status.as_str(), i.aktenzeichen.as_deref(), i.form_name.as_str()))
                        .collect::<Vec<_>>()
                );
                assert_eq!(page.items, want);
            }
        }
    }
    // Sorting within a status filter.
    let page = db
        .tenant(&fx.tenant)
        .worklist(&query(View::Alle, Some(VorgangStatus::Neu), SortKey::FormName, true, 0, 100))
        .await
        .expect("worklist");
    assert_eq!(page.items, expected(&fx, &View::Alle, Some(VorgangStatus::Neu), SortKey::FormName, true));
}

pub async fn worklist_paging(db: &Db) {
    let fx = worklist_fixture(db).await;
    for (sort, descending) in [(SortKey::EingangAt, false), (SortKey::Aktenzeichen, true), (SortKey::Nummer, false)] {
        let want = expected(&fx, &View::Alle, None, sort, descending);
        let mut seen = Vec::new();
        for page_no in 0..3 {
            let page = db
                .tenant(&fx.tenant)
                .worklist(&query(View::Alle, None, sort, descending, page_no, 3))
                .await
                .expect("worklist page");
            assert_eq!(page.total, 8, "total is all matches, not the page size");
            assert_counts(&page.counts, &expected_counts(&fx, &View::Alle), "counts on every page");
            let start = (page_no * 3) as usize;
            let end = (start + 3).min(want.len());
            assert_eq!(page.items, want[start..end].to_vec(), "page {page_no} ({sort:?}, desc={descending}) of 3");
            seen.extend(page.items);
        }
        assert_eq!(seen, want, "the pages together are the whole list");
        let beyond = db
            .tenant(&fx.tenant)
            .worklist(&query(View::Alle, None, sort, descending, 3, 3))
            .await
            .expect("worklist page past the end");
        assert!(beyond.items.is_empty(), "a page past the end is empty");
        assert_eq!(beyond.total, 8, "a page past the end still knows the total");
    }
    // Paging inside a view with a filter.
    let view = View::Meine(fx.users[0].id);
    let want = expected(&fx, &view, None, SortKey::FormName, false);
    let p1 = db
        .tenant(&fx.tenant)
        .worklist(&query(view.clone(), None, SortKey::FormName, false, 1, 2))
        .await
        .expect("worklist");
    assert_eq!(p1.items, want[2..].to_vec());
    assert_eq!(p1.total, want.len() as u64);
}

pub async fn status_counts_per_view(db: &Db) {
    let fx = worklist_fixture(db).await;
    for view in views(&fx) {
        let counts = db.tenant(&fx.tenant).status_counts(&Visibility::Tenant, &view).await.expect("status_counts");
        assert_counts(&counts, &expected_counts(&fx, &view), &format!("status_counts {view:?}"));
        let page = all_of(db, &fx.tenant, view.clone()).await;
        assert_counts(&page.counts, &expected_counts(&fx, &view), "worklist counts agree with status_counts");
    }
    let counts = db.tenant(&fx.tenant).status_counts(&Visibility::Tenant, &View::Alle).await.expect("status_counts");
    assert_eq!(counts.get(VorgangStatus::Neu), 3);
    assert_eq!(counts.get(VorgangStatus::Weitergeleitet), 0);
    assert_eq!(counts.total(), 8);
    let empty = fresh_tenant(db).await;
    assert_eq!(
        db.tenant(&empty).status_counts(&Visibility::Tenant, &View::Alle).await.expect("status_counts").total(),
        0
    );
}

pub async fn status_changes_and_deletion_request(db: &Db) {
    use StatusCommand as C;
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let by = actor(&u);
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;

    let h = move_status(db, &t, head.id, C::Annehmen, None, &by).await;
    assert_eq!(
        (h.id, h.nummer.clone(), h.status, h.version),
        (head.id, head.nummer.clone(), VorgangStatus::Angenommen, 2)
    );
    assert!(h.status_since >= head.status_since, "status_since moves with the status");
    assert_eq!(
        db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang").head,
        h,
        "apply_change returns the stored head"
    );
    let history = db.tenant(&t).history(head.id).await.expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].actor, by, "the event records the actor");
    assert_eq!(
        history[1].event,
        VorgangEvent::StatusGeaendert {
            command: C::Annehmen,
            from: VorgangStatus::Neu,
            to: VorgangStatus::Angenommen,
            reason: None
        }
    );

    move_status(db, &t, head.id, C::Bearbeiten, None, &by).await;
    move_status(db, &t, head.id, C::Abschliessen, None, &by).await;
    let h = move_status(db, &t, head.id, C::LoeschenAnfordern, Some("Aufbewahrungsfrist abgelaufen"), &by).await;
    assert_eq!((h.status, h.version), (VorgangStatus::ZuLoeschen, 5));
    let rec = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!(
        rec.status_before_deletion_request,
        Some(VorgangStatus::Abgeschlossen),
        "a Löschanforderung remembers the status before it"
    );
    let history = db.tenant(&t).history(head.id).await.expect("history");
    assert_eq!(
        history.last().map(|e| &e.event),
        Some(&VorgangEvent::StatusGeaendert {
            command: C::LoeschenAnfordern,
            from: VorgangStatus::Abgeschlossen,
            to: VorgangStatus::ZuLoeschen,
            reason: Some("Aufbewahrungsfrist abgelaufen".into()),
        }),
        "the reason is recorded"
    );
    let h = move_status(db, &t, head.id, C::LoeschanforderungZuruecknehmen, None, &by).await;
    assert_eq!(h.status, VorgangStatus::Abgeschlossen, "withdrawing returns to the status before");
    let rec = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!(rec.head, h);
    assert_eq!(rec.status_before_deletion_request, None, "withdrawing clears status_before_deletion_request");

    // The same from VERWORFEN.
    let other = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    move_status(db, &t, other.id, C::Verwerfen, Some("Dublette"), &by).await;
    move_status(db, &t, other.id, C::LoeschenAnfordern, Some("Dublette"), &by).await;
    let rec = db.tenant(&t).get_vorgang(other.id).await.expect("get_vorgang");
    assert_eq!(rec.status_before_deletion_request, Some(VorgangStatus::Verworfen));
    let h = move_status(db, &t, other.id, C::LoeschanforderungZuruecknehmen, None, &by).await;
    assert_eq!((h.status, h.version), (VorgangStatus::Verworfen, 4), "withdrawing returns to VERWORFEN");
    let h = move_status(db, &t, other.id, C::Zurueckholen, None, &by).await;
    assert_eq!(h.status, VorgangStatus::Neu);

    let history = db.tenant(&t).history(head.id).await.expect("history");
    assert_eq!(
        kinds(&history),
        vec![
            "EINGEGANGEN",
            "STATUS_GEAENDERT",
            "STATUS_GEAENDERT",
            "STATUS_GEAENDERT",
            "STATUS_GEAENDERT",
            "STATUS_GEAENDERT"
        ]
    );
    assert_seq_increasing(&history, "history");
    assert!(history.iter().all(|e| e.vorgang_id == Some(head.id)), "history holds only this Vorgang's events");
    for pair in history.windows(2) {
        assert!(pair[0].at <= pair[1].at, "history is in time order");
    }
    let counts = db.tenant(&t).status_counts(&Visibility::Tenant, &View::Alle).await.expect("status_counts");
    assert_eq!((counts.get(VorgangStatus::Abgeschlossen), counts.get(VorgangStatus::Neu)), (1, 1));
}

pub async fn assign_changes(db: &Db) {
    let t = fresh_tenant(db).await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let bernd = new_user(db, &t, "bernd", "Bernd Bär").await;
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;

    let h = assign(db, &t, &head, Some(anna.id), &actor(&bernd)).await;
    assert_eq!((h.version, h.status), (2, VorgangStatus::Neu), "assigning keeps the status, increments the version");
    let rec = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!(rec.head, h);
    assert_eq!(rec.assignee, Some(anna.as_ref()));
    let page = all_of(db, &t, View::Meine(anna.id)).await;
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![head.id], "Meine shows the assigned Vorgang");
    assert_eq!(page.items[0].assignee, Some(anna.as_ref()));

    let h = assign(db, &t, &h, Some(bernd.id), &actor(&bernd)).await;
    assert_eq!(db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang").assignee, Some(bernd.as_ref()));
    let h = assign(db, &t, &h, None, &actor(&bernd)).await;
    assert_eq!(h.version, 4);
    assert_eq!(
        db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang").assignee,
        None,
        "assigning None unassigns"
    );
    assert_eq!(all_of(db, &t, View::NichtZugewiesen).await.total, 1);

    let history = db.tenant(&t).history(head.id).await.expect("history");
    let events: Vec<VorgangEvent> = history.iter().skip(1).map(|e| e.event.clone()).collect();
    assert_eq!(
        events,
        vec![
            VorgangEvent::Zugewiesen { from: None, to: Some("Anna Amsel".into()) },
            VorgangEvent::Zugewiesen { from: Some("Anna Amsel".into()), to: Some("Bernd Bär".into()) },
            VorgangEvent::Zugewiesen { from: Some("Bernd Bär".into()), to: None },
        ],
        "assignments are recorded with display names"
    );
    assert!(history.iter().skip(1).all(|e| e.actor == actor(&bernd)));

    match db
        .tenant(&t)
        .apply_change(head.id, h.version, VorgangChange::Assign { to: Some(UserId::new()) }, &actor(&anna))
        .await
    {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("assigning an unknown user must be InvalidReference, got {other:?}"),
    }
    let rec = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!((rec.head.clone(), rec.assignee), (h, None), "a refused assignment changes nothing");
    assert_eq!(
        db.tenant(&t).history(head.id).await.expect("history").len(),
        4,
        "a refused assignment records no event"
    );
}

pub async fn aktenzeichen_set_and_clear(db: &Db) {
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let h = set_aktenzeichen(db, &t, &head, Some("32.1-123/24"), &actor(&u)).await;
    assert_eq!(h.version, 2);
    assert_eq!(
        db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang").aktenzeichen.as_deref(),
        Some("32.1-123/24")
    );
    let page = all_of(db, &t, View::Alle).await;
    assert_eq!(page.items[0].aktenzeichen.as_deref(), Some("32.1-123/24"), "the worklist shows the Aktenzeichen");
    let h = set_aktenzeichen(db, &t, &h, Some("Ä-Größe 7"), &actor(&u)).await;
    let h = set_aktenzeichen(db, &t, &h, None, &actor(&u)).await;
    assert_eq!(h.version, 4);
    let rec = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!(rec.aktenzeichen, None, "setting None clears the Aktenzeichen");
    assert_eq!(rec.head, h);
    let events: Vec<VorgangEvent> =
        db.tenant(&t).history(head.id).await.expect("history").into_iter().skip(1).map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![
            VorgangEvent::AktenzeichenGeaendert { from: None, to: Some("32.1-123/24".into()) },
            VorgangEvent::AktenzeichenGeaendert { from: Some("32.1-123/24".into()), to: Some("Ä-Größe 7".into()) },
            VorgangEvent::AktenzeichenGeaendert { from: Some("Ä-Größe 7".into()), to: None },
        ]
    );
}

pub async fn stale_version_conflicts(db: &Db) {
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let h = move_status(db, &t, head.id, StatusCommand::Annehmen, None, &actor(&u)).await;
    assert_eq!(h.version, 2);
    let stale_changes = [
        VorgangChange::Status {
            command: StatusCommand::Verwerfen,
            from: VorgangStatus::Neu,
            to: VorgangStatus::Verworfen,
            reason: Some("zu spät".into()),
        },
        VorgangChange::Assign { to: Some(u.id) },
        VorgangChange::Aktenzeichen(Aktenzeichen::parse("AZ-9").expect("valid")),
    ];
    for change in stale_changes {
        for stale in [1, 3, 0] {
            match db.tenant(&t).apply_change(head.id, stale, change.clone(), &actor(&u)).await {
                Err(StorageError::Conflict { current_version }) => {
                    assert_eq!(current_version, 2, "Conflict reports the current version")
                }
                other => panic!("apply_change at stale version {stale} ({change:?}) must conflict, got {other:?}"),
            }
        }
    }
    let rec = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!(rec.head, h, "a conflicting change changes nothing");
    assert_eq!((rec.assignee, rec.aktenzeichen), (None, None));
    assert_eq!(
        db.tenant(&t).history(head.id).await.expect("history").len(),
        2,
        "a conflicting change records no event"
    );
    // The current version still works.
    let h2 = assign(db, &t, &h, Some(u.id), &actor(&u)).await;
    assert_eq!(h2.version, 3);
    match db.tenant(&t).apply_change(VorgangId::new(), 1, VorgangChange::Assign { to: None }, &actor(&u)).await {
        Err(StorageError::NotFound) => {}
        other => panic!("apply_change on an unknown Vorgang must be NotFound, got {other:?}"),
    }
}

pub async fn claim_next_takes_oldest_unassigned_neu(db: &Db) {
    let t = fresh_tenant(db).await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let bernd = new_user(db, &t, "bernd", "Bernd Bär").await;
    assert_eq!(
        db.tenant(&t)
            .claim_next(&Visibility::Tenant, anna.id, &actor(&anna))
            .await
            .expect("claim_next on an empty pile"),
        None
    );

    let third = intake(db, &t, new_vorgang(at(30), "Gewerbeanmeldung")).await;
    let first = intake(db, &t, new_vorgang(at(10), "Gewerbeanmeldung")).await;
    let second = intake(db, &t, new_vorgang(at(20), "Gewerbeanmeldung")).await;
    // Older, but not on the pile: assigned, or not NEU.
    let assigned = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    assign(db, &t, &assigned, Some(bernd.id), &actor(&bernd)).await;
    let accepted = intake(db, &t, new_vorgang(at(-10), "Gewerbeanmeldung")).await;
    move_status(db, &t, accepted.id, StatusCommand::Annehmen, None, &actor(&bernd)).await;

    // An unknown user cannot take anything, and nothing changes.
    match db.tenant(&t).claim_next(&Visibility::Tenant, UserId::new(), &system()).await {
        Err(_) => {}
        Ok(got) => panic!("claim_next for an unknown user must fail, got {got:?}"),
    }
    assert_eq!(
        db.tenant(&t).get_vorgang(first.id).await.expect("get_vorgang").head,
        first,
        "a failed claim changes nothing"
    );

    let by = actor(&anna);
    for (expected_head, what) in [(&first, "oldest"), (&second, "next"), (&third, "last")] {
        let got = db
            .tenant(&t)
            .claim_next(&Visibility::Tenant, anna.id, &by)
            .await
            .expect("claim_next")
            .expect("a Vorgang on the pile");
        assert_eq!(got.id, expected_head.id, "claim_next takes the {what} unassigned NEU Vorgang");
        assert_eq!((got.status, got.version), (VorgangStatus::Neu, 2), "claiming assigns: status kept, version + 1");
        let rec = db.tenant(&t).get_vorgang(got.id).await.expect("get_vorgang");
        assert_eq!(rec.head, got);
        assert_eq!(rec.assignee, Some(anna.as_ref()), "the claimed Vorgang is assigned to the claimer");
        let history = db.tenant(&t).history(got.id).await.expect("history");
        let last = history.last().expect("an event");
        assert_eq!(last.event, VorgangEvent::Zugewiesen { from: None, to: Some("Anna Amsel".into()) });
        assert_eq!(last.actor, by);
    }
    assert_eq!(
        db.tenant(&t).claim_next(&Visibility::Tenant, anna.id, &by).await.expect("claim_next"),
        None,
        "the pile is empty"
    );
    assert_eq!(all_of(db, &t, View::Meine(anna.id)).await.total, 3);
    let accepted_now = db.tenant(&t).get_vorgang(accepted.id).await.expect("get_vorgang");
    assert_eq!(accepted_now.assignee, None, "a non-NEU Vorgang is never claimed");
}

pub async fn claim_next_is_atomic_under_concurrency(db: &Db) {
    let t = fresh_tenant(db).await;
    let mut pile = HashSet::new();
    for i in 0..10 {
        pile.insert(intake(db, &t, new_vorgang(at(i), "Gewerbeanmeldung")).await.id);
    }
    let mut users = Vec::new();
    for i in 0..20 {
        users.push(new_user(db, &t, &format!("claim{i}"), &format!("Sachbearbeitung {i:02}")).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for user in users {
        let (db, t) = (db.clone(), t.clone());
        tasks.spawn(async move {
            let got = claim_with_retry(&db, &t, &user).await;
            (user, got)
        });
    }
    let mut claimed = Vec::new();
    let mut empty = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("claim task panicked") {
            (user, Some(head)) => claimed.push((user, head)),
            (_, None) => empty += 1,
        }
    }
    assert_eq!(claimed.len(), 10, "10 of 20 concurrent claims get a Vorgang");
    assert_eq!(empty, 10, "10 of 20 concurrent claims get None");
    let distinct: HashSet<VorgangId> = claimed.iter().map(|(_, h)| h.id).collect();
    assert_eq!(distinct, pile, "every Vorgang is claimed exactly once");
    for (user, head) in &claimed {
        assert_eq!(head.version, 2, "each Vorgang was assigned once");
        let rec = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
        assert_eq!(rec.assignee, Some(user.as_ref()), "the Vorgang belongs to the user whose claim returned it");
        assert_eq!(db.tenant(&t).history(head.id).await.expect("history").len(), 2, "one assignment event each");
    }
    assert_eq!(all_of(db, &t, View::NichtZugewiesen).await.total, 0);
}

pub async fn visibility_restricts_worklist_counts_and_claims(db: &Db) {
    use StatusCommand as C;
    let t = fresh_tenant(db).await;
    let (ua, ub) = (new_unit(db, &t, "Ordnungsamt").await, new_unit(db, &t, "Bauamt").await);
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let bernd = new_user(db, &t, "bernd", "Bernd Bär").await;
    let by = actor(&anna);
    type VisSpec<'a> = (i64, Option<UnitId>, &'a [StatusCommand], Option<UserId>);
    let specs: [VisSpec; 7] = [
        (0, Some(ua.id), &[], None),
        (10, Some(ub.id), &[], None),
        (20, Some(ub.id), &[C::Annehmen], Some(anna.id)),
        (30, None, &[], None),
        (40, Some(ua.id), &[C::Annehmen, C::Bearbeiten], Some(bernd.id)),
        (50, Some(ub.id), &[C::Annehmen], None),
        (60, None, &[], Some(anna.id)),
    ];
    // (id, eingang, unit, assignee, status)
    let mut all = Vec::new();
    for (minutes, unit, commands, assignee) in specs {
        let v = NewVorgang { unit, ..new_vorgang(at(minutes), "Gewerbeanmeldung") };
        let mut head = intake(db, &t, v).await;
        for c in commands {
            head = move_status(db, &t, head.id, *c, None, &by).await;
        }
        if assignee.is_some() {
            head = assign(db, &t, &head, assignee, &by).await;
        }
        all.push((head.id, at(minutes), unit, assignee, head.status));
    }
    let visibilities = [
        Visibility::Tenant,
        Visibility::Restricted { units: vec![ua.id], user: Some(anna.id), all_new: false },
        Visibility::Restricted { units: vec![], user: None, all_new: true },
        Visibility::Restricted { units: vec![ua.id, ub.id], user: None, all_new: false },
        Visibility::Restricted { units: vec![ub.id], user: Some(bernd.id), all_new: true },
        Visibility::Restricted { units: vec![], user: None, all_new: false },
        Visibility::Restricted { units: vec![UnitId::new()], user: Some(UserId::new()), all_new: false },
    ];
    let views = [View::Alle, View::Meine(anna.id), View::NichtZugewiesen];
    for vis in &visibilities {
        for view in &views {
            let covered: Vec<_> = all
                .iter()
                .filter(|(_, _, unit, assignee, status)| {
                    let in_view = match view {
                        View::Alle => true,
                        View::Meine(u) => *assignee == Some(*u),
                        View::NichtZugewiesen => assignee.is_none(),
                    };
                    in_view && vis.covers(*unit, *assignee, *status)
                })
                .collect();
            let want_ids: Vec<VorgangId> = covered.iter().map(|c| c.0).collect();
            let want_counts: Vec<(VorgangStatus, u64)> = VorgangStatus::ALL
                .into_iter()
                .map(|s| (s, covered.iter().filter(|c| c.4 == s).count() as u64))
                .collect();
            let what = format!("{vis:?} {view:?}");
            let q = WorklistQuery {
                visibility: vis.clone(),
                ..query(view.clone(), None, SortKey::EingangAt, false, 0, 100)
            };
            let page = db.tenant(&t).worklist(&q).await.expect("worklist");
            assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), want_ids, "worklist {what}");
            assert_eq!(page.total, want_ids.len() as u64, "worklist total {what}");
            assert_counts(&page.counts, &want_counts, &format!("worklist counts {what}"));
            let counts = db.tenant(&t).status_counts(vis, view).await.expect("status_counts");
            assert_counts(&counts, &want_counts, &format!("status_counts {what}"));
            for sort in SortKey::ALL {
                let q = WorklistQuery { visibility: vis.clone(), ..query(view.clone(), None, sort, true, 0, 100) };
                let mut got: Vec<VorgangId> =
                    db.tenant(&t).worklist(&q).await.expect("worklist").items.iter().map(|i| i.id).collect();
                got.sort();
                let mut want = want_ids.clone();
                want.sort();
                assert_eq!(got, want, "worklist {what} sorted by {sort:?}: the same Vorgänge");
            }
            let q = WorklistQuery {
                visibility: vis.clone(),
                ..query(view.clone(), Some(VorgangStatus::Neu), SortKey::EingangAt, false, 0, 100)
            };
            let page = db.tenant(&t).worklist(&q).await.expect("worklist");
            let want_neu: Vec<VorgangId> = covered.iter().filter(|c| c.4 == VorgangStatus::Neu).map(|c| c.0).collect();
            assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), want_neu, "worklist {what} NEU only");
            assert_eq!(page.total, want_neu.len() as u64);
        }
    }

    // The pile within the visibility.
    let nothing = Visibility::Restricted { units: vec![], user: None, all_new: false };
    assert_eq!(db.tenant(&t).claim_next(&nothing, anna.id, &by).await.expect("claim_next"), None, "nothing to see");
    let unknown = Visibility::Restricted { units: vec![UnitId::new()], user: Some(anna.id), all_new: false };
    assert_eq!(db.tenant(&t).claim_next(&unknown, anna.id, &by).await.expect("claim_next"), None);
    let bauamt = Visibility::Restricted { units: vec![ub.id], user: Some(bernd.id), all_new: false };
    let got = db.tenant(&t).claim_next(&bauamt, bernd.id, &actor(&bernd)).await.expect("claim_next").expect("one in B");
    assert_eq!(got.id, all[1].0, "claim_next takes the oldest unassigned NEU Vorgang of the unit");
    assert_eq!(db.tenant(&t).claim_next(&bauamt, bernd.id, &actor(&bernd)).await.expect("claim_next"), None);
    let ordnungsamt = Visibility::Restricted { units: vec![ua.id], user: Some(anna.id), all_new: false };
    let got = db.tenant(&t).claim_next(&ordnungsamt, anna.id, &by).await.expect("claim_next").expect("one in A");
    assert_eq!(got.id, all[0].0);
    assert_eq!(
        db.tenant(&t).claim_next(&ordnungsamt, anna.id, &by).await.expect("claim_next"),
        None,
        "none without unit"
    );
    let poststelle = Visibility::Restricted { units: vec![], user: None, all_new: true };
    let got =
        db.tenant(&t).claim_next(&poststelle, anna.id, &by).await.expect("claim_next").expect("the one without unit");
    assert_eq!(got.id, all[3].0, "the Poststelle sees every NEU one");
    assert_eq!(db.tenant(&t).claim_next(&poststelle, anna.id, &by).await.expect("claim_next"), None);
    assert_eq!(db.tenant(&t).claim_next(&Visibility::Tenant, anna.id, &by).await.expect("claim_next"), None);
}
