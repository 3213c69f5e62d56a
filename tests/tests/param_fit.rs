//! Requests fitted to the model that answers them: what Claude Code asks for (`max_tokens`
//! 32000, a thinking budget, a long `metadata.user_id`) reaches `gpt-4o-mini`, whose real API
//! (and so the mock) refuses all three, as a request it takes; the `X-OmniRoute-Adapted` header
//! says what changed. Passthrough bodies are fitted too; a key with `strictParameters` gets the
//! upstream's refusal instead.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::MockUpstream;
use serde_json::{Value, json};

/// An Anthropic Messages body shaped like Claude Code's.
fn claude_code_body(model: &str) -> Value {
    let user_id = format!("user_{}_account__session_{}", "a".repeat(64), "5".repeat(36));
    json!({
        "model": model,
        "max_tokens": 32000,
        "thinking": { "type": "enabled", "budget_tokens": 31999 },
        "metadata": { "user_id": user_id },
        "temperature": 1,
        "system": [{ "type": "text", "text": "You are a coding agent." }],
        "messages": [{ "role": "user", "content": "hi" }]
    })
}

async fn messages(gw: &TestGateway, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request =
        reqwest::Client::new().post(gw.url("/v1/messages")).header("anthropic-version", "2023-06-01").json(body);
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    request.send().await.unwrap()
}

fn adapted(response: &reqwest::Response) -> String {
    response.headers().get("x-omniroute-adapted").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_claude_code_asks_for_reaches_a_small_openai_model_as_a_request_it_takes() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;

    let response = messages(&gw, None, &claude_code_body("openai/gpt-4o-mini")).await;
    let header = adapted(&response);
    let status = response.status();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["type"], "message");
    for change in ["max_tokens=16384", "reasoning dropped", "user hashed"] {
        assert!(header.split(", ").any(|c| c == change), "{change} missing from {header:?}");
    }
    let sent = mock.last_request().json();
    assert_eq!(sent["model"], "gpt-4o-mini");
    let max = sent.get("max_completion_tokens").or(sent.get("max_tokens")).and_then(Value::as_u64);
    assert_eq!(max, Some(16384), "{sent}");
    assert!(sent.get("reasoning_effort").is_none(), "{sent}");
    assert_eq!(sent["user"].as_str().map(str::len), Some(64), "{sent}");

    // A model the catalog knows nothing limiting about: the request goes as it was asked.
    let response = messages(&gw, None, &claude_code_body("openai/gpt-mock")).await;
    assert_eq!(response.status(), 200);
    assert!(!adapted(&response).contains("max_tokens"), "{}", adapted(&response));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passthrough_body_is_fitted_only_when_it_must_be() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let http = reqwest::Client::new();
    let send = |body: Value| http.post(gw.url("/v1/chat/completions")).json(&body).send();

    let body = json!({
        "model": "openai/gpt-4o-mini", "max_tokens": 30000, "reasoning_effort": "high",
        "messages": [{ "role": "user", "content": "hi" }]
    });
    let response = send(body).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(adapted(&response), "max_tokens=16384, reasoning dropped");
    let sent = mock.last_request().json();
    assert_eq!(sent["max_tokens"], 16384, "{sent}");
    assert!(sent.get("reasoning_effort").is_none(), "{sent}");

    // Within the limits: the client's bytes go as they came (only the model rewritten).
    let raw = r#"{"model":"openai/gpt-4o-mini","max_tokens":100,  "messages":[{"role":"user","content":"hi"}]}"#;
    let response =
        http.post(gw.url("/v1/chat/completions")).header("content-type", "application/json").body(raw).send().await;
    let response = response.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(adapted(&response), "");
    assert_eq!(
        String::from_utf8(mock.last_request().body.to_vec()).unwrap(),
        raw.replace("openai/gpt-4o-mini", "gpt-4o-mini")
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_key_gets_the_upstreams_refusal_in_its_own_format() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let created = gw.admin().post(gw.url("/api/keys")).json(&json!({"name": "strict", "strictParameters": true}));
    let created: Value = created.send().await.unwrap().json().await.unwrap();
    assert_eq!(created["apiKey"]["strictParameters"], true, "{created}");
    let key = created["key"].as_str().unwrap();

    let response = messages(&gw, Some(key), &claude_code_body("openai/gpt-4o-mini")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(adapted(&response), "");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["error"]["type"], "invalid_request_error", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("too large") || message.contains("not supported"), "{message}");
    gw.stop().await;
}
