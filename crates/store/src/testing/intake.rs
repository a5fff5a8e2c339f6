//! Conformance checks of intake and the quarantine.

use super::*;

pub async fn intake_creates_vorgang(db: &Db) {
    let t = fresh_tenant(db).await;
    let d = new_delivery(at(0));
    db.tenant(&t).record_delivery(d.clone()).await.expect("record_delivery");
    let recorded = db.tenant(&t).get_delivery(d.id).await.expect("get_delivery after record_delivery");
    assert_eq!(
        recorded,
        DeliveryRecord {
            id: d.id,
            tenant: t.clone(),
            received_at: d.received_at,
            channel: d.channel.clone(),
            content_type: d.content_type.clone(),
            blob_key: d.blob_key.clone(),
            size: d.size,
            status: DeliveryStatus::Received,
            error_field: None,
            error_message: None,
            vorgang_id: None,
            attempts: 0,
        },
        "a recorded delivery round-trips and is RECEIVED"
    );
    assert_not_found(db.tenant(&t).get_delivery(DeliveryId::new()).await, "get_delivery of an unknown id");

    let v = new_vorgang(at(0), "Gewerbeanmeldung");
    let outcome = db.tenant(&t).complete_intake(d.id, v.clone()).await.expect("complete_intake");
    let IntakeOutcome::Created(head) = outcome else { panic!("first intake must be Created, got {outcome:?}") };
    assert_eq!(head.id, v.id, "the Vorgang gets the id the caller chose");
    assert_eq!(head.nummer, v.nummer);
    assert_eq!(head.status, VorgangStatus::Neu, "a new Vorgang is NEU");
    assert_eq!(head.version, 1, "a new Vorgang is at version 1");

    let delivery = db.tenant(&t).get_delivery(d.id).await.expect("get_delivery after intake");
    assert_eq!(delivery.status, DeliveryStatus::Processed, "the delivery is PROCESSED");
    assert_eq!(delivery.vorgang_id, Some(v.id), "the delivery links its Vorgang");
    assert_eq!(delivery.attempts, 1);

    let rec = db.tenant(&t).get_vorgang(v.id).await.expect("get_vorgang after intake");
    assert_eq!(rec.head, head, "get_vorgang returns the head complete_intake returned");
    assert_eq!(by_id(rec.documents.clone()), by_id(v.documents.clone()), "documents are stored with the Vorgang");

    let history = db.tenant(&t).history(v.id).await.expect("history");
    assert_eq!(history.len(), 1, "intake records exactly one event: {history:?}");
    assert_eq!(history[0].vorgang_id, Some(v.id));
    assert_eq!(history[0].actor.user, None, "intake is done by the system");
    assert_eq!(
        history[0].event,
        VorgangEvent::Eingegangen {
            vorgang_nummer: v.nummer.to_string(),
            form_name: v.form_name.clone(),
            transaction_id: v.transaction_id.to_string(),
        }
    );
    let events = db.tenant(&t).events_after(0, 100).await.expect("events_after");
    assert_eq!(events, history, "the tenant's event log holds the EINGEGANGEN event");
    assert_not_found(db.tenant(&t).history(VorgangId::new()).await, "history of an unknown Vorgang");

    let page = all_of(db, &t, View::Alle).await;
    assert_eq!(page.total, 1);
    assert_eq!(page.counts.get(VorgangStatus::Neu), 1);
}

