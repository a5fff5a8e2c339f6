//! The shared conformance suite of the storage contract. Every backend runs it against a
//! fresh, empty database:
//!
//! ```ignore
//! store::testing::run_all(std::sync::Arc::new(backend)).await;
//! ```
//!
//! Each check creates its own tenants (random slugs), users and transaction ids, so checks
//! never see each other's rows, except through the two operations that span tenants
//! (`unfinished_deliveries`, sessions by token), which the checks filter accordingly.
//! Together the checks call every method of [`Store`]: a method the shared suite never
//! calls drifts between backends.
//!
//! Behaviour the contract leaves implicit and this suite pins, so that backends agree:
//! - Worklist order is `(sort column, id)`, both in the requested direction; `Status` sorts
//!   by the status code (`VorgangStatus::as_str`, which is also the alphabetical order of the
//!   labels); text sorts byte-wise; a missing Aktenzeichen sorts *before* every Aktenzeichen
//!   ascending and after every one descending (like Rust's `Option`; PostgreSQL needs
//!   `NULLS FIRST` / `NULLS LAST` for that).
//! - The quarantine lists the newest delivery first.
//! - Withdrawing a Löschanforderung clears `status_before_deletion_request`.
//! - Deleting an unknown session is not an error (logout is idempotent).
//! - Transaction ids and Vorgangsnummern are unique per tenant, not per installation.
//! - Timestamps round-trip at millisecond precision (the suite only stores whole seconds).
//! - An export lists units, users, deliveries and Vorgänge by id, events and audit entries by
//!   sequence number; an import into another tenant (even of the same store) reproduces every
//!   read of the source except `seq`, the records' `tenant` and the tenant's host. Kennungen
//!   are unique in the installation, so an import into the same store needs other kennungen
//!   (the suite appends a suffix); unchanged ones are `Duplicate("kennung")`.
//! - Roles, units and token scopes come back sorted without duplicates; tenants and units are
//!   listed by name (byte-wise), API tokens newest first (`created_at`, then id), the audit log
//!   newest first.
//! - Quarantining or marking unroutable a delivery that has its Vorgang is not an error and
//!   changes nothing. A moved delivery is RECEIVED in the target with its error cleared and its
//!   attempts kept; completing an UNROUTABLE delivery in place works like a QUARANTINED one.
//! - `set_password` and disabling end the user's sessions; other updates keep them.
//! - Revoking again keeps the first `revoked_at`. `find_api_token` records the first use and
//!   any use a minute or more after the recorded one (the suite does not pin uses in between).
//! - A visibility covering nothing yields empty pages, zero counts and no claim.
//! - Login failures: see `domain::user::after_failed_login`; a failure below the limit keeps
//!   an earlier `locked_until`.
//! - Kommentare are listed by `(at, id)`; `at` is the store's clock at the millisecond. The
//!   Wiedervorlagen of a Vorgang are listed open ones first, each group by `(frist, id)`; the
//!   view across Vorgänge by `(frist, id)`. Listing the notes of a Vorgang the tenant does not
//!   hold is NotFound (like `history`). Note events carry the Frist as `YYYY-MM-DD`.
//!   Updating a done Wiedervorlage without reopening it keeps its `erledigt_at`.
//! - The Notes section exports Kommentare by id, then Wiedervorlagen by id, then clerks'
//!   documents by id (see `testing/documents.rs` for those and for final deletion).

use crate::{
    Actor, ApiTokenRecord, AuditQuery, AuditRecord, DeliveryId, DeliveryRecord, DeliveryStatus, DocumentKind,
    DocumentRecord, EventRecord, ExportCounts, ExportRecord, ExportSection, IntakeOutcome, NewApiToken, NewAuditEntry,
    NewDelivery, NewSession, NewTenant, NewUnit, NewUser, NewVorgang, NewWiedervorlage, SortKey, StatusCounts,
    StorageError, Store, TenantSettings, UnitRecord, UserRecord, UserRef, UserUpdate, View, VorgangChange, VorgangHead,
    VorgangListItem, WiedervorlageRecord, WiedervorlageUpdate, WiedervorlagenQuery, WorklistPage, WorklistQuery,
};
use domain::{
    Aktenzeichen, Antragsteller, ApiTokenId, DocumentId, FormItem, FormValue, KommentarId, Role, StatusCommand,
    TenantId, TenantKind, TokenScope, TransactionId, UnitId, UserId, Visibility, VorgangEvent, VorgangId,
    VorgangStatus, Vorgangsnummer, WiedervorlageId,
};
use serde_json::json;
use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

mod documents;
mod jobs;
mod portal;
mod search;
mod sequences;

pub use documents::*;
pub use jobs::*;
pub use portal::*;
pub use search::*;
pub use sequences::*;

/// The store under test.
pub type Db = Arc<dyn Store>;

/// Calls `$m!` with the name of every check of the storage contract, so that each backend
/// runs each check as a test of its own (one failure does not hide the others):
///
/// ```ignore
/// macro_rules! conformance { ($($check:ident),* $(,)?) => { $( #[tokio::test] async fn $check() { /* open a store */ store::testing::$check(&db).await; } )* } }
/// store::for_each_conformance_check!(conformance);
/// ```
#[macro_export]
macro_rules! for_each_conformance_check {
    ($m:ident) => {
        $m! {
            backend_names_itself,
            tenant_creation_is_idempotent,
            intake_creates_vorgang,
            intake_is_idempotent_on_transaction_id,
            taken_nummer_is_reported,
            quarantine_is_listed_until_reprocessed,
            unfinished_deliveries_lists_received_only,
            find_by_transaction_finds_the_head,
            get_vorgang_round_trips,
            get_document_returns_stored_documents,
            events_after_pages_the_tenant_log,
            worklist_views,
            worklist_status_filter,
            worklist_sorting,
            worklist_paging,
            status_counts_per_view,
            status_changes_and_deletion_request,
            assign_changes,
            aktenzeichen_set_and_clear,
            stale_version_conflicts,
            claim_next_takes_oldest_unassigned_neu,
            claim_next_is_atomic_under_concurrency,
            users_lifecycle,
            sessions_lifecycle,
            tenants_lifecycle,
            units_lifecycle,
            unroutable_and_moved_deliveries,
            vorgang_units,
            visibility_restricts_worklist_counts_and_claims,
            users_roles_units_and_oidc,
            lockout_counts_failures,
            expired_sessions_are_swept,
            api_tokens_lifecycle,
            audit_log,
            export_pages_a_tenant_completely,
            import_moves_a_tenant,
            import_refuses_a_tenant_in_use,
            tenant_isolation,
            kommentare_are_added_and_listed,
            wiedervorlagen_lifecycle,
            wiedervorlagen_across_vorgaenge,
            search_matches_german_spellings,
            search_ands_terms_over_all_fields,
            search_follows_aktenzeichen_changes,
            search_respects_view_status_and_visibility,
            search_is_tenant_isolated,
            worklist_filters,
            search_survives_export_and_import,
            search_forgets_deleted_vorgaenge,
            control_characters_do_not_break_the_index,
            clerk_documents_are_kept_apart,
            final_deletion_purges_the_vorgang,
            clerk_documents_and_deletions_move_with_the_tenant,
            jobs_are_enqueued_once_and_claimed_by_one_worker,
            failed_attempts_retry_then_land_in_the_dead_letter_list,
            expired_leases_are_taken_again,
            concurrent_claims_take_each_job_once,
            completed_jobs_are_pruned,
            event_cursors_move_once_with_their_jobs,
            event_and_audit_numbers_are_per_tenant,
            portal_sessions_live_apart_from_clerk_sessions
        }
    };
}

/// Runs every check of the storage contract against `store`, one after another. Panics on
/// the first failure, naming the check (printed before it runs) and the expectation.
pub async fn run_all(store: Arc<dyn Store>) {
    macro_rules! run {
        ($($check:ident),* $(,)?) => {
            $(
                eprintln!("storage conformance [{}]: {}", store.backend(), stringify!($check));
                $check(&store).await;
            )*
        };
    }
    for_each_conformance_check!(run);
}

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

fn short() -> String {
    Uuid::new_v4().simple().to_string()[..12].to_owned()
}

fn new_tenant(id: &TenantId, name: &str) -> NewTenant {
    NewTenant { id: id.clone(), name: name.to_owned(), kind: TenantKind::Stadt, host: None }
}

async fn fresh_tenant(db: &Db) -> TenantId {
    let t = TenantId::parse(&format!("t-{}", short())).expect("valid tenant slug");
    db.ensure_tenant(new_tenant(&t, "Testmandant")).await.expect("ensure_tenant");
    t
}

fn tx_id() -> TransactionId {
    TransactionId::parse(&format!("tx-{}", Uuid::new_v4())).expect("valid transaction id")
}

/// Whole minutes after a fixed morning, so stored timestamps round-trip exactly.
fn at(minutes: i64) -> OffsetDateTime {
    datetime!(2024-03-01 08:00 UTC) + Duration::minutes(minutes)
}

/// Now, truncated to whole seconds.
fn now_s() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).expect("zero nanoseconds")
}

fn actor(user: &UserRecord) -> Actor {
    Actor { user: Some(user.id), name: user.display_name.clone() }
}

fn system() -> Actor {
    Actor::system("Konformitätstest")
}

fn applicant_person() -> Antragsteller {
    Antragsteller {
        vorname: Some("Klara".into()),
        nachname: Some("Muster".into()),
        firma: None,
        strasse: Some("Hauptstraße".into()),
        hausnummer: Some("1a".into()),
        plz: Some("24103".into()),
        ort: Some("Kiel".into()),
        email: Some("klara@example.org".into()),
        telefon: Some("+49 431 123456".into()),
        postfach_id: Some("postfach-4711".into()),
    }
}

fn applicant_firm() -> Antragsteller {
    Antragsteller { firma: Some("Bäckerei Größe GmbH".into()), ort: Some("Lübeck".into()), ..Default::default() }
}

fn form_data() -> Vec<FormItem> {
    vec![
        FormItem::group(
            "antragsteller",
            "Antragsteller",
            vec![
                FormItem::field("pers_vorname", "Vorname", FormValue::String("Klara".into())),
                FormItem::field("pers_nachname", "Nachname", FormValue::String("Muster".into())),
                FormItem::group(
                    "kinder",
                    "Kinder",
                    vec![FormItem::field("alter", "Alter", FormValue::Number(serde_json::Number::from(4)))],
                ),
            ],
        ),
        FormItem::field(
            "flaeche",
            "Fläche in m²",
            FormValue::Number(serde_json::Number::from_f64(12.5).expect("finite")),
        ),
        FormItem::field("beginn", "Beginn", FormValue::Date("2024-04-01".into())),
        FormItem::field("zustimmung", "Zustimmung", FormValue::Boolean(true)),
        // No label, no value: both must stay absent.
        FormItem { name: "leer".into(), label: None, value: None, items: vec![] },
        FormItem::field("sonderzeichen", "Ünïcödé „Zitat“", FormValue::String("Zeile 1\nZeile 2 \u{1F600}".into())),
    ]
}

fn new_vorgang(eingang_at: OffsetDateTime, form_name: &str) -> NewVorgang {
    let id = VorgangId::new();
    let document = |kind: DocumentKind, filename: &str, content_type: &str, size: u64| {
        let doc = DocumentId::new();
        DocumentRecord {
            id: doc,
            vorgang_id: id,
            kind,
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            size,
            blob_key: format!("dokument/{doc}"),
            sha256: format!("{:0>64}", doc.0.simple()),
        }
    };
    NewVorgang {
        id,
        nummer: Vorgangsnummer::generate(eingang_at.date(), &mut rand::thread_rng()),
        transaction_id: tx_id(),
        eingang_at,
        form_id: "gewerbe-an".into(),
        form_name: form_name.to_owned(),
        zustaendige_stelle: "10363455".into(),
        unit: None,
        leika_ids: vec!["99050012104000".into(), "99050012104001".into()],
        applicant: applicant_person(),
        control: json!({
            "transactionId": "wird nicht ausgewertet",
            "zustaendigeStelle": "10363455",
            "organisationsEinheitenId": 10363455,
            "serviceKonto": {"type": "OSI", "postfachAddress": {"identifier": "postfach-4711", "type": 1}},
            "extra": [1, 2.5, null, true, "Größe"]
        }),
        form_data: form_data(),
        documents: vec![
            document(DocumentKind::Representation, "antrag.pdf", "application/pdf", 48_213),
            document(DocumentKind::Attachment, "Lageplan Straße.png", "image/png", 1_024),
            document(DocumentKind::Attachment, "ausweis.jpg", "image/jpeg", 0),
        ],
    }
}

fn new_delivery(tenant: &TenantId, received_at: OffsetDateTime) -> NewDelivery {
    let id = DeliveryId::new();
    NewDelivery {
        id,
        tenant: tenant.clone(),
        received_at,
        channel: "antrag-multipart".into(),
        content_type: "multipart/form-data; boundary=xyz".into(),
        blob_key: format!("eingang/{id}"),
        size: 123_456,
    }
}

async fn record(db: &Db, tenant: &TenantId, received_at: OffsetDateTime) -> NewDelivery {
    let d = new_delivery(tenant, received_at);
    db.record_delivery(d.clone()).await.expect("record_delivery");
    d
}

/// Records a delivery and completes it into `v`; panics unless a Vorgang is created.
async fn intake(db: &Db, tenant: &TenantId, v: NewVorgang) -> VorgangHead {
    let d = record(db, tenant, v.eingang_at).await;
    match db.complete_intake(tenant, d.id, v).await.expect("complete_intake") {
        IntakeOutcome::Created(head) => head,
        other => {
            panic!("complete_intake of a new transaction id must create a Vorgang, got {other:?}")
        }
    }
}

async fn new_user(db: &Db, tenant: &TenantId, prefix: &str, display_name: &str) -> UserRecord {
    let username = format!("{prefix}-{}", short());
    let user = NewUser {
        id: UserId::new(),
        tenant: tenant.clone(),
        email: Some(format!("{username}@example.org")),
        username,
        display_name: display_name.to_owned(),
        roles: vec![Role::Sachbearbeitung],
        units: vec![],
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${}", short()),
        oidc_subject: None,
    };
    db.create_user(user).await.expect("create_user")
}

/// Moves the Vorgang by `command` as the web layer does: read, decide by the domain, apply.
async fn move_status(
    db: &Db,
    tenant: &TenantId,
    id: VorgangId,
    command: StatusCommand,
    reason: Option<&str>,
    actor: &Actor,
) -> VorgangHead {
    let current = db.get_vorgang(tenant, id).await.expect("get_vorgang before a status move");
    let to = domain::vorgang::decide_status_move(
        command,
        current.head.status,
        current.status_before_deletion_request,
        reason,
    )
    .expect("legal status move");
    let change = VorgangChange::Status { command, from: current.head.status, to, reason: reason.map(str::to_owned) };
    let head = db.apply_change(tenant, id, current.head.version, change, actor).await.expect("apply_change status");
    assert_eq!(head.status, to, "apply_change returns the new status");
    assert_eq!(head.version, current.head.version + 1, "every change increments the version by one");
    head
}

async fn assign(db: &Db, tenant: &TenantId, head: &VorgangHead, to: Option<UserId>, actor: &Actor) -> VorgangHead {
    db.apply_change(tenant, head.id, head.version, VorgangChange::Assign { to }, actor)
        .await
        .expect("apply_change assign")
}

async fn set_aktenzeichen(
    db: &Db,
    tenant: &TenantId,
    head: &VorgangHead,
    az: Option<&str>,
    actor: &Actor,
) -> VorgangHead {
    let az = az.map(|a| Aktenzeichen::parse(a).expect("valid Aktenzeichen").expect("non-empty Aktenzeichen"));
    db.apply_change(tenant, head.id, head.version, VorgangChange::Aktenzeichen(az), actor)
        .await
        .expect("apply_change aktenzeichen")
}

#[track_caller]
fn assert_not_found<T: Debug>(result: crate::Result<T>, what: &str) {
    match result {
        Err(StorageError::NotFound) => {}
        other => panic!("{what}: expected StorageError::NotFound, got {other:?}"),
    }
}

fn by_id(mut docs: Vec<DocumentRecord>) -> Vec<DocumentRecord> {
    docs.sort_by_key(|d| d.id);
    docs
}

fn kinds(events: &[EventRecord]) -> Vec<&'static str> {
    events.iter().map(|e| e.event.kind()).collect()
}

#[track_caller]
fn assert_seq_increasing(events: &[EventRecord], what: &str) {
    for pair in events.windows(2) {
        assert!(
            pair[0].seq < pair[1].seq,
            "{what}: event seqs must strictly increase: {} then {}",
            pair[0].seq,
            pair[1].seq
        );
    }
}

fn query(
    view: View,
    status: Option<VorgangStatus>,
    sort: SortKey,
    descending: bool,
    page: u32,
    per_page: u32,
) -> WorklistQuery {
    WorklistQuery {
        visibility: Visibility::Tenant,
        view,
        status,
        sort,
        descending,
        page,
        per_page,
        filter: Default::default(),
    }
}

async fn all_of(db: &Db, tenant: &TenantId, view: View) -> WorklistPage {
    db.worklist(tenant, &query(view, None, SortKey::EingangAt, false, 0, 1000)).await.expect("worklist")
}

// ---------------------------------------------------------------------------------------
// tenants, intake
// ---------------------------------------------------------------------------------------

pub async fn backend_names_itself(db: &Db) {
    assert!(!db.backend().trim().is_empty(), "backend() names the engine");
}

pub async fn tenant_creation_is_idempotent(db: &Db) {
    let t = TenantId::parse(&format!("t-{}", short())).expect("slug");
    let first = db.ensure_tenant(new_tenant(&t, "Stadt Kiel")).await.expect("ensure_tenant, first");
    assert_eq!(
        (&first.id, first.name.as_str(), first.kind, &first.host, first.ip_allowlist.is_empty()),
        (&t, "Stadt Kiel", TenantKind::Stadt, &None, true),
        "ensure_tenant creates the tenant as given"
    );
    assert_eq!(db.get_tenant(&t).await.expect("get_tenant"), first, "ensure_tenant returns the stored tenant");
    let again = db.ensure_tenant(new_tenant(&t, "Stadt Kiel")).await.expect("ensure_tenant again must succeed");
    assert_eq!(again, first);
    let renamed = NewTenant { kind: TenantKind::Landkreis, ..new_tenant(&t, "Landeshauptstadt Kiel") };
    let existing = db.ensure_tenant(renamed).await.expect("ensure_tenant with another name must succeed");
    assert_eq!(existing, first, "ensure_tenant returns an existing tenant unchanged");
    // The tenant is usable.
    let d = record(db, &t, at(0)).await;
    let got = db.get_delivery(&t, d.id).await.expect("get_delivery in the ensured tenant");
    assert_eq!(got.tenant, t);
    let head = intake(db, &t, new_vorgang(at(1), "Gewerbeanmeldung")).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    assert_eq!(db.count_users(&t).await.expect("count_users"), 1, "tenant re-ensured, data intact");
    assert_eq!(db.get_vorgang(&t, head.id).await.expect("get_vorgang").head, head);
    db.ensure_tenant(new_tenant(&t, "Kiel")).await.expect("ensure_tenant on a tenant with data");
    assert_eq!(db.get_user(&t, u.id).await.expect("get_user"), u, "ensure_tenant keeps the tenant's data");
    assert_eq!(db.get_tenant(&t).await.expect("get_tenant").name, "Stadt Kiel");
}

