//! Whoever calls, person or machine: what commands, reads and the audit log need. The web
//! layer builds it from a session or an API token; the CLI and jobs build their own.

use domain::{Principal, TenantId, UserId, Visibility};

#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    pub principal: Principal,
    pub actor: store::Actor,
    /// The person behind it; `None` for a machine (API token).
    pub user: Option<UserId>,
}

impl Caller {
    pub fn visibility(&self) -> Visibility {
        self.principal.visibility()
    }
}
