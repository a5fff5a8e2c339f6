use crate::{valid_key, BlobStore, DocumentError};
use async_trait::async_trait;
use bytes::Bytes;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Blobs as files below one directory.
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    pub fn open(root: &Path) -> Result<Self, DocumentError> {
        std::fs::create_dir_all(root)?;
        Ok(Self { root: root.to_owned() })
    }

    fn path(&self, key: &str) -> Result<PathBuf, DocumentError> {
        if !valid_key(key) {
            return Err(DocumentError::InvalidKey);
        }
        Ok(self.root.join(key))
    }
}

fn not_found(e: std::io::Error) -> DocumentError {
    if e.kind() == std::io::ErrorKind::NotFound {
        DocumentError::NotFound
    } else {
        DocumentError::Io(e)
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DocumentError> + Send + 'static,
) -> Result<T, DocumentError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| DocumentError::Io(std::io::Error::other(e)))?
}

#[async_trait]
impl BlobStore for LocalDir {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), DocumentError> {
        let path = self.path(key)?;
        blocking(move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            // create_new: keys are unique, an existing file is never replaced. The file is
            // written in place and fsynced; nothing references it until this returns, so a
            // crash mid-write leaves only an unreferenced partial file.
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            Ok(())
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Bytes, DocumentError> {
        let path = self.path(key)?;
        blocking(move || std::fs::read(&path).map(Bytes::from).map_err(not_found)).await
    }

    async fn copy(&self, from: &str, to: &str) -> Result<(), DocumentError> {
        let (from, to) = (self.path(from)?, self.path(to)?);
        blocking(move || {
            let dir = to.parent().ok_or(DocumentError::InvalidKey)?;
            std::fs::create_dir_all(dir)?;
            // A hard link shares the bytes (blobs are never changed in place); only the new
            // directory entry has to reach the disk.
            match std::fs::hard_link(&from, &to) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
                // Copied before, and the original is gone since: the copy is what counts.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && to.exists() => return Ok(()),
                Err(e) => return Err(not_found(e)),
            }
            std::fs::File::open(dir)?.sync_all()?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), DocumentError> {
        let path = self.path(key)?;
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_refuses_bad_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalDir::open(dir.path()).expect("open");
        let key = crate::new_key("default", "raw", uuid::Uuid::now_v7());
        store.put(&key, Bytes::from_static(b"hallo")).await.expect("put");
        assert_eq!(store.get(&key).await.expect("get"), Bytes::from_static(b"hallo"));
        assert!(store.put(&key, Bytes::from_static(b"x")).await.is_err(), "never overwritten");
        assert!(matches!(store.get("../etc/passwd").await, Err(DocumentError::InvalidKey)));
        store.delete(&key).await.expect("delete");
        assert!(matches!(store.get(&key).await, Err(DocumentError::NotFound)));
    }

    #[tokio::test]
    async fn copy_links_the_bytes_and_outlives_the_original() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalDir::open(dir.path()).expect("open");
        let id = uuid::Uuid::now_v7();
        let (from, to) = (crate::new_key("plattform", "eingang", id), crate::new_key("kiel", "eingang", id));
        store.put(&from, Bytes::from_static(b"antrag")).await.expect("put");
        store.copy(&from, &to).await.expect("copy");
        store.copy(&from, &to).await.expect("a repeated copy is fine");
        store.delete(&from).await.expect("delete the original");
        assert_eq!(store.get(&to).await.expect("get"), Bytes::from_static(b"antrag"));
        assert!(matches!(store.copy(&from, &to).await, Ok(())), "the copy exists: nothing to do");
        let missing = crate::new_key("plattform", "eingang", uuid::Uuid::now_v7());
        let elsewhere = crate::new_key("kiel", "eingang", uuid::Uuid::now_v7());
        assert!(matches!(store.copy(&missing, &elsewhere).await, Err(DocumentError::NotFound)));
    }
}