pub async fn intake_creates_vorgang(db: &Db) {
    let t = fresh_tenant(db).await;
    let d = new_delivery(&t, at(0));
    db.record_delivery(d.clone()).await.expect("record_delivery");
    let recorded = db.get_delivery(&t, d.id).await.expect("get_delivery after record_delivery");
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
    assert_not_found(db.get_delivery(&t, DeliveryId::new()).await, "get_delivery of an unknown id");

    let v = new_vorgang(at(0), "Gewerbeanmeldung");
    let outcome = db.complete_intake(&t, d.id, v.clone()).await.expect("complete_intake");
    let IntakeOutcome::Created(head) = outcome else { panic!("first intake must be Created, got {outcome:?}") };
    assert_eq!(head.id, v.id, "the Vorgang gets the id the caller chose");
    assert_eq!(head.nummer, v.nummer);
    assert_eq!(head.status, VorgangStatus::Neu, "a new Vorgang is NEU");
    assert_eq!(head.version, 1, "a new Vorgang is at version 1");

    let delivery = db.get_delivery(&t, d.id).await.expect("get_delivery after intake");
    assert_eq!(delivery.status, DeliveryStatus::Processed, "the delivery is PROCESSED");
    assert_eq!(delivery.vorgang_id, Some(v.id), "the delivery links its Vorgang");
    assert_eq!(delivery.attempts, 1);

    let rec = db.get_vorgang(&t, v.id).await.expect("get_vorgang after intake");
    assert_eq!(rec.head, head, "get_vorgang returns the head complete_intake returned");
    assert_eq!(by_id(rec.documents.clone()), by_id(v.documents.clone()), "documents are stored with the Vorgang");

    let history = db.history(&t, v.id).await.expect("history");
    assert_eq!(history.len(), 1, "intake records exactly one event: {history:?}");
    assert_eq!(history[0].vorgang_id, v.id);
    assert_eq!(history[0].actor.user, None, "intake is done by the system");
    assert_eq!(
        history[0].event,
        VorgangEvent::Eingegangen {
            vorgang_nummer: v.nummer.to_string(),
            form_name: v.form_name.clone(),
            transaction_id: v.transaction_id.to_string(),
        }
    );
    let events = db.events_after(&t, 0, 100).await.expect("events_after");
    assert_eq!(events, history, "the tenant's event log holds the EINGEGANGEN event");
    assert_not_found(db.history(&t, VorgangId::new()).await, "history of an unknown Vorgang");

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
    let outcome = db.complete_intake(&t, again.id, repeated.clone()).await.expect("complete_intake, repeated");
    assert_eq!(
        outcome,
        IntakeOutcome::Duplicate(head.clone()),
        "a repeated transaction id yields the existing Vorgang"
    );
    let delivery = db.get_delivery(&t, again.id).await.expect("get_delivery of the repeated delivery");
    assert_eq!(delivery.status, DeliveryStatus::Duplicate, "the repeated delivery is DUPLICATE");
    assert_eq!(delivery.vorgang_id, Some(head.id), "the repeated delivery links the existing Vorgang");
    assert_not_found(db.get_vorgang(&t, repeated.id).await, "no second Vorgang for a repeated transaction id");
    for doc in &repeated.documents {
        assert_not_found(db.get_document(&t, doc.id).await, "documents of a duplicate are not stored");
    }
    assert_eq!(all_of(db, &t, View::Alle).await.total, 1, "still one Vorgang");
    assert_eq!(db.history(&t, head.id).await.expect("history").len(), 1, "no event for a duplicate");
    assert_eq!(db.get_vorgang(&t, head.id).await.expect("get_vorgang").head, head, "the Vorgang is unchanged");

    // A third time, after the Vorgang moved on: the current head comes back.
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let moved = move_status(db, &t, head.id, StatusCommand::Annehmen, None, &actor(&u)).await;
    let third = record(db, &t, at(9)).await;
    let outcome = db.complete_intake(&t, third.id, repeated).await.expect("complete_intake, third");
    assert_eq!(outcome, IntakeOutcome::Duplicate(moved), "a duplicate returns the current head");

    // The same delivery processed a second time (a recovery racing the first processing)
    // leaves the delivery that created the Vorgang PROCESSED, not relabelled DUPLICATE.
    let d = record(db, &t, at(11)).await;
    let v = new_vorgang(at(11), "Hundesteuer");
    let created = db.complete_intake(&t, d.id, v.clone()).await.expect("complete_intake, first processing");
    let again = db.complete_intake(&t, d.id, v).await.expect("complete_intake, second processing");
    assert_eq!(again, IntakeOutcome::Duplicate(created.head().clone()));
    let delivery = db.get_delivery(&t, d.id).await.expect("get_delivery");
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
    match db.complete_intake(&t, d.id, clash.clone()).await {
        Err(StorageError::NummerTaken) => {}
        other => panic!("a taken Vorgangsnummer must be StorageError::NummerTaken, got {other:?}"),
    }
    assert_eq!(db.find_by_transaction(&t, &clash.transaction_id).await.expect("find_by_transaction"), None);
    assert_not_found(db.get_vorgang(&t, clash.id).await, "nothing is created on NummerTaken");
    for doc in &clash.documents {
        assert_not_found(db.get_document(&t, doc.id).await, "no documents are stored on NummerTaken");
    }
    let delivery = db.get_delivery(&t, d.id).await.expect("get_delivery");
    assert_eq!(delivery.status, DeliveryStatus::Received, "the delivery stays RECEIVED for the retry");
    assert_eq!(db.history(&t, first.id).await.expect("history").len(), 1);
    assert_eq!(db.events_after(&t, 0, 100).await.expect("events_after").len(), 1, "no event on NummerTaken");

    // The caller draws another number and retries.
    clash.nummer = loop {
        let n = Vorgangsnummer::generate(at(1).date(), &mut rand::thread_rng());
        if n != first.nummer {
            break n;
        }
    };
    let outcome = db.complete_intake(&t, d.id, clash.clone()).await.expect("complete_intake retry");
    assert!(matches!(outcome, IntakeOutcome::Created(_)), "the retry creates the Vorgang: {outcome:?}");
    assert_eq!(all_of(db, &t, View::Alle).await.total, 2);
}

pub async fn quarantine_is_listed_until_reprocessed(db: &Db) {
    let t = fresh_tenant(db).await;
    let (empty, total) =
        db.list_quarantine(&t, DeliveryStatus::Quarantined, 10, 0).await.expect("list_quarantine, empty");
    assert!(empty.is_empty() && total == 0, "a fresh tenant has an empty quarantine");

    let mut ds = Vec::new();
    for i in 0..3 {
        let d = record(db, &t, at(i)).await;
        db.quarantine_delivery(&t, d.id, &format!("formData[{i}].name"), "fehlt").await.expect("quarantine_delivery");
        ds.push(d);
    }
    let ok = record(db, &t, at(10)).await; // stays RECEIVED: not in the quarantine
    let (items, total) = db.list_quarantine(&t, DeliveryStatus::Quarantined, 10, 0).await.expect("list_quarantine");
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
    assert_eq!(db.get_delivery(&t, ds[0].id).await.expect("get_delivery"), *q0, "get_delivery agrees with the list");
    assert!(!ids.contains(&ok.id));

    let (page1, total1) =
        db.list_quarantine(&t, DeliveryStatus::Quarantined, 2, 0).await.expect("list_quarantine page 1");
    let (page2, total2) =
        db.list_quarantine(&t, DeliveryStatus::Quarantined, 2, 2).await.expect("list_quarantine page 2");
    assert_eq!((total1, total2), (3, 3), "the total ignores limit and offset");
    let paged: Vec<DeliveryId> = page1.iter().chain(page2.iter()).map(|d| d.id).collect();
    assert_eq!(paged, ids, "limit/offset page through the same order");
    assert!(db
        .list_quarantine(&t, DeliveryStatus::Quarantined, 2, 4)
        .await
        .expect("list_quarantine past the end")
        .0
        .is_empty());

    // Quarantining again (a second failed attempt) updates the error.
    db.quarantine_delivery(&t, ds[1].id, "control", "muss ein Objekt sein").await.expect("quarantine again");
    let again = db.get_delivery(&t, ds[1].id).await.expect("get_delivery");
    assert_eq!(again.error_field.as_deref(), Some("control"));
    assert_eq!(again.error_message.as_deref(), Some("muss ein Objekt sein"));
    assert_eq!(again.attempts, 2);

    // Re-processed successfully: it leaves the quarantine and its error is cleared.
    let v = new_vorgang(at(20), "Gewerbeanmeldung");
    let outcome = db.complete_intake(&t, ds[1].id, v.clone()).await.expect("complete_intake of a quarantined delivery");
    assert!(matches!(outcome, IntakeOutcome::Created(_)));
    let fixed = db.get_delivery(&t, ds[1].id).await.expect("get_delivery");
    assert_eq!(fixed.status, DeliveryStatus::Processed);
    assert_eq!((fixed.error_field, fixed.error_message), (None, None), "re-processing clears the error");
    assert_eq!(fixed.vorgang_id, Some(v.id));
    assert_eq!(fixed.attempts, 3);
    let (items, total) = db.list_quarantine(&t, DeliveryStatus::Quarantined, 10, 0).await.expect("list_quarantine");
    assert_eq!(total, 2);
    assert_eq!(items.iter().map(|d| d.id).collect::<Vec<_>>(), vec![ds[2].id, ds[0].id]);

    match db.quarantine_delivery(&t, DeliveryId::new(), "x", "y").await {
        Err(StorageError::NotFound) => {}
        other => {
            panic!("quarantine_delivery of an unknown delivery must be NotFound, got {other:?}")
        }
    }
    match db.complete_intake(&t, DeliveryId::new(), new_vorgang(at(30), "Hundesteuer")).await {
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
    db.quarantine_delivery(&t, quarantined.id, "control", "fehlt").await.expect("quarantine_delivery");
    let v = new_vorgang(at(-30), "Gewerbeanmeldung");
    let processed = record(db, &t, at(-30)).await;
    db.complete_intake(&t, processed.id, v.clone()).await.expect("complete_intake");
    let dup = record(db, &t, at(-20)).await;
    let mut repeated = new_vorgang(at(-20), "Gewerbeanmeldung");
    repeated.transaction_id = v.transaction_id.clone();
    db.complete_intake(&t, dup.id, repeated).await.expect("complete_intake duplicate");

    let all = db.unfinished_deliveries(100_000).await.expect("unfinished_deliveries");
    for pair in all.windows(2) {
        assert!(pair[0].received_at <= pair[1].received_at, "unfinished deliveries come oldest first");
    }
    assert!(all.iter().all(|d| d.status == DeliveryStatus::Received), "only RECEIVED deliveries are unfinished");
    let mine: Vec<DeliveryId> = all.iter().filter(|d| d.tenant == t).map(|d| d.id).collect();
    assert_eq!(mine, vec![early.id, late.id], "exactly this tenant's RECEIVED deliveries, oldest first");
    let listed = all.iter().find(|d| d.id == early.id).expect("listed");
    assert_eq!(*listed, db.get_delivery(&t, early.id).await.expect("get_delivery"), "the record is complete");

    let one = db.unfinished_deliveries(1).await.expect("unfinished_deliveries(1)");
    assert_eq!(one.len(), 1, "the limit is honoured");
    assert_eq!(one[0].received_at, all[0].received_at, "the limit keeps the oldest");
}

pub async fn find_by_transaction_finds_the_head(db: &Db) {
    let t = fresh_tenant(db).await;
    let v = new_vorgang(at(0), "Gewerbeanmeldung");
    assert_eq!(db.find_by_transaction(&t, &v.transaction_id).await.expect("find_by_transaction"), None);
    let head = intake(db, &t, v.clone()).await;
    let other = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    assert_eq!(db.find_by_transaction(&t, &v.transaction_id).await.expect("find_by_transaction"), Some(head.clone()));
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let moved = assign(db, &t, &head, Some(u.id), &actor(&u)).await;
    assert_eq!(
        db.find_by_transaction(&t, &v.transaction_id).await.expect("find_by_transaction"),
        Some(moved),
        "find_by_transaction returns the current head"
    );
    assert_eq!(db.find_by_transaction(&t, &tx_id()).await.expect("find_by_transaction unknown"), None);
    assert_ne!(other.id, head.id);
}

pub async fn get_vorgang_round_trips(db: &Db) {
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let v = new_vorgang(at(0), "Gewerbeanmeldung für Ärztinnen");
    let head = intake(db, &t, v.clone()).await;
    let rec = db.get_vorgang(&t, v.id).await.expect("get_vorgang");
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
    let rec2 = db.get_vorgang(&t, sparse.id).await.expect("get_vorgang sparse");
    assert_eq!(
        (rec2.leika_ids, rec2.applicant, rec2.control, rec2.form_data, rec2.documents),
        (vec![], Antragsteller::default(), json!({}), vec![], vec![]),
        "empty data round-trips as empty"
    );

    // After changes, the record shows them.
    let h = assign(db, &t, &head, Some(u.id), &actor(&u)).await;
    let h = set_aktenzeichen(db, &t, &h, Some("32.1-123/24"), &actor(&u)).await;
    let rec = db.get_vorgang(&t, v.id).await.expect("get_vorgang after changes");
    assert_eq!(rec.head, h);
    assert_eq!(rec.assignee, Some(UserRef { id: u.id, display_name: u.display_name.clone() }));
    assert_eq!(rec.aktenzeichen.as_deref(), Some("32.1-123/24"));
    assert_eq!(rec.form_data, v.form_data, "changes leave the form data alone");
    assert_not_found(db.get_vorgang(&t, VorgangId::new()).await, "get_vorgang of an unknown id");
}

pub async fn get_document_returns_stored_documents(db: &Db) {
    let t = fresh_tenant(db).await;
    let v = new_vorgang(at(0), "Gewerbeanmeldung");
    intake(db, &t, v.clone()).await;
    let w = new_vorgang(at(1), "Gewerbeanmeldung");
    intake(db, &t, w.clone()).await;
    for doc in v.documents.iter().chain(w.documents.iter()) {
        assert_eq!(db.get_document(&t, doc.id).await.expect("get_document"), *doc, "document round-trips");
    }
    assert_eq!(db.get_document(&t, v.documents[0].id).await.expect("get_document").vorgang_id, v.id);
    assert_eq!(db.get_document(&t, w.documents[0].id).await.expect("get_document").vorgang_id, w.id);
    assert_not_found(db.get_document(&t, DocumentId::new()).await, "get_document of an unknown id");
}

pub async fn events_after_pages_the_tenant_log(db: &Db) {
    let t = fresh_tenant(db).await;
    assert!(db.events_after(&t, 0, 100).await.expect("events_after, empty").is_empty());
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let a = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let b = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    let a = move_status(db, &t, a.id, StatusCommand::Annehmen, None, &actor(&u)).await;
    let b = assign(db, &t, &b, Some(u.id), &actor(&u)).await;
    set_aktenzeichen(db, &t, &a, Some("AZ-1"), &actor(&u)).await;
    move_status(db, &t, b.id, StatusCommand::Verwerfen, Some("Dublette"), &actor(&u)).await;

    let all = db.events_after(&t, 0, 100).await.expect("events_after");
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
    let mut merged = db.history(&t, a.id).await.expect("history a");
    merged.extend(db.history(&t, b.id).await.expect("history b"));
    merged.sort_by_key(|e| e.seq);
    assert_eq!(merged, all, "the log is the union of the histories");

    let first = db.events_after(&t, 0, 2).await.expect("events_after limit 2");
    assert_eq!(first, all[..2].to_vec(), "limit keeps the oldest");
    let next = db.events_after(&t, first[1].seq, 3).await.expect("events_after next page");
    assert_eq!(next, all[2..5].to_vec(), "after is exclusive");
    let rest = db.events_after(&t, next[2].seq, 100).await.expect("events_after rest");
    assert_eq!(rest, all[5..].to_vec());
    assert!(db.events_after(&t, all[5].seq, 100).await.expect("events_after end").is_empty());
    let changes: Vec<&EventRecord> = all.iter().filter(|e| e.event.kind() != "EINGEGANGEN").collect();
    assert!(changes.iter().all(|e| e.actor == actor(&u)), "changes record their actor");
}

// ---------------------------------------------------------------------------------------
// worklist
// ---------------------------------------------------------------------------------------

struct Fixture {
    tenant: TenantId,
    users: Vec<UserRecord>,
    /// What the worklist must show for each Vorgang.
    items: Vec<VorgangListItem>,
}

/// One fixture Vorgang: minutes after the base time, form name, status moves, index of the
/// assignee in `Fixture::users`, Aktenzeichen.
type Spec = (i64, &'static str, &'static [StatusCommand], Option<usize>, Option<&'static str>);

/// Eight Vorgänge across statuses, assignees, form names and Aktenzeichen, inserted out of
/// Eingang order.
async fn worklist_fixture(db: &Db) -> Fixture {
    use StatusCommand as C;
    let t = fresh_tenant(db).await;
    let users = vec![new_user(db, &t, "anna", "Anna Amsel").await, new_user(db, &t, "bernd", "Bernd Bär").await];
    let specs: [Spec; 8] = [
        (0, "Gewerbeanmeldung", &[], None, None),
        (10, "Hundesteuer", &[], Some(0), Some("AZ-3")),
        (20, "Anwohnerparken", &[C::Annehmen], Some(0), None),
        (30, "Gewerbeanmeldung", &[C::Annehmen, C::Bearbeiten], Some(1), Some("AZ-1")),
        (40, "Hundesteuer", &[C::Verwerfen], None, Some("AZ-2")),
        (50, "Gewerbeanmeldung", &[C::Annehmen, C::Bearbeiten, C::Abschliessen], Some(0), Some("AZ-2")),
        (60, "Anwohnerparken", &[], None, None),
        (5, "Baumfaellung", &[C::Annehmen, C::Bearbeiten, C::Bescheiden], Some(1), Some("AZ-4")),
    ];
    let mut items = Vec::new();
    for (i, (minutes, form, commands, assignee, az)) in specs.into_iter().enumerate() {
        let mut v = new_vorgang(at(minutes), form);
        v.applicant = match i % 3 {
            0 => applicant_person(),
            1 => applicant_firm(),
            _ => Antragsteller::default(),
        };
        let applicant_name = v.applicant.display_name();
        let mut head = intake(db, &t, v.clone()).await;
        let by = actor(&users[0]);
        for c in commands {
            let reason = c.requires_reason().then_some("Begründung");
            head = move_status(db, &t, head.id, *c, reason, &by).await;
        }
        if let Some(u) = assignee {
            head = assign(db, &t, &head, Some(users[u].id), &by).await;
        }
        if az.is_some() {
            head = set_aktenzeichen(db, &t, &head, az, &by).await;
        }
        items.push(VorgangListItem {
            id: head.id,
            nummer: head.nummer.clone(),
            status: head.status,
            aktenzeichen: az.map(str::to_owned),
            form_name: form.to_owned(),
            eingang_at: at(minutes),
            assignee: assignee.map(|u| users[u].as_ref()),
            applicant_name,
            version: head.version,
            naechste_frist: None,
            treffer: None,
        });
    }
    Fixture { tenant: t, users, items }
}

fn in_view(item: &VorgangListItem, view: &View) -> bool {
    match view {
        View::Alle => true,
        View::Meine(u) => item.assignee.as_ref().is_some_and(|a| a.id == *u),
        View::NichtZugewiesen => item.assignee.is_none(),
    }
}

fn expected(
    fx: &Fixture,
    view: &View,
    status: Option<VorgangStatus>,
    sort: SortKey,
    descending: bool,
) -> Vec<VorgangListItem> {
    let mut items: Vec<VorgangListItem> =
        fx.items.iter().filter(|i| in_view(i, view) && status.is_none_or(|s| i.status == s)).cloned().collect();
    items.sort_by(|a, b| {
        let by_key = match sort {
            SortKey::EingangAt => a.eingang_at.cmp(&b.eingang_at),
            SortKey::Nummer => a.nummer.as_str().cmp(b.nummer.as_str()),
            SortKey::FormName => a.form_name.cmp(&b.form_name),
            SortKey::Status => a.status.as_str().cmp(b.status.as_str()),
            SortKey::Aktenzeichen => a.aktenzeichen.cmp(&b.aktenzeichen),
        };
        let ord = by_key.then(a.id.cmp(&b.id));
        if descending {
            ord.reverse()
        } else {
            ord
        }
    });
    items
}

fn expected_counts(fx: &Fixture, view: &View) -> Vec<(VorgangStatus, u64)> {
    VorgangStatus::ALL
        .into_iter()
        .map(|s| (s, fx.items.iter().filter(|i| in_view(i, view) && i.status == s).count() as u64))
        .collect()
}

#[track_caller]
fn assert_counts(counts: &StatusCounts, want: &[(VorgangStatus, u64)], what: &str) {
    for (s, n) in want {
        assert_eq!(counts.get(*s), *n, "{what}: count of {s}");
    }
    let total: u64 = want.iter().map(|(_, n)| n).sum();
    assert_eq!(counts.total(), total, "{what}: total of the counts (each status listed once): {counts:?}");
}

fn views(fx: &Fixture) -> Vec<View> {
    vec![View::Alle, View::Meine(fx.users[0].id), View::Meine(fx.users[1].id), View::NichtZugewiesen]
}

pub async fn worklist_views(db: &Db) {
    let fx = worklist_fixture(db).await;
    for view in views(&fx) {
        let page = db
            .worklist(&fx.tenant, &query(view.clone(), None, SortKey::EingangAt, false, 0, 100))
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
                .worklist(&fx.tenant, &query(view.clone(), Some(status), SortKey::EingangAt, true, 0, 100))
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
                    .worklist(&fx.tenant, &query(view.clone(), None, sort, descending, 0, 100))
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
        .worklist(&fx.tenant, &query(View::Alle, Some(VorgangStatus::Neu), SortKey::FormName, true, 0, 100))
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
                .worklist(&fx.tenant, &query(View::Alle, None, sort, descending, page_no, 3))
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
            .worklist(&fx.tenant, &query(View::Alle, None, sort, descending, 3, 3))
            .await
            .expect("worklist page past the end");
        assert!(beyond.items.is_empty(), "a page past the end is empty");
        assert_eq!(beyond.total, 8, "a page past the end still knows the total");
    }
    // Paging inside a view with a filter.
    let view = View::Meine(fx.users[0].id);
    let want = expected(&fx, &view, None, SortKey::FormName, false);
    let p1 =
        db.worklist(&fx.tenant, &query(view.clone(), None, SortKey::FormName, false, 1, 2)).await.expect("worklist");
    assert_eq!(p1.items, want[2..].to_vec());
    assert_eq!(p1.total, want.len() as u64);
}

pub async fn status_counts_per_view(db: &Db) {
    let fx = worklist_fixture(db).await;
    for view in views(&fx) {
        let counts = db.status_counts(&fx.tenant, &Visibility::Tenant, &view).await.expect("status_counts");
        assert_counts(&counts, &expected_counts(&fx, &view), &format!("status_counts {view:?}"));
        let page = all_of(db, &fx.tenant, view.clone()).await;
        assert_counts(&page.counts, &expected_counts(&fx, &view), "worklist counts agree with status_counts");
    }
    let counts = db.status_counts(&fx.tenant, &Visibility::Tenant, &View::Alle).await.expect("status_counts");
    assert_eq!(counts.get(VorgangStatus::Neu), 3);
    assert_eq!(counts.get(VorgangStatus::Weitergeleitet), 0);
    assert_eq!(counts.total(), 8);
    let empty = fresh_tenant(db).await;
    assert_eq!(db.status_counts(&empty, &Visibility::Tenant, &View::Alle).await.expect("status_counts").total(), 0);
}

// ---------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------

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
    assert_eq!(db.get_vorgang(&t, head.id).await.expect("get_vorgang").head, h, "apply_change returns the stored head");
    let history = db.history(&t, head.id).await.expect("history");
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
    let rec = db.get_vorgang(&t, head.id).await.expect("get_vorgang");
    assert_eq!(
        rec.status_before_deletion_request,
        Some(VorgangStatus::Abgeschlossen),
        "a Löschanforderung remembers the status before it"
    );
    let history = db.history(&t, head.id).await.expect("history");
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
    let rec = db.get_vorgang(&t, head.id).await.expect("get_vorgang");
    assert_eq!(rec.head, h);
    assert_eq!(rec.status_before_deletion_request, None, "withdrawing clears status_before_deletion_request");

    // The same from VERWORFEN.
    let other = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    move_status(db, &t, other.id, C::Verwerfen, Some("Dublette"), &by).await;
    move_status(db, &t, other.id, C::LoeschenAnfordern, Some("Dublette"), &by).await;
    let rec = db.get_vorgang(&t, other.id).await.expect("get_vorgang");
    assert_eq!(rec.status_before_deletion_request, Some(VorgangStatus::Verworfen));
    let h = move_status(db, &t, other.id, C::LoeschanforderungZuruecknehmen, None, &by).await;
    assert_eq!((h.status, h.version), (VorgangStatus::Verworfen, 4), "withdrawing returns to VERWORFEN");
    let h = move_status(db, &t, other.id, C::Zurueckholen, None, &by).await;
    assert_eq!(h.status, VorgangStatus::Neu);

    let history = db.history(&t, head.id).await.expect("history");
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
    assert!(history.iter().all(|e| e.vorgang_id == head.id), "history holds only this Vorgang's events");
    for pair in history.windows(2) {
        assert!(pair[0].at <= pair[1].at, "history is in time order");
    }
    let counts = db.status_counts(&t, &Visibility::Tenant, &View::Alle).await.expect("status_counts");
    assert_eq!((counts.get(VorgangStatus::Abgeschlossen), counts.get(VorgangStatus::Neu)), (1, 1));
}

pub async fn assign_changes(db: &Db) {
    let t = fresh_tenant(db).await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let bernd = new_user(db, &t, "bernd", "Bernd Bär").await;
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;

    let h = assign(db, &t, &head, Some(anna.id), &actor(&bernd)).await;
    assert_eq!((h.version, h.status), (2, VorgangStatus::Neu), "assigning keeps the status, increments the version");
    let rec = db.get_vorgang(&t, head.id).await.expect("get_vorgang");
    assert_eq!(rec.head, h);
    assert_eq!(rec.assignee, Some(anna.as_ref()));
    let page = all_of(db, &t, View::Meine(anna.id)).await;
    assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), vec![head.id], "Meine shows the assigned Vorgang");
    assert_eq!(page.items[0].assignee, Some(anna.as_ref()));

    let h = assign(db, &t, &h, Some(bernd.id), &actor(&bernd)).await;
    assert_eq!(db.get_vorgang(&t, head.id).await.expect("get_vorgang").assignee, Some(bernd.as_ref()));
    let h = assign(db, &t, &h, None, &actor(&bernd)).await;
    assert_eq!(h.version, 4);
    assert_eq!(db.get_vorgang(&t, head.id).await.expect("get_vorgang").assignee, None, "assigning None unassigns");
    assert_eq!(all_of(db, &t, View::NichtZugewiesen).await.total, 1);

    let history = db.history(&t, head.id).await.expect("history");
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
        .apply_change(&t, head.id, h.version, VorgangChange::Assign { to: Some(UserId::new()) }, &actor(&anna))
        .await
    {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("assigning an unknown user must be InvalidReference, got {other:?}"),
    }
    let rec = db.get_vorgang(&t, head.id).await.expect("get_vorgang");
    assert_eq!((rec.head.clone(), rec.assignee), (h, None), "a refused assignment changes nothing");
    assert_eq!(db.history(&t, head.id).await.expect("history").len(), 4, "a refused assignment records no event");
}

