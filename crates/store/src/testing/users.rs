//! Conformance checks of users, clerk sessions, lockout and API tokens.

use super::*;

pub async fn users_lifecycle(db: &Db) {
    let t = fresh_tenant(db).await;
    assert_eq!(db.tenant(&t).count_users().await.expect("count_users"), 0);
    assert!(db.tenant(&t).list_users().await.expect("list_users").is_empty());

    let new = NewUser {
        id: UserId::new(),
        username: format!("anna-{}", short()),
        display_name: "Anna Amsel".into(),
        email: Some("anna@example.org".into()),
        roles: vec![Role::Admin, Role::Sachbearbeitung, Role::Admin],
        units: vec![],
        password_hash: "$argon2id$v=19$eins".into(),
        oidc_subject: None,
    };
    let anna = db.tenant(&t).create_user(new.clone()).await.expect("create_user");
    assert_eq!(
        anna,
        UserRecord {
            id: new.id,
            tenant: t.clone(),
            username: new.username.clone(),
            display_name: new.display_name.clone(),
            email: new.email.clone(),
            roles: vec![Role::Sachbearbeitung, Role::Admin],
            units: vec![],
            password_hash: new.password_hash.clone(),
            disabled: false,
            oidc_subject: None,
            failed_logins: 0,
            locked_until: None,
            password_change_required: false,
        },
        "create_user returns the stored user, enabled, roles sorted without duplicates"
    );
    let bernd = db
        .tenant(&t)
        .create_user(NewUser {
            id: UserId::new(),
            username: format!("bernd-{}", short()),
            display_name: "Bernd Bär".into(),
            email: None,
            roles: vec![Role::Sachbearbeitung],
            units: vec![],
            password_hash: "$argon2id$v=19$zwei".into(),
            oidc_subject: None,
        })
        .await
        .expect("create_user without email");
    assert_eq!((bernd.email.clone(), bernd.roles.clone()), (None, vec![Role::Sachbearbeitung]));

    match db
        .tenant(&t)
        .create_user(NewUser { id: UserId::new(), display_name: "Andere Anna".into(), ..new.clone() })
        .await
    {
        Err(StorageError::Duplicate(what)) => {
            assert_eq!(what, "username", "Duplicate names the username")
        }
        other => panic!("a taken username must be Duplicate(\"username\"), got {other:?}"),
    }
    assert_eq!(db.tenant(&t).count_users().await.expect("count_users"), 2, "a duplicate is not stored");

    assert_eq!(
        db.tenant(&t).find_user_by_username(&new.username).await.expect("find_user_by_username"),
        Some(anna.clone())
    );
    assert_eq!(db.tenant(&t).find_user_by_username("niemand").await.expect("find_user_by_username unknown"), None);
    assert_eq!(db.tenant(&t).get_user(anna.id).await.expect("get_user"), anna);
    assert_not_found(db.tenant(&t).get_user(UserId::new()).await, "get_user of an unknown id");
    let mut listed = db.tenant(&t).list_users().await.expect("list_users");
    listed.sort_by_key(|u| u.id);
    let mut want = vec![anna.clone(), bernd.clone()];
    want.sort_by_key(|u| u.id);
    assert_eq!(listed, want, "list_users lists the tenant's users");

    // A one-time password must be changed; setting a new one clears the mark.
    db.tenant(&t).require_password_change(anna.id).await.expect("require_password_change");
    assert!(db.tenant(&t).get_user(anna.id).await.expect("get_user").password_change_required, "marked");
    assert!(!db.tenant(&t).get_user(bernd.id).await.expect("get_user").password_change_required, "only her");
    assert_not_found(
        db.tenant(&t).require_password_change(UserId::new()).await,
        "require_password_change of an unknown id",
    );
    db.tenant(&t).set_password(anna.id, "$argon2id$v=19$neu").await.expect("set_password");
    let changed = db.tenant(&t).get_user(anna.id).await.expect("get_user");
    assert!(!changed.password_change_required, "set_password clears the mark");
    assert_eq!(changed.password_hash, "$argon2id$v=19$neu", "set_password stores the new hash");
    assert_eq!(UserRecord { password_hash: anna.password_hash.clone(), ..changed }, anna, "only the hash changed");
    assert_eq!(
        db.tenant(&t).find_user_by_username(&new.username).await.expect("find").map(|u| u.password_hash),
        Some("$argon2id$v=19$neu".into())
    );
    assert_eq!(
        db.tenant(&t).get_user(bernd.id).await.expect("get_user").password_hash,
        bernd.password_hash,
        "others keep theirs"
    );
    assert_not_found(db.tenant(&t).set_password(UserId::new(), "x").await, "set_password of an unknown user");
}

