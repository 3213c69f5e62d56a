//! The thinking budget policy on requests that ask for reasoning: `fixed` sets the budget,
//! `cap` lowers a larger one, `disabled` removes the request's reasoning parameters (the
//! upstream's default applies; Ollama gets `think: false`, its way to say no). A request that
//! does not ask for reasoning is left alone. Formats that take an effort level instead of a
//! budget get the highest level whose budget fits ([`level_for`], `low` at least).

use serde_json::{Map, Value, json};

use crate::config::settings::{ThinkingBudgetSettings, ThinkingMode};
use crate::error::GatewayError;
use crate::hub::{ReasoningOptions, effort_budget};
use crate::providers::WireFormat;
use crate::rewrite::raw_json::RawObject;

/// Anthropic refuses smaller thinking budgets; below it thinking is turned off.
pub const ANTHROPIC_MIN_BUDGET: u64 = 1024;

/// Effort levels by rank; `none` has none.
const RANKS: [&str; 6] = ["minimal", "low", "medium", "high", "xhigh", "max"];

fn rank(level: &str) -> Option<usize> {
    RANKS.iter().position(|r| r.eq_ignore_ascii_case(level))
}

/// The highest of `low`/`medium`/`high` whose budget is within `budget` (`low` at least:
/// `minimal` is not accepted by every model that takes levels).
pub fn level_for(budget: u64) -> &'static str {
    ["high", "medium"]
        .into_iter()
        .find(|level| effort_budget(Some(level)).is_some_and(|b| b <= budget))
        .unwrap_or("low")
}

/// The client's level, lowered to what `cap` allows (never raised).
fn capped_level(level: Option<&str>, cap: u64) -> Option<String> {
    let asked = effort_budget(level)?;
    if asked <= cap {
        return None;
    }
    let allowed = level_for(cap);
    match level.and_then(rank) {
        Some(own) if rank(allowed).is_some_and(|a| own < a) => None,
        _ => Some(allowed.to_owned()),
    }
}

/// Translated requests: the hub's reasoning options.
pub fn apply_to_hub(reasoning: &mut Option<ReasoningOptions>, settings: ThinkingBudgetSettings) {
    let n = u64::from(settings.budget_tokens);
    let asks = |r: &ReasoningOptions| r.effort.as_deref() != Some("none") && r.budget_tokens != Some(0);
    match settings.mode {
        ThinkingMode::Passthrough => {}
        ThinkingMode::Disabled => *reasoning = None,
        ThinkingMode::Fixed => {
            if let Some(r) = reasoning.as_mut().filter(|r| asks(r)) {
                r.budget_tokens = Some(n);
                r.effort = Some(level_for(n).to_owned());
            }
        }
        ThinkingMode::Cap => {
            if let Some(r) = reasoning.as_mut().filter(|r| asks(r)) {
                let asked = r.budget_tokens.or_else(|| effort_budget(r.effort.as_deref()));
                if asked.is_none_or(|b| b > n) {
                    r.budget_tokens = Some(n);
                    r.effort = Some(capped_level(r.effort.as_deref(), n).unwrap_or_else(|| level_for(n).to_owned()));
                }
            }
        }
    }
}

/// Passthrough bodies: each format's own reasoning parameters.
pub fn apply_to_body(
    format: WireFormat,
    body: &mut RawObject,
    settings: ThinkingBudgetSettings,
) -> Result<(), GatewayError> {
    if settings.mode == ThinkingMode::Passthrough {
        return Ok(());
    }
    let edit = Edit { mode: settings.mode, n: u64::from(settings.budget_tokens) };
    match format {
        WireFormat::OpenaiChat => edit.openai_chat(body),
        WireFormat::OpenaiResponses => edit.responses(body),
        WireFormat::Anthropic => edit.anthropic(body),
        WireFormat::Gemini => edit.gemini(body),
        WireFormat::Ollama => edit.ollama(body),
    }
}

