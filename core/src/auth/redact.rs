//! Credentials scrubbed out of text that leaves the gateway: an upstream that echoes the key
//! it was sent ("Incorrect API key provided: Bearer sk-…") must not hand it to the client.
//! Scrubbed: the account's own key wherever it appears, any `Bearer <token>`, and tokens that
//! start like a provider key. The replacement is plain ASCII, so JSON stays valid.

use std::borrow::Cow;

/// What stands in for a scrubbed secret.
pub const REDACTED: &str = "[REDACTED]";

/// Prefixes providers give their keys (OpenAI, Anthropic, Groq, xAI, Google, Hugging Face,
/// Replicate, NVIDIA, Perplexity, Cerebras, Fireworks, GitHub, GitLab, OpenRouter, …).
const KEY_PREFIXES: [&str; 16] = [
    "sk-",
    "sk_",
    "gsk_",
    "xai-",
    "AIza",
    "hf_",
    "r8_",
    "nvapi-",
    "pplx-",
    "csk-",
    "fw_",
    "ghp_",
    "github_pat_",
    "glpat-",
    "rk-",
    "pk-",
];

/// Characters a token is made of (base64url, hex, dots of a JWT).
fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+' | b'/' | b'=')
}

/// A prefixed token shorter than this after its prefix is a word, not a key (`sk-learn`).
const MIN_KEY_TAIL: usize = 12;
/// A bearer token or known secret shorter than this is not worth matching (and would match words).
const MIN_SECRET: usize = 8;

/// `text` with every credential replaced by [`REDACTED`]; borrowed (no copy) when none is found.
/// `known` are the secrets in play (the account's key); empty or short ones are ignored.
pub fn scrub<'a>(text: &'a [u8], known: &[&str]) -> Cow<'a, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < text.len() {
        if let Some(len) = secret_at(text, i, known) {
            let buf = out.get_or_insert_with(|| Vec::with_capacity(text.len()));
            buf.extend_from_slice(&text[copied..i]);
            buf.extend_from_slice(REDACTED.as_bytes());
            i += len;
            copied = i;
        } else {
            i += 1;
        }
    }
    match out {
        Some(mut buf) => {
            buf.extend_from_slice(&text[copied..]);
            Cow::Owned(buf)
        }
        None => Cow::Borrowed(text),
    }
}

/// [`scrub`] for a `String`.
pub fn scrub_str(text: String, known: &[&str]) -> String {
    match scrub(text.as_bytes(), known) {
        Cow::Borrowed(_) => text,
        Cow::Owned(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The length of the secret that starts at `i`, if one does.
fn secret_at(text: &[u8], i: usize, known: &[&str]) -> Option<usize> {
    let rest = &text[i..];
    for secret in known.iter().filter(|s| s.len() >= MIN_SECRET) {
        if rest.starts_with(secret.as_bytes()) {
            return Some(secret.len());
        }
    }
    // Only at the start of a token: `task-…` is not an `sk-` key.
    if i > 0 && token_byte(text[i - 1]) {
        return None;
    }
    // A token's run of characters, less a full stop that ends the sentence it stands in.
    let run = |from: usize| {
        let len = rest[from..].iter().take_while(|&&b| token_byte(b)).count();
        len - rest[from..from + len].iter().rev().take_while(|&&b| b == b'.').count()
    };
    if rest.len() > 7 && rest[..7].eq_ignore_ascii_case(b"bearer ") {
        let start = 7 + rest[7..].iter().take_while(|&&b| b == b' ').count();
        let token = run(start);
        if token >= MIN_SECRET {
            return Some(start + token);
        }
    }
    for prefix in KEY_PREFIXES {
        if rest.starts_with(prefix.as_bytes()) && run(prefix.len()) >= MIN_KEY_TAIL {
            return Some(prefix.len() + run(prefix.len()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubbed(text: &str, known: &[&str]) -> String {
        String::from_utf8(scrub(text.as_bytes(), known).into_owned()).unwrap()
    }

    #[test]
    fn echoed_keys_and_bearer_tokens_are_scrubbed() {
        let body =
            r#"{"error":{"message":"Incorrect API key provided: Bearer sk-proj-abcdef0123456789XYZ. See docs."}}"#;
        let out = scrubbed(body, &[]);
        assert_eq!(out, r#"{"error":{"message":"Incorrect API key provided: [REDACTED]. See docs."}}"#);
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "still JSON");
        assert_eq!(scrubbed("key sk-ant-api03-AAAABBBBCCCCDDDD rejected", &[]), "key [REDACTED] rejected");
        assert_eq!(scrubbed("bad key AIzaSyA1234567890abcdefgh", &[]), "bad key [REDACTED]");
        // The account's own key, whatever it looks like.
        assert_eq!(
            scrubbed("token mycorp.0123456789 is invalid", &["mycorp.0123456789"]),
            "token [REDACTED] is invalid"
        );
    }

    #[test]
    fn ordinary_text_is_left_alone_and_not_copied() {
        for text in [
            r#"{"error":{"message":"model not found","type":"invalid_request_error"}}"#,
            "use scikit sk-learn, task-1234567890123456 and a short Bearer abc",
            "",
        ] {
            assert!(matches!(scrub(text.as_bytes(), &["sk-short"]), Cow::Borrowed(_)), "{text}");
        }
    }
}