pub async fn sessions_lifecycle(db: &Db) {
    let t = fresh_tenant(db).await;
    let user = new_user(db, &t, "anna", "Anna Amsel").await;
    let start = now_s();
    let session = |idle_timeout_secs: i64, absolute: Duration| NewSession {
        token_hash: format!("{:0>64}", Uuid::new_v4().simple()),
        user: user.id,
        csrf_token: short(),
        created_at: start,
        idle_timeout_secs,
        absolute_expiry: start + absolute,
    };
    assert_eq!(db.installation().get_session("unbekannt", start).await.expect("get_session unknown"), None);

    // Valid, then idle too long.
    let s = session(1800, Duration::hours(8));
    db.tenant(&t).create_session(s.clone()).await.expect("create_session");
    let got = db.installation().get_session(&s.token_hash, start + Duration::seconds(10)).await.expect("get_session");
    assert_eq!(
        got,
        Some(crate::SessionRecord { tenant: t.clone(), user: user.clone(), csrf_token: s.csrf_token.clone() }),
        "a live session returns its tenant, user and CSRF token"
    );
    let idle =
        db.installation().get_session(&s.token_hash, start + Duration::seconds(1801)).await.expect("get_session idle");
    assert_eq!(idle, None, "a session idle longer than its timeout is gone");
    let later = db
        .installation()
        .get_session(&s.token_hash, start + Duration::seconds(20))
        .await
        .expect("get_session after expiry");
    assert_eq!(later, None, "an expired session stays gone");

    // Use restarts the idle timeout.
    let s = session(1800, Duration::hours(8));
    db.tenant(&t).create_session(s.clone()).await.expect("create_session");
    assert!(db
        .installation()
        .get_session(&s.token_hash, start + Duration::seconds(1000))
        .await
        .expect("get_session")
        .is_some());
    assert!(
        db.installation()
            .get_session(&s.token_hash, start + Duration::seconds(2700))
            .await
            .expect("get_session")
            .is_some(),
        "using a session restarts its idle timeout"
    );
    assert_eq!(
        db.installation()
            .get_session(&s.token_hash, start + Duration::seconds(2700 + 1801))
            .await
            .expect("get_session"),
        None,
        "idle again after the restarted timeout"
    );

    // The absolute expiry wins over activity.
    let s = session(36_000, Duration::hours(1));
    db.tenant(&t).create_session(s.clone()).await.expect("create_session");
    assert!(db
        .installation()
        .get_session(&s.token_hash, start + Duration::minutes(30))
        .await
        .expect("get_session")
        .is_some());
    assert!(db
        .installation()
        .get_session(&s.token_hash, start + Duration::minutes(59))
        .await
        .expect("get_session")
        .is_some());
    assert_eq!(
        db.installation().get_session(&s.token_hash, start + Duration::minutes(61)).await.expect("get_session"),
        None,
        "a session ends at its absolute expiry"
    );

    // The session shows the user's current data.
    let s = session(1800, Duration::hours(8));
    db.tenant(&t).create_session(s.clone()).await.expect("create_session");
    let update = UserUpdate {
        display_name: "Anna A.".into(),
        email: None,
        roles: vec![Role::Sachbearbeitung, Role::Poststelle],
        units: vec![],
        disabled: false,
    };
    let updated = db.tenant(&t).update_user(user.id, update).await.expect("update_user");
    let got = db.installation().get_session(&s.token_hash, start).await.expect("get_session").expect("live session");
    assert_eq!(got.user, updated, "the session shows the user's current data");

    // Logout.
    db.installation().delete_session(&s.token_hash).await.expect("delete_session");
    assert_eq!(db.installation().get_session(&s.token_hash, start).await.expect("get_session after delete"), None);
    db.installation().delete_session(&s.token_hash).await.expect("deleting a deleted session is not an error");
    db.installation().delete_session("unbekannt").await.expect("deleting an unknown session is not an error");
}

