//! Users, roles, password rules and lockout.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Works the Vorgänge of their Organisationseinheiten.
    Sachbearbeitung,
    /// Sees every new Vorgang of the tenant and distributes them.
    Poststelle,
    /// May finally delete a Vorgang that someone else asked to delete.
    Loeschberechtigt,
    /// Tenant admin: users, units, settings, tokens, audit log.
    Admin,
    /// Platform operator across tenants; only in the platform tenant.
    Betrieb,
}

impl Role {
    pub const ALL: [Role; 5] =
        [Self::Sachbearbeitung, Self::Poststelle, Self::Loeschberechtigt, Self::Admin, Self::Betrieb];
    /// What a tenant admin may hand out.
    pub const TENANT_ROLES: [Role; 4] = [Self::Sachbearbeitung, Self::Poststelle, Self::Loeschberechtigt, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sachbearbeitung => "SACHBEARBEITUNG",
            Self::Poststelle => "POSTSTELLE",
            Self::Loeschberechtigt => "LOESCHBERECHTIGT",
            Self::Admin => "ADMIN",
            Self::Betrieb => "BETRIEB",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Sachbearbeitung => "Sachbearbeiter:in",
            Self::Poststelle => "Poststelle",
            Self::Loeschberechtigt => "Löschberechtigte:r",
            Self::Admin => "Mandanten-Admin",
            Self::Betrieb => "Plattformbetrieb",
        }
    }
}

/// Sorted, without duplicates: the stored form of a user's roles.
pub fn normalize_roles(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort();
    roles.dedup();
    roles
}

/// `"SACHBEARBEITUNG,ADMIN"` ↔ roles; unknown names are dropped.
pub fn roles_to_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

pub fn roles_from_text(text: &str) -> Vec<Role> {
    normalize_roles(text.split(',').filter_map(Role::parse).collect())
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

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 256;

/// Length over composition (BSI IT-Grundschutz ORP.4): at least 12 characters, not the
/// login name, not one repeated character, not a well-known password.
pub fn check_password(password: &str, username: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err("Das Passwort muss mindestens 12 Zeichen lang sein.");
    }
    if n > MAX_PASSWORD_LEN {
        return Err("Das Passwort darf höchstens 256 Zeichen lang sein.");
    }
    let lower = password.to_lowercase();
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err("Das Passwort darf den Benutzernamen nicht enthalten.");
    }
    let mut chars = lower.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err("Das Passwort darf nicht aus einem einzigen wiederholten Zeichen bestehen.");
    }
    let letters: Vec<char> = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let all: Vec<char> = lower.chars().collect();
    // Separators ("sommer-sommer", "qwertz 1234") do not make a pattern stronger.
    let candidates = [all.as_slice(), letters.as_slice()];
    let candidates = candidates.iter().filter(|c| c.len() >= MIN_PATTERN_LEN);
    if candidates.clone().any(|c| is_keyboard_walk(c)) {
        return Err("Das Passwort darf nicht nur aus Tastaturreihen oder Zeichenfolgen wie „qwertz“, „asdf“ oder „1234“ bestehen.");
    }
    if candidates.clone().any(|c| is_repetition(c)) {
        return Err("Das Passwort darf nicht aus einem wiederholten Wort bestehen (wie „passwortpasswort“).");
    }
    const COMMON: [&str; 8] = [
        "passwort1234",
        "password1234",
        "123456789012",
        "qwertzuiopü+",
        "qwertyuiop12",
        "hallo1234567",
        "sommer2026!!",
        "willkommen12",
    ];
    if COMMON.iter().any(|c| lower.starts_with(c)) {
        return Err("Dieses Passwort ist zu bekannt; bitte ein anderes wählen.");
    }
    Ok(())
}

/// Patterns are looked for in the password and in its letters and digits alone, when those
/// are at least this many.
const MIN_PATTERN_LEN: usize = 6;

/// Rows of German and US keyboards, the digits and the alphabet: walked along in either
/// direction they are among the first guesses.
const KEYBOARD_ROWS: [&str; 10] = [
    "^1234567890ß´",
    "0123456789",
    "qwertzuiopü+",
    "asdfghjklöä#",
    "<yxcvbnm,.-",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "abcdefghijklmnopqrstuvwxyz",
    "!\"§$%&/()=?`",
];

/// Which ways `b` follows `a` on a keyboard row: bit 1 forwards, bit 2 backwards.
fn keyboard_step(a: char, b: char) -> u8 {
    let mut ways = 0;
    for row in KEYBOARD_ROWS {
        let row: Vec<char> = row.chars().collect();
        if let (Some(i), Some(j)) = (row.iter().position(|&c| c == a), row.iter().position(|&c| c == b)) {
            if j == i + 1 {
                ways |= 1;
            } else if i == j + 1 {
                ways |= 2;
            }
        }
    }
    ways
}

