//! Cover extraction under limits, with the real ffmpeg (which must be installed): a real video still gets its
//! frame; playlists and manifests naming other local files or URLs are never followed; the memory, CPU-time,
//! deadline, input-size and output-size limits each stop a run, and the run fails cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokshop_platform::config::SocialSettings;
use tokshop_social::media::{Ffmpeg, sniff::Format};

/// The shop's default limits, with the ffmpeg on the PATH.
fn ffmpeg() -> Ffmpeg {
    Ffmpeg::from_settings(&SocialSettings::default())
}

/// Runs the real ffmpeg to make a test file; panics with advice when it cannot.
fn make(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .unwrap_or_else(|err| {
            panic!(
                "these tests need ffmpeg (e.g. `apt-get install ffmpeg`), and it cannot run: {err}"
            )
        });
    assert!(status.success(), "ffmpeg could not make {}", out.display());
}

const TEST_SOURCE: [&str; 4] = ["-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=5"];

fn mp4(dir: &Path) -> PathBuf {
    let out = dir.join("clip.mp4");
    make(&[&TEST_SOURCE[..], &["-pix_fmt", "yuv420p"]].concat(), &out);
    out
}

/// Plain ffmpeg, without any of the limits, on `input`: whether it writes a frame. Shows what a crafted file
/// would make an unguarded extraction do.
fn plain_ffmpeg_extracts(input: &Path, extra: &[&str], out: &Path) -> bool {
    Command::new("ffmpeg")
        .args(["-nostdin", "-v", "quiet", "-y"])
        .args(extra)
        .arg("-i")
        .arg(input)
        .args(["-frames:v", "1", "-f", "image2", "-c:v", "mjpeg"])
        .arg(out)
        .status()
        .unwrap()
        .success()
        && std::fs::read(out).unwrap().starts_with(&[0xFF, 0xD8, 0xFF])
}

/// A shell script standing in for ffmpeg.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn a_real_video_gets_its_cover_within_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let webm = dir.path().join("clip.webm");
    make(&TEST_SOURCE, &webm);
    for (video, format) in [(mp4(dir.path()), Format::Mp4), (webm, Format::WebM)] {
        let out = dir.path().join("cover.jpg");
        ffmpeg().extract_cover(&video, format, &out).await.unwrap();
        let jpeg = std::fs::read(&out).unwrap();
        assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) && jpeg.len() > 100);
        std::fs::remove_file(&out).unwrap();
    }
}

#[tokio::test]
async fn playlists_naming_another_local_video_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let clip = mp4(dir.path());
    let segment = dir.path().join("segment.ts");
    make(&[&TEST_SOURCE[..], &["-f", "mpegts"]].concat(), &segment);
    let crafted = [
        (
            "playlist.m3u8",
            format!(
                "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{}\n#EXT-X-ENDLIST\n",
                segment.display()
            ),
        ),
        (
            "list.ffconcat",
            "ffconcat version 1.0\nfile clip.mp4\n".to_owned(),
        ),
        (
            "manifest.mpd",
            format!(
                "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" \
                 mediaPresentationDuration=\"PT1S\" minBufferTime=\"PT1S\" \
                 profiles=\"urn:mpeg:dash:profile:isoff-on-demand:2011\"><Period><AdaptationSet \
                 mimeType=\"video/mp4\"><Representation id=\"1\" bandwidth=\"1000\" width=\"64\" height=\"64\">\
                 <BaseURL>{}</BaseURL></Representation></AdaptationSet></Period></MPD>\n",
                clip.display()
            ),
        ),
    ];
    for (name, text) in crafted {
        let input = dir.path().join(name);
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join("cover.jpg");
        assert!(
            plain_ffmpeg_extracts(&input, &[], &out),
            "unguarded, ffmpeg follows {name} to the other file"
        );
        std::fs::remove_file(&out).unwrap();
        for format in [Format::Mp4, Format::WebM] {
            let err = ffmpeg()
                .extract_cover(&input, format, &out)
                .await
                .unwrap_err();
            assert!(format!("{err:#}").contains("failed"), "{name}: {err:#}");
            assert!(!out.exists(), "{name} as {format:?} gave a cover");
        }
    }
}

