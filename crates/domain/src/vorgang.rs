use crate::status::{IllegalMove, StatusCommand, VorgangStatus};
use serde::{Deserialize, Serialize};

/// Errors of the domain rules, worded for the clerk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    IllegalMove(#[from] IllegalMove),
    #[error("Für „{0}“ ist eine Begründung erforderlich")]
    ReasonRequired(&'static str),
    #[error("Das Aktenzeichen ist zu lang (höchstens {max} Zeichen)")]
    AktenzeichenTooLong { max: usize },
    #[error("Das Aktenzeichen darf keine Steuerzeichen enthalten")]
    AktenzeichenInvalid,
    #[error("Die Begründung ist zu lang (höchstens {max} Zeichen)")]
    ReasonTooLong { max: usize },
}

/// The clerk's own file reference, free text per office convention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Aktenzeichen(String);

impl Aktenzeichen {
    pub const MAX_LEN: usize = 100;

    /// Empty input clears the Aktenzeichen (`Ok(None)`).
    pub fn parse(s: &str) -> Result<Option<Self>, DomainError> {
        let t = s.trim();
        if t.is_empty() {
            return Ok(None);
        }
        if t.chars().count() > Self::MAX_LEN {
            return Err(DomainError::AktenzeichenTooLong { max: Self::MAX_LEN });
        }
        if t.chars().any(char::is_control) {
            return Err(DomainError::AktenzeichenInvalid);
        }
        Ok(Some(Self(t.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const MAX_REASON_LEN: usize = 2_000;

/// Decides a status move: the target status, or why it is refused.
pub fn decide_status_move(
    command: StatusCommand,
    current: VorgangStatus,
    before_deletion_request: Option<VorgangStatus>,
    reason: Option<&str>,
) -> Result<VorgangStatus, DomainError> {
    let to = command.target(current, before_deletion_request)?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if command.requires_reason() && reason.is_none() {
        return Err(DomainError::ReasonRequired(command.label()));
    }
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON_LEN) {
        return Err(DomainError::ReasonTooLong { max: MAX_REASON_LEN });
    }
    Ok(to)
}

/// What happened to a Vorgang. Stored in one append-only log per installation: it is the
/// Vorgang's history for clerks and the durable outbox for every later channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VorgangEvent {
    Eingegangen {
        vorgang_nummer: String,
        form_name: String,
        transaction_id: String,
    },
    StatusGeaendert {
        command: StatusCommand,
        from: VorgangStatus,
        to: VorgangStatus,
        reason: Option<String>,
    },
    Zugewiesen {
        from: Option<String>,
        to: Option<String>,
    },
    AktenzeichenGeaendert {
        from: Option<String>,
        to: Option<String>,
    },
    /// Distributed to another Organisationseinheit (names, as they were at that time).
    EinheitGeaendert {
        from: Option<String>,
        to: Option<String>,
    },
    /// An internal note; its text stays in the Kommentar (the event log is an outbox).
    KommentarHinzugefuegt {
        kommentar_id: String,
    },
    WiedervorlageAngelegt {
        wiedervorlage_id: String,
        betreff: String,
        frist: String,
    },
    WiedervorlageGeaendert {
        wiedervorlage_id: String,
        betreff: String,
        frist: String,
    },
    WiedervorlageErledigt {
        wiedervorlage_id: String,
        betreff: String,
    },
    WiedervorlageWiedereroeffnet {
        wiedervorlage_id: String,
        betreff: String,
    },
    /// A clerk attached a document ("Daten anhängen"), to the Vorgang itself or to one of its
    /// notes (`zu`: `VORGANG`, `KOMMENTAR` or `WIEDERVORLAGE`). The file name stays with
    /// the document: it may name people.
    DokumentAngehaengt {
        document_id: String,
        zu: String,
    },
    /// A clerk removed a document a clerk had attached (its bytes are deleted).
    DokumentEntfernt {
        document_id: String,
    },
    /// The Vorgang was deleted for good; the only event left of it (its history went with it).
    Geloescht {
        vorgang_nummer: String,
    },
}

impl VorgangEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Eingegangen { .. } => "EINGEGANGEN",
            Self::StatusGeaendert { .. } => "STATUS_GEAENDERT",
            Self::Zugewiesen { .. } => "ZUGEWIESEN",
            Self::AktenzeichenGeaendert { .. } => "AKTENZEICHEN_GEAENDERT",
            Self::EinheitGeaendert { .. } => "EINHEIT_GEAENDERT",
            Self::KommentarHinzugefuegt { .. } => "KOMMENTAR_HINZUGEFUEGT",
            Self::WiedervorlageAngelegt { .. } => "WIEDERVORLAGE_ANGELEGT",
            Self::WiedervorlageGeaendert { .. } => "WIEDERVORLAGE_GEAENDERT",
            Self::WiedervorlageErledigt { .. } => "WIEDERVORLAGE_ERLEDIGT",
            Self::WiedervorlageWiedereroeffnet { .. } => "WIEDERVORLAGE_WIEDEREROEFFNET",
            Self::DokumentAngehaengt { .. } => "DOKUMENT_ANGEHAENGT",
            Self::DokumentEntfernt { .. } => "DOKUMENT_ENTFERNT",
            Self::Geloescht { .. } => "GELOESCHT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verwerfen_needs_a_reason() {
        assert_eq!(
            decide_status_move(StatusCommand::Verwerfen, VorgangStatus::Neu, None, Some("  ")),
            Err(DomainError::ReasonRequired("Verwerfen"))
        );
        assert_eq!(
            decide_status_move(StatusCommand::Verwerfen, VorgangStatus::Neu, None, Some("Dublette")),
            Ok(VorgangStatus::Verworfen)
        );
    }

    #[test]
    fn aktenzeichen_rules() {
        assert_eq!(Aktenzeichen::parse("  "), Ok(None));
        assert!(Aktenzeichen::parse(&"x".repeat(101)).is_err());
        assert_eq!(Aktenzeichen::parse(" 32.1-123/24 ").ok().flatten().map(|a| a.0), Some("32.1-123/24".into()));
    }
}
