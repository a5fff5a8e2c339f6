//! `ozgcloud export` / `ozgcloud import`: a tenant's complete data (users, deliveries,
//! Vorgänge, event log) and every blob it references (raw deliveries, documents) in one file,
//! so that a municipality can move from SQLite to PostgreSQL (or back) without losing anything.
//!
//! The file is JSON Lines (format described in docs/operations.md): a header with the counts,
//! then the records section by section, each delivery and Vorgang preceded by its blobs
//! (base64), and a closing line with the counts written. Both directions stream: the export
//! reads the store page by page and one blob at a time; the import writes batches of records,
//! each batch one transaction, after the blobs they reference are durable. Memory stays bounded
//! by a page, a batch and the largest blob, whatever the size of the tenant.

use crate::SetupError;
use base64::Engine as _;
use bytes::Bytes;
use documents::{BlobStore, DocumentError};
use domain::TenantId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{ExportCounts, ExportRecord, ExportSection, StorageError};
use time::OffsetDateTime;
use web::AppState;

/// `format` in the header.
pub const FORMAT: &str = "ozgcloud-export";
/// `version` in the header; an import refuses other versions.
pub const VERSION: u32 = 1;

/// Records per export page.
const PAGE: u32 = 500;
/// Records per import batch (one transaction), unless [`BATCH_BYTES`] is reached first.
const BATCH_RECORDS: usize = 500;
const BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Blob writes in flight during an import (each is fsynced; overlapping them saves time).
const BLOBS_IN_FLIGHT: usize = 16;
const BLOB_BYTES_IN_FLIGHT: usize = 64 * 1024 * 1024;

/// The first line of an export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// The tenant exported.
    pub tenant: TenantId,
    /// The store exported from (`sqlite`, `postgres`).
    pub backend: String,
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    /// What the store counted before the export (the closing line has what was written).
    pub counts: ExportCounts,
}

/// The content of one blob, before the record that references it.
#[derive(Debug, Serialize, Deserialize)]
struct Blob {
    key: String,
    size: u64,
    /// Hex SHA-256 of the content.
    sha256: String,
    /// Base64 (standard alphabet, padded).
    data: String,
}

/// The last line: what was written, so a truncated or tampered file is noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct End {
    counts: ExportCounts,
    blobs: u64,
}

/// One line of the file: `{"header": …}`, `{"blob": …}`, `{"record": {"vorgang": …}}`, `{"end": …}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Header(Header),
    Blob(Blob),
    Record(ExportRecord),
    End(End),
}

/// What an export wrote or an import read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferSummary {
    pub tenant: TenantId,
    pub counts: ExportCounts,
    /// Blobs (raw deliveries and documents) and their total size.
    pub blobs: u64,
    pub blob_bytes: u64,
    /// Size of the export file.
    pub file_bytes: u64,
}

pub type ExportSummary = TransferSummary;
pub type ImportSummary = TransferSummary;

impl TransferSummary {
    /// "3 Benutzer, 62 Eingänge, 60 Vorgänge mit 75 Dokumenten, 412 Ereignisse; 137 Dateien
    /// (1,2 MB), Exportdatei 1,7 MB"
    pub fn describe(&self) -> String {
        let c = &self.counts;
        format!(
            "{} Einheiten, {} Benutzer, {} Eingänge, {} Vorgänge mit {} Dokumenten, {} Ereignisse, {} Protokolleinträge, {} Kommentare und Wiedervorlagen; {} Dateien ({}), Exportdatei {}",
            thousands(c.units),
            thousands(c.users),
            thousands(c.deliveries),
            thousands(c.vorgaenge),
            thousands(c.documents),
            thousands(c.events),
            thousands(c.audit),
            thousands(c.notes),
            thousands(self.blobs),
            size(self.blob_bytes),
            size(self.file_bytes),
        )
    }
}