pub async fn aktenzeichen_set_and_clear(db: &Db) {
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let h = set_aktenzeichen(db, &t, &head, Some("32.1-123/24"), &actor(&u)).await;
    assert_eq!(h.version, 2);
    assert_eq!(db.get_vorgang(&t, head.id).await.expect("get_vorgang").aktenzeichen.as_deref(), Some("32.1-123/24"));
    let page = all_of(db, &t, View::Alle).await;
    assert_eq!(page.items[0].aktenzeichen.as_deref(), Some("32.1-123/24"), "the worklist shows the Aktenzeichen");
    let h = set_aktenzeichen(db, &t, &h, Some("Ä-Größe 7"), &actor(&u)).await;
    let h = set_aktenzeichen(db, &t, &h, None, &actor(&u)).await;
    assert_eq!(h.version, 4);
    let rec = db.get_vorgang(&t, head.id).await.expect("get_vorgang");
    assert_eq!(rec.aktenzeichen, None, "setting None clears the Aktenzeichen");
    assert_eq!(rec.head, h);
    let events: Vec<VorgangEvent> =
        db.history(&t, head.id).await.expect("history").into_iter().skip(1).map(|e| e.event).collect();
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
            match db.apply_change(&t, head.id, stale, change.clone(), &actor(&u)).await {
                Err(StorageError::Conflict { current_version }) => {
                    assert_eq!(current_version, 2, "Conflict reports the current version")
                }
                other => panic!("apply_change at stale version {stale} ({change:?}) must conflict, got {other:?}"),
            }
        }
    }
    let rec = db.get_vorgang(&t, head.id).await.expect("get_vorgang");
    assert_eq!(rec.head, h, "a conflicting change changes nothing");
    assert_eq!((rec.assignee, rec.aktenzeichen), (None, None));
    assert_eq!(db.history(&t, head.id).await.expect("history").len(), 2, "a conflicting change records no event");
    // The current version still works.
    let h2 = assign(db, &t, &h, Some(u.id), &actor(&u)).await;
    assert_eq!(h2.version, 3);
    match db.apply_change(&t, VorgangId::new(), 1, VorgangChange::Assign { to: None }, &actor(&u)).await {
        Err(StorageError::NotFound) => {}
        other => panic!("apply_change on an unknown Vorgang must be NotFound, got {other:?}"),
    }
}

