//! What a file is, read from its first bytes; the name and the declared type are never trusted.

/// Bytes enough to recognise every accepted format.
pub const SNIFF_LEN: usize = 12;

/// An accepted format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    WebP,
    Mp4,
    WebM,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::WebP => "image/webp",
            Self::Mp4 => "video/mp4",
            Self::WebM => "video/webm",
        }
    }

    pub fn is_video(self) -> bool {
        matches!(self, Self::Mp4 | Self::WebM)
    }

    /// "image" or "video".
    pub fn kind(self) -> &'static str {
        if self.is_video() { "video" } else { "image" }
    }
}

/// The format of a file starting with `head` (at least [`SNIFF_LEN`] bytes unless the file is shorter).
pub fn sniff(head: &[u8]) -> Option<Format> {
    match head {
        [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Format::Png),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Format::Gif),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some(Format::WebP),
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => Some(Format::Mp4),
        [0x1A, 0x45, 0xDF, 0xA3, ..] => Some(Format::WebM),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_format_by_its_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\r"), Some(Format::Png));
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some(Format::Gif));
        assert_eq!(sniff(b"GIF87a\x01\0"), Some(Format::Gif));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(Format::WebP));
        assert_eq!(sniff(b"\0\0\0\x20ftypisom"), Some(Format::Mp4));
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]), Some(Format::WebM));
        assert_eq!(Format::WebM.kind(), "video");
        assert_eq!(Format::Png.kind(), "image");
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(sniff(b"hello, this is text"), None);
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"GIF90a"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0xFF, 0xD8]), None);
    }
}
