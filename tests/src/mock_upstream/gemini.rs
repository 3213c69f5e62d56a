//! Gemini: `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent` (SSE with
//! `?alt=sse`, else a streamed JSON array), `:countTokens`, `GET /v1beta/models` and
//! `GET /v1beta/models/{model}` (each on `/v1` too).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::agent::Wire;
use super::{
    AccountRefusal, Early, MOCK_SIGNATURE, MOCK_THINKING, MOCK_USAGE, MockState, Reply, ToolCall, account_refusal,
    header, html, json_with, plan, stream_response, text_fragments,
};

/// Google's error shape: the HTTP code, a message, and the canonical status name.
pub(super) fn error(code: u16, message: &str) -> Response {
    let status = match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "NOT_IMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    };
    json_with(code, &json!({ "error": { "code": code, "message": message, "status": status } }), &[])
}

/// Google's error shape with `details` (google.rpc types such as `ErrorInfo`, `QuotaFailure`).
fn error_with(code: u16, status: &str, message: &str, details: Value) -> Response {
    let body = json!({ "error": { "code": code, "message": message, "status": status, "details": details } });
    json_with(code, &body, &[])
}

/// An invalid or revoked key: a 400 `INVALID_ARGUMENT` whose `ErrorInfo` reason says so.
fn key_invalid() -> Response {
    let message = "API key not valid. Please pass a valid API key.";
    let details = json!([
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
            "metadata": { "service": "generativelanguage.googleapis.com" }
        },
        { "@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message }
    ]);
    error_with(400, "INVALID_ARGUMENT", message, details)
}

/// A prepay billing account with no credit left: every key on it gets this 429.
fn credits_depleted() -> Response {
    error(
        429,
        "Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects to manage your project and billing. Learn more at https://ai.google.dev/gemini-api/docs/billing#prepay.",
    )
}

/// `error-<status>` in Google's words where it has its own: the per-model quota 429 with its
/// `QuotaFailure` and `RetryInfo`, the overloaded 503, the internal 500.
fn status_error(code: u16, model: &str) -> Response {
    match code {
        429 => error_with(
            429,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
            json!([
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaDimensions": { "location": "global", "model": model },
                        "quotaValue": "10"
                    }]
                },
                { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s" }
            ]),
        ),
        500 => error(
            500,
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
        503 => error(503, "The model is overloaded. Please try again later."),
        _ => error(code, &format!("mock upstream error {code}")),
    }
}

/// The fields of Gemini's `Tool` (camelCase; the REST API takes snake_case too).
const TOOL_FIELDS: [&str; 11] = [
    "functionDeclarations",
    "googleSearch",
    "googleSearchRetrieval",
    "codeExecution",
    "urlContext",
    "computerUse",
    "fileSearch",
    "googleMaps",
    "retrieval",
    "enterpriseWebSearch",
    "mcpServers",
];

fn snake(camel: &str) -> String {
    camel
        .chars()
        .flat_map(|c| if c.is_ascii_uppercase() { vec!['_', c.to_ascii_lowercase()] } else { vec![c] })
        .collect()
}

/// A field of a tool that Gemini's `Tool` does not have (another format's `type`, say), refused
/// as Google's JSON parser refuses it.
fn refuse_tools(request: &Value) -> Option<Response> {
    request["tools"].as_array()?.iter().enumerate().find_map(|(i, tool)| {
        tool.as_object()?.keys().find(|key| !TOOL_FIELDS.iter().any(|f| f == key || snake(f) == **key)).map(|key| {
            error(
                400,
                &format!("Invalid JSON payload received. Unknown name \"{key}\" at 'tools[{i}]': Cannot find field."),
            )
        })
    })
}

