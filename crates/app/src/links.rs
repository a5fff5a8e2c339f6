//! Links into the installation, computed from configuration alone — no request needed — so a
//! background job (a mail, a PDF, a webhook payload) links to the same places a page does.
//! The web layer uses the same rule for its tenant prefixes.

use store::TenantRecord;

/// How tenants are addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantRouting {
    /// `/t/{tenant}/…`; requests without a prefix go to the default tenant.
    Path,
    /// By the `Host` header; unknown hosts go to the default tenant.
    Host,
}

/// Where the installation is reached and how its tenants are addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// The public URL without trailing slash, e.g. `https://ozg.example`.
    pub public_url: String,
    pub routing: TenantRouting,
}

impl Links {
    pub fn new(public_url: &str, routing: TenantRouting) -> Self {
        Self { public_url: public_url.trim_end_matches('/').to_owned(), routing }
    }

    /// The path prefix of a tenant's pages when it is addressed by path (`/t/{tenant}`).
    pub fn path_prefix(tenant: &domain::TenantId) -> String {
        format!("/t/{tenant}")
    }

    /// The absolute URL of `path` (starting with `/`) in `tenant`, or `None` when the tenant
    /// cannot be reached yet (host routing without a host name).
    pub fn absolute(&self, tenant: &TenantRecord, path: &str) -> Option<String> {
        match self.routing {
            TenantRouting::Path => Some(format!("{}{}{path}", self.public_url, Self::path_prefix(&tenant.id))),
            TenantRouting::Host => tenant.host.as_ref().map(|h| format!("https://{h}{path}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{TenantId, TenantKind};

    fn tenant(host: Option<&str>) -> TenantRecord {
        TenantRecord {
            id: TenantId::parse("kiel").expect("slug"),
            name: "Stadt Kiel".into(),
            kind: TenantKind::Stadt,
            host: host.map(str::to_owned),
            ip_allowlist: Vec::new(),
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn links_without_a_request() {
        let path = Links::new("https://ozg.example/", TenantRouting::Path);
        assert_eq!(path.absolute(&tenant(None), "/login").as_deref(), Some("https://ozg.example/t/kiel/login"));
        let host = Links::new("https://ozg.example", TenantRouting::Host);
        assert_eq!(
            host.absolute(&tenant(Some("kiel.ozg.example")), "/vorgaenge/1").as_deref(),
            Some("https://kiel.ozg.example/vorgaenge/1")
        );
        assert_eq!(host.absolute(&tenant(None), "/login"), None);
    }
}
