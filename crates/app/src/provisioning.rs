//! Setting up a new tenant with its first administrator: shared by the operator's web page and
//! the CLI (`ozgcloud tenant create`), so both apply the same rules.

use crate::error::Error;
use domain::tenant::{normalize_host, slug_from_name};
use domain::{Role, TenantId, TenantKind, UserId, Username};
use rand::RngCore;
use store::{NewTenant, NewUser, StorageError, Store, TenantRecord};

/// What the operator asks for.
#[derive(Debug, Clone)]
pub struct TenantRequest {
    pub name: String,
    pub kind: TenantKind,
    /// Defaults to the slug of the name.
    pub id: Option<TenantId>,
    pub host: Option<String>,
    pub admin_email: String,
    /// Defaults to `admin`.
    pub admin_username: Option<String>,
}

/// The new tenant and how its first administrator signs in. The password exists only here:
/// show it once, store it nowhere.
#[derive(Debug, Clone)]
pub struct Provisioned {
    pub tenant: TenantRecord,
    pub admin_username: String,
    pub one_time_password: String,
}

pub const DEFAULT_ADMIN_USERNAME: &str = "admin";
const ONE_TIME_PASSWORD_LEN: usize = 20;
const MAX_NAME_LEN: usize = 200;
const MAX_EMAIL_LEN: usize = 254;

/// A request that passed every check that needs no store.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Validated {
    id: TenantId,
    name: String,
    kind: TenantKind,
    host: Option<String>,
    admin_email: String,
    admin_username: String,
}

fn validate(req: &TenantRequest) -> Result<Validated, Error> {
    let name = parse_name(&req.name, "name", "Der Name des Mandanten")?;
    if req.kind == TenantKind::Plattform {
        return Err(Error::invalid(
            "kind",
            "Art: Die Plattform gibt es nur einmal; bitte wählen Sie eine andere Art des Mandanten.",
        ));
    }
    let id = match &req.id {
        Some(id) if id.is_platform() => {
            return Err(Error::invalid("id", "Kennung: „plattform“ ist der Installation vorbehalten."))
        }
        Some(id) => id.clone(),
        None => slug_from_name(&name).ok_or_else(|| {
            Error::invalid(
                "id",
                "Kennung: Aus dem Namen lässt sich keine Kennung bilden; bitte geben Sie eine an \
                 (Kleinbuchstaben, Ziffern und Bindestriche).",
            )
        })?,
    };
    let host = match req.host.as_deref().map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => Some(parse_host(h)?),
        None => None,
    };
    let admin_email = parse_email(&req.admin_email, "admin_email")?
        .ok_or_else(|| Error::invalid("admin_email", "E-Mail der Administration: Bitte angeben."))?;
    let admin_username = match req.admin_username.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Username::parse(u).ok_or_else(|| {
            Error::invalid(
                "admin_username",
                "Benutzername der Administration: 2 bis 64 Zeichen aus Buchstaben, Ziffern und . _ - @.",
            )
        })?,
        None => Username::parse(DEFAULT_ADMIN_USERNAME)
            .ok_or_else(|| Error::Internal("default admin username invalid".into()))?,
    };
    Ok(Validated { id, name, kind: req.kind, host, admin_email, admin_username: admin_username.as_str().to_owned() })
}

/// Creates the tenant and its first administrator (role Admin, a random one-time password).
///
/// The store has no transaction spanning both, so everything that can fail is checked or
/// computed before the tenant is written; only a storage failure between the two writes can
/// leave a tenant without administrator (then create one with the CLI).
pub async fn provision_tenant(store: &dyn Store, req: TenantRequest) -> Result<Provisioned, Error> {
    let v = validate(&req)?;
    let one_time_password = one_time_password(&v.admin_username);
    let password_hash = hash_password_blocking(one_time_password.clone()).await?;
    let tenant = store
        .installation()
        .create_tenant(NewTenant { id: v.id.clone(), name: v.name.clone(), kind: v.kind, host: v.host.clone() })
        .await
        .map_err(|e| match e {
            StorageError::Duplicate("host") => Error::invalid(
                "host",
                format!(
                    "Hostname: „{}“ ist bereits einem anderen Mandanten zugeordnet.",
                    v.host.as_deref().unwrap_or("")
                ),
            ),
            StorageError::Duplicate(_) => {
                Error::invalid("id", format!("Kennung: Einen Mandanten „{}“ gibt es bereits.", v.id))
            }
            other => other.into(),
        })?;
    let admin = store
        .tenant(&tenant.id)
        .create_user(NewUser {
            id: UserId::new(),
            username: v.admin_username.clone(),
            display_name: "Administration".to_owned(),
            email: Some(v.admin_email),
            roles: vec![Role::Admin],
            units: Vec::new(),
            password_hash,
            oidc_subject: None,
        })
        .await?;
    store.tenant(&tenant.id).require_password_change(admin.id).await?;
    Ok(Provisioned { tenant, admin_username: v.admin_username, one_time_password })
}

