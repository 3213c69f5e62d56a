//! Inline media as the codecs meet it: `data:<media type>;base64,<payload>` URLs (RFC 2397),
//! which OpenAI's `image_url` and `file_data`, Ollama's `images` and clients of every format
//! use to send an image or a file inline, and the base64 they carry. One parser for all five
//! codecs, so a data URL means the same thing whichever format it arrives in.
//!
//! Only base64 data URLs are split: a data URL with percent-encoded text (`data:,hello`) is
//! rare in chat APIs and travels on as a URL, as it always did.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use super::MediaSource;

/// A base64 data URL's two parts, borrowed from the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataUrl<'a> {
    /// Everything between `data:` and `;base64`, parameters included
    /// (`text/plain;charset=utf-8`); may be empty.
    pub media_type: &'a str,
    /// The base64 payload as written.
    pub data: &'a str,
}

impl<'a> DataUrl<'a> {
    /// Splits `data:<media type>;base64,<payload>`; None for any other URL. The scheme is
    /// matched without regard to case (RFC 3986 §3.1: `DATA:` is the same scheme).
    pub fn parse(url: &'a str) -> Option<DataUrl<'a>> {
        let scheme = url.get(..5)?;
        if !scheme.eq_ignore_ascii_case("data:") {
            return None;
        }
        let (media_type, data) = url[5..].split_once(";base64,")?;
        Some(DataUrl { media_type, data })
    }
}

/// `data:<media type>;base64,<data>`.
pub fn data_url(media_type: &str, data: &str) -> String {
    format!("data:{media_type};base64,{data}")
}

impl MediaSource {
    /// A URL as media: a base64 data URL becomes [`MediaSource::Base64`], any other URL stays
    /// one.
    pub fn from_url(url: &str) -> MediaSource {
        match DataUrl::parse(url) {
            Some(DataUrl { media_type, data }) => {
                MediaSource::Base64 { media_type: media_type.to_owned(), data: data.to_owned() }
            }
            None => MediaSource::Url(url.to_owned()),
        }
    }

    /// The media as one URL: itself, or base64 as a data URL.
    pub fn to_url(&self) -> String {
        match self {
            MediaSource::Url(url) => url.clone(),
            MediaSource::Base64 { media_type, data } => data_url(media_type, data),
        }
    }

    /// `(media type, base64 payload)` when the bytes are inline: base64, or a URL that is a
    /// base64 data URL. None for a URL the provider would have to fetch.
    pub fn inline(&self) -> Option<(&str, &str)> {
        match self {
            MediaSource::Base64 { media_type, data } => Some((media_type, data)),
            MediaSource::Url(url) => DataUrl::parse(url).map(|d| (d.media_type, d.data)),
        }
    }
}

/// Base64 as clients write it: padding optional, and bits past the last whole byte ignored,
/// since encoders differ on both and the bytes are the same.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Bytes → base64 (standard alphabet, padded), the form every provider takes.
pub fn encode_base64(bytes: &[u8]) -> String {
    general_purpose::STANDARD.encode(bytes)
}

/// A base64 payload's bytes (standard alphabet, padded or not; line breaks and other ASCII
/// whitespace, which MIME-wrapped base64 has, are skipped). None when it is not base64.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    if text.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: String = text.split_ascii_whitespace().collect();
        STANDARD.decode(compact).ok()
    } else {
        STANDARD.decode(text).ok()
    }
}