pub async fn intake_is_idempotent_on_transaction_id(db: &Db) {
    let t = fresh_tenant(db).await;
    let first = new_vorgang(at(0), "Gewerbeanmeldung");
    let head = intake(db, &t, first.clone()).await;

    let again = record(db, &t, at(5)).await;
    let mut repeated = new_vorgang(at(5), "Gewerbeanmeldung");
    repeated.transaction_id = first.transaction_id.clone();
    let outcome = db.tenant(&t).complete_intake(again.id, repeated.clone()).await.expect("complete_intake, repeated");
    assert_eq!(
        outcome,
        IntakeOutcome::Duplicate(head.clone()),
        "a repeated transaction id yields the existing Vorgang"
    );
    let delivery = db.tenant(&t).get_delivery(again.id).await.expect("get_delivery of the repeated delivery");
    assert_eq!(delivery.status, DeliveryStatus::Duplicate, "the repeated delivery is DUPLICATE");
    assert_eq!(delivery.vorgang_id, Some(head.id), "the repeated delivery links the existing Vorgang");
    assert_not_found(db.tenant(&t).get_vorgang(repeated.id).await, "no second Vorgang for a repeated transaction id");
    for doc in &repeated.documents {
        assert_not_found(db.tenant(&t).get_document(doc.id).await, "documents of a duplicate are not stored");
    }
    assert_eq!(all_of(db, &t, View::Alle).await.total, 1, "still one Vorgang");
    assert_eq!(db.tenant(&t).history(head.id).await.expect("history").len(), 1, "no event for a duplicate");
    assert_eq!(db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang").head, head, "the Vorgang is unchanged");

    // A third time, after the Vorgang moved on: the current head comes back.
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let moved = move_status(db, &t, head.id, StatusCommand::Annehmen, None, &actor(&u)).await;
    let third = record(db, &t, at(9)).await;
    let outcome = db.tenant(&t).complete_intake(third.id, repeated).await.expect("complete_intake, third");
    assert_eq!(outcome, IntakeOutcome::Duplicate(moved), "a duplicate returns the current head");

    // The same delivery processed a second time (a recovery racing the first processing)
    // leaves the delivery that created the Vorgang PROCESSED, not relabelled DUPLICATE.
    let d = record(db, &t, at(11)).await;
    let v = new_vorgang(at(11), "Hundesteuer");
    let created = db.tenant(&t).complete_intake(d.id, v.clone()).await.expect("complete_intake, first processing");
    let again = db.tenant(&t).complete_intake(d.id, v).await.expect("complete_intake, second processing");
    assert_eq!(again, IntakeOutcome::Duplicate(created.head().clone()));
    let delivery = db.tenant(&t).get_delivery(d.id).await.expect("get_delivery");
    assert_eq!(delivery.status, DeliveryStatus::Processed, "the creating delivery stays PROCESSED");
    assert_eq!(delivery.attempts, 1, "the second processing changed nothing");
}

pub async fn taken_nummer_is_reported(db: &Db) {
    let t = fresh_tenant(db).await;
    let first = new_vorgang(at(0), "Gewerbeanmeldung");
    intake(db, &t, first.clone()).await;

    let d = record(db, &t, at(1)).await;
    let mut clash = new_vorgang(at(1), "Hundesteuer");
    clash.nummer = first.nummer.clone();
    match db.tenant(&t).complete_intake(d.id, clash.clone()).await {
        Err(StorageError::NummerTaken) => {}
        other => panic!("a taken Vorgangsnummer must be StorageError::NummerTaken, got {other:?}"),
    }
    assert_eq!(db.tenant(&t).find_by_transaction(&clash.transaction_id).await.expect("find_by_transaction"), None);
    assert_not_found(db.tenant(&t).get_vorgang(clash.id).await, "nothing is created on NummerTaken");
    for doc in &clash.documents {
        assert_not_found(db.tenant(&t).get_document(doc.id).await, "no documents are stored on NummerTaken");
    }
    let delivery = db.tenant(&t).get_delivery(d.id).await.expect("get_delivery");
    assert_eq!(delivery.status, DeliveryStatus::Received, "the delivery stays RECEIVED for the retry");
    assert_eq!(db.tenant(&t).history(first.id).await.expect("history").len(), 1);
    assert_eq!(db.tenant(&t).events_after(0, 100).await.expect("events_after").len(), 1, "no event on NummerTaken");

    // The caller draws another number and retries.
    clash.nummer = loop {
        let n = Vorgangsnummer::generate(at(1).date(), &mut rand::thread_rng());
        if n != first.nummer {
            break n;
        }
    };
    let outcome = db.tenant(&t).complete_intake(d.id, clash.clone()).await.expect("complete_intake retry");
    assert!(matches!(outcome, IntakeOutcome::Created(_)), "the retry creates the Vorgang: {outcome:?}");
    assert_eq!(all_of(db, &t, View::Alle).await.total, 2);
}

pub async fn quarantine_is_listed_until_reprocessed(db: &Db) {
    let t = fresh_tenant(db).await;
    let (empty, total) =
        db.tenant(&t).list_quarantine(DeliveryStatus::Quarantined, 10, 0).await.expect("list_quarantine, empty");
    assert!(empty.is_empty() && total == 0, "a fresh tenant has an empty quarantine");

    let mut ds = Vec::new();
    for i in 0..3 {
        let d = record(db, &t, at(i)).await;
        db.tenant(&t)
            .quarantine_delivery(d.id, &format!("formData[{i}].name"), "fehlt")
            .await
            .expect("quarantine_delivery");
        ds.push(d);
    }
    let ok = record(db, &t, at(10)).await; // stays RECEIVED: not in the quarantine
    let (items, total) =
        db.tenant(&t).list_quarantine(DeliveryStatus::Quarantined, 10, 0).await.expect("list_quarantine");
    assert_eq!(total, 3);
    let ids: Vec<DeliveryId> = items.iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        vec![ds[2].id, ds[1].id, ds[0].id],
        "the quarantine lists only quarantined deliveries, newest first"
    );
    let q0 = items.iter().find(|d| d.id == ds[0].id).expect("first quarantined delivery listed");
    assert_eq!(q0.status, DeliveryStatus::Quarantined);
    assert_eq!(q0.error_field.as_deref(), Some("formData[0].name"));
    assert_eq!(q0.error_message.as_deref(), Some("fehlt"));
    assert_eq!(q0.vorgang_id, None);
    assert_eq!(q0.attempts, 1);
    assert_eq!(
        (q0.blob_key.as_str(), q0.size, q0.received_at),
        (ds[0].blob_key.as_str(), ds[0].size, ds[0].received_at)
    );
    assert_eq!(
        db.tenant(&t).get_delivery(ds[0].id).await.expect("get_delivery"),
        *q0,
        "get_delivery agrees with the list"
    );
    assert!(!ids.contains(&ok.id));

    let (page1, total1) =
        db.tenant(&t).list_quarantine(DeliveryStatus::Quarantined, 2, 0).await.expect("list_quarantine page 1");
    let (page2, total2) =
        db.tenant(&t).list_quarantine(DeliveryStatus::Quarantined, 2, 2).await.expect("list_quarantine page 2");
    assert_eq!((total1, total2), (3, 3), "the total ignores limit and offset");
    let paged: Vec<DeliveryId> = page1.iter().chain(page2.iter()).map(|d| d.id).collect();
    assert_eq!(paged, ids, "limit/offset page through the same order");
    assert!(db
        .tenant(&t)
        .list_quarantine(DeliveryStatus::Quarantined, 2, 4)
        .await
        .expect("list_quarantine past the end")
        .0
        .is_empty());

    // Quarantining again (a second failed attempt) updates the error.
    db.tenant(&t).quarantine_delivery(ds[1].id, "control", "muss ein Objekt sein").await.expect("quarantine again");
    let again = db.tenant(&t).get_delivery(ds[1].id).await.expect("get_delivery");
    assert_eq!(again.error_field.as_deref(), Some("control"));
    assert_eq!(again.error_message.as_deref(), Some("muss ein Objekt sein"));
    assert_eq!(again.attempts, 2);

    // Re-processed successfully: it leaves the quarantine and its error is cleared.
    let v = new_vorgang(at(20), "Gewerbeanmeldung");
    let outcome =
        db.tenant(&t).complete_intake(ds[1].id, v.clone()).await.expect("complete_intake of a quarantined delivery");
    assert!(matches!(outcome, IntakeOutcome::Created(_)));
    let fixed = db.tenant(&t).get_delivery(ds[1].id).await.expect("get_delivery");
    assert_eq!(fixed.status, DeliveryStatus::Processed);
    assert_eq!((fixed.error_field, fixed.error_message), (None, None), "re-processing clears the error");
    assert_eq!(fixed.vorgang_id, Some(v.id));
    assert_eq!(fixed.attempts, 3);
    let (items, total) =
        db.tenant(&t).list_quarantine(DeliveryStatus::Quarantined, 10, 0).await.expect("list_quarantine");
    assert_eq!(total, 2);
    assert_eq!(items.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ds[2].id, ds[0].id]);

    match db.tenant(&t).quarantine_delivery(DeliveryId::new(), "x", "y").await {
        Err(StorageError::NotFound) => {}
        other => {
            panic!("quarantine_delivery of an unknown delivery must be NotFound, got {other:?}")
        }
    }
    match db.tenant(&t).complete_intake(DeliveryId::new(), new_vorgang(at(30), "Hundesteuer")).await {
        Err(StorageError::NotFound) => {}
        other => panic!("complete_intake of an unknown delivery must be NotFound, got {other:?}"),
    }
    assert_eq!(all_of(db, &t, View::Alle).await.total, 1, "a failed intake creates nothing");
}

