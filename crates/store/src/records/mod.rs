//! The records of the storage contract, by area.

mod notes;
mod tenants;
mod transfer;
mod vorgaenge;

pub use notes::*;
pub use tenants::*;
pub use transfer::*;
pub use vorgaenge::*;