pub async fn claim_next_takes_oldest_unassigned_neu(db: &Db) {
    let t = fresh_tenant(db).await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let bernd = new_user(db, &t, "bernd", "Bernd Bär").await;
    assert_eq!(
        db.claim_next(&t, &Visibility::Tenant, anna.id, &actor(&anna)).await.expect("claim_next on an empty pile"),
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
    match db.claim_next(&t, &Visibility::Tenant, UserId::new(), &system()).await {
        Err(_) => {}
        Ok(got) => panic!("claim_next for an unknown user must fail, got {got:?}"),
    }
    assert_eq!(db.get_vorgang(&t, first.id).await.expect("get_vorgang").head, first, "a failed claim changes nothing");

    let by = actor(&anna);
    for (expected_head, what) in [(&first, "oldest"), (&second, "next"), (&third, "last")] {
        let got = db
            .claim_next(&t, &Visibility::Tenant, anna.id, &by)
            .await
            .expect("claim_next")
            .expect("a Vorgang on the pile");
        assert_eq!(got.id, expected_head.id, "claim_next takes the {what} unassigned NEU Vorgang");
        assert_eq!((got.status, got.version), (VorgangStatus::Neu, 2), "claiming assigns: status kept, version + 1");
        let rec = db.get_vorgang(&t, got.id).await.expect("get_vorgang");
        assert_eq!(rec.head, got);
        assert_eq!(rec.assignee, Some(anna.as_ref()), "the claimed Vorgang is assigned to the claimer");
        let history = db.history(&t, got.id).await.expect("history");
        let last = history.last().expect("an event");
        assert_eq!(last.event, VorgangEvent::Zugewiesen { from: None, to: Some("Anna Amsel".into()) });
        assert_eq!(last.actor, by);
    }
    assert_eq!(
        db.claim_next(&t, &Visibility::Tenant, anna.id, &by).await.expect("claim_next"),
        None,
        "the pile is empty"
    );
    assert_eq!(all_of(db, &t, View::Meine(anna.id)).await.total, 3);
    let accepted_now = db.get_vorgang(&t, accepted.id).await.expect("get_vorgang");
    assert_eq!(accepted_now.assignee, None, "a non-NEU Vorgang is never claimed");
}

async fn claim_with_retry(db: &Db, tenant: &TenantId, user: &UserRecord) -> Option<VorgangHead> {
    let mut attempts = 0;
    loop {
        match db.claim_next(tenant, &Visibility::Tenant, user.id, &actor(user)).await {
            Ok(got) => return got,
            Err(StorageError::Retryable(e)) if attempts < 100 => {
                attempts += 1;
                eprintln!("claim_next: retrying after {e}");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Err(e) => panic!("concurrent claim_next failed: {e:?}"),
        }
    }
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
        let rec = db.get_vorgang(&t, head.id).await.expect("get_vorgang");
        assert_eq!(rec.assignee, Some(user.as_ref()), "the Vorgang belongs to the user whose claim returned it");
        assert_eq!(db.history(&t, head.id).await.expect("history").len(), 2, "one assignment event each");
    }
    assert_eq!(all_of(db, &t, View::NichtZugewiesen).await.total, 0);
}

// ---------------------------------------------------------------------------------------
// users and sessions
// ---------------------------------------------------------------------------------------

pub async fn users_lifecycle(db: &Db) {
    let t = fresh_tenant(db).await;
    assert_eq!(db.count_users(&t).await.expect("count_users"), 0);
    assert!(db.list_users(&t).await.expect("list_users").is_empty());

    let new = NewUser {
        id: UserId::new(),
        tenant: t.clone(),
        username: format!("anna-{}", short()),
        display_name: "Anna Amsel".into(),
        email: Some("anna@example.org".into()),
        roles: vec![Role::Admin, Role::Sachbearbeitung, Role::Admin],
        units: vec![],
        password_hash: "$argon2id$v=19$eins".into(),
        oidc_subject: None,
    };
    let anna = db.create_user(new.clone()).await.expect("create_user");
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
        .create_user(NewUser {
            id: UserId::new(),
            tenant: t.clone(),
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

    match db.create_user(NewUser { id: UserId::new(), display_name: "Andere Anna".into(), ..new.clone() }).await {
        Err(StorageError::Duplicate(what)) => {
            assert_eq!(what, "username", "Duplicate names the username")
        }
        other => panic!("a taken username must be Duplicate(\"username\"), got {other:?}"),
    }
    assert_eq!(db.count_users(&t).await.expect("count_users"), 2, "a duplicate is not stored");

    assert_eq!(db.find_user_by_username(&t, &new.username).await.expect("find_user_by_username"), Some(anna.clone()));
    assert_eq!(db.find_user_by_username(&t, "niemand").await.expect("find_user_by_username unknown"), None);
    assert_eq!(db.get_user(&t, anna.id).await.expect("get_user"), anna);
    assert_not_found(db.get_user(&t, UserId::new()).await, "get_user of an unknown id");
    let mut listed = db.list_users(&t).await.expect("list_users");
    listed.sort_by_key(|u| u.id);
    let mut want = vec![anna.clone(), bernd.clone()];
    want.sort_by_key(|u| u.id);
    assert_eq!(listed, want, "list_users lists the tenant's users");

    // A one-time password must be changed; setting a new one clears the mark.
    db.require_password_change(&t, anna.id).await.expect("require_password_change");
    assert!(db.get_user(&t, anna.id).await.expect("get_user").password_change_required, "marked");
    assert!(!db.get_user(&t, bernd.id).await.expect("get_user").password_change_required, "only her");
    assert_not_found(db.require_password_change(&t, UserId::new()).await, "require_password_change of an unknown id");
    db.set_password(&t, anna.id, "$argon2id$v=19$neu").await.expect("set_password");
    let changed = db.get_user(&t, anna.id).await.expect("get_user");
    assert!(!changed.password_change_required, "set_password clears the mark");
    assert_eq!(changed.password_hash, "$argon2id$v=19$neu", "set_password stores the new hash");
    assert_eq!(UserRecord { password_hash: anna.password_hash.clone(), ..changed }, anna, "only the hash changed");
    assert_eq!(
        db.find_user_by_username(&t, &new.username).await.expect("find").map(|u| u.password_hash),
        Some("$argon2id$v=19$neu".into())
    );
    assert_eq!(
        db.get_user(&t, bernd.id).await.expect("get_user").password_hash,
        bernd.password_hash,
        "others keep theirs"
    );
    assert_not_found(db.set_password(&t, UserId::new(), "x").await, "set_password of an unknown user");
}

pub async fn sessions_lifecycle(db: &Db) {
    let t = fresh_tenant(db).await;
    let user = new_user(db, &t, "anna", "Anna Amsel").await;
    let start = now_s();
    let session = |idle_timeout_secs: i64, absolute: Duration| NewSession {
        token_hash: format!("{:0>64}", Uuid::new_v4().simple()),
        tenant: t.clone(),
        user: user.id,
        csrf_token: short(),
        created_at: start,
        idle_timeout_secs,
        absolute_expiry: start + absolute,
    };
    assert_eq!(db.get_session("unbekannt", start).await.expect("get_session unknown"), None);

    // Valid, then idle too long.
    let s = session(1800, Duration::hours(8));
    db.create_session(s.clone()).await.expect("create_session");
    let got = db.get_session(&s.token_hash, start + Duration::seconds(10)).await.expect("get_session");
    assert_eq!(
        got,
        Some(crate::SessionRecord { tenant: t.clone(), user: user.clone(), csrf_token: s.csrf_token.clone() }),
        "a live session returns its tenant, user and CSRF token"
    );
    let idle = db.get_session(&s.token_hash, start + Duration::seconds(1801)).await.expect("get_session idle");
    assert_eq!(idle, None, "a session idle longer than its timeout is gone");
    let later = db.get_session(&s.token_hash, start + Duration::seconds(20)).await.expect("get_session after expiry");
    assert_eq!(later, None, "an expired session stays gone");

    // Use restarts the idle timeout.
    let s = session(1800, Duration::hours(8));
    db.create_session(s.clone()).await.expect("create_session");
    assert!(db.get_session(&s.token_hash, start + Duration::seconds(1000)).await.expect("get_session").is_some());
    assert!(
        db.get_session(&s.token_hash, start + Duration::seconds(2700)).await.expect("get_session").is_some(),
        "using a session restarts its idle timeout"
    );
    assert_eq!(
        db.get_session(&s.token_hash, start + Duration::seconds(2700 + 1801)).await.expect("get_session"),
        None,
        "idle again after the restarted timeout"
    );

    // The absolute expiry wins over activity.
    let s = session(36_000, Duration::hours(1));
    db.create_session(s.clone()).await.expect("create_session");
    assert!(db.get_session(&s.token_hash, start + Duration::minutes(30)).await.expect("get_session").is_some());
    assert!(db.get_session(&s.token_hash, start + Duration::minutes(59)).await.expect("get_session").is_some());
    assert_eq!(
        db.get_session(&s.token_hash, start + Duration::minutes(61)).await.expect("get_session"),
        None,
        "a session ends at its absolute expiry"
    );

    // The session shows the user's current data.
    let s = session(1800, Duration::hours(8));
    db.create_session(s.clone()).await.expect("create_session");
    let update = UserUpdate {
        display_name: "Anna A.".into(),
        email: None,
        roles: vec![Role::Sachbearbeitung, Role::Poststelle],
        units: vec![],
        disabled: false,
    };
    let updated = db.update_user(&t, user.id, update).await.expect("update_user");
    let got = db.get_session(&s.token_hash, start).await.expect("get_session").expect("live session");
    assert_eq!(got.user, updated, "the session shows the user's current data");

    // Logout.
    db.delete_session(&s.token_hash).await.expect("delete_session");
    assert_eq!(db.get_session(&s.token_hash, start).await.expect("get_session after delete"), None);
    db.delete_session(&s.token_hash).await.expect("deleting a deleted session is not an error");
    db.delete_session("unbekannt").await.expect("deleting an unknown session is not an error");
}

// ---------------------------------------------------------------------------------------
// tenants and Organisationseinheiten
// ---------------------------------------------------------------------------------------

fn kennung() -> String {
    format!("k-{}", short())
}

async fn new_unit(db: &Db, tenant: &TenantId, name: &str) -> UnitRecord {
    let unit = NewUnit { id: UnitId::new(), name: name.to_owned(), kennung: kennung() };
    db.create_unit(tenant, unit).await.expect("create_unit")
}

pub async fn tenants_lifecycle(db: &Db) {
    let id = TenantId::parse(&format!("t-{}", short())).expect("slug");
    let host = format!("{id}.ozg.example");
    let new =
        NewTenant { id: id.clone(), name: "Zentrales Amt".into(), kind: TenantKind::Amt, host: Some(host.clone()) };
    let created = db.create_tenant(new.clone()).await.expect("create_tenant");
    assert_eq!(
        (&created.id, created.name.as_str(), created.kind, created.host.as_deref(), created.ip_allowlist.len()),
        (&id, "Zentrales Amt", TenantKind::Amt, Some(host.as_str()), 0),
        "create_tenant stores the tenant as given, with an empty allowlist"
    );
    assert!((OffsetDateTime::now_utc() - created.created_at).abs() < Duration::minutes(10), "created_at is now");
    assert_eq!(db.get_tenant(&id).await.expect("get_tenant"), created, "create_tenant returns the stored tenant");
    assert_not_found(db.get_tenant(&TenantId::parse(&format!("t-{}", short())).expect("slug")).await, "get_tenant");

    let again = NewTenant { host: Some(format!("andere.{host}")), ..new.clone() };
    match db.create_tenant(again).await {
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
    match db.create_tenant(clash.clone()).await {
        Err(StorageError::Duplicate("host")) => {}
        other => panic!("create_tenant with a taken host must be Duplicate(\"host\"), got {other:?}"),
    }
    assert_not_found(db.get_tenant(&other_id).await, "a refused tenant is not stored");
    assert_eq!(db.get_tenant(&id).await.expect("get_tenant"), created, "the refusals changed nothing");

    assert_eq!(db.find_tenant_by_host(&host).await.expect("find_tenant_by_host"), Some(created.clone()));
    assert_eq!(db.find_tenant_by_host(&format!("nirgends.{host}")).await.expect("find_tenant_by_host"), None);

    let other = db
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
    let updated = db.update_tenant(&id, settings.clone()).await.expect("update_tenant");
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
    assert_eq!(db.get_tenant(&id).await.expect("get_tenant"), updated);
    assert_eq!(db.find_tenant_by_host(&host).await.expect("find_tenant_by_host"), None, "the old host is free");
    assert_eq!(db.find_tenant_by_host(&host2).await.expect("find_tenant_by_host"), Some(updated.clone()));

    let steal = TenantSettings { name: "Aachen Gemeinde".into(), host: Some(host2.clone()), ip_allowlist: vec![] };
    match db.update_tenant(&other_id, steal).await {
        Err(StorageError::Duplicate("host")) => {}
        other => panic!("update_tenant to a taken host must be Duplicate(\"host\"), got {other:?}"),
    }
    assert_eq!(db.get_tenant(&other_id).await.expect("get_tenant"), other, "a refused update changes nothing");
    let freed = TenantSettings { name: "Aachen Gemeinde".into(), host: Some(host.clone()), ip_allowlist: vec![] };
    let other = db.update_tenant(&other_id, freed).await.expect("update_tenant to a freed host");
    assert_eq!(db.find_tenant_by_host(&host).await.expect("find_tenant_by_host"), Some(other.clone()));
    let unknown = TenantId::parse(&format!("t-{}", short())).expect("slug");
    assert_not_found(db.update_tenant(&unknown, settings.clone()).await, "update_tenant of an unknown tenant");
    let cleared = db
        .update_tenant(&id, TenantSettings { host: None, ip_allowlist: vec![], ..settings })
        .await
        .expect("update_tenant clearing the host");
    assert_eq!((cleared.host, cleared.ip_allowlist), (None, vec![]));
    assert_eq!(db.find_tenant_by_host(&host2).await.expect("find_tenant_by_host"), None);

    let list = db.list_tenants().await.expect("list_tenants");
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
    assert!(db.list_units(&a).await.expect("list_units").is_empty());
    let (k1, k2, k3) = (kennung(), kennung(), kennung());
    let new1 = NewUnit { id: UnitId::new(), name: "Ordnungsamt".into(), kennung: k1.clone() };
    let u1 = db.create_unit(&a, new1.clone()).await.expect("create_unit");
    assert_eq!(u1, UnitRecord { id: new1.id, tenant: a.clone(), name: "Ordnungsamt".into(), kennung: k1.clone() });
    let u2 = db
        .create_unit(&a, NewUnit { id: UnitId::new(), name: "Bauamt".into(), kennung: k2.clone() })
        .await
        .expect("create_unit");
    for (tenant, what) in [(&a, "in the same tenant"), (&b, "in another tenant")] {
        match db.create_unit(tenant, NewUnit { id: UnitId::new(), name: "Kopie".into(), kennung: k1.clone() }).await {
            Err(StorageError::Duplicate("kennung")) => {}
            other => panic!("a taken kennung {what} must be Duplicate(\"kennung\"), got {other:?}"),
        }
    }
    let u3 = db
        .create_unit(&b, NewUnit { id: UnitId::new(), name: "Ordnungsamt".into(), kennung: k3.clone() })
        .await
        .expect("the same name in another tenant is allowed");
    assert_eq!(db.list_units(&a).await.expect("list_units"), vec![u2.clone(), u1.clone()], "sorted by name");
    assert_eq!(db.list_units(&b).await.expect("list_units"), vec![u3.clone()]);

    assert_eq!(db.route_kennung(&k1).await.expect("route_kennung"), Some(u1.clone()));
    assert_eq!(db.route_kennung(&k3).await.expect("route_kennung"), Some(u3.clone()), "routing spans tenants");
    assert_eq!(db.route_kennung(&kennung()).await.expect("route_kennung unknown"), None);

    let renamed = db.update_unit(&a, u1.id, "Standesamt", &k1).await.expect("update_unit keeping the kennung");
    assert_eq!(renamed, UnitRecord { name: "Standesamt".into(), ..u1.clone() });
    for taken in [&k2, &k3] {
        match db.update_unit(&a, u1.id, "Standesamt", taken).await {
            Err(StorageError::Duplicate("kennung")) => {}
            other => panic!("update_unit to a taken kennung must be Duplicate(\"kennung\"), got {other:?}"),
        }
    }
    let k4 = kennung();
    let moved = db.update_unit(&a, u1.id, "Standesamt", &k4).await.expect("update_unit to a new kennung");
    assert_eq!(moved.kennung, k4);
    assert_eq!(db.route_kennung(&k1).await.expect("route_kennung"), None, "the old kennung routes nowhere");
    assert_eq!(db.route_kennung(&k4).await.expect("route_kennung"), Some(moved.clone()));
    assert_eq!(db.list_units(&a).await.expect("list_units"), vec![u2.clone(), moved.clone()]);
    assert_not_found(db.update_unit(&a, UnitId::new(), "X", &kennung()).await, "update_unit of an unknown unit");
    assert_not_found(db.update_unit(&b, u1.id, "X", &kennung()).await, "update_unit of another tenant's unit");
    assert_eq!(db.list_units(&a).await.expect("list_units"), vec![u2, moved], "refused updates change nothing");
}

pub async fn unroutable_and_moved_deliveries(db: &Db) {
    let platform = fresh_tenant(db).await;
    let target = fresh_tenant(db).await;
    let (empty, total) = db.list_quarantine(&platform, DeliveryStatus::Unroutable, 10, 0).await.expect("list");
    assert!(empty.is_empty() && total == 0);
    let d1 = record(db, &platform, at(0)).await;
    let d2 = record(db, &platform, at(1)).await;
    let d3 = record(db, &platform, at(2)).await;
    let message = "Keine Organisationseinheit mit der Kennung „999“";
    db.unroutable_delivery(&platform, d1.id, message).await.expect("unroutable_delivery");
    db.unroutable_delivery(&platform, d2.id, message).await.expect("unroutable_delivery");
    db.quarantine_delivery(&platform, d3.id, "control", "fehlt").await.expect("quarantine_delivery");
    let got = db.get_delivery(&platform, d1.id).await.expect("get_delivery");
    assert_eq!(
        (got.status, got.error_field.as_deref(), got.error_message.as_deref(), got.vorgang_id, got.attempts),
        (DeliveryStatus::Unroutable, Some("control.zustaendigeStelle"), Some(message), None, 1),
        "an unroutable delivery names the field and the reason"
    );
    let (items, total) = db.list_quarantine(&platform, DeliveryStatus::Unroutable, 10, 0).await.expect("list");
    assert_eq!(items.iter().map(|d| d.id).collect::<Vec<_>>(), vec![d2.id, d1.id], "unroutable ones, newest first");
    assert_eq!(total, 2);
    assert_eq!(items[1], got);
    let (items, total) = db.list_quarantine(&platform, DeliveryStatus::Quarantined, 10, 0).await.expect("list");
    assert_eq!((items.iter().map(|d| d.id).collect::<Vec<_>>(), total), (vec![d3.id], 1), "the lists are separate");
    let (page, total) = db.list_quarantine(&platform, DeliveryStatus::Unroutable, 1, 1).await.expect("list");
    assert_eq!((page.iter().map(|d| d.id).collect::<Vec<_>>(), total), (vec![d1.id], 2), "limit and offset");
    assert_not_found(db.unroutable_delivery(&platform, DeliveryId::new(), message).await, "unknown delivery");

    db.move_delivery(&platform, d1.id, &target).await.expect("move_delivery");
    assert_not_found(db.get_delivery(&platform, d1.id).await, "a moved delivery leaves its tenant");
    let moved = db.get_delivery(&target, d1.id).await.expect("get_delivery in the target");
    assert_eq!(
        moved,
        DeliveryRecord {
            tenant: target.clone(),
            status: DeliveryStatus::Received,
            error_field: None,
            error_message: None,
            ..got
        },
        "a moved delivery is RECEIVED again in the target, its payload record unchanged"
    );
    let unfinished = db.unfinished_deliveries(100_000).await.expect("unfinished_deliveries");
    assert_eq!(unfinished.iter().find(|d| d.id == d1.id).map(|d| &d.tenant), Some(&target), "processed in the target");
    let (items, total) = db.list_quarantine(&platform, DeliveryStatus::Unroutable, 10, 0).await.expect("list");
    assert_eq!((items.iter().map(|d| d.id).collect::<Vec<_>>(), total), (vec![d2.id], 1));

    let v = new_vorgang(at(3), "Gewerbeanmeldung");
    let outcome = db.complete_intake(&target, d1.id, v.clone()).await.expect("complete_intake in the target");
    assert!(matches!(outcome, IntakeOutcome::Created(_)));
    match db.move_delivery(&target, d1.id, &platform).await {
        Err(StorageError::Duplicate("delivery")) => {}
        other => panic!("moving a delivery that has its Vorgang must be Duplicate(\"delivery\"), got {other:?}"),
    }
    // A delivery that has its Vorgang is never relabelled.
    db.unroutable_delivery(&target, d1.id, message).await.expect("unroutable_delivery of a processed delivery");
    db.quarantine_delivery(&target, d1.id, "control", "fehlt").await.expect("quarantine of a processed delivery");
    let done = db.get_delivery(&target, d1.id).await.expect("get_delivery");
    assert_eq!((done.status, done.vorgang_id, done.error_field), (DeliveryStatus::Processed, Some(v.id), None));

    assert_not_found(db.move_delivery(&target, d2.id, &platform).await, "move_delivery from a tenant without it");
    assert_not_found(db.move_delivery(&platform, DeliveryId::new(), &target).await, "move_delivery of an unknown id");
    assert_eq!(db.get_delivery(&platform, d2.id).await.expect("get_delivery").status, DeliveryStatus::Unroutable);

    // Routed again where it is (a unit got the kennung meanwhile): processed like any other.
    let d4 = record(db, &target, at(4)).await;
    db.unroutable_delivery(&target, d4.id, message).await.expect("unroutable_delivery");
    let v4 = new_vorgang(at(4), "Hundesteuer");
    let outcome = db.complete_intake(&target, d4.id, v4.clone()).await.expect("complete_intake of an unroutable one");
    assert!(matches!(outcome, IntakeOutcome::Created(_)));
    let done = db.get_delivery(&target, d4.id).await.expect("get_delivery");
    assert_eq!(
        (done.status, done.vorgang_id, done.error_field, done.error_message, done.attempts),
        (DeliveryStatus::Processed, Some(v4.id), None, None, 2),
        "an unroutable delivery completed later is PROCESSED, its error cleared"
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
    assert_eq!(db.get_vorgang(&t, head.id).await.expect("get_vorgang").unit, Some(ua.id), "intake stores the unit");
    for bad_unit in [foreign.id, UnitId::new()] {
        let d = record(db, &t, at(1)).await;
        let bad = NewVorgang { unit: Some(bad_unit), ..new_vorgang(at(1), "Gewerbeanmeldung") };
        match db.complete_intake(&t, d.id, bad.clone()).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("a unit not of the tenant must be InvalidReference, got {other:?}"),
        }
        assert_not_found(db.get_vorgang(&t, bad.id).await, "nothing is created for a foreign unit");
        assert_eq!(db.get_delivery(&t, d.id).await.expect("get_delivery").status, DeliveryStatus::Received);
    }
    let plain = intake(db, &t, new_vorgang(at(2), "Hundesteuer")).await;
    assert_eq!(db.get_vorgang(&t, plain.id).await.expect("get_vorgang").unit, None);

    let h = db
        .apply_change(&t, head.id, head.version, VorgangChange::Unit { to: Some(ub.id) }, &by)
        .await
        .expect("apply_change unit");
    assert_eq!((h.status, h.version), (head.status, head.version + 1), "distributing keeps the status");
    let rec = db.get_vorgang(&t, head.id).await.expect("get_vorgang");
    assert_eq!((rec.head.clone(), rec.unit), (h.clone(), Some(ub.id)));
    for bad_unit in [foreign.id, UnitId::new()] {
        match db.apply_change(&t, head.id, h.version, VorgangChange::Unit { to: Some(bad_unit) }, &by).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("distributing to a unit not of the tenant must be InvalidReference, got {other:?}"),
        }
    }
    match db.apply_change(&t, head.id, head.version, VorgangChange::Unit { to: Some(ua.id) }, &by).await {
        Err(StorageError::Conflict { current_version }) => assert_eq!(current_version, h.version),
        other => panic!("a stale unit change must conflict, got {other:?}"),
    }
    assert_eq!(db.get_vorgang(&t, head.id).await.expect("get_vorgang"), rec, "refused changes change nothing");
    let h = db
        .apply_change(&t, head.id, h.version, VorgangChange::Unit { to: None }, &by)
        .await
        .expect("apply_change unit none");
    assert_eq!(db.get_vorgang(&t, head.id).await.expect("get_vorgang").unit, None);
    db.apply_change(&t, plain.id, plain.version, VorgangChange::Unit { to: Some(ua.id) }, &by)
        .await
        .expect("apply_change unit");
    // Events keep the names of their time.
    db.update_unit(&t, ua.id, "Ordnungsamt (neu)", &ua.kennung).await.expect("update_unit");

    let events: Vec<VorgangEvent> =
        db.history(&t, head.id).await.expect("history").into_iter().skip(1).map(|e| e.event).collect();
    assert_eq!(
        events,
        vec![
            VorgangEvent::EinheitGeaendert { from: Some("Ordnungsamt".into()), to: Some("Bauamt".into()) },
            VorgangEvent::EinheitGeaendert { from: Some("Bauamt".into()), to: None },
        ],
        "distribution is recorded with unit names"
    );
    assert_eq!(h.version, 3);
    let last = db.history(&t, plain.id).await.expect("history");
    assert_eq!(
        last.last().map(|e| (&e.event, &e.actor)),
        Some((&VorgangEvent::EinheitGeaendert { from: None, to: Some("Ordnungsamt".into()) }, &by))
    );
    let only_a = Visibility::Restricted { units: vec![ua.id], user: None, all_new: false };
    let counts = db.status_counts(&t, &only_a, &View::Alle).await.expect("status_counts");
    assert_eq!(counts.total(), 1, "counts follow the unit changes");
    let only_b = Visibility::Restricted { units: vec![ub.id], user: None, all_new: false };
    assert_eq!(db.status_counts(&t, &only_b, &View::Alle).await.expect("status_counts").total(), 0);
}

// ---------------------------------------------------------------------------------------
// visibility
// ---------------------------------------------------------------------------------------

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
            let page = db.worklist(&t, &q).await.expect("worklist");
            assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), want_ids, "worklist {what}");
            assert_eq!(page.total, want_ids.len() as u64, "worklist total {what}");
            assert_counts(&page.counts, &want_counts, &format!("worklist counts {what}"));
            let counts = db.status_counts(&t, vis, view).await.expect("status_counts");
            assert_counts(&counts, &want_counts, &format!("status_counts {what}"));
            for sort in SortKey::ALL {
                let q = WorklistQuery { visibility: vis.clone(), ..query(view.clone(), None, sort, true, 0, 100) };
                let mut got: Vec<VorgangId> =
                    db.worklist(&t, &q).await.expect("worklist").items.iter().map(|i| i.id).collect();
                got.sort();
                let mut want = want_ids.clone();
                want.sort();
                assert_eq!(got, want, "worklist {what} sorted by {sort:?}: the same Vorgänge");
            }
            let q = WorklistQuery {
                visibility: vis.clone(),
                ..query(view.clone(), Some(VorgangStatus::Neu), SortKey::EingangAt, false, 0, 100)
            };
            let page = db.worklist(&t, &q).await.expect("worklist");
            let want_neu: Vec<VorgangId> = covered.iter().filter(|c| c.4 == VorgangStatus::Neu).map(|c| c.0).collect();
            assert_eq!(page.items.iter().map(|i| i.id).collect::<Vec<_>>(), want_neu, "worklist {what} NEU only");
            assert_eq!(page.total, want_neu.len() as u64);
        }
    }

    // The pile within the visibility.
    let nothing = Visibility::Restricted { units: vec![], user: None, all_new: false };
    assert_eq!(db.claim_next(&t, &nothing, anna.id, &by).await.expect("claim_next"), None, "nothing to see");
    let unknown = Visibility::Restricted { units: vec![UnitId::new()], user: Some(anna.id), all_new: false };
    assert_eq!(db.claim_next(&t, &unknown, anna.id, &by).await.expect("claim_next"), None);
    let bauamt = Visibility::Restricted { units: vec![ub.id], user: Some(bernd.id), all_new: false };
    let got = db.claim_next(&t, &bauamt, bernd.id, &actor(&bernd)).await.expect("claim_next").expect("one in B");
    assert_eq!(got.id, all[1].0, "claim_next takes the oldest unassigned NEU Vorgang of the unit");
    assert_eq!(db.claim_next(&t, &bauamt, bernd.id, &actor(&bernd)).await.expect("claim_next"), None);
    let ordnungsamt = Visibility::Restricted { units: vec![ua.id], user: Some(anna.id), all_new: false };
    let got = db.claim_next(&t, &ordnungsamt, anna.id, &by).await.expect("claim_next").expect("one in A");
    assert_eq!(got.id, all[0].0);
    assert_eq!(db.claim_next(&t, &ordnungsamt, anna.id, &by).await.expect("claim_next"), None, "none without unit");
    let poststelle = Visibility::Restricted { units: vec![], user: None, all_new: true };
    let got = db.claim_next(&t, &poststelle, anna.id, &by).await.expect("claim_next").expect("the one without unit");
    assert_eq!(got.id, all[3].0, "the Poststelle sees every NEU one");
    assert_eq!(db.claim_next(&t, &poststelle, anna.id, &by).await.expect("claim_next"), None);
    assert_eq!(db.claim_next(&t, &Visibility::Tenant, anna.id, &by).await.expect("claim_next"), None);
}

