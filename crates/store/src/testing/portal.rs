//! Conformance checks of portal sessions (people who are not clerks): the same liveness as
//! clerks' sessions, kept apart from them in both directions, ended per subject, swept.

use super::*;
use crate::{NewPortalSession, PortalSessionRecord};
use domain::session::PortalKind;

fn hash() -> String {
    format!("{:0>64}", Uuid::new_v4().simple())
}

pub async fn portal_sessions_live_apart_from_clerk_sessions(db: &Db) {
    let t = fresh_tenant(db).await;
    let start = now_s();
    let session = |subject: &str, idle: i64, absolute: Duration| NewPortalSession {
        token_hash: hash(),
        kind: PortalKind::Antragsteller,
        subject: subject.to_owned(),
        csrf_token: short(),
        created_at: start,
        idle_timeout_secs: idle,
        absolute_expiry: start + absolute,
    };
    assert_eq!(db.installation().get_portal_session("unbekannt", start).await.expect("unknown"), None);
    let s = session("osi-4711", 1800, Duration::hours(8));
    db.tenant(&t).create_portal_session(s.clone()).await.expect("create_portal_session");
    let got = db.installation().get_portal_session(&s.token_hash, start + Duration::seconds(10)).await.expect("get");
    assert_eq!(
        got,
        Some(PortalSessionRecord {
            tenant: t.clone(),
            kind: PortalKind::Antragsteller,
            subject: "osi-4711".into(),
            csrf_token: s.csrf_token.clone()
        })
    );
    // Never a clerk's session, and a clerk's token is never a portal session.
    assert_eq!(
        db.installation().get_session(&s.token_hash, start).await.expect("get_session"),
        None,
        "not a clerk session"
    );
    let clerk = new_user(db, &t, "anna", "Anna").await;
    let clerk_session = NewSession {
        token_hash: hash(),
        user: clerk.id,
        csrf_token: short(),
        created_at: start,
        idle_timeout_secs: 1800,
        absolute_expiry: start + Duration::hours(8),
    };
    db.tenant(&t).create_session(clerk_session.clone()).await.expect("create_session");
    assert_eq!(db.installation().get_portal_session(&clerk_session.token_hash, start).await.expect("get"), None);

    // Use restarts the idle time; the absolute end holds; idle too long is gone for good.
    assert!(db
        .installation()
        .get_portal_session(&s.token_hash, start + Duration::seconds(1000))
        .await
        .expect("get")
        .is_some());
    assert!(db
        .installation()
        .get_portal_session(&s.token_hash, start + Duration::seconds(2700))
        .await
        .expect("get")
        .is_some());
    assert_eq!(
        db.installation().get_portal_session(&s.token_hash, start + Duration::seconds(4600)).await.expect("get"),
        None
    );
    assert_eq!(db.installation().get_portal_session(&s.token_hash, start).await.expect("get"), None, "gone for good");
    let short_lived = session("osi-4711", 1800, Duration::minutes(5));
    db.tenant(&t).create_portal_session(short_lived.clone()).await.expect("create");
    assert_eq!(
        db.installation().get_portal_session(&short_lived.token_hash, start + Duration::minutes(6)).await.expect("get"),
        None
    );

    // Ended per subject, of this tenant only; logout is idempotent.
    let other = fresh_tenant(db).await;
    let a = session("osi-1", 1800, Duration::hours(8));
    let b = session("osi-1", 1800, Duration::hours(8));
    let keep = session("osi-2", 1800, Duration::hours(8));
    let foreign = session("osi-1", 1800, Duration::hours(8));
    for x in [&a, &b, &keep] {
        db.tenant(&t).create_portal_session(x.clone()).await.expect("create");
    }
    db.tenant(&other).create_portal_session(foreign.clone()).await.expect("create");
    assert_eq!(db.tenant(&t).delete_portal_sessions_of("osi-1").await.expect("delete_of"), 2);
    assert_eq!(db.installation().get_portal_session(&a.token_hash, start).await.expect("get"), None);
    assert!(db.installation().get_portal_session(&keep.token_hash, start).await.expect("get").is_some());
    let theirs = db
        .installation()
        .get_portal_session(&foreign.token_hash, start)
        .await
        .expect("get")
        .expect("another tenant's stays");
    assert_eq!(theirs.tenant, other);
    db.installation().delete_portal_session(&keep.token_hash).await.expect("delete");
    db.installation().delete_portal_session(&keep.token_hash).await.expect("delete again");
    assert_eq!(db.installation().get_portal_session(&keep.token_hash, start).await.expect("get"), None);

    // The sweep removes expired portal sessions too.
    let stale = session("osi-3", 60, Duration::hours(8));
    db.tenant(&t).create_portal_session(stale.clone()).await.expect("create");
    let swept = db.installation().delete_expired_sessions(start + Duration::minutes(10)).await.expect("sweep");
    assert!(swept >= 1, "swept {swept}");
    assert_eq!(db.installation().get_portal_session(&stale.token_hash, start).await.expect("get"), None, "swept away");
}
