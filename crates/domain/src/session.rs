//! When a session is alive, and when its use is written down: one rule for both engines.

use time::{Duration, OffsetDateTime};

/// Sessions and API tokens record their use at most this often, so reading a page does not
/// cost a write.
pub const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// A session's clock as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimes {
    pub last_seen: OffsetDateTime,
    /// Inactivity after which it ends.
    pub idle: Duration,
    /// When it ends whatever the activity.
    pub absolute_expiry: OffsetDateTime,
}

impl SessionTimes {
    /// The earlier of the idle end and the absolute end.
    pub fn expires(&self) -> OffsetDateTime {
        self.last_seen.checked_add(self.idle).map_or(self.absolute_expiry, |end| end.min(self.absolute_expiry))
    }
}

/// Who a session belongs to when it is not a clerk's: their sessions live apart from the
/// clerks' (no account, no roles, no units), so the clerks' rules stay as strict as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PortalKind {
    /// The applicant in the Antragsraum.
    Antragsteller,
}

impl PortalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Antragsteller => "ANTRAGSTELLER",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        (s == "ANTRAGSTELLER").then_some(Self::Antragsteller)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Gone: the storage deletes it.
    Ended,
    /// Valid; `touch` = record `now` as its last use (the idle time starts again).
    Alive { touch: bool },
}

/// Whether a session of a (possibly disabled) user is alive at `now`.
pub fn liveness(times: &SessionTimes, user_disabled: bool, now: OffsetDateTime) -> Liveness {
    if user_disabled || times.expires() <= now {
        return Liveness::Ended;
    }
    Liveness::Alive { touch: now - times.last_seen > TOUCH_INTERVAL }
}

/// Whether an API token's use at `now` is recorded.
pub fn token_use_recorded(last_used: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    last_used.is_none_or(|last| now - last >= TOUCH_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn idle_and_absolute_limits() {
        let t = datetime!(2026-12-04 10:00 UTC);
        let times =
            SessionTimes { last_seen: t, idle: Duration::minutes(30), absolute_expiry: t + Duration::hours(12) };
        assert_eq!(liveness(&times, false, t + Duration::seconds(30)), Liveness::Alive { touch: false });
        assert_eq!(liveness(&times, false, t + Duration::minutes(2)), Liveness::Alive { touch: true });
        assert_eq!(liveness(&times, false, t + Duration::minutes(30)), Liveness::Ended);
        assert_eq!(liveness(&times, true, t), Liveness::Ended, "a disabled user's sessions end");
        let short = SessionTimes { absolute_expiry: t + Duration::minutes(5), ..times };
        assert_eq!(short.expires(), t + Duration::minutes(5));
        assert!(token_use_recorded(None, t));
        assert!(!token_use_recorded(Some(t), t + Duration::seconds(59)));
        assert!(token_use_recorded(Some(t), t + Duration::seconds(60)));
    }
}