// ---------------------------------------------------------------------------------------
// users: roles, units, OIDC, lockout, sessions
// ---------------------------------------------------------------------------------------

fn session_for(user: &UserRecord, start: OffsetDateTime, idle_timeout_secs: i64, absolute: Duration) -> NewSession {
    NewSession {
        token_hash: format!("{:0>64}", Uuid::new_v4().simple()),
        tenant: user.tenant.clone(),
        user: user.id,
        csrf_token: short(),
        created_at: start,
        idle_timeout_secs,
        absolute_expiry: start + absolute,
    }
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
        tenant: t.clone(),
        username: format!("dora-{}", short()),
        display_name: "Dora Dachs".into(),
        email: None,
        roles: vec![Role::Poststelle, Role::Sachbearbeitung, Role::Poststelle],
        units: vec![u2.id, u1.id, u2.id],
        password_hash: String::new(),
        oidc_subject: Some(subject.clone()),
    };
    let dora = db.create_user(new.clone()).await.expect("create_user");
    let mut units = vec![u1.id, u2.id];
    units.sort();
    assert_eq!(
        (dora.roles.clone(), dora.units.clone(), dora.oidc_subject.clone(), dora.failed_logins, dora.locked_until),
        (vec![Role::Sachbearbeitung, Role::Poststelle], units.clone(), Some(subject.clone()), 0, None),
        "roles and units come back sorted without duplicates"
    );
    assert_eq!(db.get_user(&t, dora.id).await.expect("get_user"), dora);
    assert_eq!(db.find_user_by_username(&t, &new.username).await.expect("find"), Some(dora.clone()));
    assert_eq!(db.find_user_by_oidc_subject(&t, &subject).await.expect("find by subject"), Some(dora.clone()));
    assert_eq!(db.find_user_by_oidc_subject(&other, &subject).await.expect("find by subject"), None);
    assert_eq!(db.find_user_by_oidc_subject(&t, "https://idp.example|niemand").await.expect("find"), None);
    assert!(db.list_users(&t).await.expect("list_users").contains(&dora), "list_users returns roles and units");

    for bad in [foreign.id, UnitId::new()] {
        let user = NewUser {
            id: UserId::new(),
            username: format!("x-{}", short()),
            units: vec![bad],
            oidc_subject: None,
            ..new.clone()
        };
        match db.create_user(user.clone()).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("create_user with a unit not of the tenant must be InvalidReference, got {other:?}"),
        }
        assert_not_found(db.get_user(&t, user.id).await, "a refused user is not stored");
    }
    let twin = NewUser { id: UserId::new(), username: format!("twin-{}", short()), ..new.clone() };
    match db.create_user(twin).await {
        Err(StorageError::Duplicate("oidc_subject")) => {}
        other => panic!("a taken OIDC subject must be Duplicate(\"oidc_subject\"), got {other:?}"),
    }
    assert_eq!(db.count_users(&t).await.expect("count_users"), 1);
    let elsewhere = NewUser { id: UserId::new(), tenant: other.clone(), units: vec![foreign.id], ..new.clone() };
    db.create_user(elsewhere).await.expect("the same subject in another tenant is allowed");

    let emil = new_user(db, &t, "emil", "Emil Elch").await;
    db.link_oidc_subject(&t, emil.id, "https://idp.example|emil").await.expect("link_oidc_subject");
    let linked = db.get_user(&t, emil.id).await.expect("get_user");
    assert_eq!(linked, UserRecord { oidc_subject: Some("https://idp.example|emil".into()), ..emil.clone() });
    assert_eq!(db.find_user_by_oidc_subject(&t, "https://idp.example|emil").await.expect("find"), Some(linked.clone()));
    db.link_oidc_subject(&t, emil.id, "https://idp.example|emil").await.expect("linking again is fine");
    match db.link_oidc_subject(&t, emil.id, &subject).await {
        Err(StorageError::Duplicate("oidc_subject")) => {}
        other => panic!("linking a subject another user has must be Duplicate(\"oidc_subject\"), got {other:?}"),
    }
    assert_eq!(db.get_user(&t, emil.id).await.expect("get_user"), linked, "a refused link changes nothing");
    assert_not_found(db.link_oidc_subject(&t, UserId::new(), "https://idp.example|x").await, "link unknown user");

    let start = now_s();
    let s_dora = session_for(&dora, start, 1800, Duration::hours(8));
    let s_emil = session_for(&emil, start, 1800, Duration::hours(8));
    db.create_session(s_dora.clone()).await.expect("create_session");
    db.create_session(s_emil.clone()).await.expect("create_session");
    let update = UserUpdate {
        display_name: "Dora D.".into(),
        email: Some("dora@example.org".into()),
        roles: vec![Role::Admin, Role::Loeschberechtigt],
        units: vec![u1.id],
        disabled: false,
    };
    let updated = db.update_user(&t, dora.id, update.clone()).await.expect("update_user");
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
    assert_eq!(db.get_user(&t, dora.id).await.expect("get_user"), updated);
    let session = db.get_session(&s_dora.token_hash, start).await.expect("get_session").expect("still live");
    assert_eq!(session.user, updated, "the session carries the user's roles and units");
    for bad in [foreign.id, UnitId::new()] {
        match db.update_user(&t, dora.id, UserUpdate { units: vec![bad], ..update.clone() }).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("update_user with a unit not of the tenant must be InvalidReference, got {other:?}"),
        }
    }
    assert_eq!(db.get_user(&t, dora.id).await.expect("get_user"), updated, "a refused update changes nothing");
    assert_not_found(db.update_user(&t, UserId::new(), update.clone()).await, "update_user of an unknown user");
    let disabled = db.update_user(&t, dora.id, UserUpdate { disabled: true, units: vec![], ..update.clone() }).await;
    let disabled = disabled.expect("update_user disabling");
    assert!(disabled.disabled && disabled.units.is_empty());
    db.update_user(&t, dora.id, update.clone()).await.expect("update_user enabling again");
    assert_eq!(db.get_session(&s_dora.token_hash, start).await.expect("get_session"), None, "disabling ends sessions");
    assert!(db.get_session(&s_emil.token_hash, start).await.expect("get_session").is_some(), "others' sessions live");

    // set_password ends every session of the user and clears the lockout.
    let s_emil2 = session_for(&emil, start, 1800, Duration::hours(8));
    db.create_session(s_emil2.clone()).await.expect("create_session");
    db.record_login_failure(&t, emil.id, start).await.expect("record_login_failure");
    let failed = db.record_login_failure(&t, emil.id, start).await.expect("record_login_failure");
    assert_eq!(failed.failed_logins, 2);
    db.set_password(&t, emil.id, "$argon2id$v=19$neu").await.expect("set_password");
    let emil_now = db.get_user(&t, emil.id).await.expect("get_user");
    assert_eq!(
        (emil_now.password_hash.as_str(), emil_now.failed_logins, emil_now.locked_until),
        ("$argon2id$v=19$neu", 0, None)
    );
    for s in [&s_emil, &s_emil2] {
        assert_eq!(
            db.get_session(&s.token_hash, start).await.expect("get_session"),
            None,
            "set_password ends sessions"
        );
    }
}

async fn login_failure_with_retry(db: &Db, tenant: &TenantId, user: UserId, now: OffsetDateTime) -> UserRecord {
    let mut attempts = 0;
    loop {
        match db.record_login_failure(tenant, user, now).await {
            Ok(got) => return got,
            Err(StorageError::Retryable(e)) if attempts < 100 => {
                attempts += 1;
                eprintln!("record_login_failure: retrying after {e}");
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Err(e) => panic!("concurrent record_login_failure failed: {e:?}"),
        }
    }
}

pub async fn lockout_counts_failures(db: &Db) {
    use domain::user::{after_failed_login, LOCK_DURATION, MAX_FAILED_LOGINS};
    let t = fresh_tenant(db).await;
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let start = now_s();
    for i in 1..MAX_FAILED_LOGINS {
        let got = db.record_login_failure(&t, u.id, start + Duration::seconds(i.into())).await.expect("failure");
        assert_eq!((got.failed_logins, got.locked_until), (i, None), "failure {i} is counted");
    }
    let now = start + Duration::minutes(1);
    let locked = db.record_login_failure(&t, u.id, now).await.expect("record_login_failure");
    assert_eq!((locked.failed_logins, locked.locked_until), after_failed_login(MAX_FAILED_LOGINS - 1, now));
    assert_eq!(
        (locked.failed_logins, locked.locked_until),
        (0, Some(now + LOCK_DURATION)),
        "the last allowed failure locks and restarts the count"
    );
    assert_eq!(locked, UserRecord { failed_logins: 0, locked_until: Some(now + LOCK_DURATION), ..u.clone() });
    assert_eq!(db.get_user(&t, u.id).await.expect("get_user"), locked);
    let next = db.record_login_failure(&t, u.id, now).await.expect("record_login_failure");
    assert_eq!((next.failed_logins, next.locked_until), (1, Some(now + LOCK_DURATION)), "the lock stays");
    db.record_login_success(&t, u.id).await.expect("record_login_success");
    assert_eq!(db.get_user(&t, u.id).await.expect("get_user"), u, "a success clears count and lock");
    assert_not_found(db.record_login_failure(&t, UserId::new(), now).await, "failure of an unknown user");
    assert_not_found(db.record_login_success(&t, UserId::new()).await, "success of an unknown user");

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
    let after = db.get_user(&t, v.id).await.expect("get_user");
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
        db.create_session(s.clone()).await.expect("create_session");
    }
    let swept = db.delete_expired_sessions(now).await.expect("delete_expired_sessions");
    assert!(swept >= 2, "the idle and the expired session are swept, got {swept}");
    assert_eq!(db.delete_expired_sessions(now).await.expect("delete_expired_sessions"), 0, "nothing left to sweep");
    assert!(db.get_session(&live.token_hash, now).await.expect("get_session").is_some(), "live sessions stay");
    // Asked at a time each was live: gone all the same, because they were deleted.
    for (s, when) in [(&idle, now - Duration::minutes(119)), (&absolute, now - Duration::minutes(30))] {
        assert_eq!(db.get_session(&s.token_hash, when).await.expect("get_session"), None, "swept");
    }
    let later = now + Duration::minutes(31);
    assert!(db.delete_expired_sessions(later).await.expect("delete_expired_sessions") >= 1, "idle later");
    assert_eq!(db.get_session(&live.token_hash, now).await.expect("get_session"), None);
}

// ---------------------------------------------------------------------------------------
// API tokens and audit log
// ---------------------------------------------------------------------------------------

fn new_token(tenant: &TenantId, name: &str, scopes: &[TokenScope], created_at: OffsetDateTime) -> NewApiToken {
    NewApiToken {
        id: ApiTokenId::new(),
        tenant: tenant.clone(),
        name: name.to_owned(),
        scopes: scopes.to_vec(),
        token_hash: format!("{:0>64}", Uuid::new_v4().simple()),
        created_at,
        created_by: "Anna Amsel".into(),
    }
}

pub async fn api_tokens_lifecycle(db: &Db) {
    let t = fresh_tenant(db).await;
    let other = fresh_tenant(db).await;
    assert!(db.list_api_tokens(&t).await.expect("list_api_tokens").is_empty());
    let t0 = now_s();
    let na = new_token(&t, "Formularserver", &[TokenScope::Eingang, TokenScope::Eingang], t0 - Duration::hours(2));
    let a = db.create_api_token(na.clone()).await.expect("create_api_token");
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
    let nb = new_token(&t, "Fachverfahren", &[TokenScope::Bearbeiten, TokenScope::Lesen], t0 - Duration::hours(1));
    let b = db.create_api_token(nb.clone()).await.expect("create_api_token");
    assert_eq!(b.scopes, vec![TokenScope::Lesen, TokenScope::Bearbeiten], "scopes come back sorted");
    let nc = new_token(&other, "Fremd", &[TokenScope::Lesen], t0);
    let c = db.create_api_token(nc.clone()).await.expect("create_api_token");
    let clash = NewApiToken { id: ApiTokenId::new(), ..na.clone() };
    match db.create_api_token(clash).await {
        Err(StorageError::Duplicate(_)) => {}
        other => panic!("a token hash in use must be Duplicate, got {other:?}"),
    }
    assert_eq!(db.list_api_tokens(&t).await.expect("list_api_tokens"), vec![b.clone(), a.clone()], "newest first");

    let found = db.find_api_token(&na.token_hash, t0).await.expect("find_api_token").expect("live token");
    assert_eq!((found.id, &found.tenant, &found.scopes), (a.id, &t, &a.scopes));
    let listed = db.list_api_tokens(&t).await.expect("list_api_tokens");
    assert_eq!(listed[1], ApiTokenRecord { last_used_at: Some(t0), ..a.clone() }, "the first use is recorded");
    assert!(db.find_api_token(&na.token_hash, t0 + Duration::seconds(10)).await.expect("find").is_some());
    let later = t0 + Duration::minutes(5);
    db.find_api_token(&na.token_hash, later).await.expect("find_api_token").expect("live token");
    let listed = db.list_api_tokens(&t).await.expect("list_api_tokens");
    assert_eq!(listed[1].last_used_at, Some(later), "later uses are recorded");
    assert_eq!(listed[0], b, "other tokens are untouched");
    let found_c = db.find_api_token(&nc.token_hash, t0).await.expect("find_api_token").expect("any tenant");
    assert_eq!((found_c.id, &found_c.tenant), (c.id, &other));
    assert_eq!(db.find_api_token(&format!("{:0>64}", 7), t0).await.expect("find_api_token"), None);

    assert_not_found(db.revoke_api_token(&other, a.id, t0).await, "revoking another tenant's token");
    assert!(
        db.find_api_token(&na.token_hash, later).await.expect("find").is_some(),
        "a refused revoke changes nothing"
    );
    let revoked_at = t0 + Duration::minutes(6);
    db.revoke_api_token(&t, a.id, revoked_at).await.expect("revoke_api_token");
    assert_eq!(
        db.find_api_token(&na.token_hash, later).await.expect("find_api_token"),
        None,
        "revoked tokens are dead"
    );
    db.revoke_api_token(&t, a.id, revoked_at + Duration::minutes(1)).await.expect("revoking again is fine");
    let listed = db.list_api_tokens(&t).await.expect("list_api_tokens");
    assert_eq!(listed.len(), 2, "revoked tokens stay listed");
    assert_eq!(listed[1].revoked_at, Some(revoked_at), "the first revocation counts");
    assert_not_found(db.revoke_api_token(&t, ApiTokenId::new(), t0).await, "revoking an unknown token");
    assert!(db.find_api_token(&nb.token_hash, later).await.expect("find").is_some(), "other tokens live on");
    assert_eq!(db.list_api_tokens(&other).await.expect("list_api_tokens").len(), 1);
}

pub async fn audit_log(db: &Db) {
    let t = fresh_tenant(db).await;
    let other = fresh_tenant(db).await;
    assert!(all_audit(db, &t).await.is_empty());
    let u = new_user(db, &t, "anna", "Anna Amsel").await;
    let actions =
        ["anmeldung", "anmeldung_fehlgeschlagen", "anmeldung", "benutzer_angelegt", "anmeldung", "vorgang_gelesen"];
    let mut entries: Vec<NewAuditEntry> =
        actions.iter().enumerate().map(|(i, a)| audit_entry(&t, &u, i as i64, a)).collect();
    entries.push(NewAuditEntry {
        tenant: t.clone(),
        at: at(10),
        actor: system(),
        action: "token_widerrufen".into(),
        target: None,
        detail: None,
        ip: None,
    });
    for e in &entries {
        db.append_audit(e.clone()).await.expect("append_audit");
    }
    db.append_audit(audit_entry(&other, &u, 3, "anmeldung")).await.expect("append_audit other");

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
    assert_eq!(db.list_audit(&t, &q(None, None, 2)).await.expect("list_audit"), all[..2].to_vec(), "limit");
    assert_eq!(
        db.list_audit(&t, &q(Some(all[2].seq), None, 100)).await.expect("list_audit"),
        all[3..].to_vec(),
        "before is exclusive"
    );
    let logins: Vec<AuditRecord> = all.iter().filter(|r| r.entry.action == "anmeldung").cloned().collect();
    assert_eq!(logins.len(), 3);
    assert_eq!(db.list_audit(&t, &q(None, Some("anmeldung"), 100)).await.expect("list_audit"), logins, "action");
    assert_eq!(
        db.list_audit(&t, &q(Some(logins[0].seq), Some("anmeldung"), 1)).await.expect("list_audit"),
        logins[1..2].to_vec(),
        "action, before and limit together"
    );
    assert!(db.list_audit(&t, &q(None, Some("unbekannt"), 100)).await.expect("list_audit").is_empty());
    let theirs = all_audit(db, &other).await;
    assert_eq!(theirs.len(), 1, "each tenant lists its own entries");
    assert_eq!(theirs[0].entry.tenant, other);
}

// ---------------------------------------------------------------------------------------
// tenant isolation
// ---------------------------------------------------------------------------------------

