//! Conformance checks of export and import of a whole tenant.

use super::*;

pub async fn export_pages_a_tenant_completely(db: &Db) {
    let (fx, units) = export_fixture(db).await;
    let t = &fx.tenant;
    let counts = db.tenant(t).count_for_export().await.expect("count_for_export");
    let log = db.tenant(t).events_after(0, 10_000).await.expect("events_after");
    assert_eq!(
        counts,
        ExportCounts {
            units: 2,
            users: 3,
            deliveries: 12,
            vorgaenge: 9,
            documents: 27,
            events: log.len() as u64,
            audit: 3,
            notes: 7
        },
        "count_for_export counts units, users, deliveries, Vorgänge, documents, events, audit entries and notes"
    );
    let all = export_all(db, t, 1000).await;
    assert_eq!(export_all(db, t, 3).await, all, "small pages yield the same records in the same order");
    assert_eq!(export_all(db, t, 1).await, all, "pages of one record, too");
    let tenant = db.tenant(t).get_tenant().await.expect("get_tenant");
    assert!(matches!(&all[0], ExportRecord::Tenant(rec) if *rec == tenant), "the tenant comes first, complete");
    assert_eq!(tenant.name, "Testmandant");
    let sections: Vec<ExportSection> = all.iter().map(ExportRecord::section).collect();
    let mut sorted = sections.clone();
    sorted.sort_by_key(|s| ExportSection::ALL.iter().position(|x| x == s));
    assert_eq!(sections, sorted, "sections come in import order");
    for section in ExportSection::ALL {
        let n = sections.iter().filter(|s| **s == section).count() as u64;
        assert_eq!(n, counts.of(section), "{section:?}: as many records as counted");
    }
    let events: Vec<EventRecord> =
        all.iter().filter_map(|r| if let ExportRecord::Event(e) = r { Some(e.clone()) } else { None }).collect();
    assert_eq!(events, log, "events are exported as logged, oldest first");
    let audit: Vec<AuditRecord> =
        all.iter().filter_map(|r| if let ExportRecord::Audit(a) = r { Some(a.clone()) } else { None }).collect();
    let mut newest_first = all_audit(db, t).await;
    newest_first.reverse();
    assert_eq!(audit, newest_first, "audit entries are exported as logged, oldest first");
    let mut exported_units: Vec<UnitRecord> =
        all.iter().filter_map(|r| if let ExportRecord::Unit(u) = r { Some(u.clone()) } else { None }).collect();
    exported_units.sort_by(|a, b| a.name.cmp(&b.name));
    let mut want_units = units.clone();
    want_units.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(exported_units, want_units, "units are exported complete");
    for r in &all {
        match r {
            ExportRecord::Vorgang(v) => {
                assert_eq!(
                    **v,
                    db.tenant(t).get_vorgang(v.head.id).await.expect("get_vorgang"),
                    "a Vorgang is a full snapshot"
                )
            }
            ExportRecord::Delivery(d) => assert_eq!(*d, db.tenant(t).get_delivery(d.id).await.expect("get_delivery")),
            ExportRecord::User(u) => assert_eq!(*u, db.tenant(t).get_user(u.id).await.expect("get_user")),
            _ => {}
        }
    }
    let mut kommentare = Vec::new();
    let mut wiedervorlagen = Vec::new();
    for item in all_of(db, t, View::Alle).await.items {
        kommentare.extend(db.tenant(t).list_kommentare(item.id).await.expect("list_kommentare"));
        wiedervorlagen.extend(db.tenant(t).list_wiedervorlagen(item.id).await.expect("list_wiedervorlagen"));
    }
    kommentare.sort_by_key(|k| k.id);
    wiedervorlagen.sort_by_key(|w| w.id);
    let notes: Vec<ExportRecord> = kommentare
        .into_iter()
        .map(ExportRecord::Kommentar)
        .chain(wiedervorlagen.into_iter().map(ExportRecord::Wiedervorlage))
        .collect();
    let exported: Vec<ExportRecord> = all.iter().filter(|r| r.section() == ExportSection::Notes).cloned().collect();
    assert_eq!(exported, notes, "notes are exported complete: Kommentare by id, then Wiedervorlagen by id");
    let vorgaenge =
        all.iter().filter(|r| matches!(r, ExportRecord::Vorgang(v) if v.status_before_deletion_request.is_some()));
    assert_eq!(vorgaenge.count(), 1, "the status before a Löschanforderung is exported");
    let with_unit = all.iter().filter(|r| matches!(r, ExportRecord::Vorgang(v) if v.unit.is_some()));
    assert_eq!(with_unit.count(), 3, "the unit of a Vorgang is exported");
    let carla = all.iter().find_map(|r| match r {
        ExportRecord::User(u) if u.oidc_subject.is_some() => Some(u.clone()),
        _ => None,
    });
    let carla = carla.expect("the user with an OIDC identity is exported");
    assert_eq!(
        (carla.roles.len(), carla.units.len(), carla.failed_logins),
        (2, 2, 1),
        "roles, units and failed logins are exported"
    );

    let empty = fresh_tenant(db).await;
    assert_eq!(db.tenant(&empty).count_for_export().await.expect("count_for_export"), ExportCounts::default());
    assert_eq!(export_all(db, &empty, 10).await.len(), 1, "an empty tenant exports itself only");
    let unknown = TenantId::parse(&format!("t-{}", short())).expect("slug");
    assert_not_found(
        db.tenant(&unknown).export_page(ExportSection::Tenant, None, 10).await,
        "export of an unknown tenant",
    );
    for section in [
        ExportSection::Units,
        ExportSection::Users,
        ExportSection::Deliveries,
        ExportSection::Vorgaenge,
        ExportSection::Events,
        ExportSection::Audit,
        ExportSection::Notes,
    ] {
        let got = db.tenant(t).export_page(section, Some("kein cursor"), 10).await;
        assert!(got.is_err(), "a malformed cursor is an error ({section:?}), got {got:?}");
    }
}

