//! Anthropic content blocks and turns ⇄ hub blocks and messages: text, image and document
//! sources, tool_use/tool_result, thinking; role alternation and tool-result placement on encode.

use serde_json::{Value, json};

use super::FORMAT;
use crate::error::GatewayError;
use crate::formats::json_body::invalid;
use crate::hub::data_url::{decode_base64, encode_base64};
use crate::hub::{ContentBlock, MediaSource, Message, Role};

fn unknown(value: Value) -> ContentBlock {
    ContentBlock::Unknown { format: FORMAT.into(), value }
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

// ---------------------------------------------------------------------------------------------
// Decoding: Anthropic → hub.

/// Decodes one Anthropic content block. Shapes the hub does not model come back as `Unknown`.
pub(crate) fn decode_block(block: Value) -> ContentBlock {
    match block.get("type").and_then(Value::as_str) {
        Some("text") => match block.get("text").and_then(Value::as_str) {
            Some(text) => ContentBlock::text(text),
            None => unknown(block),
        },
        Some("image") => match block.get("source").and_then(decode_source) {
            Some(source) => ContentBlock::Image { source, detail: None },
            None => unknown(block),
        },
        Some("document") => match block.get("source").and_then(decode_source) {
            Some(source) => ContentBlock::Document { source, name: str_field(&block, "title") },
            None => unknown(block),
        },
        Some("tool_use") => ContentBlock::ToolCall {
            id: str_field(&block, "id").unwrap_or_default(),
            name: str_field(&block, "name").unwrap_or_default(),
            arguments: match block.get("input") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(input) => input.to_string(),
            },
        },
        Some("tool_result") => ContentBlock::ToolResult {
            tool_call_id: str_field(&block, "tool_use_id").unwrap_or_default(),
            content: match block.get("content") {
                Some(Value::String(text)) => vec![ContentBlock::text(text)],
                Some(Value::Array(parts)) => parts.iter().cloned().map(decode_block).collect(),
                _ => Vec::new(),
            },
            is_error: block.get("is_error").and_then(Value::as_bool).unwrap_or(false),
        },
        Some("thinking") => ContentBlock::Thinking {
            text: str_field(&block, "thinking").unwrap_or_default(),
            signature: str_field(&block, "signature").filter(|s| !s.is_empty()),
        },
        Some("redacted_thinking") => match block.get("data").and_then(Value::as_str) {
            Some(data) => ContentBlock::RedactedThinking { data: data.to_owned() },
            None => unknown(block),
        },
        _ => unknown(block),
    }
}

/// `base64` and `url` sources; a plain-text document source becomes base64 `text/plain` so it
/// survives in the hub's media model. File ids and content sources are not modelled.
fn decode_source(source: &Value) -> Option<MediaSource> {
    match source.get("type")?.as_str()? {
        "base64" => {
            Some(MediaSource::Base64 { media_type: str_field(source, "media_type")?, data: str_field(source, "data")? })
        }
        "url" => Some(MediaSource::Url(str_field(source, "url")?)),
        "text" => Some(MediaSource::Base64 {
            media_type: str_field(source, "media_type").unwrap_or_else(|| "text/plain".into()),
            data: encode_base64(source.get("data")?.as_str()?.as_bytes()),
        }),
        _ => None,
    }
}

