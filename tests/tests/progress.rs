//! `X-OmniRoute-Progress: true` end to end: an Anthropic stream gets documented `ping` events in
//! its upstream's silences, between whole events, and says `X-OmniRoute-Progress: enabled`; the
//! other formats (no documented slot) get nothing added; the official SDKs read such streams.

use std::time::Duration;

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use omniroute_tests::sdk::run_sdk_script;
use omniroute_tests::sse::data_events;
use serde_json::{Value, json};

async fn gateway(mock: &MockUpstream) -> TestGateway {
    TestGateway::with_every_format_adjusted(mock, "", |settings| {
        settings.gateway.progress_interval = Duration::from_millis(100);
    })
    .await
}

/// A streamed answer: its progress header and its body.
async fn stream(gw: &TestGateway, path: &str, body: &Value, progress: bool) -> (Option<String>, String) {
    let mut request = reqwest::Client::new().post(gw.url(path)).json(body);
    if progress {
        request = request.header("x-omniroute-progress", "true");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let header = response.headers().get("x-omniroute-progress").map(|v| v.to_str().unwrap().to_owned());
    (header, response.text().await.unwrap())
}

/// The `(event name, data)` of every SSE event, checking each is whole: an `event:` line and a
/// JSON `data:` line whose `type` is the event's name.
fn anthropic_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|block| !block.is_empty())
        .map(|block| {
            let lines: Vec<&str> = block.lines().collect();
            assert_eq!(lines.len(), 2, "one event line and one data line: {block:?}");
            let name = lines[0].strip_prefix("event: ").unwrap_or_else(|| panic!("{block:?}"));
            let data: Value = serde_json::from_str(lines[1].strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], name, "{block:?}");
            (name.to_owned(), data)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_streams_get_pings_in_silences() {
    let mock = MockUpstream::start();
    let gw = gateway(&mock).await;
    // Passthrough (Anthropic upstream) and translated (OpenAI upstream) streams alike.
    for provider in ["anthropic", "openai"] {
        let body = json!({
            "model": format!("{provider}/pause-700"), "max_tokens": 64, "stream": true,
            "messages": [{ "role": "user", "content": "hi" }],
        });
        let pings = |events: &[(String, Value)]| events.iter().filter(|(name, _)| name == "ping").count();
        // Not asked: nothing added (an Anthropic upstream's own ping passes through), no header.
        let (header, plain) = stream(&gw, "/v1/messages", &body, false).await;
        assert_eq!(header, None);
        let upstream_pings = pings(&anthropic_events(&plain));
        assert_eq!(upstream_pings, usize::from(provider == "anthropic"), "{provider}: {plain}");

        let (header, text) = stream(&gw, "/v1/messages", &body, true).await;
        assert_eq!(header.as_deref(), Some("enabled"), "{provider}");
        let events = anthropic_events(&text);
        let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
        let added = pings(&events) - upstream_pings;
        assert!((3..=8).contains(&added), "{provider}: one ping per 100 ms of a 700 ms silence: {names:?}");
        assert_eq!(names.first(), Some(&"message_start"), "{provider}");
        assert_eq!(names.last(), Some(&"message_stop"), "{provider}");
        for (_, data) in events.iter().filter(|(name, _)| name == "ping") {
            assert_eq!(data, &json!({ "type": "ping" }));
        }
        let streamed: String = events.iter().filter_map(|(_, d)| d["delta"]["text"].as_str()).collect();
        assert_eq!(streamed, MOCK_TEXT, "{provider}");
        let without_pings = |events: Vec<(String, Value)>| -> Vec<String> {
            events.into_iter().filter(|(name, _)| name != "ping").map(|(name, _)| name).collect()
        };
        assert_eq!(
            without_pings(events),
            without_pings(anthropic_events(&plain)),
            "{provider}: the same events otherwise"
        );
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formats_without_a_progress_event_get_nothing_added() {
    let mock = MockUpstream::start();
    let gw = gateway(&mock).await;
    let messages = json!([{ "role": "user", "content": "hi" }]);
    let cases = [
        ("/v1/chat/completions", json!({ "model": "openai/pause-500", "stream": true, "messages": messages })),
        ("/v1/chat/completions", json!({ "model": "anthropic/pause-500", "stream": true, "messages": messages })),
        ("/v1/responses", json!({ "model": "responses/pause-500", "stream": true, "input": "hi" })),
        ("/api/chat", json!({ "model": "ollama/pause-500", "messages": messages })),
        (
            "/v1beta/models/gemini%2Fpause-500:streamGenerateContent?alt=sse",
            json!({ "contents": [{ "role": "user", "parts": [{ "text": "hi" }] }] }),
        ),
    ];
    for (path, body) in cases {
        let (header, with) = stream(&gw, path, &body, true).await;
        let (_, without) = stream(&gw, path, &body, false).await;
        assert_eq!(header, None, "{path}: no progress events, no header");
        assert!(!with.contains("ping"), "{path}: {with}");
        assert!(!with.lines().any(|l| l.starts_with(':')), "{path}: no comment lines: {with}");
        if path == "/api/chat" {
            assert_eq!(with.lines().count(), without.lines().count(), "{path}: {with}");
        } else {
            assert_eq!(data_events(&with).len(), data_events(&without).len(), "{path}: {with}");
            let names = |body: &str| body.lines().filter(|l| l.starts_with("event:")).count();
            assert_eq!(names(&with), names(&without), "{path}");
        }
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_sdks_read_progress_streams() {
    let mock = MockUpstream::start();
    let gw = gateway(&mock).await;
    for provider in ["anthropic", "openai"] {
        let base = gw.base_url();
        let summary =
            tokio::task::spawn_blocking(move || run_sdk_script("progress_sdk.py", &base, provider)).await.unwrap();
        assert!(summary["anthropic_pings"].as_u64().unwrap() >= 1, "{provider}: {summary}");
        assert_eq!(summary["text"], MOCK_TEXT);
    }
    gw.stop().await;
}
