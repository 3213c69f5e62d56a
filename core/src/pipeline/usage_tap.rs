//! Reads token usage out of upstream bodies without parsing what accounting does not need.

use serde::Deserialize;

use crate::formats::openai_chat::usage_from_wire;
use crate::hub::Usage;

#[derive(Deserialize)]
struct UsageOnly {
    usage: Option<serde_json::Value>,
}

/// Usage from a whole OpenAI chat response body.
pub fn usage_in_body(body: &[u8]) -> Option<Usage> {
    serde_json::from_slice::<UsageOnly>(body).ok()?.usage.as_ref().and_then(usage_from_wire)
}

/// Usage from an SSE chunk, looked at only when it mentions `"usage"` with a value.
pub fn usage_in_chunk(chunk: &[u8]) -> Option<Usage> {
    memchr::memmem::find(chunk, b"\"usage\":{")?;
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
}
