use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VorgangStatus {
    Neu,
    Angenommen,
    InBearbeitung,
    Beschieden,
    Abgeschlossen,
    Verworfen,
    Weitergeleitet,
    ZuLoeschen,
}

impl VorgangStatus {
    pub const ALL: [VorgangStatus; 8] = [
        Self::Neu,
        Self::Angenommen,
        Self::InBearbeitung,
        Self::Beschieden,
        Self::Abgeschlossen,
        Self::Verworfen,
        Self::Weitergeleitet,
        Self::ZuLoeschen,
    ];

    /// The statuses the worklist counts, in the order clerks see them.
    pub const WORKLIST: [VorgangStatus; 7] = [
        Self::Neu,
        Self::Angenommen,
        Self::InBearbeitung,
        Self::Beschieden,
        Self::Abgeschlossen,
        Self::Verworfen,
        Self::ZuLoeschen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Neu => "NEU",
            Self::Angenommen => "ANGENOMMEN",
            Self::InBearbeitung => "IN_BEARBEITUNG",
            Self::Beschieden => "BESCHIEDEN",
            Self::Abgeschlossen => "ABGESCHLOSSEN",
            Self::Verworfen => "VERWORFEN",
            Self::Weitergeleitet => "WEITERGELEITET",
            Self::ZuLoeschen => "ZU_LOESCHEN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Neu => "Neu",
            Self::Angenommen => "Angenommen",
            Self::InBearbeitung => "In Bearbeitung",
            Self::Beschieden => "Beschieden",
            Self::Abgeschlossen => "Abgeschlossen",
            Self::Verworfen => "Verworfen",
            Self::Weitergeleitet => "Weitergeleitet",
            Self::ZuLoeschen => "Zu Löschen",
        }
    }

    /// The commands that are legal from this status, in the order the UI offers them.
    pub fn legal_commands(self) -> Vec<StatusCommand> {
        StatusCommand::ALL.into_iter().filter(|c| c.sources().contains(&self)).collect()
    }
}

impl fmt::Display for VorgangStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status move, named as clerks name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusCommand {
    Annehmen,
    Verwerfen,
    Zurueckholen,
    Bearbeiten,
    Zurueckstellen,
    Bescheiden,
    Abschliessen,
    Wiedereroeffnen,
    LoeschenAnfordern,
    LoeschanforderungZuruecknehmen,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("„{command}“ ist im Status „{from}“ nicht möglich")]
pub struct IllegalMove {
    pub command: &'static str,
    pub from: &'static str,
}

