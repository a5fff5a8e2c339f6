//! Tenants (Mandanten), their Organisationseinheiten and the per-tenant IP allowlist.

use crate::ids::TenantId;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantKind {
    Stadt,
    Gemeinde,
    Amt,
    Landkreis,
    Ministerium,
    /// The installation itself (operators, undeliverable Eingänge); exactly one.
    Plattform,
}

impl TenantKind {
    pub const ALL: [TenantKind; 6] =
        [Self::Stadt, Self::Gemeinde, Self::Amt, Self::Landkreis, Self::Ministerium, Self::Plattform];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stadt => "STADT",
            Self::Gemeinde => "GEMEINDE",
            Self::Amt => "AMT",
            Self::Landkreis => "LANDKREIS",
            Self::Ministerium => "MINISTERIUM",
            Self::Plattform => "PLATTFORM",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Stadt => "Stadt",
            Self::Gemeinde => "Gemeinde",
            Self::Amt => "Amt",
            Self::Landkreis => "Landkreis",
            Self::Ministerium => "Ministerium",
            Self::Plattform => "Plattform",
        }
    }
}

/// A slug for a tenant's name: `Stadt Musterstadt` → `stadt-musterstadt`, umlauts spelled out.
pub fn slug_from_name(name: &str) -> Option<TenantId> {
    let mut slug = String::new();
    for c in name.trim().to_lowercase().chars() {
        match c {
            'ä' => slug.push_str("ae"),
            'ö' => slug.push_str("oe"),
            'ü' => slug.push_str("ue"),
            'ß' => slug.push_str("ss"),
            c if c.is_ascii_alphanumeric() => slug.push(c),
            _ if !slug.ends_with('-') && !slug.is_empty() => slug.push('-'),
            _ => {}
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug: String = slug.chars().take(63).collect();
    TenantId::parse(slug.trim_end_matches('-')).filter(|t| !t.is_platform())
}

/// Host names as tenants are addressed: lower case, no port, no trailing dot.
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let host = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default().to_owned()
    } else if host.matches(':').count() == 1 {
        host.split(':').next().unwrap_or_default().to_owned()
    } else {
        host
    };
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':'));
    ok.then_some(host)
}

/// An Organisationseinheit's `kennung` is what form services send as `zustaendigeStelle`;
/// it is unique in the whole installation, so intake can route by it alone.
pub fn parse_kennung(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty() && t.len() <= 100 && !t.chars().any(|c| c.is_control() || c.is_whitespace())).then(|| t.to_owned())
}

/// One allowed network, `10.0.0.0/8`, `2001:db8::/32` or a single address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The networks clerks of a tenant may work from. Empty = no restriction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowlist(Vec<IpNet>);

impl IpAllowlist {
    /// One network per line or comma-separated; the first bad entry is named in the error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in text.split([',', '\n', ';']).map(str::trim).filter(|e| !e.is_empty()) {
            nets.push(IpNet::parse(entry).ok_or_else(|| format!("„{entry}“ ist keine IP-Adresse oder kein Netz"))?);
        }
        Ok(Self(nets))
    }

    pub fn from_entries(entries: &[String]) -> Self {
        Self(entries.iter().filter_map(|e| IpNet::parse(e)).collect())
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        self.0.is_empty() || self.0.iter().any(|n| n.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug_from_name("Stadt Musterstadt").map(|t| t.to_string()), Some("stadt-musterstadt".into()));
        assert_eq!(
            slug_from_name("Amt Süderbrarup – Kämmerei").map(|t| t.to_string()),
            Some("amt-suederbrarup-kaemmerei".into())
        );
        assert_eq!(slug_from_name("  !!  "), None);
        assert_eq!(slug_from_name("Plattform"), None);
    }

    #[test]
    fn hosts() {
        assert_eq!(normalize_host("Kiel.OZG.example:8443").as_deref(), Some("kiel.ozg.example"));
        assert_eq!(normalize_host("a.example.").as_deref(), Some("a.example"));
        assert_eq!(normalize_host("bad host"), None);
    }

    #[test]
    fn allowlist() {
        let list = IpAllowlist::parse("10.1.0.0/16, 192.168.5.7\n2001:db8::/32").expect("valid");
        assert!(list.allows("10.1.200.3".parse().expect("ip")));
        assert!(!list.allows("10.2.0.1".parse().expect("ip")));
        assert!(list.allows("192.168.5.7".parse().expect("ip")));
        assert!(list.allows("::ffff:10.1.0.9".parse().expect("ip")));
        assert!(list.allows("2001:db8:1::1".parse().expect("ip")));
        assert!(!list.allows("2001:db9::1".parse().expect("ip")));
        assert!(IpAllowlist::default().allows("8.8.8.8".parse().expect("ip")));
        assert!(IpAllowlist::parse("10.0.0.0/33").is_err());
        assert!(IpNet::parse("0.0.0.0/0").is_some_and(|n| n.contains("1.2.3.4".parse().expect("ip"))));
    }
}
