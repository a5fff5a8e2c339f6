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

mod audit;
mod documents;
mod intake;
mod isolation;
mod jobs;
mod notes;
mod portal;
mod search;
mod sequences;
mod tenants;
mod transfer;
mod users;
mod vorgaenge;

pub use audit::*;
pub use documents::*;
pub use intake::*;
pub use isolation::*;
pub use jobs::*;
pub use notes::*;
pub use portal::*;
pub use search::*;
pub use sequences::*;
pub use tenants::*;
pub use transfer::*;
pub use users::*;
pub use vorgaenge::*;

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
            failed_deliveries_record_tenant_level_events,
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
    db.installation().ensure_tenant(new_tenant(&t, "Testmandant")).await.expect("ensure_tenant");
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

fn new_delivery(received_at: OffsetDateTime) -> NewDelivery {
    let id = DeliveryId::new();
    NewDelivery {
        id,
        received_at,
        channel: "antrag-multipart".into(),
        content_type: "multipart/form-data; boundary=xyz".into(),
        blob_key: format!("eingang/{id}"),
        size: 123_456,
    }
}

async fn record(db: &Db, tenant: &TenantId, received_at: OffsetDateTime) -> NewDelivery {
    let d = new_delivery(received_at);
    db.tenant(tenant).record_delivery(d.clone()).await.expect("record_delivery");
    d
}

/// Records a delivery and completes it into `v`; panics unless a Vorgang is created.
async fn intake(db: &Db, tenant: &TenantId, v: NewVorgang) -> VorgangHead {
    let d = record(db, tenant, v.eingang_at).await;
    match db.tenant(tenant).complete_intake(d.id, v).await.expect("complete_intake") {
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
        email: Some(format!("{username}@example.org")),
        username,
        display_name: display_name.to_owned(),
        roles: vec![Role::Sachbearbeitung],
        units: vec![],
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1${}", short()),
        oidc_subject: None,
    };
    db.tenant(tenant).create_user(user).await.expect("create_user")
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
    let current = db.tenant(tenant).get_vorgang(id).await.expect("get_vorgang before a status move");
    let to = domain::vorgang::decide_status_move(
        command,
        current.head.status,
        current.status_before_deletion_request,
        reason,
    )
    .expect("legal status move");
    let change = VorgangChange::Status { command, from: current.head.status, to, reason: reason.map(str::to_owned) };
    let head =
        db.tenant(tenant).apply_change(id, current.head.version, change, actor).await.expect("apply_change status");
    assert_eq!(head.status, to, "apply_change returns the new status");
    assert_eq!(head.version, current.head.version + 1, "every change increments the version by one");
    head
}

async fn assign(db: &Db, tenant: &TenantId, head: &VorgangHead, to: Option<UserId>, actor: &Actor) -> VorgangHead {
    db.tenant(tenant)
        .apply_change(head.id, head.version, VorgangChange::Assign { to }, actor)
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
    db.tenant(tenant)
        .apply_change(head.id, head.version, VorgangChange::Aktenzeichen(az), actor)
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
    db.tenant(tenant).worklist(&query(view, None, SortKey::EingangAt, false, 0, 1000)).await.expect("worklist")
}

// ---------------------------------------------------------------------------------------
// tenants, intake
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// commands
// ---------------------------------------------------------------------------------------