#[derive(Clone, Copy)]
struct Edit {
    mode: ThinkingMode,
    n: u64,
}

impl Edit {
    /// An effort level under this policy (`None`: unchanged).
    fn level(&self, level: Option<&str>) -> Option<String> {
        match self.mode {
            ThinkingMode::Fixed => Some(level_for(self.n).to_owned()),
            ThinkingMode::Cap => capped_level(level, self.n),
            _ => None,
        }
    }

    /// The `effort` field of `object` under this policy (`default`: what an absent one means).
    /// Returns whether it changed.
    fn set_effort(&self, object: &mut Map<String, Value>, default: Option<&str>) -> bool {
        let effort = object.get("effort").and_then(Value::as_str).or(default).map(str::to_owned);
        if effort.as_deref() == Some("none") {
            return false;
        }
        match self.level(effort.as_deref()) {
            Some(level) => {
                object.insert("effort".into(), json!(level));
                true
            }
            None => false,
        }
    }

    /// A token budget under this policy (`-1`, "dynamic", counts as unbounded).
    fn budget(&self, budget: i64) -> i64 {
        let n = i64::try_from(self.n).unwrap_or(i64::MAX);
        match self.mode {
            ThinkingMode::Fixed => n,
            ThinkingMode::Cap if budget < 0 || budget > n => n,
            _ => budget,
        }
    }

    /// `reasoning_effort`, and OpenRouter's `reasoning` object (`effort` or `max_tokens`).
    fn openai_chat(&self, body: &mut RawObject) -> Result<(), GatewayError> {
        if self.mode == ThinkingMode::Disabled {
            body.remove("reasoning_effort");
            body.remove("reasoning");
            return Ok(());
        }
        if let Some(Value::String(effort)) = body.get("reasoning_effort")
            && effort != "none"
            && let Some(level) = self.level(Some(&effort))
        {
            body.set("reasoning_effort", &json!(level))?;
        }
        if let Some(Value::Object(mut reasoning)) = body.get("reasoning")
            && reasoning.get("enabled") != Some(&json!(false))
        {
            match reasoning.get("max_tokens").and_then(Value::as_i64) {
                Some(budget) => {
                    reasoning.insert("max_tokens".into(), json!(self.budget(budget)));
                }
                None => {
                    self.set_effort(&mut reasoning, None);
                }
            }
            body.set("reasoning", &Value::Object(reasoning))?;
        }
        Ok(())
    }

    /// `reasoning.effort` (absent: the model's default, `medium`).
    fn responses(&self, body: &mut RawObject) -> Result<(), GatewayError> {
        let Some(Value::Object(mut reasoning)) = body.get("reasoning") else { return Ok(()) };
        if self.mode == ThinkingMode::Disabled {
            body.remove("reasoning");
            return Ok(());
        }
        if self.set_effort(&mut reasoning, None) {
            body.set("reasoning", &Value::Object(reasoning))?;
        }
        Ok(())
    }

