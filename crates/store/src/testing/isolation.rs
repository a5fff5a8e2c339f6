//! Conformance checks of tenant isolation across every operation.

use super::*;

pub async fn tenant_isolation(db: &Db) {
    let a = fresh_tenant(db).await;
    let b = fresh_tenant(db).await;

    // Tenant a: users, a Vorgang with documents, a quarantined and a received delivery, a session.
    let ua = new_user(db, &a, "anna", "Anna Amsel").await;
    let va = new_vorgang(at(0), "Gewerbeanmeldung");
    let ha = intake(db, &a, va.clone()).await;
    let pile = intake(db, &a, new_vorgang(at(1), "Hundesteuer")).await;
    let qa = record(db, &a, at(2)).await;
    db.tenant(&a).quarantine_delivery(qa.id, "control", "fehlt").await.expect("quarantine_delivery");
    let ra = record(db, &a, at(3)).await;
    let a_before = db.tenant(&a).get_vorgang(ha.id).await.expect("get_vorgang a");
    let a_events = db.tenant(&a).events_after(0, 1000).await.expect("events_after a");
    // Tenant b: a user with the same username (usernames are unique per tenant).
    let ub = db
        .tenant(&b)
        .create_user(NewUser {
            id: UserId::new(),
            username: ua.username.clone(),
            display_name: "Bernd Bär".into(),
            email: None,
            roles: vec![Role::Sachbearbeitung],
            units: vec![],
            password_hash: "$argon2id$v=19$b".into(),
            oidc_subject: None,
        })
        .await
        .expect("the same username in another tenant is allowed");

    // Reads from b see nothing of a.
    for id in [qa.id, ra.id] {
        assert_not_found(db.tenant(&b).get_delivery(id).await, "get_delivery of a's delivery from b");
    }
    let (q, total) =
        db.tenant(&b).list_quarantine(DeliveryStatus::Quarantined, 100, 0).await.expect("list_quarantine b");
    assert!(q.is_empty() && total == 0, "b's quarantine does not show a's deliveries");
    assert_eq!(db.tenant(&b).find_by_transaction(&va.transaction_id).await.expect("find_by_transaction b"), None);
    for view in [View::Alle, View::NichtZugewiesen, View::Meine(ua.id)] {
        let page = all_of(db, &b, view.clone()).await;
        assert!(page.items.is_empty(), "worklist {view:?} of b does not list a's Vorgänge");
        assert_eq!((page.total, page.counts.total()), (0, 0), "worklist {view:?} of b does not count a's Vorgänge");
        assert_eq!(
            db.tenant(&b).status_counts(&Visibility::Tenant, &view).await.expect("status_counts b").total(),
            0,
            "status_counts {view:?} of b"
        );
    }
    assert_not_found(db.tenant(&b).get_vorgang(ha.id).await, "get_vorgang of a's Vorgang from b");
    assert_not_found(db.tenant(&b).history(ha.id).await, "history of a's Vorgang from b");
    for doc in &va.documents {
        assert_not_found(db.tenant(&b).get_document(doc.id).await, "get_document of a's document from b");
    }
    assert!(db.tenant(&b).events_after(0, 1000).await.expect("events_after b").is_empty(), "b's event log is empty");
    assert_not_found(db.tenant(&b).get_user(ua.id).await, "get_user of a's user from b");
    assert_eq!(
        db.tenant(&b).find_user_by_username(&ua.username).await.expect("find_user_by_username b"),
        Some(ub.clone()),
        "the username finds b's own user in b"
    );
    assert_eq!(
        db.tenant(&a).find_user_by_username(&ua.username).await.expect("find_user_by_username a"),
        Some(ua.clone())
    );
    assert_eq!(db.tenant(&b).list_users().await.expect("list_users b"), vec![ub.clone()], "b lists only its users");
    assert_eq!(db.tenant(&b).count_users().await.expect("count_users b"), 1, "b counts only its users");
    assert_eq!(db.tenant(&a).count_users().await.expect("count_users a"), 1);

    // Commands from b on a's ids fail or find nothing, and leave a unchanged.
    let changes = [
        VorgangChange::Status {
            command: StatusCommand::Annehmen,
            from: VorgangStatus::Neu,
            to: VorgangStatus::Angenommen,
            reason: None,
        },
        VorgangChange::Assign { to: Some(ub.id) },
        VorgangChange::Assign { to: None },
        VorgangChange::Aktenzeichen(Aktenzeichen::parse("B-1").expect("valid")),
    ];
    for change in changes {
        let got = db.tenant(&b).apply_change(ha.id, 1, change.clone(), &actor(&ub)).await;
        assert!(got.is_err(), "apply_change from b on a's Vorgang must fail ({change:?}), got {got:?}");
    }
    assert_eq!(
        db.tenant(&b).claim_next(&Visibility::Tenant, ub.id, &actor(&ub)).await.expect("claim_next b"),
        None,
        "b's pile is empty"
    );
    assert!(
        db.tenant(&b).quarantine_delivery(ra.id, "x", "y").await.is_err(),
        "quarantine_delivery from b on a's delivery"
    );
    let stolen = new_vorgang(at(4), "Gewerbeanmeldung");
    let got = db.tenant(&b).complete_intake(ra.id, stolen.clone()).await;
    assert!(got.is_err(), "complete_intake in b of a's delivery must fail, got {got:?}");
    assert_eq!(db.tenant(&b).find_by_transaction(&stolen.transaction_id).await.expect("find_by_transaction"), None);
    assert_not_found(db.tenant(&b).get_vorgang(stolen.id).await, "a failed intake creates nothing in b");
    assert_not_found(db.tenant(&b).set_password(ua.id, "$gestohlen").await, "set_password from b on a's user");
    let sb = NewSession {
        token_hash: format!("{:0>64}", Uuid::new_v4().simple()),
        user: ua.id,
        csrf_token: short(),
        created_at: now_s(),
        idle_timeout_secs: 1800,
        absolute_expiry: now_s() + Duration::hours(8),
    };
    let created = db.tenant(&b).create_session(sb.clone()).await;
    if created.is_ok() {
        assert_eq!(
            db.installation().get_session(&sb.token_hash, now_s()).await.expect("get_session"),
            None,
            "a session of tenant b for a's user must not be usable"
        );
    }
    // Cross-tenant references inside a: b's user is no valid assignee or claimer in a.
    match db.tenant(&a).apply_change(ha.id, 1, VorgangChange::Assign { to: Some(ub.id) }, &actor(&ua)).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("assigning b's user in a must be InvalidReference, got {other:?}"),
    }
    let got = db.tenant(&a).claim_next(&Visibility::Tenant, ub.id, &actor(&ub)).await;
    assert!(got.is_err(), "claim_next in a for b's user must fail, got {got:?}");

    // a is unchanged.
    let a_after = db.tenant(&a).get_vorgang(ha.id).await.expect("get_vorgang a");
    assert_eq!(a_after, a_before, "operations from b leave a's Vorgang unchanged");
    assert_eq!(db.tenant(&a).get_vorgang(pile.id).await.expect("get_vorgang a").head, pile, "a's pile is untouched");
    assert_eq!(db.tenant(&a).events_after(0, 1000).await.expect("events_after a"), a_events, "a's log is unchanged");
    assert_eq!(db.tenant(&a).get_user(ua.id).await.expect("get_user a"), ua, "a's user is unchanged");
    assert_eq!(db.tenant(&a).get_delivery(ra.id).await.expect("get_delivery a").status, DeliveryStatus::Received);
    assert_eq!(db.tenant(&a).get_delivery(ra.id).await.expect("get_delivery a").attempts, 0);
    let qa_now = db.tenant(&a).get_delivery(qa.id).await.expect("get_delivery a");
    assert_eq!((qa_now.status, qa_now.error_field.as_deref()), (DeliveryStatus::Quarantined, Some("control")));
    let unfinished = db.installation().unfinished_deliveries(100_000).await.expect("unfinished_deliveries");
    let ra_listed = unfinished.iter().find(|d| d.id == ra.id).expect("a's received delivery is unfinished");
    assert_eq!(ra_listed.tenant, a, "unfinished deliveries carry their tenant");

    // Transaction ids and Vorgangsnummern are unique per tenant: b may reuse a's.
    let mut vb = new_vorgang(at(5), "Hundesteuer");
    vb.transaction_id = va.transaction_id.clone();
    vb.nummer = va.nummer.clone();
    let hb = intake(db, &b, vb.clone()).await;
    assert_eq!(hb.id, vb.id);
    assert_eq!(db.tenant(&a).find_by_transaction(&va.transaction_id).await.expect("find a"), Some(ha.clone()));
    assert_eq!(db.tenant(&b).find_by_transaction(&va.transaction_id).await.expect("find b"), Some(hb.clone()));
    assert_not_found(db.tenant(&a).get_vorgang(hb.id).await, "get_vorgang of b's Vorgang from a");
    assert_eq!(
        db.tenant(&b)
            .events_after(0, 1000)
            .await
            .expect("events_after b")
            .iter()
            .map(|e| e.vorgang_id)
            .collect::<Vec<_>>(),
        vec![Some(hb.id)],
        "b's log holds only b's events"
    );
    assert_eq!(
        db.tenant(&a).events_after(0, 1000).await.expect("events_after a"),
        a_events,
        "a's log holds only a's events"
    );
    let ids_a: Vec<VorgangId> = all_of(db, &a, View::Alle).await.items.iter().map(|i| i.id).collect();
    assert_eq!(ids_a, vec![ha.id, pile.id], "a's worklist holds only a's Vorgänge");
    // b claims its own Vorgang, never a's.
    let claimed = db
        .tenant(&b)
        .claim_next(&Visibility::Tenant, ub.id, &actor(&ub))
        .await
        .expect("claim_next b")
        .expect("b's Vorgang");
    assert_eq!(claimed.id, hb.id);
    assert_eq!(db.tenant(&b).claim_next(&Visibility::Tenant, ub.id, &actor(&ub)).await.expect("claim_next b"), None);
    assert_eq!(db.tenant(&a).get_vorgang(pile.id).await.expect("get_vorgang a").assignee, None);

    // Units: each tenant sees and changes only its own.
    let unit_a = new_unit(db, &a, "Ordnungsamt").await;
    let unit_b = new_unit(db, &b, "Bauamt").await;
    assert_eq!(db.tenant(&b).list_units().await.expect("list_units b"), vec![unit_b.clone()], "b lists only its units");
    assert_not_found(
        db.tenant(&b).update_unit(unit_a.id, "Gestohlen", &kennung()).await,
        "update_unit from b on a's unit",
    );
    assert_eq!(db.tenant(&a).list_units().await.expect("list_units a"), vec![unit_a.clone()], "a's unit is unchanged");
    let d = record(db, &b, at(6)).await;
    let foreign = NewVorgang { unit: Some(unit_a.id), ..new_vorgang(at(6), "Gewerbeanmeldung") };
    match db.tenant(&b).complete_intake(d.id, foreign).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("intake in b into a's unit must be InvalidReference, got {other:?}"),
    }
    let cur = db.tenant(&a).get_vorgang(ha.id).await.expect("get_vorgang a").head;
    match db.tenant(&a).apply_change(ha.id, cur.version, VorgangChange::Unit { to: Some(unit_b.id) }, &actor(&ua)).await
    {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("distributing a's Vorgang to b's unit must be InvalidReference, got {other:?}"),
    }
    let got =
        db.tenant(&b).apply_change(ha.id, cur.version, VorgangChange::Unit { to: Some(unit_b.id) }, &actor(&ub)).await;
    assert!(got.is_err(), "distributing a's Vorgang from b must fail, got {got:?}");
    assert_eq!(db.tenant(&a).get_vorgang(ha.id).await.expect("get_vorgang a").unit, None);
    let into_a = Visibility::Restricted { units: vec![unit_a.id], user: Some(ua.id), all_new: false };
    assert_eq!(db.tenant(&b).status_counts(&into_a, &View::Alle).await.expect("status_counts b").total(), 0);

    // Users: no unit, link, update or login bookkeeping across tenants.
    let stray = NewUser {
        id: UserId::new(),
        username: format!("stray-{}", short()),
        display_name: "Streuner".into(),
        email: None,
        roles: vec![Role::Sachbearbeitung],
        units: vec![unit_a.id],
        password_hash: String::new(),
        oidc_subject: None,
    };
    match db.tenant(&b).create_user(stray).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("a user of b in a's unit must be InvalidReference, got {other:?}"),
    }
    let update = UserUpdate {
        display_name: "Gestohlen".into(),
        email: None,
        roles: vec![Role::Admin],
        units: vec![],
        disabled: true,
    };
    assert_not_found(db.tenant(&b).update_user(ua.id, update.clone()).await, "update_user from b on a's user");
    match db.tenant(&b).update_user(ub.id, UserUpdate { units: vec![unit_a.id], disabled: false, ..update }).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("putting b's user into a's unit must be InvalidReference, got {other:?}"),
    }
    assert_not_found(db.tenant(&b).link_oidc_subject(ua.id, "https://idp.example|b").await, "link from b on a's user");
    let subject = format!("https://idp.example|{}", short());
    db.tenant(&a).link_oidc_subject(ua.id, &subject).await.expect("link_oidc_subject a");
    assert_eq!(
        db.tenant(&b).find_user_by_oidc_subject(&subject).await.expect("find b"),
        None,
        "b finds no a's identity"
    );
    assert_not_found(db.tenant(&b).record_login_failure(ua.id, now_s()).await, "record_login_failure from b");
    assert_not_found(db.tenant(&b).record_login_success(ua.id).await, "record_login_success from b");
    let ua_now = db.tenant(&a).get_user(ua.id).await.expect("get_user a");
    assert_eq!(ua_now, UserRecord { oidc_subject: Some(subject), ..ua.clone() }, "a's user is unchanged otherwise");

    // Deliveries: b can neither label nor take a's.
    let da = record(db, &a, at(7)).await;
    assert_not_found(db.tenant(&b).unroutable_delivery(da.id, "x").await, "unroutable_delivery from b on a's delivery");
    assert_not_found(
        db.tenant(&b).move_delivery(da.id, &b, "b/eingang/x").await,
        "move_delivery from b of a's delivery",
    );
    let (q, total) =
        db.tenant(&b).list_quarantine(DeliveryStatus::Unroutable, 100, 0).await.expect("list_quarantine b");
    assert!(q.is_empty() && total == 0);
    assert_eq!(
        db.tenant(&a).get_delivery(da.id).await.expect("get_delivery a"),
        DeliveryRecord {
            id: da.id,
            tenant: a.clone(),
            received_at: da.received_at,
            channel: da.channel.clone(),
            content_type: da.content_type.clone(),
            blob_key: da.blob_key.clone(),
            size: da.size,
            status: DeliveryStatus::Received,
            error_field: None,
            error_message: None,
            vorgang_id: None,
            attempts: 0,
        }
    );

    // API tokens and the audit log.
    let token = new_token("Formularserver", &[TokenScope::Eingang], now_s());
    db.tenant(&a).create_api_token(token.clone()).await.expect("create_api_token a");
    assert!(db.tenant(&b).list_api_tokens().await.expect("list_api_tokens b").is_empty(), "b lists no a's tokens");
    assert_not_found(db.tenant(&b).revoke_api_token(token.id, now_s()).await, "revoke_api_token from b");
    let found = db
        .installation()
        .find_api_token(&token.token_hash, now_s())
        .await
        .expect("find_api_token")
        .expect("still live");
    assert_eq!(found.tenant, a, "a token names its tenant");
    db.tenant(&a).append_audit(audit_entry(&ua, 0, "anmeldung")).await.expect("append_audit a");
    assert!(all_audit(db, &b).await.is_empty(), "b's audit log does not show a's entries");
    assert_eq!(all_audit(db, &a).await.len(), 1);

    // Tenant settings are per tenant.
    let a_tenant = db.tenant(&a).get_tenant().await.expect("get_tenant a");
    let settings = TenantSettings { name: "Umbenannt".into(), host: None, ip_allowlist: vec!["10.0.0.0/8".into()] };
    db.tenant(&b).update_tenant(settings).await.expect("update_tenant b");
    assert_eq!(db.tenant(&a).get_tenant().await.expect("get_tenant a"), a_tenant, "updating b leaves a alone");
}
