//! Conformance checks of clerks' documents and the final deletion (issue 6).
//!
//! Pinned here: clerks' documents are listed by `(at, id)` apart from the applicant's (which
//! `get_vorgang` keeps returning alone); `get_document` finds both kinds. A purge removes
//! everything of the Vorgang except one `GELOESCHT` event in the log and the tombstone in the
//! audit log; the deletion of each blob is enqueued as one job (`NewJob::blob_deletion`), in
//! the same transaction.

use super::*;
use crate::{AttachedTo, ClerkDocumentRecord, JobQuery, NewJob, Purged};
use domain::jobs::{kinds, JobState};

/// The blob keys whose deletion is enqueued and not yet done.
async fn queued_blob_deletions(db: &Db) -> Vec<String> {
    let query = JobQuery { state: Some(JobState::Available), kind: Some(kinds::BLOB_LOESCHEN.into()), limit: 100_000 };
    db.installation()
        .list_jobs(&query)
        .await
        .expect("list_jobs")
        .into_iter()
        .filter_map(|j| j.payload.get("key").and_then(|k| k.as_str()).map(str::to_owned))
        .collect()
}

fn clerk_document(vorgang: VorgangId, to: AttachedTo, by: &Actor, filename: &str, minutes: i64) -> ClerkDocumentRecord {
    let id = DocumentId::new();
    ClerkDocumentRecord {
        document: DocumentRecord {
            id,
            vorgang_id: vorgang,
            kind: DocumentKind::Clerk,
            filename: filename.to_owned(),
            content_type: "application/pdf".into(),
            size: 2_048,
            blob_key: format!("bearbeitung/{id}"),
            sha256: format!("{:0>64}", id.0.simple()),
        },
        attached_to: to,
        at: at(minutes),
        by: by.clone(),
    }
}

async fn wiedervorlage(db: &Db, t: &TenantId, vorgang: VorgangId, by: &Actor) -> WiedervorlageRecord {
    db.tenant(t)
        .add_wiedervorlage(NewWiedervorlage {
            id: WiedervorlageId::new(),
            vorgang_id: vorgang,
            betreff: "Ausweis nachfordern".into(),
            beschreibung: String::new(),
            frist: time::macros::date!(2024 - 03 - 15),
            created_at: at(5),
            created_by: by.clone(),
        })
        .await
        .expect("add_wiedervorlage")
}

