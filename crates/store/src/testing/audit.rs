//! Conformance checks of the audit log.

use super::*;

pub async fn audit_log(db: &Db) {
    let t = fresh_tenant(db).await;
    let other = fresh_tenant(db).await;
    assert!(all_audit(db, &t).await.is_empty());
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let actions =
        ["anmeldung", "anmeldung_fehlgeschlagen", "anmeldung", "benutzer_angelegt", "anmeldung", "vorgang_gelesen"];
    let mut entries: Vec<NewAuditEntry> =
        actions.iter().enumerate().map(|(i, a)| audit_entry(&u, i as i64, a)).collect();
    entries.push(NewAuditEntry {
        at: at(10),
        actor: system(),
        action: "token_widerrufen".into(),
        target: None,
        detail: None,
        ip: None,
    });
    for e in &entries {
        db.tenant(&t).append_audit(e.clone()).await.expect("append_audit");
    }
    db.tenant(&other).append_audit(audit_entry(&u, 3, "anmeldung")).await.expect("append_audit other");

    let all = all_audit(db, &t).await;
    let got: Vec<NewAuditEntry> = all.iter().map(|r| r.entry.clone()).collect();
    let mut want = entries.clone();
    want.reverse();
    assert_eq!(got, want, "list_audit returns the tenant's entries complete, newest first");
    for pair in all.windows(2) {
        assert!(pair[0].seq > pair[1].seq, "seqs strictly increase with time");
    }
    let q = |before: Option<i64>, action: Option<&str>, limit: u32| AuditQuery {
        before,
        action: action.map(str::to_owned),
        limit,
    };
    assert_eq!(db.tenant(&t).list_audit(&q(None, None, 2)).await.expect("list_audit"), all[..2].to_vec(), "limit");
    assert_eq!(
        db.tenant(&t).list_audit(&q(Some(all[2].seq), None, 100)).await.expect("list_audit"),
        all[3..].to_vec(),
        "before is exclusive"
    );
    let logins: Vec<AuditRecord> = all.iter().filter(|r| r.entry.action == "anmeldung").cloned().collect();
    assert_eq!(logins.len(), 3);
    assert_eq!(db.tenant(&t).list_audit(&q(None, Some("anmeldung"), 100)).await.expect("list_audit"), logins, "action");
    assert_eq!(
        db.tenant(&t).list_audit(&q(Some(logins[0].seq), Some("anmeldung"), 1)).await.expect("list_audit"),
        logins[1..2].to_vec(),
        "action, before and limit together"
    );
    assert!(db.tenant(&t).list_audit(&q(None, Some("unbekannt"), 100)).await.expect("list_audit").is_empty());
    let theirs = all_audit(db, &other).await;
    assert_eq!(theirs.len(), 1, "each tenant lists its own entries");
}
