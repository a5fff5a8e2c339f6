//! Conformance checks of the per-tenant numbering of the event log and the audit log: each
//! tenant counts from 1 on its own, so no tenant learns from the numbers how busy another one
//! is, and a number is never handed out twice (not even after a final deletion removed the
//! events that carried the last ones).

use super::*;

pub async fn event_and_audit_numbers_are_per_tenant(db: &Db) {
    let a = fresh_tenant(db).await;
    let b = fresh_tenant(db).await;
    let va = intake(db, &a, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    intake(db, &b, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    intake(db, &b, new_vorgang(at(1), "Gewerbeanmeldung")).await;
    let seqs = |t: TenantId| async move {
        db.tenant(&t).events_after(0, 100).await.expect("events_after").iter().map(|e| e.seq).collect::<Vec<_>>()
    };
    assert_eq!(seqs(a.clone()).await, vec![1], "tenant A counts from 1");
    assert_eq!(seqs(b.clone()).await, vec![1, 2], "tenant B counts on its own");

    let anna = new_user(db, &a, "anna", "Anna").await;
    for (t, n) in [(&a, 2), (&b, 1)] {
        for i in 0..n {
            db.tenant(t).append_audit(audit_entry(&anna, i, "vorgang_gelesen")).await.expect("append_audit");
        }
    }
    let audit = |t: TenantId| async move {
        let q = AuditQuery { before: None, action: None, limit: 100 };
        db.tenant(&t).list_audit(&q).await.expect("list_audit").iter().map(|e| e.seq).collect::<Vec<_>>()
    };
    assert_eq!(audit(a.clone()).await, vec![2, 1], "newest first, per tenant");
    assert_eq!(audit(b.clone()).await, vec![1]);

    // A final deletion removes the Vorgang's events but not their numbers.
    let v = db.tenant(&a).get_vorgang(va.id).await.expect("vorgang");
    let tombstone = audit_entry(&anna, 3, "vorgang_geloescht");
    db.tenant(&a).purge_vorgang(va.id, v.head.version, tombstone, &actor(&anna)).await.expect("purge");
    let after = seqs(a.clone()).await;
    assert_eq!(after, vec![2], "only GELOESCHT is left, with the next number: {after:?}");
    assert_eq!(audit(a.clone()).await, vec![3, 2, 1], "the tombstone continues the audit numbers");
    intake(db, &a, new_vorgang(at(2), "Gewerbeanmeldung")).await;
    assert_eq!(seqs(a).await, vec![2, 3], "no number is handed out twice");
}
