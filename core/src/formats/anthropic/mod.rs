//! Anthropic Messages (`POST /v1/messages`): request, response and stream codecs, the error
//! shape, and a rough token estimate for `/v1/messages/count_tokens`.
//!
//! Mapping decisions shared by every direction:
//! - Usage: Anthropic's `input_tokens` excludes cache reads and cache writes, while the hub (like
//!   OpenAI's `prompt_tokens`) counts every prompt token. Decoding adds
//!   `cache_read_input_tokens` and `cache_creation_input_tokens` into the hub's `input_tokens`;
//!   encoding subtracts them again, so an Anthropic → hub → Anthropic trip is exact.
//! - Stop reasons: `end_turn`/`stop_sequence` → Stop, `max_tokens` and
//!   `model_context_window_exceeded` → Length, `tool_use` → ToolCalls, `refusal` → ContentFilter,
//!   anything else (e.g. `pause_turn`) verbatim as `Other`.
//! - Blocks the hub does not model (server tool use, web search results, search results, file
//!   sources, ...) travel as `ContentBlock::Unknown { format: "anthropic" }` and are written back
//!   verbatim only to Anthropic.

pub mod content;
pub mod count_tokens;
pub mod error;
pub mod request;
pub mod response;
pub mod stream;
pub mod stream_encode;
pub(crate) mod tools;

pub use count_tokens::count_tokens_estimate;
pub use error::{error_body, stream_error_event, upstream_error_message};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
pub use stream::StreamDecoder;
pub use stream_encode::StreamEncoder;

use crate::hub::{FinishReason, Usage};

/// The tag on `ContentBlock::Unknown` values this codec produces and writes back.
pub(crate) const FORMAT: &str = "anthropic";

/// Maps Anthropic's `stop_reason` to the hub's.
pub(crate) fn finish_reason_from_wire(reason: &str) -> FinishReason {
    match reason {
        "end_turn" | "stop_sequence" => FinishReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Maps the hub's finish reason to an Anthropic `stop_reason`. Reasons Anthropic does not know
/// (e.g. Gemini's `MALFORMED_FUNCTION_CALL`) become `end_turn`, since SDKs type the field as an
/// enum.
pub(crate) fn finish_reason_to_wire(reason: &FinishReason) -> &str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "refusal",
        FinishReason::Other(other) => match other.as_str() {
            "end_turn"
            | "max_tokens"
            | "stop_sequence"
            | "tool_use"
            | "pause_turn"
            | "refusal"
            | "model_context_window_exceeded" => other,
            _ => "end_turn",
        },
    }
}

/// Token counts as Anthropic reports them, before they are folded into the hub's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WireUsage {
    pub input: Option<u64>,
    pub output: Option<u64>,
    pub cache_read: Option<u64>,
    pub cache_creation: Option<u64>,
}

impl WireUsage {
    /// Reads an Anthropic `usage` object; fields that are absent or null stay `None`.
    pub fn from_value(usage: &serde_json::Value) -> Self {
        let field = |key: &str| usage.get(key).and_then(serde_json::Value::as_u64);
        WireUsage {
            input: field("input_tokens"),
            output: field("output_tokens"),
            cache_read: field("cache_read_input_tokens"),
            cache_creation: field("cache_creation_input_tokens"),
        }
    }

    /// Later fields (e.g. `message_delta`'s cumulative usage) override earlier ones.
    pub fn merge(self, later: WireUsage) -> Self {
        WireUsage {
            input: later.input.or(self.input),
            output: later.output.or(self.output),
            cache_read: later.cache_read.or(self.cache_read),
            cache_creation: later.cache_creation.or(self.cache_creation),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == WireUsage::default()
    }

    /// Hub usage: `input_tokens` counts every prompt token, cached or not (saturating: the
    /// counts are the upstream's word).
    pub fn to_hub(self) -> Usage {
        let cached = self.cache_read.unwrap_or(0);
        let creation = self.cache_creation.unwrap_or(0);
        Usage {
            input_tokens: self.input.unwrap_or(0).saturating_add(cached).saturating_add(creation),
            output_tokens: self.output.unwrap_or(0),
            cached_input_tokens: self.cache_read,
            cache_creation_tokens: self.cache_creation,
            reasoning_tokens: None,
        }
    }

    /// The wire counts for hub usage: cache reads and writes come out of `input_tokens` again.
    pub fn from_hub(usage: &Usage) -> Self {
        let cached = usage.cached_input_tokens.unwrap_or(0);
        let creation = usage.cache_creation_tokens.unwrap_or(0);
        WireUsage {
            input: Some(usage.input_tokens.saturating_sub(cached).saturating_sub(creation)),
            output: Some(usage.output_tokens),
            cache_read: usage.cached_input_tokens,
            cache_creation: usage.cache_creation_tokens,
        }
    }

    /// Writes the known fields; `input_tokens` and `output_tokens` default to 0 because the SDKs
    /// require them on a message's usage.
    pub fn to_value(self) -> serde_json::Value {
        let mut out = serde_json::json!({
            "input_tokens": self.input.unwrap_or(0),
            "output_tokens": self.output.unwrap_or(0),
        });
        if let Some(creation) = self.cache_creation {
            out["cache_creation_input_tokens"] = creation.into();
        }
        if let Some(read) = self.cache_read {
            out["cache_read_input_tokens"] = read.into();
        }
        out
    }
}

/// A fresh `msg_…` id for answers whose upstream gave none: a process counter hashed with
/// std's per-process random keys (no clock, which core may not read; `RandomState` is what every
/// `HashMap` in core already relies on, on every target).
pub(crate) fn new_message_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let hash = RandomState::new().hash_one(count);
    format!("msg_{hash:016x}{:08x}", count & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_map_both_ways() {
        for (wire, hub) in [
            ("end_turn", FinishReason::Stop),
            ("max_tokens", FinishReason::Length),
            ("tool_use", FinishReason::ToolCalls),
            ("refusal", FinishReason::ContentFilter),
            ("pause_turn", FinishReason::Other("pause_turn".into())),
        ] {
            assert_eq!(finish_reason_from_wire(wire), hub);
            assert_eq!(finish_reason_to_wire(&hub), wire);
        }
        assert_eq!(finish_reason_from_wire("stop_sequence"), FinishReason::Stop);
        assert_eq!(finish_reason_to_wire(&FinishReason::Other("MALFORMED_FUNCTION_CALL".into())), "end_turn");
    }

    #[test]
    fn usage_folds_cache_tokens_into_input_and_back() {
        let wire = WireUsage { input: Some(10), output: Some(5), cache_read: Some(100), cache_creation: Some(20) };
        let hub = wire.to_hub();
        assert_eq!(hub.input_tokens, 130);
        assert_eq!(hub.cached_input_tokens, Some(100));
        assert_eq!(hub.cache_creation_tokens, Some(20));
        assert_eq!(WireUsage::from_hub(&hub), wire);
    }

    #[test]
    fn message_ids_are_unique() {
        let (a, b) = (new_message_id(), new_message_id());
        assert!(a.starts_with("msg_") && a != b);
    }
}
