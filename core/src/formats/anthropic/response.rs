//! Anthropic Message response ⇄ hub response: content blocks, stop reason (and the matched stop
//! sequence, kept in `extra["stop_sequence"]`), usage.

use bytes::Bytes;
use serde_json::{Value, json};

use super::content::{decode_block, encode_answer_block};
use super::{WireUsage, finish_reason_from_wire, finish_reason_to_wire, new_message_id};
use crate::error::GatewayError;
use crate::formats::json_body::{unavailable, upstream_object};
use crate::hub::{ChatResponse, ContentBlock, FinishReason};

const KNOWN_FIELDS: &[&str] = &["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"];

/// Response fields Anthropic has that the hub does not model; written back when present.
const NATIVE_EXTRAS: &[&str] = &["container", "context_management"];

/// Parses an upstream's Anthropic Message.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let mut obj = upstream_object(body)?;
    if obj.get("type").and_then(Value::as_str) == Some("error") {
        let message =
            obj.get("error").and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("unknown error");
        return Err(unavailable(format!("upstream answered with an error: {message}")));
    }
    let content = match obj.remove("content") {
        Some(Value::Array(blocks)) => blocks.into_iter().map(decode_block).collect(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(unavailable("upstream response `content` is not an array")),
    };
    let str_of = |key: &str| obj.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut response = ChatResponse {
        id: str_of("id"),
        model: str_of("model"),
        created: None,
        content,
        finish_reason: obj.get("stop_reason").and_then(Value::as_str).map(finish_reason_from_wire),
        usage: obj.get("usage").map(WireUsage::from_value).filter(|u| !u.is_empty()).map(WireUsage::to_hub),
        extra: Default::default(),
    };
    let stop_sequence = obj.get("stop_sequence").filter(|s| s.is_string()).cloned();
    obj.retain(|k, _| !KNOWN_FIELDS.contains(&k.as_str()));
    if let Some(stop_sequence) = stop_sequence {
        obj.insert("stop_sequence".into(), stop_sequence);
    }
    response.extra = obj;
    Ok(response)
}

/// The `stop_reason` for a finished answer: an unknown reason is `tool_use` when the answer
/// calls tools and `end_turn` otherwise; a stop on a known sequence is `stop_sequence`.
pub(crate) fn stop_reason(reason: Option<&FinishReason>, has_tool_calls: bool, stop_sequence: Option<&str>) -> String {
    match reason {
        Some(FinishReason::Stop) if stop_sequence.is_some() => "stop_sequence".into(),
        Some(reason) => finish_reason_to_wire(reason).to_owned(),
        None if has_tool_calls => "tool_use".into(),
        None => "end_turn".into(),
    }
}

