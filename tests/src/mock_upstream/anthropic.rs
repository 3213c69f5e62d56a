//! Anthropic Messages: `POST /v1/messages` (message JSON, or named SSE events from
//! `message_start` to `message_stop` with a `ping`), `count_tokens`, and the model list. System
//! turns inside `messages` and tool types that are not Anthropic's are refused as the API does.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::agent::Wire;
use super::{
    AccountRefusal, Early, MOCK_SIGNATURE, MOCK_THINKING, MOCK_USAGE, MockState, Reply, ToolCall, account_refusal,
    bearer, header, html, json_with, named_event, plan, stream_response, text_fragments,
};

const HEADERS: [(&str, &str); 2] = [("request-id", "req_mock"), ("anthropic-ratelimit-requests-remaining", "99")];

pub(super) fn json_response(status: u16, body: &Value) -> Response {
    json_with(status, body, &HEADERS)
}

/// The documented error shape; the `type` follows the status as Anthropic's table has it.
pub(super) fn error(status: u16, message: &str) -> Response {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    json_response(
        status,
        &json!({ "type": "error", "error": { "type": kind, "message": message }, "request_id": "req_mock" }),
    )
}

/// Checks the headers every endpoint requires; `Some` is the rejection to send instead.
pub(super) fn reject(headers: &HeaderMap) -> Option<Response> {
    let Some(key) = header(headers, "x-api-key").or_else(|| bearer(headers)) else {
        return Some(error(401, "x-api-key header is required"));
    };
    if account_refusal(Some(key)) == Some(AccountRefusal::Revoked) {
        return Some(error(401, "invalid x-api-key"));
    }
    if !headers.contains_key("anthropic-version") {
        return Some(error(400, "anthropic-version: header is required"));
    }
    (key == "sk-bad").then(|| error(500, "Internal server error"))
}

/// An account out of credit: a 400 `invalid_request_error` whose message is the only sign.
fn no_credit(headers: &HeaderMap) -> Option<Response> {
    let key = header(headers, "x-api-key").or_else(|| bearer(headers));
    (account_refusal(key) == Some(AccountRefusal::NoCredit)).then(|| {
        error(
            400,
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        )
    })
}

/// The message Anthropic sends with an `error-<status>` status where it has its own.
fn status_message(status: u16) -> String {
    match status {
        429 => "This request would exceed your account's rate limit. Please try again later.".into(),
        500 => "Internal server error".into(),
        529 => "Overloaded".into(),
        _ => format!("mock upstream error {status}"),
    }
}

/// Families of Anthropic's versioned tool types (`<family>_<YYYYMMDD>`).
const TOOL_FAMILIES: [&str; 12] = [
    "bash",
    "browser_toolset",
    "code_execution",
    "computer",
    "computer_toolset",
    "mcp_toolset",
    "memory",
    "text_editor",
    "tool_search_tool_bm25",
    "tool_search_tool_regex",
    "web_fetch",
    "web_search",
];

/// What the Messages API refuses in a body the gateway must never send: a `system` turn inside
/// `messages` (models before Claude Opus 4.8; the mock's models are such) and a tool `type`
/// that is not Anthropic's, each in the API's words.
fn refuse(request: &Value) -> Option<Response> {
    let messages = request["messages"].as_array().into_iter().flatten();
    if messages.into_iter().any(|m| m["role"] == "system") {
        return Some(error(400, "role 'system' is not supported on this model"));
    }
    request["tools"].as_array()?.iter().enumerate().find_map(|(i, tool)| {
        let kind = match &tool["type"] {
            Value::Null => return None,
            Value::String(kind) => kind.as_str(),
            other => return Some(error(400, &format!("tools.{i}.type: Input should be a valid string, got {other}"))),
        };
        let versioned = kind.rsplit_once('_').is_some_and(|(family, date)| {
            TOOL_FAMILIES.contains(&family) && date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit())
        });
        if kind == "custom" || versioned || matches!(kind, "tool_search_tool_bm25" | "tool_search_tool_regex") {
            return None;
        }
        Some(error(
            400,
            &format!(
                "tools.{i}: Input tag '{kind}' found using 'type' does not match any of the expected tags: \
                 'bash_20250124', 'custom', 'text_editor_20250124', 'text_editor_20250429', 'text_editor_20250728', \
                 'web_search_20250305'"
            ),
        ))
    })
}

pub(super) async fn count_tokens(
    State(state): State<MockState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.record(&uri, &headers, &body);
    if let Some(response) = reject(&headers) {
        return response;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(400, "There was an error parsing the body of your request.");
    };
    if let Some(refusal) = refuse(&request) {
        return refusal;
    }
    json_response(200, &json!({ "input_tokens": MOCK_USAGE.0 }))
}

