//! The self-hosted server end to end: OpenAI chat through the real gateway (in-process, on
//! loopback) to the mock upstream, streaming and not, tools, errors, fallback, limits, usage.

use std::time::Duration;

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MOCK_USAGE, MockUpstream};
use omniroute_tests::sse::{data_events, streamed_text, streamed_tool_arguments};
use serde_json::{Value, json};

fn env_for(mock: &MockUpstream) -> Vec<(&'static str, String)> {
    vec![("OPENAI_API_KEY", "sk-test".to_string()), ("OPENAI_BASE_URL", mock.base_url())]
}

async fn gateway_for(mock: &MockUpstream) -> TestGateway {
    let env = env_for(mock);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestGateway::start("", &env).await
}

async fn post(url: &str, body: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn non_stream_chat_is_byte_faithful_both_ways() {
    let mock = MockUpstream::start();
    let gw = gateway_for(&mock).await;
    let request = r#"{"model": "openai/gpt-mock", "messages": [{"role": "user", "content": "Hi"}], "logit_bias": {"50256": -100}, "x_custom": [1, 2]}"#;
    let response = post(&gw.url("/v1/chat/completions"), request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-omniroute-provider"], "openai");
    assert_eq!(response.headers()["x-omniroute-model"], "gpt-mock");
    assert_eq!(response.headers()["x-ratelimit-remaining-requests"], "99", "rate-limit headers pass through");
    assert!(response.headers().contains_key("x-request-id"));
    let gateway_body = response.bytes().await.unwrap();

    // The upstream got the client's bytes with only the model rewritten, and our key.
    let seen = mock.last_request();
    assert_eq!(std::str::from_utf8(&seen.body).unwrap(), request.replace("openai/gpt-mock", "gpt-mock"));
    assert_eq!(seen.headers["authorization"], "Bearer sk-test");

    // The client got exactly what the upstream answered.
    let direct =
        post(&format!("{}/chat/completions", mock.base_url()), &request.replace("openai/gpt-mock", "gpt-mock")).await;
    assert_eq!(gateway_body, direct.bytes().await.unwrap());
    let body: Value = serde_json::from_slice(&gateway_body).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], MOCK_TEXT);
    gw.stop().await;
}

#[tokio::test]
async fn streamed_chat_relays_every_event_unchanged() {
    let mock = MockUpstream::start();
    let gw = gateway_for(&mock).await;
    let request = r#"{"model":"openai/gpt-mock","messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}"#;
    let response = post(&gw.url("/v1/chat/completions"), request).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let body = response.text().await.unwrap();
    let direct =
        post(&format!("{}/chat/completions", mock.base_url()), &request.replace("openai/gpt-mock", "gpt-mock"))
            .await
            .text()
            .await
            .unwrap();
    assert_eq!(body, direct, "passthrough stream must be byte-identical");
    assert_eq!(streamed_text(&body), MOCK_TEXT);
    assert_eq!(data_events(&body).last().map(String::as_str), Some("[DONE]"));
    assert!(!body.lines().any(|l| l.starts_with(':')), "no comment lines in the stream");
    gw.stop().await;
}

#[tokio::test]
async fn tool_calls_survive_streamed_and_not() {
    let mock = MockUpstream::start();
    let gw = gateway_for(&mock).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]);
    let request = json!({"model": "openai/tools", "messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": tools});
    let body: Value = post(&gw.url("/v1/chat/completions"), &request.to_string()).await.json().await.unwrap();
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], r#"{"city":"Paris"}"#);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(mock.last_request().json()["tools"], tools, "tool definitions reach the upstream intact");

    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    let text = post(&gw.url("/v1/chat/completions"), &streamed.to_string()).await.text().await.unwrap();
    assert_eq!(streamed_tool_arguments(&text, 0), r#"{"city":"Paris"}"#);
    gw.stop().await;
}

