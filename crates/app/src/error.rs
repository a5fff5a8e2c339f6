//! The one error of the application layer. The web layer maps it once to HTTP (problem+json
//! or a German page); the CLI prints it.

use documents::DocumentError;
use domain::DomainError;
use store::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Does not exist, or the caller may not know it exists.
    #[error("Nicht gefunden")]
    NotFound,
    #[error("Keine Berechtigung")]
    Forbidden,
    /// What the caller entered is wrong; `field` names the input.
    #[error("{message}")]
    Invalid { field: Option<String>, message: String },
    /// A rule of the domain forbids it (e.g. an illegal status move).
    #[error("{0}")]
    Rule(#[from] DomainError),
    /// Changed since the caller read it (optimistic concurrency).
    #[error("Der Vorgang wurde inzwischen geändert (aktuelle Version {current_version}).")]
    Conflict { current_version: i64 },
    #[error(transparent)]
    Storage(StorageError),
    #[error(transparent)]
    Documents(DocumentError),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: Some(field.to_owned()), message: message.into() }
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound => Self::NotFound,
            StorageError::Conflict { current_version } => Self::Conflict { current_version },
            other => Self::Storage(other),
        }
    }
}

impl From<DocumentError> for Error {
    fn from(e: DocumentError) -> Self {
        match e {
            DocumentError::NotFound => Self::NotFound,
            other => Self::Documents(other),
        }
    }
}

impl From<domain::notes::NoteError> for Error {
    fn from(e: domain::notes::NoteError) -> Self {
        Self::invalid(e.field().key(), e.to_string())
    }
}

impl From<domain::IllegalMove> for Error {
    fn from(e: domain::IllegalMove) -> Self {
        Self::Rule(e.into())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
