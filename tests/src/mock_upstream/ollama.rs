//! Ollama: `POST /api/chat` (NDJSON stream by default, one object with `"stream": false`,
//! a single `done: true` line carrying the counts), `{"error": "..."}` bodies, `GET /api/tags`.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::agent::Wire;
use super::{
    AccountRefusal, Early, MOCK_THINKING, MOCK_USAGE, MockState, Reply, ToolCall, account_refusal, bearer, html,
    json_with, plan, stream_response, text_fragments,
};

const CREATED_AT: &str = "2025-01-01T00:00:00.000000Z";

fn error(status: u16, message: &str) -> Response {
    json_with(status, &json!({ "error": message }), &[])
}

pub(super) async fn chat(State(state): State<MockState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    state.record(&uri, &headers, &body);
    // A local Ollama has no auth; a key is only sent to ollama.com or a server behind auth, and
    // `sk-bad` still fails over.
    if bearer(&headers) == Some("sk-bad") {
        return error(500, "internal server error");
    }
    match account_refusal(bearer(&headers)) {
        Some(AccountRefusal::Revoked) => return error(401, "unauthorized"),
        // ollama.com's plan limits hold for every model of the account.
        Some(AccountRefusal::NoCredit) => {
            return error(
                429,
                "you (mock) have reached your weekly usage limit, upgrade for higher limits: https://ollama.com/upgrade",
            );
        }
        None => {}
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(400, "invalid character in request body");
    };
    let Some(model) = request["model"].as_str().filter(|m| !m.is_empty()) else {
        return error(400, "model is required");
    };
    let plan = match plan(model, Some((Wire::Ollama, &request))).await {
        Ok(plan) => plan,
        Err(Early::Status(404)) => return error(404, &format!("model \"{model}\" not found, try pulling it first")),
        Err(Early::Status(status)) => return error(status, &format!("mock upstream error {status}")),
        Err(Early::Html(status)) => return html(status),
        Err(Early::TooLong) => return error(400, "the input length exceeds the context length"),
    };
    // A thinking model's `thinking`, beside the content (`think-tools`).
    let thinking = matches!(plan.reply, Reply::ThinkingCall(_));
    // Ollama streams unless told `"stream": false`.
    if request["stream"].as_bool().unwrap_or(true) {
        let mut lines: Vec<Value> = match plan.reply.call() {
            Some(call) => vec![line(model, tool_message(call), false)],
            None => text_fragments(plan.reply.text()).into_iter().map(|t| line(model, message(t), false)).collect(),
        };
        if thinking {
            // A thinking model streams its thinking before the call.
            let thought = json!({ "role": "assistant", "content": "", "thinking": MOCK_THINKING });
            lines.insert(0, line(model, thought, false));
        }
        lines.push(line(model, message(""), true));
        let frames = lines.into_iter().map(|l| format!("{}\n", plan.shape(l))).collect();
        return stream_response("application/x-ndjson", frames, plan.cut.then_some(2), plan.gap);
    }
    let mut answer = match plan.reply.call() {
        Some(call) => tool_message(call),
        None => message(plan.reply.text()),
    };
    if thinking {
        answer["thinking"] = json!(MOCK_THINKING);
    }
    json_with(200, &plan.shape(line(model, answer, true)), &[])
}

fn message(content: &str) -> Value {
    json!({ "role": "assistant", "content": content })
}

/// Ollama parses the call itself: arguments arrive as an object, whole, in one line.
fn tool_message(call: &ToolCall) -> Value {
    json!({
        "role": "assistant", "content": "",
        "tool_calls": [{ "function": { "name": call.name, "arguments": call.arguments } }]
    })
}

/// One response object; the `done` one carries the reason and the counts and durations.
fn line(model: &str, message: Value, done: bool) -> Value {
    let mut line = json!({ "model": model, "created_at": CREATED_AT, "message": message, "done": done });
    if done {
        let totals = json!({
            "done_reason": "stop", "total_duration": 5_000_000, "load_duration": 1_000_000,
            "prompt_eval_count": MOCK_USAGE.0, "prompt_eval_duration": 1_000_000,
            "eval_count": MOCK_USAGE.1, "eval_duration": 3_000_000
        });
        line.as_object_mut().expect("object").extend(totals.as_object().expect("object").clone());
    }
    line
}
