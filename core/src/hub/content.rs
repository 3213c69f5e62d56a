//! Messages and their content blocks: text, media, tool calls and results, reasoning.
//! Mapping notes per format sit on each variant.

use serde::{Deserialize, Serialize};

use super::Extra;

/// Who said it. OpenAI's `developer` is kept apart from `system` so it round-trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// OpenAI `system`; Anthropic top-level `system`; Gemini `systemInstruction`.
    System,
    /// OpenAI `developer` (treated as system by formats without it).
    Developer,
    User,
    /// OpenAI `assistant`; Gemini `model`.
    Assistant,
    /// OpenAI `tool` messages; Anthropic/Gemini carry results in user turns instead.
    Tool,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
    /// OpenAI `name` on a message.
    pub name: Option<String>,
    #[serde(default)]
    pub extra: Extra,
}

/// Where image or document bytes come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MediaSource {
    Url(String),
    Base64 { media_type: String, data: String },
}

/// A piece of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ContentBlock {
    Text {
        text: String,
    },
    /// OpenAI `image_url` (URL or data URL, `detail`); Anthropic `image`; Gemini `inlineData`/`fileData`.
    Image {
        source: MediaSource,
        detail: Option<String>,
    },
    /// OpenAI `file`; Anthropic `document`; Gemini `inlineData` with a non-image type.
    Document {
        source: MediaSource,
        name: Option<String>,
    },
    /// OpenAI `tool_calls[]` (arguments as a JSON string); Anthropic `tool_use` (input object);
    /// Gemini `functionCall` (no id: codecs generate stable ones).
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    /// OpenAI `tool` message; Anthropic `tool_result`; Gemini `functionResponse`.
    ToolResult {
        tool_call_id: String,
        content: Vec<ContentBlock>,
        is_error: bool,
    },
    /// Anthropic `thinking` with `signature`; OpenAI `reasoning_content`; Gemini `thought` parts.
    Thinking {
        text: String,
        signature: Option<String>,
    },
    /// Anthropic `redacted_thinking`.
    RedactedThinking {
        data: String,
    },
    /// A part the hub does not model, tagged with the format it came from.
    Unknown {
        format: String,
        value: serde_json::Value,
    },
}

impl ContentBlock {
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text { text: text.into() }
    }
}
