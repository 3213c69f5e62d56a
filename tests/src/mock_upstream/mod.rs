//! Mock upstreams on 127.0.0.1, one server speaking every provider format the gateway targets,
//! each as documented: OpenAI Chat and Responses, Anthropic Messages, Gemini, Ollama chat.
//!
//! The model name picks the behaviour, the same in every format:
//!   `error-<status>`  that status with the format's error body
//!   `html-<status>`   an HTML page with that status (`html-502` a proxy's error page, `html-200`
//!                     a captive portal's answer), streamed or not
//!   `tools`           a `get_weather({"city":"Paris"})` call, its arguments streamed as fragments
//!                     wherever the format streams fragments
//!   `first-tool`      the same call, to the first function the request offers instead (for
//!                     the Responses API a namespace's first member, named with its `namespace`;
//!                     `first_tool.rs`)
//!   `cut-stream`      a stream that dies after its first text fragment (no terminal event)
//!   `slow-<ms>`       waits before answering                     `drip-<ms>` streams a frame every <ms>
//!   `pause-<ms>`      streams the first frame, then goes silent for <ms>, then the rest
//!   `thinking`        (Anthropic) a signed thinking block, then the text
//!   `think-tools`     reasoning (signed where the format signs it), then the `tools` call; once
//!                     the request carries a tool result, the text answer instead: a tool loop
//!   `agent-tool-loop` a coding agent's turn ([`agent`]): without a tool result in the request,
//!                     a call to the agent's own file tool (picked by name from the request's
//!                     tools) that writes the file the prompt's `[agent-task ...]` names; with
//!                     one, the final text `AGENT_DONE_TEXT`
//!   `flaky`           (OpenAI chat) every other request is a 503, starting with the first
//!   `no-usage`        the text answer with no usage anywhere (no `usage`, `usageMetadata` or
//!                     Ollama counts, streamed or not), as some OpenAI-compatible servers answer
//!   anything else: the text answer `MOCK_TEXT` with usage `MOCK_USAGE`.
//! OpenAI chat only: `echo-key` answers 401 with the bearer token it got in the message, as
//! some providers do; `retry-after-max` answers 429 with `Retry-After: 18446744073709551615`.
//! `context-too-long` (every generation endpoint) is refused as too long for the model's context
//! window, in the provider's words and status: OpenAI Chat 400 `context_length_exceeded` ("This
//! model's maximum context length is …"), Responses 400 `context_length_exceeded` ("Your input
//! exceeds the context window of this model …"), Anthropic 400 `invalid_request_error` ("prompt
//! is too long: N tokens > M maximum"), Gemini 400 `INVALID_ARGUMENT` ("The input token count (N)
//! exceeds the maximum number of tokens allowed (M)."), Ollama 400 `the input length exceeds the
//! context length`. `error-<status>` bodies are each provider's own for that status where it has
//! one (OpenAI 429 typed `requests`, code `rate_limit_exceeded`; Anthropic 429 `rate_limit_error`,
//! 402 `billing_error`, 529 `overloaded_error` "Overloaded"; Gemini 429 `RESOURCE_EXHAUSTED` with
//! its `QuotaFailure` for the model, 503 `UNAVAILABLE` "The model is overloaded"; Ollama
//! `{"error": "..."}`, 404 `model "…" not found, try pulling it first`).
//!
//! Keys, in whichever header the format authenticates with (Ollama: a Bearer key, as ollama.com
//! and authenticated servers take it), the account-scoped failures of issue 16:
//!   `sk-bad`        a 500, to exercise account fallback
//!   `sk-revoked`    the provider's answer to an invalid or revoked key: OpenAI (Chat, Responses)
//!                   401 `invalid_api_key`; Anthropic 401 `authentication_error` "invalid
//!                   x-api-key"; Gemini 400 `INVALID_ARGUMENT` with an `ErrorInfo` reason
//!                   `API_KEY_INVALID`; Ollama 401 `{"error":"unauthorized"}`
//!   `sk-no-credit`  the provider's answer to an account out of credit or quota, on generation
//!                   calls: OpenAI 429 `insufficient_quota`; Anthropic 400 `invalid_request_error`
//!                   "Your credit balance is too low …"; Gemini 429 `RESOURCE_EXHAUSTED` "Your
//!                   prepayment credits are depleted …"; Ollama (cloud) 429 "you (…) have reached
//!                   your weekly usage limit …"
//! `tests/python/error_bodies_sdk.py` checks each official SDK reads these as its provider's own.
//! Each format refuses, in its API's words, what its real API refuses and
//! the gateway must never send: tool types it does not define (all formats but Ollama) and, for
//! Anthropic, `system` turns inside `messages` (as models before Claude Opus 4.8 do); OpenAI's
//! formats also refuse what the real API refuses for a real model id (`model_limits.rs`). Every
//! POST is recorded; the catalogue GETs (`/v1/models`, `/v1beta/models`, `/api/tags`) are not,
//! so request counts stay those of the generation calls.
//!
//! `POST /v1/embeddings` answers OpenAI's embeddings format with bag-of-words vectors
//! ([`bag_of_words`]); its model names take the same `error-<status>` and `slow-<ms>`.
//!
//! The model lists (`model_lists.rs`) list `gpt-mock` unless the test sets another list or a
//! failure ([`MockUpstream::set_model_list`]).
//!
//! Routes: `/v1/chat/completions`, `/v1/embeddings`, `/v1/responses`, `/v1/messages` (+ `/count_tokens`),
//! `/v1/models`, `/v1beta/models/{model}:generateContent|:streamGenerateContent`,
//! `/v1beta/models[/{model}]` (the Gemini ones also on `/v1`, as Google serves them),
//! `/api/chat`, `/api/tags`.

