//! What coding agents send, through the real server to a provider of every format: Claude Code's
//! system turn inside `messages`, Codex's `namespace` tool and hosted `web_search` tool. Each
//! provider must get what its real API accepts (the mocks refuse the rest as the APIs do), and
//! the agent must get back what it expects: a 200, the namespaced call named as it offered it,
//! and `X-OmniRoute-Dropped-Tools` naming what the provider did not get.

use omniroute_tests::clients::{Client, named_events};
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream, Recorded};
use serde_json::{Value, json};

/// Provider ids of `TestGateway::with_every_format`, one per wire format.
const PROVIDERS: [&str; 5] = ["openai", "responses", "anthropic", "gemini", "ollama"];

const ENVIRONMENT: &str = "<env>\nWorking directory: /tmp/project\nPlatform: linux\n</env>";

/// What Claude Code 2.1 sends for a model id it does not know: its prompt in `system`, its
/// environment as a system turn at `messages[1]`, its tools, thinking, a `metadata.user_id`.
fn claude_code(model: &str, stream: bool) -> Value {
    json!({
        "model": model, "max_tokens": 32000, "stream": stream,
        "system": [
            { "type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude." },
            { "type": "text", "text": "You are an interactive CLI tool.", "cache_control": { "type": "ephemeral" } }
        ],
        "messages": [
            { "role": "user", "content": [{ "type": "text", "text": "List the files here." }] },
            { "role": "system", "content": ENVIRONMENT },
        ],
        "tools": [{
            "name": "Bash", "description": "Executes a bash command.",
            "input_schema": { "type": "object", "properties": { "command": { "type": "string" } }, "required": ["command"] }
        }],
        "metadata": { "user_id": "user_0123_account__session_4567" }
    })
}

async fn post(gw: &TestGateway, path: &str, headers: &[(&str, &str)], body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(gw.url(path)).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body.to_string()).send().await.expect("request")
}

const ANTHROPIC: [(&str, &str); 2] = [("x-api-key", "sk-client"), ("anthropic-version", "2023-06-01")];

/// The system texts and the turns (role, text) a provider got, whatever its format.
fn received(sent: &Recorded) -> (Vec<String>, Vec<(String, String)>) {
    let body = sent.json();
    let text = |content: &Value| match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(""),
        _ => String::new(),
    };
    let turns = |list: &Value, key: &str| -> Vec<(String, String)> {
        let items = list.as_array().cloned().unwrap_or_default();
        items.iter().map(|m| (m["role"].as_str().unwrap_or_default().to_owned(), text(&m[key]))).collect()
    };
    if sent.path.contains(":generateContent") || sent.path.contains(":streamGenerateContent") {
        let parts = body["systemInstruction"]["parts"].as_array().cloned().unwrap_or_default();
        let system = parts.iter().filter_map(|p| p["text"].as_str().map(str::to_owned)).collect();
        return (system, turns(&body["contents"], "parts"));
    }
    match sent.path.as_str() {
        "/v1/messages" => {
            let system = match &body["system"] {
                Value::String(text) => vec![text.clone()],
                Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str().map(str::to_owned)).collect(),
                _ => vec![],
            };
            (system, turns(&body["messages"], "content"))
        }
        "/v1/responses" => {
            (body["instructions"].as_str().map(str::to_owned).into_iter().collect(), turns(&body["input"], "content"))
        }
        _ => (vec![], turns(&body["messages"], "content")),
    }
}

