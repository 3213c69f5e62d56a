//! OpenAI Responses API (`POST /v1/responses`): request, response and stream codecs, the error
//! shape, and the helpers they share (usage, status ⇄ finish reason, invented ids).
//!
//! `previous_response_id` and item references are resolved from stored responses before the
//! request reaches this codec (`pipeline::stored`); what is still stateful here (`conversation`,
//! stored prompts, background responses) is refused with a clear 400. Function tools translate;
//! `namespace` tools are flattened into functions (and the namespace restored on the calls the
//! client gets back); built-in tools such as `web_search` reach only a provider of this API.

pub mod error;
pub mod request;
mod request_encode;
mod request_tools;
pub mod response;
pub mod stream;
mod stream_encode;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::hub::{FinishReason, Usage};

pub use error::{error_body, stream_error_event, upstream_error_message};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response, encode_response_for};
pub use stream::{StreamDecoder, StreamEncoder};

/// `ContentBlock::Unknown` tag for a content part this codec does not model.
pub(crate) const PART_FORMAT: &str = "openai-responses";
/// `ContentBlock::Unknown` tag for a whole input/output item this codec does not model
/// (a built-in tool call, say); written back as an item, never inside a message.
pub(crate) const ITEM_FORMAT: &str = "openai-responses-item";

/// Marks a hub Thinking signature as `encrypted_content` from an upstream speaking this API.
///
/// Provider side, the decoders mark it and `encode_request` replays only marked signatures:
/// another provider's signature (Anthropic's, say) cannot be decrypted by this API and would
/// fail the request, so such thinking is dropped. Client side, signatures are written and read
/// verbatim (unmarked), so a Responses client echoing `encrypted_content` hands the originating
/// provider its own signature back unchanged.
pub(crate) const SIGNATURE_PREFIX: &str = "openai-responses:";

/// Upstream `encrypted_content` → marked hub signature.
pub(crate) fn signature_from_upstream(encrypted_content: &str) -> String {
    format!("{SIGNATURE_PREFIX}{encrypted_content}")
}

/// Hub signature → `encrypted_content` for a client: unmarked if it is ours, else verbatim.
pub(crate) fn signature_for_client(signature: &str) -> &str {
    signature.strip_prefix(SIGNATURE_PREFIX).unwrap_or(signature)
}

/// Responses `usage` → hub usage. Falls back to chat-style names, which some compatible
/// servers send on this endpoint too.
pub(crate) fn usage_from_wire(usage: &Value) -> Option<Usage> {
    let Some(input) = usage.get("input_tokens").and_then(Value::as_u64) else {
        return crate::formats::openai_chat::usage_from_wire(usage);
    };
    Some(Usage {
        input_tokens: input,
        output_tokens: usage.get("output_tokens").and_then(Value::as_u64).unwrap_or(0),
        cached_input_tokens: usage.pointer("/input_tokens_details/cached_tokens").and_then(Value::as_u64),
        // Absent in most answers and written as 0 by the encoder: 0 means "none reported".
        cache_creation_tokens: usage
            .pointer("/input_tokens_details/cache_write_tokens")
            .and_then(Value::as_u64)
            .filter(|n| *n > 0),
        reasoning_tokens: usage.pointer("/output_tokens_details/reasoning_tokens").and_then(Value::as_u64),
    })
}

/// Hub usage → Responses `usage`, with every detail field the SDK's model requires.
pub(crate) fn usage_to_wire(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_input_tokens.unwrap_or(0),
            "cache_write_tokens": usage.cache_creation_tokens.unwrap_or(0),
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": { "reasoning_tokens": usage.reasoning_tokens.unwrap_or(0) },
        "total_tokens": usage.total_tokens(),
    })
}

/// `incomplete_details.reason` values other than the two the hub models.
const OTHER_INCOMPLETE_REASONS: &[&str] = &["max_messages", "steered"];

