//! Percent-decoding, the one decoder for URL path segments (an SDK may encode the `/` of
//! `provider/model`) and query strings (the management API's `?model=a%2Fb`).
//!
//! The decoding itself is the `percent-encoding` crate's (the decoder `url` and
//! `form_urlencoded` use), so a malformed escape is read the way browsers and HTTP libraries
//! read it: a `%` not followed by two hex digits stays a literal `%` (`%+5` is the three
//! characters `%+5`, never the byte 5). Bytes that are not UTF-8 become U+FFFD: an id or a
//! filter value with them matches nothing, which answers the request as well as a refusal.

use std::borrow::Cow;

/// A path segment's `%XX` escapes decoded; `+` stays a `+`.
pub fn percent_decode(text: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy()
}

/// A query-string name or value (`application/x-www-form-urlencoded`): `+` is a space, then
/// [`percent_decode`], so an escaped `%2B` is still a plus.
pub fn form_decode(text: &str) -> Cow<'_, str> {
    if text.contains('+') {
        Cow::Owned(percent_decode(&text.replace('+', " ")).into_owned())
    } else {
        percent_decode(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_in_either_case() {
        assert_eq!(percent_decode("openai%2Fgpt-4o"), "openai/gpt-4o");
        assert_eq!(percent_decode("openai%2fgpt-4o"), "openai/gpt-4o");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
        assert_eq!(percent_decode("plain"), "plain");
        assert!(matches!(percent_decode("plain"), Cow::Borrowed(_)), "nothing to decode, nothing copied");
    }

    /// Where the old hand-written decoders agreed with the crate, nothing changed: a malformed
    /// escape stays as written (the path decoder did that already) and `+` is literal in a path.
    #[test]
    fn malformed_escapes_stay_literal() {
        for text in ["%", "%2", "a%zz", "%G1", "100%", "%%41"] {
            let expected = text.replace("%41", "A");
            assert_eq!(percent_decode(text), expected, "{text:?}");
        }
        assert_eq!(percent_decode("a+b"), "a+b");
    }

    /// The query decoder read `%+5` as the byte 5 (`u8::from_str_radix` takes a sign); `+5` is
    /// no hex pair, so it stays text, and the `+` is a space as in any query string.
    #[test]
    fn a_signed_escape_is_not_a_byte() {
        assert_eq!(percent_decode("%+5"), "%+5");
        assert_eq!(form_decode("%+5"), "% 5");
        assert_eq!(form_decode("%-5"), "%-5");
        assert!(!form_decode("x%+5").contains('\u{5}'));
    }

    #[test]
    fn form_values_read_plus_as_space() {
        assert_eq!(form_decode("a%2Fb+c"), "a/b c");
        assert_eq!(form_decode("1%2B1"), "1+1", "an escaped plus is a plus");
        assert_eq!(form_decode("2026-12-01T00%3A00%3A00Z"), "2026-12-01T00:00:00Z");
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        assert_eq!(percent_decode("a%FFb"), "a\u{FFFD}b");
        assert_eq!(form_decode("%C3"), "\u{FFFD}");
    }
}
