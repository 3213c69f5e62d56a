//! Gemini `GenerateContentResponse` ⇄ hub response (first candidate): parts, finish reason
//! (`STOP` with function calls is `ToolCalls`), `usageMetadata`, `modelVersion`, `responseId`.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::parts::{PartWriter, blocks_of, read_part};
use super::{
    as_list, field, finish_reason_from_wire, finish_reason_to_wire, invent_response_id, response_call_id,
    usage_from_wire, usage_to_wire,
};
use crate::error::GatewayError;
use crate::formats::json_body::{unavailable, upstream_object};
use crate::hub::{ChatResponse, ContentBlock, FinishReason};

const KNOWN_FIELDS: &[&str] = &["candidates", "usageMetadata", "modelVersion", "responseId"];
/// Top-level response fields written back when a hub response came from Gemini.
const NATIVE_EXTRAS: &[&str] = &["promptFeedback", "createTime"];

/// Parses an upstream's `generateContent` answer.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, GatewayError> {
    let mut obj = upstream_object(body)?;
    if let Some(error) = obj.get("error") {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("unknown error");
        return Err(unavailable(format!("upstream answered with an error: {message}")));
    }
    let response = decode_object(&obj);
    obj.retain(|k, _| !KNOWN_FIELDS.contains(&k.as_str()));
    Ok(ChatResponse { extra: obj, ..response })
}

/// Hub response from one answer object (no `extra`: the caller fills it).
fn decode_object(obj: &Map<String, Value>) -> ChatResponse {
    let value = Value::Object(obj.clone());
    let id = field(&value, "responseId").and_then(Value::as_str).unwrap_or_default().to_owned();
    let candidate = as_list(field(&value, "candidates")).into_iter().next();
    let mut content = Vec::new();
    let mut calls = 0;
    if let Some(candidate) = candidate {
        let parts = field(candidate, "content").and_then(|c| field(c, "parts"));
        for part in as_list(parts) {
            content.extend(blocks_of(read_part(part), |name, args| {
                calls += 1;
                response_call_id(&id, name, args, calls - 1)
            }));
        }
    }
    let has_calls = content.iter().any(|b| matches!(b, ContentBlock::ToolCall { .. }));
    let finish_reason = match candidate.and_then(|c| field(c, "finishReason")).and_then(Value::as_str) {
        Some(reason) => Some(finish_reason_from_wire(reason, has_calls)),
        // A blocked prompt has no candidates, only `promptFeedback.blockReason`.
        None => field(&value, "promptFeedback")
            .and_then(|f| field(f, "blockReason"))
            .and_then(Value::as_str)
            .map(|_| FinishReason::ContentFilter),
    };
    ChatResponse {
        id,
        model: field(&value, "modelVersion").and_then(Value::as_str).unwrap_or_default().to_owned(),
        created: None,
        content,
        finish_reason,
        usage: field(&value, "usageMetadata").and_then(usage_from_wire),
        extra: Map::new(),
    }
}

/// Writes a hub response as a Gemini `generateContent` answer.
pub fn encode_response(resp: &ChatResponse) -> Bytes {
    let mut writer = PartWriter::default();
    for block in &resp.content {
        writer.block(block);
    }
    let mut obj = Map::new();
    obj.insert(
        "candidates".into(),
        json!([{
            "content": { "parts": writer.finish(), "role": "model" },
            "finishReason": finish_reason_to_wire(resp.finish_reason.as_ref()),
            "index": 0,
        }]),
    );
    if let Some(usage) = &resp.usage {
        obj.insert("usageMetadata".into(), usage_to_wire(usage));
    }
    obj.insert("modelVersion".into(), json!(resp.model));
    let id = if resp.id.is_empty() { invent_response_id() } else { resp.id.clone() };
    obj.insert("responseId".into(), json!(id));
    for key in NATIVE_EXTRAS {
        if let Some(value) = resp.extra.get(*key) {
            obj.insert((*key).into(), value.clone());
        }
    }
    Bytes::from(Value::Object(obj).to_string())
}
