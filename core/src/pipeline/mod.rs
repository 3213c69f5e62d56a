//! The inference pipeline: the phases of a chat request, called in one visible order.
//!
//! route → guard (IP filter, keys, login, per-key rate limits) → read + probe → resolve → plan (passthrough or
//! translate through the hub) → dispatch (accounts in order, first-byte peek) → respond (bytes
//! as they came, or re-encoded; streams relayed chunk by chunk) → record (usage rows through the
//! batching sink, off the hot path).

pub mod answer;
pub mod answer_check;
pub(crate) mod attempt;
pub mod cached;
pub mod chat;
pub mod chat_context;
pub mod coalesce;
pub mod content_count;
pub mod cors;
pub mod count_tokens;
pub mod dispatch;
pub mod embed;
pub mod endpoint;
pub mod fit;
pub mod idempotency_gate;
pub mod in_span;
pub mod info;
pub mod passthrough;
pub mod progress;
pub mod record;
pub mod relay;
pub mod stored;
pub mod stream_transform;
#[cfg(test)]
pub(crate) mod test_support;
pub mod timeouts;
pub mod upstream;
pub mod usage_tap;
pub(crate) mod walk_outcome;