/// A response's `status` (+ `incomplete_details.reason`) → hub finish reason. A completed
/// response that called functions finished for tool calls.
pub(crate) fn finish_from_wire(status: &str, incomplete_reason: Option<&str>, called_tools: bool) -> FinishReason {
    match status {
        "completed" if called_tools => FinishReason::ToolCalls,
        "completed" => FinishReason::Stop,
        "incomplete" => match incomplete_reason {
            Some("max_output_tokens") => FinishReason::Length,
            Some("content_filter") => FinishReason::ContentFilter,
            Some(other) => FinishReason::Other(other.to_owned()),
            None => FinishReason::Other("incomplete".into()),
        },
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Hub finish reason → `status` and `incomplete_details` (null when complete).
pub(crate) fn finish_to_wire(reason: Option<&FinishReason>) -> (&'static str, Value) {
    let incomplete = |reason: &str| ("incomplete", json!({ "reason": reason }));
    match reason {
        Some(FinishReason::Length) => incomplete("max_output_tokens"),
        Some(FinishReason::ContentFilter) => incomplete("content_filter"),
        Some(FinishReason::Other(other)) if OTHER_INCOMPLETE_REASONS.contains(&other.as_str()) => incomplete(other),
        Some(FinishReason::Other(other)) if other == "incomplete" => ("incomplete", Value::Null),
        _ => ("completed", Value::Null),
    }
}

/// `created_at` is a number of seconds (the SDK types it as a float).
pub(crate) fn created_from_wire(value: Option<&Value>) -> Option<u64> {
    let value = value?;
    value.as_u64().or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// A response id for answers whose upstream gave none, or gave another format's id
/// (`resp_` and 32 hex digits). Core has no clock or randomness of its own (wasm), so the
/// gateway seeds this once from its `Entropy` port ([`seed_response_ids`]) and every id mixes
/// the seed with a process-wide counter: unique within a process by the counter, and across
/// restarts and instances by the seed, as stored responses (kept under their id) need.
pub(crate) fn invent_response_id() -> String {
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (high, low) = (ID_SEED[0].load(Ordering::Relaxed), ID_SEED[1].load(Ordering::Relaxed));
    // splitmix64 is a bijection, so the second half alone never repeats within a process.
    format!("resp_{:016x}{:016x}", splitmix64(high.wrapping_add(n)), splitmix64(low ^ n))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static ID_SEED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Seeds the invented response ids with 16 random bytes (once per gateway; a later seed
/// replaces the earlier one, which keeps ids unique all the same).
pub fn seed_response_ids(seed: [u8; 16]) {
    let (high, low) = seed.split_at(8);
    for (slot, half) in ID_SEED.iter().zip([high, low]) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(half);
        slot.store(u64::from_le_bytes(bytes), Ordering::Relaxed);
    }
}

/// The id a Responses client is given for an upstream's answer: a Responses upstream's own
/// (`resp_…`) as it came, else a new one. Other formats' ids (`chatcmpl-…`, `msg_…`, Gemini's
/// `responseId`) are not response ids, and an upstream that repeats them (some do, for every
/// answer) would make stored responses overwrite each other.
pub(crate) fn client_response_id(upstream_id: &str) -> String {
    if upstream_id.starts_with("resp_") { upstream_id.to_owned() } else { invent_response_id() }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Output item ids derived from the response id: `msg_…`, `fc_…`, `rs_…` plus the item's index.
pub(crate) fn item_id(prefix: &str, response_id: &str, index: usize) -> String {
    let stem = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{stem}_{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_map_both_ways() {
        for reason in [
            FinishReason::Stop,
            FinishReason::Length,
            FinishReason::ContentFilter,
            FinishReason::Other("max_messages".into()),
        ] {
            let (status, details) = finish_to_wire(Some(&reason));
            let back = finish_from_wire(status, details.get("reason").and_then(Value::as_str), false);
            assert_eq!(back, reason);
        }
        assert_eq!(finish_from_wire("completed", None, true), FinishReason::ToolCalls);
        assert_eq!(finish_to_wire(Some(&FinishReason::ToolCalls)).0, "completed");
        assert_eq!(finish_to_wire(None), ("completed", Value::Null));
    }

    #[test]
    fn usage_maps_both_ways_with_cache_and_reasoning() {
        let usage = Usage {
            input_tokens: 100,
            output_tokens: 40,
            cached_input_tokens: Some(64),
            cache_creation_tokens: Some(8),
            reasoning_tokens: Some(30),
        };
        let wire = usage_to_wire(&usage);
        assert_eq!(wire["total_tokens"], 140);
        assert_eq!(usage_from_wire(&wire), Some(usage));
        let chat_style = json!({"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5});
        assert_eq!(usage_from_wire(&chat_style).map(|u| u.input_tokens), Some(3));
    }

    #[test]
    fn invented_ids_differ() {
        let (a, b) = (invent_response_id(), invent_response_id());
        assert!(a.starts_with("resp_") && a != b);
        assert_eq!(a.len(), "resp_".len() + 32);
        assert_eq!(client_response_id("resp_upstream"), "resp_upstream", "a Responses upstream's id is kept");
        let minted = client_response_id("msg_01XYZ");
        assert!(minted.starts_with("resp_") && minted != client_response_id("msg_01XYZ"), "others get new ids");
        assert_eq!(item_id("msg", "resp_abc", 2), "msg_abc_2");
    }
}