    /// `thinking` (`enabled` with `budget_tokens`, or `adaptive` steered by
    /// `output_config.effort`). A budget must stay below `max_tokens`: when the policy's is not,
    /// `max_tokens` grows by it, keeping the room the client left for the answer.
    fn anthropic(&self, body: &mut RawObject) -> Result<(), GatewayError> {
        let Some(Value::Object(thinking)) = body.get("thinking") else { return Ok(()) };
        let kind = thinking.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
        if self.mode == ThinkingMode::Disabled {
            body.remove("thinking");
            return Ok(());
        }
        let max_tokens = body.get("max_tokens").and_then(|v| v.as_u64());
        let (asked, budget) = match kind.as_str() {
            "enabled" => {
                let asked = thinking.get("budget_tokens").and_then(Value::as_i64).unwrap_or(0);
                (Some(asked), self.budget(asked))
            }
            "adaptive" if self.mode == ThinkingMode::Fixed => (None, self.budget(0)),
            "adaptive" => return self.anthropic_adaptive_cap(body),
            _ => return Ok(()),
        };
        if asked == Some(budget) {
            return Ok(());
        }
        let budget = u64::try_from(budget).unwrap_or(0);
        if budget < ANTHROPIC_MIN_BUDGET {
            body.remove("thinking");
            return Ok(());
        }
        let mut thinking = thinking;
        thinking.insert("type".into(), json!("enabled"));
        thinking.insert("budget_tokens".into(), json!(budget));
        body.set("thinking", &Value::Object(thinking))?;
        if let Some(max_tokens) = max_tokens
            && max_tokens <= budget
        {
            let room = max_tokens.saturating_sub(asked.and_then(|a| u64::try_from(a).ok()).unwrap_or(0)).max(1);
            body.set("max_tokens", &json!(budget + room))?;
        }
        Ok(())
    }

    /// Adaptive thinking has no budget to cap: its effort (default `high`) is lowered instead.
    fn anthropic_adaptive_cap(&self, body: &mut RawObject) -> Result<(), GatewayError> {
        let mut config = match body.get("output_config") {
            Some(Value::Object(config)) => config,
            _ => Map::new(),
        };
        if self.set_effort(&mut config, Some("high")) {
            body.set("output_config", &Value::Object(config))?;
        }
        Ok(())
    }

    /// `generationConfig.thinkingConfig`: `thinkingBudget` (`-1` dynamic, `0` off) or
    /// `thinkingLevel` (Gemini 3), camelCase or snake_case.
    fn gemini(&self, body: &mut RawObject) -> Result<(), GatewayError> {
        let Some(config_key) = body.key_of(&["generationConfig", "generation_config"]) else { return Ok(()) };
        let Some(Value::Object(mut config)) = body.get(config_key) else { return Ok(()) };
        let Some(thinking_key) = ["thinkingConfig", "thinking_config"].into_iter().find(|k| config.contains_key(*k))
        else {
            return Ok(());
        };
        let Some(Value::Object(mut thinking)) = config.remove(thinking_key) else { return Ok(()) };
        let key = |camel: &'static str, snake: &'static str| if thinking.contains_key(snake) { snake } else { camel };
        let budget_key = key("thinkingBudget", "thinking_budget");
        let level_key = key("thinkingLevel", "thinking_level");
        let budget = thinking.get(budget_key).and_then(Value::as_i64);
        let level = thinking.get(level_key).and_then(Value::as_str).map(str::to_ascii_lowercase);
        let asks = budget != Some(0) && level.as_deref() != Some("none");
        match self.mode {
            _ if !asks => {
                config.insert(thinking_key.into(), Value::Object(thinking));
            }
            ThinkingMode::Disabled => {}
            _ => {
                match (budget, level) {
                    (_, Some(level)) => {
                        if let Some(level) = self.level(Some(&level)) {
                            thinking.insert(level_key.into(), json!(level));
                        }
                    }
                    (budget, None) => {
                        thinking.insert(budget_key.into(), json!(self.budget(budget.unwrap_or(-1))));
                    }
                }
                config.insert(thinking_key.into(), Value::Object(thinking));
            }
        }
        body.set(config_key, &Value::Object(config))
    }

    /// `think`: a level (`"low"`…`"high"`) follows the policy; `true` has no budget to set.
    fn ollama(&self, body: &mut RawObject) -> Result<(), GatewayError> {
        match body.get("think") {
            Some(Value::Bool(true)) if self.mode == ThinkingMode::Disabled => body.set("think", &json!(false)),
            Some(Value::String(_)) if self.mode == ThinkingMode::Disabled => body.set("think", &json!(false)),
            Some(Value::String(level)) => match self.level(Some(&level)) {
                Some(level) => body.set("think", &json!(level)),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "thinking_tests.rs"]
mod tests;
