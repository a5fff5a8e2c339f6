//! Records of the storage contract: Export and import of a tenant.

use super::*;
use serde::{Deserialize, Serialize};

/// The parts of a tenant's export, in the order an import needs them: users before the
/// Vorgänge that name them as assignee, Vorgänge before the events of their history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportSection {
    /// The tenant itself: one [`ExportRecord::Tenant`].
    Tenant,
    Units,
    Users,
    Deliveries,
    Vorgaenge,
    /// The event log, oldest first.
    Events,
    /// The audit log, oldest first.
    Audit,
    /// Kommentare and Wiedervorlagen of the Vorgänge.
    Notes,
}

impl ExportSection {
    /// Every section, in import order.
    pub const ALL: [ExportSection; 8] = [
        Self::Tenant,
        Self::Units,
        Self::Users,
        Self::Deliveries,
        Self::Vorgaenge,
        Self::Events,
        Self::Audit,
        Self::Notes,
    ];
}

/// One piece of a tenant's complete data. Sessions and API tokens are not exported: after a
/// move, everybody logs in again and machines get new tokens.
///
/// Records carry the tenant they were exported from; an import writes them into the tenant it
/// is given, whatever they say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportRecord {
    /// Starts an import: see [`crate::TransferStore::import_records`].
    Tenant(TenantRecord),
    Unit(UnitRecord),
    /// The complete user, password hash and disabled flag included.
    User(UserRecord),
    /// A delivery in any state; the payload itself is in the document store under `blob_key`.
    Delivery(DeliveryRecord),
    /// A full snapshot of a Vorgang: head (status, version, status_since), Aktenzeichen,
    /// assignee (by id; the name is the user's), documents, the status before a
    /// Löschanforderung, and all its data.
    Vorgang(Box<VorgangRecord>),
    /// One event of the log. `seq` is the exporting store's; the importing store appends the
    /// events in the order given, under its own sequence numbers.
    Event(EventRecord),
    /// One audit entry; appended under the importing store's sequence numbers.
    Audit(AuditRecord),
    Kommentar(KommentarRecord),
    Wiedervorlage(WiedervorlageRecord),
    /// A clerk's document (section Notes, after the Kommentare and Wiedervorlagen it may hang on).
    ClerkDocument(Box<ClerkDocumentRecord>),
}

impl ExportRecord {
    pub fn section(&self) -> ExportSection {
        match self {
            Self::Tenant(_) => ExportSection::Tenant,
            Self::Unit(_) => ExportSection::Units,
            Self::User(_) => ExportSection::Users,
            Self::Delivery(_) => ExportSection::Deliveries,
            Self::Vorgang(_) => ExportSection::Vorgaenge,
            Self::Event(_) => ExportSection::Events,
            Self::Audit(_) => ExportSection::Audit,
            Self::Kommentar(_) | Self::Wiedervorlage(_) | Self::ClerkDocument(_) => ExportSection::Notes,
        }
    }
}

/// How much an export of a tenant holds, for progress and for checking an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportCounts {
    pub units: u64,
    pub users: u64,
    pub deliveries: u64,
    pub vorgaenge: u64,
    /// Documents of all Vorgänge (each has a blob in the document store).
    pub documents: u64,
    pub events: u64,
    pub audit: u64,
    /// Kommentare, Wiedervorlagen and clerk documents.
    pub notes: u64,
}

impl ExportCounts {
    /// The number of records in `section`.
    pub fn of(&self, section: ExportSection) -> u64 {
        match section {
            ExportSection::Tenant => 1,
            ExportSection::Units => self.units,
            ExportSection::Users => self.users,
            ExportSection::Deliveries => self.deliveries,
            ExportSection::Vorgaenge => self.vorgaenge,
            ExportSection::Events => self.events,
            ExportSection::Audit => self.audit,
            ExportSection::Notes => self.notes,
        }
    }
}
