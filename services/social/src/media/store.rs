//! Where media bytes live: an object store chosen once at start-up, either a local folder or an S3-compatible
//! bucket. Objects are written once under their content-hash name and never replaced.

use std::{
    fmt::Debug,
    io::ErrorKind,
    path::{Path, PathBuf},
    pin::Pin,
};

use anyhow::Context;
use futures::{Stream, StreamExt};
use tokio::io::AsyncReadExt;
use tokio_util::bytes::Bytes;

/// Bytes of one object, read as they are sent.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// How much one read of a stored object yields.
pub const CHUNK: usize = 64 * 1024;

/// A stored object being read: its size and its bytes.
pub struct Object {
    pub size: u64,
    pub bytes: ByteStream,
}

impl Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync + Debug {
    /// The folder where uploads are written before they are complete: `put_file` takes files from here.
    fn staging_dir(&self) -> &Path;
    /// Stores the complete file at `path` (whose SHA-256 is `sha256_hex`) as `key`, unless an object of that
    /// name exists. True when it was stored now.
    async fn put_file(&self, key: &str, path: &Path, sha256_hex: &str) -> anyhow::Result<bool>;
    async fn exists(&self, key: &str) -> anyhow::Result<bool>;
    /// The object, or None when there is none of that name.
    async fn get(&self, key: &str) -> anyhow::Result<Option<Object>>;
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
}

/// Keys are content-hash ids; anything else could reach outside the folder or bucket.
pub fn check_key(key: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "not a media key: {key:?}"
    );
    Ok(())
}

/// A file's bytes as a stream of chunks.
pub fn file_stream(file: tokio::fs::File) -> ByteStream {
    Box::pin(futures::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(err) => Some((Err(err), None)),
        }
    }))
}

/// Objects as files in one folder. Uploads are staged in the same folder as dot-files and linked into place in
/// one step, so a crash or abort never leaves a partial object and an existing object is never replaced.
#[derive(Debug, Clone)]
pub struct LocalFolder {
    dir: PathBuf,
}

impl LocalFolder {
    pub async fn open(dir: PathBuf) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(&dir)
            .await
            .with_context(|| format!("creating the media folder {}", dir.display()))?;
        Ok(Self { dir })
    }

    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        check_key(key)?;
        Ok(self.dir.join(key))
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalFolder {
    fn staging_dir(&self) -> &Path {
        &self.dir
    }

    async fn put_file(&self, key: &str, path: &Path, _sha256_hex: &str) -> anyhow::Result<bool> {
        let target = self.path(key)?;
        // A hard link refuses to replace an existing name, and appears whole or not at all.
        match tokio::fs::hard_link(path, &target).await {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(err).with_context(|| format!("storing media object {key}")),
        }
    }

    async fn exists(&self, key: &str) -> anyhow::Result<bool> {
        let path = self.path(key)?;
        tokio::fs::try_exists(&path)
            .await
            .with_context(|| format!("looking for media object {key}"))
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Object>> {
        let path = self.path(key)?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err).with_context(|| format!("opening media object {key}")),
        };
        let size = file
            .metadata()
            .await
            .with_context(|| format!("reading the size of media object {key}"))?
            .len();
        Ok(Some(Object {
            size,
            bytes: file_stream(file),
        }))
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(err).with_context(|| format!("deleting media object {key}")),
        }
    }
}

/// Reads a whole object into memory; for small objects only.
pub async fn read_all(object: Object) -> std::io::Result<Vec<u8>> {
    let mut bytes = object.bytes;
    let mut all = Vec::with_capacity(usize::try_from(object.size).unwrap_or(0));
    while let Some(chunk) = bytes.next().await {
        all.extend_from_slice(&chunk?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn local_folder_stores_once_reads_back_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFolder::open(dir.path().join("media")).await.unwrap();
        let staged = store.staging_dir().join(".upload-1");
        tokio::fs::write(&staged, b"first").await.unwrap();
        assert!(store.put_file("med_abc", &staged, "").await.unwrap());
        tokio::fs::remove_file(&staged).await.unwrap();
        tokio::fs::write(&staged, b"second").await.unwrap();
        assert!(
            !store.put_file("med_abc", &staged, "").await.unwrap(),
            "an object is never replaced"
        );
        let object = store.get("med_abc").await.unwrap().unwrap();
        assert_eq!(object.size, 5);
        assert_eq!(read_all(object).await.unwrap(), b"first");
        assert!(store.exists("med_abc").await.unwrap());
        store.delete("med_abc").await.unwrap();
        assert!(!store.exists("med_abc").await.unwrap());
        assert!(store.get("med_abc").await.unwrap().is_none());
        assert!(store.get("../etc").await.is_err());
    }
}
