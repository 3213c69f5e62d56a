//! The model lists, each in its API's documented shape: OpenAI `GET /v1/models`, Anthropic
//! `GET /v1/models` (with `anthropic-version`), Gemini `GET /v1beta/models` (and on `/v1`),
//! Ollama `GET /api/tags`. Each refuses what its API refuses (no key, a revoked one); what they
//! list, or how they fail, is the test's to set ([`ModelList`], `MockUpstream::set_model_list`).

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::{MockState, bearer, html, json_with};

/// What every model list answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelList {
    /// These model ids (the default: `gpt-mock`).
    Models(Vec<String>),
    /// An HTML page with this status instead of JSON (a captive portal, a proxy's error page).
    Html(u16),
    /// This status with the format's own error body.
    Error(u16),
}

impl Default for ModelList {
    fn default() -> Self {
        ModelList::Models(vec!["gpt-mock".into()])
    }
}

/// The ids to list, or the failure to answer in the format's words.
fn listing(state: &MockState, error: impl Fn(u16) -> Response) -> Result<Vec<String>, Box<Response>> {
    match state.model_list() {
        ModelList::Models(ids) => Ok(ids),
        ModelList::Html(status) => Err(Box::new(html(status))),
        ModelList::Error(status) => Err(Box::new(error(status))),
    }
}

/// `GET /v1/models`: OpenAI's list, Anthropic's when the caller sent `anthropic-version`, or
/// Gemini's when it sent a Gemini key (`x-goog-api-key`, as Google's SDKs do on `v1`).
pub(super) async fn v1(State(state): State<MockState>, uri: Uri, headers: HeaderMap) -> Response {
    if headers.contains_key("anthropic-version") {
        return anthropic(&state, &headers);
    }
    if headers.contains_key("x-goog-api-key") {
        return gemini(State(state), uri, headers).await;
    }
    openai(&state, &headers)
}

/// OpenAI's list (`object: list`, `data[]` of `model` objects); a revoked key gets its 401.
fn openai(state: &MockState, headers: &HeaderMap) -> Response {
    if let Some(refusal) = super::openai_chat::account_refusal(bearer(headers)) {
        return refusal;
    }
    let error = |status| super::openai_chat::json_response(status, super::openai_chat::error_body(status, "mock"));
    let ids = match listing(state, error) {
        Ok(ids) => ids,
        Err(response) => return *response,
    };
    let data: Vec<Value> =
        ids.iter().map(|id| json!({ "id": id, "object": "model", "created": 0, "owned_by": "mock" })).collect();
    super::openai_chat::json_response(200, json!({ "object": "list", "data": data }))
}

/// Anthropic's list (`data[]` of `type: model`, `has_more`, `first_id`, `last_id`); it wants a
/// key and `anthropic-version` as every Anthropic call does.
fn anthropic(state: &MockState, headers: &HeaderMap) -> Response {
    if let Some(refusal) = super::anthropic::reject(headers) {
        return refusal;
    }
    let ids = match listing(state, |status| super::anthropic::error(status, "mock")) {
        Ok(ids) => ids,
        Err(response) => return *response,
    };
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "type": "model", "id": id, "display_name": display_name(id), "created_at": "2025-01-01T00:00:00Z" }))
        .collect();
    let body = json!({ "data": data, "has_more": false, "first_id": ids.first(), "last_id": ids.last() });
    super::anthropic::json_response(200, &body)
}

/// `GET /v1beta/models` (and on `/v1` for a Gemini key): `models[]` named `models/<id>`.
pub(super) async fn gemini(State(state): State<MockState>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(refusal) = super::gemini::reject(&uri, &headers) {
        return refusal;
    }
    let ids = match listing(&state, |status| super::gemini::error(status, "mock")) {
        Ok(ids) => ids,
        Err(response) => return *response,
    };
    let models: Vec<Value> = ids.iter().map(|id| super::gemini::model_entry(id)).collect();
    json_with(200, &json!({ "models": models }), &[])
}

/// `GET /api/tags`: Ollama's local models (`name`, `model`, size, digest, details); no auth.
pub(super) async fn ollama(State(state): State<MockState>) -> Response {
    let ids = match listing(&state, |status| json_with(status, &json!({ "error": "mock" }), &[])) {
        Ok(ids) => ids,
        Err(response) => return *response,
    };
    let models: Vec<Value> = ids
        .iter()
        .map(|id| {
            let name = if id.contains(':') { id.clone() } else { format!("{id}:latest") };
            json!({
                "name": name, "model": name, "modified_at": "2025-01-01T00:00:00.000000Z", "size": 1_000_000,
                "digest": "6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa",
                "details": {
                    "parent_model": "", "format": "gguf", "family": "mock", "families": ["mock"],
                    "parameter_size": "1B", "quantization_level": "Q4_0"
                }
            })
        })
        .collect();
    json_with(200, &json!({ "models": models }), &[])
}

/// `gpt-mock` → `GPT Mock`.
pub(super) fn display_name(id: &str) -> String {
    id.split('-')
        .map(|word| {
            let mut chars = word.chars();
            match (word, chars.next()) {
                ("gpt", _) => "GPT".to_owned(),
                (_, Some(first)) => first.to_uppercase().collect::<String>() + chars.as_str(),
                (_, None) => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