pub async fn import_moves_a_tenant(db: &Db) {
    let (fx, _) = export_fixture(db).await;
    let src = &fx.tenant;
    let records = export_all(db, src, 1000).await;

    // Kennungen are unique in the installation: the same units cannot be imported twice.
    let refused = TenantId::parse(&format!("t-{}", short())).expect("slug");
    match db.tenant(&refused).import_records(records.clone()).await {
        Err(StorageError::Duplicate("kennung")) => {}
        other => panic!("importing units whose kennung exists must be Duplicate(\"kennung\"), got {other:?}"),
    }
    assert_not_found(db.tenant(&refused).get_tenant().await, "the refused batch created no tenant");

    // Into a tenant that does not exist yet, in one batch.
    let fresh = TenantId::parse(&format!("t-{}", short())).expect("slug");
    db.tenant(&fresh)
        .import_records(with_kennung_suffix(&records, "-a"))
        .await
        .expect("import_records into a new tenant");
    assert_same_tenant(db, src, &fresh, &[], "-a").await;
    let moved = export_all(db, &fresh, 1000).await;
    assert!(matches!(&moved[0], ExportRecord::Tenant(t) if t.name == "Testmandant"), "the name moves");

    // Into an existing tenant with users, page by page: a user with a taken username is
    // replaced (imported id, imported hash; its session ends), other users stay.
    let dst = fresh_tenant(db).await;
    let anna = &fx.users[0];
    let clash = db
        .tenant(&dst)
        .create_user(NewUser {
            id: UserId::new(),
            username: anna.username.clone(),
            display_name: "Anna vom Ziel".into(),
            email: None,
            roles: vec![Role::Admin],
            units: vec![],
            password_hash: "$argon2id$v=19$ziel".into(),
            oidc_subject: None,
        })
        .await
        .expect("create_user");
    let zoe = new_user(db, &dst, "zoe", "Zoe Zebra").await;
    let session = NewSession {
        token_hash: format!("{:0>64}", Uuid::new_v4().simple()),
        user: clash.id,
        csrf_token: short(),
        created_at: now_s(),
        idle_timeout_secs: 1800,
        absolute_expiry: now_s() + Duration::hours(8),
    };
    db.tenant(&dst).create_session(session.clone()).await.expect("create_session");
    let mut batches = 0;
    for batch in with_kennung_suffix(&records, "-b").chunks(4) {
        db.tenant(&dst).import_records(batch.to_vec()).await.expect("import_records, one batch");
        batches += 1;
    }
    assert!(batches > 5, "the import ran in several batches");
    assert_same_tenant(db, src, &dst, std::slice::from_ref(&zoe), "-b").await;
    assert_not_found(db.tenant(&dst).get_user(clash.id).await, "the replaced user's id is gone");
    assert_eq!(
        db.installation().get_session(&session.token_hash, now_s()).await.expect("get_session"),
        None,
        "its session ended"
    );

    // The moved tenant works on: the pile, commands at the imported versions.
    let src_claim = claim_with_retry(db, src, &fx.users[2]).await.expect("a Vorgang on the source pile");
    let dst_claim = claim_with_retry(db, &dst, &fx.users[2]).await.expect("a Vorgang on the moved pile");
    assert_eq!(dst_claim, src_claim, "the moved pile hands out the same Vorgang");
    let h = set_aktenzeichen(db, &dst, &dst_claim, Some("Nach dem Umzug"), &actor(&fx.users[2])).await;
    let w = records
        .iter()
        .find_map(|r| match r {
            ExportRecord::Wiedervorlage(w) if w.version > 1 => Some(w.clone()),
            _ => None,
        })
        .expect("a changed Wiedervorlage");
    let done = WiedervorlageUpdate { erledigt: !w.erledigt, ..update_of(&w) };
    let moved =
        db.tenant(&dst).update_wiedervorlage(w.id, w.version, done, &system()).await.expect("update after import");
    assert_eq!(moved.version, w.version + 1, "Wiedervorlagen keep their versions");
    assert_eq!(h.version, src_claim.version + 1);
    assert_eq!(
        db.tenant(&dst).history(h.id).await.expect("history").last().map(|e| e.event.kind()),
        Some("AKTENZEICHEN_GEAENDERT"),
        "new events append after the imported ones"
    );

    // A disabled user moves disabled.
    let other = TenantId::parse(&format!("t-{}", short())).expect("slug");
    let mut with_disabled = records[..1].to_vec();
    let ghost = UserRecord { id: UserId::new(), username: "ehemalig".into(), disabled: true, ..fx.users[0].clone() };
    with_disabled.push(ExportRecord::User(ghost.clone()));
    db.tenant(&other).import_records(with_disabled).await.expect("import_records");
    assert_eq!(
        db.tenant(&other).get_user(ghost.id).await.expect("get_user"),
        UserRecord { tenant: other.clone(), ..ghost }
    );
}

