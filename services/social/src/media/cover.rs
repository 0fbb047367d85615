//! Video cover frames: the first frame as a JPEG, extracted by ffmpeg; a built-in placeholder image stands in when
//! ffmpeg cannot run.

use std::{path::Path, process::Stdio, time::Duration};

use anyhow::{Context, bail};

/// The id under which the placeholder cover is served.
pub const PLACEHOLDER_ID: &str = "med_placeholder";
pub const PLACEHOLDER_TYPE: &str = "image/png";
/// A small grey "video" tile.
pub const PLACEHOLDER_PNG: &[u8] = include_bytes!("placeholder.png");

/// How long one extraction may take before it is abandoned.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Writes the first frame of the video at `video` as a JPEG to `out`.
pub async fn extract(ffmpeg: &str, video: &Path, out: &Path) -> anyhow::Result<()> {
    let mut command = tokio::process::Command::new(ffmpeg);
    command
        .args(["-nostdin", "-v", "error", "-y", "-ss", "0", "-i"])
        .arg(video)
        .args(["-frames:v", "1", "-f", "image2", "-c:v", "mjpeg"])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command
        .spawn()
        .with_context(|| format!("starting {ffmpeg} (is ffmpeg installed?)"))?;
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .with_context(|| format!("{ffmpeg} took longer than {}s", TIMEOUT.as_secs()))?
        .with_context(|| format!("running {ffmpeg}"))?;
    if !output.status.success() {
        bail!(
            "{ffmpeg} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let head = tokio::fs::read(out)
        .await
        .with_context(|| format!("reading the cover {ffmpeg} wrote"))?;
    if !head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        bail!("{ffmpeg} wrote no JPEG cover");
    }
    Ok(())
}
