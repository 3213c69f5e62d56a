//! A complete chat response in hub form, with finish reason and usage.

use serde::{Deserialize, Serialize};

use super::{ContentBlock, Extra};

/// A non-streamed answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatResponse {
    pub id: String,
    pub model: String,
    /// Unix seconds, where the format carries it.
    pub created: Option<u64>,
    pub content: Vec<ContentBlock>,
    pub finish_reason: Option<FinishReason>,
    pub usage: Option<Usage>,
    #[serde(default)]
    pub extra: Extra,
}

/// Why generation stopped, mapped across formats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinishReason {
    /// OpenAI `stop`; Anthropic `end_turn`/`stop_sequence`; Gemini `STOP`.
    Stop,
    /// OpenAI `length`; Anthropic `max_tokens`; Gemini `MAX_TOKENS`.
    Length,
    /// OpenAI `tool_calls`; Anthropic `tool_use`.
    ToolCalls,
    /// OpenAI `content_filter`; Anthropic `refusal`; Gemini `SAFETY`/`RECITATION`.
    ContentFilter,
    /// Anything else, verbatim.
    Other(String),
}

/// Token counts as the upstream reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// OpenAI `prompt_tokens_details.cached_tokens`; Anthropic `cache_read_input_tokens`.
    pub cached_input_tokens: Option<u64>,
    /// Anthropic `cache_creation_input_tokens`.
    pub cache_creation_tokens: Option<u64>,
    /// OpenAI `completion_tokens_details.reasoning_tokens`; Gemini `thoughtsTokenCount`.
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Input plus output, as the formats' `total_tokens` fields carry it. Saturating: the
    /// counts are the upstream's word, and one reporting `u64::MAX` must not overflow.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}