pub async fn users_roles_units_and_oidc(db: &Db) {
    let t = fresh_tenant(db).await;
    let other = fresh_tenant(db).await;
    let u1 = new_unit(db, &t, "Ordnungsamt").await;
    let u2 = new_unit(db, &t, "Bauamt").await;
    let foreign = new_unit(db, &other, "Fremdamt").await;
    let subject = format!("https://idp.example|{}", short());
    let new = NewUser {
        id: UserId::new(),
        username: format!("dora-{}", short()),
        display_name: "Dora Dachs".into(),
        email: None,
        roles: vec![Role::Poststelle, Role::Sachbearbeitung, Role::Poststelle],
        units: vec![u2.id, u1.id, u2.id],
        password_hash: String::new(),
        oidc_subject: Some(subject.clone()),
    };
    let dora = db.tenant(&t).create_user(new.clone()).await.expect("create_user");
    let mut units = vec![u1.id, u2.id];
    units.sort();
    assert_eq!(
        (dora.roles.clone(), dora.units.clone(), dora.oidc_subject.clone(), dora.failed_logins, dora.locked_until),
        (vec![Role::Sachbearbeitung, Role::Poststelle], units.clone(), Some(subject.clone()), 0, None),
        "roles and units come back sorted without duplicates"
    );
    assert_eq!(db.tenant(&t).get_user(dora.id).await.expect("get_user"), dora);
    assert_eq!(db.tenant(&t).find_user_by_username(&new.username).await.expect("find"), Some(dora.clone()));
    assert_eq!(db.tenant(&t).find_user_by_oidc_subject(&subject).await.expect("find by subject"), Some(dora.clone()));
    assert_eq!(db.tenant(&other).find_user_by_oidc_subject(&subject).await.expect("find by subject"), None);
    assert_eq!(db.tenant(&t).find_user_by_oidc_subject("https://idp.example|niemand").await.expect("find"), None);
    assert!(
        db.tenant(&t).list_users().await.expect("list_users").contains(&dora),
        "list_users returns roles and units"
    );

    for bad in [foreign.id, UnitId::new()] {
        let user = NewUser {
            id: UserId::new(),
            username: format!("x-{}", short()),
            units: vec![bad],
            oidc_subject: None,
            ..new.clone()
        };
        match db.tenant(&t).create_user(user.clone()).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("create_user with a unit not of the tenant must be InvalidReference, got {other:?}"),
        }
        assert_not_found(db.tenant(&t).get_user(user.id).await, "a refused user is not stored");
    }
    let twin = NewUser { id: UserId::new(), username: format!("twin-{}", short()), ..new.clone() };
    match db.tenant(&t).create_user(twin).await {
        Err(StorageError::Duplicate("oidc_subject")) => {}
        other => panic!("a taken OIDC subject must be Duplicate(\"oidc_subject\"), got {other:?}"),
    }
    assert_eq!(db.tenant(&t).count_users().await.expect("count_users"), 1);
    let elsewhere = NewUser { id: UserId::new(), units: vec![foreign.id], ..new.clone() };
    db.tenant(&other).create_user(elsewhere).await.expect("the same subject in another tenant is allowed");

    let emil = new_user(db, &t, "emil", "Emil Elch").await;
    db.tenant(&t).link_oidc_subject(emil.id, "https://idp.example|emil").await.expect("link_oidc_subject");
    let linked = db.tenant(&t).get_user(emil.id).await.expect("get_user");
    assert_eq!(linked, UserRecord { oidc_subject: Some("https://idp.example|emil".into()), ..emil.clone() });
    assert_eq!(
        db.tenant(&t).find_user_by_oidc_subject("https://idp.example|emil").await.expect("find"),
        Some(linked.clone())
    );
    db.tenant(&t).link_oidc_subject(emil.id, "https://idp.example|emil").await.expect("linking again is fine");
    match db.tenant(&t).link_oidc_subject(emil.id, &subject).await {
        Err(StorageError::Duplicate("oidc_subject")) => {}
        other => panic!("linking a subject another user has must be Duplicate(\"oidc_subject\"), got {other:?}"),
    }
    assert_eq!(db.tenant(&t).get_user(emil.id).await.expect("get_user"), linked, "a refused link changes nothing");
    assert_not_found(
        db.tenant(&t).link_oidc_subject(UserId::new(), "https://idp.example|x").await,
        "link unknown user",
    );

    let start = now_s();
    let s_dora = session_for(&dora, start, 1800, Duration::hours(8));
    let s_emil = session_for(&emil, start, 1800, Duration::hours(8));
    db.tenant(&t).create_session(s_dora.clone()).await.expect("create_session");
    db.tenant(&t).create_session(s_emil.clone()).await.expect("create_session");
    let update = UserUpdate {
        display_name: "Dora D.".into(),
        email: Some("dora@example.org".into()),
        roles: vec![Role::Admin, Role::Loeschberechtigt],
        units: vec![u1.id],
        disabled: false,
    };
    let updated = db.tenant(&t).update_user(dora.id, update.clone()).await.expect("update_user");
    assert_eq!(
        updated,
        UserRecord {
            display_name: "Dora D.".into(),
            email: Some("dora@example.org".into()),
            roles: vec![Role::Loeschberechtigt, Role::Admin],
            units: vec![u1.id],
            ..dora.clone()
        },
        "update_user changes name, e-mail, roles and units only"
    );
    assert_eq!(db.tenant(&t).get_user(dora.id).await.expect("get_user"), updated);
    let session =
        db.installation().get_session(&s_dora.token_hash, start).await.expect("get_session").expect("still live");
    assert_eq!(session.user, updated, "the session carries the user's roles and units");
    for bad in [foreign.id, UnitId::new()] {
        match db.tenant(&t).update_user(dora.id, UserUpdate { units: vec![bad], ..update.clone() }).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("update_user with a unit not of the tenant must be InvalidReference, got {other:?}"),
        }
    }
    assert_eq!(db.tenant(&t).get_user(dora.id).await.expect("get_user"), updated, "a refused update changes nothing");
    assert_not_found(db.tenant(&t).update_user(UserId::new(), update.clone()).await, "update_user of an unknown user");
    let disabled =
        db.tenant(&t).update_user(dora.id, UserUpdate { disabled: true, units: vec![], ..update.clone() }).await;
    let disabled = disabled.expect("update_user disabling");
    assert!(disabled.disabled && disabled.units.is_empty());
    db.tenant(&t).update_user(dora.id, update.clone()).await.expect("update_user enabling again");
    assert_eq!(
        db.installation().get_session(&s_dora.token_hash, start).await.expect("get_session"),
        None,
        "disabling ends sessions"
    );
    assert!(
        db.installation().get_session(&s_emil.token_hash, start).await.expect("get_session").is_some(),
        "others' sessions live"
    );

    // set_password ends every session of the user and clears the lockout.
    let s_emil2 = session_for(&emil, start, 1800, Duration::hours(8));
    db.tenant(&t).create_session(s_emil2.clone()).await.expect("create_session");
    db.tenant(&t).record_login_failure(emil.id, start).await.expect("record_login_failure");
    let failed = db.tenant(&t).record_login_failure(emil.id, start).await.expect("record_login_failure");
    assert_eq!(failed.failed_logins, 2);
    db.tenant(&t).set_password(emil.id, "$argon2id$v=19$neu").await.expect("set_password");
    let emil_now = db.tenant(&t).get_user(emil.id).await.expect("get_user");
    assert_eq!(
        (emil_now.password_hash.as_str(), emil_now.failed_logins, emil_now.locked_until),
        ("$argon2id$v=19$neu", 0, None)
    );
    for s in [&s_emil, &s_emil2] {
        assert_eq!(
            db.installation().get_session(&s.token_hash, start).await.expect("get_session"),
            None,
            "set_password ends sessions"
        );
    }
}

