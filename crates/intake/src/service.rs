use crate::files::{content_type_or_default, sanitize_filename, IncomingFile};
use crate::multipart;
use base64::Engine as _;
use bytes::Bytes;
use documents::{BlobStore, DocumentError};
use domain::{Antrag, Antragsteller, DocumentId, TenantId, ValidationError, VorgangId, Vorgangsnummer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use store::{
    DeliveryId, DeliveryRecord, DeliveryStatus, DocumentKind, DocumentRecord, IntakeOutcome, NewDelivery, NewVorgang,
    StorageError, Store, VorgangHead,
};
use time::OffsetDateTime;

/// Size limits, configurable by the operator. The whole request is capped by the HTTP layer
/// at `max_request`; the parts are checked here so the error names the part.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_request: usize,
    pub max_form_data: usize,
    pub max_file: usize,
    pub max_parts: usize,
    /// Bytes of request bodies all intakes together may hold in memory at once. A request
    /// reserves room as its body arrives ([`Intake::reserve`], [`Reservation::cover`]), never
    /// for what it only announces.
    pub memory_budget: usize,
    /// How long a request waits for room in the budget before it is answered 503.
    pub budget_wait: std::time::Duration,
    /// Body bytes a request may reserve before it has sent any (its Content-Length, if smaller):
    /// a sender that announces a large body and sends nothing holds no more than this.
    pub unproven_reservation: usize,
    /// A body must arrive at least this fast (bytes per second), checked in every
    /// [`Limits::rate_window`] from the first one on: each window must bring
    /// `min_body_rate × rate_window` bytes (or the rest of the body). Otherwise the request
    /// ends with 408 and gives its room back (no slow-sender hold-up).
    pub min_body_rate: usize,
    pub rate_window: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request: 110 * 1024 * 1024,
            max_form_data: 10 * 1024 * 1024,
            max_file: 50 * 1024 * 1024,
            max_parts: 200,
            memory_budget: 1024 * 1024 * 1024,
            budget_wait: std::time::Duration::from_secs(10),
            unproven_reservation: 1024 * 1024,
            min_body_rate: 64 * 1024,
            rate_window: std::time::Duration::from_secs(5),
        }
    }
}

/// A delivery as it arrived: the channel it came by, the Content-Type its sender declared
/// and the bytes.
#[derive(Debug, Clone)]
pub enum Payload {
    /// `POST /antrag`, the OZG-Cloud format.
    Multipart { content_type: String, body: Bytes },
    /// The versioned JSON API: control, formData and base64 files in one document.
    Json { content_type: String, body: Bytes },
}

const MULTIPART_CHANNEL: &str = "antrag-multipart";
const JSON_CHANNEL: &str = "api-json";

