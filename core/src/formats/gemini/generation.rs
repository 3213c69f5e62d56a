//! `generationConfig` ⇄ hub sampling, JSON output (`responseMimeType` with `responseSchema` /
//! `responseJsonSchema`) and reasoning (`thinkingConfig`), plus the schema normalisation that
//! turns Google's OpenAPI-style schemas (`"type": "OBJECT"`) into JSON Schema.

use serde_json::{Map, Value, json};

use super::{field, take_field};
use crate::error::GatewayError;
use crate::formats::json_body::{SamplingKeys, invalid, put_sampling};
use crate::hub::{ChatRequest, ReasoningOptions, ResponseFormat};

/// Gemini's names for the hub's sampling fields, all under `generationConfig`.
const SAMPLING_KEYS: SamplingKeys = SamplingKeys {
    temperature: "temperature",
    top_p: "topP",
    top_k: Some("topK"),
    max_tokens: "maxOutputTokens",
    stop: "stopSequences",
    seed: "seed",
    presence_penalty: "presencePenalty",
    frequency_penalty: "frequencyPenalty",
};

/// Gemini's OpenAPI-style schemas spell types in capitals (`OBJECT`); JSON Schema wants them
/// lower-case.
pub(crate) fn normalize_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(obj) => Value::Object(
            obj.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("type", Value::String(t)) => (k.clone(), Value::String(t.to_ascii_lowercase())),
                    _ => (k.clone(), normalize_schema(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize_schema).collect()),
        other => other.clone(),
    }
}

fn take_f64(obj: &mut Map<String, Value>, key: &str) -> Result<Option<f64>, GatewayError> {
    match take_field(obj, key) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| invalid(format!("`generationConfig.{key}` must be a number"))),
    }
}

fn take_u64(obj: &mut Map<String, Value>, key: &str) -> Result<Option<u64>, GatewayError> {
    match take_field(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| invalid(format!("`generationConfig.{key}` must be a non-negative integer"))),
    }
}

pub(crate) fn decode_generation_config(config: Value, req: &mut ChatRequest) -> Result<(), GatewayError> {
    let Value::Object(mut g) = config else {
        return Err(invalid("`generationConfig` must be an object"));
    };
    let s = &mut req.sampling;
    s.temperature = take_f64(&mut g, "temperature")?;
    s.top_p = take_f64(&mut g, "topP")?;
    s.top_k = take_u64(&mut g, "topK")?;
    s.max_tokens = take_u64(&mut g, "maxOutputTokens")?;
    s.stop = match take_field(&mut g, "stopSequences") {
        None => Vec::new(),
        Some(Value::String(stop)) => vec![stop],
        Some(Value::Array(stops)) => stops.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(_) => return Err(invalid("`generationConfig.stopSequences` must be an array of strings")),
    };
    s.seed = match take_field(&mut g, "seed") {
        None => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| invalid("`generationConfig.seed` must be an integer"))?),
    };
    s.presence_penalty = take_f64(&mut g, "presencePenalty")?;
    s.frequency_penalty = take_f64(&mut g, "frequencyPenalty")?;

    let mime = take_field(&mut g, "responseMimeType");
    let json_schema = take_field(&mut g, "responseJsonSchema");
    let openapi_schema = take_field(&mut g, "responseSchema");
    let schema = json_schema.or_else(|| openapi_schema.as_ref().map(normalize_schema));
    let json_format = |schema: Option<Value>| match schema {
        Some(schema) => ResponseFormat::JsonSchema { name: "response".into(), schema, strict: None },
        None => ResponseFormat::JsonObject,
    };
    req.response_format = match mime.as_ref().and_then(Value::as_str) {
        Some("application/json") => Some(json_format(schema)),
        Some("text/plain") => Some(ResponseFormat::Text),
        None => schema.map(|s| json_format(Some(s))),
        // `text/x.enum` and the like: not modelled, sent back as they came.
        Some(_) => {
            g.extend(mime.map(|m| ("responseMimeType".to_owned(), m)));
            g.extend(openapi_schema.map(|s| ("responseSchema".to_owned(), s)));
            None
        }
    };
    if let Some(thinking) = take_field(&mut g, "thinkingConfig") {
        let budget = field(&thinking, "thinkingBudget").and_then(Value::as_i64);
        let level = field(&thinking, "thinkingLevel").and_then(Value::as_str).map(str::to_ascii_lowercase);
        let include = field(&thinking, "includeThoughts").and_then(Value::as_bool).unwrap_or(false);
        let budget_tokens = budget.and_then(|b| u64::try_from(b).ok());
        if budget_tokens.is_some() || level.is_some() || include {
            req.reasoning = Some(ReasoningOptions { effort: level, budget_tokens });
        }
    }
    if !g.is_empty() {
        req.extra.insert("generationConfig".into(), Value::Object(g));
    }
    Ok(())
}

