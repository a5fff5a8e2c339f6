#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("not found")]
    NotFound,
    /// The row changed since the caller read it (optimistic concurrency).
    #[error("conflict: current version is {current_version}")]
    Conflict { current_version: i64 },
    /// A unique value is taken (e.g. a username).
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// The randomly drawn Vorgangsnummer exists already in the tenant.
    #[error("vorgangsnummer taken")]
    NummerTaken,
    /// A referenced row (e.g. an assignee) does not exist in the tenant.
    #[error("invalid reference: {0}")]
    InvalidReference(&'static str),
    /// Transient: busy database, serialization failure. Safe to retry.
    #[error("storage temporarily unavailable: {0}")]
    Retryable(String),
    #[error("storage error: {0}")]
    Other(String),
}
