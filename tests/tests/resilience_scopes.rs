//! Issue 16 through the server: failures hold off only the scope they belong to. A model's 429
//! or 5xx leaves the account's other models serving, a revoked key or exhausted credit takes
//! the whole account out while a second account serves, and a request's own error counts
//! against nobody.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::MockUpstream;
use serde_json::{Value, json};

fn chat(model: &str) -> String {
    json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] }).to_string()
}

async fn post(url: &str, body: &str) -> reqwest::Response {
    let client = reqwest::Client::new();
    client.post(url).header("content-type", "application/json").body(body.to_owned()).send().await.unwrap()
}

/// One OpenAI-chat provider with an account per key, tried in the order given.
fn provider(id: &str, base_url: &str, keys: &[&str]) -> String {
    let mut config = format!("[[providers]]\nid = \"{id}\"\nformat = \"openai-chat\"\nbase_url = \"{base_url}\"\n");
    for (i, key) in keys.iter().enumerate() {
        config.push_str(&format!("  [[providers.accounts]]\n  name = \"a{i}\"\n  api_key = \"{key}\"\n"));
    }
    config
}

fn key_report<'r>(report: &'r Value, key: &str) -> Option<&'r Value> {
    report["keys"].as_array()?.iter().find(|k| k["key"] == key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_one_model_never_blocks_another_model_of_the_account() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&provider("p", &mock.base_url(), &["k"]), &[]).await;
    let url = gw.url("/v1/chat/completions");
    assert_eq!(post(&url, &chat("p/error-429")).await.status(), 429);
    let calls = mock.requests().len();
    let other = post(&url, &chat("p/gpt-mock")).await;
    assert_eq!(other.status(), 200, "model B of the same account still answers");
    assert_eq!(mock.requests().len(), calls + 1, "and the upstream was asked");
    let limits = gw.admin_get("/api/rate-limits").await;
    let cooling = &limits["cooldowns"][0];
    assert_eq!(cooling["account"], "p:a0", "{limits}");
    assert_eq!(cooling["model"], "error-429", "{limits}");
    assert_eq!(limits["cooldowns"].as_array().map(Vec::len), Some(1), "{limits}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_5xx_on_one_model_open_its_breaker_and_another_model_answers() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&provider("p", &mock.base_url(), &["k"]), &[]).await;
    let url = gw.url("/v1/chat/completions");
    for _ in 0..5 {
        assert_eq!(post(&url, &chat("p/error-500")).await.status(), 500);
    }
    let calls = mock.requests().len();
    let refused = post(&url, &chat("p/error-500")).await;
    assert_eq!(refused.status(), 503, "model A's breaker is open");
    assert_eq!(mock.requests().len(), calls, "an open breaker keeps the model from being called");
    assert_eq!(post(&url, &chat("p/gpt-mock")).await.status(), 200, "model B still answers");
    let report = gw.admin_get("/api/resilience").await;
    let model_a = key_report(&report, "account:p:a0/model:error-500").expect("model A's key");
    assert_eq!(model_a["state"], "open", "{report}");
    assert_eq!(model_a["model"], "error-500", "{report}");
    let account = key_report(&report, "account:p:a0").map(|k| k["state"].clone());
    assert_ne!(account, Some(json!("open")), "the account's breaker stays closed: {report}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_takes_the_account_out_and_a_second_account_serves() {
    let mock = MockUpstream::start();
    // Fill-first (the default): the revoked account is tried first while it is in.
    let gw = TestGateway::start(&provider("p", &mock.base_url(), &["sk-revoked", "k-good"]), &[]).await;
    let url = gw.url("/v1/chat/completions");
    let first = post(&url, &chat("p/gpt-mock")).await;
    assert_eq!(first.status(), 200, "the second account serves");
    let calls = mock.requests().len();
    let second = post(&url, &chat("p/other-model")).await;
    assert_eq!(second.status(), 200);
    assert_eq!(mock.requests().len(), calls + 1, "the revoked account is not asked again, for any model");
    let limits = gw.admin_get("/api/rate-limits").await;
    let out = &limits["cooldowns"][0];
    assert_eq!(out["account"], "p:a0", "{limits}");
    assert_eq!(out["model"], Value::Null, "{limits}");
    assert_eq!(out["reason"], "account: status 401", "{limits}");
    assert!(out["retry_after_secs"].as_u64().unwrap_or(0) > 60, "taken out for long: {limits}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_quota_is_the_accounts_not_the_models() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&provider("p", &mock.base_url(), &["sk-no-credit", "k-good"]), &[]).await;
    let url = gw.url("/v1/chat/completions");
    for _ in 0..3 {
        assert_eq!(post(&url, &chat("p/gpt-mock")).await.status(), 200);
    }
    let limits = gw.admin_get("/api/rate-limits").await;
    let entries = limits["cooldowns"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{limits}");
    assert_eq!(entries[0]["key"], "account:p:a0", "{limits}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_does_not_count_against_the_breaker() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&provider("p", &mock.base_url(), &["k"]), &[]).await;
    let url = gw.url("/v1/chat/completions");
    for _ in 0..8 {
        assert_eq!(post(&url, &chat("p/error-400")).await.status(), 400);
    }
    let calls = mock.requests().len();
    assert_eq!(post(&url, &chat("p/error-400")).await.status(), 400, "still asked");
    assert_eq!(mock.requests().len(), calls + 1);
    let report = gw.admin_get("/api/resilience").await;
    for key in ["account:p:a0", "account:p:a0/model:error-400"] {
        let state = key_report(&report, key).map(|k| k["state"].clone());
        assert_ne!(state, Some(json!("open")), "{key}: {report}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resetting_an_account_clears_its_model_cooldowns_in_the_shared_store_too() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&provider("p", &mock.base_url(), &["k"]), &[]).await;
    let url = gw.url("/v1/chat/completions");
    // A 429 with a huge Retry-After cools (account, model) for long.
    assert_eq!(post(&url, &chat("p/retry-after-max")).await.status(), 429);
    let limits = gw.admin_get("/api/rate-limits").await;
    assert_eq!(limits["cooldowns"][0]["key"], "account:p:a0/model:retry-after-max", "{limits}");
    // Availability follows the (account, model) state: that model is out, another is not.
    let availability = |model: &'static str| {
        let gw = &gw;
        async move { gw.admin_call("POST", "/api/models/availability", Some(json!({ "model": model }))).await.1 }
    };
    let cooling = availability("p/retry-after-max").await;
    assert_eq!(cooling["available"], false, "{cooling}");
    assert_eq!(cooling["targets"][0]["accounts"][0]["available"], false, "{cooling}");
    let other = availability("p/gpt-mock").await;
    assert_eq!(other["available"], true, "{other}");
    // The server shares cooldowns with the store every 2 s: let the row reach it.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let (status, answer) = gw.admin_call("POST", "/api/resilience/reset", Some(json!({ "key": "account:p:a0" }))).await;
    assert_eq!(status, 200, "{answer}");
    // After the next share the model's cooldown must not come back from the store.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let limits = gw.admin_get("/api/rate-limits").await;
    assert_eq!(limits["cooldowns"].as_array().map(Vec::len), Some(0), "{limits}");
    let reset = availability("p/retry-after-max").await;
    assert_eq!(reset["available"], true, "{reset}");
    let calls = mock.requests().len();
    assert_eq!(post(&url, &chat("p/retry-after-max")).await.status(), 429);
    assert_eq!(mock.requests().len(), calls + 1, "the model is asked again after the reset");
    gw.stop().await;
}
