//! Google Gemini `generateContent` / `streamGenerateContent` (`/v1beta/models/{model}:…`):
//! request, response and stream codecs, the error shape, and one entry of `GET /v1beta/models`.
//!
//! The model and the stream flag live in the URL, not the body: `decode_request` answers
//! `model: ""` and `stream: false` (the gateway fills both), and `encode_request` writes neither.
//! Gemini function calls usually carry no id: the codecs generate stable ones (see
//! [`request`] and [`response_call_id`]) and keep ids that are present.

pub mod error;
mod framing;
mod generation;
mod parts;
pub mod request;
pub mod response;
pub mod stream;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};

pub use error::{error_body, stream_error_event, upstream_error_message};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
pub use stream::{StreamDecoder, StreamEncoder};

use crate::hub::{FinishReason, Usage};

/// One entry of Gemini's `GET /v1beta/models` answer (`{"models": [entry, …]}`), for a model the
/// gateway serves. Token limits are left out: the gateway does not know them.
pub fn model_list_entry(id: &str, display_name: &str) -> Value {
    let id = id.strip_prefix("models/").unwrap_or(id);
    json!({
        "name": format!("models/{id}"),
        "baseModelId": id,
        "displayName": display_name,
        "description": display_name,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    })
}

/// The sentinel signatures Google documents for function calls the model did not produce
/// itself (history from another model): they carry no reasoning, so decoders drop them.
pub(crate) const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";
const DUMMY_SIGNATURES: &[&str] = &[SKIP_SIGNATURE, "context_engineering_is_the_way_to_go"];

/// A part's `thoughtSignature`, unless it is one of the documented dummies.
pub(crate) fn real_signature(part: &Value) -> Option<String> {
    field(part, "thoughtSignature")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && !DUMMY_SIGNATURES.contains(s))
        .map(str::to_owned)
}

/// Gemini's `finishReason` → hub. Gemini says `STOP` after function calls too, so a stop with
/// calls in the content is `ToolCalls`.
pub(crate) fn finish_reason_from_wire(reason: &str, has_tool_calls: bool) -> FinishReason {
    match reason {
        "STOP" if has_tool_calls => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY"
        | "RECITATION"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Values of Gemini's `FinishReason` enum written verbatim from `FinishReason::Other`.
const WIRE_FINISH_REASONS: &[&str] = &[
    "STOP",
    "MAX_TOKENS",
    "SAFETY",
    "RECITATION",
    "LANGUAGE",
    "OTHER",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "MALFORMED_FUNCTION_CALL",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
    "IMAGE_OTHER",
    "UNEXPECTED_TOOL_CALL",
    "TOO_MANY_TOOL_CALLS",
];

/// Hub finish reason → Gemini's (SDKs parse it as an enum, so unknown reasons become `OTHER`).
pub(crate) fn finish_reason_to_wire(reason: Option<&FinishReason>) -> &str {
    match reason {
        None | Some(FinishReason::Stop) | Some(FinishReason::ToolCalls) => "STOP",
        Some(FinishReason::Length) => "MAX_TOKENS",
        Some(FinishReason::ContentFilter) => "SAFETY",
        Some(FinishReason::Other(other)) => {
            WIRE_FINISH_REASONS.iter().find(|r| **r == other.as_str()).copied().unwrap_or("OTHER")
        }
    }
}

/// `usageMetadata` → hub usage. Gemini's `candidatesTokenCount` excludes thoughts; the hub's
/// output includes them. Tool-use prompt tokens count as input. Sums saturate: the counts are
/// the upstream's word.
pub(crate) fn usage_from_wire(usage: &Value) -> Option<Usage> {
    if !usage.is_object() {
        return None;
    }
    let count = |key: &str| field(usage, key).and_then(Value::as_u64);
    let thoughts = count("thoughtsTokenCount");
    Some(Usage {
        input_tokens: count("promptTokenCount")
            .unwrap_or(0)
            .saturating_add(count("toolUsePromptTokenCount").unwrap_or(0)),
        output_tokens: count("candidatesTokenCount").unwrap_or(0).saturating_add(thoughts.unwrap_or(0)),
        cached_input_tokens: count("cachedContentTokenCount"),
        cache_creation_tokens: None,
        reasoning_tokens: thoughts,
    })
}

/// Hub usage → `usageMetadata`.
pub(crate) fn usage_to_wire(usage: &Usage) -> Value {
    let thoughts = usage.reasoning_tokens.unwrap_or(0);
    let mut out = json!({
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.output_tokens.saturating_sub(thoughts),
        "totalTokenCount": usage.total_tokens(),
    });
    if let Some(cached) = usage.cached_input_tokens {
        out["cachedContentTokenCount"] = json!(cached);
    }
    if let Some(reasoning) = usage.reasoning_tokens {
        out["thoughtsTokenCount"] = json!(reasoning);
    }
    out
}

/// `camelCase` → `snake_case`: the REST API accepts both spellings of every field.
pub(crate) fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A field by its camelCase name, or its snake_case spelling.
pub(crate) fn field<'a>(value: &'a Value, camel: &str) -> Option<&'a Value> {
    let obj = value.as_object()?;
    obj.get(camel).or_else(|| obj.get(&snake(camel))).filter(|v| !v.is_null())
}

/// Removes a field by its camelCase name or snake_case spelling.
pub(crate) fn take_field(obj: &mut Map<String, Value>, camel: &str) -> Option<Value> {
    let value = obj.remove(camel);
    let snake_value = obj.remove(&snake(camel));
    value.or(snake_value).filter(|v| !v.is_null())
}

/// A repeated field, also when a client sent a single object where the API takes a list.
pub(crate) fn as_list(value: Option<&Value>) -> Vec<&Value> {
    match value {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(single) => vec![single],
    }
}

/// 64-bit FNV-1a: a small, stable hash for generated ids.
pub(crate) fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The id of the `n`-th function call of an answer that gave none: from the answer's
/// `responseId` when there is one (unique per answer), else from the call itself. Streamed
/// and non-streamed answers give the same ids.
pub(crate) fn response_call_id(response_id: &str, name: &str, args: &Value, n: usize) -> String {
    let clean: String = response_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
    if clean.is_empty() {
        let hash = fnv64(format!("{name}\u{0}{args}").as_bytes());
        format!("call_{hash:016x}_{n}")
    } else {
        format!("call_{clean}_{n}")
    }
}

/// A response id for an answer whose source gave none.
pub(crate) fn invent_response_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // The counter's address varies per process (ASLR), so restarts do not repeat ids.
    let hash = fnv64(&n.to_le_bytes()) ^ fnv64(&(std::ptr::addr_of!(NEXT) as usize).to_le_bytes());
    format!("gw-{hash:016x}")
}