/// Writes a hub response as an Anthropic Message. Blocks Anthropic answers cannot hold (images,
/// documents, tool results) are left out; a thinking block without a signature gets `""`.
pub fn encode_response(resp: &ChatResponse) -> Bytes {
    let content: Vec<Value> = resp.content.iter().filter_map(encode_answer_block).collect();
    let has_tool_calls = resp.content.iter().any(|b| matches!(b, ContentBlock::ToolCall { .. }));
    let stop_sequence = resp.extra.get("stop_sequence").and_then(Value::as_str);
    let mut obj: serde_json::Map<String, Value> = resp
        .extra
        .iter()
        .filter(|(k, _)| NATIVE_EXTRAS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    obj.insert("id".into(), json!(if resp.id.is_empty() { new_message_id() } else { resp.id.clone() }));
    obj.insert("type".into(), json!("message"));
    obj.insert("role".into(), json!("assistant"));
    obj.insert("model".into(), json!(resp.model));
    obj.insert("content".into(), Value::Array(content));
    obj.insert("stop_reason".into(), json!(stop_reason(resp.finish_reason.as_ref(), has_tool_calls, stop_sequence)));
    obj.insert("stop_sequence".into(), json!(stop_sequence));
    let usage = resp.usage.as_ref().map(WireUsage::from_hub).unwrap_or_default();
    obj.insert("usage".into(), usage.to_value());
    Bytes::from(Value::Object(obj).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::test_support::{assert_upstream_errors, encode_response_everywhere, fixture};
    use crate::hub::Usage;

    const TEXT: &str = fixture!("anthropic", "response_text.json");
    const TOOL_USE: &str = fixture!("anthropic", "response_tool_use.json");
    const THINKING: &str = fixture!("anthropic", "response_thinking.json");

    #[test]
    fn decodes_a_text_answer_with_cache_usage() {
        let resp = decode_response(TEXT.as_bytes()).unwrap();
        assert_eq!(resp.id, "msg_013Zva2CMHLNnXjNJJKqJ2EF");
        assert_eq!(resp.model, "claude-sonnet-4-5-20250929");
        assert_eq!(resp.content, vec![ContentBlock::text("Hi! My name is Claude.")]);
        assert_eq!(resp.finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            resp.usage,
            Some(Usage {
                input_tokens: 2095 + 1024,
                output_tokens: 503,
                cached_input_tokens: Some(1024),
                cache_creation_tokens: Some(0),
                reasoning_tokens: None,
            })
        );
        assert!(resp.extra.is_empty(), "{:?}", resp.extra);
    }

    #[test]
    fn decodes_tool_use_with_its_id_and_input() {
        let resp = decode_response(TOOL_USE.as_bytes()).unwrap();
        assert_eq!(resp.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(
            resp.content[1],
            ContentBlock::ToolCall {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                arguments: r#"{"location":"San Francisco, CA","unit":"celsius"}"#.into(),
            }
        );
        // And an OpenAI client sees the same call.
        let openai: Value = serde_json::from_slice(&crate::formats::openai_chat::encode_response(&resp)).unwrap();
        assert_eq!(openai["choices"][0]["message"]["tool_calls"][0]["id"], "toolu_01A09q90qw90lq917835lq9");
        assert_eq!(openai["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(openai["usage"]["prompt_tokens"], 472);
    }

    #[test]
    fn decodes_thinking_and_redacted_thinking() {
        let resp = decode_response(THINKING.as_bytes()).unwrap();
        assert!(matches!(&resp.content[0], ContentBlock::Thinking { text, signature: Some(s) }
            if text == "Let me analyze this step by step..." && s.starts_with("WaUjzkyp")));
        assert!(matches!(&resp.content[1], ContentBlock::RedactedThinking { data } if data.starts_with("EmwKAhgB")));
        assert_eq!(resp.content[2], ContentBlock::text("Based on my analysis..."));
    }

    #[test]
    fn decode_encode_decode_is_stable() {
        for body in [TEXT, TOOL_USE, THINKING] {
            let first = decode_response(body.as_bytes()).unwrap();
            let encoded: Value = serde_json::from_slice(&encode_response(&first)).unwrap();
            assert_eq!(encoded["type"], "message");
            assert_eq!(decode_response(encoded.to_string().as_bytes()).unwrap(), first);
        }
        // The wire usage itself survives too.
        let encoded: Value =
            serde_json::from_slice(&encode_response(&decode_response(TEXT.as_bytes()).unwrap())).unwrap();
        assert_eq!(
            encoded["usage"],
            json!({"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024})
        );
    }

    #[test]
    fn an_answer_from_another_format_gets_anthropic_defaults() {
        let resp = ChatResponse {
            content: vec![
                ContentBlock::Thinking { text: "hmm".into(), signature: None },
                ContentBlock::ToolCall { id: "call_1".into(), name: "f".into(), arguments: "{\"a\":1}".into() },
            ],
            model: "gpt-4o".into(),
            ..Default::default()
        };
        let body: Value = serde_json::from_slice(&encode_response(&resp)).unwrap();
        assert!(body["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(body["stop_reason"], "tool_use");
        assert_eq!(body["stop_sequence"], Value::Null);
        assert_eq!(body["usage"], json!({"input_tokens": 0, "output_tokens": 0}));
        assert_eq!(body["content"][0], json!({"type": "thinking", "thinking": "hmm", "signature": ""}));
        assert_eq!(body["content"][1], json!({"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}));
    }

    #[test]
    fn stop_sequences_round_trip() {
        let body = r#"{"id":"m","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"a"}],"stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":1,"output_tokens":1}}"#;
        let resp = decode_response(body.as_bytes()).unwrap();
        assert_eq!(resp.finish_reason, Some(FinishReason::Stop));
        let encoded: Value = serde_json::from_slice(&encode_response(&resp)).unwrap();
        assert_eq!(
            (encoded["stop_reason"].as_str(), encoded["stop_sequence"].as_str()),
            (Some("stop_sequence"), Some("END"))
        );
    }

    #[test]
    fn bad_bodies_are_upstream_errors() {
        assert_upstream_errors(
            decode_response,
            &[
                ("not json", "not valid JSON"),
                (r#"{"content": 3}"#, "`content` is not an array"),
                (r#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#, "boom"),
            ],
        );
    }

    // Issue 14, fuzzing: these bytes made the anthropic_response target panic. Input + cache
    // reads + cache writes overflowed when folded into the hub's input count.
    #[test]
    fn an_upstream_count_of_u64_max_saturates_the_input() {
        let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":18446744073709551615,"output_tokens":1,"cache_read_input_tokens":1}}"#;
        let resp = decode_response(body).unwrap();
        assert_eq!(resp.usage.map(|u| u.input_tokens), Some(u64::MAX));
        assert_eq!(encode_response_everywhere(&resp).len(), 5);
    }
}