/// Whether every character belongs to a run of at least three keys walked along one row in
/// one direction ("qwertz", "asdf1234", "987654321", "ztrewq" …).
fn is_keyboard_walk(chars: &[char]) -> bool {
    let steps: Vec<u8> = chars.windows(2).map(|w| keyboard_step(w[0], w[1])).collect();
    let mut covered = vec![false; chars.len()];
    let mut start = 0;
    while start < steps.len() {
        let mut ways = steps[start];
        let mut end = start;
        while ways != 0 && end + 1 < steps.len() && ways & steps[end + 1] != 0 {
            ways &= steps[end + 1];
            end += 1;
        }
        // Steps start..=end link the characters start..=end + 1.
        if ways != 0 && end > start {
            covered[start..=end + 1].iter_mut().for_each(|c| *c = true);
        }
        start = end + 1;
    }
    covered.iter().all(|&c| c)
}

/// Whether the characters are one shorter piece over and over ("passwortpasswort",
/// "abcabcabca"): they repeat with a period of at most half their length.
fn is_repetition(chars: &[char]) -> bool {
    (1..=chars.len() / 2).any(|period| (period..chars.len()).all(|i| chars[i] == chars[i - period]))
}

/// After this many failed logins in a row an account is locked for [`LOCK_DURATION`].
pub const MAX_FAILED_LOGINS: u32 = 5;
pub const LOCK_DURATION: Duration = Duration::minutes(15);

/// The state after one more failed login: the new failure count and, when the limit is
/// reached, until when the account is locked (the count starts again after the lock).
pub fn after_failed_login(failed_before: u32, now: OffsetDateTime) -> (u32, Option<OffsetDateTime>) {
    let failed = failed_before.saturating_add(1);
    if failed >= MAX_FAILED_LOGINS {
        (0, Some(now + LOCK_DURATION))
    } else {
        (failed, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert!(check_password("kurz", "max").is_err());
        assert!(check_password("max-ist-der-beste", "max").is_err());
        assert!(check_password("aaaaaaaaaaaaaaa", "erika").is_err());
        assert!(check_password("Passwort12345", "erika").is_err());
        assert!(check_password("Ein langer Satz 2026", "max").is_ok());
    }

    #[test]
    fn keyboard_rows_are_refused() {
        let refused = "Das Passwort darf nicht nur aus Tastaturreihen oder Zeichenfolgen wie „qwertz“, „asdf“ oder „1234“ bestehen.";
        for weak in [
            "qwertzuiopü+",
            "QWERTZUIOPÜ+",
            "qwertyuiop[]",
            "asdfghjklöä#",
            "asdf1234qwer",
            "1234567890ß´",
            "12345678901234",
            "´ß0987654321",
            "ztrewqasdfgh",
            "qwertz-123456",
            "yxcvbnm 54321",
            "abcdefghijkl",
            "!\"§$%&/()=?`",
            "123454321234",
        ] {
            assert_eq!(check_password(weak, "max"), Err(refused), "{weak}");
        }
    }

    #[test]
    fn repeated_words_are_refused() {
        let refused = "Das Passwort darf nicht aus einem wiederholten Wort bestehen (wie „passwortpasswort“).";
        for weak in ["passwortpasswort", "Sommer-Sommer-Sommer", "hallo hallo hallo", "abcxabcxabcx", "blumeblumeblu"] {
            assert_eq!(check_password(weak, "max"), Err(refused), "{weak}");
        }
        assert_eq!(
            check_password("............", "max"),
            Err("Das Passwort darf nicht aus einem einzigen wiederholten Zeichen bestehen.")
        );
    }

    #[test]
    fn ordinary_passphrases_pass() {
        for good in [
            "Ein langer Satz 2026",
            "test-passwort-123",
            "Demo-Passwort-2026",
            "E2e-Verwaltung-Kennwort-2026",
            "Musterstadt-Rathaus-2026",
            "Erstes-Passwort-2026",
            "bench-passwort-123",
            "Tastatur qwertz ist deutsch",
            "Rosen 1234 mal blühen",
            "Wer? Wir! Was? Das!",
        ] {
            assert_eq!(check_password(good, "max"), Ok(()), "{good}");
        }
    }

    #[test]
    fn lockout_after_five() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(after_failed_login(0, now), (1, None));
        assert_eq!(after_failed_login(3, now), (4, None));
        assert_eq!(after_failed_login(4, now), (0, Some(now + LOCK_DURATION)));
    }

    #[test]
    fn roles_text_round_trip() {
        let roles = vec![Role::Admin, Role::Sachbearbeitung, Role::Admin];
        assert_eq!(roles_to_text(&normalize_roles(roles.clone())), "SACHBEARBEITUNG,ADMIN");
        assert_eq!(roles_from_text("ADMIN,SACHBEARBEITUNG,unbekannt"), vec![Role::Sachbearbeitung, Role::Admin]);
    }
}