pub async fn tenant_isolation(db: &Db) {
    let a = fresh_tenant(db).await;
    let b = fresh_tenant(db).await;

    // Tenant a: users, a Vorgang with documents, a quarantined and a received delivery, a session.
    let ua = new_user(db, &a, "anna", "Anna Amsel").await;
    let va = new_vorgang(at(0), "Gewerbeanmeldung");
    let ha = intake(db, &a, va.clone()).await;
    let pile = intake(db, &a, new_vorgang(at(1), "Hundesteuer")).await;
    let qa = record(db, &a, at(2)).await;
    db.quarantine_delivery(&a, qa.id, "control", "fehlt").await.expect("quarantine_delivery");
    let ra = record(db, &a, at(3)).await;
    let a_before = db.get_vorgang(&a, ha.id).await.expect("get_vorgang a");
    let a_events = db.events_after(&a, 0, 1000).await.expect("events_after a");
    // Tenant b: a user with the same username (usernames are unique per tenant).
    let ub = db
        .create_user(NewUser {
            id: UserId::new(),
            tenant: b.clone(),
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
        assert_not_found(db.get_delivery(&b, id).await, "get_delivery of a's delivery from b");
    }
    let (q, total) = db.list_quarantine(&b, DeliveryStatus::Quarantined, 100, 0).await.expect("list_quarantine b");
    assert!(q.is_empty() && total == 0, "b's quarantine does not show a's deliveries");
    assert_eq!(db.find_by_transaction(&b, &va.transaction_id).await.expect("find_by_transaction b"), None);
    for view in [View::Alle, View::NichtZugewiesen, View::Meine(ua.id)] {
        let page = all_of(db, &b, view.clone()).await;
        assert!(page.items.is_empty(), "worklist {view:?} of b does not list a's Vorgänge");
        assert_eq!((page.total, page.counts.total()), (0, 0), "worklist {view:?} of b does not count a's Vorgänge");
        assert_eq!(
            db.status_counts(&b, &Visibility::Tenant, &view).await.expect("status_counts b").total(),
            0,
            "status_counts {view:?} of b"
        );
    }
    assert_not_found(db.get_vorgang(&b, ha.id).await, "get_vorgang of a's Vorgang from b");
    assert_not_found(db.history(&b, ha.id).await, "history of a's Vorgang from b");
    for doc in &va.documents {
        assert_not_found(db.get_document(&b, doc.id).await, "get_document of a's document from b");
    }
    assert!(db.events_after(&b, 0, 1000).await.expect("events_after b").is_empty(), "b's event log is empty");
    assert_not_found(db.get_user(&b, ua.id).await, "get_user of a's user from b");
    assert_eq!(
        db.find_user_by_username(&b, &ua.username).await.expect("find_user_by_username b"),
        Some(ub.clone()),
        "the username finds b's own user in b"
    );
    assert_eq!(db.find_user_by_username(&a, &ua.username).await.expect("find_user_by_username a"), Some(ua.clone()));
    assert_eq!(db.list_users(&b).await.expect("list_users b"), vec![ub.clone()], "b lists only its users");
    assert_eq!(db.count_users(&b).await.expect("count_users b"), 1, "b counts only its users");
    assert_eq!(db.count_users(&a).await.expect("count_users a"), 1);

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
        let got = db.apply_change(&b, ha.id, 1, change.clone(), &actor(&ub)).await;
        assert!(got.is_err(), "apply_change from b on a's Vorgang must fail ({change:?}), got {got:?}");
    }
    assert_eq!(
        db.claim_next(&b, &Visibility::Tenant, ub.id, &actor(&ub)).await.expect("claim_next b"),
        None,
        "b's pile is empty"
    );
    assert!(db.quarantine_delivery(&b, ra.id, "x", "y").await.is_err(), "quarantine_delivery from b on a's delivery");
    let stolen = new_vorgang(at(4), "Gewerbeanmeldung");
    let got = db.complete_intake(&b, ra.id, stolen.clone()).await;
    assert!(got.is_err(), "complete_intake in b of a's delivery must fail, got {got:?}");
    assert_eq!(db.find_by_transaction(&b, &stolen.transaction_id).await.expect("find_by_transaction"), None);
    assert_not_found(db.get_vorgang(&b, stolen.id).await, "a failed intake creates nothing in b");
    assert_not_found(db.set_password(&b, ua.id, "$gestohlen").await, "set_password from b on a's user");
    let sb = NewSession {
        token_hash: format!("{:0>64}", Uuid::new_v4().simple()),
        tenant: b.clone(),
        user: ua.id,
        csrf_token: short(),
        created_at: now_s(),
        idle_timeout_secs: 1800,
        absolute_expiry: now_s() + Duration::hours(8),
    };
    let created = db.create_session(sb.clone()).await;
    if created.is_ok() {
        assert_eq!(
            db.get_session(&sb.token_hash, now_s()).await.expect("get_session"),
            None,
            "a session of tenant b for a's user must not be usable"
        );
    }
    // Cross-tenant references inside a: b's user is no valid assignee or claimer in a.
    match db.apply_change(&a, ha.id, 1, VorgangChange::Assign { to: Some(ub.id) }, &actor(&ua)).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("assigning b's user in a must be InvalidReference, got {other:?}"),
    }
    let got = db.claim_next(&a, &Visibility::Tenant, ub.id, &actor(&ub)).await;
    assert!(got.is_err(), "claim_next in a for b's user must fail, got {got:?}");

    // a is unchanged.
    let a_after = db.get_vorgang(&a, ha.id).await.expect("get_vorgang a");
    assert_eq!(a_after, a_before, "operations from b leave a's Vorgang unchanged");
    assert_eq!(db.get_vorgang(&a, pile.id).await.expect("get_vorgang a").head, pile, "a's pile is untouched");
    assert_eq!(db.events_after(&a, 0, 1000).await.expect("events_after a"), a_events, "a's log is unchanged");
    assert_eq!(db.get_user(&a, ua.id).await.expect("get_user a"), ua, "a's user is unchanged");
    assert_eq!(db.get_delivery(&a, ra.id).await.expect("get_delivery a").status, DeliveryStatus::Received);
    assert_eq!(db.get_delivery(&a, ra.id).await.expect("get_delivery a").attempts, 0);
    let qa_now = db.get_delivery(&a, qa.id).await.expect("get_delivery a");
    assert_eq!((qa_now.status, qa_now.error_field.as_deref()), (DeliveryStatus::Quarantined, Some("control")));
    let unfinished = db.unfinished_deliveries(100_000).await.expect("unfinished_deliveries");
    let ra_listed = unfinished.iter().find(|d| d.id == ra.id).expect("a's received delivery is unfinished");
    assert_eq!(ra_listed.tenant, a, "unfinished deliveries carry their tenant");

    // Transaction ids and Vorgangsnummern are unique per tenant: b may reuse a's.
    let mut vb = new_vorgang(at(5), "Hundesteuer");
    vb.transaction_id = va.transaction_id.clone();
    vb.nummer = va.nummer.clone();
    let hb = intake(db, &b, vb.clone()).await;
    assert_eq!(hb.id, vb.id);
    assert_eq!(db.find_by_transaction(&a, &va.transaction_id).await.expect("find a"), Some(ha.clone()));
    assert_eq!(db.find_by_transaction(&b, &va.transaction_id).await.expect("find b"), Some(hb.clone()));
    assert_not_found(db.get_vorgang(&a, hb.id).await, "get_vorgang of b's Vorgang from a");
    assert_eq!(
        db.events_after(&b, 0, 1000).await.expect("events_after b").iter().map(|e| e.vorgang_id).collect::<Vec<_>>(),
        vec![hb.id],
        "b's log holds only b's events"
    );
    assert_eq!(db.events_after(&a, 0, 1000).await.expect("events_after a"), a_events, "a's log holds only a's events");
    let ids_a: Vec<VorgangId> = all_of(db, &a, View::Alle).await.items.iter().map(|i| i.id).collect();
    assert_eq!(ids_a, vec![ha.id, pile.id], "a's worklist holds only a's Vorgänge");
    // b claims its own Vorgang, never a's.
    let claimed =
        db.claim_next(&b, &Visibility::Tenant, ub.id, &actor(&ub)).await.expect("claim_next b").expect("b's Vorgang");
    assert_eq!(claimed.id, hb.id);
    assert_eq!(db.claim_next(&b, &Visibility::Tenant, ub.id, &actor(&ub)).await.expect("claim_next b"), None);
    assert_eq!(db.get_vorgang(&a, pile.id).await.expect("get_vorgang a").assignee, None);

    // Units: each tenant sees and changes only its own.
    let unit_a = new_unit(db, &a, "Ordnungsamt").await;
    let unit_b = new_unit(db, &b, "Bauamt").await;
    assert_eq!(db.list_units(&b).await.expect("list_units b"), vec![unit_b.clone()], "b lists only its units");
    assert_not_found(db.update_unit(&b, unit_a.id, "Gestohlen", &kennung()).await, "update_unit from b on a's unit");
    assert_eq!(db.list_units(&a).await.expect("list_units a"), vec![unit_a.clone()], "a's unit is unchanged");
    let d = record(db, &b, at(6)).await;
    let foreign = NewVorgang { unit: Some(unit_a.id), ..new_vorgang(at(6), "Gewerbeanmeldung") };
    match db.complete_intake(&b, d.id, foreign).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("intake in b into a's unit must be InvalidReference, got {other:?}"),
    }
    let cur = db.get_vorgang(&a, ha.id).await.expect("get_vorgang a").head;
    match db.apply_change(&a, ha.id, cur.version, VorgangChange::Unit { to: Some(unit_b.id) }, &actor(&ua)).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("distributing a's Vorgang to b's unit must be InvalidReference, got {other:?}"),
    }
    let got = db.apply_change(&b, ha.id, cur.version, VorgangChange::Unit { to: Some(unit_b.id) }, &actor(&ub)).await;
    assert!(got.is_err(), "distributing a's Vorgang from b must fail, got {got:?}");
    assert_eq!(db.get_vorgang(&a, ha.id).await.expect("get_vorgang a").unit, None);
    let into_a = Visibility::Restricted { units: vec![unit_a.id], user: Some(ua.id), all_new: false };
    assert_eq!(db.status_counts(&b, &into_a, &View::Alle).await.expect("status_counts b").total(), 0);

    // Users: no unit, link, update or login bookkeeping across tenants.
    let stray = NewUser {
        id: UserId::new(),
        tenant: b.clone(),
        username: format!("stray-{}", short()),
        display_name: "Streuner".into(),
        email: None,
        roles: vec![Role::Sachbearbeitung],
        units: vec![unit_a.id],
        password_hash: String::new(),
        oidc_subject: None,
    };
    match db.create_user(stray).await {
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
    assert_not_found(db.update_user(&b, ua.id, update.clone()).await, "update_user from b on a's user");
    match db.update_user(&b, ub.id, UserUpdate { units: vec![unit_a.id], disabled: false, ..update }).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("putting b's user into a's unit must be InvalidReference, got {other:?}"),
    }
    assert_not_found(db.link_oidc_subject(&b, ua.id, "https://idp.example|b").await, "link from b on a's user");
    let subject = format!("https://idp.example|{}", short());
    db.link_oidc_subject(&a, ua.id, &subject).await.expect("link_oidc_subject a");
    assert_eq!(db.find_user_by_oidc_subject(&b, &subject).await.expect("find b"), None, "b finds no a's identity");
    assert_not_found(db.record_login_failure(&b, ua.id, now_s()).await, "record_login_failure from b");
    assert_not_found(db.record_login_success(&b, ua.id).await, "record_login_success from b");
    let ua_now = db.get_user(&a, ua.id).await.expect("get_user a");
    assert_eq!(ua_now, UserRecord { oidc_subject: Some(subject), ..ua.clone() }, "a's user is unchanged otherwise");

    // Deliveries: b can neither label nor take a's.
    let da = record(db, &a, at(7)).await;
    assert_not_found(db.unroutable_delivery(&b, da.id, "x").await, "unroutable_delivery from b on a's delivery");
    assert_not_found(db.move_delivery(&b, da.id, &b).await, "move_delivery from b of a's delivery");
    let (q, total) = db.list_quarantine(&b, DeliveryStatus::Unroutable, 100, 0).await.expect("list_quarantine b");
    assert!(q.is_empty() && total == 0);
    assert_eq!(
        db.get_delivery(&a, da.id).await.expect("get_delivery a"),
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
    let token = new_token(&a, "Formularserver", &[TokenScope::Eingang], now_s());
    db.create_api_token(token.clone()).await.expect("create_api_token a");
    assert!(db.list_api_tokens(&b).await.expect("list_api_tokens b").is_empty(), "b lists no a's tokens");
    assert_not_found(db.revoke_api_token(&b, token.id, now_s()).await, "revoke_api_token from b");
    let found = db.find_api_token(&token.token_hash, now_s()).await.expect("find_api_token").expect("still live");
    assert_eq!(found.tenant, a, "a token names its tenant");
    db.append_audit(audit_entry(&a, &ua, 0, "anmeldung")).await.expect("append_audit a");
    assert!(all_audit(db, &b).await.is_empty(), "b's audit log does not show a's entries");
    assert_eq!(all_audit(db, &a).await.len(), 1);

    // Tenant settings are per tenant.
    let a_tenant = db.get_tenant(&a).await.expect("get_tenant a");
    let settings = TenantSettings { name: "Umbenannt".into(), host: None, ip_allowlist: vec!["10.0.0.0/8".into()] };
    db.update_tenant(&b, settings).await.expect("update_tenant b");
    assert_eq!(db.get_tenant(&a).await.expect("get_tenant a"), a_tenant, "updating b leaves a alone");
}

// ---------------------------------------------------------------------------------------
// export and import
// ---------------------------------------------------------------------------------------

/// Every section of `tenant`'s export, in pages of `limit`, checking the paging contract.
async fn export_all(db: &Db, tenant: &TenantId, limit: u32) -> Vec<ExportRecord> {
    let mut all = Vec::new();
    for section in ExportSection::ALL {
        let mut after: Option<String> = None;
        loop {
            let (page, next) = db.export_page(tenant, section, after.as_deref(), limit).await.expect("export_page");
            assert!(page.len() <= limit.max(1) as usize, "export_page returns at most `limit` records");
            assert!(page.iter().all(|r| r.section() == section), "export_page returns records of its section only");
            all.extend(page);
            match next {
                Some(n) => {
                    assert_ne!(after.as_deref(), Some(n.as_str()), "the cursor moves on");
                    after = Some(n);
                }
                None => break,
            }
        }
    }
    all
}

fn without_seq(events: Vec<EventRecord>) -> Vec<EventRecord> {
    events.into_iter().map(|e| EventRecord { seq: 0, ..e }).collect()
}

/// A tenant with everything an export must carry: the worklist fixture (users, Vorgänge in
/// several statuses with documents, assignees, Aktenzeichen), units with Vorgänge and users in
/// them, a Löschanforderung, a user with roles, units, OIDC identity and a failed login, a
/// quarantined, a received and a duplicate delivery, audit entries, a host and an allowlist.
async fn export_fixture(db: &Db) -> (Fixture, Vec<UnitRecord>) {
    use StatusCommand as C;
    let mut fx = worklist_fixture(db).await;
    let t = fx.tenant.clone();
    let units = vec![new_unit(db, &t, "Ordnungsamt").await, new_unit(db, &t, "Bauamt").await];
    let by = actor(&fx.users[1]);
    for (item, unit) in fx.items.iter().take(2).zip(&units) {
        let head = db.get_vorgang(&t, item.id).await.expect("get_vorgang").head;
        db.apply_change(&t, head.id, head.version, VorgangChange::Unit { to: Some(unit.id) }, &by)
            .await
            .expect("apply_change unit");
    }
    let doomed = NewVorgang { unit: Some(units[0].id), ..new_vorgang(at(70), "Sondernutzung") };
    let head = intake(db, &t, doomed.clone()).await;
    move_status(db, &t, head.id, C::Verwerfen, Some("Dublette"), &by).await;
    move_status(db, &t, head.id, C::LoeschenAnfordern, Some("Dublette"), &by).await;
    let q = record(db, &t, at(80)).await;
    db.quarantine_delivery(&t, q.id, "formData[2].value", "ungültiges Datum „31.02.“").await.expect("quarantine");
    record(db, &t, at(81)).await;
    let dup = record(db, &t, at(82)).await;
    let mut repeated = new_vorgang(at(82), "Sondernutzung");
    repeated.transaction_id = doomed.transaction_id.clone();
    db.complete_intake(&t, dup.id, repeated).await.expect("complete_intake duplicate");
    let carla = db
        .create_user(NewUser {
            id: UserId::new(),
            tenant: t.clone(),
            username: format!("carla-{}", short()),
            display_name: "Carla Chamäleon".into(),
            email: None,
            roles: vec![Role::Poststelle, Role::Sachbearbeitung],
            units: units.iter().map(|u| u.id).collect(),
            password_hash: String::new(),
            oidc_subject: Some(format!("https://idp.example|{}", short())),
        })
        .await
        .expect("create_user");
    let carla = db.record_login_failure(&t, carla.id, now_s()).await.expect("record_login_failure");
    fx.users.push(carla);
    let settings = TenantSettings {
        name: "Testmandant".into(),
        host: Some(format!("{t}.example")),
        ip_allowlist: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()],
    };
    db.update_tenant(&t, settings).await.expect("update_tenant");
    for (i, action) in ["anmeldung", "benutzer_angelegt", "vorgang_gelesen"].into_iter().enumerate() {
        db.append_audit(audit_entry(&t, &fx.users[0], i as i64, action)).await.expect("append_audit");
    }
    // Kommentare and Wiedervorlagen: open, done, changed.
    let v: Vec<VorgangId> = fx.items.iter().take(4).map(|i| i.id).collect();
    for (i, text) in [(0, "Erster Kommentar"), (0, "Zweiter Kommentar\nmit Zeilen"), (3, "Anderswo")] {
        db.add_kommentar(&t, v[i], KommentarId::new(), text, &by).await.expect("add_kommentar");
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    db.add_wiedervorlage(&t, new_wiedervorlage(v[0], "Offen", day(4), &by)).await.expect("add_wiedervorlage");
    let done = db.add_wiedervorlage(&t, new_wiedervorlage(v[1], "Erledigt", day(2), &system())).await.expect("add");
    db.update_wiedervorlage(&t, done.id, 1, WiedervorlageUpdate { erledigt: true, ..update_of(&done) }, &by)
        .await
        .expect("done");
    let changed = db.add_wiedervorlage(&t, new_wiedervorlage(v[2], "Geändert", day(1), &by)).await.expect("add");
    db.update_wiedervorlage(&t, changed.id, 1, WiedervorlageUpdate { frist: day(6), ..update_of(&changed) }, &by)
        .await
        .expect("change");
    db.add_wiedervorlage(&t, new_wiedervorlage(v[3], "Überfällig", day(-1), &by)).await.expect("add");
    (fx, units)
}

fn audit_entry(tenant: &TenantId, user: &UserRecord, minutes: i64, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        tenant: tenant.clone(),
        at: at(minutes),
        actor: actor(user),
        action: action.to_owned(),
        target: Some(user.id.to_string()),
        detail: (minutes % 2 == 0).then(|| format!("Detail „{minutes}“")),
        ip: (minutes % 3 != 1).then(|| "192.0.2.7".to_owned()),
    }
}

async fn all_audit(db: &Db, tenant: &TenantId) -> Vec<AuditRecord> {
    let q = AuditQuery { before: None, action: None, limit: 10_000 };
    db.list_audit(tenant, &q).await.expect("list_audit")
}