async fn claim_with_retry(db: &Db, tenant: &TenantId, user: &UserRecord) -> Option<VorgangHead> {
    let mut attempts = 0;
    loop {
        match db.tenant(tenant).claim_next(&Visibility::Tenant, user.id, &actor(user)).await {
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

// ---------------------------------------------------------------------------------------
// users and sessions
// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------
// tenants and Organisationseinheiten
// ---------------------------------------------------------------------------------------

fn kennung() -> String {
    format!("k-{}", short())
}

async fn new_unit(db: &Db, tenant: &TenantId, name: &str) -> UnitRecord {
    let unit = NewUnit { id: UnitId::new(), name: name.to_owned(), kennung: kennung() };
    db.tenant(tenant).create_unit(unit).await.expect("create_unit")
}

// ---------------------------------------------------------------------------------------
// visibility
// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------
// users: roles, units, OIDC, lockout, sessions
// ---------------------------------------------------------------------------------------

fn session_for(user: &UserRecord, start: OffsetDateTime, idle_timeout_secs: i64, absolute: Duration) -> NewSession {
    NewSession {
        token_hash: format!("{:0>64}", Uuid::new_v4().simple()),
        user: user.id,
        csrf_token: short(),
        created_at: start,
        idle_timeout_secs,
        absolute_expiry: start + absolute,
    }
}

async fn login_failure_with_retry(db: &Db, tenant: &TenantId, user: UserId, now: OffsetDateTime) -> UserRecord {
    let mut attempts = 0;
    loop {
        match db.tenant(tenant).record_login_failure(user, now).await {
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

// ---------------------------------------------------------------------------------------
// API tokens and audit log
// ---------------------------------------------------------------------------------------

fn new_token(name: &str, scopes: &[TokenScope], created_at: OffsetDateTime) -> NewApiToken {
    NewApiToken {
        id: ApiTokenId::new(),
        name: name.to_owned(),
        scopes: scopes.to_vec(),
        token_hash: format!("{:0>64}", Uuid::new_v4().simple()),
        created_at,
        created_by: "Anna Amsel".into(),
    }
}

// ---------------------------------------------------------------------------------------
// tenant isolation
// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------
// export and import
// ---------------------------------------------------------------------------------------

/// Every section of `tenant`'s export, in pages of `limit`, checking the paging contract.
async fn export_all(db: &Db, tenant: &TenantId, limit: u32) -> Vec<ExportRecord> {
    let mut all = Vec::new();
    for section in ExportSection::ALL {
        let mut after: Option<String> = None;
        loop {
            let (page, next) =
                db.tenant(tenant).export_page(section, after.as_deref(), limit).await.expect("export_page");
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
        let head = db.tenant(&t).get_vorgang(item.id).await.expect("get_vorgang").head;
        db.tenant(&t)
            .apply_change(head.id, head.version, VorgangChange::Unit { to: Some(unit.id) }, &by)
            .await
            .expect("apply_change unit");
    }
    let doomed = NewVorgang { unit: Some(units[0].id), ..new_vorgang(at(70), "Sondernutzung") };
    let head = intake(db, &t, doomed.clone()).await;
    move_status(db, &t, head.id, C::Verwerfen, Some("Dublette"), &by).await;
    move_status(db, &t, head.id, C::LoeschenAnfordern, Some("Dublette"), &by).await;
    let q = record(db, &t, at(80)).await;
    db.tenant(&t)
        .quarantine_delivery(q.id, "formData[2].value", "ungültiges Datum „31.02.“")
        .await
        .expect("quarantine");
    record(db, &t, at(81)).await;
    let dup = record(db, &t, at(82)).await;
    let mut repeated = new_vorgang(at(82), "Sondernutzung");
    repeated.transaction_id = doomed.transaction_id.clone();
    db.tenant(&t).complete_intake(dup.id, repeated).await.expect("complete_intake duplicate");
    let carla = db
        .tenant(&t)
        .create_user(NewUser {
            id: UserId::new(),
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
    let carla = db.tenant(&t).record_login_failure(carla.id, now_s()).await.expect("record_login_failure");
    fx.users.push(carla);
    let settings = TenantSettings {
        name: "Testmandant".into(),
        host: Some(format!("{t}.example")),
        ip_allowlist: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()],
    };
    db.tenant(&t).update_tenant(settings).await.expect("update_tenant");
    for (i, action) in ["anmeldung", "benutzer_angelegt", "vorgang_gelesen"].into_iter().enumerate() {
        db.tenant(&t).append_audit(audit_entry(&fx.users[0], i as i64, action)).await.expect("append_audit");
    }
    // Kommentare and Wiedervorlagen: open, done, changed.
    let v: Vec<VorgangId> = fx.items.iter().take(4).map(|i| i.id).collect();
    for (i, text) in [(0, "Erster Kommentar"), (0, "Zweiter Kommentar\nmit Zeilen"), (3, "Anderswo")] {
        db.tenant(&t).add_kommentar(v[i], KommentarId::new(), text, &by).await.expect("add_kommentar");
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    db.tenant(&t).add_wiedervorlage(new_wiedervorlage(v[0], "Offen", day(4), &by)).await.expect("add_wiedervorlage");
    let done =
        db.tenant(&t).add_wiedervorlage(new_wiedervorlage(v[1], "Erledigt", day(2), &system())).await.expect("add");
    db.tenant(&t)
        .update_wiedervorlage(done.id, 1, WiedervorlageUpdate { erledigt: true, ..update_of(&done) }, &by)
        .await
        .expect("done");
    let changed = db.tenant(&t).add_wiedervorlage(new_wiedervorlage(v[2], "Geändert", day(1), &by)).await.expect("add");
    db.tenant(&t)
        .update_wiedervorlage(changed.id, 1, WiedervorlageUpdate { frist: day(6), ..update_of(&changed) }, &by)
        .await
        .expect("change");
    db.tenant(&t).add_wiedervorlage(new_wiedervorlage(v[3], "Überfällig", day(-1), &by)).await.expect("add");
    (fx, units)
}

fn audit_entry(user: &UserRecord, minutes: i64, action: &str) -> NewAuditEntry {
    NewAuditEntry {
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
    db.tenant(tenant).list_audit(&q).await.expect("list_audit")
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
                let got = db.tenant(dst).get_tenant().await.expect("get_tenant dst");
                assert_eq!(
                    (got.name.as_str(), got.kind, &got.ip_allowlist, &got.host),
                    (t.name.as_str(), t.kind, &t.ip_allowlist, &None),
                    "name, kind and allowlist move, the host does not"
                );
            }
            ExportRecord::Unit(_) | ExportRecord::Event(_) | ExportRecord::Audit(_) => {}
            ExportRecord::Kommentar(k) => {
                let got =
                    db.tenant(dst).list_kommentare(k.vorgang_id).await.expect("list_kommentare of an imported Vorgang");
                assert!(got.contains(k), "Kommentare move completely: {k:?}");
            }
            ExportRecord::Wiedervorlage(w) => {
                let got = db.tenant(dst).get_wiedervorlage(w.id).await.expect("get_wiedervorlage of an imported one");
                assert_eq!(got, *w, "Wiedervorlagen move completely, with id, version and erledigt");
            }
            ExportRecord::ClerkDocument(d) => {
                let got =
                    db.tenant(dst).list_clerk_documents(d.document.vorgang_id).await.expect("list_clerk_documents");
                assert!(got.contains(d), "clerks' documents move completely: {d:?}");
            }
            ExportRecord::User(u) => {
                user_ids.push(u.id);
                let got = db.tenant(dst).get_user(u.id).await.expect("get_user of an imported user");
                assert_eq!(got, UserRecord { tenant: dst.clone(), ..u.clone() }, "users move completely");
                assert_eq!(db.tenant(dst).find_user_by_username(&u.username).await.expect("find"), Some(got.clone()));
                if let Some(subject) = &u.oidc_subject {
                    assert_eq!(
                        db.tenant(dst).find_user_by_oidc_subject(subject).await.expect("find by subject"),
                        Some(got)
                    );
                }
            }
            ExportRecord::Delivery(d) => {
                let got = db.tenant(dst).get_delivery(d.id).await.expect("get_delivery of an imported delivery");
                assert_eq!(got, DeliveryRecord { tenant: dst.clone(), ..d.clone() }, "deliveries move completely");
            }
            ExportRecord::Vorgang(v) => {
                let id = v.head.id;
                let got = db.tenant(dst).get_vorgang(id).await.expect("get_vorgang of an imported Vorgang");
                let want = crate::VorgangRecord { tenant: dst.clone(), ..(**v).clone() };
                assert_eq!(got, want, "Vorgänge move completely");
                assert_eq!(
                    got,
                    crate::VorgangRecord { tenant: dst.clone(), ..db.tenant(src).get_vorgang(id).await.expect("src") }
                );
                for doc in &v.documents {
                    assert_eq!(db.tenant(dst).get_document(doc.id).await.expect("get_document"), *doc);
                }
                assert_eq!(
                    db.tenant(dst).find_by_transaction(&v.transaction_id).await.expect("find_by_transaction"),
                    Some(v.head.clone())
                );
                assert_eq!(
                    without_seq(db.tenant(dst).history(id).await.expect("history dst")),
                    without_seq(db.tenant(src).history(id).await.expect("history src")),
                    "the history moves, in order"
                );
                assert_eq!(
                    db.tenant(dst).list_kommentare(id).await.expect("list_kommentare dst"),
                    db.tenant(src).list_kommentare(id).await.expect("list_kommentare src"),
                    "the Kommentare move"
                );
                assert_eq!(
                    db.tenant(dst).list_wiedervorlagen(id).await.expect("list_wiedervorlagen dst"),
                    db.tenant(src).list_wiedervorlagen(id).await.expect("list_wiedervorlagen src"),
                    "the Wiedervorlagen move"
                );
            }
        }
    }
    let src_log = db.tenant(src).events_after(0, 100_000).await.expect("events_after src");
    let dst_log = db.tenant(dst).events_after(0, 100_000).await.expect("events_after dst");
    assert_seq_increasing(&dst_log, "imported event log");
    assert_eq!(without_seq(dst_log), without_seq(src_log), "the event log moves, in order, with its content");

    let src_units = db.tenant(src).list_units().await.expect("list_units src");
    let want_units: Vec<UnitRecord> = src_units
        .iter()
        .map(|u| UnitRecord { tenant: dst.clone(), kennung: format!("{}{suffix}", u.kennung), ..u.clone() })
        .collect();
    assert_eq!(db.tenant(dst).list_units().await.expect("list_units dst"), want_units, "the units move");
    let retenant_audit = |a: Vec<AuditRecord>| -> Vec<AuditRecord> {
        a.into_iter().map(|r| AuditRecord { seq: 0, entry: NewAuditEntry { ..r.entry } }).collect()
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
                db.tenant(dst).wiedervorlagen(&q).await.expect("wiedervorlagen dst"),
                db.tenant(src).wiedervorlagen(&q).await.expect("wiedervorlagen src"),
                "the Wiedervorlagen view {visibility:?}, include_done {include_done}"
            );
        }
        assert_eq!(
            db.tenant(dst).count_due_wiedervorlagen(visibility, day(3)).await.expect("count_due dst"),
            db.tenant(src).count_due_wiedervorlagen(visibility, day(3)).await.expect("count_due src"),
            "due Wiedervorlagen {visibility:?}"
        );
        for view in &views {
            assert_eq!(
                db.tenant(dst).status_counts(visibility, view).await.expect("status_counts dst"),
                db.tenant(src).status_counts(visibility, view).await.expect("status_counts src"),
                "status counts {visibility:?} {view:?}"
            );
            for sort in SortKey::ALL {
                for descending in [false, true] {
                    let q = WorklistQuery {
                        visibility: visibility.clone(),
                        ..query(view.clone(), None, sort, descending, 0, 1000)
                    };
                    assert_eq!(
                        db.tenant(dst).worklist(&q).await.expect("worklist dst"),
                        db.tenant(src).worklist(&q).await.expect("worklist src"),
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
        db.tenant(dst).list_quarantine(DeliveryStatus::Quarantined, 100, 0).await.expect("list_quarantine dst"),
        retenant(
            db.tenant(src).list_quarantine(DeliveryStatus::Quarantined, 100, 0).await.expect("list_quarantine src")
        ),
        "the quarantine moves"
    );
    let mut want: Vec<UserRecord> = db
        .tenant(src)
        .list_users()
        .await
        .expect("list_users src")
        .into_iter()
        .map(|u| UserRecord { tenant: dst.clone(), ..u })
        .chain(extra_users.iter().cloned())
        .collect();
    want.sort_by_key(|u| u.id);
    let mut got = db.tenant(dst).list_users().await.expect("list_users dst");
    got.sort_by_key(|u| u.id);
    assert_eq!(got, want, "the users move; the target's other users stay");
    let (s, d) = (
        db.tenant(src).count_for_export().await.expect("count src"),
        db.tenant(dst).count_for_export().await.expect("count dst"),
    );
    assert_eq!(ExportCounts { users: s.users + extra_users.len() as u64, ..s }, d, "count_for_export agrees");
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
    db.tenant(tenant).history(id).await.expect("history").pop().expect("an event")
}