pub async fn unfinished_deliveries_lists_received_only(db: &Db) {
    let t = fresh_tenant(db).await;
    let late = record(db, &t, at(50)).await; // RECEIVED
    let early = record(db, &t, at(-50)).await; // RECEIVED, older
    let quarantined = record(db, &t, at(-40)).await;
    db.tenant(&t).quarantine_delivery(quarantined.id, "control", "fehlt").await.expect("quarantine_delivery");
    let v = new_vorgang(at(-30), "Gewerbeanmeldung");
    let processed = record(db, &t, at(-30)).await;
    db.tenant(&t).complete_intake(processed.id, v.clone()).await.expect("complete_intake");
    let dup = record(db, &t, at(-20)).await;
    let mut repeated = new_vorgang(at(-20), "Gewerbeanmeldung");
    repeated.transaction_id = v.transaction_id.clone();
    db.tenant(&t).complete_intake(dup.id, repeated).await.expect("complete_intake duplicate");

    let all = db.installation().unfinished_deliveries(100_000).await.expect("unfinished_deliveries");
    for pair in all.windows(2) {
        assert!(pair[0].received_at <= pair[1].received_at, "unfinished deliveries come oldest first");
    }
    assert!(all.iter().all(|d| d.status == DeliveryStatus::Received), "only RECEIVED deliveries are unfinished");
    let mine: Vec<DeliveryId> = all.iter().filter(|d| d.tenant == t).map(|d| d.id).collect();
    assert_eq!(mine, vec![early.id, late.id], "exactly this tenant's RECEIVED deliveries, oldest first");
    let listed = all.iter().find(|d| d.id == early.id).expect("listed");
    assert_eq!(*listed, db.tenant(&t).get_delivery(early.id).await.expect("get_delivery"), "the record is complete");

    let one = db.installation().unfinished_deliveries(1).await.expect("unfinished_deliveries(1)");
    assert_eq!(one.len(), 1, "the limit is honoured");
    assert_eq!(one[0].received_at, all[0].received_at, "the limit keeps the oldest");
}

