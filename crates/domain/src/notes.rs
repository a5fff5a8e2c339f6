//! The clerk's own notes on a Vorgang: Kommentare (internal, never shown to the applicant)
//! and Wiedervorlagen (follow-ups with a due date).

use serde::{Deserialize, Serialize};
use time::Date;

/// The inputs of a note, as forms and the API name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteField {
    Text,
    Betreff,
    Beschreibung,
    Frist,
}

impl NoteField {
    /// The input's name in forms and API bodies.
    pub fn key(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Betreff => "betreff",
            Self::Beschreibung => "beschreibung",
            Self::Frist => "frist",
        }
    }

    /// As a message names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Text => "Der Kommentar",
            Self::Betreff => "Der Betreff",
            Self::Beschreibung => "Die Beschreibung",
            Self::Frist => "Die Frist",
        }
    }
}

impl std::fmt::Display for NoteField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("{0} darf nicht leer sein")]
    Empty(NoteField),
    #[error("{field} ist zu lang (höchstens {max} Zeichen)")]
    TooLong { field: NoteField, max: usize },
    #[error("Die Frist ist kein gültiges Datum (TT.MM.JJJJ oder JJJJ-MM-TT)")]
    BadDate,
}

impl NoteError {
    /// Which input is wrong.
    pub fn field(&self) -> NoteField {
        match self {
            Self::Empty(f) | Self::TooLong { field: f, .. } => *f,
            Self::BadDate => NoteField::Frist,
        }
    }
}

pub const MAX_KOMMENTAR: usize = 10_000;
pub const MAX_BETREFF: usize = 200;
pub const MAX_BESCHREIBUNG: usize = 5_000;

fn text(s: &str, field: NoteField, max: usize, required: bool) -> Result<String, NoteError> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(NoteError::Empty(field));
    }
    if t.chars().count() > max {
        return Err(NoteError::TooLong { field, max });
    }
    // Line breaks stay; other control characters do not.
    Ok(t.chars().filter(|c| !c.is_control() || *c == '\n' || *c == '\t').collect())
}

/// The text of a Kommentar, trimmed, 1..=10,000 characters.
pub fn kommentar_text(s: &str) -> Result<String, NoteError> {
    text(&s.replace("\r\n", "\n"), NoteField::Text, MAX_KOMMENTAR, true)
}

/// What a Wiedervorlage says, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WiedervorlageInput {
    pub betreff: String,
    pub beschreibung: String,
    pub frist: Date,
}

impl WiedervorlageInput {
    pub fn parse(betreff: &str, beschreibung: &str, frist: &str) -> Result<Self, NoteError> {
        Ok(Self {
            betreff: text(betreff, NoteField::Betreff, MAX_BETREFF, true)?,
            beschreibung: text(&beschreibung.replace("\r\n", "\n"), NoteField::Beschreibung, MAX_BESCHREIBUNG, false)?,
            frist: parse_date(frist).ok_or(NoteError::BadDate)?,
        })
    }
}

/// `2026-12-01` (what `<input type=date>` sends) or `01.12.2026`.
pub fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let (y, m, d) = if let Some((d, rest)) = s.split_once('.') {
        let (m, y) = rest.split_once('.')?;
        (y, m, d)
    } else {
        let mut parts = s.splitn(3, '-');
        (parts.next()?, parts.next()?, parts.next()?)
    };
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// `YYYY-MM-DD`: how events and both engines write a date.
pub fn iso_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Serde for dates as `YYYY-MM-DD` (events are read outside the process).
pub mod iso_date_serde {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::iso_date(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_date(&s).ok_or_else(|| serde::de::Error::custom(format!("no date: {s}")))
    }
}

/// A Wiedervorlage as stored now, as far as a change needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WiedervorlageNow {
    pub version: i64,
    pub erledigt: bool,
    pub erledigt_at: Option<time::OffsetDateTime>,
}

/// What a change of a Wiedervorlage writes besides its content, and the one event it records.
#[derive(Debug, Clone, PartialEq)]
pub struct WiedervorlagePlan {
    /// Done now: since now; still done: since then; open: never.
    pub erledigt_at: Option<time::OffsetDateTime>,
    pub event: crate::VorgangEvent,
}