pub(crate) fn encode_generation_config(req: &ChatRequest) -> Map<String, Value> {
    let mut g = match req.extra.get("generationConfig") {
        Some(Value::Object(config)) => config.clone(),
        _ => Map::new(),
    };
    put_sampling(&mut g, &req.sampling, &SAMPLING_KEYS);
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            g.insert(key.into(), value);
        }
    };
    match &req.response_format {
        Some(ResponseFormat::Text) => put("responseMimeType", Some(json!("text/plain"))),
        Some(ResponseFormat::JsonObject) => put("responseMimeType", Some(json!("application/json"))),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            put("responseMimeType", Some(json!("application/json")));
            put("responseJsonSchema", Some(schema.clone()));
        }
        None => {}
    }
    if let Some(reasoning) = &req.reasoning {
        put("thinkingConfig", Some(thinking_config(reasoning, &req.model)));
    }
    if g.contains_key("responseJsonSchema") {
        g.remove("responseSchema");
    }
    g
}

/// Hub reasoning → `thinkingConfig`. A budget is sent as `thinkingBudget`; an effort becomes
/// `thinkingLevel` for Gemini 3 and later, else a budget on the scale Google's OpenAI
/// compatibility layer uses (low 1024, medium 8192, high 24576; none turns thinking off).
fn thinking_config(reasoning: &ReasoningOptions, model: &str) -> Value {
    let mut config = Map::new();
    let mut thinks = true;
    if let Some(budget) = reasoning.budget_tokens {
        config.insert("thinkingBudget".into(), json!(budget));
        thinks = budget > 0;
    } else if let Some(effort) = reasoning.effort.as_deref().map(str::to_ascii_lowercase) {
        if uses_thinking_level(model) {
            let level = match effort.as_str() {
                "none" | "minimal" => "minimal",
                "xhigh" | "max" => "high",
                other => other,
            };
            config.insert("thinkingLevel".into(), json!(level));
        } else {
            let budget: i64 = match effort.as_str() {
                "none" => 0,
                "minimal" => 512,
                "low" => 1024,
                "medium" => 8192,
                "high" | "xhigh" | "max" => 24576,
                _ => -1,
            };
            config.insert("thinkingBudget".into(), json!(budget));
            thinks = budget != 0;
        }
    }
    if thinks {
        config.insert("includeThoughts".into(), json!(true));
    }
    Value::Object(config)
}

/// Whether a model takes `thinkingLevel` (Gemini 3 and later) rather than `thinkingBudget`.
fn uses_thinking_level(model: &str) -> bool {
    let Some((_, rest)) = model.rsplit_once("gemini-") else {
        return false;
    };
    let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
    major.parse::<u32>().is_ok_and(|m| m >= 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn efforts_become_levels_for_gemini_3_and_budgets_before() {
        let effort = |e: &str| ReasoningOptions { effort: Some(e.into()), budget_tokens: None };
        assert_eq!(
            thinking_config(&effort("low"), "gemini-3-pro-preview"),
            json!({ "thinkingLevel": "low", "includeThoughts": true })
        );
        assert_eq!(
            thinking_config(&effort("medium"), "models/gemini-2.5-flash"),
            json!({ "thinkingBudget": 8192, "includeThoughts": true })
        );
        assert_eq!(thinking_config(&effort("none"), "gemini-2.5-flash"), json!({ "thinkingBudget": 0 }));
        let budget = ReasoningOptions { effort: None, budget_tokens: Some(2048) };
        assert_eq!(thinking_config(&budget, ""), json!({ "thinkingBudget": 2048, "includeThoughts": true }));
        assert!(!uses_thinking_level("gemini-2.5-pro") && uses_thinking_level("google/gemini-3.1-flash"));
    }

    #[test]
    fn schemas_get_lower_case_types() {
        let schema = json!({ "type": "OBJECT", "properties": { "type": { "type": "STRING" } } });
        assert_eq!(
            normalize_schema(&schema),
            json!({ "type": "object", "properties": { "type": { "type": "string" } } })
        );
    }
}