/// The units as an import with `suffix` appended to every kennung writes them (kennungen are
/// unique in the installation, so an import into the same store needs other ones).
fn with_kennung_suffix(records: &[ExportRecord], suffix: &str) -> Vec<ExportRecord> {
    records
        .iter()
        .map(|r| match r {
            ExportRecord::Unit(u) => {
                ExportRecord::Unit(UnitRecord { kennung: format!("{}{suffix}", u.kennung), ..u.clone() })
            }
            other => other.clone(),
        })
        .collect()
}

/// Asserts that `dst` holds what `src` holds: the same Vorgänge, worklists, histories, event
/// log (in order, own sequence numbers), deliveries, documents, units (kennung + `suffix`),
/// audit log and users (plus `extra_users` that `dst` had before the import).
async fn assert_same_tenant(db: &Db, src: &TenantId, dst: &TenantId, extra_users: &[UserRecord], suffix: &str) {
    let records = export_all(db, src, 1000).await;
    let mut user_ids = Vec::new();
    for r in &records {
        match r {
            ExportRecord::Tenant(t) => {
                let got = db.get_tenant(dst).await.expect("get_tenant dst");
                assert_eq!(
                    (got.name.as_str(), got.kind, &got.ip_allowlist, &got.host),
                    (t.name.as_str(), t.kind, &t.ip_allowlist, &None),
                    "name, kind and allowlist move, the host does not"
                );
            }
            ExportRecord::Unit(_) | ExportRecord::Event(_) | ExportRecord::Audit(_) => {}
            ExportRecord::Kommentar(k) => {
                let got = db.list_kommentare(dst, k.vorgang_id).await.expect("list_kommentare of an imported Vorgang");
                assert!(got.contains(k), "Kommentare move completely: {k:?}");
            }
            ExportRecord::Wiedervorlage(w) => {
                let got = db.get_wiedervorlage(dst, w.id).await.expect("get_wiedervorlage of an imported one");
                assert_eq!(got, *w, "Wiedervorlagen move completely, with id, version and erledigt");
            }
            ExportRecord::ClerkDocument(d) => {
                let got = db.list_clerk_documents(dst, d.document.vorgang_id).await.expect("list_clerk_documents");
                assert!(got.contains(d), "clerks' documents move completely: {d:?}");
            }
            ExportRecord::User(u) => {
                user_ids.push(u.id);
                let got = db.get_user(dst, u.id).await.expect("get_user of an imported user");
                assert_eq!(got, UserRecord { tenant: dst.clone(), ..u.clone() }, "users move completely");
                assert_eq!(db.find_user_by_username(dst, &u.username).await.expect("find"), Some(got.clone()));
                if let Some(subject) = &u.oidc_subject {
                    assert_eq!(db.find_user_by_oidc_subject(dst, subject).await.expect("find by subject"), Some(got));
                }
            }
            ExportRecord::Delivery(d) => {
                let got = db.get_delivery(dst, d.id).await.expect("get_delivery of an imported delivery");
                assert_eq!(got, DeliveryRecord { tenant: dst.clone(), ..d.clone() }, "deliveries move completely");
            }
            ExportRecord::Vorgang(v) => {
                let id = v.head.id;
                let got = db.get_vorgang(dst, id).await.expect("get_vorgang of an imported Vorgang");
                let want = crate::VorgangRecord { tenant: dst.clone(), ..(**v).clone() };
                assert_eq!(got, want, "Vorgänge move completely");
                assert_eq!(
                    got,
                    crate::VorgangRecord { tenant: dst.clone(), ..db.get_vorgang(src, id).await.expect("src") }
                );
                for doc in &v.documents {
                    assert_eq!(db.get_document(dst, doc.id).await.expect("get_document"), *doc);
                }
                assert_eq!(
                    db.find_by_transaction(dst, &v.transaction_id).await.expect("find_by_transaction"),
                    Some(v.head.clone())
                );
                assert_eq!(
                    without_seq(db.history(dst, id).await.expect("history dst")),
                    without_seq(db.history(src, id).await.expect("history src")),
                    "the history moves, in order"
                );
                assert_eq!(
                    db.list_kommentare(dst, id).await.expect("list_kommentare dst"),
                    db.list_kommentare(src, id).await.expect("list_kommentare src"),
                    "the Kommentare move"
                );
                assert_eq!(
                    db.list_wiedervorlagen(dst, id).await.expect("list_wiedervorlagen dst"),
                    db.list_wiedervorlagen(src, id).await.expect("list_wiedervorlagen src"),
                    "the Wiedervorlagen move"
                );
            }
        }
    }
    let src_log = db.events_after(src, 0, 100_000).await.expect("events_after src");
    let dst_log = db.events_after(dst, 0, 100_000).await.expect("events_after dst");
    assert_seq_increasing(&dst_log, "imported event log");
    assert_eq!(without_seq(dst_log), without_seq(src_log), "the event log moves, in order, with its content");

    let src_units = db.list_units(src).await.expect("list_units src");
    let want_units: Vec<UnitRecord> = src_units
        .iter()
        .map(|u| UnitRecord { tenant: dst.clone(), kennung: format!("{}{suffix}", u.kennung), ..u.clone() })
        .collect();
    assert_eq!(db.list_units(dst).await.expect("list_units dst"), want_units, "the units move");
    let retenant_audit = |a: Vec<AuditRecord>| -> Vec<AuditRecord> {
        a.into_iter().map(|r| AuditRecord { seq: 0, entry: NewAuditEntry { tenant: dst.clone(), ..r.entry } }).collect()
    };
    let dst_audit = all_audit(db, dst).await;
    for pair in dst_audit.windows(2) {
        assert!(pair[0].seq > pair[1].seq, "the imported audit log has its own increasing seqs, listed newest first");
    }
    assert_eq!(retenant_audit(dst_audit), retenant_audit(all_audit(db, src).await), "the audit log moves, in order");

    let mut visibilities = vec![Visibility::Tenant];
    visibilities.extend(src_units.iter().map(|u| Visibility::Restricted {
        units: vec![u.id],
        user: user_ids.first().copied(),
        all_new: false,
    }));
    visibilities.push(Visibility::Restricted { units: vec![], user: None, all_new: true });
    let mut views = vec![View::Alle, View::NichtZugewiesen];
    views.extend(user_ids.iter().map(|u| View::Meine(*u)));
    for visibility in &visibilities {
        for include_done in [false, true] {
            let q = WiedervorlagenQuery { visibility: visibility.clone(), include_done, limit: 1000, offset: 0 };
            assert_eq!(
                db.wiedervorlagen(dst, &q).await.expect("wiedervorlagen dst"),
                db.wiedervorlagen(src, &q).await.expect("wiedervorlagen src"),
                "the Wiedervorlagen view {visibility:?}, include_done {include_done}"
            );
        }
        assert_eq!(
            db.count_due_wiedervorlagen(dst, visibility, day(3)).await.expect("count_due dst"),
            db.count_due_wiedervorlagen(src, visibility, day(3)).await.expect("count_due src"),
            "due Wiedervorlagen {visibility:?}"
        );
        for view in &views {
            assert_eq!(
                db.status_counts(dst, visibility, view).await.expect("status_counts dst"),
                db.status_counts(src, visibility, view).await.expect("status_counts src"),
                "status counts {visibility:?} {view:?}"
            );
            for sort in SortKey::ALL {
                for descending in [false, true] {
                    let q = WorklistQuery {
                        visibility: visibility.clone(),
                        ..query(view.clone(), None, sort, descending, 0, 1000)
                    };
                    assert_eq!(
                        db.worklist(dst, &q).await.expect("worklist dst"),
                        db.worklist(src, &q).await.expect("worklist src"),
                        "worklist {visibility:?} {view:?} by {sort:?}, descending {descending}"
                    );
                }
            }
        }
    }
    let retenant = |(items, total): (Vec<DeliveryRecord>, u64)| {
        (items.into_iter().map(|d| DeliveryRecord { tenant: dst.clone(), ..d }).collect::<Vec<_>>(), total)
    };
    assert_eq!(
        db.list_quarantine(dst, DeliveryStatus::Quarantined, 100, 0).await.expect("list_quarantine dst"),
        retenant(db.list_quarantine(src, DeliveryStatus::Quarantined, 100, 0).await.expect("list_quarantine src")),
        "the quarantine moves"
    );
    let mut want: Vec<UserRecord> = db
        .list_users(src)
        .await
        .expect("list_users src")
        .into_iter()
        .map(|u| UserRecord { tenant: dst.clone(), ..u })
        .chain(extra_users.iter().cloned())
        .collect();
    want.sort_by_key(|u| u.id);
    let mut got = db.list_users(dst).await.expect("list_users dst");
    got.sort_by_key(|u| u.id);
    assert_eq!(got, want, "the users move; the target's other users stay");
    let (s, d) =
        (db.count_for_export(src).await.expect("count src"), db.count_for_export(dst).await.expect("count dst"));
    assert_eq!(ExportCounts { users: s.users + extra_users.len() as u64, ..s }, d, "count_for_export agrees");
}

pub async fn export_pages_a_tenant_completely(db: &Db) {
    let (fx, units) = export_fixture(db).await;
    let t = &fx.tenant;
    let counts = db.count_for_export(t).await.expect("count_for_export");
    let log = db.events_after(t, 0, 10_000).await.expect("events_after");
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
    let tenant = db.get_tenant(t).await.expect("get_tenant");
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
                    db.get_vorgang(t, v.head.id).await.expect("get_vorgang"),
                    "a Vorgang is a full snapshot"
                )
            }
            ExportRecord::Delivery(d) => assert_eq!(*d, db.get_delivery(t, d.id).await.expect("get_delivery")),
            ExportRecord::User(u) => assert_eq!(*u, db.get_user(t, u.id).await.expect("get_user")),
            _ => {}
        }
    }
    let mut kommentare = Vec::new();
    let mut wiedervorlagen = Vec::new();
    for item in all_of(db, t, View::Alle).await.items {
        kommentare.extend(db.list_kommentare(t, item.id).await.expect("list_kommentare"));
        wiedervorlagen.extend(db.list_wiedervorlagen(t, item.id).await.expect("list_wiedervorlagen"));
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
    assert_eq!(db.count_for_export(&empty).await.expect("count_for_export"), ExportCounts::default());
    assert_eq!(export_all(db, &empty, 10).await.len(), 1, "an empty tenant exports itself only");
    let unknown = TenantId::parse(&format!("t-{}", short())).expect("slug");
    assert_not_found(db.export_page(&unknown, ExportSection::Tenant, None, 10).await, "export of an unknown tenant");
    for section in [
        ExportSection::Units,
        ExportSection::Users,
        ExportSection::Deliveries,
        ExportSection::Vorgaenge,
        ExportSection::Events,
        ExportSection::Audit,
        ExportSection::Notes,
    ] {
        let got = db.export_page(t, section, Some("kein cursor"), 10).await;
        assert!(got.is_err(), "a malformed cursor is an error ({section:?}), got {got:?}");
    }
}

pub async fn import_moves_a_tenant(db: &Db) {
    let (fx, _) = export_fixture(db).await;
    let src = &fx.tenant;
    let records = export_all(db, src, 1000).await;

    // Kennungen are unique in the installation: the same units cannot be imported twice.
    let refused = TenantId::parse(&format!("t-{}", short())).expect("slug");
    match db.import_records(&refused, records.clone()).await {
        Err(StorageError::Duplicate("kennung")) => {}
        other => panic!("importing units whose kennung exists must be Duplicate(\"kennung\"), got {other:?}"),
    }
    assert_not_found(db.get_tenant(&refused).await, "the refused batch created no tenant");

    // Into a tenant that does not exist yet, in one batch.
    let fresh = TenantId::parse(&format!("t-{}", short())).expect("slug");
    db.import_records(&fresh, with_kennung_suffix(&records, "-a")).await.expect("import_records into a new tenant");
    assert_same_tenant(db, src, &fresh, &[], "-a").await;
    let moved = export_all(db, &fresh, 1000).await;
    assert!(matches!(&moved[0], ExportRecord::Tenant(t) if t.name == "Testmandant"), "the name moves");

    // Into an existing tenant with users, page by page: a user with a taken username is
    // replaced (imported id, imported hash; its session ends), other users stay.
    let dst = fresh_tenant(db).await;
    let anna = &fx.users[0];
    let clash = db
        .create_user(NewUser {
            id: UserId::new(),
            tenant: dst.clone(),
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
        tenant: dst.clone(),
        user: clash.id,
        csrf_token: short(),
        created_at: now_s(),
        idle_timeout_secs: 1800,
        absolute_expiry: now_s() + Duration::hours(8),
    };
    db.create_session(session.clone()).await.expect("create_session");
    let mut batches = 0;
    for batch in with_kennung_suffix(&records, "-b").chunks(4) {
        db.import_records(&dst, batch.to_vec()).await.expect("import_records, one batch");
        batches += 1;
    }
    assert!(batches > 5, "the import ran in several batches");
    assert_same_tenant(db, src, &dst, std::slice::from_ref(&zoe), "-b").await;
    assert_not_found(db.get_user(&dst, clash.id).await, "the replaced user's id is gone");
    assert_eq!(db.get_session(&session.token_hash, now_s()).await.expect("get_session"), None, "its session ended");

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
    let moved = db.update_wiedervorlage(&dst, w.id, w.version, done, &system()).await.expect("update after import");
    assert_eq!(moved.version, w.version + 1, "Wiedervorlagen keep their versions");
    assert_eq!(h.version, src_claim.version + 1);
    assert_eq!(
        db.history(&dst, h.id).await.expect("history").last().map(|e| e.event.kind()),
        Some("AKTENZEICHEN_GEAENDERT"),
        "new events append after the imported ones"
    );

    // A disabled user moves disabled.
    let other = TenantId::parse(&format!("t-{}", short())).expect("slug");
    let mut with_disabled = records[..1].to_vec();
    let ghost = UserRecord { id: UserId::new(), username: "ehemalig".into(), disabled: true, ..fx.users[0].clone() };
    with_disabled.push(ExportRecord::User(ghost.clone()));
    db.import_records(&other, with_disabled).await.expect("import_records");
    assert_eq!(db.get_user(&other, ghost.id).await.expect("get_user"), UserRecord { tenant: other.clone(), ..ghost });
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
        let before = db.count_for_export(t).await.expect("count_for_export");
        match db.import_records(t, with_kennung_suffix(&records, "-x")).await {
            Err(StorageError::Duplicate("tenant")) => {}
            other => panic!("importing into a tenant in use must be Duplicate(\"tenant\"), got {other:?}"),
        }
        match db.import_records(t, tenant_only.clone()).await {
            Err(StorageError::Duplicate("tenant")) => {}
            other => panic!("starting an import in a tenant in use must be refused, got {other:?}"),
        }
        assert_eq!(db.count_for_export(t).await.expect("count_for_export"), before, "a refused import writes nothing");
    }

    // A batch fails as a whole: an assignee who is no user of the target.
    let target = TenantId::parse(&format!("t-{}", short())).expect("slug");
    let assigned = records
        .iter()
        .find(|r| matches!(r, ExportRecord::Vorgang(v) if v.assignee.is_some() && v.unit.is_none()))
        .expect("an assigned Vorgang")
        .clone();
    match db.import_records(&target, vec![tenant_only[0].clone(), assigned.clone()]).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("an unknown assignee must be InvalidReference, got {other:?}"),
    }
    assert_not_found(db.export_page(&target, ExportSection::Tenant, None, 1).await, "the failed batch left nothing");
    let ExportRecord::Vorgang(v) = &assigned else { unreachable!("a Vorgang") };
    assert_not_found(db.get_vorgang(&target, v.head.id).await, "no Vorgang from the failed batch");

    // A unit the target does not have, on a Vorgang or a user.
    let in_unit = records
        .iter()
        .find(|r| matches!(r, ExportRecord::Vorgang(v) if v.unit.is_some() && v.assignee.is_none()))
        .expect("a Vorgang in a unit")
        .clone();
    let user_in_units =
        records.iter().find(|r| matches!(r, ExportRecord::User(u) if !u.units.is_empty())).expect("a user").clone();
    for record in [in_unit, user_in_units] {
        match db.import_records(&target, vec![tenant_only[0].clone(), record.clone()]).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("an unknown unit must be InvalidReference ({record:?}), got {other:?}"),
        }
    }
    assert_not_found(db.get_tenant(&target).await, "the failed batches left nothing");

    // An event of a Vorgang the target does not have.
    let event = records.iter().find(|r| matches!(r, ExportRecord::Event(_))).expect("an event").clone();
    match db.import_records(&target, vec![tenant_only[0].clone(), event]).await {
        Err(StorageError::InvalidReference(_)) => {}
        other => panic!("an event of an unknown Vorgang must be InvalidReference, got {other:?}"),
    }
    assert!(db.events_after(&target, 0, 10).await.expect("events_after").is_empty());

    // A note of a Vorgang the target does not have.
    let notes: Vec<ExportRecord> = records.iter().filter(|r| r.section() == ExportSection::Notes).cloned().collect();
    assert!(notes.iter().any(|r| matches!(r, ExportRecord::Kommentar(_))), "the fixture has Kommentare");
    assert!(notes.iter().any(|r| matches!(r, ExportRecord::Wiedervorlage(_))), "and Wiedervorlagen");
    for note in notes {
        match db.import_records(&target, vec![tenant_only[0].clone(), note.clone()]).await {
            Err(StorageError::InvalidReference(_)) => {}
            other => panic!("a note of an unknown Vorgang must be InvalidReference ({note:?}), got {other:?}"),
        }
    }
    assert_not_found(db.get_tenant(&target).await, "the failed batches left nothing");
}

// ---------------------------------------------------------------------------------------
// Kommentare and Wiedervorlagen
// ---------------------------------------------------------------------------------------

/// Days after the first of December 2026.
fn day(n: i64) -> time::Date {
    time::macros::date!(2026 - 12 - 01) + Duration::days(n)
}

fn new_wiedervorlage(vorgang: VorgangId, betreff: &str, frist: time::Date, by: &Actor) -> NewWiedervorlage {
    NewWiedervorlage {
        id: WiedervorlageId::new(),
        vorgang_id: vorgang,
        betreff: betreff.to_owned(),
        beschreibung: format!("Beschreibung zu „{betreff}“\nzweite Zeile"),
        frist,
        created_at: now_s(),
        created_by: by.clone(),
    }
}

fn update_of(w: &WiedervorlageRecord) -> WiedervorlageUpdate {
    WiedervorlageUpdate {
        betreff: w.betreff.clone(),
        beschreibung: w.beschreibung.clone(),
        frist: w.frist,
        erledigt: w.erledigt,
    }
}

#[track_caller]
fn assert_recent(t: OffsetDateTime, before: OffsetDateTime, what: &str) {
    let now = OffsetDateTime::now_utc();
    assert!(
        t >= before - Duration::seconds(2) && t <= now + Duration::seconds(2),
        "{what}: {t} must be the store's clock at the time of the call ({before} .. {now})"
    );
}

async fn naechste_frist(db: &Db, tenant: &TenantId, id: VorgangId) -> Option<time::Date> {
    let page = all_of(db, tenant, View::Alle).await;
    page.items.iter().find(|i| i.id == id).expect("the Vorgang is in the worklist").naechste_frist
}

