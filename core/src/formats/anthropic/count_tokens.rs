//! A rough input-token estimate for `/v1/messages/count_tokens` when the provider cannot count.

use crate::hub::{ChatRequest, ContentBlock};

/// Characters per token assumed by [`count_tokens_estimate`] (a common rule of thumb for English
/// text and code with Claude-like tokenizers).
pub const CHARS_PER_TOKEN: u64 = 4;

/// Tokens counted for each image or document, whatever its size (about what Anthropic charges
/// for a full-size image; the bytes themselves are not text).
pub const TOKENS_PER_MEDIA: u64 = 1600;

/// A rough estimate of a request's input tokens: every character of text (system prompt,
/// messages, thinking, tool results, tool call names and arguments, tool names, descriptions
/// and JSON schemas) at [`CHARS_PER_TOKEN`] characters per token, rounded up, plus
/// [`TOKENS_PER_MEDIA`] per image or document. Never less than 1. It is only an estimate: real
/// counts depend on the model's tokenizer and the provider's hidden prompt.
pub fn count_tokens_estimate(req: &ChatRequest) -> u64 {
    let mut chars = 0u64;
    let mut media = 0u64;
    for message in &req.messages {
        for block in &message.content {
            count_block(block, &mut chars, &mut media);
        }
    }
    for tool in &req.tools {
        chars += char_count(&tool.name);
        chars += tool.description.as_deref().map_or(0, char_count);
        chars += char_count(&tool.parameters.to_string());
    }
    (chars.div_ceil(CHARS_PER_TOKEN) + media * TOKENS_PER_MEDIA).max(1)
}

/// Characters of text and media items in `blocks`, counted as [`count_tokens_estimate`] does.
pub(crate) fn block_chars(blocks: &[ContentBlock]) -> (u64, u64) {
    let (mut chars, mut media) = (0, 0);
    for block in blocks {
        count_block(block, &mut chars, &mut media);
    }
    (chars, media)
}

fn char_count(text: &str) -> u64 {
    text.chars().count() as u64
}

fn count_block(block: &ContentBlock, chars: &mut u64, media: &mut u64) {
    match block {
        ContentBlock::Text { text } | ContentBlock::Thinking { text, .. } => *chars += char_count(text),
        ContentBlock::ToolCall { name, arguments, .. } => *chars += char_count(name) + char_count(arguments),
        ContentBlock::ToolResult { content, .. } => {
            for part in content {
                count_block(part, chars, media);
            }
        }
        ContentBlock::Image { .. } | ContentBlock::Document { .. } => *media += 1,
        ContentBlock::RedactedThinking { .. } | ContentBlock::Unknown { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::test_support::message;
    use crate::hub::{MediaSource, Role, ToolDefinition};

    #[test]
    fn an_empty_request_counts_at_least_one() {
        assert_eq!(count_tokens_estimate(&ChatRequest::default()), 1);
    }

    #[test]
    fn counts_text_tools_arguments_and_media() {
        let req = ChatRequest {
            messages: vec![
                message(Role::System, vec![ContentBlock::text("abcd")]),
                message(
                    Role::User,
                    vec![
                        ContentBlock::text("héllo"),
                        ContentBlock::Image { source: MediaSource::Url("https://x/y.png".into()), detail: None },
                    ],
                ),
                message(
                    Role::Assistant,
                    vec![ContentBlock::ToolCall { id: "ignored-id".into(), name: "f".into(), arguments: "{}".into() }],
                ),
                message(
                    Role::Tool,
                    vec![ContentBlock::ToolResult {
                        tool_call_id: "ignored-id".into(),
                        content: vec![ContentBlock::text("ok")],
                        is_error: false,
                    }],
                ),
            ],
            tools: vec![ToolDefinition {
                name: "f".into(),
                description: Some("d".into()),
                parameters: serde_json::json!({}),
                strict: None,
                namespace: None,
            }],
            ..Default::default()
        };
        // 4 + 5 + (1 + 2) + 2 + (1 + 1 + 2) = 18 chars → 5 tokens, plus one image.
        assert_eq!(count_tokens_estimate(&req), 5 + TOKENS_PER_MEDIA);
    }
}