/// Fields that must be messages (objects) and are not: Google's proto-JSON refusal
/// (`Invalid value at 'contents[0]' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content), true`).
fn refuse_shapes(request: &Value, path: &str) -> Option<Response> {
    let version = if path.starts_with("/v1beta") { "v1beta" } else { "v1" };
    let invalid = |at: String, kind: &str, value: &Value| {
        let message = format!(
            "Invalid value at '{at}' (type.googleapis.com/google.ai.generativelanguage.{version}.{kind}), {value}"
        );
        Some(error(400, &message))
    };
    let contents = request["contents"].as_array()?;
    if let Some((i, bad)) = contents.iter().enumerate().find(|(_, c)| !c.is_object()) {
        return invalid(format!("contents[{i}]"), "Content", bad);
    }
    for (field, wire, kind) in [
        ("generationConfig", "generation_config", "GenerationConfig"),
        ("systemInstruction", "system_instruction", "Content"),
        ("toolConfig", "tool_config", "ToolConfig"),
    ] {
        if let Some(value) = request.get(field).filter(|v| !v.is_object() && !v.is_null()) {
            return invalid(wire.to_owned(), kind, value);
        }
    }
    None
}

fn query_param<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// Checks the API key from `x-goog-api-key` or `?key=`; `Some` is the rejection to send instead.
pub(super) fn reject(uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    match header(headers, "x-goog-api-key").or_else(|| query_param(uri, "key")) {
        None | Some("") => Some(error(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        )),
        Some("sk-revoked") => Some(key_invalid()),
        Some("sk-bad") => Some(error(
            500,
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        )),
        Some(_) => None,
    }
}

/// A model as `models.list` and `models.get` show it.
pub(super) fn model_entry(id: &str) -> Value {
    json!({
        "name": format!("models/{id}"), "version": "001", "displayName": super::model_lists::display_name(id),
        "description": "The mock upstream's model.", "inputTokenLimit": 1_048_576, "outputTokenLimit": 8192,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"]
    })
}

/// `GET /v1beta/models/{model}` (and on `/v1`): the listed model, else Google's 404.
pub(super) async fn model(Path(rest): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    if let Some(response) = reject(&uri, &headers) {
        return response;
    }
    let name = rest.strip_prefix("models/").unwrap_or(&rest);
    if name == "gpt-mock" {
        return json_with(200, &model_entry("gpt-mock"), &[]);
    }
    error(404, &format!("models/{name} is not found for API version {}", uri.path().split('/').nth(1).unwrap_or("")))
}

