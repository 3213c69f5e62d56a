//! A mock OpenAI-compatible upstream on 127.0.0.1 speaking the documented wire format
//! (chat.completion JSON, chat.completion.chunk SSE ending in `[DONE]`, `{"error":{...}}`).
//! The model name picks the behaviour, so one mock serves every scenario:
//!   `error-<status>`  that status with an OpenAI error body     `html-502`  a non-JSON 502
//!   `tools`           a tool call (streamed as fragments)        `cut-stream` dies after 2 chunks
//!   `slow-<ms>`       waits before answering                     `drip-<ms>` streams a chunk every <ms>
//!   anything else: a text answer
//! An `Authorization: Bearer sk-bad` key gets a 500, to exercise account fallback.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::{Value, json};

/// The answer text every plain request gets.
pub const MOCK_TEXT: &str = "Hello from the mock upstream!";
/// Usage the mock reports: prompt and completion tokens.
pub const MOCK_USAGE: (u64, u64) = (12, 6);

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Clone, Default)]
struct MockState {
    requests: Arc<Mutex<Vec<Recorded>>>,
}

/// A running mock; stops when dropped with the test's runtime.
pub struct MockUpstream {
    pub addr: SocketAddr,
    state: MockState,
}

impl MockUpstream {
    /// Starts on an ephemeral loopback port, on its own thread and runtime so it serves
    /// gateways running in other processes or runtimes too.
    pub fn start() -> MockUpstream {
        let state = MockState::default();
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .with_state(state.clone());
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind mock");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("mock runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                axum::serve(listener, app).await.expect("mock serve");
            });
        });
        MockUpstream { addr, state }
    }

    /// The OpenAI-style base URL (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// The last chat request received.
    pub fn last_request(&self) -> Recorded {
        self.requests().pop().expect("the mock received no request")
    }
}

fn error_body(status: u16, message: &str) -> Value {
    let kind = match status {
        400 | 404 | 422 => "invalid_request_error",
        401 => "authentication_error",
        429 => "rate_limit_exceeded",
        _ => "server_error",
    };
    json!({ "error": { "message": message, "type": kind, "param": null, "code": format!("mock_{status}") } })
}

fn json_response(status: u16, body: Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-ratelimit-remaining-requests", "99")
        .body(Body::from(body.to_string()))
        .expect("response")
}

async fn models() -> Response {
    json_response(
        200,
        json!({ "object": "list", "data": [{ "id": "gpt-mock", "object": "model", "created": 0, "owned_by": "mock" }] }),
    )
}

async fn chat(State(state): State<MockState>, headers: HeaderMap, body: Bytes) -> Response {
    state.requests.lock().expect("lock").push(Recorded {
        path: "/v1/chat/completions".into(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return json_response(400, error_body(400, "We could not parse the JSON body of your request."));
    };
    if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer sk-bad") {
        return json_response(500, error_body(500, "The server had an error while processing your request."));
    }
    let model = request["model"].as_str().unwrap_or_default().to_owned();
    let stream = request["stream"].as_bool().unwrap_or(false);
    let include_usage = request["stream_options"]["include_usage"].as_bool().unwrap_or(false);
    if let Some(status) = model.strip_prefix("error-").and_then(|s| s.parse::<u16>().ok()) {
        return json_response(status, error_body(status, &format!("mock upstream error {status}")));
    }
    if model == "html-502" {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .header("content-type", "text/html")
            .body(Body::from("<html><body>502 Bad Gateway</body></html>"))
            .expect("response");
    }
    if let Some(ms) = model.strip_prefix("slow-").and_then(|s| s.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let tools = model == "tools";
    if stream {
        let gap = model.strip_prefix("drip-").and_then(|s| s.parse::<u64>().ok()).unwrap_or(2);
        return sse_response(
            stream_chunks(&model, tools, include_usage),
            model == "cut-stream",
            Duration::from_millis(gap),
        );
    }
    json_response(200, completion(&model, tools))
}

fn completion(model: &str, tools: bool) -> Value {
    let message = if tools {
        json!({ "role": "assistant", "content": null, "tool_calls": [{
            "id": "call_mock1", "type": "function",
            "function": { "name": "get_weather", "arguments": "{\"city\":\"Paris\"}" }
        }]})
    } else {
        json!({ "role": "assistant", "content": MOCK_TEXT, "refusal": null })
    };
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

fn stream_chunks(model: &str, tools: bool, include_usage: bool) -> Vec<String> {
    let mut chunks = vec![chunk(model, json!({ "role": "assistant", "content": "" }), None)];
    if tools {
        chunks.push(chunk(model, json!({ "tool_calls": [{ "index": 0, "id": "call_mock1", "type": "function", "function": { "name": "get_weather", "arguments": "" } }] }), None));
        for part in ["{\"ci", "ty\":\"Pa", "ris\"}"] {
            chunks.push(chunk(
                model,
                json!({ "tool_calls": [{ "index": 0, "function": { "arguments": part } }] }),
                None,
            ));
        }
        chunks.push(chunk(model, json!({}), Some("tool_calls")));
    } else {
        for word in MOCK_TEXT.split_inclusive(' ') {
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

fn sse_response(chunks: Vec<String>, cut: bool, gap: Duration) -> Response {
    let stream = async_stream(chunks, cut, gap);
    Response::builder()
        .status(200)
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .expect("response")
}

/// Sends each event as its own write, `gap` apart, like a real upstream.
fn async_stream(
    chunks: Vec<String>,
    cut: bool,
    gap: Duration,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold((chunks.into_iter(), 0usize), move |(mut iter, n)| async move {
        if cut && n == 2 {
            return Some((Err(std::io::Error::other("mock cut the stream")), (iter, usize::MAX)));
        }
        if n == usize::MAX {
            return None;
        }
        let next = iter.next()?;
        tokio::time::sleep(gap).await;
        Some((Ok(Bytes::from(format!("data: {next}\n\n"))), (iter, n + 1)))
    })
}
