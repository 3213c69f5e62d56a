//! The usage API end to end: history sums by day/hour × provider/model/key, pages of rows with
//! every filter, one account's usage, request logs (attempts of a fallback, bodies only when
//! logging is on and never for a no-log key), and price overrides that change what the next
//! request costs. Validation errors name the parameter or field.

use omniroute_core::providers::find_catalog_provider;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MOCK_USAGE, MockUpstream};
use serde_json::{Value, json};

/// A combo whose first target fails with a retryable 503: every request makes two attempts.
const FALLBACK_COMBO: &str = "[[combos]]\nname = \"fb\"\ntargets = [\"openai/error-503\", \"openai/gpt-4o-mini\"]\n";

async fn create_key(gw: &TestGateway, name: &str, no_log: bool) -> (String, String) {
    let response =
        gw.admin().post(gw.url("/api/keys")).json(&json!({ "name": name, "noLog": no_log })).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    (created["key"].as_str().unwrap().to_owned(), created["apiKey"]["id"].as_str().unwrap().to_owned())
}

/// An OpenAI chat; `key` and `request_id` when given.
async fn chat(gw: &TestGateway, key: Option<&str>, model: &str, stream: bool, request_id: Option<&str>) -> Value {
    let body = json!({
        "model": model, "stream": stream, "stream_options": { "include_usage": true },
        "messages": [{ "role": "user", "content": "hello logged" }],
    });
    let mut request = reqwest::Client::new().post(gw.url("/v1/chat/completions")).json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let cost = response.headers().get("x-omniroute-response-cost").map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    json!({ "status": status, "cost": cost, "text": text })
}