pub async fn import_refuses_a_tenant_in_use(db: &Db) {
    let (fx, _) = export_fixture(db).await;
    let records = export_all(db, &fx.tenant, 1000).await;
    let tenant_only = records[..1].to_vec();

    // A tenant with Vorgänge, or with deliveries only, takes no import.
    let busy = fresh_tenant(db).await;
    intake(db, &busy, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let with_delivery = fresh_tenant(db).await;
    record(db, &with_delivery, at(0)).await;
    for t in [&busy, &with_delivery, &fx.tenant] {
        let before = db.tenant(t).count_for_export().await.expect("count_for_export");
        match db.tenant(t).import_records(with_kennung_suffix(&records, "-x")).await {
            Err(StorageError::Duplicate("tenant")) => {}
            other => panic!("importing into a tenant in use must be Duplicate(\"tenant\"), got {other:?}"),
        }
        match db.tenant(t).import_records(tenant_only.clone()).await {
            Err(StorageError::Duplicate("tenant")) => {}
            other => panic!("starting an import in a tenant in use must be refused, got {other:?}"),
        }
        assert_eq!(
            db.tenant(t).count_for_export().await.expect("count_for_export"),
            before,
            "a refused import writes nothing"
        );
    }

    // A batch fails as a whole: an assignee who is no user of the target.
    let target = TenantId::parse(&format!("t-{}", short())).expect("slug");
    let assigned = records
        .iter()
        .find(|r| matches!(r, ExportRecord::Vorgang(v) if v.assignee.is_some() && v.unit.is_none()))
        .expect("an assigned Vorgang")
        .clone();
    match db.tenant(&target).import_records(vec![tenant_only[0].clone(), assigned.clone()]).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("an unknown assignee must be InvalidReference, got {other:?}"),
    }
    assert_not_found(
        db.tenant(&target).export_page(ExportSection::Tenant, None, 1).await,
        "the failed batch left nothing",
    );
    let ExportRecord::Vorgang(v) = &assigned else { unreachable!("a Vorgang") };
    assert_not_found(db.tenant(&target).get_vorgang(v.head.id).await, "no Vorgang from the failed batch");

    // A unit the target does not have, on a Vorgang or a user.
    let in_unit = records
        .iter()
        .find(|r| matches!(r, ExportRecord::Vorgang(v) if v.unit.is_some() && v.assignee.is_none()))
        .expect("a Vorgang in a unit")
        .clone();
    let user_in_units =
        records.iter().find(|r| matches!(r, ExportRecord::User(u) if !u.units.is_empty())).expect("a user").clone();
    for record in [in_unit, user_in_units] {
        match db.tenant(&target).import_records(vec![tenant_only[0].clone(), record.clone()]).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("an unknown unit must be InvalidReference ({record:?}), got {other:?}"),
        }
    }
    assert_not_found(db.tenant(&target).get_tenant().await, "the failed batches left nothing");

    // An event of a Vorgang the target does not have.
    let event = records.iter().find(|r| matches!(r, ExportRecord::Event(_))).expect("an event").clone();
    match db.tenant(&target).import_records(vec![tenant_only[0].clone(), event]).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("an event of an unknown Vorgang must be InvalidReference, got {other:?}"),
    }
    assert!(db.tenant(&target).events_after(0, 10).await.expect("events_after").is_empty());

    // A note of a Vorgang the target does not have.
    let notes: Vec<ExportRecord> = records.iter().filter(|r| r.section() == ExportSection::Notes).cloned().collect();
    assert!(notes.iter().any(|r| matches!(r, ExportRecord::Kommentar(_))), "the fixture has Kommentare");
    assert!(notes.iter().any(|r| matches!(r, ExportRecord::Wiedervorlage(_))), "and Wiedervorlagen");
    for note in notes {
        match db.tenant(&target).import_records(vec![tenant_only[0].clone(), note.clone()]).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("a note of an unknown Vorgang must be InvalidReference ({note:?}), got {other:?}"),
        }
    }
    assert_not_found(db.tenant(&target).get_tenant().await, "the failed batches left nothing");
}
