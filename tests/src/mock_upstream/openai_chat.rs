//! OpenAI Chat Completions: `chat.completion` JSON, `chat.completion.chunk` SSE ending in
//! `[DONE]`, `{"error":{...}}` bodies, and the `/v1/models` list. Tool types other than
//! `function` and `custom` are refused as the API refuses them.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::agent::Wire;
use super::{
    AccountRefusal, Early, MOCK_THINKING, MOCK_USAGE, MockState, Reply, bearer, html, json_with, plan, stream_response,
    text_fragments,
};

/// An OpenAI error body; the Responses API uses the same shape. A rate limit is typed by the
/// limit it hit (`requests` or `tokens`) with the code `rate_limit_exceeded`, as OpenAI sends it.
pub(super) fn error_body(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        400 | 404 | 422 => ("invalid_request_error", format!("mock_{status}")),
        401 => ("authentication_error", format!("mock_{status}")),
        429 => ("requests", "rate_limit_exceeded".to_owned()),
        _ => ("server_error", format!("mock_{status}")),
    };
    json!({ "error": { "message": message, "type": kind, "param": null, "code": code } })
}

/// What OpenAI answers a revoked key (`sk-revoked`) and an account out of credit
/// (`sk-no-credit`, a 429 that no retry helps), in its own words; the Responses API answers the same.
pub(super) fn account_refusal(key: Option<&str>) -> Option<Response> {
    let body = match super::account_refusal(key)? {
        AccountRefusal::Revoked => (
            401,
            json!({ "error": {
                "message": "Incorrect API key provided: sk-revo*****. You can find your API key at https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error", "param": null, "code": "invalid_api_key"
            }}),
        ),
        AccountRefusal::NoCredit => (
            429,
            json!({ "error": {
                "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
                "type": "insufficient_quota", "param": null, "code": "insufficient_quota"
            }}),
        ),
    };
    Some(json_response(body.0, body.1))
}

/// OpenAI's 400 for a conversation longer than the model's context window: Chat Completions
/// counts the messages (`param: messages`), the Responses API the input (`param: input`).
pub(super) fn context_too_long(responses: bool) -> Response {
    let (message, param) = if responses {
        ("Your input exceeds the context window of this model. Please adjust your input and try again.", "input")
    } else {
        (
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130517 tokens. Please reduce the length of the messages.",
            "messages",
        )
    };
    json_response(
        400,
        json!({ "error": { "message": message, "type": "invalid_request_error", "param": param, "code": "context_length_exceeded" } }),
    )
}

/// OpenAI's refusal of a value outside an enum, naming the parameter.
pub(super) fn invalid_value(param: &str, value: &str, supported: &[&str]) -> Response {
    let quoted: Vec<String> = supported.iter().map(|v| format!("'{v}'")).collect();
    let list = match quoted.as_slice() {
        [first, second] => format!("{first} and {second}"),
        [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
        [] => String::new(),
    };
    let message = format!("Invalid value: '{value}'. Supported values are: {list}.");
    json_response(
        400,
        json!({ "error": { "message": message, "type": "invalid_request_error", "param": param, "code": "invalid_value" } }),
    )
}

/// The first tool whose `type` is not one of `supported`, as OpenAI refuses it.
pub(super) fn refuse_tool_types(tools: &Value, supported: &[&str]) -> Option<Response> {
    tools.as_array()?.iter().enumerate().find_map(|(i, tool)| {
        let kind = tool["type"].as_str().unwrap_or_default();
        (!supported.contains(&kind)).then(|| invalid_value(&format!("tools[{i}].type"), kind, supported))
    })
}

/// A JSON response with the rate-limit header OpenAI sends on every answer.
pub(super) fn json_response(status: u16, body: Value) -> Response {
    json_with(status, &body, &[("x-ratelimit-remaining-requests", "99")])
}

pub(super) async fn chat(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    state.record(&uri, &headers, &body);
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return json_response(400, error_body(400, "We could not parse the JSON body of your request."));
    };
    if bearer(&headers) == Some("sk-bad") {
        return json_response(500, error_body(500, "The server had an error while processing your request."));
    }
    if let Some(refusal) = account_refusal(bearer(&headers)) {
        return refusal;
    }
    if let Some(refusal) = super::model_limits::chat_refusal(&request) {
        return json_response(400, refusal);
    }
    // Chat Completions defines two tool types.
    if let Some(refusal) = refuse_tool_types(&request["tools"], &["function", "custom"]) {
        return refusal;
    }
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    let stream = request["stream"].as_bool().unwrap_or(false);
    let include_usage = request["stream_options"]["include_usage"].as_bool().unwrap_or(false);
    if model == "echo-key" {
        let presented = super::header(&headers, "authorization").unwrap_or_default();
        let message = format!("Incorrect API key provided: {presented}. You can find your API key in your account.");
        return json_response(401, error_body(401, &message));
    }
    if model == "retry-after-max" {
        let body = error_body(429, "Rate limit reached for requests");
        return json_with(429, &body, &[("retry-after", "18446744073709551615")]);
    }
    if model == "flaky" && state.flaky_turn_fails() {
        return json_response(503, error_body(503, "mock upstream flapped"));
    }
    let plan = match plan(&model, Some((Wire::OpenaiChat, &request))).await {
        Ok(plan) => plan,
        Err(Early::Status(status)) => {
            return json_response(status, error_body(status, &format!("mock upstream error {status}")));
        }
        Err(Early::Html(status)) => return html(status),
        Err(Early::TooLong) => return context_too_long(false),
    };
    if stream {
        let frames = stream_chunks(&model, &plan.reply, include_usage && plan.usage)
            .into_iter()
            .map(|c| format!("data: {c}\n\n"))
            .collect();
        return stream_response("text/event-stream; charset=utf-8", frames, plan.cut.then_some(2), plan.gap);
    }
    json_response(200, plan.shape(completion(&model, &plan.reply)))
}

