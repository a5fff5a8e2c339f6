//! Users, their clerk sessions and API tokens.

use crate::*;
use async_trait::async_trait;
use domain::{ApiTokenId, TenantId, UserId};

#[async_trait]
pub trait UserStore: Send + Sync {
    // --- users and sessions ---
    async fn create_user(&self, user: NewUser) -> Result<UserRecord>;
    async fn find_user_by_username(&self, tenant: &TenantId, username: &str) -> Result<Option<UserRecord>>;
    async fn get_user(&self, tenant: &TenantId, id: UserId) -> Result<UserRecord>;
    async fn list_users(&self, tenant: &TenantId) -> Result<Vec<UserRecord>>;
    async fn count_users(&self, tenant: &TenantId) -> Result<u64>;
    async fn find_user_by_oidc_subject(&self, tenant: &TenantId, subject: &str) -> Result<Option<UserRecord>>;
    /// Links an OIDC identity; `Duplicate("oidc_subject")` if another user of the tenant has it.
    async fn link_oidc_subject(&self, tenant: &TenantId, id: UserId, subject: &str) -> Result<()>;
    /// Changes name, e-mail, roles, units, disabled flag; a disabled user's sessions end.
    async fn update_user(&self, tenant: &TenantId, id: UserId, update: UserUpdate) -> Result<UserRecord>;
    /// Sets the password hash, clears lockout and `password_change_required`, and ends all of
    /// the user's sessions.
    async fn set_password(&self, tenant: &TenantId, id: UserId, password_hash: &str) -> Result<()>;
    /// Marks the user's password as a one-time password (set by an admin): it must be
    /// changed at the next login. NotFound if the tenant has no such user.
    async fn require_password_change(&self, tenant: &TenantId, id: UserId) -> Result<()>;
    /// Counts a failed login atomically (concurrent failures all count) and locks the account
    /// when [`domain::user::MAX_FAILED_LOGINS`] is reached (see `domain::user::after_failed_login`).
    async fn record_login_failure(
        &self,
        tenant: &TenantId,
        id: UserId,
        now: time::OffsetDateTime,
    ) -> Result<UserRecord>;
    /// A successful login: the failure count and lock are cleared.
    async fn record_login_success(&self, tenant: &TenantId, id: UserId) -> Result<()>;
    async fn create_session(&self, session: NewSession) -> Result<()>;
    /// The live session with this token hash, touched (idle timeout restarts); expired ones are gone.
    async fn get_session(&self, token_hash: &str, now: time::OffsetDateTime) -> Result<Option<SessionRecord>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Removes sessions past their idle or absolute expiry, clerks' and portal sessions (all
    /// tenants); returns how many.
    async fn delete_expired_sessions(&self, now: time::OffsetDateTime) -> Result<u64>;
    // --- API tokens ---
    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiTokenRecord>;
    async fn list_api_tokens(&self, tenant: &TenantId) -> Result<Vec<ApiTokenRecord>>;
    /// Idempotent; NotFound if the tenant has no such token.
    async fn revoke_api_token(&self, tenant: &TenantId, id: ApiTokenId, now: time::OffsetDateTime) -> Result<()>;
    /// The live (not revoked) token with this hash, any tenant; records `now` as last use.
    async fn find_api_token(&self, token_hash: &str, now: time::OffsetDateTime) -> Result<Option<ApiTokenRecord>>;
}
