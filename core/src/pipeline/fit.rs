//! Fitting a request to the model that will answer it. Agents ask for what their own vendor's
//! models take (Claude Code: `max_tokens` 32000 with a thinking budget; a 150-character user id
//! in `metadata`), and a gateway sends it to other models that refuse it. From the catalog's
//! data on the target model this clamps `max_tokens` to its output limit, drops reasoning
//! options for a model that does not reason, drops the sampling parameters a reasoning model
//! refuses, and hashes an over-long `user` to the provider's limit. Each change is named, for
//! the `X-OmniRoute-Adapted` header and the log. A key with `strictParameters` gets none of it,
//! and the upstream's own refusal instead.

use sha2::{Digest, Sha256};

use crate::hub::ChatRequest;
use crate::providers::{CatalogModel, WireFormat};

/// What the target model is known to take.
#[derive(Debug, Clone, Copy, Default)]
pub struct ModelLimits {
    /// The most output tokens one answer may ask for.
    pub max_output: Option<u64>,
    /// `Some(false)` only when the catalog knows the model and says it does not reason;
    /// unknown models keep what the client asked for.
    pub reasons: Option<bool>,
}

impl ModelLimits {
    pub fn of(model: Option<&CatalogModel>) -> Self {
        let Some(model) = model else { return ModelLimits::default() };
        let known = !model.capabilities.is_empty();
        ModelLimits {
            max_output: model.max_output.filter(|limit| *limit > 0),
            reasons: known.then(|| model.capabilities.iter().any(|c| c == "reasoning")),
        }
    }

    /// Whether any rule could apply: nothing to do (and nothing to decode on the passthrough
    /// path) for a model the catalog says nothing about.
    pub fn constrain(&self) -> bool {
        self.max_output.is_some() || self.reasons.is_some()
    }
}

/// The keys of the parameters [`fit`] bounds, in every wire format's spelling.
const FITTED_KEYS: [&[u8]; 13] = [
    b"\"max_tokens\"",
    b"\"max_completion_tokens\"",
    b"\"max_output_tokens\"",
    b"\"maxOutputTokens\"",
    b"\"num_predict\"",
    b"\"reasoning",
    b"\"thinking",
    b"\"think\"",
    b"\"temperature\"",
    b"\"top_p\"",
    b"\"topP\"",
    b"\"top_k\"",
    b"\"topK\"",
];

/// Whether a body names any parameter [`fit`] may change: the passthrough path decodes only
/// the bodies that do.
pub fn names_a_fitted_parameter(body: &[u8]) -> bool {
    FITTED_KEYS.iter().any(|key| memchr::memmem::find(body, key).is_some())
}

/// The longest `user` OpenAI's APIs take.
const OPENAI_USER_MAX: usize = 64;

/// Fits `request` to a model of `format` with `limits`; returns what was changed, as
/// `name=value` or `name dropped` entries.
pub fn fit(request: &mut ChatRequest, format: WireFormat, limits: ModelLimits) -> Vec<String> {
    let mut changed = Vec::new();
    if let (Some(limit), Some(asked)) = (limits.max_output, request.sampling.max_tokens)
        && asked > limit
    {
        request.sampling.max_tokens = Some(limit);
        changed.push(format!("max_tokens={limit}"));
    }
    match limits.reasons {
        Some(false) if request.reasoning.take().is_some() => changed.push("reasoning dropped".into()),
        Some(true) => fit_reasoning(request, format, &mut changed),
        _ => {}
    }
    if matches!(format, WireFormat::OpenaiChat | WireFormat::OpenaiResponses)
        && let Some(user) = &request.user
        && user.len() > OPENAI_USER_MAX
    {
        request.user = Some(hex::encode(Sha256::digest(user.as_bytes())));
        changed.push("user hashed".into());
    }
    changed
}