pub async fn lockout_counts_failures(db: &Db) {
    use domain::user::{after_failed_login, LOCK_DURATION, MAX_FAILED_LOGINS};
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let start = now_s();
    for i in 1..MAX_FAILED_LOGINS {
        let got = db.tenant(&t).record_login_failure(u.id, start + Duration::seconds(i.into())).await.expect("failure");
        assert_eq!((got.failed_logins, got.locked_until), (i, None), "failure {i} is counted");
    }
    let now = start + Duration::minutes(1);
    let locked = db.tenant(&t).record_login_failure(u.id, now).await.expect("record_login_failure");
    assert_eq!((locked.failed_logins, locked.locked_until), after_failed_login(MAX_FAILED_LOGINS - 1, now));
    assert_eq!(
        (locked.failed_logins, locked.locked_until),
        (0, Some(now + LOCK_DURATION)),
        "the last allowed failure locks and restarts the count"
    );
    assert_eq!(locked, UserRecord { failed_logins: 0, locked_until: Some(now + LOCK_DURATION), ..u.clone() });
    assert_eq!(db.tenant(&t).get_user(u.id).await.expect("get_user"), locked);
    let next = db.tenant(&t).record_login_failure(u.id, now).await.expect("record_login_failure");
    assert_eq!((next.failed_logins, next.locked_until), (1, Some(now + LOCK_DURATION)), "the lock stays");
    db.tenant(&t).record_login_success(u.id).await.expect("record_login_success");
    assert_eq!(db.tenant(&t).get_user(u.id).await.expect("get_user"), u, "a success clears count and lock");
    assert_not_found(db.tenant(&t).record_login_failure(UserId::new(), now).await, "failure of an unknown user");
    assert_not_found(db.tenant(&t).record_login_success(UserId::new()).await, "success of an unknown user");

    // Concurrent failures all count: ten of them are exactly two locks.
    let v = new_user(db, &t, "bernd", "Bernd Bär").await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..2 * MAX_FAILED_LOGINS {
        let (db, t) = (db.clone(), t.clone());
        tasks.spawn(async move { login_failure_with_retry(&db, &t, v.id, now).await });
    }
    let mut counts = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let got = joined.expect("failure task panicked");
        counts.push(got.failed_logins);
    }
    counts.sort();
    let mut want: Vec<u32> = (0..MAX_FAILED_LOGINS).chain(0..MAX_FAILED_LOGINS).collect();
    want.sort();
    assert_eq!(counts, want, "every concurrent failure saw its own count");
    let after = db.tenant(&t).get_user(v.id).await.expect("get_user");
    assert_eq!((after.failed_logins, after.locked_until), (0, Some(now + LOCK_DURATION)), "locked, count wrapped");
}

