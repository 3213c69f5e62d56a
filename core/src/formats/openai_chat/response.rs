//! OpenAI chat completion response ⇄ hub response (first choice; other fields kept in `extra`).

use bytes::Bytes;
use serde_json::{Value, json};

use super::{finish_reason_from_wire, finish_reason_to_wire, usage_from_wire, usage_to_wire};
use crate::error::GatewayError;
use crate::formats::json_body::upstream_object;
use crate::hub::{ChatResponse, ContentBlock};

const KNOWN_FIELDS: &[&str] = &["id", "object", "created", "model", "choices", "usage"];

/// Parses an upstream's OpenAI chat completion.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let mut obj = upstream_object(body)?;
    let choice = obj.get("choices").and_then(|c| c.get(0)).cloned().unwrap_or(Value::Null);
    let message = choice.get("message").cloned().unwrap_or(Value::Null);
    let mut content = Vec::new();
    if let Some(reasoning) = message.get("reasoning_content").and_then(Value::as_str) {
        content.push(ContentBlock::Thinking { text: reasoning.to_owned(), signature: None });
    }
    if let Some(text) = message.get("content").and_then(Value::as_str) {
        content.push(ContentBlock::text(text));
    }
    for call in message.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        content.push(ContentBlock::ToolCall {
            id: call.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
            name: call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            arguments: call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}").to_owned(),
        });
    }
    let response = ChatResponse {
        id: obj.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
        model: obj.get("model").and_then(Value::as_str).unwrap_or_default().to_owned(),
        created: obj.get("created").and_then(Value::as_u64),
        content,
        finish_reason: choice.get("finish_reason").and_then(Value::as_str).map(finish_reason_from_wire),
        usage: obj.get("usage").and_then(usage_from_wire),
        extra: Default::default(),
    };
    obj.retain(|k, _| !KNOWN_FIELDS.contains(&k.as_str()));
    Ok(ChatResponse { extra: obj, ..response })
}

/// Writes a hub response as an OpenAI chat completion.
pub fn encode_response(resp: &ChatResponse) -> Bytes {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for block in &resp.content {
        match block {
            ContentBlock::Text { text: t } => text.push_str(t),
            ContentBlock::Thinking { text: t, .. } => reasoning.push_str(t),
            ContentBlock::ToolCall { id, name, arguments } => tool_calls.push(json!({
                "id": id, "type": "function", "function": { "name": name, "arguments": arguments }
            })),
            _ => {}
        }
    }
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() && !tool_calls.is_empty() { Value::Null } else { json!(text) },
    });
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning);
    }
    let mut obj = resp.extra.clone();
    obj.insert("id".into(), json!(resp.id));
    obj.insert("object".into(), json!("chat.completion"));
    obj.insert("created".into(), json!(resp.created.unwrap_or(0)));
    obj.insert("model".into(), json!(resp.model));
    obj.insert(
        "choices".into(),
        json!([{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": resp.finish_reason.as_ref().map(finish_reason_to_wire),
        }]),
    );
    if let Some(usage) = &resp.usage {
        obj.insert("usage".into(), usage_to_wire(usage));
    }
    Bytes::from(Value::Object(obj).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{FinishReason, Usage};

    // From the OpenAI API reference (chat completion object, tool call example).
    const TOOL_RESPONSE: &str = r#"{
      "id": "chatcmpl-abc123", "object": "chat.completion", "created": 1699896916, "model": "gpt-4o-mini",
      "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_abc123", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\n\"location\": \"Boston, MA\"\n}"}}
      ]}, "logprobs": null, "finish_reason": "tool_calls"}],
      "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99, "prompt_tokens_details": {"cached_tokens": 0}},
      "system_fingerprint": "fp_44709d6fcb"
    }"#;

    #[test]
    fn decodes_tool_calls_usage_and_keeps_unknown_fields() {
        let resp = decode_response(TOOL_RESPONSE.as_bytes()).unwrap();
        assert_eq!(resp.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(
            resp.usage,
            Some(Usage { input_tokens: 82, output_tokens: 17, cached_input_tokens: Some(0), ..Default::default() })
        );
        assert!(
            matches!(&resp.content[0], ContentBlock::ToolCall { name, arguments, .. } if name == "get_current_weather" && arguments.contains("Boston"))
        );
        assert_eq!(resp.extra["system_fingerprint"], "fp_44709d6fcb");
    }

    #[test]
    fn decode_encode_decode_is_stable() {
        let first = decode_response(TOOL_RESPONSE.as_bytes()).unwrap();
        assert_eq!(decode_response(&encode_response(&first)).unwrap(), first);
    }

    #[test]
    fn bad_bodies_are_upstream_errors() {
        crate::formats::test_support::assert_upstream_errors(decode_response, &[]);
    }

    // Issue 14, fuzzing: these bytes made the openai_chat_response target panic.
    // `prompt_tokens + completion_tokens` overflowed in the encoders' `total_tokens` (a panic
    // in debug builds, a wrapped total in release).
    #[test]
    fn an_upstream_count_of_u64_max_saturates_the_totals() {
        let body = br#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":18446744073709551615,"completion_tokens":1}}"#;
        let resp = decode_response(body).unwrap();
        let totals = crate::formats::test_support::encode_response_everywhere(&resp);
        assert_eq!(totals[0].1["usage"]["total_tokens"], u64::MAX, "openai-chat");
        assert_eq!(totals[1].1["usage"]["total_tokens"], u64::MAX, "openai-responses");
        assert_eq!(totals[3].1["usageMetadata"]["totalTokenCount"], u64::MAX, "gemini");
    }
}