impl StatusCommand {
    pub const ALL: [StatusCommand; 10] = [
        Self::Annehmen,
        Self::Verwerfen,
        Self::Zurueckholen,
        Self::Bearbeiten,
        Self::Zurueckstellen,
        Self::Bescheiden,
        Self::Abschliessen,
        Self::Wiedereroeffnen,
        Self::LoeschenAnfordern,
        Self::LoeschanforderungZuruecknehmen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Annehmen => "ANNEHMEN",
            Self::Verwerfen => "VERWERFEN",
            Self::Zurueckholen => "ZURUECKHOLEN",
            Self::Bearbeiten => "BEARBEITEN",
            Self::Zurueckstellen => "ZURUECKSTELLEN",
            Self::Bescheiden => "BESCHEIDEN",
            Self::Abschliessen => "ABSCHLIESSEN",
            Self::Wiedereroeffnen => "WIEDEREROEFFNEN",
            Self::LoeschenAnfordern => "LOESCHEN_ANFORDERN",
            Self::LoeschanforderungZuruecknehmen => "LOESCHANFORDERUNG_ZURUECKNEHMEN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Annehmen => "Annehmen",
            Self::Verwerfen => "Verwerfen",
            Self::Zurueckholen => "Zurückholen",
            Self::Bearbeiten => "Bearbeiten",
            Self::Zurueckstellen => "Zurückstellen",
            Self::Bescheiden => "Bescheiden",
            Self::Abschliessen => "Abschließen",
            Self::Wiedereroeffnen => "Wiedereröffnen",
            Self::LoeschenAnfordern => "Löschen anfordern",
            Self::LoeschanforderungZuruecknehmen => "Löschanforderung zurücknehmen",
        }
    }

    /// Moves that must be justified, because someone later has to understand them.
    pub fn requires_reason(self) -> bool {
        matches!(self, Self::Verwerfen | Self::LoeschenAnfordern)
    }

    fn sources(self) -> &'static [VorgangStatus] {
        use VorgangStatus::*;
        match self {
            Self::Annehmen | Self::Verwerfen => &[Neu],
            Self::Zurueckholen => &[Verworfen],
            Self::Bearbeiten => &[Angenommen],
            Self::Zurueckstellen | Self::Bescheiden => &[InBearbeitung],
            Self::Abschliessen => &[InBearbeitung, Beschieden],
            Self::Wiedereroeffnen => &[Beschieden, Abgeschlossen],
            Self::LoeschenAnfordern => &[Abgeschlossen, Verworfen],
            Self::LoeschanforderungZuruecknehmen => &[ZuLoeschen],
        }
    }

    /// The status this command leads to from `from`. Withdrawing a Löschanforderung returns
    /// to the status the Vorgang had before it (`before_deletion_request`).
    pub fn target(
        self,
        from: VorgangStatus,
        before_deletion_request: Option<VorgangStatus>,
    ) -> Result<VorgangStatus, IllegalMove> {
        use VorgangStatus::*;
        let illegal = IllegalMove { command: self.label(), from: from.label() };
        if !self.sources().contains(&from) {
            return Err(illegal);
        }
        Ok(match self {
            Self::Annehmen | Self::Zurueckstellen => Angenommen,
            Self::Verwerfen => Verworfen,
            Self::Zurueckholen => Neu,
            Self::Bearbeiten | Self::Wiedereroeffnen => InBearbeitung,
            Self::Bescheiden => Beschieden,
            Self::Abschliessen => Abgeschlossen,
            Self::LoeschenAnfordern => ZuLoeschen,
            Self::LoeschanforderungZuruecknehmen => match before_deletion_request {
                Some(s @ (Abgeschlossen | Verworfen)) => s,
                _ => Abgeschlossen,
            },
        })
    }
}

impl fmt::Display for StatusCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusCommand as C;
    use VorgangStatus as S;

    #[test]
    fn the_glossary_moves() {
        let ok = [
            (C::Annehmen, S::Neu, S::Angenommen),
            (C::Verwerfen, S::Neu, S::Verworfen),
            (C::Zurueckholen, S::Verworfen, S::Neu),
            (C::Bearbeiten, S::Angenommen, S::InBearbeitung),
            (C::Zurueckstellen, S::InBearbeitung, S::Angenommen),
            (C::Bescheiden, S::InBearbeitung, S::Beschieden),
            (C::Abschliessen, S::InBearbeitung, S::Abgeschlossen),
            (C::Abschliessen, S::Beschieden, S::Abgeschlossen),
            (C::Wiedereroeffnen, S::Beschieden, S::InBearbeitung),
            (C::Wiedereroeffnen, S::Abgeschlossen, S::InBearbeitung),
            (C::LoeschenAnfordern, S::Abgeschlossen, S::ZuLoeschen),
            (C::LoeschenAnfordern, S::Verworfen, S::ZuLoeschen),
        ];
        for (c, from, to) in ok {
            assert_eq!(c.target(from, None), Ok(to), "{c:?} from {from:?}");
        }
        let legal: usize = S::ALL.iter().map(|s| s.legal_commands().len()).sum();
        assert_eq!(legal, ok.len() + 1, "every other move is illegal");
        assert_eq!(C::LoeschanforderungZuruecknehmen.target(S::ZuLoeschen, Some(S::Verworfen)), Ok(S::Verworfen));
        let err = C::Bescheiden.target(S::Neu, None).expect_err("illegal");
        assert_eq!(err.to_string(), "„Bescheiden“ ist im Status „Neu“ nicht möglich");
    }
}
