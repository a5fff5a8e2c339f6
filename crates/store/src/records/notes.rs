//! Records of the storage contract: Kommentare and Wiedervorlagen.

use super::*;
use domain::{KommentarId, Visibility, VorgangId, Vorgangsnummer, WiedervorlageId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What a clerk's document is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachedTo {
    Vorgang,
    Kommentar(KommentarId),
    Wiedervorlage(WiedervorlageId),
}

impl AttachedTo {
    /// As named in the event `DokumentAngehaengt.zu`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Vorgang => "VORGANG",
            Self::Kommentar(_) => "KOMMENTAR",
            Self::Wiedervorlage(_) => "WIEDERVORLAGE",
        }
    }
}

/// A document a clerk attached ("Daten anhängen"): the document (kind [`DocumentKind::Clerk`],
/// its bytes already in the document store), where it hangs, who attached it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClerkDocumentRecord {
    pub document: DocumentRecord,
    pub attached_to: AttachedTo,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: Actor,
}

/// What a final deletion left to do outside the database: the document-store keys of the
/// Vorgang's blobs (raw deliveries and documents). Their deletion is enqueued as jobs in the same
/// transaction ([`crate::NewJob::blob_deletion`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    pub blob_keys: Vec<String>,
}

/// An internal note on a Vorgang; never shown to the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KommentarRecord {
    pub id: KommentarId,
    pub vorgang_id: VorgangId,
    pub text: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub author: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWiedervorlage {
    pub id: WiedervorlageId,
    pub vorgang_id: VorgangId,
    pub betreff: String,
    pub beschreibung: String,
    pub frist: time::Date,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: Actor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WiedervorlageRecord {
    pub id: WiedervorlageId,
    pub vorgang_id: VorgangId,
    /// For lists across Vorgänge.
    pub vorgang_nummer: Vorgangsnummer,
    pub betreff: String,
    pub beschreibung: String,
    pub frist: time::Date,
    pub erledigt: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub erledigt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: Actor,
    /// Optimistic concurrency: every change bumps it.
    pub version: i64,
}

/// A change of a Wiedervorlage: new content and/or done/reopened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WiedervorlageUpdate {
    pub betreff: String,
    pub beschreibung: String,
    pub frist: time::Date,
    pub erledigt: bool,
}

/// The Wiedervorlagen view across Vorgänge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WiedervorlagenQuery {
    /// Only those of Vorgänge within this visibility.
    pub visibility: Visibility,
    /// Also those marked done.
    pub include_done: bool,
    pub limit: u32,
    pub offset: u32,
}