pub async fn expired_sessions_are_swept(db: &Db) {
    let t = fresh_tenant(db).await;
    let user = new_user(db, &t, "anna", "Anna Amsel").await;
    let now = now_s();
    let live = session_for(&user, now, 1800, Duration::hours(8));
    let idle = session_for(&user, now - Duration::hours(2), 1800, Duration::hours(8));
    let absolute = session_for(&user, now - Duration::hours(1), 36_000, Duration::minutes(59));
    for s in [&live, &idle, &absolute] {
        db.tenant(&t).create_session(s.clone()).await.expect("create_session");
    }
    let swept = db.installation().delete_expired_sessions(now).await.expect("delete_expired_sessions");
    assert!(swept >= 2, "the idle and the expired session are swept, got {swept}");
    assert_eq!(
        db.installation().delete_expired_sessions(now).await.expect("delete_expired_sessions"),
        0,
        "nothing left to sweep"
    );
    assert!(
        db.installation().get_session(&live.token_hash, now).await.expect("get_session").is_some(),
        "live sessions stay"
    );
    // Asked at a time each was live: gone all the same, because they were deleted.
    for (s, when) in [(&idle, now - Duration::minutes(119)), (&absolute, now - Duration::minutes(30))] {
        assert_eq!(db.installation().get_session(&s.token_hash, when).await.expect("get_session"), None, "swept");
    }
    let later = now + Duration::minutes(31);
    assert!(
        db.installation().delete_expired_sessions(later).await.expect("delete_expired_sessions") >= 1,
        "idle later"
    );
    assert_eq!(db.installation().get_session(&live.token_hash, now).await.expect("get_session"), None);
}