async fn last_event(db: &Db, tenant: &TenantId, id: VorgangId) -> EventRecord {
    db.history(tenant, id).await.expect("history").pop().expect("an event")
}

pub async fn kommentare_are_added_and_listed(db: &Db) {
    let t = fresh_tenant(db).await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let head = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let other_vorgang = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    let events_before = db.history(&t, head.id).await.expect("history").len();

    let before = OffsetDateTime::now_utc();
    let text = "Rückruf am Montag\nAusweis fehlt „noch“ \u{1F600}";
    let k1 = db.add_kommentar(&t, head.id, KommentarId::new(), text, &actor(&anna)).await.expect("add_kommentar");
    assert_eq!((k1.vorgang_id, k1.text.as_str(), &k1.author), (head.id, text, &actor(&anna)), "stored as given");
    assert_recent(k1.at, before, "Kommentar at");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let k2 = db.add_kommentar(&t, head.id, KommentarId::new(), "Zweiter", &system()).await.expect("add_kommentar");
    assert!(k2.at > k1.at, "later Kommentare are later");
    db.add_kommentar(&t, other_vorgang.id, KommentarId::new(), "Anderer Vorgang", &system())
        .await
        .expect("add_kommentar");

    assert_eq!(
        db.list_kommentare(&t, head.id).await.expect("list_kommentare"),
        vec![k1.clone(), k2.clone()],
        "the Vorgang's Kommentare, oldest first, as returned by add_kommentar"
    );
    let vorgang = db.get_vorgang(&t, head.id).await.expect("get_vorgang");
    assert_eq!(vorgang.head, head, "a Kommentar changes neither version nor status of the Vorgang");

    let history = db.history(&t, head.id).await.expect("history");
    assert_eq!(history.len(), events_before + 2, "one event per Kommentar");
    let new_events = &history[events_before..];
    assert_eq!(
        new_events.iter().map(|e| (&e.event, &e.actor)).collect::<Vec<_>>(),
        vec![
            (&VorgangEvent::KommentarHinzugefuegt { kommentar_id: k1.id }, &actor(&anna)),
            (&VorgangEvent::KommentarHinzugefuegt { kommentar_id: k2.id }, &system()),
        ],
        "KommentarHinzugefuegt, by the author, without the text"
    );
    // Commands at the version from before the Kommentare still apply.
    set_aktenzeichen(db, &t, &head, Some("AZ-K"), &actor(&anna)).await;

    assert_not_found(
        db.add_kommentar(&t, VorgangId::new(), KommentarId::new(), "x", &system()).await,
        "add_kommentar to an unknown Vorgang",
    );
    assert_not_found(db.list_kommentare(&t, VorgangId::new()).await, "list_kommentare of an unknown Vorgang");

    // Another tenant sees nothing of it and cannot add to it.
    let other = fresh_tenant(db).await;
    assert_not_found(
        db.add_kommentar(&other, head.id, KommentarId::new(), "fremd", &system()).await,
        "add_kommentar to another tenant's Vorgang",
    );
    assert_not_found(db.list_kommentare(&other, head.id).await, "list_kommentare of another tenant's Vorgang");
    let own = intake(db, &other, new_vorgang(at(2), "Gewerbeanmeldung")).await;
    let theirs = db.add_kommentar(&other, own.id, KommentarId::new(), "eigen", &system()).await.expect("add");
    assert_eq!(db.list_kommentare(&other, own.id).await.expect("list"), vec![theirs]);
    assert_eq!(db.list_kommentare(&t, head.id).await.expect("list"), vec![k1, k2], "unchanged by the other tenant");
}

pub async fn wiedervorlagen_lifecycle(db: &Db) {
    let t = fresh_tenant(db).await;
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let by = actor(&anna);
    let a = intake(db, &t, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    let b = intake(db, &t, new_vorgang(at(1), "Hundesteuer")).await;
    let c = intake(db, &t, new_vorgang(at(2), "Anwohnerparken")).await;

    let new1 = new_wiedervorlage(a.id, "Ausweis nachfordern", day(9), &by);
    let w1 = db.add_wiedervorlage(&t, new1.clone()).await.expect("add_wiedervorlage");
    assert_eq!(
        w1,
        WiedervorlageRecord {
            id: new1.id,
            vorgang_id: a.id,
            vorgang_nummer: a.nummer.clone(),
            betreff: new1.betreff.clone(),
            beschreibung: new1.beschreibung.clone(),
            frist: day(9),
            erledigt: false,
            erledigt_at: None,
            created_at: new1.created_at,
            created_by: by.clone(),
            version: 1,
        },
        "a new Wiedervorlage: version 1, open, with the Vorgangsnummer"
    );
    assert_eq!(db.get_wiedervorlage(&t, w1.id).await.expect("get_wiedervorlage"), w1);
    let e = last_event(db, &t, a.id).await;
    assert_eq!(
        (e.event, e.actor),
        (
            VorgangEvent::WiedervorlageAngelegt {
                wiedervorlage_id: w1.id,
                betreff: "Ausweis nachfordern".into(),
                frist: time::macros::date!(2026 - 12 - 10)
            },
            by.clone()
        ),
        "WiedervorlageAngelegt with Betreff and ISO Frist"
    );
    let w2 = db.add_wiedervorlage(&t, new_wiedervorlage(a.id, "Rückruf", day(0), &system())).await.expect("add");
    let w3 =
        db.add_wiedervorlage(&t, new_wiedervorlage(b.id, "Frist Stellungnahme", day(-30), &by)).await.expect("add");
    assert_eq!(db.get_vorgang(&t, a.id).await.expect("get_vorgang").head, a, "no version bump for Wiedervorlagen");
    assert_eq!(
        (naechste_frist(db, &t, a.id).await, naechste_frist(db, &t, b.id).await, naechste_frist(db, &t, c.id).await),
        (Some(day(0)), Some(day(-30)), None),
        "the worklist shows the earliest open Frist"
    );
    assert_eq!(db.list_wiedervorlagen(&t, a.id).await.expect("list"), vec![w2.clone(), w1.clone()], "by Frist");
    assert_eq!(db.list_wiedervorlagen(&t, c.id).await.expect("list"), vec![]);

    // A stale version conflicts and changes nothing.
    let stale = WiedervorlageUpdate { frist: day(99), ..update_of(&w2) };
    match db.update_wiedervorlage(&t, w2.id, 2, stale, &by).await {
        Err(StorageError::Conflict { current_version: 1 }) => {}
        other => panic!("update at a stale version must be Conflict {{ current_version: 1 }}, got {other:?}"),
    }
    assert_eq!(db.get_wiedervorlage(&t, w2.id).await.expect("get"), w2, "the conflict changed nothing");

    let history_len = |db: &Db, id: VorgangId| {
        let (db, t) = (db.clone(), t.clone());
        async move { db.history(&t, id).await.expect("history").len() }
    };
    // Changing the content: Geaendert.
    let n = history_len(db, a.id).await;
    let change = WiedervorlageUpdate {
        betreff: "Rückruf (verschoben)".into(),
        beschreibung: String::new(),
        frist: day(19),
        erledigt: false,
    };
    let w2 = db.update_wiedervorlage(&t, w2.id, 1, change, &by).await.expect("update_wiedervorlage");
    assert_eq!(
        (w2.betreff.as_str(), w2.beschreibung.as_str(), w2.frist, w2.erledigt, w2.erledigt_at, w2.version),
        ("Rückruf (verschoben)", "", day(19), false, None, 2),
        "the update applies and bumps the version"
    );
    assert_eq!(db.get_wiedervorlage(&t, w2.id).await.expect("get"), w2);
    assert_eq!(history_len(db, a.id).await, n + 1, "one event per update");
    let e = last_event(db, &t, a.id).await;
    assert_eq!(
        (e.event, e.actor),
        (
            VorgangEvent::WiedervorlageGeaendert {
                wiedervorlage_id: w2.id,
                betreff: "Rückruf (verschoben)".into(),
                frist: time::macros::date!(2026 - 12 - 20)
            },
            by.clone()
        )
    );
    assert_eq!(naechste_frist(db, &t, a.id).await, Some(day(9)), "a later Frist moves naechste_frist");
    assert_eq!(db.list_wiedervorlagen(&t, a.id).await.expect("list"), vec![w1.clone(), w2.clone()]);

    // Done: Erledigt, erledigt_at set, out of naechste_frist, listed after the open ones.
    let before = OffsetDateTime::now_utc();
    let w1 = db
        .update_wiedervorlage(&t, w1.id, 1, WiedervorlageUpdate { erledigt: true, ..update_of(&w1) }, &system())
        .await
        .expect("update_wiedervorlage done");
    assert_eq!((w1.erledigt, w1.version), (true, 2));
    let done_at = w1.erledigt_at.expect("erledigt_at when done");
    assert_recent(done_at, before, "erledigt_at");
    let e = last_event(db, &t, a.id).await;
    assert_eq!(
        (e.event, e.actor),
        (
            VorgangEvent::WiedervorlageErledigt { wiedervorlage_id: w1.id, betreff: "Ausweis nachfordern".into() },
            system()
        )
    );
    assert_eq!(naechste_frist(db, &t, a.id).await, Some(day(19)), "a done Wiedervorlage has no Frist any more");
    assert_eq!(db.list_wiedervorlagen(&t, a.id).await.expect("list"), vec![w2.clone(), w1.clone()], "done last");

    // Changing a done one keeps it done with its erledigt_at: Geaendert.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let w1 = db
        .update_wiedervorlage(&t, w1.id, 2, WiedervorlageUpdate { frist: day(-1), ..update_of(&w1) }, &by)
        .await
        .expect("update a done one");
    assert_eq!((w1.erledigt, w1.erledigt_at, w1.frist, w1.version), (true, Some(done_at), day(-1), 3));
    assert_eq!(last_event(db, &t, a.id).await.event.kind(), "WIEDERVORLAGE_GEAENDERT");
    assert_eq!(naechste_frist(db, &t, a.id).await, Some(day(19)), "done ones stay out of naechste_frist");

    // All done: no naechste_frist.
    let w2 = db
        .update_wiedervorlage(&t, w2.id, 2, WiedervorlageUpdate { erledigt: true, ..update_of(&w2) }, &by)
        .await
        .expect("done");
    assert_eq!(naechste_frist(db, &t, a.id).await, None, "no open Wiedervorlage, no naechste_frist");
    assert_eq!(db.list_wiedervorlagen(&t, a.id).await.expect("list"), vec![w1.clone(), w2.clone()], "by Frist");

    // Reopened: Wiedereroeffnet, erledigt_at cleared, back in naechste_frist.
    let n = history_len(db, a.id).await;
    let w1 = db
        .update_wiedervorlage(&t, w1.id, 3, WiedervorlageUpdate { erledigt: false, ..update_of(&w1) }, &by)
        .await
        .expect("reopen");
    assert_eq!((w1.erledigt, w1.erledigt_at, w1.version), (false, None, 4));
    assert_eq!(history_len(db, a.id).await, n + 1, "one event per update");
    let e = last_event(db, &t, a.id).await;
    assert_eq!(
        e.event,
        VorgangEvent::WiedervorlageWiedereroeffnet { wiedervorlage_id: w1.id, betreff: "Ausweis nachfordern".into() }
    );
    assert_eq!(naechste_frist(db, &t, a.id).await, Some(day(-1)));
    assert_eq!(db.list_wiedervorlagen(&t, a.id).await.expect("list"), vec![w1.clone(), w2.clone()], "open first");
    assert_eq!(db.get_vorgang(&t, a.id).await.expect("get_vorgang").head, a, "still no version bump");
    let kinds_a = kinds(&db.history(&t, a.id).await.expect("history"));
    assert_eq!(
        kinds_a.iter().filter(|k| k.starts_with("WIEDERVORLAGE_")).count(),
        7,
        "two Angelegt, five updates: {kinds_a:?}"
    );

    // Unknown ids.
    assert_not_found(db.get_wiedervorlage(&t, WiedervorlageId::new()).await, "get of an unknown Wiedervorlage");
    assert_not_found(
        db.update_wiedervorlage(&t, WiedervorlageId::new(), 1, update_of(&w1), &by).await,
        "update of an unknown Wiedervorlage",
    );
    assert_not_found(
        db.add_wiedervorlage(&t, new_wiedervorlage(VorgangId::new(), "x", day(0), &by)).await,
        "add to an unknown Vorgang",
    );
    assert_not_found(db.list_wiedervorlagen(&t, VorgangId::new()).await, "list of an unknown Vorgang");

    // Another tenant sees nothing of them and cannot touch them.
    let other = fresh_tenant(db).await;
    assert_not_found(db.get_wiedervorlage(&other, w1.id).await, "get of another tenant's Wiedervorlage");
    assert_not_found(
        db.update_wiedervorlage(&other, w1.id, w1.version, update_of(&w1), &by).await,
        "update of another tenant's Wiedervorlage",
    );
    assert_not_found(
        db.add_wiedervorlage(&other, new_wiedervorlage(a.id, "x", day(0), &by)).await,
        "add to another tenant's Vorgang",
    );
    assert_not_found(db.list_wiedervorlagen(&other, a.id).await, "list of another tenant's Vorgang");
    let everything = WiedervorlagenQuery { visibility: Visibility::Tenant, include_done: true, limit: 100, offset: 0 };
    assert_eq!(db.wiedervorlagen(&other, &everything).await.expect("wiedervorlagen"), (vec![], 0));
    assert_eq!(db.count_due_wiedervorlagen(&other, &Visibility::Tenant, day(100)).await.expect("count_due"), 0);
    assert_eq!(db.get_wiedervorlage(&t, w1.id).await.expect("get"), w1, "unchanged by the other tenant");
    assert_eq!(db.get_wiedervorlage(&t, w3.id).await.expect("get"), w3);
}

pub async fn wiedervorlagen_across_vorgaenge(db: &Db) {
    use StatusCommand as C;
    let t = fresh_tenant(db).await;
    let (ua, ub) = (new_unit(db, &t, "Ordnungsamt").await, new_unit(db, &t, "Bauamt").await);
    let anna = new_user(db, &t, "anna", "Anna Amsel").await;
    let bernd = new_user(db, &t, "bernd", "Bernd Bär").await;
    let by = actor(&anna);
    type Spec<'a> = (Option<UnitId>, &'a [StatusCommand], Option<UserId>);
    let specs: [Spec; 5] = [
        (Some(ua.id), &[], None),
        (Some(ub.id), &[C::Annehmen], Some(anna.id)),
        (None, &[], None),
        (None, &[C::Annehmen, C::Bearbeiten], Some(bernd.id)),
        (Some(ub.id), &[C::Annehmen], None),
    ];
    // (head, unit, assignee, status)
    let mut vorgaenge = Vec::new();
    for (i, (unit, commands, assignee)) in specs.into_iter().enumerate() {
        let mut head = intake(db, &t, NewVorgang { unit, ..new_vorgang(at(i as i64), "Gewerbeanmeldung") }).await;
        for c in commands {
            head = move_status(db, &t, head.id, *c, None, &by).await;
        }
        if assignee.is_some() {
            head = assign(db, &t, &head, assignee, &by).await;
        }
        vorgaenge.push((head.clone(), unit, assignee, head.status));
    }
    // (Vorgang index, Frist, done); the same Frist twice to pin the order by id.
    let notes =
        [(0, 3, false), (1, 1, false), (2, 3, false), (3, -2, false), (4, 5, false), (0, -5, true), (3, 0, true)];
    let mut all = Vec::new();
    for (i, frist, done) in notes {
        let mut w = db
            .add_wiedervorlage(&t, new_wiedervorlage(vorgaenge[i].0.id, &format!("WV {i}"), day(frist), &by))
            .await
            .expect("add_wiedervorlage");
        if done {
            w = db
                .update_wiedervorlage(&t, w.id, 1, WiedervorlageUpdate { erledigt: true, ..update_of(&w) }, &by)
                .await
                .expect("done");
        }
        all.push((i, w));
    }
    // Another tenant's Wiedervorlage never shows.
    let other = fresh_tenant(db).await;
    let theirs = intake(db, &other, new_vorgang(at(0), "Gewerbeanmeldung")).await;
    db.add_wiedervorlage(&other, new_wiedervorlage(theirs.id, "fremd", day(0), &system())).await.expect("add");

    let visibilities = [
        Visibility::Tenant,
        Visibility::Restricted { units: vec![ua.id], user: None, all_new: false },
        Visibility::Restricted { units: vec![ub.id], user: Some(bernd.id), all_new: false },
        Visibility::Restricted { units: vec![], user: Some(anna.id), all_new: true },
        Visibility::Restricted { units: vec![], user: None, all_new: true },
        Visibility::Restricted { units: vec![], user: None, all_new: false },
        Visibility::Restricted { units: vec![UnitId::new()], user: Some(UserId::new()), all_new: false },
    ];
    for vis in &visibilities {
        for include_done in [false, true] {
            let mut want: Vec<WiedervorlageRecord> = all
                .iter()
                .filter(|(i, w)| {
                    let (_, unit, assignee, status) = &vorgaenge[*i];
                    vis.covers(*unit, *assignee, *status) && (include_done || !w.erledigt)
                })
                .map(|(_, w)| w.clone())
                .collect();
            want.sort_by_key(|w| (w.frist, w.id));
            let q = WiedervorlagenQuery { visibility: vis.clone(), include_done, limit: 100, offset: 0 };
            let (items, total) = db.wiedervorlagen(&t, &q).await.expect("wiedervorlagen");
            assert_eq!(items, want, "wiedervorlagen {vis:?}, include_done {include_done}: by Frist, then id");
            assert_eq!(total, want.len() as u64, "total {vis:?}, include_done {include_done}");
            let q = WiedervorlagenQuery { limit: 2, offset: 1, ..q };
            let (page, total) = db.wiedervorlagen(&t, &q).await.expect("wiedervorlagen page");
            assert_eq!(page, want.iter().skip(1).take(2).cloned().collect::<Vec<_>>(), "limit and offset {vis:?}");
            assert_eq!(total, want.len() as u64, "the total is of all pages");
            for d in [-10, -2, 0, 3, 100] {
                let due = want.iter().filter(|w| !w.erledigt && w.frist <= day(d)).count() as u64;
                assert_eq!(
                    db.count_due_wiedervorlagen(&t, vis, day(d)).await.expect("count_due_wiedervorlagen"),
                    due,
                    "due on or before {} within {vis:?}",
                    day(d)
                );
            }
        }
    }
    let (items, _) = db
        .wiedervorlagen(
            &t,
            &WiedervorlagenQuery { visibility: Visibility::Tenant, include_done: true, limit: 100, offset: 0 },
        )
        .await
        .expect("wiedervorlagen");
    for w in &items {
        let head = &vorgaenge.iter().find(|v| v.0.id == w.vorgang_id).expect("a Vorgang of the tenant").0;
        assert_eq!(w.vorgang_nummer, head.nummer, "records carry their Vorgangsnummer");
    }
    let page = all_of(db, &t, View::Alle).await;
    let frist_of = |i: usize| page.items.iter().find(|it| it.id == vorgaenge[i].0.id).and_then(|it| it.naechste_frist);
    assert_eq!(
        (0..5).map(frist_of).collect::<Vec<_>>(),
        vec![Some(day(3)), Some(day(1)), Some(day(3)), Some(day(-2)), Some(day(5))],
        "naechste_frist in the worklist"
    );
}