#[tokio::test]
async fn claude_codes_system_turn_reaches_every_provider_format() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    for provider in PROVIDERS {
        for stream in [false, true] {
            let response =
                post(&gw, "/v1/messages", &ANTHROPIC, &claude_code(&format!("{provider}/gpt-mock"), stream)).await;
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            let context = format!("{provider} stream={stream}");
            assert_eq!(status, 200, "{context}: {body}");
            let answer =
                if stream { Client::Anthropic.parse_stream(&body) } else { Client::Anthropic.parse_full(&body) };
            let answer = answer.unwrap_or_else(|e| panic!("{context}: {e}"));
            assert_eq!(answer.text, MOCK_TEXT, "{context}");
            assert!(answer.complete && !answer.stream_error, "{context}: {body}");

            let (system, turns) = received(&mock.last_request());
            let system_turns: Vec<&(String, String)> = turns.iter().filter(|(role, _)| role == "system").collect();
            match provider {
                // In place, where the format takes system messages mid-conversation.
                "openai" | "ollama" => {
                    let roles: Vec<&str> = turns.iter().map(|(role, _)| role.as_str()).collect();
                    assert_eq!(roles, ["system", "user", "system"], "{context}: {turns:?}");
                    assert_eq!(turns[2].1, ENVIRONMENT, "{context}");
                }
                "responses" => {
                    assert!(system[0].starts_with("You are Claude Code"), "{context}: {system:?}");
                    assert_eq!(turns.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(), ["user", "system"]);
                    assert_eq!(turns[1].1, ENVIRONMENT, "{context}");
                }
                // Merged, in order, into the system slot (for Anthropic, by the passthrough).
                _ => {
                    assert!(system_turns.is_empty(), "{context}: {turns:?}");
                    assert_eq!(system.last().map(String::as_str), Some(ENVIRONMENT), "{context}: {system:?}");
                    assert!(system[0].starts_with("You are Claude Code"), "{context}: {system:?}");
                    assert_eq!(turns.len(), 1, "{context}: {turns:?}");
                }
            }
        }
    }
    // Anthropic's count_tokens goes to the provider too, its system turn moved the same way.
    let response = post(&gw, "/v1/messages/count_tokens", &ANTHROPIC, &claude_code("anthropic/gpt-mock", false)).await;
    assert_eq!(response.status(), 200);
    let sent = mock.last_request();
    assert_eq!(sent.path, "/v1/messages/count_tokens");
    assert!(!sent.json()["messages"].to_string().contains("\"system\""), "{}", sent.json());
    gw.stop().await;
}

/// What Codex 0.169 sends: its namespace of MCP tools (first, so the mock's `first-tool` answer
/// calls a namespaced function), a plain function, and the hosted web search.
fn codex(model: &str, stream: bool) -> Value {
    json!({
        "model": model, "stream": stream, "store": false, "instructions": "You are Codex.",
        "input": [{ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "Weather in Paris?" }] }],
        "tools": [
            { "type": "namespace", "name": "mcp__weather__", "description": "Tools in the mcp__weather__ namespace.",
              "tools": [{ "type": "function", "name": "get_forecast", "description": "The forecast for a city.", "strict": false,
                          "parameters": { "type": "object", "properties": { "city": { "type": "string" } } } }] },
            { "type": "function", "name": "shell", "description": "Runs a command.", "strict": false,
              "parameters": { "type": "object", "properties": { "command": { "type": "array", "items": { "type": "string" } } } } },
            { "type": "web_search", "external_web_access": false }
        ],
        "tool_choice": "auto", "parallel_tool_calls": false, "include": ["reasoning.encrypted_content"]
    })
}

/// The function calls of a Responses answer, whole or streamed (every `function_call` item of
/// `output_item.added`, `output_item.done` and the final response), as (namespace, name, args).
fn calls(body: &str, stream: bool) -> Vec<(Option<String>, String, String)> {
    let items: Vec<Value> = if stream {
        named_events(body)
            .into_iter()
            .filter_map(|(_, data)| serde_json::from_str::<Value>(&data).ok())
            .flat_map(|event| match event["type"].as_str() {
                Some("response.output_item.added" | "response.output_item.done") => vec![event["item"].clone()],
                Some("response.completed") => event["response"]["output"].as_array().cloned().unwrap_or_default(),
                _ => vec![],
            })
            .collect()
    } else {
        serde_json::from_str::<Value>(body).unwrap()["output"].as_array().cloned().unwrap_or_default()
    };
    items
        .iter()
        .filter(|item| item["type"] == "function_call")
        .map(|item| {
            let text = |key: &str| item[key].as_str().unwrap_or_default().to_owned();
            (item["namespace"].as_str().map(str::to_owned), text("name"), text("arguments"))
        })
        .collect()
}

