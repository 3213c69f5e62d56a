//! Which part of an upstream a failure belongs to (issue 16): one table per wire format that reads
//! the status and the provider's own error fields, so a cooldown or breaker lands on the model
//! that failed, the account whose key or credit failed, the endpoint that could not be reached,
//! or nobody at all when the request itself was at fault.

use serde::Serialize;
use serde_json::Value;

use crate::providers::WireFormat;

/// Who a failure counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One model of one account: rate limits, overload, 5xx, withdrawn model, broken stream.
    Model,
    /// The whole account: invalid or revoked key, no credit or quota left.
    Account,
    /// The provider's base URL: nothing answered at all (connect refused, DNS, TLS, reset).
    Endpoint,
    /// The request's own fault (invalid, too long, refused by policy): counts against nobody.
    Request,
}

/// A provider error marker: an exact error code/type/status/reason, or a phrase in the message.
enum Marker {
    Code(&'static str),
    Phrase(&'static str),
}

use Marker::{Code, Phrase};

/// OpenAI (Chat and Responses): `error.code` / `error.type`. `insufficient_quota` comes as a 429
/// but no retry helps until billing changes, so it is the account's.
const OPENAI: &[(Marker, Scope)] = &[
    (Code("insufficient_quota"), Scope::Account),
    (Code("invalid_api_key"), Scope::Account),
    (Code("account_deactivated"), Scope::Account),
    (Code("billing_hard_limit_reached"), Scope::Account),
    (Code("billing_not_active"), Scope::Account),
    (Code("model_not_found"), Scope::Model),
    (Code("context_length_exceeded"), Scope::Request),
    (Code("content_policy_violation"), Scope::Request),
    (Code("content_filter"), Scope::Request),
    (Phrase("exceeded your current quota"), Scope::Account),
];

/// Anthropic: `error.type`; a credit shortfall comes as a 400 `invalid_request_error` whose
/// message is the only sign it is the account's.
const ANTHROPIC: &[(Marker, Scope)] = &[
    (Code("billing_error"), Scope::Account),
    (Code("authentication_error"), Scope::Account),
    (Code("permission_error"), Scope::Account),
    (Code("overloaded_error"), Scope::Model),
    (Code("rate_limit_error"), Scope::Model),
    (Code("not_found_error"), Scope::Model),
    (Code("api_error"), Scope::Model),
    (Phrase("credit balance is too low"), Scope::Account),
];

/// Gemini: `error.status` and `error.details[].reason`. Its free-tier 429 says "exceeded your
/// current quota … billing" but is a per-model limit, so no phrase rule here.
const GEMINI: &[(Marker, Scope)] = &[
    (Code("API_KEY_INVALID"), Scope::Account),
    (Code("API_KEY_EXPIRED"), Scope::Account),
    (Code("BILLING_DISABLED"), Scope::Account),
    (Code("SERVICE_DISABLED"), Scope::Account),
    (Code("UNAUTHENTICATED"), Scope::Account),
    (Code("PERMISSION_DENIED"), Scope::Account),
    (Code("RESOURCE_EXHAUSTED"), Scope::Model),
    (Code("UNAVAILABLE"), Scope::Model),
    (Code("NOT_FOUND"), Scope::Model),
];

/// Ollama: only a message (`{"error": "..."}`).
const OLLAMA: &[(Marker, Scope)] = &[
    (Phrase("unauthorized"), Scope::Account),
    (Phrase("not found"), Scope::Model),
    (Phrase("context length"), Scope::Request),
];

fn table(format: WireFormat) -> &'static [(Marker, Scope)] {
    match format {
        WireFormat::OpenaiChat | WireFormat::OpenaiResponses => OPENAI,
        WireFormat::Anthropic => ANTHROPIC,
        WireFormat::Gemini => GEMINI,
        WireFormat::Ollama => OLLAMA,
    }
}

/// The error's machine-readable names (code, type, status, detail reasons) and its message.
fn error_fields(body: &[u8]) -> (Vec<String>, String) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (Vec::new(), String::from_utf8_lossy(body).into_owned());
    };
    let error = value.get("error").unwrap_or(&value);
    let mut codes = Vec::new();
    for field in ["code", "type", "status"] {
        if let Some(code) = error.get(field).and_then(Value::as_str) {
            codes.push(code.to_owned());
        }
    }
    let details = error.get("details").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    codes.extend(details.iter().filter_map(|d| d.get("reason")?.as_str().map(str::to_owned)));
    let message = match error {
        Value::String(message) => message.clone(),
        _ => error.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
    };
    (codes, message.to_ascii_lowercase())
}

/// The scope of an upstream's error answer: the format's markers first, then the status.
pub fn classify(format: WireFormat, status: u16, body: &[u8]) -> Scope {
    let (codes, message) = error_fields(body);
    let marked = table(format).iter().find(|(marker, _)| match marker {
        Code(code) => codes.iter().any(|c| c == code),
        Phrase(phrase) => message.contains(phrase),
    });
    match marked {
        // A success-range status never carries a marker that matters; 5xx stays the model's
        // even when a proxy labels it oddly, except account markers (a gateway's 403 page).
        Some((_, scope)) if status >= 400 => *scope,
        _ => by_status(status),
    }
}

/// The scope a status implies when the body names nothing more precise.
pub fn by_status(status: u16) -> Scope {
    match status {
        401..=403 => Scope::Account,
        404 | 408 | 409 | 429 | 500..=599 => Scope::Model,
        _ => Scope::Request,
    }
}

/// How providers say a prompt does not fit the model's context window (OpenAI's code, its
/// message, Anthropic's, Gemini's, and the local servers'), in lower case.
const CONTEXT_EXCEEDED: &[&str] = &[
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "input token count",
    "exceeds the context window",
    "exceeds the maximum number of tokens",
    "context length",
];

/// Whether a request-scoped refusal says the prompt is too long for the model (a larger
/// model may take it; nothing else would help).
pub fn exceeds_context(status: u16, body: &[u8]) -> bool {
    if !(400..500).contains(&status) {
        return false;
    }
    let (codes, message) = error_fields(body);
    CONTEXT_EXCEEDED.iter().any(|phrase| message.contains(phrase) || codes.iter().any(|c| c == phrase))
}

#[cfg(test)]
#[path = "failure_scope_tests.rs"]
mod tests;
