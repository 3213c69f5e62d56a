//! The hub format: one canonical chat model every codec decodes into and encodes from.
//! N codecs give every N×N pair. Fields the hub does not model travel in `extra` maps.

pub mod content;
pub mod data_url;
pub mod request;
pub mod response;
pub mod stream;
pub mod tools;

pub use content::{ContentBlock, MediaSource, Message, Role};
pub use request::{ChatRequest, ReasoningOptions, ResponseFormat, Sampling, ToolChoice, ToolDefinition, effort_budget};
pub use response::{ChatResponse, FinishReason, Usage};
pub use stream::{BlockDelta, BlockStart, StreamEvent, response_events};
pub use tools::{HostedTool, Namespaces, ToolNamespace, flat_name};

/// Unmodelled JSON fields, kept so nothing a client sent silently vanishes.
pub type Extra = serde_json::Map<String, serde_json::Value>;