#[tokio::test]
async fn upstream_errors_pass_through_with_their_status() {
    let mock = MockUpstream::start();
    let gw = gateway_for(&mock).await;
    for status in [400u16, 401, 404, 500, 503] {
        for stream in [false, true] {
            let request =
                json!({"model": format!("openai/error-{status}"), "messages": [], "stream": stream}).to_string();
            let response = post(&gw.url("/v1/chat/completions"), &request).await;
            assert_eq!(response.status().as_u16(), status, "stream={stream}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["message"], format!("mock upstream error {status}"));
            assert_eq!(body["error"]["code"], format!("mock_{status}"));
            // Issue 16: a 401 takes the account out for every model (account scope) and a 5xx
            // cools that model; reset so each case reaches the upstream.
            let (reset, _) = gw.admin_call("POST", "/api/resilience/reset", Some(json!({}))).await;
            assert_eq!(reset, 200);
        }
    }
    // A non-JSON upstream error keeps its status and becomes a parseable OpenAI error.
    let response = post(&gw.url("/v1/chat/completions"), r#"{"model":"openai/html-502","messages":[]}"#).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("502 Bad Gateway"), "{body}");
    gw.stop().await;

    // (A fresh gateway: no state left from the cases above.)
    let gw = gateway_for(&mock).await;
    // The upstream's 429 comes back as it was, with its Retry-After...
    let response = post(&gw.url("/v1/chat/completions"), r#"{"model":"openai/error-429","messages":[]}"#).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "mock upstream error 429");
    // ...and that model of the only account now cools down (issue 16: the model, not the
    // account): the gateway answers 429 itself, at once, with the time left, without calling
    // the upstream again.
    let before = mock.requests().len();
    let response =
        post(&gw.url("/v1/chat/completions"), r#"{"model":"openai/error-429","messages":[],"stream":true}"#).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("cooling down"), "{body}");
    assert_eq!(mock.requests().len(), before);
    // Another model of the same account still answers, from the upstream.
    let response =
        post(&gw.url("/v1/chat/completions"), r#"{"model":"openai/gpt-mock","messages":[],"stream":true}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(mock.requests().len(), before + 1);
    gw.stop().await;
}

#[tokio::test]
async fn bad_requests_get_clear_openai_errors() {
    let mock = MockUpstream::start();
    let env = env_for(&mock);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gw = TestGateway::start_with("", &env, |s| s.gateway.max_body_bytes = 4096).await;
    let url = gw.url("/v1/chat/completions");
    let cases: Vec<(String, u16, &str, &str)> = vec![
        ("{not json".into(), 400, "invalid_request_error", "not valid JSON"),
        (r#"{"messages":[]}"#.into(), 400, "invalid_request_error", "`model`"),
        (r#"{"model":"openai/x"}"#.into(), 400, "invalid_request_error", "`messages`"),
        (r#"{"model":"nope/gpt-4o","messages":[]}"#.into(), 400, "invalid_request_error", "unknown provider 'nope'"),
        (r#"{"model":"mystery-model","messages":[]}"#.into(), 400, "invalid_request_error", "not known"),
        (
            format!(r#"{{"model":"openai/x","messages":[{{"role":"user","content":"{}"}}]}}"#, "a".repeat(5000)),
            413,
            "invalid_request_error",
            "limit",
        ),
    ];
    for (body, status, kind, needle) in cases {
        let response = post(&url, &body).await;
        assert_eq!(response.status().as_u16(), status, "{body:.60}");
        let err: Value = response.json().await.unwrap();
        assert_eq!(err["error"]["type"], kind);
        assert!(err["error"]["message"].as_str().unwrap().contains(needle), "{err}");
    }
    let response = reqwest::get(gw.url("/v1/nothing-here")).await.unwrap();
    assert_eq!(response.status(), 404);
    let response = reqwest::get(gw.url("/v1/chat/completions")).await.unwrap();
    assert_eq!(response.status(), 405);
    assert!(mock.requests().is_empty(), "nothing invalid reached the upstream");
    gw.stop().await;
}

#[tokio::test]
async fn a_failing_account_falls_back_to_the_next() {
    let mock = MockUpstream::start();
    let config = format!(
        r#"
        [[providers]]
        id = "openai"
        base_url = "{}"
          [[providers.accounts]]
          name = "broken"
          api_key = "sk-bad"
          [[providers.accounts]]
          name = "good"
          api_key = "sk-good"
        "#,
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let response = post(&gw.url("/v1/chat/completions"), r#"{"model":"openai/gpt-mock","messages":[]}"#).await;
    assert_eq!(response.status(), 200);
    let keys: Vec<String> =
        mock.requests().iter().map(|r| r.headers["authorization"].to_str().unwrap().to_owned()).collect();
    assert_eq!(keys, ["Bearer sk-bad", "Bearer sk-good"]);
    // The broken account's 500 moves on; the good account's 400 is the client's problem and
    // comes back at once (had it been retried, the mock would count more requests).
    let response = post(&gw.url("/v1/chat/completions"), r#"{"model":"openai/error-400","messages":[]}"#).await;
    assert_eq!(response.status(), 400);
    assert_eq!(mock.requests().len(), 4);
    gw.stop().await;
}

#[tokio::test]
async fn unreachable_and_slow_upstreams_fail_clearly_and_in_time() {
    let mock = MockUpstream::start();
    let dead_port = omniroute_tests::tools::free_port();
    let config = format!(
        r#"
        [timeouts]
        first_byte_ms = 300
        total_ms = 300
        [[providers]]
        id = "dead"
        format = "openai-chat"
        base_url = "http://127.0.0.1:{dead_port}/v1"
          [[providers.accounts]]
          api_key = "k"
        [[providers]]
        id = "openai"
        base_url = "{}"
          [[providers.accounts]]
          api_key = "sk-test"
        "#,
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let response = post(&gw.url("/v1/chat/completions"), r#"{"model":"dead/m","messages":[]}"#).await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("no upstream answered"), "{body}");
    assert!(!body.to_string().contains("\"k\""), "no secret in errors");

    for stream in [false, true] {
        let started = std::time::Instant::now();
        let request = json!({"model": "openai/slow-3000", "messages": [], "stream": stream}).to_string();
        let response = post(&gw.url("/v1/chat/completions"), &request).await;
        assert_eq!(response.status(), 504, "stream={stream}");
        assert!(started.elapsed() < Duration::from_millis(2500), "timed out in {:?}", started.elapsed());
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_stream_cut_midway_ends_with_an_error_event() {
    let mock = MockUpstream::start();
    let gw = gateway_for(&mock).await;
    let response =
        post(&gw.url("/v1/chat/completions"), r#"{"model":"openai/cut-stream","messages":[],"stream":true}"#).await;
    assert_eq!(response.status(), 200, "bytes were already flowing");
    let body = response.text().await.unwrap();
    let events = data_events(&body);
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert!(last["error"]["message"].as_str().unwrap().contains("upstream stream failed"), "{body}");
    assert!(!body.contains("[DONE]"), "a broken stream must not look complete");
    gw.stop().await;
}

#[tokio::test]
async fn custom_provider_auth_headers_and_model_list() {
    let mock = MockUpstream::start();
    let config = format!(
        r#"
        [[providers]]
        id = "mycorp"
        format = "openai-chat"
        base_url = "{}"
        auth = "x-api-key"
        headers = {{ "X-Team" = "ml" }}
        models = ["llama-3-70b", "gpt-mock"]
          [[providers.accounts]]
          api_key_env = "MYCORP_KEY"
        "#,
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[("MYCORP_KEY", "corp-secret"), ("GROQ_API_KEY", "gsk")]).await;
    let response = post(&gw.url("/v1/chat/completions"), r#"{"model":"mycorp/llama-3-70b","messages":[]}"#).await;
    assert_eq!(response.status(), 200);
    let seen = mock.last_request();
    assert_eq!(seen.headers["x-api-key"], "corp-secret");
    assert_eq!(seen.headers["x-team"], "ml");
    assert!(seen.headers.get("authorization").is_none());
    // A bare model name that one provider lists resolves to it.
    let response = post(&gw.url("/v1/chat/completions"), r#"{"model":"gpt-mock","messages":[]}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-omniroute-provider"], "mycorp");

    let models: Value = reqwest::get(gw.url("/v1/models")).await.unwrap().json().await.unwrap();
    assert_eq!(models["object"], "list");
    let ids: Vec<&str> = models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"mycorp/llama-3-70b"), "{ids:?}");
    assert!(
        ids.iter().any(|id| id.starts_with("groq/")),
        "env-registered catalog providers list their models: {ids:?}"
    );
    let one: Value = reqwest::get(gw.url("/v1/models/mycorp/llama-3-70b")).await.unwrap().json().await.unwrap();
    assert_eq!(one["owned_by"], "mycorp");
    let health: Value = reqwest::get(gw.url("/api/monitoring/health")).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["providers"], 2);
    assert_eq!(health["storage"], "libsql-file", "the embedded file unless a database URL is set");
    gw.stop().await;
}

#[tokio::test]
async fn usage_is_recorded_per_attempt_and_flushed_on_shutdown() {
    let mock = MockUpstream::start();
    let gw = gateway_for(&mock).await;
    let url = gw.url("/v1/chat/completions");
    post(&url, r#"{"model":"openai/gpt-mock","messages":[]}"#).await.bytes().await.unwrap();
    post(&url, r#"{"model":"openai/gpt-mock","messages":[],"stream":true,"stream_options":{"include_usage":true}}"#)
        .await
        .bytes()
        .await
        .unwrap();
    post(&url, r#"{"model":"openai/error-429","messages":[]}"#).await.bytes().await.unwrap();
    let usage = gw.server.booted.usage.clone();
    gw.stop().await;
    let rows = usage.read_all().await.unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!((rows[0].input_tokens, rows[0].output_tokens), (Some(MOCK_USAGE.0), Some(MOCK_USAGE.1)));
    assert!(rows[1].stream);
    assert_eq!((rows[1].input_tokens, rows[1].output_tokens), (Some(MOCK_USAGE.0), Some(MOCK_USAGE.1)));
    assert_eq!(rows[2].status, 429);
    assert!(rows.iter().all(|r| r.provider == "openai" && r.client_format == "openai-chat"));
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_stream_finish() {
    let mock = MockUpstream::start();
    let gw = gateway_for(&mock).await;
    let url = gw.url("/v1/chat/completions");
    let client = tokio::spawn(async move {
        post(&url, r#"{"model":"openai/drip-100","messages":[],"stream":true}"#).await.text().await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(250)).await;
    let addr = gw.server.addr;
    gw.stop().await;
    let body = client.await.unwrap();
    assert_eq!(streamed_text(&body), MOCK_TEXT, "the stream completed during shutdown");
    assert!(body.ends_with("data: [DONE]\n\n"));
    assert!(
        reqwest::get(format!("http://{addr}/api/monitoring/health")).await.is_err(),
        "no new connections after shutdown"
    );
}

#[tokio::test]
async fn config_is_kept_in_the_store_and_keys_encrypted() {
    let mock = MockUpstream::start();
    let config = format!(
        "[[providers]]\nid = \"openai\"\nbase_url = \"{}\"\n[[providers.accounts]]\napi_key = \"sk-very-secret-123\"\n",
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let dir = gw.stop().await;
    let db = std::fs::read(dir.path().join("omniroute.db")).unwrap();
    let wal = std::fs::read(dir.path().join("omniroute.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(18).any(|w| w == b"sk-very-secret-123"), "API key stored in clear");
    }
    assert!(db.windows(6).any(|w| w == b"openai") || wal.windows(6).any(|w| w == b"openai"), "provider row stored");
}

#[tokio::test]
async fn a_stalled_stream_is_ended_by_the_idle_timeout() {
    let mock = MockUpstream::start();
    let config = format!(
        "[timeouts]\nfirst_byte_ms = 3000\nidle_ms = 300\n[[providers]]\nid = \"openai\"\nbase_url = \"{}\"\n[[providers.accounts]]\napi_key = \"sk-test\"\n",
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let started = std::time::Instant::now();
    // The mock sends its first chunk after 1 s (within first_byte_ms), then one per second.
    let response =
        post(&gw.url("/v1/chat/completions"), r#"{"model":"openai/drip-1000","messages":[],"stream":true}"#).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let elapsed = started.elapsed();
    let last: Value = serde_json::from_str(data_events(&body).last().unwrap()).unwrap();
    assert!(last["error"]["message"].as_str().unwrap().contains("sent nothing for 300 ms"), "{body}");
    assert!(elapsed < Duration::from_millis(1900), "idle timeout fired late: {elapsed:?}");
    gw.stop().await;
}