/// `reasoning_content`, as DeepSeek and other OpenAI-compatible reasoning servers send it
/// (`think-tools`).
fn reasons(reply: &Reply) -> bool {
    matches!(reply, Reply::ThinkingCall(_))
}

fn completion(model: &str, reply: &Reply) -> Value {
    let tools = reply.call().is_some();
    let mut message = match reply.call() {
        Some(call) => json!({ "role": "assistant", "content": null, "tool_calls": [{
            "id": "call_mock1", "type": "function",
            "function": { "name": call.name, "arguments": call.arguments_text() }
        }]}),
        None => json!({ "role": "assistant", "content": reply.text(), "refusal": null }),
    };
    if reasons(reply) {
        message["reasoning_content"] = json!(MOCK_THINKING);
    }
    json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "created": 1_700_000_000, "model": model,
        "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": if tools { "tool_calls" } else { "stop" } }],
        "usage": { "prompt_tokens": MOCK_USAGE.0, "completion_tokens": MOCK_USAGE.1, "total_tokens": MOCK_USAGE.0 + MOCK_USAGE.1 },
        "system_fingerprint": "fp_mock"
    })
}

fn chunk(model: &str, delta: Value, finish: Option<&str>) -> String {
    json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
        "system_fingerprint": "fp_mock",
        "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }]
    })
    .to_string()
}

fn stream_chunks(model: &str, reply: &Reply, include_usage: bool) -> Vec<String> {
    let mut chunks = vec![chunk(model, json!({ "role": "assistant", "content": "" }), None)];
    if reasons(reply) {
        let (first, second) = MOCK_THINKING.split_at(MOCK_THINKING.len() / 2);
        for part in [first, second] {
            chunks.push(chunk(model, json!({ "reasoning_content": part }), None));
        }
    }
    if let Some(call) = reply.call() {
        chunks.push(chunk(model, json!({ "tool_calls": [{ "index": 0, "id": "call_mock1", "type": "function", "function": { "name": call.name, "arguments": "" } }] }), None));
        for part in call.fragments() {
            chunks.push(chunk(
                model,
                json!({ "tool_calls": [{ "index": 0, "function": { "arguments": part } }] }),
                None,
            ));
        }
        chunks.push(chunk(model, json!({}), Some("tool_calls")));
    } else {
        for word in text_fragments(reply.text()) {
            chunks.push(chunk(model, json!({ "content": word }), None));
        }
        chunks.push(chunk(model, json!({}), Some("stop")));
    }
    if include_usage {
        chunks.push(
            json!({
                "id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": model,
                "choices": [], "usage": { "prompt_tokens": MOCK_USAGE.0, "completion_tokens": MOCK_USAGE.1, "total_tokens": MOCK_USAGE.0 + MOCK_USAGE.1 }
            })
            .to_string(),
        );
    }
    chunks.push("[DONE]".into());
    chunks
}
