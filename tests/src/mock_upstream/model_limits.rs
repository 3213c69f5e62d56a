//! What OpenAI's APIs refuse about a request for a real model id: `max_tokens` past the model's
//! output limit, reasoning options for a model that does not reason, sampling a reasoning
//! model does not take, a `user` over 64 characters. Each refusal is worded as the real API
//! words it (type `invalid_request_error`, with `param` and `code`). Model ids the mock
//! invents (`gpt-mock`, ...) are not checked.

use serde_json::{Value, json};

/// `(model id, most completion tokens, reasons)` for the real models tests ask for.
const MODELS: [(&str, u64, bool); 6] = [
    ("gpt-4o-mini", 16_384, false),
    ("gpt-4o", 16_384, false),
    ("gpt-4.1-mini", 32_768, false),
    ("gpt-5", 128_000, true),
    ("gpt-5-mini", 128_000, true),
    ("o4-mini", 100_000, true),
];

fn refusal(message: String, param: &str, code: &str) -> Value {
    json!({ "error": { "message": message, "type": "invalid_request_error", "param": param, "code": code } })
}

/// A Chat Completions request the real API would refuse, as its 400 body.
pub(super) fn chat_refusal(request: &Value) -> Option<Value> {
    let (limit, reasons) = limits(request)?;
    let max = request["max_completion_tokens"].as_u64().map(|n| ("max_completion_tokens", n));
    if let Some((param, asked)) = max.or_else(|| request["max_tokens"].as_u64().map(|n| ("max_tokens", n)))
        && asked > limit
    {
        let message = format!(
            "{param} is too large: {asked}. This model supports at most {limit} completion tokens, whereas you provided {asked}."
        );
        return Some(refusal(message, param, "invalid_value"));
    }
    if !reasons && !request["reasoning_effort"].is_null() {
        return Some(unsupported("reasoning_effort"));
    }
    common(request, reasons)
}

/// A Responses request the real API would refuse, as its 400 body.
pub(super) fn responses_refusal(request: &Value) -> Option<Value> {
    let (_, reasons) = limits(request)?;
    if !reasons && !request["reasoning"]["effort"].is_null() {
        return Some(unsupported("reasoning.effort"));
    }
    common(request, reasons)
}

fn limits(request: &Value) -> Option<(u64, bool)> {
    let model = request["model"].as_str()?;
    MODELS.iter().find(|(id, _, _)| *id == model).map(|(_, limit, reasons)| (*limit, *reasons))
}

fn unsupported(param: &str) -> Value {
    refusal(
        format!("Unsupported parameter: '{param}' is not supported with this model."),
        param,
        "unsupported_parameter",
    )
}

/// Refusals both APIs share: sampling on a reasoning model, an over-long `user`.
fn common(request: &Value, reasons: bool) -> Option<Value> {
    for param in ["temperature", "top_p"] {
        if let Some(value) = request[param].as_f64()
            && reasons
            && value != 1.0
        {
            let message = format!(
                "Unsupported value: '{param}' does not support {value} with this model. Only the default (1) value is supported."
            );
            return Some(refusal(message, param, "unsupported_value"));
        }
    }
    let user = request["user"].as_str().unwrap_or_default();
    (user.chars().count() > 64).then(|| {
        let message = format!(
            "Invalid 'user': string too long. Expected a string with maximum length 64, but got a string with length {} instead.",
            user.chars().count()
        );
        refusal(message, "user", "string_above_max_length")
    })
}