pub mod agent;
mod anthropic;
mod embeddings;
mod first_tool;
mod gemini;
mod model_limits;
mod model_lists;
mod ollama;
mod openai_chat;
mod openai_responses;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::Value;

pub use agent::{AGENT_DONE_TEXT, AGENT_MODEL, agent_task_prompt};
pub use embeddings::{EMBEDDING_DIMENSIONS, bag_of_words, cosine};
pub use model_lists::ModelList;

/// The answer text every plain request gets.
pub const MOCK_TEXT: &str = "Hello from the mock upstream!";
/// Usage the mock reports: prompt and completion tokens.
pub const MOCK_USAGE: (u64, u64) = (12, 6);
/// The function every `tools` answer calls, and its arguments.
pub const MOCK_TOOL_NAME: &str = "get_weather";
pub const MOCK_TOOL_ARGUMENTS: &str = "{\"city\":\"Paris\"}";
/// The thinking text and signature of the Anthropic `thinking` answer, and the reasoning of
/// `think-tools` in every format.
pub const MOCK_THINKING: &str = "The user wants a greeting.";
pub const MOCK_SIGNATURE: &str = "c2lnbmF0dXJlLW1vY2s=";

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The path with its query, e.g. `/v1beta/models/gpt-mock:streamGenerateContent?alt=sse`.
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
pub(crate) struct MockState {
    requests: Arc<Mutex<Vec<Recorded>>>,
    flaky: Arc<std::sync::atomic::AtomicU64>,
    model_list: Arc<Mutex<ModelList>>,
}

impl MockState {
    /// `flaky` (OpenAI chat): every other request fails with a 503, starting with the first.
    pub(crate) fn flaky_turn_fails(&self) -> bool {
        self.flaky.fetch_add(1, std::sync::atomic::Ordering::SeqCst).is_multiple_of(2)
    }

    /// What the model lists answer now.
    pub(crate) fn model_list(&self) -> ModelList {
        self.model_list.lock().expect("lock").clone()
    }

    pub(crate) fn record(&self, uri: &Uri, headers: &HeaderMap, body: &Bytes) {
        let path = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        self.requests.lock().expect("lock").push(Recorded { path, headers: headers.clone(), body: body.clone() });
    }
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
            .route("/v1/chat/completions", post(openai_chat::chat))
            .route("/v1/models", get(model_lists::v1))
            .route("/v1/embeddings", post(embeddings::embeddings))
            .route("/v1/responses", post(openai_responses::create))
            .route("/v1/messages", post(anthropic::messages))
            .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
            .route("/v1beta/models", get(model_lists::gemini))
            .route("/v1beta/models/{*rest}", get(gemini::model).post(gemini::generate))
            .route("/v1/models/{*rest}", get(gemini::model).post(gemini::generate))
            .route("/api/chat", post(ollama::chat))
            .route("/api/tags", get(model_lists::ollama))
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

    /// The OpenAI-style base URL (`http://127.0.0.1:PORT/v1`): OpenAI Chat and Responses, and
    /// Anthropic (whose path under it is `/messages`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The Gemini base URL (`http://127.0.0.1:PORT/v1beta`).
    pub fn gemini_base_url(&self) -> String {
        format!("http://{}/v1beta", self.addr)
    }

    /// The Ollama base URL (`http://127.0.0.1:PORT`).
    pub fn ollama_base_url(&self) -> String {
        self.root_url()
    }

