//! Issue 14's defects as regression tests, each against the real gateway: spoofed
//! `X-Forwarded-For`, oversized conversations, echoed provider keys, resets that did not stick,
//! non-JSON 200s, slow readers blamed on the upstream, cross-site and rebinding requests, and
//! the small ones (Gemini status names, the total-timeout message, the settings view of
//! `REQUIRE_API_KEY`, concurrent logins).

use std::time::Duration;

use futures_util::StreamExt;
use omniroute_tests::gateway::{TestGateway, provider_env};
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use omniroute_tests::sse::data_events;
use serde_json::{Value, json};

async fn every_format(mock: &MockUpstream) -> TestGateway {
    TestGateway::with_every_format(mock).await
}

async fn post(url: &str, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(url).json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream})
}

#[tokio::test]
async fn forwarded_for_is_read_from_the_trusted_proxy_side() {
    let mock = MockUpstream::start();
    let gw = every_format(&mock).await;
    let (status, _) =
        gw.admin_call("PUT", "/api/settings/ip-filter", Some(json!({"enabled": true, "block": ["203.0.113.7"]}))).await;
    assert_eq!(status, 200);
    let (status, settings) = gw.admin_call("PATCH", "/api/settings", Some(json!({"trustForwardedFor": true}))).await;
    assert_eq!((status, settings["forwardedForHops"].clone()), (200, json!(1)), "{settings}");
    let url = gw.url("/v1/chat/completions");
    // The blocked client prepends an address of its choice; the proxy appends the real one.
    let spoofed = post(&url, &chat("openai/gpt-mock", false), &[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]).await;
    assert_eq!(spoofed.status(), 403);
    let other = post(&url, &chat("openai/gpt-mock", false), &[("x-forwarded-for", "203.0.113.7, 198.51.100.1")]).await;
    assert_eq!(other.status(), 200, "what the client wrote is never its address");

    // Failed logins lock out the address the proxy saw, however the client varies the rest.
    let mut statuses = Vec::new();
    for n in 0..8 {
        let response = reqwest::Client::new()
            .post(gw.url("/api/auth/login"))
            .header("x-forwarded-for", format!("10.0.0.{n}, 198.51.100.9"))
            .json(&json!({"password": "wrong"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    let (status, answer) = gw.admin_call("PATCH", "/api/settings", Some(json!({"forwardedForHops": 0}))).await;
    assert_eq!((status, answer["error"]["param"].clone()), (400, json!("forwardedForHops")), "{answer}");
    gw.stop().await;
}

#[tokio::test]
async fn a_conversation_of_200k_messages_is_refused_before_it_is_expanded() {
    let mock = MockUpstream::start();
    let gw = every_format(&mock).await;
    let message = r#"{"role":"user","content":"x"}"#;
    for (path, model, field) in [
        ("/v1/messages", "openai/gpt-mock", "messages"),
        ("/v1/chat/completions", "anthropic/claude-mock", "messages"),
        ("/api/chat", "openai/gpt-mock", "messages"),
        ("/v1/responses", "anthropic/claude-mock", "input"),
    ] {
        let body = format!(
            r#"{{"model":"{model}","max_tokens":10,"stream":false,"{field}":[{}]}}"#,
            vec![message; 200_000].join(",")
        );
        let response = reqwest::Client::new()
            .post(gw.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let text = response.text().await.unwrap();
        assert!(
            text.contains("200000 messages and content blocks") && text.contains("max_message_items"),
            "{path}: {text}"
        );
    }
    assert!(mock.requests().is_empty(), "nothing reached an upstream");
    gw.stop().await;
}

#[tokio::test]
async fn a_provider_key_echoed_by_the_upstream_never_reaches_the_client() {
    let mock = MockUpstream::start();
    let secret = "sk-live-0123456789abcdefSECRET";
    let config = format!(
        "[[providers]]\nid = \"openai\"\nbase_url = \"{}\"\n  [[providers.accounts]]\n  api_key = \"{secret}\"\n",
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let openai = post(&gw.url("/v1/chat/completions"), &chat("openai/echo-key", false), &[]).await;
    assert_eq!(openai.status(), 401);
    // Issue 16: a 401 takes the account out for every model (account scope); reset it so the
    // second client format reaches the upstream too.
    let (status, _) = gw.admin_call("POST", "/api/resilience/reset", Some(json!({}))).await;
    assert_eq!(status, 200);
    let anthropic = post(
        &gw.url("/v1/messages"),
        &json!({"model": "openai/echo-key", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(anthropic.status(), 401);
    for body in [openai.text().await.unwrap(), anthropic.text().await.unwrap()] {
        assert!(!body.contains("0123456789abcdef"), "{body}");
        assert!(body.contains("Incorrect API key provided: [REDACTED]"), "{body}");
    }
    assert!(mock.last_request().headers["authorization"].to_str().unwrap().contains(secret), "the mock did echo it");
    gw.stop().await;
}

#[tokio::test]
async fn a_reset_cooldown_stays_cleared() {
    let mock = MockUpstream::start();
    let gw = every_format(&mock).await;
    let refused = post(&gw.url("/v1/chat/completions"), &chat("openai/retry-after-max", false), &[]).await;
    assert_eq!(refused.status(), 429);
    // Longer than the interval at which cooldowns are shared: the store has it too now.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let limits = gw.admin_get("/api/rate-limits").await;
    assert_eq!(limits["cooldowns"].as_array().map(Vec::len), Some(1), "{limits}");
    let wait = limits["cooldowns"][0]["retry_after_secs"].as_u64().unwrap();
    assert!(wait <= 86_400, "a day at most, whatever the header said: {wait} s");
    let (status, _) = gw.admin_call("POST", "/api/resilience/reset", Some(json!({}))).await;
    assert_eq!(status, 200);
    // Longer than the interval at which cooldowns are shared through the store.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let limits = gw.admin_get("/api/rate-limits").await;
    assert_eq!(limits["cooldowns"], json!([]), "the cleared cooldown came back: {limits}");
    assert_eq!(post(&gw.url("/v1/chat/completions"), &chat("openai/gpt-mock", false), &[]).await.status(), 200);
    gw.stop().await;
}

#[tokio::test]
async fn a_200_that_is_not_json_is_a_failed_attempt() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format_and(
        &mock,
        "[[combos]]\nname = \"portal\"\ntargets = [\"openai/html-200\", \"anthropic/claude-mock\"]\n",
    )
    .await;
    let url = gw.url("/v1/chat/completions");
    for stream in [false, true] {
        let alone = post(&url, &chat("openai/html-200", stream), &[]).await;
        assert_eq!(alone.status(), 502, "stream {stream}");
        assert!(alone.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
        let body: Value = alone.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("not the promised"), "{body}");

        let combo = post(&url, &chat("portal", stream), &[]).await;
        assert_eq!(combo.status(), 200, "stream {stream}: the combo falls back");
        assert_eq!(combo.headers()["x-omniroute-provider"], "anthropic");
        let text = combo.text().await.unwrap();
        assert!(text.contains("Hello") && !text.contains("<html>"), "{text}");
    }
    // A translated client gets the same.
    let anthropic = post(
        &gw.url("/v1/messages"),
        &json!({"model": "portal", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    assert_eq!(anthropic.status(), 200);
    let answer: Value = anthropic.json().await.unwrap();
    assert_eq!(answer["content"][0]["text"], MOCK_TEXT);
    gw.stop().await;
}

/// An upstream on loopback whose `POST /v1/chat/completions` answers with `answer()`.
async fn scripted_upstream(answer: fn() -> axum::response::Response) -> String {
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(move || async move { answer() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1")
}

fn provider_at(id: &str, base: &str) -> String {
    format!(
        "[[providers]]\nid = \"{id}\"\nformat = \"openai-chat\"\nbase_url = \"{base}\"\n  [[providers.accounts]]\n  api_key = \"k\"\n"
    )
}

/// An OpenAI chunk carrying `content`.
fn chunk(content: &str) -> String {
    let value = json!({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]});
    format!("data: {value}\n\n")
}

fn event_stream(frames: Vec<Result<String, std::io::Error>>) -> axum::response::Response {
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(axum::body::Body::from_stream(futures_util::stream::iter(frames)))
        .unwrap()
}

/// 2,000 chunks of about 8 KB as fast as it may: more than the loopback socket buffers hold,
/// so a client that stops reading stops it too.
fn big_stream() -> axum::response::Response {
    let text = "y".repeat(8_000);
    let mut frames: Vec<Result<String, std::io::Error>> = (0..2_000).map(|_| Ok(chunk(&text))).collect();
    frames.push(Ok("data: [DONE]\n\n".to_owned()));
    event_stream(frames)
}

#[tokio::test]
async fn a_client_that_pauses_reading_is_not_blamed_on_the_upstream() {
    let base = scripted_upstream(big_stream).await;
    let config = format!("[timeouts]\nidle_ms = 400\n{}", provider_at("big", &base));
    let gw = TestGateway::start(&config, &[]).await;
    let response = post(&gw.url("/v1/chat/completions"), &chat("big/m", true), &[]).await;
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut text = String::from_utf8(body.next().await.unwrap().unwrap().to_vec()).unwrap();
    // Five idle timeouts without reading: the upstream waits on us, not we on it.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    while let Some(chunk) = body.next().await {
        text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    let events = data_events(&text);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "the stream completed");
    assert!(!text.contains("sent nothing"), "no idle-timeout error");
    assert_eq!(events.len(), 2_001);
    gw.stop().await;
}

#[tokio::test]
async fn browser_pages_of_other_sites_and_rebound_names_are_refused() {
    let mock = MockUpstream::start();
    let gw = every_format(&mock).await;
    let url = gw.url("/v1/chat/completions");
    let body = chat("openai/gpt-mock", false).to_string();
    let send = |headers: Vec<(&'static str, String)>| {
        let mut request = reqwest::Client::new().post(&url).header("content-type", "text/plain").body(body.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    // A form on evil.example posting to the gateway on the operator's machine.
    let cross = send(vec![("origin", "https://evil.example".into())]).await.unwrap();
    assert_eq!(cross.status(), 403);
    let error: Value = cross.json().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("corsOrigins"), "{error}");
    // DNS rebinding: evil.example now resolves to 127.0.0.1.
    let rebound = send(vec![("host", "evil.example".into())]).await.unwrap();
    assert_eq!(rebound.status(), 403);
    assert!(mock.requests().is_empty(), "no upstream call was made");
    // Allowed origins and the gateway's own origin still work.
    gw.admin_call("PATCH", "/api/settings", Some(json!({"corsOrigins": ["https://app.example"]}))).await;
    let allowed = send(vec![("origin", "https://app.example".into())]).await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example");
    let own = send(vec![("origin", gw.base_url())]).await.unwrap();
    assert_eq!(own.status(), 200);
    gw.stop().await;
}

#[tokio::test]
async fn small_ones_gemini_status_timeouts_settings_view_and_concurrent_logins() {
    let mock = MockUpstream::start();
    let mut env: Vec<(&str, String)> = provider_env(&mock);
    env.push(("REQUIRE_API_KEY", "true".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gw =
        TestGateway::start_with("[timeouts]\ntotal_ms = 300\n[limits]\nmax_body_bytes = 1000\n", &env, |_| {}).await;

    let settings = gw.admin_get("/api/settings").await;
    assert_eq!(settings["requireApiKey"], true, "REQUIRE_API_KEY=true is in force");

    let (status, created) = gw.admin_call("POST", "/api/keys", Some(json!({"name": "t"}))).await;
    assert_eq!(status, 201, "{created}");
    let secret = created["key"].as_str().unwrap();
    let bearer = format!("Bearer {secret}");

    let big = json!({"contents": [{"role": "user", "parts": [{"text": "x".repeat(2_000)}]}]});
    let too_large =
        post(&gw.url("/v1beta/models/gemini/gemini-mock:generateContent"), &big, &[("x-goog-api-key", secret)]).await;
    assert_eq!(too_large.status(), 413);
    let error: Value = too_large.json().await.unwrap();
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT", "{error}");
    let slow =
        post(&gw.url("/v1/chat/completions"), &chat("openai/slow-1000", false), &[("authorization", &bearer)]).await;
    assert_eq!(slow.status(), 504);
    let error: Value = slow.json().await.unwrap();
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("total timeout") && !message.contains("first-byte"), "{message}");

    // Twelve wrong passwords at once: no more than the limit are checked.
    let attempts = (0..12)
        .map(|_| reqwest::Client::new().post(gw.url("/api/auth/login")).json(&json!({"password": "wrong"})).send());
    let statuses: Vec<u16> =
        futures_util::future::join_all(attempts).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 401).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 7, "{statuses:?}");
    gw.stop().await;
}

#[tokio::test]
async fn streams_cut_at_the_end_of_the_grace_period_end_cleanly_and_are_recorded() {
    let mock = MockUpstream::start();
    let env = provider_env(&mock);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gw = TestGateway::start_with("", &env, |s| s.shutdown_grace = Duration::from_millis(500)).await;
    let url = gw.url("/v1/chat/completions");
    let mut streams = Vec::new();
    for _ in 0..3 {
        // A frame every 700 ms: far longer than the grace period.
        let response = post(&url, &chat("openai/drip-700", true), &[]).await;
        assert_eq!(response.status(), 200);
        streams.push(response);
    }
    let data_dir = gw.stop().await;
    for response in streams {
        // The transfer ends properly (no broken chunked encoding) with an error event.
        let text = response.text().await.expect("a complete body");
        let events = data_events(&text);
        let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
        assert!(last["error"]["message"].as_str().unwrap().contains("shutting down"), "{text}");
    }
    let db = omniroute_storage::Database::open_file(&data_dir.path().join("omniroute.db")).await.unwrap();
    let mut rows = db
        .connection()
        .query("SELECT COUNT(*) FROM usage_log WHERE error = 'the gateway is shutting down'", ())
        .await
        .unwrap();
    let recorded: i64 = rows.next().await.unwrap().unwrap().get(0).unwrap();
    assert_eq!(recorded, 3, "every cut stream has its usage row");
}

/// Two chunks, then a clean end without `[DONE]` or a finish reason.
fn stream_without_done() -> axum::response::Response {
    event_stream(vec![Ok(chunk("Hel")), Ok(chunk("lo"))])
}

/// A 200 MB answer, written as it is read (never held whole by the mock).
fn two_hundred_megabytes() -> axum::response::Response {
    let piece = "z".repeat(1 << 20);
    let head = std::iter::once(Ok::<_, std::io::Error>("{\"id\":\"x\",\"pad\":\"".to_owned()));
    let body = head.chain(std::iter::repeat_n(piece, 200).map(Ok));
    axum::response::Response::builder()
        .header("content-type", "application/json")
        .body(axum::body::Body::from_stream(futures_util::stream::iter(body)))
        .unwrap()
}

#[tokio::test]
async fn a_stream_that_ends_without_its_terminal_event_is_not_a_success() {
    let base = scripted_upstream(stream_without_done).await;
    let gw = TestGateway::start(&provider_at("short", &base), &[]).await;
    let openai = post(&gw.url("/v1/chat/completions"), &chat("short/m", true), &[]).await;
    let text = openai.text().await.unwrap();
    assert!(text.contains("closed the stream before the answer was complete"), "{text}");
    let anthropic = post(
        &gw.url("/v1/messages"),
        &json!({"model": "short/m", "max_tokens": 5, "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        &[],
    )
    .await;
    let text = anthropic.text().await.unwrap();
    assert!(text.contains("event: error") && text.contains("closed the stream"), "{text}");
    assert!(!text.contains("message_stop"), "not reported as a finished answer: {text}");
    gw.stop().await;
}

#[tokio::test]
async fn a_200_mb_upstream_answer_is_refused_without_being_held() {
    let base = scripted_upstream(two_hundred_megabytes).await;
    let gw = TestGateway::start(&provider_at("huge", &base), &[]).await;
    let response = post(&gw.url("/v1/chat/completions"), &chat("huge/m", false), &[]).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("huge/m"), "{body}");
    gw.stop().await;
}
