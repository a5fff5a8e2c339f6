use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! uuid_id {
    ($name:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Time-ordered ids keep index inserts local.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(VorgangId);
uuid_id!(UserId);
uuid_id!(DocumentId);
uuid_id!(UnitId);
uuid_id!(ApiTokenId);
uuid_id!(KommentarId);
uuid_id!(WiedervorlageId);
uuid_id!(JobId);

/// A tenant (Mandant) is addressed by a short slug; every stored row carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    pub const DEFAULT: &'static str = "default";
    /// The installation itself: operators log in here; deliveries whose tenant is not known yet
    /// (unparseable, or for an unknown `zustaendigeStelle`) are kept here.
    pub const PLATFORM: &'static str = "plattform";

    pub fn default_tenant() -> Self {
        Self(Self::DEFAULT.to_owned())
    }

    pub fn platform() -> Self {
        Self(Self::PLATFORM.to_owned())
    }

    pub fn is_platform(&self) -> bool {
        self.0 == Self::PLATFORM
    }

    /// Slugs: lower-case ASCII letters, digits and dashes, 1..=63 characters.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The form service's id of one delivery; the key of idempotent intake.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransactionId(String);

impl TransactionId {
    pub const MAX_LEN: usize = 255;

    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        (!t.is_empty() && t.len() <= Self::MAX_LEN && !t.chars().any(char::is_control)).then(|| Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