    /// The bare origin (`http://127.0.0.1:PORT`): what the Anthropic and Google GenAI SDKs take
    /// as their base URL, since they add `/v1/...` and `/v1beta/...` themselves.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets what every model list (OpenAI's, Anthropic's, Gemini's, Ollama's) answers from now on.
    pub fn set_model_list(&self, list: ModelList) {
        *self.state.model_list.lock().expect("lock") = list;
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// The last generation request received.
    pub fn last_request(&self) -> Recorded {
        self.requests().pop().expect("the mock received no request")
    }
}

/// What the mock answers, once errors and delays are dealt with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// This text, streamed word by word.
    Text(String),
    /// One call of a function tool.
    Call(ToolCall),
    /// (Anthropic) a signed thinking block, then `MOCK_TEXT`.
    Thinking,
    /// Reasoning (`MOCK_THINKING`, signed with `MOCK_SIGNATURE` where the format signs it) in
    /// the format's own shape, then one call of a function tool (`think-tools`).
    ThinkingCall(ToolCall),
}

impl Reply {
    /// The text of a text answer (`MOCK_TEXT` after a thinking block).
    pub(crate) fn text(&self) -> &str {
        match self {
            Reply::Text(text) => text,
            Reply::Call(_) | Reply::Thinking | Reply::ThinkingCall(_) => MOCK_TEXT,
        }
    }

    /// The call the answer makes, after its reasoning for [`Reply::ThinkingCall`].
    pub(crate) fn call(&self) -> Option<&ToolCall> {
        match self {
            Reply::Call(call) | Reply::ThinkingCall(call) => Some(call),
            _ => None,
        }
    }
}

/// A function call the mock makes: the tool's name and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolCall {
    /// Responses only: the namespace of a namespaced function, which its call names.
    pub namespace: Option<String>,
    pub name: String,
    pub arguments: Value,
}

impl ToolCall {
    /// The `tools` answer: `get_weather({"city":"Paris"})`.
    fn weather() -> ToolCall {
        ToolCall::named(MOCK_TOOL_NAME)
    }

    /// A call to the function `name` with the `tools` answer's arguments, `{"city":"Paris"}`.
    pub(crate) fn named(name: &str) -> ToolCall {
        let arguments = serde_json::from_str(MOCK_TOOL_ARGUMENTS).expect("JSON");
        ToolCall { namespace: None, name: name.into(), arguments }
    }

    /// The arguments as JSON text.
    pub(crate) fn arguments_text(&self) -> String {
        self.arguments.to_string()
    }

    /// The arguments as a streaming upstream sends them: three fragments that only parse joined.
    pub(crate) fn fragments(&self) -> Vec<String> {
        let chars: Vec<char> = self.arguments_text().chars().collect();
        let third = chars.len().div_ceil(3).max(1);
        chars.chunks(third).map(|piece| piece.iter().collect()).collect()
    }
}

/// How to answer: what, whether a stream is cut, and the gap between streamed frames.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub reply: Reply,
    pub cut: bool,
    pub gap: Gap,
    /// Report token usage (every model but `no-usage`).
    pub usage: bool,
}

/// The usage fields of every format the mock speaks: OpenAI's and Anthropic's `usage`,
/// Gemini's `usageMetadata`, Ollama's counts.
const USAGE_FIELDS: [&str; 4] = ["usage", "usageMetadata", "prompt_eval_count", "eval_count"];

impl Plan {
    /// `value` as this plan sends it: without any usage field, at any depth, for `no-usage`.
    pub(crate) fn shape(&self, mut value: Value) -> Value {
        fn strip(value: &mut Value) {
            match value {
                Value::Object(map) => {
                    map.retain(|key, _| !USAGE_FIELDS.contains(&key.as_str()));
                    map.values_mut().for_each(strip);
                }
                Value::Array(items) => items.iter_mut().for_each(strip),
                _ => {}
            }
        }
        if !self.usage {
            strip(&mut value);
        }
        value
    }
}

/// When a stream's frames are written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gap {
    /// Before every frame.
    pub each: Duration,
    /// Once more, after the first frame (`pause-<ms>`).
    pub after_first: Duration,
}

/// A model name that answers before any content: an error status, or an HTML page with a
/// status (a proxy's error page, or a captive portal's 200).
pub(crate) enum Early {
    Status(u16),
    Html(u16),
    /// `context-too-long`: the request does not fit the model's context window.
    TooLong,
}

