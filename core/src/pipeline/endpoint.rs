//! What a chat endpoint's URL tells the pipeline: the client's wire format, and for Gemini the
//! model and whether it streams; for `/v1/providers/{provider}/...` the provider.

use crate::formats::StreamFraming;
use crate::providers::WireFormat;

/// A chat endpoint: the client's format and what its URL says about model and streaming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEndpoint {
    pub format: WireFormat,
    /// Gemini carries the model in the path (`/v1beta/models/{model}:generateContent`).
    pub path_model: Option<String>,
    /// Gemini's method decides streaming (`:streamGenerateContent`), not the body.
    pub path_stream: Option<bool>,
    pub framing: StreamFraming,
    /// `/v1/providers/{provider}/...`: the model belongs to this provider.
    pub provider: Option<String>,
}

impl ChatEndpoint {
    /// An endpoint whose body says everything (model, stream).
    pub fn body(format: WireFormat) -> Self {
        ChatEndpoint { format, path_model: None, path_stream: None, framing: StreamFraming::Default, provider: None }
    }
}
