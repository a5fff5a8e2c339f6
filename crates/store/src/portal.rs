//! Sessions of people who are not clerks (the applicant in the Antragsraum, later others),
//! kept apart from the clerks' sessions: a portal session is never found as a clerk session
//! and carries no user account, roles or units — only who it is (`subject`) for which tenant.
//! Liveness is the same rule as for clerks (`domain::session`).

use crate::Result;
use async_trait::async_trait;
use domain::session::PortalKind;
use domain::TenantId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPortalSession {
    /// SHA-256 of the cookie token.
    pub token_hash: String,
    pub kind: PortalKind,
    /// Who it is, as the kind names people (e.g. the applicant's Postfach identifier).
    pub subject: String,
    pub csrf_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub idle_timeout_secs: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub absolute_expiry: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSessionRecord {
    pub tenant: TenantId,
    pub kind: PortalKind,
    pub subject: String,
    pub csrf_token: String,
}

#[async_trait]
pub trait PortalSessionStore: Send + Sync {
    async fn create_portal_session(&self, session: NewPortalSession) -> Result<()>;
    /// Ends every session of `subject` in the tenant (e.g. after the applicant's access was
    /// withdrawn); returns how many. (Finding and ending one session by its token hash is
    /// installation-wide: [`crate::Installation`].)
    async fn delete_portal_sessions_of(&self, subject: &str) -> Result<u64>;
}
