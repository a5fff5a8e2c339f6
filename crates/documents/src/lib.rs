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