#[tokio::test]
async fn a_playlist_naming_a_url_opens_no_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("playlist.m3u8");
    std::fs::write(
        &input,
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nhttp://127.0.0.1:{port}/segment.ts\n#EXT-X-ENDLIST\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("cover.jpg");
    // With http allowed, ffmpeg calls the listener: the count below would see a connection.
    let allowed = ["-protocol_whitelist", "file,http,tcp"];
    let probe = input.clone();
    let probe_out = out.clone();
    tokio::task::spawn_blocking(move || plain_ffmpeg_extracts(&probe, &allowed, &probe_out))
        .await
        .unwrap();
    assert_eq!(connections.load(Ordering::SeqCst), 1);

    for format in [Format::Mp4, Format::WebM] {
        assert!(ffmpeg().extract_cover(&input, format, &out).await.is_err());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "the extraction opened a connection"
    );
}

#[tokio::test]
async fn a_small_memory_limit_stops_ffmpeg_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let video = mp4(dir.path());
    let out = dir.path().join("cover.jpg");
    let tight = Ffmpeg {
        memory_bytes: 32 * 1024 * 1024,
        ..ffmpeg()
    };
    let err = tight
        .extract_cover(&video, Format::Mp4, &out)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("failed"), "{err:#}");
    // The same video within the default limit.
    ffmpeg()
        .extract_cover(&video, Format::Mp4, &out)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_cpu_limit_stops_a_spinning_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let video = mp4(dir.path());
    let spinning = Ffmpeg {
        program: script(dir.path(), "spin", "while :; do :; done"),
        cpu_secs: 1,
        timeout: Duration::from_secs(60),
        ..ffmpeg()
    };
    let started = Instant::now();
    let err = spinning
        .extract_cover(&video, Format::Mp4, &dir.path().join("cover.jpg"))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stopped by the deadline, not the CPU limit: {err:#}"
    );
    assert!(
        format!("{err:#}").contains("SIGXCPU") || format!("{err:#}").contains("SIGKILL"),
        "{err:#}"
    );
}

#[tokio::test]
async fn the_deadline_kills_a_hung_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let video = mp4(dir.path());
    let pid_file = dir.path().join("pid");
    let hung = Ffmpeg {
        program: script(
            dir.path(),
            "hang",
            &format!("echo $$ > {}\nexec sleep 60", pid_file.display()),
        ),
        timeout: Duration::from_secs(1),
        ..ffmpeg()
    };
    let started = Instant::now();
    let err = hung
        .extract_cover(&video, Format::Mp4, &dir.path().join("cover.jpg"))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("longer than 1s"), "{err:#}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    let deadline = Instant::now() + Duration::from_secs(5);
    // Gone, or a zombie waiting to be reaped: either way no longer running.
    while let Ok(line) = std::fs::read_to_string(&stat) {
        let state = line.rsplit(") ").next().unwrap_or_default();
        if state.starts_with('Z') {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the hung process still runs: {line}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_video_over_the_input_cap_never_reaches_ffmpeg() {
    let dir = tempfile::tempdir().unwrap();
    let video = mp4(dir.path());
    let marker = dir.path().join("ran");
    let capped = Ffmpeg {
        program: script(dir.path(), "record", &format!("touch {}", marker.display())),
        max_input_bytes: 100,
        ..ffmpeg()
    };
    let err = capped
        .extract_cover(&video, Format::Mp4, &dir.path().join("cover.jpg"))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("more than the 100"), "{err:#}");
    assert!(!marker.exists(), "ffmpeg was started");
}

#[tokio::test]
async fn a_cover_over_the_output_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let video = mp4(dir.path());
    let capped = Ffmpeg {
        max_output_bytes: 100,
        ..ffmpeg()
    };
    let err = capped
        .extract_cover(&video, Format::Mp4, &dir.path().join("cover.jpg"))
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("more than the 100 allowed"),
        "{err:#}"
    );
}
