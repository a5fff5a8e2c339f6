//! The domain of ozgcloud: Eingang, Vorgang, form-data tree, applicant, status machine and
//! Vorgangsnummer. Pure rules and types: no async, no I/O, no storage.

pub mod access;
pub mod antrag;
pub mod applicant;
pub mod deletion;
pub mod formdata;
pub mod ids;
pub mod jobs;
pub mod notes;
pub mod nummer;
pub mod search;
pub mod session;
pub mod status;
pub mod tenant;
pub mod user;
pub mod vorgang;

pub use access::{Permission, Principal, TokenScope, Visibility};
pub use antrag::{Antrag, Control, ServiceKonto, ValidationError};
pub use applicant::Antragsteller;
pub use formdata::{FormItem, FormValue};
pub use ids::{
    ApiTokenId, DocumentId, JobId, KommentarId, TenantId, TransactionId, UnitId, UserId, VorgangId, WiedervorlageId,
};
pub use nummer::Vorgangsnummer;
pub use status::{IllegalMove, StatusCommand, VorgangStatus};
pub use tenant::{IpAllowlist, TenantKind};
pub use user::{Role, Username};
pub use vorgang::{Aktenzeichen, DomainError, VorgangEvent};