fn io(path: &Path, e: std::io::Error) -> SetupError {
    SetupError::Other(format!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// export
// ---------------------------------------------------------------------------------------

/// Writes the tenant of `state` into `out`, which must not exist. The file appears only when
/// it is complete (it is written as `<out>.teil` and renamed). For a consistent snapshot, no
/// server should change the store meanwhile.
pub async fn export(
    state: &AppState,
    tenant: &TenantId,
    out: &Path,
    progress: bool,
) -> Result<ExportSummary, SetupError> {
    if out.exists() {
        return Err(SetupError::Other(format!("{}: die Datei existiert bereits", out.display())));
    }
    let partial = partial_path(out);
    let file = File::create(&partial).map_err(|e| io(&partial, e))?;
    let mut w = LineWriter { out: BufWriter::with_capacity(1 << 20, file), bytes: 0 };
    let result = write_export(state, tenant, &mut w, progress).await;
    let result = match result {
        Ok(summary) => finish_file(w).map(|bytes| TransferSummary { file_bytes: bytes, ..summary }),
        Err(e) => Err(e),
    };
    match result {
        Ok(summary) => {
            std::fs::rename(&partial, out).map_err(|e| io(out, e))?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".teil");
    out.with_file_name(name)
}

fn finish_file(w: LineWriter) -> Result<u64, SetupError> {
    let bytes = w.bytes;
    let file = w.out.into_inner().map_err(|e| SetupError::Other(e.to_string()))?;
    file.sync_all().map_err(|e| SetupError::Other(e.to_string()))?;
    Ok(bytes)
}

struct LineWriter {
    out: BufWriter<File>,
    bytes: u64,
}

impl LineWriter {
    /// Writes `{"<tag>":<value>}` and a newline.
    fn line(&mut self, tag: &str, value: &impl Serialize) -> Result<(), SetupError> {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(b"{\"");
        buf.extend_from_slice(tag.as_bytes());
        buf.extend_from_slice(b"\":");
        serde_json::to_writer(&mut buf, value).map_err(|e| SetupError::Other(e.to_string()))?;
        buf.extend_from_slice(b"}\n");
        self.out.write_all(&buf).map_err(|e| SetupError::Other(format!("Exportdatei: {e}")))?;
        self.bytes += buf.len() as u64;
        Ok(())
    }
}

/// Reads one blob and writes its line. Returns its size.
async fn write_blob(blobs: &dyn BlobStore, w: &mut LineWriter, key: &str, what: &str) -> Result<u64, SetupError> {
    let bytes = blobs.get(key).await.map_err(|e| match e {
        DocumentError::NotFound => SetupError::Other(format!("Dokumentenablage: {what} fehlt ({key})")),
        other => SetupError::Documents(other),
    })?;
    let blob = Blob {
        key: key.to_owned(),
        size: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
        data: base64::engine::general_purpose::STANDARD.encode(&bytes),
    };
    w.line("blob", &blob)?;
    Ok(blob.size)
}

async fn write_export(
    state: &AppState,
    tenant: &TenantId,
    w: &mut LineWriter,
    progress: bool,
) -> Result<ExportSummary, SetupError> {
    let store = &state.store;
    let counts = store.tenant(tenant).count_for_export().await?;
    let header = Header {
        format: FORMAT.to_owned(),
        version: VERSION,
        tenant: tenant.clone(),
        backend: store.backend().to_owned(),
        exported_at: OffsetDateTime::now_utc(),
        counts,
    };
    w.line("header", &header)?;
    let mut written = ExportCounts::default();
    let (mut blobs, mut blob_bytes) = (0, 0);
    for section in ExportSection::ALL {
        let mut bar = Bar::new(progress, section, counts.of(section));
        let mut after: Option<String> = None;
        loop {
            let (page, next) = store.tenant(tenant).export_page(section, after.as_deref(), PAGE).await?;
            for record in &page {
                match record {
                    ExportRecord::Tenant(_) => {}
                    ExportRecord::Unit(_) => written.units += 1,
                    ExportRecord::Audit(_) => written.audit += 1,
                    ExportRecord::Kommentar(_) | ExportRecord::Wiedervorlage(_) => written.notes += 1,
                    ExportRecord::User(_) => written.users += 1,
                    ExportRecord::Delivery(d) => {
                        blob_bytes += write_blob(state.blobs.as_ref(), w, &d.blob_key, "Eingang").await?;
                        blobs += 1;
                        written.deliveries += 1;
                    }
                    ExportRecord::Vorgang(v) => {
                        for doc in &v.documents {
                            let what = format!("Dokument „{}“ von Vorgang {}", doc.filename, v.head.nummer);
                            blob_bytes += write_blob(state.blobs.as_ref(), w, &doc.blob_key, &what).await?;
                            blobs += 1;
                        }
                        written.vorgaenge += 1;
                        written.documents += v.documents.len() as u64;
                    }
                    ExportRecord::Event(_) => written.events += 1,
                    ExportRecord::ClerkDocument(c) => {
                        let what = format!("Dokument „{}“ (Bearbeitung)", c.document.filename);
                        blob_bytes += write_blob(state.blobs.as_ref(), w, &c.document.blob_key, &what).await?;
                        blobs += 1;
                        written.notes += 1;
                        written.documents += 1;
                    }
                }
                w.line("record", record)?;
                bar.advance(1);
            }
            match next {
                Some(cursor) => after = Some(cursor),
                None => break,
            }
        }
        bar.finish();
    }
    w.line("end", &End { counts: written, blobs })?;
    Ok(TransferSummary { tenant: tenant.clone(), counts: written, blobs, blob_bytes, file_bytes: w.bytes })
}

// ---------------------------------------------------------------------------------------
// import
// ---------------------------------------------------------------------------------------

fn refused(tenant: &TenantId, counts: &ExportCounts) -> SetupError {
    SetupError::Other(format!(
        "Der Mandant „{tenant}“ enthält bereits {} Vorgänge und {} Eingänge. Importiert wird nur in einen \
         leeren Speicher, z. B. eine neue PostgreSQL-Datenbank oder ein neues Datenverzeichnis.",
        thousands(counts.vorgaenge),
        thousands(counts.deliveries)
    ))
}

fn broken(path: &Path, line: u64, what: impl std::fmt::Display) -> SetupError {
    SetupError::Other(format!("{}, Zeile {line}: {what}", path.display()))
}

/// Reads the closing line without reading the file: a truncated export is refused before
/// anything is written.
fn read_end(file: &mut File, path: &Path) -> Result<End, SetupError> {
    let len = file.seek(SeekFrom::End(0)).map_err(|e| io(path, e))?;
    let tail_len = len.min(64 * 1024);
    file.seek(SeekFrom::Start(len - tail_len)).map_err(|e| io(path, e))?;
    let mut tail = Vec::with_capacity(tail_len as usize);
    file.take(tail_len).read_to_end(&mut tail).map_err(|e| io(path, e))?;
    let incomplete = || {
        SetupError::Other(format!(
            "{}: die Exportdatei ist unvollständig (die Abschlusszeile fehlt) – wurde der Export abgebrochen?",
            path.display()
        ))
    };
    let text = tail.strip_suffix(b"\n").ok_or_else(incomplete)?;
    let last = text.rsplit(|b| *b == b'\n').next().ok_or_else(incomplete)?;
    match serde_json::from_slice::<Line>(last) {
        Ok(Line::End(end)) => Ok(end),
        _ => Err(incomplete()),
    }
}

/// `key` of the exporting tenant, moved to the importing one (keys start with the tenant).
fn rekey(key: &str, from: &TenantId, to: &TenantId) -> String {
    match key.strip_prefix(from.as_str()).and_then(|rest| rest.strip_prefix('/')) {
        Some(rest) if from != to => format!("{to}/{rest}"),
        _ => key.to_owned(),
    }
}

/// Stores a blob; an identical blob already under the key (a repeated import) is fine.
/// Returns its size.
async fn put_blob(blobs: Arc<dyn BlobStore>, key: String, bytes: Bytes) -> Result<usize, SetupError> {
    match blobs.put(&key, bytes.clone()).await {
        Ok(()) => Ok(bytes.len()),
        Err(e) => match blobs.get(&key).await {
            Ok(existing) if existing == bytes => Ok(bytes.len()),
            _ => Err(SetupError::Documents(e)),
        },
    }
}

struct Importer<'a> {
    state: &'a AppState,
    path: &'a Path,
    from: TenantId,
    to: TenantId,
    progress: bool,
    batch: Vec<ExportRecord>,
    batch_bytes: usize,
    /// Blob writes not yet known to be durable, and their size.
    writes: tokio::task::JoinSet<Result<usize, SetupError>>,
    writing_bytes: usize,
    read: ExportCounts,
    blobs: u64,
    blob_bytes: u64,
}

impl Importer<'_> {
    async fn blob(&mut self, line_no: u64, blob: Blob) -> Result<String, SetupError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(blob.data.as_bytes())
            .map_err(|e| broken(self.path, line_no, format!("Datei {} ist nicht lesbar: {e}", blob.key)))?;
        if bytes.len() as u64 != blob.size || hex::encode(Sha256::digest(&bytes)) != blob.sha256 {
            return Err(broken(self.path, line_no, format!("Datei {} ist beschädigt (Prüfsumme)", blob.key)));
        }
        let key = rekey(&blob.key, &self.from, &self.to);
        while self.writes.len() >= BLOBS_IN_FLIGHT || self.writing_bytes >= BLOB_BYTES_IN_FLIGHT {
            self.await_one_write().await?;
        }
        self.writing_bytes += bytes.len();
        self.blobs += 1;
        self.blob_bytes += bytes.len() as u64;
        self.writes.spawn(put_blob(self.state.blobs.clone(), key.clone(), Bytes::from(bytes)));
        Ok(key)
    }

    async fn await_one_write(&mut self) -> Result<(), SetupError> {
        if let Some(done) = self.writes.join_next().await {
            let size = done.map_err(|e| SetupError::Other(e.to_string()))??;
            self.writing_bytes = self.writing_bytes.saturating_sub(size);
        }
        Ok(())
    }

    /// Makes the blobs durable, then writes the batch in one transaction.
    async fn flush(&mut self, bar: &mut Bar) -> Result<(), SetupError> {
        while !self.writes.is_empty() {
            self.await_one_write().await?;
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let n = batch.len() as u64;
        self.batch_bytes = 0;
        let tenant = &self.to;
        match self.state.store.tenant(tenant).import_records(batch).await {
            Ok(()) => {}
            Err(StorageError::Duplicate("tenant")) => {
                return Err(refused(tenant, &self.state.store.tenant(tenant).count_for_export().await?))
            }
            Err(e) => return Err(e.into()),
        }
        bar.advance(n);
        Ok(())
    }
}

/// Reads an export file into the tenant of `state`, which must hold no Vorgänge and no
/// deliveries yet (users it has are kept; imported users replace those with the same
/// username). Blobs are written before the records that reference them are committed.
pub async fn import(
    state: &AppState,
    tenant: &TenantId,
    input: &Path,
    progress: bool,
) -> Result<ImportSummary, SetupError> {
    let file = File::open(input).map_err(|e| io(input, e))?;
    let file_bytes = file.metadata().map_err(|e| io(input, e))?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut text = String::new();
    reader.read_line(&mut text).map_err(|e| io(input, e))?;
    // Format and version first, so a newer file is named as such even if its header changed.
    let first: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if first["header"]["format"] != FORMAT {
        return Err(SetupError::Other(format!("{}: keine ozgcloud-Exportdatei", input.display())));
    }
    if first["header"]["version"] != VERSION {
        return Err(SetupError::Other(format!(
            "{}: Exportformat Version {} wird nicht unterstützt (erwartet: {VERSION})",
            input.display(),
            first["header"]["version"]
        )));
    }
    let header = match serde_json::from_value::<Line>(first) {
        Ok(Line::Header(h)) => h,
        Ok(_) => return Err(broken(input, 1, "keine Kopfzeile")),
        Err(e) => return Err(broken(input, 1, format!("Kopfzeile unlesbar: {e}"))),
    };
    let end = read_end(&mut File::open(input).map_err(|e| io(input, e))?, input)?;
    let existing = state.store.tenant(tenant).count_for_export().await?;
    if existing.vorgaenge > 0 || existing.deliveries > 0 {
        return Err(refused(tenant, &existing));
    }

    let mut im = Importer {
        state,
        path: input,
        from: header.tenant.clone(),
        to: tenant.clone(),
        progress,
        batch: Vec::new(),
        batch_bytes: 0,
        writes: tokio::task::JoinSet::new(),
        writing_bytes: 0,
        read: ExportCounts::default(),
        blobs: 0,
        blob_bytes: 0,
    };
    let result = read_records(&mut im, &mut reader, &header).await;
    // Never leave blob writes running behind an error.
    im.writes.abort_all();
    while im.writes.join_next().await.is_some() {}
    let closing = result?;
    if closing != end || im.read != end.counts || im.blobs != end.blobs {
        return Err(SetupError::Other(format!(
            "{}: die Exportdatei ist beschädigt (die Anzahlen stimmen nicht mit der Abschlusszeile überein)",
            input.display()
        )));
    }
    Ok(TransferSummary {
        tenant: tenant.clone(),
        counts: im.read,
        blobs: im.blobs,
        blob_bytes: im.blob_bytes,
        file_bytes,
    })
}

/// Reads the lines after the header up to the closing line, which it returns.
async fn read_records(im: &mut Importer<'_>, reader: &mut BufReader<File>, header: &Header) -> Result<End, SetupError> {
    let mut text = String::new();
    let mut line_no = 1;
    let mut section: Option<ExportSection> = None;
    let mut bar = Bar::new(false, ExportSection::Tenant, 0);
    // Keys of the blobs written since the last record: exactly what the next record references.
    let mut pending_keys: Vec<String> = Vec::new();
    loop {
        text.clear();
        line_no += 1;
        let n = reader.read_line(&mut text).map_err(|e| io(im.path, e))?;
        if n == 0 {
            return Err(broken(im.path, line_no, "die Abschlusszeile fehlt"));
        }
        let line: Line = serde_json::from_str(&text).map_err(|e| broken(im.path, line_no, e))?;
        match line {
            Line::Header(_) => return Err(broken(im.path, line_no, "eine zweite Kopfzeile")),
            Line::Blob(blob) => pending_keys.push(im.blob(line_no, blob).await?),
            Line::End(end) => {
                im.flush(&mut bar).await?;
                bar.finish();
                let mut rest = String::new();
                if reader.read_line(&mut rest).map_err(|e| io(im.path, e))? > 0 {
                    return Err(broken(im.path, line_no + 1, "Daten nach der Abschlusszeile"));
                }
                return Ok(end);
            }
            Line::Record(mut record) => {
                let this = record.section();
                let position = |s: ExportSection| ExportSection::ALL.iter().position(|x| *x == s);
                match section {
                    None if this != ExportSection::Tenant => {
                        return Err(broken(im.path, line_no, "der erste Datensatz muss der Mandant sein"))
                    }
                    Some(s) if position(this) < position(s) || (this == ExportSection::Tenant) => {
                        return Err(broken(im.path, line_no, "Datensätze in falscher Reihenfolge"))
                    }
                    _ => {}
                }
                if section != Some(this) {
                    im.flush(&mut bar).await?;
                    bar.finish();
                    bar = Bar::new(im.progress, this, header.counts.of(this));
                    section = Some(this);
                }
                let to = im.to.clone();
                let referenced: Vec<&mut String> = match &mut record {
                    ExportRecord::Delivery(d) => vec![&mut d.blob_key],
                    ExportRecord::Vorgang(v) => v.documents.iter_mut().map(|d| &mut d.blob_key).collect(),
                    ExportRecord::ClerkDocument(c) => vec![&mut c.document.blob_key],
                    _ => Vec::new(),
                };
                let expected = referenced.len();
                for key in referenced {
                    *key = rekey(key, &im.from, &to);
                    if !pending_keys.contains(&*key) {
                        return Err(broken(im.path, line_no, format!("die Datei {key} fehlt in der Exportdatei")));
                    }
                }
                if pending_keys.len() != expected {
                    return Err(broken(im.path, line_no, "Dateien ohne zugehörigen Datensatz"));
                }
                pending_keys.clear();
                match &record {
                    ExportRecord::Tenant(_) => {}
                    ExportRecord::Unit(_) => im.read.units += 1,
                    ExportRecord::Audit(_) => im.read.audit += 1,
                    ExportRecord::Kommentar(_) | ExportRecord::Wiedervorlage(_) => im.read.notes += 1,
                    ExportRecord::User(_) => im.read.users += 1,
                    ExportRecord::Delivery(_) => im.read.deliveries += 1,
                    ExportRecord::Vorgang(v) => {
                        im.read.vorgaenge += 1;
                        im.read.documents += v.documents.len() as u64;
                    }
                    ExportRecord::Event(_) => im.read.events += 1,
                    ExportRecord::ClerkDocument(_) => {
                        im.read.notes += 1;
                        im.read.documents += 1;
                    }
                }
                im.batch.push(record);
                im.batch_bytes += text.len();
                if im.batch.len() >= BATCH_RECORDS || im.batch_bytes >= BATCH_BYTES {
                    im.flush(&mut bar).await?;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// progress
// ---------------------------------------------------------------------------------------

/// `Vorgänge    [############                  ]  40% 24.000/60.000` on stderr, redrawn in
/// place at most ten times a second.
struct Bar {
    enabled: bool,
    label: &'static str,
    total: u64,
    done: u64,
    drawn: Option<Instant>,
}

const BAR_WIDTH: u64 = 30;

impl Bar {
    fn new(enabled: bool, section: ExportSection, total: u64) -> Self {
        let label = match section {
            ExportSection::Tenant => "Mandant",
            ExportSection::Units => "Einheiten",
            ExportSection::Audit => "Protokoll",
            ExportSection::Notes => "Notizen",
            ExportSection::Users => "Benutzer",
            ExportSection::Deliveries => "Eingänge",
            ExportSection::Vorgaenge => "Vorgänge",
            ExportSection::Events => "Ereignisse",
        };
        // The tenant is one record: no bar for it.
        let enabled = enabled && section != ExportSection::Tenant;
        let mut bar = Self { enabled, label, total, done: 0, drawn: None };
        bar.draw();
        bar
    }

    fn advance(&mut self, n: u64) {
        self.done += n;
        if self.drawn.is_none_or(|t| t.elapsed() >= Duration::from_millis(100)) {
            self.draw();
        }
    }

    fn draw(&mut self) {
        if !self.enabled {
            return;
        }
        let total = self.total.max(self.done);
        let percent = self.done.saturating_mul(100).checked_div(total).unwrap_or(100);
        let filled = (BAR_WIDTH * percent / 100) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{:<11} [{}{}] {percent:>3}% {}/{}",
            self.label,
            "#".repeat(filled),
            " ".repeat(BAR_WIDTH as usize - filled),
            thousands(self.done),
            thousands(total)
        );
        let _ = err.flush();
        self.drawn = Some(Instant::now());
    }

    /// Draws the final state and ends the line.
    fn finish(&mut self) {
        if self.enabled && self.drawn.is_some() {
            self.draw();
            eprintln!();
            self.enabled = false;
        }
    }
}

/// `52000` → `52.000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> =
        digits.as_bytes().rchunks(3).rev().map(|g| std::str::from_utf8(g).unwrap_or_default()).collect();
    groups.join(".")
}

/// `12345678` → `11,8 MB`, `2048` → `2 KB` (binary units, German decimal comma).
fn size(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        return format!("{} KB", bytes.div_ceil(1024));
    }
    let mb = bytes as f64 / (1024.0 * 1024.0);
    format!("{mb:.1} MB").replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_the_german_way() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(52_000), "52.000");
        assert_eq!(thousands(1_234_567), "1.234.567");
        assert_eq!(size(1024 * 1024 * 3 / 2), "1,5 MB");
        assert_eq!(size(2000), "2 KB");
    }

    #[test]
    fn keys_move_to_the_importing_tenant() {
        let (a, b) = (TenantId::parse("alt").expect("slug"), TenantId::parse("neu").expect("slug"));
        assert_eq!(rekey("alt/eingang/ab/x", &a, &b), "neu/eingang/ab/x");
        assert_eq!(rekey("alt/eingang/ab/x", &a, &a), "alt/eingang/ab/x");
        assert_eq!(rekey("altstadt/eingang/x", &a, &b), "altstadt/eingang/x", "only the whole first segment");
    }
}
