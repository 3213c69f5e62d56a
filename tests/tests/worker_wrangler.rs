//! The Cloudflare Worker as users run it locally: `wrangler dev --local` builds it with
//! worker-build and serves it in workerd, against the mock upstream given by `--var`s.
//! The first run compiles the wasm (minutes); later runs reuse `target/worker-wrangler`.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use omniroute_tests::gateway::{TEST_ADMIN_PASSWORD, login};
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use omniroute_tests::sdk::{run_anthropic_sdk, run_openai_sdk_chat};
use omniroute_tests::sse::{data_events, streamed_text};
use omniroute_tests::tools::free_port;
use omniroute_tests::wrangler::Wrangler;
use serde_json::{Value, json};

fn chat(model: &str, stream: bool) -> Value {
    json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": "Say hello" }] })
}

#[tokio::test]
async fn wrangler_dev_serves_chat_streaming_and_errors() {
    let mock = MockUpstream::start();
    let port = free_port();
    let started = Instant::now();
    let upstream = mock.base_url();
    let mut wrangler = Wrangler::start(
        port,
        &[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &upstream), ("INITIAL_PASSWORD", TEST_ADMIN_PASSWORD)],
    );
    let base = format!("http://127.0.0.1:{port}");
    wrangler.wait_ready(&format!("{base}/health")).await;
    eprintln!("wrangler dev (build included) ready after {:.1?}", started.elapsed());
    let tail = wrangler.log_tail();
    let client = reqwest::Client::new();
    let url = format!("{base}/v1/chat/completions");

    // (a) A plain completion reaches the mock with the provider prefix stripped and the key.
    let response = client.post(&url).json(&chat("openai/gpt-mock", false)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{tail}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], MOCK_TEXT, "{body}");
    let upstream = mock.last_request();
    assert_eq!(upstream.json()["model"], "gpt-mock");
    assert_eq!(upstream.headers.get("authorization").unwrap(), "Bearer sk-test");

    // (b) A stream arrives as SSE, chunk by chunk, ending with [DONE].
    let response = client.post(&url).json(&chat("openai/gpt-mock", true)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "content-type {content_type}");
    let mut chunks = response.bytes_stream();
    let mut text = String::new();
    let mut reads = 0;
    while let Some(chunk) = chunks.next().await {
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        reads += 1;
    }
    eprintln!("stream arrived in {reads} reads");
    assert_eq!(streamed_text(&text), MOCK_TEXT, "{text}");
    assert_eq!(data_events(&text).last().map(String::as_str), Some("[DONE]"), "{text}");

    // (c) An unknown provider is the client's mistake, in OpenAI's error shape.
    let response = client.post(&url).json(&chat("nope/x", false)).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");

    // (d) The official OpenAI Python SDK, unchanged, against the Worker.
    let sdk_base = format!("{base}/v1");
    let summary = tokio::task::spawn_blocking(move || run_openai_sdk_chat(&sdk_base, "openai")).await.unwrap();
    assert_eq!(summary["stream"], MOCK_TEXT, "{summary}");
    // (e) Translation runs on wasm too: the Anthropic SDK in front of an OpenAI provider, once
    // the account has cooled down from the SDK's 429 check (the mock says `retry-after: 1`).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let sdk_base = base.clone();
    let summary = tokio::task::spawn_blocking(move || run_anthropic_sdk(&sdk_base, "openai")).await.unwrap();
    assert_eq!(summary["stream"], MOCK_TEXT, "{summary}");

    // (f) Without a database the management API cannot keep a change: it says so with a 503
    // naming what is missing, and nothing pretends to be stored.
    let cookie = login(&base, TEST_ADMIN_PASSWORD).await;
    let admin =
        |method: reqwest::Method, path: &str| client.request(method, format!("{base}{path}")).header("cookie", &cookie);
    let health: Value =
        admin(reqwest::Method::GET, "/api/monitoring/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["storage"], "memory", "{health}");
    let response = admin(reqwest::Method::POST, "/api/keys").json(&json!({"name": "forgotten"})).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "store_unavailable", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("no database") && message.contains("OMNIROUTE_DATABASE_URL"), "{message}");
    let keys: Value = admin(reqwest::Method::GET, "/api/keys").send().await.unwrap().json().await.unwrap();
    assert_eq!(keys["keys"], json!([]), "{keys}");

    let survivors = wrangler.stop().await;
    assert!(survivors.is_empty(), "still running after wrangler was stopped: {survivors:?}");
}
