//! A tenant's users, their clerk sessions and API tokens (finding a session or token by its
//! hash is installation-wide: [`crate::Installation`]).

use crate::*;
use async_trait::async_trait;
use domain::{ApiTokenId, UserId};

#[async_trait]
pub trait UserStore: Send + Sync {
    // --- users and sessions ---
    async fn create_user(&self, user: NewUser) -> Result<UserRecord>;
    async fn find_user_by_username(&self, username: &str) -> Result<Option<UserRecord>>;
    async fn get_user(&self, id: UserId) -> Result<UserRecord>;
    async fn list_users(&self) -> Result<Vec<UserRecord>>;
    async fn count_users(&self) -> Result<u64>;
    async fn find_user_by_oidc_subject(&self, subject: &str) -> Result<Option<UserRecord>>;
    /// Links an OIDC identity; `Duplicate("oidc_subject")` if another user of the tenant has it.
    async fn link_oidc_subject(&self, id: UserId, subject: &str) -> Result<()>;
    /// Changes name, e-mail, roles, units, disabled flag; a disabled user's sessions end.
    async fn update_user(&self, id: UserId, update: UserUpdate) -> Result<UserRecord>;
    /// Sets the password hash, clears lockout and `password_change_required`, and ends all of
    /// the user's sessions.
    async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()>;
    /// Marks the user's password as a one-time password (set by an admin): it must be
    /// changed at the next login. NotFound if the tenant has no such user.
    async fn require_password_change(&self, id: UserId) -> Result<()>;
    /// Counts a failed login atomically (concurrent failures all count) and locks the account
    /// when [`domain::user::MAX_FAILED_LOGINS`] is reached (see `domain::user::after_failed_login`).
    async fn record_login_failure(&self, id: UserId, now: time::OffsetDateTime) -> Result<UserRecord>;
    /// A successful login: the failure count and lock are cleared.
    async fn record_login_success(&self, id: UserId) -> Result<()>;
    async fn create_session(&self, session: NewSession) -> Result<()>;
    // --- API tokens ---
    async fn create_api_token(&self, token: NewApiToken) -> Result<ApiTokenRecord>;
    async fn list_api_tokens(&self) -> Result<Vec<ApiTokenRecord>>;
    /// Idempotent; NotFound if the tenant has no such token.
    async fn revoke_api_token(&self, id: ApiTokenId, now: time::OffsetDateTime) -> Result<()>;
}