/// Decides a change of a Wiedervorlage (content and/or done flag): refused as
/// [`crate::vorgang::Stale`] at another version; otherwise `erledigt_at` and the event —
/// `Erledigt` or `Wiedereroeffnet` when the flag changes, else `Geaendert`.
pub fn plan_wiedervorlage_update(
    current: &WiedervorlageNow,
    expected_version: i64,
    id: crate::WiedervorlageId,
    betreff: &str,
    frist: Date,
    erledigt: bool,
    now: time::OffsetDateTime,
) -> Result<WiedervorlagePlan, crate::vorgang::Stale> {
    if current.version != expected_version {
        return Err(crate::vorgang::Stale { current_version: current.version });
    }
    let erledigt_at = match (current.erledigt, erledigt) {
        (false, true) => Some(now),
        (_, false) => None,
        (true, true) => current.erledigt_at,
    };
    let betreff = betreff.to_owned();
    let event = match (current.erledigt, erledigt) {
        (false, true) => crate::VorgangEvent::WiedervorlageErledigt { wiedervorlage_id: id, betreff },
        (true, false) => crate::VorgangEvent::WiedervorlageWiedereroeffnet { wiedervorlage_id: id, betreff },
        _ => crate::VorgangEvent::WiedervorlageGeaendert { wiedervorlage_id: id, betreff, frist },
    };
    Ok(WiedervorlagePlan { erledigt_at, event })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wiedervorlage_changes_plan_their_event_and_erledigt_at() {
        use time::macros::{date, datetime};
        let id = crate::WiedervorlageId::new();
        let (t0, t1) = (datetime!(2026-12-01 9:00 UTC), datetime!(2026-12-04 9:00 UTC));
        let open = WiedervorlageNow { version: 1, erledigt: false, erledigt_at: None };
        let done = WiedervorlageNow { version: 2, erledigt: true, erledigt_at: Some(t0) };
        let f = date!(2026 - 12 - 10);
        assert_eq!(
            plan_wiedervorlage_update(&open, 2, id, "b", f, true, t1),
            Err(crate::vorgang::Stale { current_version: 1 })
        );
        let p = plan_wiedervorlage_update(&open, 1, id, "b", f, true, t1).expect("plan");
        assert_eq!(p.erledigt_at, Some(t1));
        assert!(matches!(p.event, crate::VorgangEvent::WiedervorlageErledigt { .. }));
        let p = plan_wiedervorlage_update(&done, 2, id, "b", f, true, t1).expect("plan");
        assert_eq!(p.erledigt_at, Some(t0), "still done: since then");
        assert!(matches!(p.event, crate::VorgangEvent::WiedervorlageGeaendert { .. }));
        let p = plan_wiedervorlage_update(&done, 2, id, "b", f, false, t1).expect("plan");
        assert_eq!(p.erledigt_at, None);
        assert!(matches!(p.event, crate::VorgangEvent::WiedervorlageWiedereroeffnet { .. }));
        let json = serde_json::to_value(&crate::VorgangEvent::WiedervorlageGeaendert {
            wiedervorlage_id: id,
            betreff: "b".into(),
            frist: f,
        })
        .expect("json");
        assert_eq!(json["frist"], "2026-12-10", "dates in events are YYYY-MM-DD");
        assert_eq!(json["wiedervorlage_id"].as_str(), Some(id.to_string().as_str()));
    }

    #[test]
    fn wiedervorlage_rules() {
        let w = WiedervorlageInput::parse(" Ausweis nachfordern ", "", "2026-12-01").expect("valid");
        assert_eq!(w.betreff, "Ausweis nachfordern");
        assert_eq!(w.frist, Date::from_calendar_date(2026, time::Month::December, 1).expect("date"));
        assert_eq!(parse_date("01.12.2026"), Some(w.frist));
        assert_eq!(WiedervorlageInput::parse("  ", "", "2026-12-01"), Err(NoteError::Empty(NoteField::Betreff)));
        assert_eq!(WiedervorlageInput::parse("x", "", "31.02.2026"), Err(NoteError::BadDate));
    }

    #[test]
    fn kommentar_rules() {
        assert_eq!(kommentar_text(" Rückruf am Montag\r\nerledigt "), Ok("Rückruf am Montag\nerledigt".into()));
        assert!(kommentar_text("   ").is_err());
        assert!(kommentar_text(&"x".repeat(10_001)).is_err());
    }
}
