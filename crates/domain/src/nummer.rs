use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::Date;

/// Upper-case letters and digits without the look-alikes 0/O and 1/I/L, so a number read
/// from paper or over the phone is typed correctly.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const RANDOM_LEN: usize = 6;

/// Human-readable case number such as `31005-FFBZK6`: last digit of the year, month and
/// day of the Eingang, a dash and six random characters. Unique per tenant; the store
/// enforces it and the caller draws again on a collision.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Vorgangsnummer(String);

impl Vorgangsnummer {
    pub fn generate(date: Date, rng: &mut impl Rng) -> Self {
        let mut s = format!("{}{:02}{:02}-", date.year().rem_euclid(10), u8::from(date.month()), date.day());
        for _ in 0..RANDOM_LEN {
            s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
        }
        Self(s)
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_uppercase();
        let (date, rest) = s.split_once('-')?;
        let ok = date.len() == 5
            && date.bytes().all(|b| b.is_ascii_digit())
            && rest.len() == RANDOM_LEN
            && rest.bytes().all(|b| ALPHABET.contains(&b));
        ok.then_some(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Vorgangsnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn format_matches_ozg_cloud_style() {
        let n = Vorgangsnummer::generate(date!(2023 - 10 - 05), &mut rand::thread_rng());
        assert!(n.as_str().starts_with("31005-"), "{n}");
        assert_eq!(n.as_str().len(), 12);
        assert_eq!(Vorgangsnummer::parse(n.as_str()), Some(n.clone()));
        assert_eq!(Vorgangsnummer::parse(&n.as_str().to_lowercase()), Some(n));
    }

    #[test]
    fn rejects_look_alikes() {
        assert!(Vorgangsnummer::parse("31005-FFBZK6").is_some());
        assert!(Vorgangsnummer::parse("31005-FF0ZK6").is_none());
        assert!(Vorgangsnummer::parse("3105-FFBZK6").is_none());
    }
}
