//! The application layer of ozgcloud: what the platform does on its own, outside a clerk's
//! request. It knows neither HTTP (axum) nor SQL: it works through the storage contract
//! (`store`), the document store (`documents`) and intake, and takes its rules from `domain`.
//!
//! - [`commands`]: the clerk's commands on a Vorgang (UI and API call the same ones).
//! - [`provisioning`]: a new tenant with its first administrator (operator page and CLI).
//! - [`users`]: the tenant admin's rules for users (roles, own account, platform roles).
//! - [`passwords`]: argon2id hashing, password rules, secret tokens.
//! - [`links`]: links into the installation without a request (jobs, mails, PDFs).
//! - [`jobs`]: the durable job runner — every effect outside a request is a job of it.
//! - [`work`]: the kinds of work the platform runs today (blob deletion, intake recovery,
//!   session and job sweeps, search backfill, the operator's probe).
//! - [`events`]: per-consumer cursors over a tenant's event log.

pub mod caller;
pub mod commands;
pub mod error;
pub mod events;
pub mod jobs;
pub mod links;
pub mod passwords;
pub mod provisioning;
pub mod users;
pub mod work;

pub use caller::Caller;
pub use error::{Error, Result};
pub use jobs::{JobHandler, Jobs, Runner, RunnerConfig, RunnerHandle};

use documents::BlobStore;
use std::sync::Arc;
use store::Store;

/// What the application's operations work with: the store, the document store and the job
/// queue. Cheap to clone; the web layer holds one, the binary and the jobs too.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
    pub jobs: Jobs,
}

impl App {
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>) -> Self {
        let jobs = Jobs::new(store.clone());
        Self { store, blobs, jobs }
    }

    /// The handle on the caller's tenant: everything a command reads or writes for a caller
    /// goes through it, so no command can reach another tenant's rows.
    pub fn tenant_of(&self, caller: &Caller) -> Box<dyn store::TenantScope + '_> {
        self.store.tenant(&caller.tenant)
    }
}
