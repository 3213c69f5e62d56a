//! Providers as data: wire formats, auth schemes and the built-in catalog.
//! Most providers are OpenAI-compatible and need no code, only a catalog entry.

pub mod catalog;
pub mod pricing;

use serde::{Deserialize, Serialize};

pub use catalog::{CatalogModel, CatalogProvider, catalog, find_catalog_provider};

/// The wire format a client or provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum WireFormat {
    OpenaiChat,
    OpenaiResponses,
    Anthropic,
    Gemini,
    Ollama,
}

impl WireFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WireFormat::OpenaiChat => "openai-chat",
            WireFormat::OpenaiResponses => "openai-responses",
            WireFormat::Anthropic => "anthropic",
            WireFormat::Gemini => "gemini",
            WireFormat::Ollama => "ollama",
        }
    }
}

impl WireFormat {
    /// The documented chat path under a provider's base URL (which ends in `/v1`, or
    /// `/v1beta` for Gemini, or is the host root for Ollama).
    pub fn default_chat_path(self) -> &'static str {
        match self {
            WireFormat::OpenaiChat => "/chat/completions",
            WireFormat::OpenaiResponses => "/responses",
            WireFormat::Anthropic => "/messages",
            WireFormat::Gemini => "/models/{model}:generateContent",
            WireFormat::Ollama => "/api/chat",
        }
    }

    /// The documented model-list path under the base URL (OpenAI and Anthropic `/models`
    /// under `/v1`, Gemini `/models` under `/v1beta`, Ollama `/api/tags`).
    pub fn default_models_path(self) -> &'static str {
        match self {
            WireFormat::Ollama => "/api/tags",
            _ => "/models",
        }
    }

    /// Headers every request in this format must carry, unless configured otherwise.
    pub fn required_headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            // https://docs.anthropic.com/en/api/versioning
            WireFormat::Anthropic => &[("anthropic-version", "2023-06-01")],
            _ => &[],
        }
    }

    /// The streamed chat path where it differs from the plain one.
    pub fn default_stream_chat_path(self) -> Option<&'static str> {
        match self {
            WireFormat::Gemini => Some("/models/{model}:streamGenerateContent?alt=sse"),
            _ => None,
        }
    }
}

impl std::str::FromStr for WireFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!("unknown wire format '{s}' (expected openai-chat, openai-responses, anthropic, gemini or ollama)")
        })
    }
}

/// How a provider expects its API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum AuthScheme {
    /// `Authorization: Bearer KEY`
    Bearer,
    /// `x-api-key: KEY` (Anthropic)
    XApiKey,
    /// `x-goog-api-key: KEY` (Gemini)
    XGoogApiKey,
    /// `api-key: KEY` (Azure OpenAI)
    ApiKey,
    /// `?key=KEY`
    Query,
    /// No credentials (local servers).
    None,
}

impl std::str::FromStr for AuthScheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!("unknown auth scheme '{s}' (expected bearer, x-api-key, x-goog-api-key, api-key, query or none)")
        })
    }
}