#[tokio::test]
async fn codexs_namespace_and_web_search_reach_every_provider_format() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let auth = [("authorization", "Bearer sk-client")];
    for provider in PROVIDERS {
        for stream in [false, true] {
            let context = format!("{provider} stream={stream}");
            let response = post(&gw, "/v1/responses", &auth, &codex(&format!("{provider}/first-tool"), stream)).await;
            let status = response.status().as_u16();
            let dropped = response.headers().get("x-omniroute-dropped-tools").map(|v| v.to_str().unwrap().to_owned());
            let body = response.text().await.unwrap();
            assert_eq!(status, 200, "{context}: {body}");
            let calls = calls(&body, stream);
            assert!(!calls.is_empty(), "{context}: {body}");
            for (namespace, name, arguments) in &calls {
                assert_eq!(namespace.as_deref(), Some("mcp__weather__"), "{context}: {calls:?}");
                assert_eq!(name, "get_forecast", "{context}");
                // The streamed `added` item opens with no arguments yet.
                assert!(
                    arguments.is_empty()
                        || serde_json::from_str::<Value>(arguments).unwrap() == json!({"city": "Paris"})
                );
            }

            let sent = mock.last_request().json();
            let tools = sent["tools"].to_string();
            if provider == "responses" {
                // The same format: the body as Codex sent it, which the API can run.
                assert_eq!(dropped, None, "{context}");
                assert_eq!(sent["tools"], codex("", stream)["tools"], "{context}");
            } else {
                assert_eq!(dropped.as_deref(), Some("web_search"), "{context}");
                assert!(tools.contains("mcp__weather__get_forecast") && tools.contains("shell"), "{context}: {tools}");
                assert!(!tools.contains("web_search") && !tools.contains("namespace"), "{context}: {tools}");
            }
        }
    }
    gw.stop().await;
}

/// A tool type no API defines is refused before anything is sent, in the client API's words;
/// a hosted tool chat completions does not define is refused by OpenAI the same way.
#[tokio::test]
async fn unknown_tool_types_are_refused_as_the_clients_api_refuses_them() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let auth = [("authorization", "Bearer sk-client")];

    let mut body = codex("anthropic/gpt-mock", false);
    body["tools"] = json!([{ "type": "function", "name": "f" }, { "type": "teleport" }]);
    let response = post(&gw, "/v1/responses", &auth, &body).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["param"], "tools[1].type", "{error}");
    assert_eq!(error["error"]["code"], "invalid_value", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Invalid value: 'teleport'. Supported values are: 'function', "), "{message}");

    let mut body = claude_code("openai/gpt-mock", false);
    body["tools"] = json!([{ "type": "function", "name": "f", "input_schema": {} }]);
    let response = post(&gw, "/v1/messages", &ANTHROPIC, &body).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("tools.0: Input tag 'function' found using 'type' does not match"), "{message}");
    assert!(mock.requests().is_empty(), "nothing reached an upstream");

    // Chat completions has no hosted web search: OpenAI (the mock, through the passthrough) and
    // the gateway (translating for Anthropic) refuse it alike.
    for model in ["openai/gpt-mock", "anthropic/gpt-mock"] {
        let body = json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }], "tools": [{ "type": "web_search" }] });
        let response = post(&gw, "/v1/chat/completions", &auth, &body).await;
        assert_eq!(response.status(), 400, "{model}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(
            error["error"]["message"], "Invalid value: 'web_search'. Supported values are: 'function' and 'custom'.",
            "{model}: {error}"
        );
        assert_eq!(error["error"]["param"], "tools[0].type", "{model}: {error}");
    }
    gw.stop().await;
}

/// The mocks refuse what the real APIs refuse, in their words.
#[tokio::test]
async fn the_mocks_refuse_what_the_real_apis_refuse() {
    let mock = MockUpstream::start();
    let client = reqwest::Client::new();
    let send = |url: String, body: Value| {
        client
            .post(url)
            .header("x-api-key", "k")
            .header("anthropic-version", "2023-06-01")
            .header("authorization", "Bearer k")
            .header("x-goog-api-key", "k")
            .body(body.to_string())
            .send()
    };
    let response = send(format!("{}/messages", mock.base_url()), claude_code("gpt-mock", false)).await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        error["error"],
        json!({ "type": "invalid_request_error", "message": "role 'system' is not supported on this model" })
    );

    let gemini =
        json!({ "contents": [{ "role": "user", "parts": [{ "text": "hi" }] }], "tools": [{ "type": "web_search" }] });
    let response = send(format!("{}/models/gpt-mock:generateContent", mock.gemini_base_url()), gemini).await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(
        error["error"]["message"],
        "Invalid JSON payload received. Unknown name \"type\" at 'tools[0]': Cannot find field."
    );

    let responses = json!({ "model": "gpt-mock", "input": "hi", "tools": [{ "type": "namespace", "name": "n", "description": "d", "tools": [{ "type": "web_search" }] }] });
    let response = send(format!("{}/responses", mock.base_url()), responses).await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["param"], "tools[0].tools[0].type");
}
