//! Token estimates for answers whose upstream sent no usage: about four characters per token
//! over the request's text and the answer's, as `count_tokens` estimates. Rows built from them
//! are marked `estimated`.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::formats::anthropic::count_tokens::{CHARS_PER_TOKEN, TOKENS_PER_MEDIA, block_chars};
use crate::formats::{self, anthropic::count_tokens_estimate};
use crate::hub::{BlockDelta, BlockStart, ChatResponse, StreamEvent, Usage};
use crate::providers::WireFormat;

/// The estimated usage of a request (`body` in the client's `format`) whose answer held
/// `answer_chars` characters of text.
pub fn estimated_usage(format: WireFormat, body: &[u8], answer_chars: u64) -> Usage {
    let input_tokens = match formats::decode_request(format, body) {
        Ok(request) => count_tokens_estimate(&request),
        // Unreadable as a chat request (it was accepted, so this is rare): its bytes.
        Err(_) => (body.len() as u64).div_ceil(CHARS_PER_TOKEN).max(1),
    };
    Usage { input_tokens, output_tokens: answer_chars.div_ceil(CHARS_PER_TOKEN), ..Default::default() }
}

/// Characters of a complete answer (text, thinking, tool calls), media at their token weight.
pub fn response_chars(response: &ChatResponse) -> u64 {
    let (chars, media) = block_chars(&response.content);
    chars + media * TOKENS_PER_MEDIA * CHARS_PER_TOKEN
}

/// Characters of answer one stream event carries.
pub fn event_chars(event: &StreamEvent) -> u64 {
    let count = |text: &str| text.chars().count() as u64;
    match event {
        StreamEvent::BlockDelta {
            delta: BlockDelta::Text(text) | BlockDelta::ToolArguments(text) | BlockDelta::Thinking(text),
            ..
        } => count(text),
        StreamEvent::BlockStart { block: BlockStart::ToolCall { name, .. }, .. } => count(name),
        _ => 0,
    }
}

/// The fields of an OpenAI chat chunk's `delta` that carry answer text, as searchers built once
/// (building one per chunk cost more than the search: 2% of a stream's CPU).
static OPENAI_TEXT_FIELDS: LazyLock<[Finder<'static>; 4]> = LazyLock::new(|| {
    [b"\"content\":".as_slice(), b"\"reasoning_content\":", b"\"arguments\":", b"\"refusal\":"].map(Finder::new)
});

/// Characters of answer text in raw OpenAI chat SSE bytes, found by a byte scan (the
/// passthrough never parses chunks). A string split across two reads is partly missed: this
/// feeds an estimate only.
pub fn openai_chunk_chars(chunk: &[u8]) -> u64 {
    let mut total = 0;
    for field in OPENAI_TEXT_FIELDS.iter() {
        for at in field.find_iter(chunk) {
            let rest = &chunk[at + field.needle().len()..];
            let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
            if let Some(string) = rest.strip_prefix(b"\"") {
                total += json_string_chars(string);
            }
        }
    }
    total
}

/// Characters of a JSON string's content up to its closing quote (escapes count as one).
fn json_string_chars(bytes: &[u8]) -> u64 {
    let mut chars = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => break,
            b'\\' => {
                i += if bytes.get(i + 1) == Some(&b'u') { 6 } else { 2 };
                chars += 1;
                continue;
            }
            // UTF-8 continuation bytes belong to the character before.
            _ if b & 0xC0 == 0x80 => {}
            _ => chars += 1,
        }
        i += 1;
    }
    chars
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::ContentBlock;

    #[test]
    fn openai_chunks_count_their_text_escapes_and_unicode() {
        let chunk = concat!(
            "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hé \\\"x\\\" \\u00e9\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"reasoning_content\": \"abc\",\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\n",
        );
        // `Hé "x" é` is 8 characters; `abc` 3; `{}` 2.
        assert_eq!(openai_chunk_chars(chunk.as_bytes()), 13);
    }

    #[test]
    fn estimates_use_four_characters_per_token() {
        let body = br#"{"model":"m","messages":[{"role":"user","content":"abcdefgh"}]}"#;
        let usage = estimated_usage(WireFormat::OpenaiChat, body, 9);
        assert_eq!((usage.input_tokens, usage.output_tokens), (2, 3));
        let response = ChatResponse { content: vec![ContentBlock::text("hello")], ..Default::default() };
        assert_eq!(response_chars(&response), 5);
        let delta = StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("héllo".into()) };
        assert_eq!(event_chars(&delta), 5);
    }
}
