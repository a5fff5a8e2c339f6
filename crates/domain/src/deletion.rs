//! Final deletion (Löschung) of a Vorgang. A clerk requests it (status ZU_LOESCHEN, with a
//! reason); a second person holding the delete right carries it out. What remains is a
//! tombstone without personal data.

use crate::ids::UserId;
use crate::status::VorgangStatus;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeletionRefused {
    #[error("Endgültig gelöscht werden kann nur ein Vorgang im Status „Zu Löschen“")]
    NotRequested,
    #[error("Die Löschung muss eine Person angefordert haben; bitte die Anforderung zurücknehmen und neu stellen")]
    RequestedByNoPerson,
    #[error("Die Löschung muss eine zweite Person ausführen, nicht die, die sie angefordert hat")]
    SamePerson,
    #[error("Die Löschung darf nur ausführen, wer das Löschrecht hat")]
    NoDeleteRight,
}

/// The four-eyes rule: the Vorgang awaits deletion, a person requested it, and the person
/// deleting it is not that one. A request without a person (`requested_by: None`, e.g. from
/// an import of old data) is refused: otherwise one person could request through a machine
/// and delete alone.
pub fn check_final_deletion(
    status: VorgangStatus,
    requested_by: Option<UserId>,
    actor: UserId,
    actor_may_delete: bool,
) -> Result<(), DeletionRefused> {
    if !actor_may_delete {
        return Err(DeletionRefused::NoDeleteRight);
    }
    if status != VorgangStatus::ZuLoeschen {
        return Err(DeletionRefused::NotRequested);
    }
    match requested_by {
        None => Err(DeletionRefused::RequestedByNoPerson),
        Some(by) if by == actor => Err(DeletionRefused::SamePerson),
        Some(_) => Ok(()),
    }
}

/// Who may remove a document a clerk attached: the person who attached it; what a machine
/// (API token, `None`) attached, only a machine.
pub fn may_remove_attachment(attached_by: Option<UserId>, remover: Option<UserId>) -> bool {
    attached_by == remover
}

/// The tombstone's text for the audit log: which Vorgang (its number and form, which name no
/// person), when it came in and when deletion was requested. No applicant data, no reason (a
/// reason may name people).
pub fn tombstone(nummer: &str, form_id: &str, eingang: time::Date, requested: Option<time::Date>) -> String {
    let requested = requested.map(|d| format!(", Löschung angefordert am {d}")).unwrap_or_default();
    format!("Vorgang {nummer} (Formular {form_id}, Eingang {eingang}){requested} endgültig gelöscht")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_eyes() {
        let (a, b) = (UserId::new(), UserId::new());
        assert_eq!(check_final_deletion(VorgangStatus::ZuLoeschen, Some(a), b, true), Ok(()));
        assert_eq!(check_final_deletion(VorgangStatus::ZuLoeschen, Some(a), a, true), Err(DeletionRefused::SamePerson));
        assert_eq!(
            check_final_deletion(VorgangStatus::Abgeschlossen, Some(a), b, true),
            Err(DeletionRefused::NotRequested)
        );
        assert_eq!(
            check_final_deletion(VorgangStatus::ZuLoeschen, None, b, true),
            Err(DeletionRefused::RequestedByNoPerson)
        );
        assert_eq!(
            check_final_deletion(VorgangStatus::ZuLoeschen, Some(a), b, false),
            Err(DeletionRefused::NoDeleteRight)
        );
    }

    #[test]
    fn only_the_uploader_removes() {
        let (a, b) = (UserId::new(), UserId::new());
        assert!(may_remove_attachment(Some(a), Some(a)));
        assert!(!may_remove_attachment(Some(a), Some(b)));
        assert!(!may_remove_attachment(Some(a), None) && !may_remove_attachment(None, Some(a)));
        assert!(may_remove_attachment(None, None));
    }

    #[test]
    fn tombstone_names_no_person() {
        let d = time::macros::date!(2026 - 11 - 02);
        assert_eq!(
            tombstone("20261102-ABC123", "gewerbe-anmeldung", d, Some(d)),
            "Vorgang 20261102-ABC123 (Formular gewerbe-anmeldung, Eingang 2026-11-02), Löschung angefordert am 2026-11-02 endgültig gelöscht"
        );
    }
}
