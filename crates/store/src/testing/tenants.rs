//! Conformance checks of tenants and Organisationseinheiten.

use super::*;

pub async fn backend_names_itself(db: &Db) {
    assert!(!db.backend().trim().is_empty(), "backend() names the engine");
}

pub async fn tenant_creation_is_idempotent(db: &Db) {
    let t = TenantId::parse(&format!("t-{}", short())).expect("slug");
    let first = db.installation().ensure_tenant(new_tenant(&t, "Stadt Kiel")).await.expect("ensure_tenant, first");
    assert_eq!(
        (&first.id, first.name.as_str(), first.kind, &first.host, first.ip_allowlist.is_empty()),
        (&t, "Stadt Kiel", TenantKind::Stadt, &None, true),
        "ensure_tenant creates the tenant as given"
    );
    assert_eq!(db.tenant(&t).get_tenant().await.expect("get_tenant"), first, "ensure_tenant returns the stored tenant");
    let again =
        db.installation().ensure_tenant(new_tenant(&t, "Stadt Kiel")).await.expect("ensure_tenant again must succeed");
    assert_eq!(again, first);
    let renamed = NewTenant { kind: TenantKind::Landkreis, ..new_tenant(&t, "Landeshauptstadt Kiel") };
    let existing =
        db.installation().ensure_tenant(renamed).await.expect("ensure_tenant with another name must succeed");
    assert_eq!(existing, first, "ensure_tenant returns an existing tenant unchanged");
    // The tenant is usable.
    let d = record(db, &t, at(0)).await;
    let got = db.tenant(&t).get_delivery(d.id).await.expect("get_delivery in the ensured tenant");
    assert_eq!(got.tenant, t);
    let head = intake(db, &t, new_vorgang(at(1), "Gewerbeanmeldung")).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    assert_eq!(db.tenant(&t).count_users().await.expect("count_users"), 1, "tenant re-ensured, data intact");
    assert_eq!(db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang").head, head);
    db.installation().ensure_tenant(new_tenant(&t, "Kiel")).await.expect("ensure_tenant on a tenant with data");
    assert_eq!(db.tenant(&t).get_user(u.id).await.expect("get_user"), u, "ensure_tenant keeps the tenant's data");
    assert_eq!(db.tenant(&t).get_tenant().await.expect("get_tenant").name, "Stadt Kiel");
}

pub async fn tenants_lifecycle(db: &Db) {
    let id = TenantId::parse(&format!("t-{}", short())).expect("slug");
    let host = format!("{id}.ozg.example");
    let new =
        NewTenant { id: id.clone(), name: "Zentrales Amt".into(), kind: TenantKind::Amt, host: Some(host.clone()) };
    let created = db.installation().create_tenant(new.clone()).await.expect("create_tenant");
    assert_eq!(
        (&created.id, created.name.as_str(), created.kind, created.host.as_deref(), created.ip_allowlist.len()),
        (&id, "Zentrales Amt", TenantKind::Amt, Some(host.as_str()), 0),
        "create_tenant stores the tenant as given, with an empty allowlist"
    );
    assert!((OffsetDateTime::now_utc() - created.created_at).abs() < Duration::minutes(10), "created_at is now");
    assert_eq!(
        db.tenant(&id).get_tenant().await.expect("get_tenant"),
        created,
        "create_tenant returns the stored tenant"
    );
    assert_not_found(
        db.tenant(&TenantId::parse(&format!("t-{}", short())).expect("slug")).get_tenant().await,
        "get_tenant",
    );

    let again = NewTenant { host: Some(format!("andere.{host}")), ..new.clone() };
    match db.installation().create_tenant(again).await {
        Err(StorageError::Duplicate("tenant")) => {}
        other => panic!("create_tenant of an existing id must be Duplicate(\"tenant\"), got {other:?}"),
    }
    let other_id = TenantId::parse(&format!("t-{}", short())).expect("slug");
    let clash = NewTenant {
        id: other_id.clone(),
        name: "Anderes Amt".into(),
        kind: TenantKind::Gemeinde,
        host: Some(host.clone()),
    };
    match db.installation().create_tenant(clash.clone()).await {
        Err(StorageError::Duplicate("host")) => {}
        other => panic!("create_tenant with a taken host must be Duplicate(\"host\"), got {other:?}"),
    }
    assert_not_found(db.tenant(&other_id).get_tenant().await, "a refused tenant is not stored");
    assert_eq!(db.tenant(&id).get_tenant().await.expect("get_tenant"), created, "the refusals changed nothing");

    assert_eq!(db.installation().find_tenant_by_host(&host).await.expect("find_tenant_by_host"), Some(created.clone()));
    assert_eq!(
        db.installation().find_tenant_by_host(&format!("nirgends.{host}")).await.expect("find_tenant_by_host"),
        None
    );

    let other = db
        .installation()
        .create_tenant(NewTenant { host: None, name: "Aachen Gemeinde".into(), ..clash })
        .await
        .expect("create_tenant without host");
    assert_eq!((other.kind, other.host.clone()), (TenantKind::Gemeinde, None));

    let host2 = format!("neu.{host}");
    let settings = TenantSettings {
        name: "Amt Mitte".into(),
        host: Some(host2.clone()),
        ip_allowlist: vec!["10.1.0.0/16".into(), "192.0.2.7/32".into(), "2001:db8::/32".into()],
    };
    let updated = db.tenant(&id).update_tenant(settings.clone()).await.expect("update_tenant");
    assert_eq!(
        updated,
        crate::TenantRecord {
            name: settings.name.clone(),
            host: settings.host.clone(),
            ip_allowlist: settings.ip_allowlist.clone(),
            ..created.clone()
        },
        "update_tenant changes name, host and allowlist (in order), not kind or created_at"
    );
    assert_eq!(db.tenant(&id).get_tenant().await.expect("get_tenant"), updated);
    assert_eq!(
        db.installation().find_tenant_by_host(&host).await.expect("find_tenant_by_host"),
        None,
        "the old host is free"
    );
    assert_eq!(
        db.installation().find_tenant_by_host(&host2).await.expect("find_tenant_by_host"),
        Some(updated.clone())
    );

    let steal = TenantSettings { name: "Aachen Gemeinde".into(), host: Some(host2.clone()), ip_allowlist: vec![] };
    match db.tenant(&other_id).update_tenant(steal).await {
        Err(StorageError::Duplicate("host")) => {}
        other => panic!("update_tenant to a taken host must be Duplicate(\"host\"), got {other:?}"),
    }
    assert_eq!(db.tenant(&other_id).get_tenant().await.expect("get_tenant"), other, "a refused update changes nothing");
    let freed = TenantSettings { name: "Aachen Gemeinde".into(), host: Some(host.clone()), ip_allowlist: vec![] };
    let other = db.tenant(&other_id).update_tenant(freed).await.expect("update_tenant to a freed host");
    assert_eq!(db.installation().find_tenant_by_host(&host).await.expect("find_tenant_by_host"), Some(other.clone()));
    let unknown = TenantId::parse(&format!("t-{}", short())).expect("slug");
    assert_not_found(db.tenant(&unknown).update_tenant(settings.clone()).await, "update_tenant of an unknown tenant");
    let cleared = db
        .tenant(&id)
        .update_tenant(TenantSettings { host: None, ip_allowlist: vec![], ..settings })
        .await
        .expect("update_tenant clearing the host");
    assert_eq!((cleared.host, cleared.ip_allowlist), (None, vec![]));
    assert_eq!(db.installation().find_tenant_by_host(&host2).await.expect("find_tenant_by_host"), None);

    let list = db.installation().list_tenants().await.expect("list_tenants");
    for pair in list.windows(2) {
        assert!(
            pair[0].name <= pair[1].name,
            "list_tenants is sorted by name: {:?} then {:?}",
            pair[0].name,
            pair[1].name
        );
    }
    let mine: Vec<&TenantId> = list.iter().filter(|t| t.id == id || t.id == other_id).map(|t| &t.id).collect();
    assert_eq!(mine, vec![&other_id, &id], "list_tenants lists every tenant");
    assert_eq!(list.iter().find(|t| t.id == other_id), Some(&other), "list_tenants returns complete records");
}

pub async fn units_lifecycle(db: &Db) {
    let a = fresh_tenant(db).await;
    let b = fresh_tenant(db).await;
    assert!(db.tenant(&a).list_units().await.expect("list_units").is_empty());
    let (k1, k2, k3) = (kennung(), kennung(), kennung());
    let new1 = NewUnit { id: UnitId::new(), name: "Ordnungsamt".into(), kennung: k1.clone() };
    let u1 = db.tenant(&a).create_unit(new1.clone()).await.expect("create_unit");
    assert_eq!(u1, UnitRecord { id: new1.id, tenant: a.clone(), name: "Ordnungsamt".into(), kennung: k1.clone() });
    let u2 = db
        .tenant(&a)
        .create_unit(NewUnit { id: UnitId::new(), name: "Bauamt".into(), kennung: k2.clone() })
        .await
        .expect("create_unit");
    for (tenant, what) in [(&a, "in the same tenant"), (&b, "in another tenant")] {
        match db
            .tenant(tenant)
            .create_unit(NewUnit { id: UnitId::new(), name: "Kopie".into(), kennung: k1.clone() })
            .await
        {
            Err(StorageError::Duplicate("kennung")) => {}
            other => panic!("a taken kennung {what} must be Duplicate(\"kennung\"), got {other:?}"),
        }
    }
    let u3 = db
        .tenant(&b)
        .create_unit(NewUnit { id: UnitId::new(), name: "Ordnungsamt".into(), kennung: k3.clone() })
        .await
        .expect("the same name in another tenant is allowed");
    assert_eq!(db.tenant(&a).list_units().await.expect("list_units"), vec![u2.clone(), u1.clone()], "sorted by name");
    assert_eq!(db.tenant(&b).list_units().await.expect("list_units"), vec![u3.clone()]);

    assert_eq!(db.installation().route_kennung(&k1).await.expect("route_kennung"), Some(u1.clone()));
    assert_eq!(
        db.installation().route_kennung(&k3).await.expect("route_kennung"),
        Some(u3.clone()),
        "routing spans tenants"
    );
    assert_eq!(db.installation().route_kennung(&kennung()).await.expect("route_kennung unknown"), None);

    let renamed = db.tenant(&a).update_unit(u1.id, "Standesamt", &k1).await.expect("update_unit keeping the kennung");
    assert_eq!(renamed, UnitRecord { name: "Standesamt".into(), ..u1.clone() });
    for taken in [&k2, &k3] {
        match db.tenant(&a).update_unit(u1.id, "Standesamt", taken).await {
            Err(StorageError::Duplicate("kennung")) => {}
            other => panic!("update_unit to a taken kennung must be Duplicate(\"kennung\"), got {other:?}"),
        }
    }
    let k4 = kennung();
    let moved = db.tenant(&a).update_unit(u1.id, "Standesamt", &k4).await.expect("update_unit to a new kennung");
    assert_eq!(moved.kennung, k4);
    assert_eq!(
        db.installation().route_kennung(&k1).await.expect("route_kennung"),
        None,
        "the old kennung routes nowhere"
    );
    assert_eq!(db.installation().route_kennung(&k4).await.expect("route_kennung"), Some(moved.clone()));
    assert_eq!(db.tenant(&a).list_units().await.expect("list_units"), vec![u2.clone(), moved.clone()]);
    assert_not_found(db.tenant(&a).update_unit(UnitId::new(), "X", &kennung()).await, "update_unit of an unknown unit");
    assert_not_found(db.tenant(&b).update_unit(u1.id, "X", &kennung()).await, "update_unit of another tenant's unit");
    assert_eq!(
        db.tenant(&a).list_units().await.expect("list_units"),
        vec![u2, moved],
        "refused updates change nothing"
    );
}

pub async fn vorgang_units(db: &Db) {
    let t = fresh_tenant(db).await;
    let other = fresh_tenant(db).await;
    let ua = new_unit(db, &t, "Ordnungsamt").await;
    let ub = new_unit(db, &t, "Bauamt").await;
    let foreign = new_unit(db, &other, "Fremdamt").await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let by = actor(&u);

    let v = NewVorgang { unit: Some(ua.id), ..new_vorgang(at(0), "Gewerbeanmeldung") };
    let head = intake(db, &t, v.clone()).await;
    assert_eq!(
        db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang").unit,
        Some(ua.id),
        "intake stores the unit"
    );
    for bad_unit in [foreign.id, UnitId::new()] {
        let d = record(db, &t, at(1)).await;
        let bad = NewVorgang { unit: Some(bad_unit), ..new_vorgang(at(1), "Gewerbeanmeldung") };
        match db.tenant(&t).complete_intake(d.id, bad.clone()).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("a unit not of the tenant must be InvalidReference, got {other:?}"),
        }
        assert_not_found(db.tenant(&t).get_vorgang(bad.id).await, "nothing is created for a foreign unit");
        assert_eq!(db.tenant(&t).get_delivery(d.id).await.expect("get_delivery").status, DeliveryStatus::Received);
    }
    let plain = intake(db, &t, new_vorgang(at(2), "Hundesteuer")).await;
    assert_eq!(db.tenant(&t).get_vorgang(plain.id).await.expect("get_vorgang").unit, None);

    let h = db
        .tenant(&t)
        .apply_change(head.id, head.version, VorgangChange::Unit { to: Some(ub.id) }, &by)
        .await
        .expect("apply_change unit");
    assert_eq!((h.status, h.version), (head.status, head.version + 1), "distributing keeps the status");
    let rec = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!((rec.head.clone(), rec.unit), (h.clone(), Some(ub.id)));
    for bad_unit in [foreign.id, UnitId::new()] {
        match db.tenant(&t).apply_change(head.id, h.version, VorgangChange::Unit { to: Some(bad_unit) }, &by).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("distributing to a unit not of the tenant must be InvalidReference, got {other:?}"),
        }
    }
    match db.tenant(&t).apply_change(head.id, head.version, VorgangChange::Unit { to: Some(ua.id) }, &by).await {
        Err(StorageError::Conflict { current_version }) => assert_eq!(current_version, h.version),
        other => panic!("a stale unit change must conflict, got {other:?}"),
    }
    assert_eq!(db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang"), rec, "refused changes change nothing");
    let h = db
        .tenant(&t)
        .apply_change(head.id, h.version, VorgangChange::Unit { to: None }, &by)
        .await
        .expect("apply_change unit none");
    assert_eq!(db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang").unit, None);
    db.tenant(&t)
        .apply_change(plain.id, plain.version, VorgangChange::Unit { to: Some(ua.id) }, &by)
        .await
        .expect("apply_change unit");
    // Events keep the names of their time.
    db.tenant(&t).update_unit(ua.id, "Ordnungsamt (neu)", &ua.kennung).await.expect("update_unit");

    let events: Vec<VorgangEvent> =
        db.tenant(&t).history(head.id).await.expect("history").into_iter().skip(1).map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![
            VorgangEvent::EinheitGeaendert { from: Some("Ordnungsamt".into()), to: Some("Bauamt".into()) },
            VorgangEvent::EinheitGeaendert { from: Some("Bauamt".into()), to: None },
        ],
        "distribution is recorded with unit names"
    );
    assert_eq!(h.version, 3);
    let last = db.tenant(&t).history(plain.id).await.expect("history");
    assert_eq!(
        last.last().map(|e| (&e.event, &e.actor)),
        Some((&VorgangEvent::EinheitGeaendert { from: None, to: Some("Ordnungsamt".into()) }, &by))
    );
    let only_a = Visibility::Restricted { units: vec![ua.id], user: None, all_new: false };
    let counts = db.tenant(&t).status_counts(&only_a, &View::Alle).await.expect("status_counts");
    assert_eq!(counts.total(), 1, "counts follow the unit changes");
    let only_b = Visibility::Restricted { units: vec![ub.id], user: None, all_new: false };
    assert_eq!(db.tenant(&t).status_counts(&only_b, &View::Alle).await.expect("status_counts").total(), 0);
}
