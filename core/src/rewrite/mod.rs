//! What the gateway's settings change in every chat request on its way upstream: the global
//! system prompt ([`system_prompt`]) and the thinking budget policy ([`thinking`]). Applied to
//! the hub request when translating, and to the body in its own format on the passthrough,
//! where only the edited fields are re-encoded ([`raw_json`]). Off by default: then nothing is
//! parsed and the passthrough stays byte for byte. [`system_turns`] is the one edit a format
//! needs on its own: Anthropic system turns inside `messages` moved into `system`.

pub mod raw_json;
pub mod system_prompt;
pub mod system_turns;
pub mod thinking;

use std::sync::Arc;

use bytes::Bytes;

use crate::config::StoredConfig;
use crate::config::settings::setting_or_default;
use crate::config::settings::{SystemPromptSettings, ThinkingBudgetSettings, ThinkingMode, keys};
use crate::error::GatewayError;
use crate::hub::ChatRequest;
use crate::providers::WireFormat;
use raw_json::RawObject;

/// The request edits of one config snapshot, read on the hot path without parsing settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestEdits {
    /// The global system prompt, when enabled and not empty.
    pub system_prompt: Option<Arc<str>>,
    pub thinking: ThinkingBudgetSettings,
}

impl RequestEdits {
    pub fn build(stored: &StoredConfig) -> RequestEdits {
        let prompt: SystemPromptSettings = setting_or_default(stored, keys::SYSTEM_PROMPT);
        RequestEdits {
            system_prompt: (prompt.enabled && !prompt.prompt.trim().is_empty()).then(|| Arc::from(prompt.prompt)),
            thinking: setting_or_default(stored, keys::THINKING_BUDGET),
        }
    }

    /// Whether any request may change.
    pub fn is_active(&self) -> bool {
        self.system_prompt.is_some() || self.thinking.mode != ThinkingMode::Passthrough
    }

    /// A decoded request, before it is encoded for a provider of another format.
    pub fn apply_to_hub(&self, request: &mut ChatRequest) {
        if let Some(prompt) = &self.system_prompt {
            system_prompt::prepend_to_hub(request, prompt);
        }
        thinking::apply_to_hub(&mut request.reasoning, self.thinking);
    }

    /// A body in `format`, forwarded to a provider of the same format. Unchanged (the same
    /// bytes) when no edit is active.
    pub fn apply_to_body(&self, format: WireFormat, body: &Bytes) -> Result<Bytes, GatewayError> {
        if !self.is_active() {
            return Ok(body.clone());
        }
        let mut object = RawObject::parse(body)?;
        if let Some(prompt) = &self.system_prompt {
            system_prompt::prepend_to_body(format, &mut object, prompt)?;
        }
        thinking::apply_to_body(format, &mut object, self.thinking)?;
        Ok(object.to_bytes())
    }
}