impl Payload {
    fn channel(&self) -> &'static str {
        match self {
            Payload::Multipart { .. } => MULTIPART_CHANNEL,
            Payload::Json { .. } => JSON_CHANNEL,
        }
    }

    /// A stored delivery again, by its recorded channel; `None` for a channel intake does not
    /// know (never guessed).
    fn stored(channel: &str, content_type: String, body: Bytes) -> Option<Self> {
        match channel {
            MULTIPART_CHANNEL => Some(Payload::Multipart { content_type, body }),
            JSON_CHANNEL => Some(Payload::Json { content_type, body }),
            _ => None,
        }
    }

    fn content_type(&self) -> &str {
        match self {
            Payload::Multipart { content_type, .. } | Payload::Json { content_type, .. } => content_type,
        }
    }

    fn body(&self) -> &Bytes {
        match self {
            Payload::Multipart { body, .. } | Payload::Json { body, .. } => body,
        }
    }

    /// The declared Content-Type must be the channel's format; anything else is not parsed as
    /// if it were. (A multipart type without boundary is the multipart parser's error.)
    fn check_media_type(&self) -> Result<(), ValidationError> {
        let declared = self.content_type().split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let (fits, expected) = match self {
            Payload::Multipart { .. } => (declared == "multipart/form-data", "multipart/form-data"),
            Payload::Json { .. } => {
                let json = declared == "application/json"
                    || declared.strip_prefix("application/").is_some_and(|t| t.ends_with("+json"));
                (json, "application/json")
            }
        };
        if fits {
            return Ok(());
        }
        let message = if declared.is_empty() {
            format!("fehlt (erwartet: {expected})")
        } else {
            let shown: String = declared.chars().filter(|c| !c.is_control()).take(100).collect();
            format!("„{shown}“ wird hier nicht angenommen (erwartet: {expected})")
        };
        Err(ValidationError::new("Content-Type", message))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub delivery: DeliveryId,
    /// The tenant intake routed the delivery to.
    pub tenant: TenantId,
    pub transaction_id: String,
    pub vorgang: VorgangHead,
    /// The transaction id had been delivered before; no new Vorgang was created.
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The delivery is stored and quarantined; the error names the field.
    #[error("Eingang {delivery} ungültig: {error}")]
    Invalid { delivery: DeliveryId, error: ValidationError },
    /// Stored and quarantined without parsing: its Content-Type is not its channel's format.
    #[error("Eingang {delivery} nicht lesbar: {error}")]
    UnsupportedMediaType { delivery: DeliveryId, error: ValidationError },
    #[error("Eingang {0} kann nicht erneut verarbeitet werden: er ist bereits verarbeitet")]
    AlreadyProcessed(DeliveryId),
    /// Valid, stored, but no Organisationseinheit (of the sender's tenant) carries its
    /// `zustaendigeStelle`; it waits in the "nicht zuordenbar" list.
    #[error("Eingang {delivery} nicht zuordenbar: {message}")]
    Unroutable { delivery: DeliveryId, kennung: String, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Documents(#[from] DocumentError),
}

struct Parsed {
    antrag: Antrag,
    representations: Vec<IncomingFile>,
    attachments: Vec<IncomingFile>,
}

/// How often a colliding random Vorgangsnummer is drawn again before giving up.
const NUMMER_ATTEMPTS: usize = 16;

#[derive(Clone)]
pub struct Intake {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    limits: Limits,
    budget: Budget,
    /// Draws a Vorgangsnummer for a day; random, replaceable for tests of collisions.
    nummern: Arc<dyn Fn(time::Date) -> Vorgangsnummer + Send + Sync>,
}

/// The intake's memory budget: one permit per KiB of [`Limits::memory_budget`], and what each
/// sender and each tenant holds of it.
#[derive(Clone)]
struct Budget {
    permits: Arc<tokio::sync::Semaphore>,
    /// Permits held per key (`source` of a [`Sender`], `tenant:<id>`).
    held: Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>,
}

impl Budget {
    fn new(limits: &Limits) -> Self {
        Self { permits: Arc::new(tokio::sync::Semaphore::new(all_permits(limits) as usize)), held: Arc::default() }
    }

    /// See [`Intake::reserve`].
    async fn reserve(
        &self,
        limits: &Limits,
        sender: &Sender,
        content_length: Option<usize>,
    ) -> Result<Reservation, Busy> {
        let all = all_permits(limits);
        let largest = permits_for(limits, limits.max_request);
        let mut keys = vec![(sender.source.clone(), (all / 4).max(largest))];
        if let Some(t) = &sender.tenant {
            keys.push((format!("tenant:{t}"), (all / 2).max(largest)));
        }
        let bytes =
            content_length.unwrap_or(limits.max_request).min(limits.max_request).min(limits.unproven_reservation);
        let wanted = permits_for(limits, bytes);
        if !self.count(&keys, wanted) {
            tracing::warn!(
                bytes,
                "intake: one sender or tenant holds its share of the memory budget, refused with 503"
            );
            return Err(Busy);
        }
        let acquire = self.permits.clone().acquire_many_owned(wanted);
        match tokio::time::timeout(limits.budget_wait, acquire).await {
            Ok(Ok(permit)) => {
                Ok(Reservation { budget: self.clone(), limits: limits.clone(), keys, permit, counted: wanted })
            }
            // Timed out, or closed (never happens: the semaphore is never closed).
            _ => {
                self.uncount(&keys, wanted);
                tracing::warn!(bytes, "intake: memory budget full, request refused with 503");
                Err(Busy)
            }
        }
    }

    /// Counts `n` more permits for every key, unless one would exceed its share (then none).
    fn count(&self, keys: &[(String, u32)], n: u32) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if keys.iter().any(|(k, share)| held.get(k).copied().unwrap_or(0).saturating_add(n) > *share) {
            return false;
        }
        for (k, _) in keys {
            *held.entry(k.clone()).or_insert(0) += n;
        }
        true
    }

    fn uncount(&self, keys: &[(String, u32)], n: u32) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        for (k, _) in keys {
            if let Some(h) = held.get_mut(k) {
                *h = h.saturating_sub(n);
                if *h == 0 {
                    held.remove(k);
                }
            }
        }
    }
}