pub async fn api_tokens_lifecycle(db: &Db) {
    let t = fresh_tenant(db).await;
    let other = fresh_tenant(db).await;
    assert!(db.tenant(&t).list_api_tokens().await.expect("list_api_tokens").is_empty());
    let t0 = now_s();
    let na = new_token("Formularserver", &[TokenScope::Eingang, TokenScope::Eingang], t0 - Duration::hours(2));
    let a = db.tenant(&t).create_api_token(na.clone()).await.expect("create_api_token");
    assert_eq!(
        a,
        ApiTokenRecord {
            id: na.id,
            tenant: t.clone(),
            name: "Formularserver".into(),
            scopes: vec![TokenScope::Eingang],
            created_at: na.created_at,
            created_by: "Anna Amsel".into(),
            last_used_at: None,
            revoked_at: None,
        },
        "create_api_token returns the stored token, scopes without duplicates"
    );
    let nb = new_token("Fachverfahren", &[TokenScope::Bearbeiten, TokenScope::Lesen], t0 - Duration::hours(1));
    let b = db.tenant(&t).create_api_token(nb.clone()).await.expect("create_api_token");
    assert_eq!(b.scopes, vec![TokenScope::Lesen, TokenScope::Bearbeiten], "scopes come back sorted");
    let nc = new_token("Fremd", &[TokenScope::Lesen], t0);
    let c = db.tenant(&other).create_api_token(nc.clone()).await.expect("create_api_token");
    let clash = NewApiToken { id: ApiTokenId::new(), ..na.clone() };
    match db.tenant(&t).create_api_token(clash).await {
        Err(StorageError::Duplicate(_)) => {}
        other => panic!("a token hash in use must be Duplicate, got {other:?}"),
    }
    assert_eq!(
        db.tenant(&t).list_api_tokens().await.expect("list_api_tokens"),
        vec![b.clone(), a.clone()],
        "newest first"
    );

    let found =
        db.installation().find_api_token(&na.token_hash, t0).await.expect("find_api_token").expect("live token");
    assert_eq!((found.id, &found.tenant, &found.scopes), (a.id, &t, &a.scopes));
    let listed = db.tenant(&t).list_api_tokens().await.expect("list_api_tokens");
    assert_eq!(listed[1], ApiTokenRecord { last_used_at: Some(t0), ..a.clone() }, "the first use is recorded");
    assert!(db
        .installation()
        .find_api_token(&na.token_hash, t0 + Duration::seconds(10))
        .await
        .expect("find")
        .is_some());
    let later = t0 + Duration::minutes(5);
    db.installation().find_api_token(&na.token_hash, later).await.expect("find_api_token").expect("live token");
    let listed = db.tenant(&t).list_api_tokens().await.expect("list_api_tokens");
    assert_eq!(listed[1].last_used_at, Some(later), "later uses are recorded");
    assert_eq!(listed[0], b, "other tokens are untouched");
    let found_c =
        db.installation().find_api_token(&nc.token_hash, t0).await.expect("find_api_token").expect("any tenant");
    assert_eq!((found_c.id, &found_c.tenant), (c.id, &other));
    assert_eq!(db.installation().find_api_token(&format!("{:0>64}", 7), t0).await.expect("find_api_token"), None);

    assert_not_found(db.tenant(&other).revoke_api_token(a.id, t0).await, "revoking another tenant's token");
    assert!(
        db.installation().find_api_token(&na.token_hash, later).await.expect("find").is_some(),
        "a refused revoke changes nothing"
    );
    let revoked_at = t0 + Duration::minutes(6);
    db.tenant(&t).revoke_api_token(a.id, revoked_at).await.expect("revoke_api_token");
    assert_eq!(
        db.installation().find_api_token(&na.token_hash, later).await.expect("find_api_token"),
        None,
        "revoked tokens are dead"
    );
    db.tenant(&t).revoke_api_token(a.id, revoked_at + Duration::minutes(1)).await.expect("revoking again is fine");
    let listed = db.tenant(&t).list_api_tokens().await.expect("list_api_tokens");
    assert_eq!(listed.len(), 2, "revoked tokens stay listed");
    assert_eq!(listed[1].revoked_at, Some(revoked_at), "the first revocation counts");
    assert_not_found(db.tenant(&t).revoke_api_token(ApiTokenId::new(), t0).await, "revoking an unknown token");
    assert!(
        db.installation().find_api_token(&nb.token_hash, later).await.expect("find").is_some(),
        "other tokens live on"
    );
    assert_eq!(db.tenant(&other).list_api_tokens().await.expect("list_api_tokens").len(), 1);
}
