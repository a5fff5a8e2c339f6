//! Records of the storage contract: Tenants, units, API tokens, audit log.

use super::*;
use domain::{ApiTokenId, TenantId, TenantKind, TokenScope, UnitId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTenant {
    pub id: TenantId,
    pub name: String,
    pub kind: TenantKind,
    /// Host name the tenant is reached at (host routing); unique in the installation.
    pub host: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub id: TenantId,
    pub name: String,
    pub kind: TenantKind,
    pub host: Option<String>,
    /// Networks clerks may work from (CIDR notation); empty = anywhere.
    pub ip_allowlist: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What a tenant admin (name, allowlist) or operator (host) changes on a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSettings {
    pub name: String,
    pub host: Option<String>,
    pub ip_allowlist: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUnit {
    pub id: UnitId,
    pub name: String,
    /// The id form services send as `zustaendigeStelle`; unique in the installation.
    pub kennung: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRecord {
    pub id: UnitId,
    pub tenant: TenantId,
    pub name: String,
    pub kennung: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiToken {
    pub id: ApiTokenId,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    /// SHA-256 of the token; the token itself is shown once and never stored.
    pub token_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiTokenRecord {
    pub id: ApiTokenId,
    pub tenant: TenantId,
    pub name: String,
    pub scopes: Vec<TokenScope>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiTokenRecord {
    pub fn principal(&self) -> domain::Principal {
        domain::Principal::Token { scopes: self.scopes.clone() }
    }
}

/// One entry of a tenant's audit log: logins, failed logins, admin actions, reads of personal
/// data. `detail` never holds secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAuditEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Actor,
    /// `anmeldung`, `anmeldung_fehlgeschlagen`, `benutzer_angelegt`, `vorgang_gelesen`, …
    pub action: String,
    /// What it concerned (a user id, a Vorgang id, a token id …).
    pub target: Option<String>,
    pub detail: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the installation's audit log; strictly increasing.
    pub seq: i64,
    pub entry: NewAuditEntry,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Newest first, entries with `seq < before` (None = from the newest).
    pub before: Option<i64>,
    pub action: Option<String>,
    pub limit: u32,
}