/// `{model}:{method}`: the model may itself hold `/` (a gateway prefix), so split on the last `:`.
pub(super) async fn generate(
    State(state): State<MockState>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.record(&uri, &headers, &body);
    let Some((model, method)) = rest.rsplit_once(':') else {
        return error(404, &format!("models/{rest} is not found for API version v1beta."));
    };
    if let Some(response) = reject(&uri, &headers) {
        return response;
    }
    // Listing models still works; generating does not.
    let key = header(&headers, "x-goog-api-key").or_else(|| query_param(&uri, "key"));
    if account_refusal(key) == Some(AccountRefusal::NoCredit) {
        return credits_depleted();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(400, "Invalid JSON payload received.");
    };
    if !request["contents"].is_array() {
        return error(400, "* GenerateContentRequest.contents: contents is not specified");
    }
    if let Some(refusal) = refuse_shapes(&request, uri.path()) {
        return refusal;
    }
    if let Some(refusal) = refuse_tools(&request) {
        return refusal;
    }
    let stream = match method {
        "generateContent" => false,
        "streamGenerateContent" => true,
        "countTokens" => return json_with(200, &json!({ "totalTokens": MOCK_USAGE.0 }), &[]),
        _ => return error(404, &format!("Method {method} is not found for models/{model}.")),
    };
    let plan = match plan(model, Some((Wire::Gemini, &request))).await {
        Ok(plan) => plan,
        Err(Early::Status(status)) => return status_error(status, model),
        Err(Early::Html(status)) => return html(status),
        Err(Early::TooLong) => {
            return error(
                400,
                "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).",
            );
        }
    };
    if !stream {
        let whole = match &plan.reply {
            Reply::ThinkingCall(call) => {
                response(model, json!([thought_part(), signed_call_part(call)]), true, MOCK_USAGE.1)
            }
            reply => match reply.call() {
                Some(call) => tool_chunk(model, call),
                None => whole_text(model, reply.text()),
            },
        };
        return json_with(200, &plan.shape(whole), &[]);
    }
    let chunks = match &plan.reply {
        // The thought streams first; the call comes whole, carrying the thought's signature.
        Reply::ThinkingCall(call) => vec![
            response(model, json!([thought_part()]), false, 1),
            response(model, json!([signed_call_part(call)]), true, MOCK_USAGE.1),
        ],
        reply => match reply.call() {
            Some(call) => vec![tool_chunk(model, call)],
            None => text_chunks(model, reply.text()),
        },
    };
    let chunks: Vec<Value> = chunks.into_iter().map(|c| plan.shape(c)).collect();
    // Cut after two text chunks, before the one carrying finishReason.
    let cut = plan.cut.then_some(2);
    if query_param(&uri, "alt") == Some("sse") {
        // Google terminates SSE lines with CRLF.
        let frames = chunks.iter().map(|c| format!("data: {c}\r\n\r\n")).collect();
        return stream_response("text/event-stream", frames, cut, plan.gap);
    }
    // Without `alt=sse` the answer is one JSON array, streamed element by element.
    let last = chunks.len() - 1;
    let frames = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}{c}{}", if i == 0 { "[" } else { ",\r\n" }, if i == last { "]" } else { "" }))
        .collect();
    stream_response("application/json; charset=UTF-8", frames, cut, plan.gap)
}

fn usage(candidates: u64) -> Value {
    json!({
        "promptTokenCount": MOCK_USAGE.0, "candidatesTokenCount": candidates,
        "totalTokenCount": MOCK_USAGE.0 + candidates,
        "promptTokensDetails": [{ "modality": "TEXT", "tokenCount": MOCK_USAGE.0 }]
    })
}

fn response(model: &str, parts: Value, finished: bool, candidates_tokens: u64) -> Value {
    let mut candidate = json!({ "content": { "parts": parts, "role": "model" }, "index": 0 });
    if finished {
        candidate["finishReason"] = json!("STOP");
    }
    json!({
        "candidates": [candidate], "usageMetadata": usage(candidates_tokens),
        "modelVersion": model, "responseId": "mock-response-id"
    })
}

fn whole_text(model: &str, text: &str) -> Value {
    response(model, json!([{ "text": text }]), true, MOCK_USAGE.1)
}

/// A thought summary part (`includeThoughts`).
fn thought_part() -> Value {
    json!({ "text": MOCK_THINKING, "thought": true })
}

/// The function call part of a thinking model: the thought signature rides on it.
fn signed_call_part(call: &ToolCall) -> Value {
    json!({ "functionCall": { "name": call.name, "args": call.arguments }, "thoughtSignature": MOCK_SIGNATURE })
}

/// Gemini sends a function call whole, in one part, never as fragments.
fn tool_chunk(model: &str, call: &ToolCall) -> Value {
    let call = json!({ "functionCall": { "name": call.name, "args": call.arguments } });
    response(model, json!([call]), true, MOCK_USAGE.1)
}

/// One chunk per word. Like the real API, every chunk carries usage so far (cumulative, not a
/// delta); the last one has `finishReason` and the final counts.
fn text_chunks(model: &str, text: &str) -> Vec<Value> {
    let fragments = text_fragments(text);
    let last = fragments.len() - 1;
    fragments
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let tokens = if i == last { MOCK_USAGE.1 } else { i as u64 + 1 };
            response(model, json!([{ "text": text }]), i == last, tokens)
        })
        .collect()
}
