//! Reads token usage out of upstream bodies without parsing what accounting does not need.

use std::sync::LazyLock;

use memchr::memmem::{Finder, FinderRev};
use serde::Deserialize;

use crate::formats::openai_chat::usage_from_wire;
use crate::hub::Usage;

#[derive(Deserialize)]
struct UsageOnly {
    usage: Option<serde_json::Value>,
}

/// Usage from a whole OpenAI chat response body.
pub fn usage_in_body(body: &[u8]) -> Option<Usage> {
    usage_at_end(body)
        .or_else(|| serde_json::from_slice::<UsageOnly>(body).ok()?.usage.as_ref().and_then(usage_from_wire))
}

/// The hot path: the last `"usage":` key's object, parsed alone. OpenAI puts usage last, and a
/// key cannot match inside a string (its quotes would be escaped); anything unexpected falls
/// back to parsing the whole body.
fn usage_at_end(body: &[u8]) -> Option<Usage> {
    // Searchers built once: building one per call cost more than the search on small chunks.
    static USAGE_KEY: LazyLock<FinderRev<'static>> = LazyLock::new(|| FinderRev::new(b"\"usage\""));
    let at = USAGE_KEY.rfind(body)?;
    let rest = body[at + 7..].trim_ascii_start().strip_prefix(b":")?.trim_ascii_start();
    if !rest.starts_with(b"{") {
        return None;
    }
    let value = serde_json::Deserializer::from_slice(rest).into_iter::<serde_json::Value>().next()?.ok()?;
    usage_from_wire(&value)
}

/// Usage from an SSE chunk, looked at only when it mentions `"usage"` with a value.
pub fn usage_in_chunk(chunk: &[u8]) -> Option<Usage> {
    static USAGE_OBJECT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"usage\":{"));
    USAGE_OBJECT.find(chunk)?;
    chunk
        .split(|b| *b == b'\n')
        .filter_map(|line| line.strip_prefix(b"data:"))
        .filter_map(|data| usage_in_body(data.trim_ascii()))
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_usage_in_the_final_chunk() {
        let chunk = b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}\n\ndata: [DONE]\n\n";
        assert_eq!(usage_in_chunk(chunk).map(|u| (u.input_tokens, u.output_tokens)), Some((5, 7)));
        assert_eq!(usage_in_chunk(b"data: {\"choices\":[],\"usage\":null}\n\n"), None);
    }

    #[test]
    fn finds_usage_at_the_end_of_a_body_or_anywhere() {
        let last = br#"{"choices":[{"message":{"content":"say \"usage\": {}"}}],"usage" : {"prompt_tokens":5,"completion_tokens":7},"x":1}"#;
        assert_eq!(usage_in_body(last).map(|u| (u.input_tokens, u.output_tokens)), Some((5, 7)));
        let first = br#"{"usage":{"prompt_tokens":2,"completion_tokens":3},"choices":[]}"#;
        assert_eq!(usage_in_body(first).map(|u| (u.input_tokens, u.output_tokens)), Some((2, 3)));
        assert_eq!(usage_in_body(br#"{"usage":null}"#), None);
    }
}
