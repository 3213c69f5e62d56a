//! OpenAI Chat Completions (`/v1/chat/completions`): request, response and stream codecs, and
//! the error shape. Most providers speak this format, so it is also the passthrough path.

pub mod error;
pub mod request;
pub mod response;
pub mod stream;

pub use error::{error_body, stream_error_event, upstream_error_message};
pub use request::{decode_request, encode_request};
pub use response::{decode_response, encode_response};
pub use stream::{StreamDecoder, StreamEncoder};

/// Maps OpenAI's `finish_reason` to the hub's.
pub(crate) fn finish_reason_from_wire(reason: &str) -> crate::hub::FinishReason {
    use crate::hub::FinishReason;
    match reason {
        "stop" => FinishReason::Stop,
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        other => FinishReason::Other(other.to_owned()),
    }
}

/// Maps the hub's finish reason to OpenAI's.
pub(crate) fn finish_reason_to_wire(reason: &crate::hub::FinishReason) -> &str {
    use crate::hub::FinishReason;
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::Other(other) => other,
    }
}

/// OpenAI `usage` object → hub usage.
pub(crate) fn usage_from_wire(usage: &serde_json::Value) -> Option<crate::hub::Usage> {
    let input = usage.get("prompt_tokens")?.as_u64()?;
    Some(crate::hub::Usage {
        input_tokens: input,
        output_tokens: usage.get("completion_tokens").and_then(|v| v.as_u64()).unwrap_or(0),
        // `get` twice rather than `pointer`, which allocates for its path on every usage read.
        cached_input_tokens: usage.get("prompt_tokens_details").and_then(|d| d.get("cached_tokens")?.as_u64()),
        cache_creation_tokens: None,
        reasoning_tokens: usage.get("completion_tokens_details").and_then(|d| d.get("reasoning_tokens")?.as_u64()),
    })
}

/// Hub usage → OpenAI `usage` object.
pub(crate) fn usage_to_wire(usage: &crate::hub::Usage) -> serde_json::Value {
    let mut out = serde_json::json!({
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens(),
    });
    if let Some(cached) = usage.cached_input_tokens {
        out["prompt_tokens_details"] = serde_json::json!({ "cached_tokens": cached });
    }
    if let Some(reasoning) = usage.reasoning_tokens {
        out["completion_tokens_details"] = serde_json::json!({ "reasoning_tokens": reasoning });
    }
    out
}