pub async fn clerk_documents_are_kept_apart(db: &Db) {
    let t = fresh_tenant(db).await;
    let max = new_user(db, &t, "max", "Max Schröder").await;
    let by = actor(&max);
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let other = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    let applicant_docs = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang").documents;
    let events_before = db.tenant(&t).history(head.id).await.expect("history").len();
    let k =
        db.tenant(&t).add_kommentar(head.id, KommentarId::new(), "Ausweis fehlt", &by).await.expect("add_kommentar");
    let w = wiedervorlage(db, &t, head.id, &by).await;

    let d1 = clerk_document(head.id, AttachedTo::Vorgang, &by, "Vermerk Ortstermin.pdf", 10);
    let d2 = clerk_document(head.id, AttachedTo::Kommentar(k.id), &by, "Telefonnotiz.pdf", 11);
    let d3 = clerk_document(head.id, AttachedTo::Wiedervorlage(w.id), &system(), "Frist.pdf", 12);
    for d in [&d1, &d3, &d2] {
        db.tenant(&t).add_clerk_document(d.clone()).await.expect("add_clerk_document");
    }
    assert_eq!(
        db.tenant(&t).list_clerk_documents(head.id).await.expect("list_clerk_documents"),
        vec![d1.clone(), d2.clone(), d3.clone()],
        "clerks' documents as stored, by time"
    );
    let vorgang = db.tenant(&t).get_vorgang(head.id).await.expect("get_vorgang");
    assert_eq!(vorgang.documents, applicant_docs, "the applicant's documents stay apart");
    assert_eq!(vorgang.head, head, "attaching changes neither version nor status");
    assert_eq!(db.tenant(&t).get_document(d2.document.id).await.expect("get_document"), d2.document, "found by id");

    let history = db.tenant(&t).history(head.id).await.expect("history");
    let attached: Vec<_> = history[events_before..]
        .iter()
        .filter_map(|e| match &e.event {
            VorgangEvent::DokumentAngehaengt { document_id, zu } => Some((*document_id, zu.clone(), e.actor.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        attached,
        vec![
            (d1.document.id, "VORGANG".to_owned(), by.clone()),
            (d3.document.id, "WIEDERVORLAGE".to_owned(), system()),
            (d2.document.id, "KOMMENTAR".to_owned(), by.clone()),
        ],
        "one DOKUMENT_ANGEHAENGT event per document, naming the document, not its file name"
    );

    // A note of another Vorgang, an unknown Vorgang, another tenant: NotFound, nothing stored.
    let wrong_note = clerk_document(other.id, AttachedTo::Kommentar(k.id), &by, "x.pdf", 13);
    assert_not_found(db.tenant(&t).add_clerk_document(wrong_note.clone()).await, "a Kommentar of another Vorgang");
    let wrong_w = clerk_document(other.id, AttachedTo::Wiedervorlage(w.id), &by, "x.pdf", 13);
    assert_not_found(db.tenant(&t).add_clerk_document(wrong_w).await, "a Wiedervorlage of another Vorgang");
    let unknown = clerk_document(VorgangId::new(), AttachedTo::Vorgang, &by, "x.pdf", 13);
    assert_not_found(db.tenant(&t).add_clerk_document(unknown).await, "an unknown Vorgang");
    let stranger = fresh_tenant(db).await;
    let foreign = clerk_document(head.id, AttachedTo::Vorgang, &by, "x.pdf", 13);
    assert_not_found(db.tenant(&stranger).add_clerk_document(foreign.clone()).await, "another tenant's Vorgang");
    assert_not_found(db.tenant(&stranger).list_clerk_documents(head.id).await, "listing another tenant's Vorgang");
    assert_not_found(db.tenant(&stranger).get_document(d1.document.id).await, "another tenant's document");
    assert_not_found(db.tenant(&t).get_document(foreign.document.id).await, "the refused document was not stored");
    assert!(
        db.tenant(&t).list_clerk_documents(other.id).await.expect("list").is_empty(),
        "nothing went to the other Vorgang"
    );

    // Removing: clerks' documents only, of the own tenant, once; the blob is queued.
    assert_not_found(db.tenant(&t).remove_clerk_document(applicant_docs[0].id, &by).await, "the applicant's document");
    assert_not_found(
        db.tenant(&stranger).remove_clerk_document(d1.document.id, &by).await,
        "another tenant's document",
    );
    assert_eq!(
        db.tenant(&t).remove_clerk_document(d1.document.id, &by).await.expect("remove"),
        d1,
        "returns what it was"
    );
    assert_eq!(db.tenant(&t).list_clerk_documents(head.id).await.expect("list"), vec![d2.clone(), d3.clone()]);
    assert_not_found(db.tenant(&t).get_document(d1.document.id).await, "the removed document");
    assert_not_found(db.tenant(&t).remove_clerk_document(d1.document.id, &by).await, "removing twice");
    let last = db.tenant(&t).history(head.id).await.expect("history").pop().expect("an event");
    assert_eq!(last.event, VorgangEvent::DokumentEntfernt { document_id: d1.document.id });
    assert_eq!(last.actor, by);
    let pending = queued_blob_deletions(db).await;
    assert!(pending.contains(&d1.document.blob_key), "the removed document's blob is queued");
    assert_eq!(db.tenant(&t).get_vorgang(head.id).await.expect("vorgang").head, head, "removing changes no version");
}

pub async fn final_deletion_purges_the_vorgang(db: &Db) {
    let t = fresh_tenant(db).await;
    let max = new_user(db, &t, "max", "Max Schröder").await;
    let by = actor(&max);
    let v = new_vorgang(at(0), "Gewerbeanmeldung");
    let applicant_keys: Vec<String> = v.documents.iter().map(|d| d.blob_key.clone()).collect();
    let delivery = record(db, &t, v.eingang_at).await;
    let head = match db.tenant(&t).complete_intake(delivery.id, v).await.expect("complete_intake") {
        IntakeOutcome::Created(h) => h,
        other => panic!("expected a new Vorgang, got {other:?}"),
    };
    let kept = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    let k = db.tenant(&t).add_kommentar(head.id, KommentarId::new(), "Intern", &by).await.expect("add_kommentar");
    let w = wiedervorlage(db, &t, head.id, &by).await;
    let doc = clerk_document(head.id, AttachedTo::Kommentar(k.id), &by, "Notiz.pdf", 3);
    db.tenant(&t).add_clerk_document(doc.clone()).await.expect("add_clerk_document");
    let counted = db.tenant(&t).status_counts(&Visibility::Tenant, &View::Alle).await.expect("counts").total();
    let search = |terms: &[&str]| {
        let mut q = query(View::Alle, None, SortKey::EingangAt, false, 0, 100);
        q.filter.terms = terms.iter().map(|t| (*t).to_owned()).collect();
        q
    };
    let found = db.tenant(&t).worklist(&search(&["muster"])).await.expect("search").items.len();
    assert_eq!(found, 2, "both Vorgänge are found by the applicant's name before the deletion");
    let log_before = db.tenant(&t).events_after(0, 1000).await.expect("events_after").last().map_or(0, |e| e.seq);

    let tombstone = NewAuditEntry {
        at: at(30),
        actor: by.clone(),
        action: "vorgang_geloescht".into(),
        target: Some(head.id.0.to_string()),
        detail: Some(format!("Vorgang {} endgültig gelöscht", head.nummer)),
        ip: None,
    };
    match db.tenant(&t).purge_vorgang(head.id, head.version + 1, tombstone.clone(), &by).await {
        Err(StorageError::Conflict { current_version }) => assert_eq!(current_version, head.version),
        other => panic!("a stale version must be a Conflict, got {other:?}"),
    }
    let stranger = fresh_tenant(db).await;
    assert_not_found(
        db.tenant(&stranger).purge_vorgang(head.id, head.version, tombstone.clone(), &by).await,
        "purging from another tenant",
    );
    assert!(db.tenant(&t).get_vorgang(head.id).await.is_ok(), "refused purges deleted nothing");

    let Purged { blob_keys } =
        db.tenant(&t).purge_vorgang(head.id, head.version, tombstone.clone(), &by).await.expect("purge_vorgang");
    let mut want: Vec<String> = applicant_keys.clone();
    want.push(doc.document.blob_key.clone());
    want.push(delivery.blob_key.clone());
    let mut got = blob_keys.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "every blob of the Vorgang: documents of both kinds and the raw delivery");

    assert_not_found(db.tenant(&t).get_vorgang(head.id).await, "the Vorgang is gone");
    assert_not_found(db.tenant(&t).history(head.id).await, "its history is gone");
    assert_not_found(db.tenant(&t).list_kommentare(head.id).await, "its Kommentare are gone");
    assert_not_found(db.tenant(&t).list_wiedervorlagen(head.id).await, "its Wiedervorlagen are gone");
    assert_not_found(db.tenant(&t).list_clerk_documents(head.id).await, "its clerk documents are gone");
    assert_not_found(db.tenant(&t).get_wiedervorlage(w.id).await, "the Wiedervorlage by id");
    assert_not_found(db.tenant(&t).get_document(doc.document.id).await, "the clerk document by id");
    assert_not_found(db.tenant(&t).get_delivery(delivery.id).await, "the raw delivery");
    let page = all_of(db, &t, View::Alle).await;
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![kept.id], "only the other Vorgang is listed");
    let counts = db.tenant(&t).status_counts(&Visibility::Tenant, &View::Alle).await.expect("counts").total();
    assert_eq!(counts, counted - 1, "the counts follow");
    let found = db.tenant(&t).worklist(&search(&["muster"])).await.expect("search");
    assert_eq!(found.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![kept.id], "the search index forgot it");
    assert_eq!(found.total, 1);
    let (due, _) = db
        .tenant(&t)
        .wiedervorlagen(&WiedervorlagenQuery {
            visibility: Visibility::Tenant,
            include_done: true,
            limit: 100,
            offset: 0,
        })
        .await
        .expect("wiedervorlagen");
    assert!(due.is_empty(), "no Wiedervorlage of it is listed");

    let log: Vec<EventRecord> =
        db.tenant(&t).events_after(log_before, 1000).await.expect("events_after").into_iter().collect();
    assert_eq!(log.len(), 1, "exactly one new event: {log:?}");
    assert_eq!(log[0].vorgang_id, Some(head.id));
    assert_eq!(log[0].event, VorgangEvent::Geloescht { vorgang_nummer: head.nummer.to_string() });
    let all_log = db.tenant(&t).events_after(0, 1000).await.expect("events_after");
    assert!(
        all_log.iter().filter(|e| e.vorgang_id == Some(head.id)).count() == 1,
        "the Vorgang's earlier events went with it"
    );
    let audit = db
        .tenant(&t)
        .list_audit(&AuditQuery { before: None, action: Some("vorgang_geloescht".into()), limit: 10 })
        .await
        .expect("list_audit");
    assert_eq!(audit.len(), 1, "the tombstone is in the audit log");
    assert_eq!(audit[0].entry, tombstone);

    let pending = queued_blob_deletions(db).await;
    for key in &blob_keys {
        assert_eq!(pending.iter().filter(|k| *k == key).count(), 1, "{key} is queued for deletion once");
        assert_eq!(
            db.installation().enqueue_job(NewJob::blob_deletion(&t, key)).await.expect("enqueue_job"),
            None,
            "asking again for the same deletion enqueues nothing"
        );
    }
    let jobs = db
        .installation()
        .list_jobs(&JobQuery { state: None, kind: Some(kinds::BLOB_LOESCHEN.into()), limit: 100_000 })
        .await
        .expect("list_jobs");
    for job in jobs.iter().filter(|j| blob_keys.iter().any(|k| j.payload["key"] == k.as_str())) {
        assert_eq!(job.tenant.as_ref(), Some(&t), "the deletion works for the tenant");
    }
    assert_not_found(db.tenant(&t).purge_vorgang(head.id, head.version, tombstone, &by).await, "purging twice");
    assert!(db.tenant(&t).get_vorgang(kept.id).await.is_ok(), "the other Vorgang stays");
}

pub async fn clerk_documents_and_deletions_move_with_the_tenant(db: &Db) {
    let t = fresh_tenant(db).await;
    let max = new_user(db, &t, "max", "Max Schröder").await;
    let by = actor(&max);
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let gone = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    let k = db.tenant(&t).add_kommentar(head.id, KommentarId::new(), "Intern", &by).await.expect("add_kommentar");
    let docs = [
        clerk_document(head.id, AttachedTo::Vorgang, &by, "a.pdf", 2),
        clerk_document(head.id, AttachedTo::Kommentar(k.id), &by, "b.pdf", 3),
        clerk_document(head.id, AttachedTo::Vorgang, &system(), "c.pdf", 4),
    ];
    for d in &docs {
        db.tenant(&t).add_clerk_document(d.clone()).await.expect("add_clerk_document");
    }
    let tombstone = NewAuditEntry {
        at: at(30),
        actor: by.clone(),
        action: "vorgang_geloescht".into(),
        target: Some(gone.id.0.to_string()),
        detail: None,
        ip: None,
    };
    db.tenant(&t).purge_vorgang(gone.id, gone.version, tombstone, &by).await.expect("purge_vorgang");

    let counts = db.tenant(&t).count_for_export().await.expect("count_for_export");
    assert_eq!(counts.notes, 1 + 3, "the Kommentar and the three clerk documents");
    // Small pages, so the Notes cursor crosses from the Kommentare to the documents.
    let records = export_all(db, &t, 2).await;
    let exported = records.iter().filter(|r| matches!(r, ExportRecord::ClerkDocument(_))).count();
    assert_eq!(exported, 3, "every clerk document is exported once");
    let dst = TenantId::parse(&format!("t-{}", short())).expect("slug");
    db.tenant(&dst).import_records(records).await.expect("import_records with a deleted Vorgang's event");
    assert_eq!(
        db.tenant(&dst).list_clerk_documents(head.id).await.expect("list_clerk_documents"),
        db.tenant(&t).list_clerk_documents(head.id).await.expect("list_clerk_documents"),
        "clerk documents move with the tenant"
    );
    assert_eq!(
        without_seq(db.tenant(&dst).events_after(0, 1000).await.expect("events_after")),
        without_seq(db.tenant(&t).events_after(0, 1000).await.expect("events_after")),
        "the log moves, the GELOESCHT event included"
    );
    assert_not_found(db.tenant(&dst).get_vorgang(gone.id).await, "the deleted Vorgang stays deleted");
}