/// Decodes the request's `messages`. A user turn's `tool_result` blocks become hub `Tool`
/// messages (one per result, as OpenAI has them), in their original order with the turn's
/// other blocks; a system turn stays a System message where it is.
pub(crate) fn decode_messages(messages: Vec<Value>) -> Result<Vec<Message>, GatewayError> {
    let mut out = Vec::new();
    for (index, message) in messages.into_iter().enumerate() {
        let Value::Object(mut obj) = message else {
            return Err(invalid(format!("messages[{index}] must be an object")));
        };
        let role = match obj.remove("role").as_ref().and_then(Value::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            // A system turn inside the conversation (Claude Code sends its environment so, and
            // Anthropic's newer models take it): kept in place; each encoder puts it where its
            // format allows system text.
            Some("system") => Role::System,
            Some(other) => {
                return Err(invalid(format!("messages[{index}].role '{other}' is not one of user, assistant, system")));
            }
            None => return Err(invalid(format!("messages[{index}].role is required"))),
        };
        let blocks = match obj.remove("content") {
            Some(Value::String(text)) => vec![ContentBlock::Text { text }],
            Some(Value::Array(blocks)) => blocks
                .into_iter()
                .enumerate()
                .map(|(i, block)| {
                    if block.get("type").and_then(Value::as_str).is_none() {
                        return Err(invalid(format!(
                            "messages[{index}].content[{i}] must be an object with a string `type`"
                        )));
                    }
                    Ok(decode_block(block))
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => return Err(invalid(format!("messages[{index}].content must be a string or an array of blocks"))),
        };
        if role == Role::System {
            if blocks.iter().any(|b| !matches!(b, ContentBlock::Text { .. })) {
                return Err(invalid(format!("messages[{index}]: a system turn holds text blocks only")));
            }
            out.push(Message { role, content: blocks, name: None, extra: obj });
            continue;
        }
        let first = out.len();
        let mut pending = Vec::new();
        for block in blocks {
            if role == Role::User && matches!(block, ContentBlock::ToolResult { .. }) {
                if !pending.is_empty() {
                    out.push(Message {
                        role,
                        content: std::mem::take(&mut pending),
                        name: None,
                        extra: Default::default(),
                    });
                }
                out.push(Message { role: Role::Tool, content: vec![block], name: None, extra: Default::default() });
            } else {
                pending.push(block);
            }
        }
        if !pending.is_empty() || out.len() == first {
            out.push(Message { role, content: pending, name: None, extra: Default::default() });
        }
        if let Some(message) = out.get_mut(first) {
            message.extra = obj;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Encoding: hub → Anthropic.

const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

/// Inline bytes (base64, or a `data:` URL, which some formats keep as a URL) go as base64; any
/// other URL as a URL source.
fn encode_image(source: &MediaSource) -> Result<Value, GatewayError> {
    let Some((media_type, data)) = source.inline() else {
        return Ok(json!({ "type": "image", "source": { "type": "url", "url": source.to_url() } }));
    };
    if !IMAGE_TYPES.contains(&media_type) {
        return Err(invalid(format!(
            "Anthropic accepts images of type image/jpeg, image/png, image/gif or image/webp, not '{media_type}'"
        )));
    }
    Ok(json!({ "type": "image", "source": { "type": "base64", "media_type": media_type, "data": data } }))
}

fn encode_document(source: &MediaSource, name: Option<&String>) -> Result<Value, GatewayError> {
    let Some((media_type, data)) = source.inline() else {
        let url = source.to_url();
        return Ok(with_title(json!({ "type": "document", "source": { "type": "url", "url": url } }), name));
    };
    let source = if media_type == "application/pdf" {
        json!({ "type": "base64", "media_type": media_type, "data": data })
    } else if media_type.starts_with("text/") {
        let text = decode_base64(data).and_then(|bytes| String::from_utf8(bytes).ok()).ok_or_else(|| {
            invalid(format!("a '{media_type}' document must hold base64-encoded UTF-8 text for Anthropic"))
        })?;
        json!({ "type": "text", "media_type": "text/plain", "data": text })
    } else {
        return Err(invalid(format!(
            "Anthropic accepts documents as PDF (application/pdf) or plain text, not '{media_type}'"
        )));
    };
    Ok(with_title(json!({ "type": "document", "source": source }), name))
}

fn with_title(mut document: Value, name: Option<&String>) -> Value {
    if let Some(name) = name {
        document["title"] = json!(name);
    }
    document
}

/// A hub tool call's JSON-string arguments as Anthropic's `input` object. Arguments that are not
/// a JSON object are wrapped rather than lost: `""`/`null` → `{}`, another JSON value →
/// `{"value": …}`, invalid JSON → `{"_raw_arguments": "<the string>"}`.
pub(crate) fn arguments_to_input(arguments: &str) -> Value {
    let trimmed = arguments.trim();
    if trimmed.is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(input)) => Value::Object(input),
        Ok(Value::Null) => json!({}),
        Ok(other) => json!({ "value": other }),
        Err(_) => json!({ "_raw_arguments": arguments }),
    }
}

/// The blocks an assistant answer can hold (shared with the response encoder).
pub(crate) fn encode_answer_block(block: &ContentBlock) -> Option<Value> {
    Some(match block {
        ContentBlock::Text { text } => json!({ "type": "text", "text": text }),
        ContentBlock::ToolCall { id, name, arguments } => {
            json!({ "type": "tool_use", "id": id, "name": name, "input": arguments_to_input(arguments) })
        }
        ContentBlock::Thinking { text, signature } => {
            json!({ "type": "thinking", "thinking": text, "signature": signature.clone().unwrap_or_default() })
        }
        ContentBlock::RedactedThinking { data } => json!({ "type": "redacted_thinking", "data": data }),
        ContentBlock::Unknown { format, value } if format == FORMAT => value.clone(),
        _ => return None,
    })
}

/// One hub block in a request turn; `None` when the block cannot or need not be sent.
fn encode_request_block(block: &ContentBlock, assistant: bool) -> Result<Option<Value>, GatewayError> {
    Ok(match block {
        // Anthropic rejects empty text blocks.
        ContentBlock::Text { text } if text.is_empty() => None,
        ContentBlock::Image { source, .. } => Some(encode_image(source)?),
        ContentBlock::Document { source, name } => Some(encode_document(source, name.as_ref())?),
        ContentBlock::ToolResult { tool_call_id, content, is_error } => {
            let mut parts = Vec::new();
            for part in content {
                if let Some(part) = encode_request_block(part, false)? {
                    parts.push(part);
                }
            }
            let mut result = json!({ "type": "tool_result", "tool_use_id": tool_call_id });
            if !parts.is_empty() {
                result["content"] = content_value(parts);
            }
            if *is_error {
                result["is_error"] = json!(true);
            }
            Some(result)
        }
        // Thinking is only valid in assistant turns, and Anthropic verifies the signature of
        // every thinking block it gets back: unsigned reasoning (from another format) is dropped.
        ContentBlock::Thinking { signature: None, .. } => None,
        ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } if !assistant => None,
        other => encode_answer_block(other),
    })
}

/// A turn's content: a single text block as a plain string, anything else as blocks.
fn content_value(mut blocks: Vec<Value>) -> Value {
    if blocks.len() == 1 && blocks[0].get("type").and_then(Value::as_str) == Some("text") {
        return blocks.remove(0)["text"].take();
    }
    Value::Array(blocks)
}

/// Hub messages → Anthropic's top-level `system` blocks and alternating `messages`.
///
/// System and developer messages (wherever they are) become the system prompt's text blocks.
/// Tool results go to user turns; consecutive blocks for the same role are merged into one
/// turn, and within a user turn `tool_result` blocks come first, as Anthropic requires.
pub(crate) fn encode_messages(messages: &[Message]) -> Result<(Vec<Value>, Vec<Value>), GatewayError> {
    let mut system = Vec::new();
    let mut turns: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for message in messages {
        if matches!(message.role, Role::System | Role::Developer) {
            for block in &message.content {
                if let ContentBlock::Text { text } = block
                    && !text.is_empty()
                {
                    system.push(json!({ "type": "text", "text": text }));
                }
            }
            continue;
        }
        let role = if message.role == Role::Assistant { "assistant" } else { "user" };
        for block in &message.content {
            let block_role = if matches!(block, ContentBlock::ToolResult { .. }) { "user" } else { role };
            let Some(value) = encode_request_block(block, block_role == "assistant")? else {
                continue;
            };
            match turns.last_mut() {
                Some((last, blocks)) if *last == block_role => blocks.push(value),
                _ => turns.push((block_role, vec![value])),
            }
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, blocks)| {
            let (mut results, others): (Vec<Value>, Vec<Value>) = blocks
                .into_iter()
                .partition(|b| role == "user" && b.get("type").and_then(Value::as_str) == Some("tool_result"));
            results.extend(others);
            json!({ "role": role, "content": content_value(results) })
        })
        .collect();
    Ok((system, messages))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_always_become_an_object() {
        assert_eq!(arguments_to_input(r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(arguments_to_input(""), json!({}));
        assert_eq!(arguments_to_input("null"), json!({}));
        assert_eq!(arguments_to_input("[1]"), json!({"value": [1]}));
        assert_eq!(arguments_to_input("{\"a\":"), json!({"_raw_arguments": "{\"a\":"}));
    }

    #[test]
    fn tool_results_merge_into_one_user_turn_placed_first() {
        let tool = |id: &str| Message {
            role: Role::Tool,
            content: vec![ContentBlock::ToolResult {
                tool_call_id: id.into(),
                content: vec![ContentBlock::text("ok")],
                is_error: false,
            }],
            name: None,
            extra: Default::default(),
        };
        let text = |role, t: &str| Message {
            role,
            content: vec![ContentBlock::text(t)],
            name: None,
            extra: Default::default(),
        };
        let messages = vec![
            text(Role::System, "Be brief."),
            text(Role::User, "hi"),
            text(Role::User, "there"),
            Message {
                role: Role::Assistant,
                content: vec![
                    ContentBlock::ToolCall { id: "a".into(), name: "f".into(), arguments: "{}".into() },
                    ContentBlock::ToolCall { id: "b".into(), name: "f".into(), arguments: "oops".into() },
                ],
                name: None,
                extra: Default::default(),
            },
            text(Role::User, "and?"),
            tool("a"),
            tool("b"),
        ];
        let (system, turns) = encode_messages(&messages).unwrap();
        assert_eq!(system, vec![json!({"type": "text", "text": "Be brief."})]);
        assert_eq!(turns.len(), 3, "{turns:?}");
        assert_eq!(turns[0]["content"], json!([{"type": "text", "text": "hi"}, {"type": "text", "text": "there"}]));
        assert_eq!(turns[1]["content"][1]["input"], json!({"_raw_arguments": "oops"}));
        let last = turns[2]["content"].as_array().unwrap();
        assert_eq!(
            last.iter().map(|b| b["type"].as_str().unwrap()).collect::<Vec<_>>(),
            ["tool_result", "tool_result", "text"]
        );
        assert_eq!(last[0], json!({"type": "tool_result", "tool_use_id": "a", "content": "ok"}));
    }

    #[test]
    fn media_the_format_cannot_take_is_a_clear_error() {
        let image = |media_type: &str| ContentBlock::Image {
            source: MediaSource::Base64 { media_type: media_type.into(), data: "AAAA".into() },
            detail: None,
        };
        let user =
            |block| vec![Message { role: Role::User, content: vec![block], name: None, extra: Default::default() }];
        let err = encode_messages(&user(image("image/tiff"))).unwrap_err().to_string();
        assert!(err.contains("image/tiff"), "{err}");
        let doc = ContentBlock::Document {
            source: MediaSource::Url("data:application/msword;base64,AAAA".into()),
            name: None,
        };
        assert!(encode_messages(&user(doc)).unwrap_err().to_string().contains("application/msword"));
        let (_, turns) = encode_messages(&user(ContentBlock::Image {
            source: MediaSource::Url("data:image/png;base64,iVBO".into()),
            detail: Some("low".into()),
        }))
        .unwrap();
        assert_eq!(
            turns[0]["content"][0]["source"],
            json!({"type": "base64", "media_type": "image/png", "data": "iVBO"})
        );
    }

    #[test]
    fn text_documents_round_trip_through_base64() {
        let block = json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Grass is grèen."}, "title": "Facts"});
        let decoded = decode_block(block.clone());
        assert!(matches!(&decoded, ContentBlock::Document { name: Some(n), .. } if n == "Facts"));
        let user = vec![Message { role: Role::User, content: vec![decoded], name: None, extra: Default::default() }];
        let (_, turns) = encode_messages(&user).unwrap();
        assert_eq!(turns[0]["content"][0], block);
    }

    #[test]
    fn unsigned_thinking_is_dropped_and_thinking_stays_in_assistant_turns() {
        let assistant = Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Thinking { text: "from another format".into(), signature: None },
                ContentBlock::Thinking { text: "signed".into(), signature: Some("sig".into()) },
                ContentBlock::text("answer"),
            ],
            name: None,
            extra: Default::default(),
        };
        let (_, turns) = encode_messages(&[assistant]).unwrap();
        assert_eq!(
            turns[0]["content"],
            json!([{"type": "thinking", "thinking": "signed", "signature": "sig"}, {"type": "text", "text": "answer"}])
        );
    }
}
