//! One integration-test binary (each extra tests/*.rs is another slow link): the real
//! server on a random port, a temp data dir, real SQLite and real HTTP.

mod authorization;
mod documents;
mod helpers;
mod intake;
mod jobs;
mod notes;
mod oidc;
mod processes;
mod search;
mod security;
mod status;
mod tenants;
mod transfer;
mod ui;
mod worklist;
