use crate::ids::{DocumentId, KommentarId, UnitId, UserId, WiedervorlageId};
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

/// The version of the event payloads' schema (`VorgangEvent` as JSON). Every stored event
/// carries the version it was written with, so consumers outside the process (webhooks,
/// `GET /api/v1/events`) can rely on the shape: a change that is not purely additive raises it.
pub const EVENT_SCHEMA_VERSION: u32 = 1;

/// What happened in a tenant, almost always to a Vorgang. Stored in one append-only log per
/// tenant: it is a Vorgang's history for clerks and the durable outbox for every later channel.
/// The tenant-level events ([`VorgangEvent::concerns_a_vorgang`] is false) are stored without
/// a Vorgang: they concern deliveries that never became one.
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
        kommentar_id: KommentarId,
    },
    WiedervorlageAngelegt {
        wiedervorlage_id: WiedervorlageId,
        betreff: String,
        #[serde(with = "crate::notes::iso_date_serde")]
        frist: time::Date,
    },
    WiedervorlageGeaendert {
        wiedervorlage_id: WiedervorlageId,
        betreff: String,
        #[serde(with = "crate::notes::iso_date_serde")]
        frist: time::Date,
    },
    WiedervorlageErledigt {
        wiedervorlage_id: WiedervorlageId,
        betreff: String,
    },
    WiedervorlageWiedereroeffnet {
        wiedervorlage_id: WiedervorlageId,
        betreff: String,
    },
    /// A clerk attached a document ("Daten anhängen"), to the Vorgang itself or to one of its
    /// notes (`zu`: `VORGANG`, `KOMMENTAR` or `WIEDERVORLAGE`). The file name stays with
    /// the document: it may name people.
    DokumentAngehaengt {
        document_id: DocumentId,
        zu: String,
    },
    /// A clerk removed a document a clerk had attached (its bytes are deleted).
    DokumentEntfernt {
        document_id: DocumentId,
    },
    /// The Vorgang was deleted for good; the only event left of it (its history went with it).
    Geloescht {
        vorgang_nummer: String,
    },
    /// Tenant-level: a delivery could not be read and waits in the quarantine for an admin.
    /// `feld` names what was wrong (a field path, not its value).
    EingangQuarantaene {
        delivery_id: uuid::Uuid,
        feld: String,
    },
    /// Tenant-level: a delivery was read but no Organisationseinheit carries its
    /// `zustaendigeStelle`; it waits in "Nicht zuordenbar".
    EingangNichtZuordenbar {
        delivery_id: uuid::Uuid,
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
            Self::EingangQuarantaene { .. } => "EINGANG_QUARANTAENE",
            Self::EingangNichtZuordenbar { .. } => "EINGANG_NICHT_ZUORDENBAR",
        }
    }

    /// False for the tenant-level events, which are stored without a Vorgang.
    pub fn concerns_a_vorgang(&self) -> bool {
        !matches!(self, Self::EingangQuarantaene { .. } | Self::EingangNichtZuordenbar { .. })
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

/// The first event of every Vorgang, recorded by intake (and import) in the transaction that
/// creates it.
pub fn eingegangen(
    nummer: &crate::Vorgangsnummer,
    form_name: &str,
    transaction_id: &crate::TransactionId,
) -> VorgangEvent {
    VorgangEvent::Eingegangen {
        vorgang_nummer: nummer.to_string(),
        form_name: form_name.to_owned(),
        transaction_id: transaction_id.to_string(),
    }
}

/// One change to a Vorgang, as a command asks for it (the status move decided beforehand by
/// [`decide_status_move`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VorgangChange {
    Status {
        command: StatusCommand,
        from: VorgangStatus,
        to: VorgangStatus,
        reason: Option<String>,
    },
    Assign {
        to: Option<UserId>,
    },
    Aktenzeichen(Option<Aktenzeichen>),
    /// Distribute to another Organisationseinheit of the tenant.
    Unit {
        to: Option<UnitId>,
    },
}

/// What a change needs to know of the Vorgang as it is stored now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub version: i64,
    pub status: VorgangStatus,
    pub aktenzeichen: Option<String>,
}

/// Display names the storage looked up for the event (assignee or unit, before and after):
/// the history keeps names as they were at that time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What the storage writes: one column group, always with `version + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The status (and `status_since` = now); `before_deletion` is kept while a
    /// Löschanforderung stands, so withdrawing it returns there, and cleared otherwise.
    Status {
        to: VorgangStatus,
        before_deletion: Option<VorgangStatus>,
    },
    Assignee(Option<UserId>),
    Aktenzeichen(Option<String>),
    Unit(Option<UnitId>),
}

