use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Sachbearbeitung,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sachbearbeitung => "SACHBEARBEITUNG",
            Role::Admin => "ADMIN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Role::Sachbearbeitung, Role::Admin].into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Sachbearbeitung => "Sachbearbeiter:in",
            Role::Admin => "Administrator:in",
        }
    }
}

/// Login names: 2..=64 characters of letters, digits and `._-@`, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase();
        let ok = (2..=64).contains(&s.chars().count())
            && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        ok.then_some(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