/// A display name (tenant, user, unit): trimmed, not empty, no control characters.
pub fn parse_name(s: &str, field: &str, what: &str) -> Result<String, Error> {
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::invalid(field, format!("{what}: Bitte angeben.")));
    }
    if t.chars().count() > MAX_NAME_LEN {
        return Err(Error::invalid(field, format!("{what}: höchstens {MAX_NAME_LEN} Zeichen.")));
    }
    if t.chars().any(char::is_control) {
        return Err(Error::invalid(field, format!("{what}: enthält unzulässige Steuerzeichen.")));
    }
    Ok(t.to_owned())
}

/// An optional e-mail address: `None` when empty. Only the shape is checked; whether it
/// reaches anybody only sending could tell.
pub fn parse_email(s: &str, field: &str) -> Result<Option<String>, Error> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let well_formed = t.len() <= MAX_EMAIL_LEN
        && !t.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        && t.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !well_formed {
        return Err(Error::invalid(field, format!("E-Mail: „{t}“ ist keine gültige E-Mail-Adresse.")));
    }
    Ok(Some(t.to_owned()))
}

/// A host name as tenants are addressed by it.
pub fn parse_host(s: &str) -> Result<String, Error> {
    normalize_host(s)
        .ok_or_else(|| Error::invalid("host", format!("Hostname: „{}“ ist kein gültiger Hostname.", s.trim())))
}

/// A random password of URL-safe characters (about 120 bits), which also satisfies the
/// password rules, so it can be typed or pasted without surprises.
pub fn one_time_password(username: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    loop {
        let mut bytes = [0u8; ONE_TIME_PASSWORD_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        // 64 divides 256: masking keeps every character equally likely.
        let pw: String = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 63)])).collect();
        if domain::user::check_password(&pw, username).is_ok() {
            return pw;
        }
    }
}

pub use crate::passwords::hash_password_blocking;

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> TenantRequest {
        TenantRequest {
            name: "  Stadt Süderbrück ".into(),
            kind: TenantKind::Stadt,
            id: None,
            host: None,
            admin_email: "it@suederbrueck.example".into(),
            admin_username: None,
        }
    }

    fn field(e: Error) -> Option<String> {
        match e {
            Error::Invalid { field, .. } => field,
            _ => None,
        }
    }

    #[test]
    fn defaults_from_name() {
        let v = validate(&request()).expect("valid");
        assert_eq!(v.id.as_str(), "stadt-suederbrueck");
        assert_eq!(v.name, "Stadt Süderbrück");
        assert_eq!(v.admin_username, "admin");
        assert_eq!(v.host, None);
    }

    #[test]
    fn explicit_values_are_normalized() {
        let req = TenantRequest {
            id: TenantId::parse("sb"),
            host: Some("SB.OZG.example:443".into()),
            admin_username: Some(" IT-Admin ".into()),
            ..request()
        };
        let v = validate(&req).expect("valid");
        assert_eq!(v.id.as_str(), "sb");
        assert_eq!(v.host.as_deref(), Some("sb.ozg.example"));
        assert_eq!(v.admin_username, "it-admin");
    }

    #[test]
    fn rejections_name_the_field() {
        let cases = [
            (TenantRequest { name: "  ".into(), ..request() }, "name"),
            (TenantRequest { kind: TenantKind::Plattform, ..request() }, "kind"),
            (TenantRequest { name: "!!!".into(), ..request() }, "id"),
            (TenantRequest { id: Some(TenantId::platform()), ..request() }, "id"),
            (TenantRequest { host: Some("kein host".into()), ..request() }, "host"),
            (TenantRequest { admin_email: "".into(), ..request() }, "admin_email"),
            (TenantRequest { admin_email: "it@".into(), ..request() }, "admin_email"),
            (TenantRequest { admin_username: Some("a b".into()), ..request() }, "admin_username"),
        ];
        for (req, expected) in cases {
            let e = validate(&req).expect_err(expected);
            assert_eq!(field(e).as_deref(), Some(expected));
        }
    }

    #[test]
    fn emails() {
        assert_eq!(parse_email("", "email").expect("empty is fine"), None);
        assert_eq!(parse_email(" a.b@amt.example ", "email").expect("valid").as_deref(), Some("a.b@amt.example"));
        for bad in ["a", "a@b", "@amt.example", "a@@amt.example", "a b@amt.example", "a@amt.example.", "<a@b.de>"] {
            assert!(parse_email(bad, "email").is_err(), "{bad}");
        }
    }

    #[test]
    fn one_time_passwords() {
        let a = one_time_password("admin");
        assert_eq!(a.len(), ONE_TIME_PASSWORD_LEN);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(domain::user::check_password(&a, "admin").is_ok());
        assert_ne!(a, one_time_password("admin"));
    }
}