pub async fn find_by_transaction_finds_the_head(db: &Db) {
    let t = fresh_tenant(db).await;
    let v = new_vorgang(at(0), "Gewerbeanmeldung");
    assert_eq!(db.tenant(&t).find_by_transaction(&v.transaction_id).await.expect("find_by_transaction"), None);
    let head = intake(db, &t, v.clone()).await;
    let other = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    assert_eq!(
        db.tenant(&t).find_by_transaction(&v.transaction_id).await.expect("find_by_transaction"),
        Some(head.clone())
    );
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let moved = assign(db, &t, &head, Some(u.id), &actor(&u)).await;
    assert_eq!(
        db.tenant(&t).find_by_transaction(&v.transaction_id).await.expect("find_by_transaction"),
        Some(moved),
        "find_by_transaction returns the current head"
    );
    assert_eq!(db.tenant(&t).find_by_transaction(&tx_id()).await.expect("find_by_transaction unknown"), None);
    assert_ne!(other.id, head.id);
}

pub async fn unroutable_and_moved_deliveries(db: &Db) {
    let platform = fresh_tenant(db).await;
    let target = fresh_tenant(db).await;
    let (empty, total) = db.tenant(&platform).list_quarantine(DeliveryStatus::Unroutable, 10, 0).await.expect("list");
    assert!(empty.is_empty() && total == 0);
    let d1 = record(db, &platform, at(0)).await;
    let d2 = record(db, &platform, at(1)).await;
    let d3 = record(db, &platform, at(2)).await;
    let message = "Keine Organisationseinheit mit der Kennung „999“";
    db.tenant(&platform).unroutable_delivery(d1.id, message).await.expect("unroutable_delivery");
    db.tenant(&platform).unroutable_delivery(d2.id, message).await.expect("unroutable_delivery");
    db.tenant(&platform).quarantine_delivery(d3.id, "control", "fehlt").await.expect("quarantine_delivery");
    let got = db.tenant(&platform).get_delivery(d1.id).await.expect("get_delivery");
    assert_eq!(
        (got.status, got.error_field.as_deref(), got.error_message.as_deref(), got.vorgang_id, got.attempts),
        (DeliveryStatus::Unroutable, Some("control.zustaendigeStelle"), Some(message), None, 1),
        "an unroutable delivery names the field and the reason"
    );
    let (items, total) = db.tenant(&platform).list_quarantine(DeliveryStatus::Unroutable, 10, 0).await.expect("list");
    assert_eq!(items.iter().map(|d| d.id).collect::<Vec<_>>(), vec![d2.id, d1.id], "unroutable ones, newest first");
    assert_eq!(total, 2);
    assert_eq!(items[1], got);
    let (items, total) = db.tenant(&platform).list_quarantine(DeliveryStatus::Quarantined, 10, 0).await.expect("list");
    assert_eq!((items.iter().map(|d| d.id).collect::<Vec<_>>(), total), (vec![d3.id], 1), "the lists are separate");
    let (page, total) = db.tenant(&platform).list_quarantine(DeliveryStatus::Unroutable, 1, 1).await.expect("list");
    assert_eq!((page.iter().map(|d| d.id).collect::<Vec<_>>(), total), (vec![d1.id], 2), "limit and offset");
    assert_not_found(db.tenant(&platform).unroutable_delivery(DeliveryId::new(), message).await, "unknown delivery");

    let new_key = format!("{target}/eingang/{}", d1.id);
    db.tenant(&platform).move_delivery(d1.id, &target, &new_key).await.expect("move_delivery");
    assert_not_found(db.tenant(&platform).get_delivery(d1.id).await, "a moved delivery leaves its tenant");
    let moved = db.tenant(&target).get_delivery(d1.id).await.expect("get_delivery in the target");
    assert_eq!(
        moved,
        DeliveryRecord {
            tenant: target.clone(),
            status: DeliveryStatus::Received,
            error_field: None,
            error_message: None,
            blob_key: new_key.clone(),
            ..got.clone()
        },
        "a moved delivery is RECEIVED again in the target, its payload under the target's key"
    );
    let again =
        db.installation().enqueue_job(crate::NewJob::blob_deletion(&platform, &got.blob_key)).await.expect("enqueue");
    assert_eq!(again, None, "the move enqueued the deletion of the old payload key");
    let unfinished = db.installation().unfinished_deliveries(100_000).await.expect("unfinished_deliveries");
    assert_eq!(unfinished.iter().find(|d| d.id == d1.id).map(|d| &d.tenant), Some(&target), "processed in the target");
    let (items, total) = db.tenant(&platform).list_quarantine(DeliveryStatus::Unroutable, 10, 0).await.expect("list");
    assert_eq!((items.iter().map(|d| d.id).collect::<Vec<_>>(), total), (vec![d2.id], 1));

    let v = new_vorgang(at(3), "Gewerbeanmeldung");
    let outcome = db.tenant(&target).complete_intake(d1.id, v.clone()).await.expect("complete_intake in the target");
    assert!(matches!(outcome, IntakeOutcome::Created(_)));
    match db.tenant(&target).move_delivery(d1.id, &platform, &got.blob_key).await {
        Err(StorageError::Duplicate("delivery")) => {}
        other => panic!("moving a delivery that has its Vorgang must be Duplicate(\"delivery\"), got {other:?}"),
    }
    // A delivery that has its Vorgang is never relabelled.
    db.tenant(&target).unroutable_delivery(d1.id, message).await.expect("unroutable_delivery of a processed delivery");
    db.tenant(&target)
        .quarantine_delivery(d1.id, "control", "fehlt")
        .await
        .expect("quarantine of a processed delivery");
    let done = db.tenant(&target).get_delivery(d1.id).await.expect("get_delivery");
    assert_eq!((done.status, done.vorgang_id, done.error_field), (DeliveryStatus::Processed, Some(v.id), None));

    assert_not_found(
        db.tenant(&target).move_delivery(d2.id, &platform, "x").await,
        "move_delivery from a tenant without it",
    );
    assert_not_found(
        db.tenant(&platform).move_delivery(DeliveryId::new(), &target, "x").await,
        "move_delivery of an unknown id",
    );
    assert_eq!(
        db.tenant(&platform).get_delivery(d2.id).await.expect("get_delivery").status,
        DeliveryStatus::Unroutable
    );

    // Routed again where it is (a unit got the kennung meanwhile): processed like any other.
    let d4 = record(db, &target, at(4)).await;
    db.tenant(&target).unroutable_delivery(d4.id, message).await.expect("unroutable_delivery");
    let v4 = new_vorgang(at(4), "Hundesteuer");
    let outcome =
        db.tenant(&target).complete_intake(d4.id, v4.clone()).await.expect("complete_intake of an unroutable one");
    assert!(matches!(outcome, IntakeOutcome::Created(_)));
    let done = db.tenant(&target).get_delivery(d4.id).await.expect("get_delivery");
    assert_eq!(
        (done.status, done.vorgang_id, done.error_field, done.error_message, done.attempts),
        (DeliveryStatus::Processed, Some(v4.id), None, None, 2),
        "an unroutable delivery completed later is PROCESSED, its error cleared"
    );
}