/// A reasoning model: OpenAI's refuse `temperature` and `top_p` (only the default is
/// accepted); Anthropic's thinking needs a budget below `max_tokens` and no `top_k`, and takes
/// `temperature` only at 1.
fn fit_reasoning(request: &mut ChatRequest, format: WireFormat, changed: &mut Vec<String>) {
    let sampling = &mut request.sampling;
    match format {
        WireFormat::OpenaiChat | WireFormat::OpenaiResponses => {
            if sampling.temperature.take_if(|t| *t != 1.0).is_some() {
                changed.push("temperature dropped".into());
            }
            if sampling.top_p.take_if(|p| *p != 1.0).is_some() {
                changed.push("top_p dropped".into());
            }
        }
        WireFormat::Anthropic => {
            let Some(reasoning) = &mut request.reasoning else { return };
            if sampling.top_k.take().is_some() {
                changed.push("top_k dropped".into());
            }
            if sampling.temperature.take_if(|t| *t != 1.0).is_some() {
                changed.push("temperature dropped".into());
            }
            if let (Some(budget), Some(max)) = (reasoning.budget_tokens, sampling.max_tokens)
                && budget >= max
            {
                // Anthropic's minimum budget is 1024; below that room there is no thinking.
                let fitted = max.saturating_sub(1);
                if fitted >= 1024 {
                    reasoning.budget_tokens = Some(fitted);
                    changed.push(format!("thinking.budget_tokens={fitted}"));
                } else {
                    request.reasoning = None;
                    changed.push("reasoning dropped".into());
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::ReasoningOptions;

    fn model(max_output: u64, capabilities: &[&str]) -> CatalogModel {
        CatalogModel {
            id: "m".into(),
            context: None,
            max_output: Some(max_output),
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
            input_price: None,
            output_price: None,
            cached_input_price: None,
        }
    }

    fn claude_code_like() -> ChatRequest {
        let mut request = ChatRequest::default();
        request.sampling.max_tokens = Some(32000);
        request.sampling.temperature = Some(1.0);
        request.reasoning = Some(ReasoningOptions { effort: Some("high".into()), budget_tokens: Some(31999) });
        request.user = Some(format!("{{\"device_id\":\"{}\",\"session_id\":\"abc\"}}", "f".repeat(120)));
        request
    }

    #[test]
    fn a_non_reasoning_openai_model_gets_a_request_it_takes() {
        let mut request = claude_code_like();
        let limits = ModelLimits::of(Some(&model(16384, &["tools", "streaming"])));
        let changed = fit(&mut request, WireFormat::OpenaiChat, limits);
        assert_eq!(changed, ["max_tokens=16384", "reasoning dropped", "user hashed"]);
        assert_eq!(request.sampling.max_tokens, Some(16384));
        assert!(request.reasoning.is_none());
        assert_eq!(request.user.as_deref().map(str::len), Some(64));
    }

    #[test]
    fn a_reasoning_openai_model_keeps_reasoning_and_loses_sampling() {
        let mut request = claude_code_like();
        request.sampling.temperature = Some(0.2);
        request.sampling.top_p = Some(0.9);
        let changed =
            fit(&mut request, WireFormat::OpenaiResponses, ModelLimits::of(Some(&model(128000, &["reasoning"]))));
        assert_eq!(changed, ["temperature dropped", "top_p dropped", "user hashed"]);
        assert!(request.reasoning.is_some());
        assert_eq!(request.sampling.max_tokens, Some(32000));
    }

    #[test]
    fn anthropic_thinking_keeps_its_budget_below_the_clamped_max_tokens() {
        let mut request = claude_code_like();
        request.sampling.top_k = Some(5);
        let changed = fit(&mut request, WireFormat::Anthropic, ModelLimits::of(Some(&model(8192, &["reasoning"]))));
        assert_eq!(changed, ["max_tokens=8192", "top_k dropped", "thinking.budget_tokens=8191"]);
        assert_eq!(request.reasoning.as_ref().and_then(|r| r.budget_tokens), Some(8191));
        // Anthropic takes a long user id: only OpenAI's limit applies.
        assert!(request.user.as_deref().is_some_and(|u| u.len() > 64));
    }

    #[test]
    fn only_bodies_naming_a_bounded_parameter_are_decoded_to_fit() {
        assert!(names_a_fitted_parameter(br#"{"model":"m","max_tokens":5,"messages":[]}"#));
        assert!(names_a_fitted_parameter(br#"{"generationConfig":{"maxOutputTokens":5}}"#));
        assert!(names_a_fitted_parameter(br#"{"model":"m","reasoning_effort":"high"}"#));
        assert!(!names_a_fitted_parameter(br#"{"model":"m","messages":[{"role":"user","content":"max tokens"}]}"#));
    }

    #[test]
    fn an_unknown_model_is_left_alone_but_for_the_user_limit() {
        let limits = ModelLimits::of(None);
        assert!(!limits.constrain());
        let mut request = claude_code_like();
        assert_eq!(fit(&mut request, WireFormat::OpenaiChat, limits), ["user hashed"]);
        assert_eq!(request.sampling.max_tokens, Some(32000));
        assert!(request.reasoning.is_some());
        // A custom model with a limit but no capabilities: clamped, reasoning kept.
        let mut request = claude_code_like();
        let changed = fit(&mut request, WireFormat::Gemini, ModelLimits::of(Some(&model(4096, &[]))));
        assert_eq!(changed, ["max_tokens=4096"]);
        assert!(request.reasoning.is_some());
    }
}