/// What a key says about its account (`sk-revoked`, `sk-no-credit`), answered in each format's
/// own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountRefusal {
    /// The key is invalid or revoked.
    Revoked,
    /// The account has no credit or quota left.
    NoCredit,
}

/// The refusal a key stands for, if any.
pub(crate) fn account_refusal(key: Option<&str>) -> Option<AccountRefusal> {
    match key? {
        "sk-revoked" => Some(AccountRefusal::Revoked),
        "sk-no-credit" => Some(AccountRefusal::NoCredit),
        _ => None,
    }
}

/// Reads the behaviour from the model name, and waits for `slow-<ms>`; `request` (the decoded
/// body and its wire format) is what `agent-tool-loop` and `think-tools` read their turn from and
/// `first-tool` the function it calls.
pub(crate) async fn plan(model: &str, request: Option<(agent::Wire, &Value)>) -> Result<Plan, Early> {
    if let Some(status) = model.strip_prefix("error-").and_then(|s| s.parse::<u16>().ok()) {
        return Err(Early::Status(status));
    }
    if let Some(status) = model.strip_prefix("html-").and_then(|s| s.parse::<u16>().ok()) {
        return Err(Early::Html(status));
    }
    if model == "context-too-long" {
        return Err(Early::TooLong);
    }
    if let Some(ms) = model.strip_prefix("slow-").and_then(|s| s.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let reply = match (model, request) {
        ("tools", _) | ("first-tool", None) => Reply::Call(ToolCall::weather()),
        ("first-tool", Some((wire, request))) => Reply::Call(first_tool::call(wire, request)),
        ("thinking", _) => Reply::Thinking,
        // The second turn of a tool loop: the call's result came back.
        ("think-tools", Some((wire, request))) if agent::carries_tool_result(wire, request) => {
            Reply::Text(MOCK_TEXT.into())
        }
        ("think-tools", _) => Reply::ThinkingCall(ToolCall::weather()),
        (AGENT_MODEL, Some((wire, request))) => agent::reply(wire, request),
        _ => Reply::Text(MOCK_TEXT.into()),
    };
    let each = model.strip_prefix("drip-").and_then(|s| s.parse::<u64>().ok()).unwrap_or(2);
    let pause = model.strip_prefix("pause-").and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    let gap = Gap { each: Duration::from_millis(each), after_first: Duration::from_millis(pause) };
    Ok(Plan { reply, cut: model == "cut-stream", gap, usage: model != "no-usage" })
}

/// `text` in the pieces a streaming upstream sends it in (word by word).
pub(crate) fn text_fragments(text: &str) -> Vec<&str> {
    text.split_inclusive(' ').collect()
}

pub(crate) fn html(status: u16) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "text/html")
        .body(Body::from(format!(
            "<html><body>{status} {}</body></html>",
            StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or_default()
        )))
        .expect("response")
}

/// A JSON response with extra headers.
pub(crate) fn json_with(status: u16, body: &Value, headers: &[(&str, &str)]) -> Response {
    let mut builder = Response::builder().status(status).header("content-type", "application/json");
    if status == 429 && !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("retry-after")) {
        // As real providers do: the gateway cools the account down for this long.
        builder = builder.header("retry-after", "1");
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_string())).expect("response")
}

/// The value of `name`, if it is valid text.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The token of an `Authorization: Bearer <token>` header.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer "))
}

/// A streamed body of pre-framed `frames`, each its own write `gap` apart, like a real
/// upstream. With `cut_after`, the body fails after that many frames: the connection is
/// aborted mid-body (no terminal event, no final chunk), as when an upstream dies.
pub(crate) fn stream_response(content_type: &str, frames: Vec<String>, cut_after: Option<usize>, gap: Gap) -> Response {
    let stream = futures_util::stream::unfold((frames.into_iter(), 0usize), move |(mut iter, n)| async move {
        if cut_after == Some(n) {
            // Let the frames already written reach the client before the connection drops.
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Some((Err(std::io::Error::other("mock cut the stream")), (iter, usize::MAX)));
        }
        if n == usize::MAX {
            return None;
        }
        let next = iter.next()?;
        tokio::time::sleep(gap.each).await;
        if n == 1 {
            tokio::time::sleep(gap.after_first).await;
        }
        Some((Ok::<_, std::io::Error>(Bytes::from(next)), (iter, n + 1)))
    });
    Response::builder()
        .status(200)
        .header("content-type", content_type)
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .expect("response")
}

/// One SSE event with a name (Anthropic, OpenAI Responses): `event:` then `data:`.
pub(crate) fn named_event(name: &str, data: &Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}