/// Who sends a request body, for the shares of the memory budget.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The API token (`token:<id>`), else the client address (`ip:<addr>`).
    pub source: String,
    /// The token's tenant: all tokens of one tenant together hold at most half the budget
    /// (an admin can create any number of tokens).
    pub tenant: Option<TenantId>,
}

/// Room reserved in the intake's memory budget for one request body; grows as the body
/// arrives ([`Reservation::cover`]) and is given back when dropped.
pub struct Reservation {
    budget: Budget,
    limits: Limits,
    /// The sender's and its tenant's keys with their shares.
    keys: Vec<(String, u32)>,
    permit: tokio::sync::OwnedSemaphorePermit,
    /// Permits counted for the keys (= held by `permit`).
    counted: u32,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.uncount(&self.keys, self.counted);
    }
}

/// A request body counts this many times against the budget: parsing copies its parts
/// (and Base64 decoding adds three quarters).
pub const MEMORY_FACTOR: usize = 2;

/// The budget stayed full for [`Limits::budget_wait`]: the sender should try again later.
#[derive(Debug, thiserror::Error)]
#[error("Zu viele gleichzeitige Einlieferungen; bitte in einigen Sekunden erneut senden")]
pub struct Busy;

const KIB: usize = 1024;

fn all_permits(limits: &Limits) -> u32 {
    u32::try_from((limits.memory_budget / KIB).clamp(1, tokio::sync::Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX)
}

/// Permits for a body of `bytes` bytes.
fn permits_for(limits: &Limits, bytes: usize) -> u32 {
    let all = all_permits(limits);
    u32::try_from(bytes.saturating_mul(MEMORY_FACTOR).div_ceil(KIB).clamp(1, all as usize)).unwrap_or(all)
}

impl Reservation {
    /// Makes sure the room covers `received` bytes of a body announced as `declared` bytes,
    /// reserving more (ahead, about as much as has arrived, at most the declared size) when it
    /// does not. Waits up to [`Limits::budget_wait`] for room; [`Busy`] when the budget or the
    /// sender's or tenant's share stays full.
    pub async fn cover(&mut self, received: usize, declared: Option<usize>) -> Result<(), Busy> {
        if permits_for(&self.limits, received) <= self.counted {
            return Ok(());
        }
        let ceiling = declared.unwrap_or(self.limits.max_request).min(self.limits.max_request).max(received);
        let ahead = received.saturating_mul(2).max(received.saturating_add(self.limits.unproven_reservation));
        let more = permits_for(&self.limits, ahead.min(ceiling)).saturating_sub(self.counted).max(1);
        if !self.budget.count(&self.keys, more) {
            tracing::warn!(
                received,
                "intake: one sender or tenant holds its share of the memory budget, refused with 503"
            );
            return Err(Busy);
        }
        let acquire = self.budget.permits.clone().acquire_many_owned(more);
        match tokio::time::timeout(self.limits.budget_wait, acquire).await {
            Ok(Ok(permit)) => {
                self.permit.merge(permit);
                self.counted += more;
                Ok(())
            }
            _ => {
                self.budget.uncount(&self.keys, more);
                tracing::warn!(received, "intake: memory budget full, request refused with 503");
                Err(Busy)
            }
        }
    }
}

impl Intake {
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>, limits: Limits) -> Self {
        let budget = Budget::new(&limits);
        let nummern = Arc::new(|day| Vorgangsnummer::generate(day, &mut rand::thread_rng()));
        Self { store, blobs, limits, budget, nummern }
    }

    /// The same intake drawing Vorgangsnummern from `nummern` instead of at random (tests of
    /// what a collision leaves behind).
    #[doc(hidden)]
    pub fn with_nummern(mut self, nummern: impl Fn(time::Date) -> Vorgangsnummer + Send + Sync + 'static) -> Self {
        self.nummern = Arc::new(nummern);
        self
    }

    /// Reserves room for the start of a request body announced as `content_length` bytes
    /// (`None`: unknown) before it is read: at most [`Limits::unproven_reservation`], the rest
    /// is reserved as the bytes arrive ([`Reservation::cover`]), so concurrent intakes never
    /// hold more than the budget and announcing a large body costs the others nothing. A body
    /// counts [`MEMORY_FACTOR`] times (parsing copies its parts). One source (an API token,
    /// else a client address) may hold at most a quarter of the budget, the tokens of one
    /// tenant together half of it (each at least one largest request): a slow or greedy
    /// sender cannot starve the others.
    pub async fn reserve(&self, sender: &Sender, content_length: Option<usize>) -> Result<Reservation, Busy> {
        self.budget.reserve(&self.limits, sender, content_length).await
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Stores the raw delivery durably under `tenant` (the sender's tenant, or the platform for
    /// installation-wide intake), then parses it, routes it by `zustaendigeStelle` to the
    /// tenant and unit owning it, and creates (or finds) its Vorgang there. A sender bound to
    /// a tenant can only deliver into that tenant.
    pub async fn deliver(&self, tenant: &TenantId, payload: Payload) -> Result<Receipt, IntakeError> {
        self.deliver_received_at(tenant, payload, OffsetDateTime::now_utc()).await
    }

    /// [`Intake::deliver`] with the time of receipt given, for imports and demo data.
    pub async fn deliver_received_at(
        &self,
        tenant: &TenantId,
        payload: Payload,
        received_at: OffsetDateTime,
    ) -> Result<Receipt, IntakeError> {
        let id = DeliveryId::new();
        let blob_key = documents::new_key(tenant.as_str(), "eingang", id.0);
        self.blobs.put(&blob_key, payload.body().clone()).await?;
        let record = NewDelivery {
            id,
            received_at,
            channel: payload.channel().to_owned(),
            content_type: payload.content_type().to_owned(),
            blob_key,
            size: payload.body().len() as u64,
        };
        self.store.tenant(tenant).record_delivery(record).await?;
        self.process(tenant, id, received_at, payload).await
    }

    /// Runs a stored delivery through parsing again, e.g. from the quarantine after the
    /// sender's problem is understood, or after a crash left it unprocessed.
    pub async fn reprocess(&self, tenant: &TenantId, id: DeliveryId) -> Result<Receipt, IntakeError> {
        let d = self.store.tenant(tenant).get_delivery(id).await?;
        if matches!(d.status, DeliveryStatus::Processed | DeliveryStatus::Duplicate) {
            return Err(IntakeError::AlreadyProcessed(id));
        }
        let body = self.load_raw(&d).await?;
        let Some(payload) = Payload::stored(&d.channel, d.content_type.clone(), body) else {
            let error = ValidationError::new("channel", format!("unbekannter Eingangskanal „{}“", d.channel));
            tracing::warn!(delivery = %id, channel = %d.channel, "intake: delivery of an unknown channel quarantined");
            self.store.tenant(tenant).quarantine_delivery(id, &error.field, &error.message).await?;
            return Err(IntakeError::Invalid { delivery: id, error });
        };
        self.process(tenant, id, d.received_at, payload).await
    }

    pub async fn load_raw(&self, d: &DeliveryRecord) -> Result<Bytes, IntakeError> {
        Ok(self.blobs.get(&d.blob_key).await?)
    }

    /// Finishes deliveries left between "stored" and "processed" (a crash, or a storage error
    /// that outlasted the retries) that were received at least `min_age` ago; younger ones may
    /// still be in flight in another process. Returns how many it took up.
    pub async fn recover_unfinished(&self, min_age: time::Duration) -> Result<usize, IntakeError> {
        let cutoff = OffsetDateTime::now_utc() - min_age;
        let pending: Vec<_> = self
            .store
            .installation()
            .unfinished_deliveries(10_000)
            .await?
            .into_iter()
            .filter(|d| d.received_at <= cutoff)
            .collect();
        let n = pending.len();
        // A delivery that fails for a reason other than its content (the store, the document
        // store) fails the whole run after the others were tried, so the job runner retries
        // it with backoff instead of waiting for the next periodic rescan.
        let mut first_failure = None;
        for d in pending {
            match self.reprocess(&d.tenant, d.id).await {
                Ok(_) | Err(IntakeError::Invalid { .. } | IntakeError::UnsupportedMediaType { .. }) => {}
                Err(e) => {
                    tracing::warn!(delivery = %d.id, error = %e, "intake: recovery failed");
                    first_failure.get_or_insert(e);
                }
            }
        }
        match first_failure {
            Some(e) => Err(e),
            None => Ok(n),
        }
    }

    async fn process(
        &self,
        tenant: &TenantId,
        delivery: DeliveryId,
        received_at: OffsetDateTime,
        payload: Payload,
    ) -> Result<Receipt, IntakeError> {
        if let Err(error) = payload.check_media_type() {
            tracing::info!(%delivery, "intake: delivery of an unsupported media type quarantined");
            self.store.tenant(tenant).quarantine_delivery(delivery, &error.field, &error.message).await?;
            return Err(IntakeError::UnsupportedMediaType { delivery, error });
        }
        let parsed = match self.parse(payload).await {
            Ok(p) => p,
            Err(error) => {
                tracing::info!(%delivery, field = %error.field, "intake: delivery quarantined");
                self.store.tenant(tenant).quarantine_delivery(delivery, &error.field, &error.message).await?;
                return Err(IntakeError::Invalid { delivery, error });
            }
        };
        let kennung = parsed.antrag.control.zustaendige_stelle.clone();
        let unit = match self.store.installation().route_kennung(&kennung).await? {
            Some(unit) if unit.tenant == *tenant || tenant.is_platform() => unit,
            other => {
                let message = match other {
                    Some(_) => format!("Die zuständige Stelle „{kennung}“ gehört nicht zum einliefernden Mandanten"),
                    None => format!("Keine Organisationseinheit hat die Kennung „{kennung}“"),
                };
                tracing::info!(%delivery, "intake: delivery not routable");
                self.store.tenant(tenant).unroutable_delivery(delivery, &message).await?;
                return Err(IntakeError::Unroutable { delivery, kennung, message });
            }
        };
        if unit.tenant != *tenant {
            self.hand_over(tenant, delivery, &unit.tenant).await?;
        }
        let tenant = &unit.tenant;
        let tx = parsed.antrag.control.transaction_id.clone();
        let receipt = |outcome: IntakeOutcome| Receipt {
            delivery,
            tenant: tenant.clone(),
            transaction_id: tx.to_string(),
            duplicate: matches!(outcome, IntakeOutcome::Duplicate(_)),
            vorgang: outcome.head().clone(),
        };
        let mut vorgang = new_vorgang(received_at, (self.nummern)(received_at.date()), parsed.antrag);
        vorgang.unit = Some(unit.id);
        // A repeated delivery costs no document writes.
        if self.store.tenant(tenant).find_by_transaction(&vorgang.transaction_id).await?.is_some() {
            let outcome = self.store.tenant(tenant).complete_intake(delivery, vorgang).await?;
            return Ok(receipt(outcome));
        }
        vorgang.documents = self.store_files(tenant, vorgang.id, parsed.representations, parsed.attachments).await?;
        let mut attempts = 0;
        loop {
            match self.store.tenant(tenant).complete_intake(delivery, vorgang.clone()).await {
                Ok(outcome @ IntakeOutcome::Created(_)) => {
                    tracing::debug!(%delivery, vorgang = %outcome.head().id, "intake: Vorgang created");
                    return Ok(receipt(outcome));
                }
                Ok(outcome @ IntakeOutcome::Duplicate(_)) => {
                    // Lost a race with a concurrent delivery of the same transaction id.
                    self.delete_blobs(&vorgang.documents).await;
                    return Ok(receipt(outcome));
                }
                Err(StorageError::NummerTaken) if attempts < NUMMER_ATTEMPTS => {
                    attempts += 1;
                    vorgang.nummer = (self.nummern)(received_at.date());
                }
                Err(StorageError::Retryable(e)) if attempts < NUMMER_ATTEMPTS => {
                    attempts += 1;
                    tracing::warn!(error = %e, "intake: retrying");
                }
                Err(e) => {
                    // Nothing references these files: remove them, the next attempt writes anew.
                    self.delete_blobs(&vorgang.documents).await;
                    return Err(e.into());
                }
            }
        }
    }

    /// Moves a routed delivery to its tenant, raw payload included: the payload is copied under
    /// the target tenant's key first, then the record moves and the old blob's deletion is
    /// enqueued in one transaction. A crash in between leaves at most an unreferenced copy; the
    /// delivery still points at the original and is routed again.
    async fn hand_over(&self, from: &TenantId, delivery: DeliveryId, to: &TenantId) -> Result<(), IntakeError> {
        let record = self.store.tenant(from).get_delivery(delivery).await?;
        let key = documents::new_key(to.as_str(), "eingang", delivery.0);
        self.blobs.copy(&record.blob_key, &key).await?;
        self.store.tenant(from).move_delivery(delivery, to, &key).await?;
        Ok(())
    }

    async fn delete_blobs(&self, documents: &[DocumentRecord]) {
        for d in documents {
            if let Err(e) = self.blobs.delete(&d.blob_key).await {
                tracing::warn!(key = %d.blob_key, error = %e, "intake: could not remove an unreferenced file");
            }
        }
    }
}

fn new_vorgang(received_at: OffsetDateTime, nummer: Vorgangsnummer, antrag: Antrag) -> NewVorgang {
    let applicant = Antragsteller::extract(&antrag.form_data, antrag.control.service_konto.as_ref());
    NewVorgang {
        id: VorgangId::new(),
        nummer,
        transaction_id: antrag.control.transaction_id.clone(),
        eingang_at: received_at,
        form_id: antrag.control.form_id.clone(),
        form_name: antrag.control.form_name.clone(),
        zustaendige_stelle: antrag.control.zustaendige_stelle.clone(),
        unit: None,
        leika_ids: antrag.control.leika_ids.clone(),
        applicant,
        control: Value::Object(antrag.control.raw),
        form_data: antrag.form_data,
        documents: Vec::new(),
    }
}

impl Intake {
    async fn store_files(
        &self,
        tenant: &TenantId,
        vorgang: VorgangId,
        representations: Vec<IncomingFile>,
        attachments: Vec<IncomingFile>,
    ) -> Result<Vec<DocumentRecord>, IntakeError> {
        let files = representations
            .into_iter()
            .map(|f| (DocumentKind::Representation, f))
            .chain(attachments.into_iter().map(|f| (DocumentKind::Attachment, f)));
        let mut writes = Vec::new();
        for (kind, file) in files {
            let id = DocumentId::new();
            let key = documents::new_key(tenant.as_str(), "dokument", id.0);
            let record = DocumentRecord {
                id,
                vorgang_id: vorgang,
                kind,
                filename: file.filename,
                content_type: file.content_type,
                size: file.bytes.len() as u64,
                blob_key: key.clone(),
                sha256: hex::encode(Sha256::digest(&file.bytes)),
            };
            let blobs = self.blobs.clone();
            // Files are written concurrently: their fsyncs overlap.
            writes.push(tokio::spawn(async move { blobs.put(&key, file.bytes).await.map(|()| record) }));
        }
        let mut records = Vec::with_capacity(writes.len());
        let mut failure = None;
        for w in writes {
            match w.await.map_err(|e| DocumentError::Io(std::io::Error::other(e))) {
                Ok(Ok(record)) => records.push(record),
                Ok(Err(e)) | Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            self.delete_blobs(&records).await;
            return Err(e.into());
        }
        Ok(records)
    }

    async fn parse(&self, payload: Payload) -> Result<Parsed, ValidationError> {
        match payload {
            Payload::Multipart { content_type, body } => {
                let parts = multipart::parse(&content_type, body, &self.limits).await?;
                Ok(Parsed {
                    antrag: Antrag::from_json_bytes(&parts.form_data)?,
                    representations: parts.representations,
                    attachments: parts.attachments,
                })
            }
            Payload::Json { body, .. } => {
                let value: Value = serde_json::from_slice(&body).map_err(|e| {
                    ValidationError::new("$", format!("kein gültiges JSON (Zeile {}, Spalte {})", e.line(), e.column()))
                })?;
                let form_data_size = value.get("formData").map_or(0, |f| f.to_string().len());
                if form_data_size > self.limits.max_form_data {
                    return Err(ValidationError::new(
                        "formData",
                        format!("ist größer als die erlaubten {} KB", self.limits.max_form_data / 1024),
                    ));
                }
                let antrag = Antrag::from_value(&value)?;
                let files = ["representations", "attachments"]
                    .iter()
                    .filter_map(|k| value.get(*k).and_then(Value::as_array))
                    .map(Vec::len)
                    .sum::<usize>();
                if files > self.limits.max_parts {
                    return Err(ValidationError::new(
                        "attachments",
                        format!("mehr als {} Dateien", self.limits.max_parts),
                    ));
                }
                let representations = self.json_files(&value, "representations")?;
                let attachments = self.json_files(&value, "attachments")?;
                Ok(Parsed { antrag, representations, attachments })
            }
        }
    }

    fn json_files(&self, root: &Value, key: &str) -> Result<Vec<IncomingFile>, ValidationError> {
        let list = match root.get(key) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(list)) => list,
            Some(_) => return Err(ValidationError::new(key, "muss eine Liste sein")),
        };
        list.iter()
            .enumerate()
            .map(|(i, f)| {
                let path = format!("{key}[{i}]");
                let obj = f.as_object().ok_or_else(|| ValidationError::new(&path, "muss ein Objekt sein"))?;
                let content = obj
                    .get("content")
                    .and_then(Value::as_str)
                    .ok_or_else(|| ValidationError::new(format!("{path}.content"), "fehlt (Base64-Text erwartet)"))?;
                if content.len() / 4 * 3 > self.limits.max_file + 3 {
                    return Err(ValidationError::new(
                        format!("{path}.content"),
                        format!("ist größer als die erlaubten {} MB", self.limits.max_file / (1024 * 1024)),
                    ));
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(content)
                    .map_err(|_| ValidationError::new(format!("{path}.content"), "ist kein gültiges Base64"))?;
                let fallback =
                    if key == "attachments" { format!("anhang-{}", i + 1) } else { format!("antrag-{}", i + 1) };
                Ok(IncomingFile {
                    filename: sanitize_filename(obj.get("filename").and_then(Value::as_str), &fallback),
                    content_type: content_type_or_default(obj.get("contentType").and_then(Value::as_str)),
                    bytes: Bytes::from(bytes),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod budget_tests {
    use super::*;

    const MIB: usize = 1024 * 1024;

    fn limits() -> Limits {
        Limits {
            max_request: 4 * MIB,
            memory_budget: 64 * MIB,
            budget_wait: std::time::Duration::from_millis(50),
            unproven_reservation: MIB,
            ..Limits::default()
        }
    }

    fn token(n: u32, tenant: &str) -> Sender {
        Sender { source: format!("token:{n}"), tenant: TenantId::parse(tenant) }
    }

    fn held(b: &Budget) -> usize {
        64 * 1024 - b.permits.available_permits()
    }

    #[tokio::test]
    async fn an_announced_size_reserves_only_the_unproven_part_and_grows_with_the_bytes() {
        let (limits, budget) = (limits(), Budget::new(&limits()));
        let mut r = budget.reserve(&limits, &token(1, "kiel"), Some(4 * MIB)).await.expect("room");
        assert_eq!(held(&budget), 2 * 1024, "1 MiB unproven, counted twice");
        r.cover(512 * 1024, Some(4 * MIB)).await.expect("covered already");
        assert_eq!(held(&budget), 2 * 1024);
        r.cover(MIB + 1, Some(4 * MIB)).await.expect("grows");
        assert!(held(&budget) > 2 * 1024 && held(&budget) <= 8 * 1024, "{}", held(&budget));
        r.cover(4 * MIB, Some(4 * MIB)).await.expect("grows to the declared size");
        assert_eq!(held(&budget), 8 * 1024);
        drop(r);
        assert_eq!(held(&budget), 0);
        assert!(budget.held.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn one_tenant_holds_at_most_half_of_the_budget_whatever_its_number_of_tokens() {
        let (limits, budget) = (limits(), Budget::new(&limits()));
        let mut rooms = Vec::new();
        let mut refused = 0;
        for n in 0..20 {
            let Ok(mut r) = budget.reserve(&limits, &token(n, "kiel"), Some(4 * MIB)).await else {
                refused += 1;
                continue;
            };
            match r.cover(4 * MIB, Some(4 * MIB)).await {
                Ok(()) => rooms.push(r),
                Err(Busy) => refused += 1,
            }
        }
        assert_eq!(rooms.len(), 4, "4 × 8 MiB = half of 64 MiB");
        assert_eq!(refused, 16);
        assert_eq!(held(&budget), 32 * 1024, "refused ones gave their room back");
        let mut other = budget.reserve(&limits, &token(99, "flensburg"), Some(4 * MIB)).await.expect("room");
        other.cover(4 * MIB, Some(4 * MIB)).await.expect("another tenant still has room");
    }
}