pub async fn failed_deliveries_record_tenant_level_events(db: &Db) {
    let t = fresh_tenant(db).await;
    let q = record(db, &t, at(0)).await;
    let u = record(db, &t, at(1)).await;
    let done = record(db, &t, at(2)).await;
    let v = new_vorgang(at(2), "Gewerbeanmeldung");
    db.tenant(&t).complete_intake(done.id, v.clone()).await.expect("complete_intake");
    let before = db.tenant(&t).events_after(0, 100).await.expect("events_after");
    assert_eq!(before.len(), 1, "only the Vorgang's EINGEGANGEN so far");

    db.tenant(&t).quarantine_delivery(q.id, "control.transactionId", "fehlt").await.expect("quarantine");
    db.tenant(&t).unroutable_delivery(u.id, "Kennung „999“ unbekannt").await.expect("unroutable");
    // A late failure report on a delivery that has its Vorgang changes nothing, and says nothing.
    db.tenant(&t).quarantine_delivery(done.id, "control", "zu spät").await.expect("late quarantine");

    let log = db.tenant(&t).events_after(before[0].seq, 100).await.expect("events_after");
    assert_eq!(
        log.iter().map(|e| (e.vorgang_id, e.event.clone(), e.actor.clone())).collect::<Vec<_>>(),
        vec![
            (
                None,
                VorgangEvent::EingangQuarantaene { delivery_id: q.id.0, feld: "control.transactionId".into() },
                Actor::system("Eingang")
            ),
            (None, VorgangEvent::EingangNichtZuordenbar { delivery_id: u.id.0 }, Actor::system("Eingang")),
        ],
        "each failed delivery leaves one tenant-level event, without a Vorgang and without the message"
    );
    assert!(log.iter().all(|e| !e.event.concerns_a_vorgang()));
    assert_seq_increasing(&log, "tenant-level events");
    assert_eq!(db.tenant(&t).history(v.id).await.expect("history").len(), 1, "no Vorgang's history shows them");
    let other = fresh_tenant(db).await;
    assert!(db.tenant(&other).events_after(0, 100).await.expect("events_after").is_empty(), "the tenant's own log");
}