impl Update {
    /// The search index holds the Aktenzeichen: it must follow.
    pub fn touches_search(&self) -> bool {
        matches!(self, Self::Aktenzeichen(_))
    }
}

/// The Vorgang changed since the caller read it: what the caller must see instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stale {
    pub current_version: i64,
}

/// The plan of one change: what to write and which event to record, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePlan {
    pub update: Update,
    pub event: VorgangEvent,
}

/// Decides a change against the stored Vorgang: refused as [`Stale`] when the version is not
/// the one the caller saw, or when a status move starts from a status the Vorgang no longer
/// has; otherwise the update and its event. Both storage engines persist exactly this.
pub fn plan_change(
    current: &Current,
    expected_version: i64,
    change: &VorgangChange,
    names: Names,
) -> Result<ChangePlan, Stale> {
    let stale = Stale { current_version: current.version };
    if current.version != expected_version {
        return Err(stale);
    }
    Ok(match change {
        VorgangChange::Status { command, from, to, reason } => {
            if current.status != *from {
                return Err(stale);
            }
            let before_deletion = (*command == StatusCommand::LoeschenAnfordern).then_some(*from);
            ChangePlan {
                update: Update::Status { to: *to, before_deletion },
                event: VorgangEvent::StatusGeaendert {
                    command: *command,
                    from: *from,
                    to: *to,
                    reason: reason.clone(),
                },
            }
        }
        VorgangChange::Assign { to } => ChangePlan {
            update: Update::Assignee(*to),
            event: VorgangEvent::Zugewiesen { from: names.before, to: names.after },
        },
        VorgangChange::Aktenzeichen(az) => {
            let new = az.as_ref().map(|a| a.as_str().to_owned());
            ChangePlan {
                event: VorgangEvent::AktenzeichenGeaendert { from: current.aktenzeichen.clone(), to: new.clone() },
                update: Update::Aktenzeichen(new),
            }
        }
        VorgangChange::Unit { to } => ChangePlan {
            update: Update::Unit(*to),
            event: VorgangEvent::EinheitGeaendert { from: names.before, to: names.after },
        },
    })
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    fn current(status: VorgangStatus) -> Current {
        Current { version: 3, status, aktenzeichen: Some("alt".into()) }
    }

    #[test]
    fn stale_versions_and_moved_statuses_conflict() {
        let change = VorgangChange::Assign { to: None };
        assert_eq!(
            plan_change(&current(VorgangStatus::Neu), 2, &change, Names::default()),
            Err(Stale { current_version: 3 })
        );
        let status = VorgangChange::Status {
            command: StatusCommand::Annehmen,
            from: VorgangStatus::Neu,
            to: VorgangStatus::Angenommen,
            reason: None,
        };
        assert_eq!(
            plan_change(&current(VorgangStatus::Verworfen), 3, &status, Names::default()),
            Err(Stale { current_version: 3 }),
            "someone moved it meanwhile"
        );
        let plan = plan_change(&current(VorgangStatus::Neu), 3, &status, Names::default()).expect("plan");
        assert_eq!(plan.update, Update::Status { to: VorgangStatus::Angenommen, before_deletion: None });
    }

    #[test]
    fn a_deletion_request_remembers_where_it_came_from() {
        let change = VorgangChange::Status {
            command: StatusCommand::LoeschenAnfordern,
            from: VorgangStatus::Abgeschlossen,
            to: VorgangStatus::ZuLoeschen,
            reason: Some("Frist".into()),
        };
        let plan = plan_change(&current(VorgangStatus::Abgeschlossen), 3, &change, Names::default()).expect("plan");
        assert_eq!(
            plan.update,
            Update::Status { to: VorgangStatus::ZuLoeschen, before_deletion: Some(VorgangStatus::Abgeschlossen) }
        );
    }

    #[test]
    fn events_carry_the_names_and_the_old_aktenzeichen() {
        let names = Names { before: Some("Max".into()), after: Some("Erika".into()) };
        let plan =
            plan_change(&current(VorgangStatus::Neu), 3, &VorgangChange::Assign { to: None }, names).expect("plan");
        assert_eq!(plan.event, VorgangEvent::Zugewiesen { from: Some("Max".into()), to: Some("Erika".into()) });
        let az = VorgangChange::Aktenzeichen(Aktenzeichen::parse("neu").expect("az"));
        let plan = plan_change(&current(VorgangStatus::Neu), 3, &az, Names::default()).expect("plan");
        assert_eq!(
            plan.event,
            VorgangEvent::AktenzeichenGeaendert { from: Some("alt".into()), to: Some("neu".into()) }
        );
        assert!(plan.update.touches_search());
    }
}
