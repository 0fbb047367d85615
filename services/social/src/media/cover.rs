//! Video cover frames: the first frame as a JPEG, extracted by ffmpeg under limits; a built-in placeholder image
//! stands in when ffmpeg cannot run or gives up.
//!
//! An uploaded video is hostile input to a large C program, so ffmpeg runs with a deadline, bounded memory and CPU
//! time, a bounded input and output, the demuxer fixed by the sniffed type (no probing, so no playlist or manifest
//! demuxer is ever reached) and only the `file` protocol (no network).

use std::{path::Path, process::Stdio, time::Duration};

use anyhow::{Context, bail, ensure};
use tokio::{io::AsyncReadExt, process::ChildStderr};
use tokshop_platform::config::SocialSettings;

use super::sniff::Format;

/// The id under which the placeholder cover is served.
pub const PLACEHOLDER_ID: &str = "med_placeholder";
pub const PLACEHOLDER_TYPE: &str = "image/png";
/// A small grey "video" tile.
pub const PLACEHOLDER_PNG: &[u8] = include_bytes!("placeholder.png");

/// How much of what ffmpeg prints is kept for the log; the rest is read and dropped.
const STDERR_KEEP: usize = 8 * 1024;

/// The ffmpeg program and what one run of it may use.
#[derive(Debug, Clone)]
pub struct Ffmpeg {
    pub program: String,
    /// Wall-clock time before the process is killed.
    pub timeout: Duration,
    /// Address space (`RLIMIT_AS`), in bytes; 0: unlimited.
    pub memory_bytes: u64,
    /// CPU time (`RLIMIT_CPU`), in seconds; 0: unlimited.
    pub cpu_secs: u64,
    /// Largest video it is given; a larger file is refused without running ffmpeg.
    pub max_input_bytes: u64,
    /// Largest cover it may write (`-fs`).
    pub max_output_bytes: u64,
}

impl Ffmpeg {
    pub fn from_settings(social: &SocialSettings) -> Self {
        Self {
            program: social.ffmpeg.clone(),
            timeout: Duration::from_secs(social.ffmpeg_timeout_secs.max(1)),
            memory_bytes: social.ffmpeg_memory_bytes,
            cpu_secs: social.ffmpeg_cpu_secs,
            max_input_bytes: social.max_video_bytes,
            max_output_bytes: social.max_image_bytes,
        }
    }

    /// Writes the first frame of the `format` video at `video` as a JPEG to `out`.
    pub async fn extract_cover(
        &self,
        video: &Path,
        format: Format,
        out: &Path,
    ) -> anyhow::Result<()> {
        let program = &self.program;
        let demuxer = match format {
            Format::Mp4 => "mov",
            Format::WebM => "matroska",
            other => bail!("{} is not a video", other.content_type()),
        };
        let size = tokio::fs::metadata(video)
            .await
            .context("sizing the video")?
            .len();
        ensure!(
            size <= self.max_input_bytes,
            "the video has {size} bytes, more than the {} ffmpeg may read",
            self.max_input_bytes
        );
        let mut command = tokio::process::Command::new(program);
        command
            .args(["-nostdin", "-hide_banner", "-v", "error"])
            .args(["-threads", "1", "-filter_threads", "1"])
            .args(["-protocol_whitelist", "file", "-f", demuxer, "-i"])
            .arg(file_url(video))
            .args(["-map", "0:v:0", "-frames:v", "1", "-fs"])
            .arg(self.max_output_bytes.to_string())
            .args(["-f", "image2", "-c:v", "mjpeg", "-y"])
            .arg(file_url(out))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        limits::apply(&mut command, self.memory_bytes, self.cpu_secs);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {program} (is ffmpeg installed?)"))?;
        let stderr = child.stderr.take();
        // Dropping `child` on the deadline kills the process (`kill_on_drop`).
        let run = async { tokio::join!(child.wait(), keep_head(stderr)) };
        let (status, printed) =
            tokio::time::timeout(self.timeout, run)
                .await
                .with_context(|| {
                    format!(
                        "{program} took longer than {}s and was killed",
                        self.timeout.as_secs()
                    )
                })?;
        let status = status.with_context(|| format!("running {program}"))?;
        if !status.success() {
            bail!(
                "{program} failed ({status}): {}",
                String::from_utf8_lossy(&printed).trim()
            );
        }
        // `-fs` stops ffmpeg between packets; a single huge frame passes it, so the file is measured too.
        let written = tokio::fs::metadata(out)
            .await
            .with_context(|| format!("sizing the cover {program} wrote"))?
            .len();
        ensure!(
            written <= self.max_output_bytes,
            "{program} wrote a cover of {written} bytes, more than the {} allowed",
            self.max_output_bytes
        );
        let head = tokio::fs::read(out)
            .await
            .with_context(|| format!("reading the cover {program} wrote"))?;
        if !head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            bail!("{program} wrote no JPEG cover");
        }
        Ok(())
    }
}

/// A path as a `file:` URL, so ffmpeg never reads a protocol name out of it.
fn file_url(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// The first [`STDERR_KEEP`] bytes ffmpeg prints; the rest is read and dropped, so it never blocks on a full pipe
/// and a file that makes it print without end costs no memory.
async fn keep_head(stderr: Option<ChildStderr>) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut stderr) = stderr else {
        return kept;
    };
    let mut buf = [0u8; 4096];
    loop {
        match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = STDERR_KEEP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// Resource limits set in the child between fork and exec: the only unsafe code in the crate.
#[allow(unsafe_code)]
mod limits {
    /// Makes the process `command` starts run with at most `memory_bytes` of address space and `cpu_secs` of CPU
    /// time (0: that limit is left alone), and write no core file.
    pub fn apply(command: &mut tokio::process::Command, memory_bytes: u64, cpu_secs: u64) {
        // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe functions may
        // be called. It calls getrlimit and setrlimit (both async-signal-safe), allocates nothing and touches no
        // lock; `last_os_error` only reads errno.
        unsafe {
            command.pre_exec(move || {
                lower(libc::RLIMIT_CORE, 0, 0)?;
                if memory_bytes > 0 {
                    lower(libc::RLIMIT_AS, memory_bytes, memory_bytes)?;
                }
                if cpu_secs > 0 {
                    // SIGXCPU at the soft limit, SIGKILL a second later if that is ignored.
                    lower(libc::RLIMIT_CPU, cpu_secs, cpu_secs.saturating_add(1))?;
                }
                Ok(())
            });
        }
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    type Resource = libc::__rlimit_resource_t;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    type Resource = libc::c_int;

    /// Sets a limit no higher than the current hard limit (an unprivileged process cannot raise it).
    fn lower(resource: Resource, soft: u64, hard: u64) -> std::io::Result<()> {
        let mut current = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `current` is a valid, writable rlimit for the duration of the call.
        if unsafe { libc::getrlimit(resource, &mut current) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let hard = (hard as libc::rlim_t).min(current.rlim_max);
        let limit = libc::rlimit {
            rlim_cur: (soft as libc::rlim_t).min(hard),
            rlim_max: hard,
        };
        // SAFETY: `limit` is a valid rlimit for the duration of the call.
        if unsafe { libc::setrlimit(resource, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}