/// The first bytes of a base64 payload, from its first `chars` characters (a multiple of 4
/// gives whole bytes), in the standard or the URL-safe alphabet; empty when neither reads it.
/// For sniffing a type from magic bytes without decoding a whole image.
pub fn decode_base64_prefix(text: &str, chars: usize) -> Vec<u8> {
    let prefix: String = text.chars().filter(|c| !c.is_ascii_whitespace()).take(chars).collect();
    STANDARD.decode(&prefix).or_else(|_| URL_SAFE.decode(&prefix)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_base64_data_urls() {
        assert_eq!(
            DataUrl::parse("data:image/png;base64,iVBO"),
            Some(DataUrl { media_type: "image/png", data: "iVBO" })
        );
        assert_eq!(
            DataUrl::parse("data:text/plain;charset=utf-8;base64,aGk="),
            Some(DataUrl { media_type: "text/plain;charset=utf-8", data: "aGk=" })
        );
        assert_eq!(DataUrl::parse("data:;base64,AAAA"), Some(DataUrl { media_type: "", data: "AAAA" }));
        assert_eq!(DataUrl::parse("data:image/png;base64,"), Some(DataUrl { media_type: "image/png", data: "" }));
        // What the five codecs' `strip_prefix("data:")` missed: the scheme's case.
        assert_eq!(DataUrl::parse("DATA:image/png;base64,iVBO").map(|d| d.data), Some("iVBO"));
    }

    #[test]
    fn other_urls_are_not_data_urls() {
        for url in ["https://x.test/a.png", "data:text/plain,hello", "data:image/png,iVBO", "dat", "", "é"] {
            assert_eq!(DataUrl::parse(url), None, "{url:?}");
        }
    }

    #[test]
    fn media_sources_from_and_to_urls() {
        let inline = MediaSource::from_url("data:image/png;base64,iVBO");
        assert_eq!(inline, MediaSource::Base64 { media_type: "image/png".into(), data: "iVBO".into() });
        assert_eq!(inline.to_url(), "data:image/png;base64,iVBO");
        assert_eq!(inline.inline(), Some(("image/png", "iVBO")));
        let remote = MediaSource::from_url("https://x.test/a.png");
        assert_eq!(remote, MediaSource::Url("https://x.test/a.png".into()));
        assert_eq!(remote.to_url(), "https://x.test/a.png");
        assert_eq!(remote.inline(), None);
        assert_eq!(MediaSource::Url("data:image/jpeg;base64,/9j/".into()).inline(), Some(("image/jpeg", "/9j/")));
    }

    /// The cases the hand-written encoder and decoder were tested on, through the crate.
    #[test]
    fn base64_round_trips() {
        for text in ["", "a", "ab", "abc", "abcd", "héllo wörld\n"] {
            let encoded = encode_base64(text.as_bytes());
            assert_eq!(decode_base64(&encoded).as_deref(), Some(text.as_bytes()), "{text}");
        }
        assert_eq!(encode_base64(b"Man"), "TWFu");
        assert_eq!(encode_base64(b"Ma"), "TWE=");
        assert_eq!(decode_base64("TQ=="), Some(b"M".to_vec()));
        assert_eq!(decode_base64("TQ"), Some(b"M".to_vec()), "padding is optional");
        assert_eq!(decode_base64("aGVs\nbG8=\n"), Some(b"hello".to_vec()), "MIME line breaks");
        assert_eq!(decode_base64("TR=="), Some(b"M".to_vec()), "stray trailing bits");
        assert_eq!(decode_base64("not base64!"), None);
        assert_eq!(decode_base64("T"), None);
        // The hand-written decoder stopped at the first `=` and took whatever followed.
        assert_eq!(decode_base64("TQ==TQ=="), None);
    }

    #[test]
    fn prefixes_in_either_alphabet() {
        assert_eq!(decode_base64_prefix("iVBORw0KGgoAAAANSUhEUgAAAG0AAABm", 16)[..4], [0x89, b'P', b'N', b'G']);
        assert_eq!(decode_base64_prefix("/9j/4AAQ", 16)[..3], [0xFF, 0xD8, 0xFF]);
        assert_eq!(decode_base64_prefix("_9j_4AAQ", 16)[..3], [0xFF, 0xD8, 0xFF], "URL-safe");
        assert_eq!(decode_base64_prefix("R0lG\nODlh", 16), b"GIF89a".to_vec(), "whitespace skipped");
        assert_eq!(decode_base64_prefix("R0lGODlhAQABAIAAAAAAAP", 16).len(), 12);
        assert!(decode_base64_prefix("%%%%", 16).is_empty());
    }
}
