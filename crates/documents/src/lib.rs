//! The document store: every blob (raw deliveries, attachments, representations, later
//! Bescheide) goes through [`BlobStore`]. A local directory now; an S3-compatible object
//! store plugs in behind the same trait.

mod local;

pub use local::LocalDir;

use async_trait::async_trait;
use bytes::Bytes;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("document not found")]
    NotFound,
    #[error("invalid document key")]
    InvalidKey,
    #[error("document store I/O: {0}")]
    Io(#[from] std::io::Error),
}

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under a new `key`. When this returns `Ok`, the blob is durable
    /// (survives a crash); keys are never overwritten.
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), DocumentError>;
    async fn get(&self, key: &str) -> Result<Bytes, DocumentError>;
    async fn delete(&self, key: &str) -> Result<(), DocumentError>;
    /// Makes the blob at `from` available under `to` as well, durably when this returns. A
    /// `to` that exists already is kept (it holds the same bytes: a retried move copies
    /// again). Stores that can copy without reading the bytes (a hard link, an S3 server-side
    /// copy) override this.
    async fn copy(&self, from: &str, to: &str) -> Result<(), DocumentError> {
        let bytes = self.get(from).await?;
        match self.put(to, bytes).await {
            Err(DocumentError::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    }
}

/// Keys are `tenant/area/xx/uuid`: the tenant first so a tenant's documents can be listed,
/// moved or deleted together; `xx` spreads files over directories.
pub fn new_key(tenant: &str, area: &str, id: uuid::Uuid) -> String {
    let simple = id.simple().to_string();
    // v7 uuids start with the time; spread by the random tail instead.
    let shard = &simple[simple.len() - 2..];
    format!("{tenant}/{area}/{shard}/{simple}")
}

pub(crate) fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
}
