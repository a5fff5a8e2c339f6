//! The application layer of ozgcloud: what the platform does on its own, outside a clerk's
//! request. It knows neither HTTP (axum) nor SQL: it works through the storage contract
//! (`store`), the document store (`documents`) and intake, and takes its rules from `domain`.
//!
//! - [`jobs`]: the durable job runner — every effect outside a request is a job of it.
//! - [`work`]: the kinds of work the platform runs today (blob deletion, intake recovery,
//!   session and job sweeps, search backfill, the operator's probe).
//! - [`events`]: per-consumer cursors over a tenant's event log.

pub mod events;
pub mod jobs;
pub mod work;

pub use jobs::{JobHandler, Jobs, Runner, RunnerConfig, RunnerHandle};
