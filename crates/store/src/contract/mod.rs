//! The storage contract by area: traits of a readable size, each implemented in the area's
//! module of each backend (`crates/store-*/src/<area>.rs`). The area traits are a tenant's:
//! their methods take no tenant id, a backend implements them on its tenant handle. What spans
//! tenants is [`Installation`].

mod audit;
mod documents;
mod installation;
mod intake;
mod notes;
mod search;
mod tenants;
mod transfer;
mod users;
mod vorgaenge;

pub use audit::AuditStore;
pub use documents::DocumentStore;
pub use installation::Installation;
pub use intake::IntakeStore;
pub use notes::NoteStore;
pub use search::SearchStore;
pub use tenants::TenantStore;
pub use transfer::TransferStore;
pub use users::UserStore;
pub use vorgaenge::VorgangStore;
