//! Usage rows and telemetry from real traffic: rows carry the upstream's own token counts for
//! every provider format (streamed and not), a cost from the pricing table and the time to first
//! token; the telemetry summary and the Prometheus text reflect the same requests.

use omniroute_core::providers::find_catalog_provider;
use omniroute_storage::{Database, LibsqlUsageSink};
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_USAGE, MockUpstream};
use serde_json::{Value, json};

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
    let metrics = gw.admin().get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let data_dir = gw.stop().await;

    let db = Database::open_file(&data_dir.path().join("omniroute.db")).await.unwrap();
    let rows = LibsqlUsageSink::new(db, 16).read_all().await.unwrap();
    assert_eq!(rows.len(), 10, "{rows:?}");
    let price = find_catalog_provider("openai").unwrap().models.iter().find(|m| m.id == "gpt-4o-mini").unwrap();
    for row in &rows {
        let what = format!("{} stream={}", row.provider, row.stream);
        assert_eq!((row.input_tokens, row.output_tokens), (Some(MOCK_USAGE.0), Some(MOCK_USAGE.1)), "{what}");
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
