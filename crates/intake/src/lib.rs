//! Every way an Antrag comes in, turned into a Vorgang.
//!
//! The order is what makes intake lossless: the raw request is written to the document store
//! and recorded as a delivery *before* anything is parsed. Parsing failures quarantine the
//! delivery (visible to admins, re-processable); success creates the Vorgang idempotently on
//! the form service's transaction id. No HTTP framework types cross this crate's edge.

mod files;
mod multipart;
mod service;

pub use files::{sanitize_filename, IncomingFile};
pub use service::{Busy, Intake, IntakeError, Limits, Payload, Receipt, Reservation, Sender, MEMORY_FACTOR};
