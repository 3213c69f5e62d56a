//! Ollama chat answer (`"stream": false`: one object with `done: true`) ⇄ hub response.
//! Durations are kept in `extra` and written back; the id is derived from `created_at`.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::wire::{
    RawLine, WireChunk, WireFunction, WireMessage, WireToolCall, arguments_from_wire, arguments_to_wire_lossy,
};
use super::{finish_reason_from_wire, finish_reason_to_wire, message_id, stamp, usage_from_wire, usage_to_wire};
use crate::error::GatewayError;
use crate::formats::json_body::{unavailable, upstream_object};
use crate::hub::{ChatResponse, ContentBlock, FinishReason};
use crate::time::{format_rfc3339, parse_rfc3339_secs};

const KNOWN_FIELDS: &[&str] =
    &["model", "created_at", "message", "done", "done_reason", "prompt_eval_count", "eval_count"];

/// The metrics Ollama reports besides the counts, written back when the hub kept them.
pub(crate) const DURATIONS: &[&str] = &["total_duration", "load_duration", "prompt_eval_duration", "eval_duration"];

/// Parses an upstream's Ollama chat answer.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let text =
        std::str::from_utf8(body).map_err(|_| unavailable("upstream sent a response that is not valid UTF-8"))?;
    let mut obj = upstream_object(text.as_bytes())?;
    if let Some(message) = super::error::error_message(&obj) {
        return Err(unavailable(format!("upstream answered with an error: {message}")));
    }
    let usage = usage_from_wire(&obj);
    let Some(message) = obj.get("message").filter(|m| m.is_object()) else {
        return Err(unavailable("upstream response has no `message` object"));
    };
    let created_at = obj.get("created_at").and_then(Value::as_str);
    let created = created_at.and_then(parse_rfc3339_secs);
    let (content, has_tool_calls) = decode_message(message, &RawLine::parse(text), &stamp(created_at));
    let done = obj.get("done").and_then(Value::as_bool).unwrap_or(false);
    let done_reason = obj.get("done_reason").and_then(Value::as_str);
    let response = ChatResponse {
        id: message_id(created),
        model: obj.get("model").and_then(Value::as_str).unwrap_or_default().to_owned(),
        created,
        content,
        finish_reason: (done || done_reason.is_some()).then(|| finish_reason_from_wire(done_reason, has_tool_calls)),
        usage,
        extra: Default::default(),
    };
    obj.retain(|k, _| !KNOWN_FIELDS.contains(&k.as_str()));
    Ok(ChatResponse { extra: obj, ..response })
}

/// An answer's `message` → hub blocks (thinking, text, tool calls) and whether it called tools.
/// Calls without an `id` get `call_<stamp>_<n>`.
pub(crate) fn decode_message(message: &Value, raw: &RawLine<'_>, stamp: &str) -> (Vec<ContentBlock>, bool) {
    let mut content = Vec::new();
    if let Some(thinking) = message.get("thinking").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        content.push(ContentBlock::Thinking { text: thinking.to_owned(), signature: None });
    }
    let text = message.get("content").and_then(Value::as_str).unwrap_or_default();
    let calls = message.get("tool_calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if !text.is_empty() || (content.is_empty() && calls.is_empty()) {
        content.push(ContentBlock::text(text));
    }
    for (n, call) in calls.iter().enumerate() {
        content.push(ContentBlock::ToolCall {
            id: call_id(call, stamp, n),
            name: call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            arguments: arguments_from_wire(raw.arguments(n), call.pointer("/function/arguments")),
        });
    }
    (content, !calls.is_empty())
}

/// A call's own `id` if it has one, else `call_<stamp>_<n>`.
pub(crate) fn call_id(call: &Value, stamp: &str, n: usize) -> String {
    match call.get("id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => format!("call_{stamp}_{n}"),
    }
}

/// Writes a hub response as an Ollama chat answer.
pub fn encode_response(resp: &ChatResponse) -> Bytes {
    let mut message = WireMessage::new("assistant", String::new());
    let mut thinking = String::new();
    for block in &resp.content {
        match block {
            ContentBlock::Text { text } => message.content.push_str(text),
            ContentBlock::Thinking { text, .. } => thinking.push_str(text),
            ContentBlock::ToolCall { id, name, arguments } => message.tool_calls.push(WireToolCall {
                id: id.clone(),
                function: WireFunction { name: name.clone(), arguments: arguments_to_wire_lossy(name, arguments) },
            }),
            _ => {}
        }
    }
    if !thinking.is_empty() {
        message.thinking = Some(thinking);
    }
    let mut metrics = Map::new();
    if let Some(usage) = &resp.usage {
        usage_to_wire(usage, &mut metrics);
    }
    for key in DURATIONS {
        if let Some(value) = resp.extra.get(*key).filter(|v| v.is_u64()) {
            metrics.insert((*key).into(), value.clone());
        }
    }
    let created_at = format_rfc3339(resp.created.unwrap_or(0));
    let chunk = WireChunk {
        model: &resp.model,
        created_at: &created_at,
        message,
        done: true,
        done_reason: Some(finish_reason_to_wire(resp.finish_reason.as_ref().unwrap_or(&FinishReason::Stop))),
        metrics,
    };
    Bytes::from(serde_json::to_vec(&chunk).unwrap_or_default())
}
