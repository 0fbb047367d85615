//! Media uploads: receiving a file as a stream of chunks (type read from the bytes, size capped per kind, named by
//! its SHA-256), extracting video covers, keeping both in the object store, reading objects back and deleting them.

pub mod cover;
pub mod s3;
pub mod sniff;
pub mod store;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::Context;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokshop_platform::{ServiceError, ServiceResult, config::Settings, ids::new_id};
use tokshop_proto::social::{UploadMediaChunk, upload_media_chunk::Part};

use self::{
    sniff::{Format, SNIFF_LEN, sniff},
    store::{LocalFolder, Object, ObjectStore},
};

pub use cover::{Ffmpeg, PLACEHOLDER_ID, PLACEHOLDER_PNG, PLACEHOLDER_TYPE};

/// A file being written before it is complete; removed when dropped, whatever happened.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
}

impl Staged {
    fn new(dir: &Path, what: &str) -> Self {
        Self {
            path: dir.join(format!(".{what}-{}", new_id("tmp"))),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A complete upload, staged and hashed, not yet stored.
#[derive(Debug)]
pub struct Received {
    pub staged: Staged,
    /// `med_` + SHA-256 hex.
    pub id: String,
    pub sha256_hex: String,
    pub format: Format,
    pub size: u64,
}

/// A cover frame, extracted and staged, not yet stored.
#[derive(Debug)]
pub struct Cover {
    pub staged: Staged,
    /// `med_` + SHA-256 hex.
    pub id: String,
    pub sha256_hex: String,
    pub size: u64,
}

fn truncated(message: impl Into<String>) -> ServiceError {
    ServiceError::refused("truncated_upload", "file", message)
}

fn unsupported() -> ServiceError {
    ServiceError::refused(
        "unsupported_media_type",
        "file",
        "the file is not a JPEG, PNG, GIF or WebP image, nor an MP4 or WebM video",
    )
}

/// Media ids are content hashes; this names one.
pub fn media_id(sha256_hex: &str) -> String {
    format!("med_{sha256_hex}")
}

#[derive(Debug, Clone)]
pub struct Library {
    objects: Arc<dyn ObjectStore>,
    max_image_bytes: u64,
    max_video_bytes: u64,
    ffmpeg: Ffmpeg,
}

impl Library {
    /// The object store the settings ask for: an S3-compatible bucket when one is named, else a local folder.
    pub async fn open(settings: &Settings) -> anyhow::Result<Self> {
        let social = &settings.social;
        let objects: Arc<dyn ObjectStore> = match &social.s3_bucket {
            Some(bucket) => Arc::new(
                s3::S3Bucket::from_settings(
                    social,
                    bucket,
                    settings.data_dir.join("media-staging"),
                )
                .await?,
            ),
            None => {
                let dir = social
                    .media_dir
                    .clone()
                    .unwrap_or_else(|| settings.data_dir.join("media"));
                Arc::new(LocalFolder::open(dir).await?)
            }
        };
        Ok(Self {
            objects,
            max_image_bytes: social.max_image_bytes,
            max_video_bytes: social.max_video_bytes,
            ffmpeg: Ffmpeg::from_settings(social),
        })
    }

    fn cap(&self, format: Option<Format>) -> (u64, &'static str) {
        match format {
            Some(f) if f.is_video() => (self.max_video_bytes, "videos"),
            Some(_) => (self.max_image_bytes, "images"),
            None => (self.max_image_bytes.max(self.max_video_bytes), "uploads"),
        }
    }

    fn check_cap(&self, format: Option<Format>, size: u64) -> ServiceResult<()> {
        let (cap, what) = self.cap(format);
        if size > cap {
            return Err(ServiceError::too_large(
                "file",
                format!("{what} may be at most {cap} bytes"),
            ));
        }
        Ok(())
    }

    /// Reads an upload (header, then bytes) into a staged file while hashing and counting. Refuses, keeping
    /// nothing, a file of another type, one over its kind's cap (as soon as the cap is passed), and one that
    /// breaks off or does not match its declared size.
    pub async fn receive<S>(&self, mut chunks: S) -> ServiceResult<Received>
    where
        S: Stream<Item = Result<UploadMediaChunk, tonic::Status>> + Unpin + Send,
    {
        let header = match chunks.next().await {
            Some(Ok(UploadMediaChunk {
                part: Some(Part::Header(header)),
            })) => header,
            None | Some(Err(_)) => return Err(truncated("the upload ended before its header")),
            Some(Ok(_)) => {
                return Err(ServiceError::invalid(
                    "file",
                    "the first message of an upload must be its header",
                ));
            }
        };
        let declared = u64::try_from(header.declared_size).map_err(|_| {
            ServiceError::invalid("declared_size", "declared_size cannot be negative")
        })?;
        let staged = Staged::new(self.objects.staging_dir(), "upload");
        let mut file = tokio::fs::File::create(staged.path())
            .await
            .context("creating a staged upload")?;
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let mut format = None;
        let mut size: u64 = 0;
        while let Some(chunk) = chunks.next().await {
            let data = match chunk {
                Ok(UploadMediaChunk {
                    part: Some(Part::Data(data)),
                }) => data,
                Ok(_) => {
                    return Err(ServiceError::invalid(
                        "file",
                        "only the first message of an upload may be a header",
                    ));
                }
                Err(_) => {
                    return Err(truncated(format!(
                        "the upload broke off after {size} bytes; nothing was kept"
                    )));
                }
            };
            if head.len() < SNIFF_LEN {
                let take = (SNIFF_LEN - head.len()).min(data.len());
                head.extend_from_slice(&data[..take]);
                if head.len() == SNIFF_LEN {
                    format = Some(sniff(&head).ok_or_else(unsupported)?);
                }
            }
            size += data.len() as u64;
            self.check_cap(format, size)?;
            if declared > 0 && size > declared {
                return Err(truncated(format!(
                    "the upload has more bytes than the {declared} it declared"
                )));
            }
            hasher.update(&data);
            file.write_all(&data)
                .await
                .context("writing a staged upload")?;
        }
        if size == 0 {
            return Err(truncated("the upload has no bytes"));
        }
        let format = match format {
            Some(format) => format,
            None => sniff(&head).ok_or_else(unsupported)?,
        };
        self.check_cap(Some(format), size)?;
        if declared > 0 && size != declared {
            return Err(truncated(format!(
                "the upload ended after {size} of the {declared} bytes it declared; nothing was kept"
            )));
        }
        file.flush().await.context("writing a staged upload")?;
        file.sync_all().await.context("writing a staged upload")?;
        drop(file);
        let sha256_hex = hex::encode(hasher.finalize());
        Ok(Received {
            staged,
            id: media_id(&sha256_hex),
            sha256_hex,
            format,
            size,
        })
    }

    /// Puts a received file into the object store (a no-op when the object is there already).
    pub async fn keep(&self, received: &Received) -> ServiceResult<()> {
        self.objects
            .put_file(&received.id, received.staged.path(), &received.sha256_hex)
            .await?;
        Ok(())
    }

    /// Extracts a video's cover frame into the staging folder; None when ffmpeg cannot run, finds no frame or
    /// passes a limit.
    pub async fn cover(&self, video: &Received) -> ServiceResult<Option<Cover>> {
        let out = Staged::new(self.objects.staging_dir(), "cover");
        let extracted = self
            .ffmpeg
            .extract_cover(video.staged.path(), video.format, out.path())
            .await;
        if let Err(err) = extracted {
            tracing::warn!(media_id = %video.id, error = %format!("{err:#}"), "no cover frame; using the placeholder");
            return Ok(None);
        }
        let bytes = tokio::fs::read(out.path())
            .await
            .context("reading an extracted cover")?;
        let sha256_hex = hex::encode(Sha256::digest(&bytes));
        Ok(Some(Cover {
            staged: out,
            id: media_id(&sha256_hex),
            sha256_hex,
            size: bytes.len() as u64,
        }))
    }

    /// Puts an extracted cover into the object store (a no-op when the object is there already).
    pub async fn keep_cover(&self, cover: &Cover) -> ServiceResult<()> {
        self.objects
            .put_file(&cover.id, cover.staged.path(), &cover.sha256_hex)
            .await?;
        Ok(())
    }

    /// A stored object's bytes, or None when there is none.
    pub async fn read(&self, id: &str) -> ServiceResult<Option<Object>> {
        Ok(self.objects.get(id).await?)
    }

    /// Deletes a stored object; one that is not there is already deleted.
    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        self.objects.delete(id).await
    }
}
