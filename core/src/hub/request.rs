//! A chat request in hub form: messages, tools, tool choice, sampling and output options.

use serde::{Deserialize, Serialize};

use super::{Extra, HostedTool, Message, ToolNamespace};

/// A chat request, whatever format it arrived in.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    /// As the client sent it (`provider/model`, alias or combo); resolution rewrites it.
    pub model: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDefinition>,
    /// Tools only a provider of the client's format can run (see [`HostedTool`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosted_tools: Vec<HostedTool>,
    pub tool_choice: Option<ToolChoice>,
    pub sampling: Sampling,
    /// OpenAI `response_format`; Gemini `responseMimeType`/`responseSchema`.
    pub response_format: Option<ResponseFormat>,
    /// OpenAI `reasoning_effort`; Anthropic `thinking.budget_tokens`; Gemini `thinkingConfig`.
    pub reasoning: Option<ReasoningOptions>,
    pub parallel_tool_calls: Option<bool>,
    pub stream: bool,
    /// OpenAI `stream_options.include_usage`.
    pub stream_usage: bool,
    /// OpenAI `user`; Anthropic `metadata.user_id`.
    pub user: Option<String>,
    #[serde(default)]
    pub extra: Extra,
}

impl ChatRequest {
    /// Forgets the fields the hub does not model, and the hosted tools. Both are native to the
    /// format they came from, so they must not reach a provider of another format (which would
    /// reject them, or could not run them).
    pub fn drop_extras(&mut self) {
        self.extra.clear();
        self.hosted_tools.clear();
        for message in &mut self.messages {
            message.extra.clear();
        }
    }
}

/// Sampling and length controls.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sampling {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Anthropic/Gemini/Ollama only.
    pub top_k: Option<u64>,
    /// `max_tokens` / `max_completion_tokens` / `max_output_tokens` / `maxOutputTokens` / `num_predict`.
    pub max_tokens: Option<u64>,
    pub stop: Vec<String>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// The name providers see: for a function of a Responses namespace, its flat name.
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
    pub strict: Option<bool>,
    /// Set when the function came from a Responses `namespace` tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<ToolNamespace>,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToolChoice {
    Auto,
    None,
    /// OpenAI `required`; Anthropic `any`; Gemini mode `ANY`.
    Required,
    Tool(String),
}

/// Structured output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { name: String, schema: serde_json::Value, strict: Option<bool> },
}

/// How much the model should think.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasoningOptions {
    /// `minimal` / `low` / `medium` / `high`.
    pub effort: Option<String>,
    pub budget_tokens: Option<u64>,
}

/// The thinking budget an effort level stands for (`None` for `none`); an unknown or absent
/// level counts as `medium`. The one scale every effort ↔ budget conversion uses.
pub fn effort_budget(effort: Option<&str>) -> Option<u64> {
    match effort {
        Some("none") => None,
        Some("minimal") => Some(1024),
        Some("low") => Some(2048),
        Some("high") => Some(16384),
        Some("xhigh") | Some("max") => Some(32000),
        _ => Some(8192),
    }
}
