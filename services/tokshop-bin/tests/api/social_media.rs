//! Media uploads over REST: the type comes from the bytes, caps per kind, truncated uploads, one object per
//! content, downloads with caching headers, posts carrying media, and video covers (a real frame with ffmpeg, a
//! placeholder without, or when ffmpeg passes a limit or is handed a crafted file). Every refusal leaves the media
//! folder empty. Per-user quotas, and the sweep that deletes media no post carries.
//!
//! Long because each case is a whole flow over real HTTP, storage and ffmpeg; one file per area of the API.

use std::{path::PathBuf, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokshop_platform::{auth::authorized, db::Db, time::now_ms};
use tokshop_proto::social::{
    UploadMediaChunk, UploadMediaHeader, post_service_client::PostServiceClient,
    upload_media_chunk::Part,
};
use tokshop_social::{MediaSwept, media::Library, sweep_media};

use crate::common::TestApp;

const MAX_IMAGE: u64 = 64 * 1024;
const MAX_VIDEO: u64 = 1024 * 1024;

crate::on_both_databases!(
    with |s| {
        s.social.max_image_bytes = super::MAX_IMAGE;
        s.social.max_video_bytes = super::MAX_VIDEO;
    };
    wrong_type_is_refused_and_nothing_stored,
    too_large_is_refused_and_nothing_stored,
    truncated_upload_is_refused_and_nothing_stored,
    same_file_twice_is_one_object,
    download_serves_bytes_with_caching_headers,
    post_carries_uploaded_media,
    video_gets_a_real_cover_frame_with_ffmpeg,
    crafted_playlists_never_lend_another_file_as_cover,
    unused_media_is_swept_and_used_media_stays,
    a_post_never_points_at_swept_media,
);

/// Small quotas: 10,000 bytes of media and four new files a day per user.
mod quota {
    use super::{
        the_daily_upload_count_is_capped, uploads_past_the_quota_are_refused_and_nothing_stored,
    };

    crate::on_both_databases!(
        with |s| {
            s.social.max_image_bytes = crate::social_media::MAX_IMAGE;
            s.social.upload_quota_bytes = 10_000;
            s.social.uploads_per_day = 4;
        };
        uploads_past_the_quota_are_refused_and_nothing_stored,
        the_daily_upload_count_is_capped,
    );
}

/// ffmpeg allowed 32 MiB of address space, too little to start: covers fall back to the placeholder.
mod tight_ffmpeg {
    use super::a_video_whose_extraction_passes_a_limit_gets_the_placeholder;

    crate::on_both_databases!(
        with |s| s.social.ffmpeg_memory_bytes = 32 * 1024 * 1024;
        a_video_whose_extraction_passes_a_limit_gets_the_placeholder,
    );
}

/// Uploads larger than the gateway's JSON body limit, sent with an Idempotency-Key.
mod small_json_limit {
    use super::upload_with_idempotency_key_streams_past_the_json_limit;

    crate::on_both_databases!(
        with |s| s.gateway.body_limit_bytes = 16 * 1024;
        upload_with_idempotency_key_streams_past_the_json_limit,
    );
}

/// A request deadline of one second, and the uploads' own, longer one.
mod slow_upload {
    use super::upload_slower_than_the_request_deadline_succeeds;

    crate::on_both_databases!(
        with |s| {
            s.gateway.request_timeout_secs = 1;
            s.gateway.upload_timeout_secs = 30;
        };
        upload_slower_than_the_request_deadline_succeeds,
    );
}

/// Uploads without ffmpeg: the cover is the built-in placeholder and posts say so.
mod without_ffmpeg {
    use super::*;

    crate::on_both_databases!(
        with |s| s.social.ffmpeg = "ffmpeg-is-not-installed-here".into();
        video_without_ffmpeg_gets_a_placeholder_cover,
    );

    async fn video_without_ffmpeg_gets_a_placeholder_cover(app: &TestApp) {
        let token = app.buyer("vera").await;
        // An MP4 as far as the bytes tell; ffmpeg never reads it here.
        let mut mp4 = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
        mp4.extend_from_slice(&[7u8; 500]);
        let media = upload(app, &token, "video/mp4", mp4).await.expect(201).body;
        assert_eq!(media["kind"], "video");
        assert_eq!(media["content_type"], "video/mp4");
        assert_eq!(media["cover_placeholder"], true);
        let cover_url = media["cover_url"].as_str().unwrap();
        assert_eq!(cover_url, "/api/v1/media/med_placeholder");
        let cover = app
            .client
            .get(format!("{}{cover_url}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(cover.status(), StatusCode::OK);
        assert_eq!(cover.headers()["content-type"], "image/png");
        assert!(
            cover
                .bytes()
                .await
                .unwrap()
                .starts_with(b"\x89PNG\r\n\x1a\n")
        );

        let post = app
            .post(
                "/api/v1/posts",
                Some(&token),
                json!({"text": "my clip", "media_ids": [media["id"]]}),
            )
            .await
            .expect(201)
            .body;
        let notices = post["notices"].as_array().unwrap();
        assert_eq!(notices.len(), 1);
        let notice = notices[0].as_str().unwrap();
        assert!(
            notice.contains("placeholder") && notice.contains("ffmpeg"),
            "{notice}"
        );
        assert_eq!(post["media"][0]["cover_placeholder"], true);
        // Only the video itself was stored.
        assert_eq!(stored(app), vec![media["id"].as_str().unwrap().to_owned()]);
    }
}

/// A PNG of `len` bytes (a real signature, then filler; the service reads only the signature).
fn png(len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(len.max(bytes.len()), seed);
    bytes
}

fn media_dir(app: &TestApp) -> PathBuf {
    app.settings.data_dir.join("media")
}

/// Every file in the media folder, staged ones included, sorted.
fn stored(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(media_dir(app))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

struct Upload {
    status: StatusCode,
    body: Value,
}

impl Upload {
    fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        self
    }

    fn expect_error(self, status: u16, code: &str) -> Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["code"], code, "{}", self.body);
        assert_eq!(self.body["param"], "file", "{}", self.body);
        self
    }
}

async fn upload(app: &TestApp, token: &str, content_type: &str, bytes: Vec<u8>) -> Upload {
    let response = app
        .client
        .post(format!("{}/api/v1/media?filename=upload.bin", app.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    Upload { status, body }
}

async fn wrong_type_is_refused_and_nothing_stored(app: &TestApp) {
    let token = app.buyer("wanda").await;
    let text = b"this is a text file, not a picture at all".to_vec();
    upload(app, &token, "image/png", text)
        .await
        .expect_error(422, "unsupported_media_type");
    // A RIFF file that is not WebP, and a file shorter than any signature.
    upload(
        app,
        &token,
        "image/webp",
        b"RIFF\x10\0\0\0WAVEfmt data".to_vec(),
    )
    .await
    .expect_error(422, "unsupported_media_type");
    upload(app, &token, "image/jpeg", vec![0xFF, 0xD8])
        .await
        .expect_error(422, "unsupported_media_type");
    assert!(stored(app).is_empty(), "{:?}", stored(app));
    let anonymous = app
        .client
        .post(format!("{}/api/v1/media", app.base))
        .body(png(100, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn too_large_is_refused_and_nothing_stored(app: &TestApp) {
    let token = app.buyer("xena").await;
    let cap = usize::try_from(MAX_IMAGE).unwrap();
    let reply = upload(app, &token, "image/png", png(cap + 1, 2))
        .await
        .expect_error(413, "too_large");
    assert!(
        reply.body["message"].as_str().unwrap().contains("images"),
        "{}",
        reply.body
    );
    // Bigger than any upload may be: refused from its declared length before it is read.
    let huge = png(usize::try_from(MAX_VIDEO).unwrap() + 200 * 1024, 3);
    upload(app, &token, "image/png", huge)
        .await
        .expect_error(413, "too_large");
    assert!(stored(app).is_empty(), "{:?}", stored(app));
    // Only uploads get the larger limit: other routes keep the gateway's default.
    let big_text = "x".repeat(2 * 1024 * 1024);
    let reply = app
        .post("/api/v1/posts", Some(&token), json!({ "text": big_text }))
        .await;
    assert_eq!(reply.status.as_u16(), 413, "{}", reply.text);
    assert_eq!(reply.body["code"], "payload_too_large");
    // Exactly at the cap is fine.
    upload(app, &token, "image/png", png(cap, 2))
        .await
        .expect(201);
    assert_eq!(stored(app).len(), 1);
}

async fn truncated_upload_is_refused_and_nothing_stored(app: &TestApp) {
    let token = app.buyer("yuri").await;
    // Straight to the service: a header that declares more bytes than follow.
    let addr = app.running().social_addr.unwrap();
    let mut posts = PostServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let chunks = vec![
        UploadMediaChunk {
            part: Some(Part::Header(UploadMediaHeader {
                filename: "cut.png".into(),
                declared_type: "image/png".into(),
                declared_size: 1000,
            })),
        },
        UploadMediaChunk {
            part: Some(Part::Data(png(400, 4))),
        },
    ];
    let status = posts
        .upload_media(authorized(tokio_stream::iter(chunks), Some(&token)))
        .await
        .unwrap_err();
    let (code, param) = tokshop_platform::error::status_details(&status);
    assert_eq!(code.as_deref(), Some("truncated_upload"), "{status:?}");
    assert_eq!(param.as_deref(), Some("file"));
    assert!(status.message().contains("400 of the 1000"), "{status:?}");
    assert!(stored(app).is_empty(), "{:?}", stored(app));

    // Over HTTP: a body that breaks off midway. The client sees its request fail; the server keeps nothing.
    let first: Result<Vec<u8>, std::io::Error> = Ok(png(30_000, 5));
    let broken: Result<Vec<u8>, std::io::Error> = Err(std::io::Error::other("connection lost"));
    let body = reqwest::Body::wrap_stream(tokio_stream::iter(vec![first, broken]));
    let sent = app
        .client
        .post(format!("{}/api/v1/media", app.base))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body(body)
        .send()
        .await;
    assert!(sent.is_err() || sent.unwrap().status().is_client_error());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(stored(app).is_empty(), "{:?}", stored(app));

    // An empty body is no upload.
    upload(app, &token, "image/png", Vec::new())
        .await
        .expect_error(422, "truncated_upload");
    assert!(stored(app).is_empty(), "{:?}", stored(app));
}

async fn same_file_twice_is_one_object(app: &TestApp) {
    let zoe = app.buyer("zoe").await;
    let amy = app.buyer("amy").await;
    let file = png(5000, 6);
    let first = upload(app, &zoe, "image/png", file.clone())
        .await
        .expect(201)
        .body;
    let id = first["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("med_") && id.len() == 4 + 64, "{id}");
    assert_eq!(first["existed"], false);
    assert_eq!(first["kind"], "image");
    assert_eq!(first["content_type"], "image/png");
    assert_eq!(first["size"], 5000);
    assert_eq!(first["url"], format!("/api/v1/media/{id}"));
    assert_eq!(first["cover_url"], Value::Null);

    // Declared as something else: the bytes decide, and it is the same object.
    let again = upload(app, &zoe, "application/octet-stream", file.clone())
        .await
        .expect(201)
        .body;
    assert_eq!(again["id"], id);
    assert_eq!(again["existed"], true);
    assert_eq!(again["content_type"], "image/png");
    let by_amy = upload(app, &amy, "image/png", file).await.expect(201).body;
    assert_eq!(by_amy["id"], id);
    assert_eq!(by_amy["existed"], true);
    assert_eq!(stored(app), vec![id.clone()]);

    // Both uploaders may post it.
    for token in [&zoe, &amy] {
        app.post("/api/v1/posts", Some(token), json!({"media_ids": [id]}))
            .await
            .expect(201);
    }
}

async fn download_serves_bytes_with_caching_headers(app: &TestApp) {
    let token = app.buyer("bea").await;
    // Larger than one 64 KiB chunk of the stream, under the image cap.
    let mut gif = b"GIF89a".to_vec();
    gif.extend((0..60_000u32).map(|i| (i % 251) as u8));
    let media = upload(app, &token, "image/gif", gif.clone())
        .await
        .expect(201)
        .body;
    let url = format!("{}{}", app.base, media["url"].as_str().unwrap());
    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/gif");
    assert_eq!(headers["content-length"], gif.len().to_string().as_str());
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(response.bytes().await.unwrap().to_vec(), gif);

    let missing = format!("/api/v1/media/med_{}", "a".repeat(64));
    app.get(&missing, None)
        .await
        .expect_error(404, "media_not_found", None);
}

async fn post_carries_uploaded_media(app: &TestApp) {
    let cleo = app.buyer("cleo").await;
    let dan = app.buyer("dan").await;
    let a = upload(app, &cleo, "image/png", png(1000, 7))
        .await
        .expect(201)
        .body;
    let b = upload(app, &cleo, "image/jpeg", {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
        jpeg.resize(2000, 8);
        jpeg
    })
    .await
    .expect(201)
    .body;
    let post = app
        .post(
            "/api/v1/posts",
            Some(&cleo),
            json!({"text": "two pictures", "media_ids": [b["id"], a["id"]]}),
        )
        .await
        .expect(201)
        .body;
    let media = post["media"].as_array().unwrap();
    assert_eq!(media.len(), 2);
    assert_eq!(media[0]["id"], b["id"], "in the author's order");
    assert_eq!(media[0]["content_type"], "image/jpeg");
    assert_eq!(media[1]["url"], a["url"]);
    assert_eq!(post["notices"], json!([]));

    // Someone else's upload cannot be attached by id.
    app.post("/api/v1/posts", Some(&dan), json!({"media_ids": [a["id"]]}))
        .await
        .expect_error(422, "invalid_parameter", Some("media_ids"));
    let feed = app
        .get("/api/v1/feed/discover", Some(&dan))
        .await
        .expect(200)
        .body;
    assert_eq!(feed["posts"][0]["media"][1]["id"], a["id"]);
    let image = app
        .client
        .get(format!("{}{}", app.base, media[0]["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    assert_eq!(image.bytes().await.unwrap().len(), 2000);
}

/// A one-second 64x64 MP4 made by ffmpeg, which must be installed for this test.
fn tiny_mp4(dir: &std::path::Path) -> Vec<u8> {
    video_from(dir, "clip.mp4", "testsrc=duration=1:size=64x64:rate=5")
}

/// The video `from` copied into another file with another title: other bytes, the same frames.
fn remuxed(dir: &std::path::Path, from: &str, name: &str) -> Vec<u8> {
    let out = dir.join(name);
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(dir.join(from))
        .args(["-c", "copy", "-metadata", &format!("title={name}")])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(&out).unwrap()
}

/// A video made by ffmpeg from a lavfi `source`, in the format `name`'s extension says.
fn video_from(dir: &std::path::Path, name: &str, source: &str) -> Vec<u8> {
    let out = dir.join(name);
    let made = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", source])
        .args(["-pix_fmt", "yuv420p"])
        .arg(&out)
        .status();
    match made {
        Ok(status) if status.success() => std::fs::read(&out).unwrap(),
        Ok(status) => panic!("ffmpeg could not make a test video ({status})"),
        Err(err) => panic!(
            "this test needs ffmpeg to make a test video and extract its cover, and it cannot run ({err}); \
             install ffmpeg (e.g. `apt-get install ffmpeg`)"
        ),
    }
}

async fn video_gets_a_real_cover_frame_with_ffmpeg(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let mp4 = tiny_mp4(dir.path());
    let token = app.buyer("eve").await;
    let media = upload(app, &token, "video/mp4", mp4.clone())
        .await
        .expect(201)
        .body;
    assert_eq!(media["kind"], "video");
    assert_eq!(media["content_type"], "video/mp4");
    assert_eq!(media["size"], mp4.len());
    assert_eq!(media["cover_placeholder"], false);
    let cover_url = media["cover_url"].as_str().unwrap();
    assert!(
        cover_url.starts_with("/api/v1/media/med_") && cover_url != media["url"],
        "{cover_url}"
    );
    let cover = app
        .client
        .get(format!("{}{cover_url}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(cover.status(), StatusCode::OK);
    assert_eq!(cover.headers()["content-type"], "image/jpeg");
    let jpeg = cover.bytes().await.unwrap();
    assert!(
        jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) && jpeg.len() > 100,
        "a real JPEG frame"
    );
    // The video and its cover, nothing staged left behind.
    assert_eq!(stored(app).len(), 2, "{:?}", stored(app));

    // The same video again reuses the cover.
    let again = upload(app, &token, "video/mp4", mp4).await.expect(201).body;
    assert_eq!(again["existed"], true);
    assert_eq!(again["cover_url"], media["cover_url"]);
    let post = app
        .call(
            Method::POST,
            "/api/v1/posts",
            Some(&token),
            Some(json!({"media_ids": [media["id"]]})),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(post["notices"], json!([]));
    assert_eq!(post["media"][0]["cover_url"], media["cover_url"]);
}

/// The idempotency layer buffers JSON bodies up to the gateway limit; an upload streams past it, key or not, and
/// sending it again answers with the same object.
async fn upload_with_idempotency_key_streams_past_the_json_limit(app: &TestApp) {
    let token = app.buyer("ivy").await;
    let file = png(48 * 1024, 9);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .post(format!("{}/api/v1/media", app.base))
            .bearer_auth(&token)
            .header("content-type", "image/png")
            .header("idempotency-key", "upload-1")
            .body(file.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(stored(app), vec![ids[0].clone()]);
    // A JSON body over the limit is still refused.
    let big = "x".repeat(20 * 1024);
    app.post("/api/v1/posts", Some(&token), json!({"text": big}))
        .await
        .expect(413);
}

/// A file that takes longer to arrive than the request deadline still uploads: the response of an upload starts
/// only once the whole file is in, so uploads have their own deadline.
async fn upload_slower_than_the_request_deadline_succeeds(app: &TestApp) {
    let token = app.buyer("sam").await;
    let file = png(40_000, 3);
    let pieces: Vec<Vec<u8>> = file.chunks(10_000).map(<[u8]>::to_vec).collect();
    let slow = futures::StreamExt::then(tokio_stream::iter(pieces), |piece| async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Ok::<_, std::io::Error>(piece)
    });
    let response = app
        .client
        .post(format!("{}/api/v1/media", app.base))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body(reqwest::Body::wrap_stream(slow))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["size"], 40_000);
}

const HOUR_MS: i64 = 60 * 60 * 1000;

/// Runs the media sweep as if `ahead_ms` had passed, with the server's own settings.
async fn sweep_ahead(app: &TestApp, ahead_ms: i64) -> MediaSwept {
    let db = Db::connect(&app.settings.database_url(), 1).await.unwrap();
    let library = Library::open(&app.settings).await.unwrap();
    let grace_ms = i64::try_from(app.settings.social.media_gc_after_secs * 1000).unwrap();
    let swept = sweep_media(&db, &library, now_ms() + ahead_ms - grace_ms)
        .await
        .unwrap();
    db.close().await;
    swept
}

async fn status_of(app: &TestApp, url: &str) -> u16 {
    app.client
        .get(format!("{}{url}", app.base))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn id_of(media: &Value) -> String {
    media["id"].as_str().unwrap().to_owned()
}

/// The text of an HLS playlist, an ffconcat script or a DASH manifest is no video: the sniffer refuses it. A file
/// that starts like a WebM but is a DASH manifest naming another local video is stored, and its cover is the
/// placeholder, never that other video's frame.
async fn crafted_playlists_never_lend_another_file_as_cover(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("clip.mp4");
    tiny_mp4(dir.path());
    let token = app.buyer("mallory").await;
    let playlist = format!(
        "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{}\n#EXT-X-ENDLIST\n",
        other.display()
    );
    let concat = format!("ffconcat version 1.0\nfile {}\n", other.display());
    let manifest = format!(
        "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\" \
         mediaPresentationDuration=\"PT1S\" minBufferTime=\"PT1S\" \
         profiles=\"urn:mpeg:dash:profile:isoff-on-demand:2011\"><Period><AdaptationSet mimeType=\"video/mp4\">\
         <Representation id=\"1\" bandwidth=\"1000\" width=\"64\" height=\"64\"><BaseURL>{}</BaseURL>\
         </Representation></AdaptationSet></Period></MPD>\n",
        other.display()
    );
    for text in [&playlist, &concat, &manifest] {
        upload(app, &token, "video/mp4", text.clone().into_bytes())
            .await
            .expect_error(422, "unsupported_media_type");
    }
    assert!(stored(app).is_empty(), "{:?}", stored(app));

    let mut webm_manifest = vec![0x1A, 0x45, 0xDF, 0xA3];
    webm_manifest.extend_from_slice(manifest.as_bytes());
    let media = upload(app, &token, "video/webm", webm_manifest)
        .await
        .expect(201)
        .body;
    assert_eq!(media["content_type"], "video/webm");
    assert_eq!(media["cover_placeholder"], true, "{media}");
    assert_eq!(stored(app), vec![id_of(&media)], "no cover was stored");
}

/// Over the quota is 409 `upload_quota_exceeded` before anything is stored; the same file again takes no more
/// room; quotas are per user, counted from the database (concurrent uploads included), and media the sweep
/// deletes gives its room back.
async fn uploads_past_the_quota_are_refused_and_nothing_stored(app: &TestApp) {
    let ann = app.buyer("ann").await;
    let bob = app.buyer("bob").await;
    let first = upload(app, &ann, "image/png", png(4000, 1))
        .await
        .expect(201)
        .body;
    let again = upload(app, &ann, "image/png", png(4000, 1))
        .await
        .expect(201)
        .body;
    assert_eq!(again["existed"], true);
    upload(app, &ann, "image/png", png(4000, 2))
        .await
        .expect(201);
    let before = stored(app);
    assert_eq!(before.len(), 2);

    let refused = upload(app, &ann, "image/png", png(4000, 3))
        .await
        .expect_error(409, "upload_quota_exceeded");
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("8000 of your 10000"),
        "{}",
        refused.body
    );
    assert_eq!(stored(app), before, "nothing stored");
    // At 8,000 of 10,000 bytes the same file again still fits: it is counted once.
    let third = upload(app, &ann, "image/png", png(4000, 1))
        .await
        .expect(201)
        .body;
    assert_eq!(third["id"], first["id"]);
    assert_eq!(third["existed"], true);

    // Bob's quota is his own; the file he stores still counts for Ann when she uploads it.
    upload(app, &bob, "image/png", png(4000, 3))
        .await
        .expect(201);
    upload(app, &ann, "image/png", png(4000, 3))
        .await
        .expect_error(409, "upload_quota_exceeded");

    // Six different files at once from one user with room for two: exactly two are kept.
    let cleo = app.buyer("cleo").await;
    let uploads = (0..6u8).map(|seed| upload(app, &cleo, "image/png", png(4000, 10 + seed)));
    let replies = futures::future::join_all(uploads).await;
    let kept = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    let refused = replies
        .iter()
        .filter(|r| r.status.as_u16() == 409 && r.body["code"] == "upload_quota_exceeded")
        .count();
    assert_eq!((kept, refused), (2, 4));
    assert_eq!(stored(app).len(), 3 + 2);

    // Ann's media stays unused until the sweep deletes it; then she has room again.
    sweep_ahead(app, 25 * HOUR_MS).await;
    upload(app, &ann, "image/png", png(4000, 3))
        .await
        .expect(201);
}

/// A fifth new file in 24 hours is 409 `too_many_uploads`; the same file again is not a new upload.
async fn the_daily_upload_count_is_capped(app: &TestApp) {
    let token = app.buyer("dora").await;
    for seed in 0..4u8 {
        upload(app, &token, "image/png", png(500, seed))
            .await
            .expect(201);
    }
    upload(app, &token, "image/png", png(500, 0))
        .await
        .expect(201);
    upload(app, &token, "image/png", png(500, 9))
        .await
        .expect_error(409, "too_many_uploads");
    assert_eq!(stored(app).len(), 4);
}

/// A video whose cover extraction passes a limit still uploads, with the placeholder cover and the post's notice.
async fn a_video_whose_extraction_passes_a_limit_gets_the_placeholder(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let token = app.buyer("tess").await;
    let media = upload(app, &token, "video/mp4", tiny_mp4(dir.path()))
        .await
        .expect(201)
        .body;
    assert_eq!(media["cover_placeholder"], true, "{media}");
    assert_eq!(media["cover_url"], "/api/v1/media/med_placeholder");
    let post = app
        .post(
            "/api/v1/posts",
            Some(&token),
            json!({"media_ids": [media["id"]]}),
        )
        .await
        .expect(201)
        .body;
    assert!(
        post["notices"][0].as_str().unwrap().contains("placeholder"),
        "{post}"
    );
    assert_eq!(stored(app), vec![id_of(&media)]);
}

/// Media no post carries (never posted, or only by a deleted post) is deleted, object and row, once unused past
/// the grace period; a video's cover goes with it unless another video shares it. Posted media stays.
async fn unused_media_is_swept_and_used_media_stays(app: &TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let token = app.buyer("gil").await;
    let unposted = upload(app, &token, "image/png", png(1000, 1))
        .await
        .expect(201)
        .body;
    let posted = upload(app, &token, "image/png", png(1000, 2))
        .await
        .expect(201)
        .body;
    let unposted_by_a_deleted_post = upload(app, &token, "image/png", png(1000, 3))
        .await
        .expect(201)
        .body;
    // Two videos with the same frames share one cover; a third has its own.
    let short = video_from(
        dir.path(),
        "short.mp4",
        "testsrc=duration=1:size=64x64:rate=5",
    );
    let long = remuxed(dir.path(), "short.mp4", "long.mp4");
    let other = video_from(
        dir.path(),
        "other.mp4",
        "testsrc=duration=1:size=48x48:rate=5",
    );
    let short = upload(app, &token, "video/mp4", short)
        .await
        .expect(201)
        .body;
    let long = upload(app, &token, "video/mp4", long)
        .await
        .expect(201)
        .body;
    let other = upload(app, &token, "video/mp4", other)
        .await
        .expect(201)
        .body;
    assert_eq!(short["cover_url"], long["cover_url"]);
    assert_ne!(other["cover_url"], short["cover_url"]);
    assert_eq!(stored(app).len(), 3 + 3 + 2);

    app.post(
        "/api/v1/posts",
        Some(&token),
        json!({"text": "keep", "media_ids": [posted["id"], long["id"]]}),
    )
    .await
    .expect(201);
    let gone = app
        .post(
            "/api/v1/posts",
            Some(&token),
            json!({"media_ids": [unposted_by_a_deleted_post["id"]]}),
        )
        .await
        .expect(201)
        .body;
    app.delete(
        &format!("/api/v1/posts/{}", gone["id"].as_str().unwrap()),
        Some(&token),
    )
    .await
    .expect(204);

    // Within the grace period nothing goes.
    assert_eq!(sweep_ahead(app, 0).await, MediaSwept::default());
    assert_eq!(stored(app).len(), 8);

    let swept = sweep_ahead(app, 25 * HOUR_MS).await;
    assert_eq!(
        swept,
        MediaSwept {
            media: 4,
            covers: 1,
            failed: 0
        }
    );
    let cover = |m: &Value| m["cover_url"].as_str().unwrap().to_owned();
    let mut kept = vec![
        id_of(&posted),
        id_of(&long),
        cover(&long).replace("/api/v1/media/", ""),
    ];
    kept.sort();
    assert_eq!(stored(app), kept);
    for media in [&unposted, &unposted_by_a_deleted_post, &short, &other] {
        assert_eq!(status_of(app, media["url"].as_str().unwrap()).await, 404);
    }
    assert_eq!(status_of(app, &cover(&other)).await, 404);
    for url in [
        posted["url"].as_str().unwrap(),
        long["url"].as_str().unwrap(),
        &cover(&long),
    ] {
        assert_eq!(status_of(app, url).await, 200, "{url}");
    }
    let feed = app
        .get("/api/v1/feed/discover", None)
        .await
        .expect(200)
        .body;
    assert_eq!(feed["posts"][0]["media"][1]["cover_url"], long["cover_url"]);

    // Swept media cannot be posted; uploaded again it is new and whole.
    app.post(
        "/api/v1/posts",
        Some(&token),
        json!({"media_ids": [unposted["id"]]}),
    )
    .await
    .expect_error(422, "invalid_parameter", Some("media_ids"));
    let again = upload(app, &token, "image/png", png(1000, 1))
        .await
        .expect(201)
        .body;
    assert_eq!(again["existed"], false);
    assert_eq!(status_of(app, again["url"].as_str().unwrap()).await, 200);
}

/// Posts published while the sweep runs: each either holds its media (served) or is refused (422) with the media
/// gone; none points at a deleted object. A row deleted between a post's checks and its insert is caught too.
async fn a_post_never_points_at_swept_media(app: &TestApp) {
    let token = app.buyer("hal").await;
    let mut uploaded = Vec::new();
    for seed in 0..12u8 {
        uploaded.push(
            upload(app, &token, "image/png", png(800, seed))
                .await
                .expect(201)
                .body,
        );
    }
    let posts = futures::future::join_all(uploaded.iter().map(|media| {
        app.post(
            "/api/v1/posts",
            Some(&token),
            json!({"media_ids": [media["id"]]}),
        )
    }));
    let (replies, _) = tokio::join!(posts, sweep_ahead(app, 25 * HOUR_MS));
    for (media, reply) in uploaded.iter().zip(replies) {
        let served = status_of(app, media["url"].as_str().unwrap()).await;
        match reply.status.as_u16() {
            201 => assert_eq!(served, 200, "a post carries swept media {}", media["id"]),
            422 => assert_eq!(served, 404, "{}", reply.text),
            other => panic!("post answered {other}: {}", reply.text),
        }
    }
    // The row goes after the post's ownership check passed: the post is refused, not stored pointing at nothing.
    let late = upload(app, &token, "image/png", png(800, 99))
        .await
        .expect(201)
        .body;
    let db = Db::connect(&app.settings.database_url(), 1).await.unwrap();
    sqlx::query("DELETE FROM media WHERE id = $1")
        .bind(id_of(&late))
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;
    let refused = app
        .post(
            "/api/v1/posts",
            Some(&token),
            json!({"text": "late", "media_ids": [late["id"]]}),
        )
        .await
        .expect_error(422, "invalid_parameter", Some("media_ids"));
    assert!(
        refused.text.contains("no longer stored"),
        "{}",
        refused.text
    );
    let feed = app
        .get("/api/v1/feed/discover", None)
        .await
        .expect(200)
        .body;
    assert!(
        feed["posts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["text"] != "late"),
        "{feed}"
    );
}