/// `GET path` as the admin: status and body.
async fn get(gw: &TestGateway, path: &str) -> (u16, Value) {
    let response = gw.admin().get(gw.url(path)).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// The parameter a 400 names.
async fn param_of(gw: &TestGateway, path: &str) -> String {
    let (status, body) = get(gw, path).await;
    assert_eq!(status, 400, "{path}: {body}");
    body["error"]["param"].as_str().unwrap_or_default().to_owned()
}

fn cost(provider: &str, model: &str, calls: u64) -> f64 {
    let entry = find_catalog_provider(provider).unwrap().models.iter().find(|m| m.id == model).unwrap();
    calls as f64
        * (MOCK_USAGE.0 as f64 * entry.input_price.unwrap() + MOCK_USAGE.1 as f64 * entry.output_price.unwrap())
        / 1_000_000.0
}

/// Sums `field` over the series points of `group` (a test near midnight may see two days).
fn summed(history: &Value, group: Option<&str>, field: &str) -> f64 {
    history["series"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["group"].as_str() == group)
        .map(|p| p[field].as_f64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_logs_and_account_usage_add_up() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let (team, team_id) = create_key(&gw, "team", false).await;
    let (other, other_id) = create_key(&gw, "other", false).await;
    for _ in 0..3 {
        assert_eq!(chat(&gw, Some(&team), "openai/gpt-4o-mini", false, None).await["status"], 200);
    }
    assert_eq!(chat(&gw, Some(&team), "openai/error-400", false, None).await["status"], 400);
    assert_eq!(chat(&gw, Some(&other), "anthropic/claude-haiku-4-5", false, None).await["status"], 200);
    assert_eq!(chat(&gw, Some(&other), "anthropic/claude-haiku-4-5", true, None).await["status"], 200);
    assert_eq!(chat(&gw, None, "gemini/gpt-4o-mini", false, None).await["status"], 200);
    gw.admin_get_until("/api/usage/logs", |page| page["total"] == 7).await;

    let (status, history) = get(&gw, "/api/usage/history").await;
    assert_eq!(status, 200, "{history}");
    assert_eq!((history["bucket"].as_str(), history["groupBy"].as_str()), (Some("day"), Some("provider")));
    assert_eq!(summed(&history, Some("openai"), "requests"), 4.0);
    assert_eq!(summed(&history, Some("openai"), "errors"), 1.0);
    assert_eq!(summed(&history, Some("openai"), "tokensIn"), 36.0);
    assert_eq!(summed(&history, Some("openai"), "tokensOut"), 18.0);
    assert!((summed(&history, Some("openai"), "costUsd") - cost("openai", "gpt-4o-mini", 3)).abs() < 1e-12);
    assert_eq!(summed(&history, Some("anthropic"), "requests"), 2.0);
    assert!((summed(&history, Some("anthropic"), "costUsd") - cost("anthropic", "claude-haiku-4-5", 2)).abs() < 1e-12);
    assert_eq!(summed(&history, Some("gemini"), "costUsd"), 0.0, "no catalog price, no cost");
    assert_eq!((history["totals"]["requests"].as_u64(), history["totals"]["errors"].as_u64()), (Some(7), Some(1)));
    assert_eq!(history["totals"]["tokensIn"], 6 * MOCK_USAGE.0, "the failed attempt has no tokens");

    let (_, by_key) = get(&gw, "/api/usage/history?groupBy=key&bucket=hour").await;
    assert_eq!(by_key["bucket"], "hour");
    assert_eq!(summed(&by_key, Some(&team_id), "requests"), 4.0);
    assert_eq!(summed(&by_key, Some(&other_id), "requests"), 2.0);
    assert_eq!(summed(&by_key, None, "requests"), 1.0, "the request without a key");
    let (_, by_model) = get(&gw, "/api/usage/history?groupBy=model&provider=openai").await;
    assert_eq!(summed(&by_model, Some("openai/gpt-4o-mini"), "requests"), 3.0);
    assert_eq!(summed(&by_model, Some("openai/error-400"), "errors"), 1.0);
    assert_eq!(by_model["totals"]["requests"], 4, "the provider filter applies");

    // Pages, newest first, and every filter.
    let mut seen = Vec::new();
    for offset in [0, 3, 6] {
        let (_, page) = get(&gw, &format!("/api/usage/logs?limit=3&offset={offset}")).await;
        assert_eq!((page["total"].as_u64(), page["limit"].as_u64()), (Some(7), Some(3)));
        seen.extend(
            page["logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["timestampMs"].as_u64().unwrap(), r["id"].as_u64().unwrap())),
        );
    }
    assert_eq!(seen.len(), 7);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no row twice: {seen:?}");
    let total = |query: &str| {
        let path = format!("/api/usage/logs?{query}");
        let gw = &gw;
        async move { get(gw, &path).await.1["total"].as_u64().unwrap() }
    };
    assert_eq!(total("provider=anthropic").await, 2);
    assert_eq!(total(&format!("keyId={team_id}")).await, 4);
    assert_eq!(total("status=error").await, 1);
    assert_eq!(total("status=400").await, 1);
    assert_eq!(total("status=ok").await, 6);
    assert_eq!(total("model=claude-haiku-4-5").await, 2, "the upstream model");
    assert_eq!(total("model=anthropic%2Fclaude-haiku-4-5").await, 2, "the requested model");
    assert_eq!(total("since=2999-01-01T00%3A00%3A00Z").await, 0);
    assert_eq!(total("until=2000-01-01T00:00:00Z").await, 0);
    let (_, row) = get(&gw, "/api/usage/logs?provider=anthropic&limit=1").await;
    let row = &row["logs"][0];
    assert_eq!((row["tokensIn"].as_u64(), row["tokensOut"].as_u64()), (Some(MOCK_USAGE.0), Some(MOCK_USAGE.1)));
    assert_eq!((row["stream"].as_bool(), row["estimated"].as_bool()), (Some(true), Some(false)));
    assert!(row["ttftMs"].is_u64() && row["keyId"] == other_id.as_str(), "{row}");

    // One account.
    let (_, openai_row) = get(&gw, "/api/usage/logs?provider=openai&limit=1").await;
    let connection = openai_row["logs"][0]["connectionId"].as_str().unwrap().to_owned();
    let (status, account) = get(&gw, &format!("/api/usage/{connection}")).await;
    assert_eq!(status, 200, "{account}");
    assert_eq!((account["provider"].as_str(), account["configured"].as_bool()), (Some("openai"), Some(true)));
    assert_eq!((account["totals"]["requests"].as_u64(), account["totals"]["errors"].as_u64()), (Some(4), Some(1)));
    assert_eq!(account["byModel"].as_array().unwrap().len(), 2, "{account}");
    assert!(account["lastUsedAt"].is_string());
    assert_eq!(get(&gw, "/api/usage/nobody:none").await.0, 404);
    assert_eq!(get(&gw, "/api/usage/not-an-account").await.0, 404);

    // Bad parameters are 400s naming them.
    assert_eq!(param_of(&gw, "/api/usage/history?bucket=week").await, "bucket");
    assert_eq!(param_of(&gw, "/api/usage/history?groupBy=color").await, "groupBy");
    assert_eq!(param_of(&gw, "/api/usage/history?since=yesterday").await, "since");
    assert_eq!(param_of(&gw, "/api/usage/logs?since=2000&until=1000").await, "until");
    assert_eq!(param_of(&gw, "/api/usage/logs?limit=0").await, "limit");
    assert_eq!(param_of(&gw, "/api/usage/logs?limit=501").await, "limit");
    assert_eq!(param_of(&gw, "/api/usage/logs?status=teapot").await, "status");
    assert_eq!(param_of(&gw, "/api/usage/logs?colour=red").await, "colour");
    let post = gw.admin().post(gw.url("/api/usage/logs")).send().await.unwrap();
    assert_eq!((post.status().as_u16(), post.headers()["allow"].to_str().unwrap()), (405, "GET"));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_logs_show_attempts_and_bodies_never_for_no_log_keys() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format_and(&mock, FALLBACK_COMBO).await;
    let (team, team_id) = create_key(&gw, "team", false).await;
    let (quiet, _) = create_key(&gw, "quiet", true).await;
    let (_, settings) = get(&gw, "/api/settings/usage").await;
    assert_eq!(settings, json!({ "retentionDays": 90, "requestLogging": false, "responsesRetentionDays": 30 }));
    let put = |body: Value| {
        let gw = &gw;
        async move {
            let response = gw.admin().put(gw.url("/api/settings/usage")).json(&body).send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, error) = put(json!({ "retentionDays": 5000 })).await;
    assert_eq!((status, error["error"]["param"].as_str()), (400, Some("retentionDays")));
    let (status, error) = put(json!({ "logBodies": true })).await;
    assert_eq!((status, error["error"]["param"].as_str()), (400, Some("logBodies")));
    assert_eq!(
        put(json!({ "requestLogging": true })).await,
        (200, json!({ "retentionDays": 90, "requestLogging": true, "responsesRetentionDays": 30 }))
    );

    assert_eq!(chat(&gw, Some(&team), "fb", false, Some("req-logged")).await["status"], 200);
    let streamed = chat(&gw, Some(&team), "openai/gpt-4o-mini", true, Some("req-stream")).await;
    assert_eq!(chat(&gw, Some(&quiet), "openai/gpt-4o-mini", false, Some("req-quiet")).await["status"], 200);
    put(json!({ "requestLogging": false })).await;
    assert_eq!(chat(&gw, Some(&team), "openai/gpt-4o-mini", false, Some("req-off")).await["status"], 200);
    gw.admin_get_until("/api/usage/request-logs", |page| page["total"] == 4).await;

    let (status, logged) = get(&gw, "/api/usage/request-logs?requestId=req-logged").await;
    assert_eq!(status, 200, "{logged}");
    let request = &logged["requests"][0];
    assert_eq!((request["keyId"].as_str(), request["combo"].as_str()), (Some(team_id.as_str()), Some("fb")));
    let attempts = request["attempts"].as_array().unwrap();
    let statuses: Vec<u64> = attempts.iter().map(|a| a["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [503, 200], "{request}");
    assert!(attempts.iter().all(|a| a["combo"] == "fb" && a["latencyMs"].is_u64()), "{request}");
    assert_eq!(attempts[0]["upstreamModel"], "error-503");
    assert_eq!(request["status"], 200);
    assert!(request["requestBody"].as_str().unwrap().contains("hello logged"), "{request}");
    assert!(request["responseBody"].as_str().unwrap().contains(MOCK_TEXT), "{request}");

    let (_, stream) = get(&gw, "/api/usage/request-logs?requestId=req-stream").await;
    let body = stream["requests"][0]["responseBody"].as_str().unwrap();
    assert_eq!(body, streamed["text"].as_str().unwrap(), "the stream as the client got it");
    assert!(body.ends_with("data: [DONE]\n\n"));

    for id in ["req-quiet", "req-off"] {
        let (status, request) = get(&gw, &format!("/api/usage/request-logs?requestId={id}")).await;
        assert_eq!(status, 200);
        let request = &request["requests"][0];
        assert_eq!(request["attempts"].as_array().unwrap().len(), 1, "{id}");
        assert!(request["requestBody"].is_null() && request["responseBody"].is_null(), "{id}: {request}");
    }
    let (_, page) = get(&gw, "/api/usage/request-logs?limit=2").await;
    let ids: Vec<&str> =
        page["requests"].as_array().unwrap().iter().map(|r| r["requestId"].as_str().unwrap()).collect();
    assert_eq!((page["total"].as_u64(), ids), (Some(4), vec!["req-off", "req-quiet"]));
    assert_eq!(get(&gw, "/api/usage/request-logs?requestId=nope").await.0, 404);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn price_overrides_change_the_cost_from_the_next_request_on() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let (status, table) = get(&gw, "/api/pricing?provider=openai").await;
    assert_eq!(status, 200);
    let row = |table: &Value, provider: &str, model: &str| {
        table["models"].as_array().unwrap().iter().find(|m| m["provider"] == provider && m["model"] == model).cloned()
    };
    let catalog = row(&table, "openai", "gpt-4o-mini").unwrap();
    assert_eq!((catalog["inputPrice"].as_f64(), catalog["source"].as_str()), (Some(0.15), Some("catalog")));
    assert!(table["models"].as_array().unwrap().iter().all(|m| m["provider"] == "openai"));
    let (_, everything) = get(&gw, "/api/pricing").await;
    assert!(row(&everything, "groq", "llama-3.3-70b-versatile").is_some(), "unconfigured catalog providers too");

    let before = chat(&gw, None, "openai/gpt-4o-mini", false, None).await;
    assert_eq!(before["cost"], format!("{:.8}", cost("openai", "gpt-4o-mini", 1)));
    let overrides = json!({ "overrides": [
        { "provider": "openai", "model": "gpt-4o-mini", "inputPrice": 2.0, "outputPrice": 8.0, "cachedInputPrice": 1.0 }
    ]});
    let response = gw.admin().put(gw.url("/api/pricing")).json(&overrides).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (_, table) = get(&gw, "/api/pricing?provider=openai").await;
    let overridden = row(&table, "openai", "gpt-4o-mini").unwrap();
    assert_eq!((overridden["inputPrice"].as_f64(), overridden["source"].as_str()), (Some(2.0), Some("override")));
    assert_eq!(table["overrides"], 1);
    // 12 tokens in at $2/M and 6 out at $8/M.
    let after = chat(&gw, None, "openai/gpt-4o-mini", false, None).await;
    assert_eq!(after["cost"], "0.00007200");

    // PATCH adds (an alias names the provider); DELETE of one leaves the other.
    let patch = json!({ "overrides": [{ "provider": "claude", "model": "claude-haiku-4-5", "inputPrice": 0.5, "outputPrice": 1.0 }] });
    let response = gw.admin().patch(gw.url("/api/pricing")).json(&patch).send().await.unwrap();
    let patched: Value = response.json().await.unwrap();
    let providers: Vec<&str> =
        patched["overrides"].as_array().unwrap().iter().map(|o| o["provider"].as_str().unwrap()).collect();
    assert_eq!(providers, ["anthropic", "openai"]);
    let response = gw.admin().delete(gw.url("/api/pricing/openai/gpt-4o-mini")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(chat(&gw, None, "openai/gpt-4o-mini", false, None).await["cost"], before["cost"], "catalog again");
    let again = gw.admin().delete(gw.url("/api/pricing/openai/gpt-4o-mini")).send().await.unwrap();
    assert_eq!(again.status(), 404);
    let anthropic = chat(&gw, None, "anthropic/claude-haiku-4-5", false, None).await;
    assert_eq!(anthropic["cost"], "0.00001200", "12 × $0.5/M + 6 × $1/M");
    let response = gw.admin().delete(gw.url("/api/pricing")).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "overrides": [] }));

    // Rows keep the cost of their time.
    gw.admin_get_until("/api/usage/logs", |page| page["total"] == 4).await;
    let (_, logs) = get(&gw, "/api/usage/logs?model=gpt-4o-mini").await;
    let costs: Vec<f64> = logs["logs"].as_array().unwrap().iter().map(|r| r["costUsd"].as_f64().unwrap()).collect();
    assert_eq!(costs.len(), 3);
    assert!((costs[1] - 72e-6).abs() < 1e-15, "{costs:?}");
    assert!((costs[0] - cost("openai", "gpt-4o-mini", 1)).abs() < 1e-15 && costs[0] == costs[2], "{costs:?}");

    // Every field checked, and named.
    for (entry, field) in [
        (json!({ "provider": "openai", "model": "m", "inputPrice": -1, "outputPrice": 1 }), "overrides[0].inputPrice"),
        (json!({ "provider": "nope", "model": "m", "inputPrice": 1, "outputPrice": 1 }), "overrides[0].provider"),
        (json!({ "provider": "openai", "model": " ", "inputPrice": 1, "outputPrice": 1 }), "overrides[0].model"),
        (
            json!({ "provider": "openai", "model": "m", "inputPrice": 1, "outputPrice": 1, "cachedInputPrice": 1e9 }),
            "overrides[0].cachedInputPrice",
        ),
        (
            json!({ "provider": "openai", "model": "m", "inputPrice": 1, "outputPrice": 1, "extra": 1 }),
            "overrides[0].extra",
        ),
    ] {
        let response =
            gw.admin().put(gw.url("/api/pricing")).json(&json!({ "overrides": [entry] })).send().await.unwrap();
        assert_eq!(response.status(), 400, "{field}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["param"], field, "{body}");
    }
    let (_, audit) = get(&gw, "/api/compliance/audit-log").await;
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions[..4], ["pricing.reset", "pricing.delete", "pricing.update", "pricing.replace"]);
    gw.stop().await;
}