pub(super) async fn messages(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    state.record(&uri, &headers, &body);
    if let Some(response) = reject(&headers).or_else(|| no_credit(&headers)) {
        return response;
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(400, "There was an error parsing the body of your request.");
    };
    if let Some(refusal) = refuse(&request) {
        return refusal;
    }
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    let plan = match plan(&model, Some((Wire::Anthropic, &request))).await {
        Ok(plan) => plan,
        Err(Early::Status(status)) => return error(status, &status_message(status)),
        Err(Early::Html(status)) => return html(status),
        Err(Early::TooLong) => return error(400, "prompt is too long: 208310 tokens > 200000 maximum"),
    };
    if request["stream"].as_bool().unwrap_or(false) {
        let frames = stream_events(&model, &plan.reply)
            .into_iter()
            .map(|(name, data)| {
                let mut event = serde_json::Map::new();
                event.insert("type".into(), json!(name));
                event.extend(data.as_object().cloned().unwrap_or_default());
                named_event(name, &plan.shape(Value::Object(event)))
            })
            .collect();
        // Cut after the first text delta: message_start, content_block_start, ping, delta.
        return stream_response("text/event-stream; charset=utf-8", frames, plan.cut.then_some(4), plan.gap);
    }
    let mut message = message(&model, full_content(&plan.reply));
    message["stop_reason"] = json!(stop_reason(&plan.reply));
    message["usage"]["output_tokens"] = json!(MOCK_USAGE.1);
    json_response(200, &plan.shape(message))
}

fn stop_reason(reply: &Reply) -> &'static str {
    if reply.call().is_some() { "tool_use" } else { "end_turn" }
}

/// A message as `message_start` carries it: no stop reason yet, one output token so far.
fn message(model: &str, content: Vec<Value>) -> Value {
    json!({
        "id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": null, "stop_sequence": null,
        "usage": {
            "input_tokens": MOCK_USAGE.0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "output_tokens": 1, "service_tier": "standard"
        }
    })
}

fn tool_use(call: &ToolCall, input: Value) -> Value {
    json!({ "type": "tool_use", "id": "toolu_mock1", "name": call.name, "input": input })
}

fn thinking() -> Value {
    json!({ "type": "thinking", "thinking": MOCK_THINKING, "signature": MOCK_SIGNATURE })
}

fn full_content(reply: &Reply) -> Vec<Value> {
    let text = json!({ "type": "text", "text": reply.text() });
    match reply {
        Reply::Text(_) => vec![text],
        Reply::Call(call) => vec![tool_use(call, call.arguments.clone())],
        Reply::Thinking => vec![thinking(), text],
        Reply::ThinkingCall(call) => vec![thinking(), tool_use(call, call.arguments.clone())],
    }
}

type Events = Vec<(&'static str, Value)>;

/// One content block: its start, its deltas, its stop.
fn block(events: &mut Events, index: usize, start: Value, deltas: Vec<Value>) {
    events.push(("content_block_start", json!({ "index": index, "content_block": start })));
    if index == 0 {
        events.push(("ping", json!({})));
    }
    for delta in deltas {
        events.push(("content_block_delta", json!({ "index": index, "delta": delta })));
    }
    events.push(("content_block_stop", json!({ "index": index })));
}

fn text_deltas(text: &str) -> Vec<Value> {
    text_fragments(text).into_iter().map(|t| json!({ "type": "text_delta", "text": t })).collect()
}

/// The call's arguments as the API streams them: an empty fragment, then the real ones.
fn tool_deltas(call: &ToolCall) -> Vec<Value> {
    let fragments = std::iter::once(String::new()).chain(call.fragments());
    fragments.map(|f| json!({ "type": "input_json_delta", "partial_json": f })).collect()
}

/// A signed thinking block at index 0, its text in two deltas.
fn thinking_block(events: &mut Events) {
    let (first, second) = MOCK_THINKING.split_at(MOCK_THINKING.len() / 2);
    let deltas = vec![
        json!({ "type": "thinking_delta", "thinking": first }),
        json!({ "type": "thinking_delta", "thinking": second }),
        json!({ "type": "signature_delta", "signature": MOCK_SIGNATURE }),
    ];
    block(events, 0, json!({ "type": "thinking", "thinking": "", "signature": "" }), deltas);
}

fn stream_events(model: &str, reply: &Reply) -> Events {
    let mut events: Events = vec![("message_start", json!({ "message": message(model, vec![]) }))];
    let text_start = json!({ "type": "text", "text": "" });
    match reply {
        Reply::Text(text) => block(&mut events, 0, text_start, text_deltas(text)),
        Reply::Call(call) => block(&mut events, 0, tool_use(call, json!({})), tool_deltas(call)),
        Reply::Thinking => {
            thinking_block(&mut events);
            block(&mut events, 1, text_start, text_deltas(reply.text()));
        }
        Reply::ThinkingCall(call) => {
            thinking_block(&mut events);
            block(&mut events, 1, tool_use(call, json!({})), tool_deltas(call));
        }
    }
    events.push((
        "message_delta",
        json!({
            "delta": { "stop_reason": stop_reason(reply), "stop_sequence": null },
            "usage": { "output_tokens": MOCK_USAGE.1 }
        }),
    ));
    events.push(("message_stop", json!({})));
    events
}
