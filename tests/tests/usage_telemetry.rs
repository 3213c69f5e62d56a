//! Usage rows and telemetry from real traffic: rows carry the upstream's own token counts for
//! every provider format (streamed and not, translated and passed through), a cost from the
//! pricing table and the time to first token; an upstream that sends no usage gets an estimate,
//! marked as one; the telemetry summary and the Prometheus text reflect the same requests.

use omniroute_core::providers::find_catalog_provider;
use omniroute_storage::{Database, LibsqlUsageSink};
use omniroute_tests::clients::Client;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MOCK_USAGE, MockUpstream};
use serde_json::{Value, json};

/// Each provider of `TestGateway::with_every_format` and the client format that speaks it.
const NATIVE: [(&str, Client); 4] = [
    ("responses", Client::Responses),
    ("anthropic", Client::Anthropic),
    ("gemini", Client::Gemini),
    ("ollama", Client::Ollama),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_rows_match_every_formats_usage_with_cost_and_ttft() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let http = reqwest::Client::new();
    let providers = ["openai", "responses", "anthropic", "gemini", "ollama"];
    for provider in providers {
        for stream in [false, true] {
            let body = json!({
                "model": format!("{provider}/gpt-4o-mini"), "stream": stream,
                "stream_options": { "include_usage": true },
                "messages": [{ "role": "user", "content": "hi" }],
            });
            let response = http.post(gw.url("/v1/chat/completions")).json(&body).send().await.unwrap();
            assert_eq!(response.status(), 200, "{provider} stream={stream}");
            let headers = response.headers().clone();
            let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
            assert!(header("x-omniroute-latency-ms").is_some(), "{provider} stream={stream}");
            if stream {
                // Known only at the end of the stream: never sent as headers, never injected.
                assert_eq!(header("x-omniroute-tokens-in"), None);
            } else {
                assert_eq!(header("x-omniroute-tokens-in").as_deref(), Some("12"), "{provider}");
                assert_eq!(header("x-omniroute-tokens-out").as_deref(), Some("6"), "{provider}");
            }
            if provider == "openai" && !stream {
                assert!(header("x-omniroute-response-cost").is_some(), "a catalog model has a price");
            }
            response.bytes().await.unwrap();
        }
    }
    let summary: Value = gw.admin_get("/api/telemetry/summary").await;
    // The window is read from the query (other parameters ignored), and a bad one is refused.
    let windowed: Value = gw.admin_get("/api/telemetry/summary?x=1&window_ms=60000").await;
    assert_eq!(windowed["window_ms"], 60000, "{windowed}");
    let refused = gw.admin().get(gw.url("/api/telemetry/summary?window_ms=0")).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let metrics = gw.admin().get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    // The same provider formats spoken by their own clients: usage read from the passthrough.
    for (provider, client) in NATIVE {
        for stream in [false, true] {
            let model = format!("{provider}/gpt-4o-mini");
            let response = client.request(&http, &gw.base_url(), &model, stream).send().await.unwrap();
            assert_eq!(response.status(), 200, "{provider} stream={stream}");
            if !stream {
                assert_eq!(response.headers()["x-omniroute-tokens-out"], "6", "{provider}");
            }
            response.bytes().await.unwrap();
        }
    }
    let data_dir = gw.stop().await;

    let db = Database::open_file(&data_dir.path().join("omniroute.db")).await.unwrap();
    let rows = LibsqlUsageSink::new(db, 16).read_all().await.unwrap();
    assert_eq!(rows.len(), 18, "{rows:?}");
    for (provider, client) in NATIVE {
        let native = rows.iter().filter(|r| r.provider == provider && r.client_format == client.name()).count();
        assert_eq!(native, 2, "{provider} through its own format, streamed and not");
    }
    let price = find_catalog_provider("openai").unwrap().models.iter().find(|m| m.id == "gpt-4o-mini").unwrap();
    for row in &rows {
        let what = format!("{} stream={}", row.provider, row.stream);
        assert_eq!((row.input_tokens, row.output_tokens), (Some(MOCK_USAGE.0), Some(MOCK_USAGE.1)), "{what}");
        assert!(!row.estimated && row.combo.is_none() && row.error.is_none(), "{what}: {row:?}");
        assert_eq!(row.stream, row.ttft_ms.is_some(), "TTFT for streams only: {what}");
        if row.provider == "openai" {
            let expected = (MOCK_USAGE.0 as f64 * price.input_price.unwrap()
                + MOCK_USAGE.1 as f64 * price.output_price.unwrap())
                / 1_000_000.0;
            assert!((row.cost_usd.unwrap() - expected).abs() < 1e-12, "{what}: {:?} vs {expected}", row.cost_usd);
        }
    }
    // The telemetry saw the same ten requests, none failed.
    let openai = summary["providers"].as_array().unwrap().iter().find(|p| p["provider"] == "openai").unwrap();
    assert_eq!(openai["count"], 2, "{summary}");
    assert_eq!(openai["error_rate"], 0.0);
    assert!(openai["latency_ms"]["p99"].as_f64().unwrap() >= 0.0);
    assert!(openai["ttft_ms"]["p50"].is_number(), "{openai}");
    let total: u64 = summary["providers"].as_array().unwrap().iter().map(|p| p["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 10);
    assert!(metrics.contains("# TYPE omniroute_requests_total counter"), "{metrics}");
    assert!(
        metrics.lines().any(|l| l.starts_with("omniroute_tokens_total{") && l.contains("provider=\"gemini\"")),
        "{metrics}"
    );
}

/// `model` with a user message of exactly `chars` characters (`chars / 4` tokens by estimate).
fn long_question(model: &str, chars: usize, stream: bool) -> Value {
    json!({
        "model": model, "stream": stream, "stream_options": { "include_usage": true },
        "messages": [{ "role": "user", "content": "x".repeat(chars) }],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_without_usage_gets_an_estimated_row_priced_from_the_estimate() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let http = reqwest::Client::new();
    // `no-usage` has no catalog price: an override gives the estimate a cost.
    let price =
        json!({ "overrides": [{ "provider": "openai", "model": "no-usage", "inputPrice": 3.0, "outputPrice": 15.0 }] });
    let response = gw.admin().put(gw.url("/api/pricing")).json(&price).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // 400 characters of question: 100 tokens; the answer's 29 characters: 8 tokens.
    let (tokens_in, tokens_out) = (100u64, MOCK_TEXT.chars().count().div_ceil(4) as u64);
    for provider in ["openai", "responses", "anthropic", "gemini", "ollama"] {
        for stream in [false, true] {
            let body = long_question(&format!("{provider}/no-usage"), 400, stream);
            let response = http.post(gw.url("/v1/chat/completions")).json(&body).send().await.unwrap();
            assert_eq!(response.status(), 200, "{provider} stream={stream}");
            if !stream {
                let headers = response.headers();
                assert_eq!(headers["x-omniroute-tokens-in"], tokens_in.to_string().as_str(), "{provider}");
                assert_eq!(headers["x-omniroute-tokens-out"], tokens_out.to_string().as_str(), "{provider}");
                assert_eq!(headers["x-omniroute-tokens-estimated"], "true", "{provider}");
            }
            let text = response.text().await.unwrap();
            assert!(!text.contains("\"usage\":{"), "{provider} stream={stream}: the client sees no usage: {text}");
        }
    }
    // The same through the OpenAI passthrough in its own words, and the Anthropic one.
    for (client, model) in [(Client::OpenaiChat, "openai/no-usage"), (Client::Anthropic, "anthropic/no-usage")] {
        for stream in [false, true] {
            let response = client.request(&http, &gw.base_url(), model, stream).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
        }
    }
    let data_dir = gw.stop().await;

    let db = Database::open_file(&data_dir.path().join("omniroute.db")).await.unwrap();
    let rows = LibsqlUsageSink::new(db, 16).read_all().await.unwrap();
    assert_eq!(rows.len(), 14, "{rows:?}");
    let (estimated_long, native): (Vec<_>, Vec<_>) =
        rows.iter().partition(|r| r.client_format == "openai-chat" && r.input_tokens == Some(tokens_in));
    assert_eq!(estimated_long.len(), 10, "{rows:?}");
    for row in &estimated_long {
        let what = format!("{} stream={}", row.provider, row.stream);
        assert!(row.estimated, "{what}");
        assert_eq!((row.input_tokens, row.output_tokens), (Some(tokens_in), Some(tokens_out)), "{what}");
        match row.provider.as_str() {
            "openai" => {
                let expected = (tokens_in as f64 * 3.0 + tokens_out as f64 * 15.0) / 1_000_000.0;
                assert!((row.cost_usd.unwrap() - expected).abs() < 1e-12, "{what}: {:?}", row.cost_usd);
            }
            _ => assert_eq!(row.cost_usd, None, "{what}: no price, no cost"),
        }
    }
    // The clients' own requests (system prompt, question, a tool) estimate above zero, and the
    // answer's text the same 8 tokens whichever way it came.
    assert_eq!(native.len(), 4);
    for row in native {
        assert!(row.estimated && row.input_tokens.unwrap() > 10, "{row:?}");
        assert_eq!(row.output_tokens, Some(tokens_out), "{row:?}");
    }
}

/// The summary's percentiles against a latency distribution the mock sets: of 100 requests, 90
/// answered after 20 ms and 10 after 300 ms, sent ten at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_percentiles_follow_the_upstreams_latency_distribution() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let http = reqwest::Client::new();
    let send = |model: &'static str| {
        let body = json!({ "model": format!("openai/{model}"), "messages": [{ "role": "user", "content": "hi" }] });
        let request = http.post(gw.url("/v1/chat/completions")).json(&body).send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), 200, "{model}");
            response.bytes().await.unwrap();
        }
    };
    for _ in 0..10 {
        let batch = (0..10).map(|n| send(if n == 0 { "slow-300" } else { "slow-20" }));
        futures_util::future::join_all(batch).await;
    }
    let summary: Value = gw.admin_get("/api/telemetry/summary").await;
    let ms = |slice: &Value, p: &str| slice["latency_ms"][p].as_f64().unwrap();
    let openai = summary["providers"].as_array().unwrap().iter().find(|p| p["provider"] == "openai").unwrap();
    assert_eq!(openai["count"], 100, "{summary}");
    // p50 among the fast answers, p95 and p99 among the slow ones (the sketch is within 1%).
    assert!((19.0..100.0).contains(&ms(openai, "p50")), "{openai}");
    assert!((297.0..450.0).contains(&ms(openai, "p95")), "{openai}");
    assert!((297.0..450.0).contains(&ms(openai, "p99")), "{openai}");
    let model = |name: &str| {
        let models = summary["models"].as_array().unwrap();
        models.iter().find(|m| m["provider"] == "openai" && m["model"] == name).unwrap().clone()
    };
    let (fast, slow) = (model("slow-20"), model("slow-300"));
    assert_eq!((fast["count"].as_u64(), slow["count"].as_u64()), (Some(90), Some(10)));
    assert!(ms(&fast, "p99") < 150.0 && ms(&slow, "p50") >= 297.0, "{fast} {slow}");
    gw.stop().await;
}
