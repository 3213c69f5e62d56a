//! Issue 16 through the server, the scopes beyond one model: an origin that cannot be reached
//! holds off every model behind it (and a combo moves on), a 402 on one leg of a combo does
//! not fail the combo, accounts the provider refused are reported as such, the per-scope
//! `[resilience]` settings (and the old keys) are honoured, and a reset takes one scope.

use std::net::TcpListener;

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

async fn post_json(url: &str, body: &str) -> (u16, Value) {
    let response = post(url, body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// One OpenAI-chat provider with an account per key.
fn provider(id: &str, base_url: &str, keys: &[&str]) -> String {
    let mut config = format!("[[providers]]\nid = \"{id}\"\nformat = \"openai-chat\"\nbase_url = \"{base_url}\"\n");
    for (i, key) in keys.iter().enumerate() {
        config.push_str(&format!("  [[providers.accounts]]\n  name = \"a{i}\"\n  api_key = \"{key}\"\n"));
    }
    config
}

/// A loopback address nothing listens on: connections to it are refused.
fn refused_base_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

fn key_report<'r>(report: &'r Value, key: &str) -> Option<&'r Value> {
    report["keys"].as_array()?.iter().find(|k| k["key"] == key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_origin_opens_the_endpoint_breaker_for_every_model_behind_it() {
    let mock = MockUpstream::start();
    let down = refused_base_url();
    let origin = down.trim_end_matches("/v1").to_owned();
    let config = format!(
        "{}{}[[combos]]\nname = \"fallback\"\ntargets = [\"down/model-b\", \"up/gpt-mock\"]\n",
        provider("down", &down, &["k1", "k2"]),
        provider("up", &mock.base_url(), &["k"]),
    );
    let gw = TestGateway::start(&config, &[]).await;
    let url = gw.url("/v1/chat/completions");
    // Three refused connections (two accounts, one origin) open the endpoint's breaker.
    for _ in 0..2 {
        let (status, body) = post_json(&url, &chat("down/model-a")).await;
        assert!(status == 502 || status == 503, "{status} {body}");
    }
    let report = gw.admin_get("/api/resilience").await;
    let endpoint = key_report(&report, &format!("endpoint:{origin}")).expect("the endpoint's key");
    assert_eq!(endpoint["state"], "open", "{report}");
    assert_eq!(endpoint["scope"], "endpoint", "{report}");
    for account in ["account:down:a0", "account:down:a1"] {
        let state = key_report(&report, account).map(|k| k["state"].clone());
        assert_ne!(state, Some(json!("open")), "accounts are not blamed for the origin: {report}");
    }
    // Another model behind the same origin is held off without a try, in OpenAI's error shape.
    let (status, body) = post_json(&url, &chat("down/model-b")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "circuit_open", "{body}");
    // A combo whose first leg sits behind it moves on at once.
    let before = mock.requests().len();
    let (status, body) = post_json(&url, &chat("combo/fallback")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.requests().len(), before + 1);
    // The other provider's models never noticed.
    assert_eq!(post_json(&url, &chat("up/other-model")).await.0, 200);
    let availability =
        gw.admin_call("POST", "/api/models/availability", Some(json!({ "model": "down/model-c" }))).await.1;
    assert_eq!(availability["available"], false, "{availability}");
    assert_eq!(availability["targets"][0]["endpoint_breaker"], "open", "{availability}");
    // Resetting the endpoint scope lets it be tried again.
    let (status, answer) = gw.admin_call("POST", "/api/resilience/reset", Some(json!({ "scope": "endpoint" }))).await;
    assert_eq!((status, answer["reset"].clone()), (200, json!("endpoint")), "{answer}");
    let report = gw.admin_get("/api/resilience").await;
    assert!(key_report(&report, &format!("endpoint:{origin}")).is_none(), "{report}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_402_on_the_first_leg_of_a_combo_moves_to_the_second() {
    let mock = MockUpstream::start();
    let config = format!(
        "{}{}[[combos]]\nname = \"pair\"\ntargets = [\"broke/error-402\", \"ok/gpt-mock\"]\n",
        provider("broke", &mock.base_url(), &["k-broke"]),
        provider("ok", &mock.base_url(), &["k-ok"]),
    );
    let gw = TestGateway::start(&config, &[]).await;
    let url = gw.url("/v1/chat/completions");
    for round in 0..3 {
        let (status, body) = post_json(&url, &chat("combo/pair")).await;
        assert_eq!(status, 200, "round {round}: {body}");
    }
    let limits = gw.admin_get("/api/rate-limits").await;
    let entries = limits["cooldowns"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{limits}");
    assert_eq!(entries[0]["key"], "account:broke:a0", "the 402 is the account's: {limits}");
    assert_eq!(entries[0]["scope"], "account", "{limits}");
    assert_eq!(entries[0]["reason"], "account: status 402", "{limits}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_the_provider_refused_is_reported_as_such_not_as_a_rate_limit() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&provider("p", &mock.base_url(), &["sk-revoked"]), &[]).await;
    let url = gw.url("/v1/chat/completions");
    let (status, body) = post_json(&url, &chat("p/gpt-mock")).await;
    assert_eq!(status, 401, "the upstream's own answer, as it came: {body}");
    assert_eq!(body["error"]["code"], "invalid_api_key", "{body}");
    let calls = mock.requests().len();
    let response = post(&url, &chat("p/other-model")).await;
    assert_eq!(response.status(), 503);
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 60, "out for long: {retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "accounts_unavailable", "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("status 401"), "the real reason: {message}");
    assert!(!message.contains("sk-revoked"), "never the key: {message}");
    assert_eq!(mock.requests().len(), calls, "the refused account is not asked again");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_scope_settings_are_honoured_and_the_old_keys_still_work() {
    let mock = MockUpstream::start();
    let down = refused_base_url();
    let config = format!(
        "{}{}{}",
        provider("p", &mock.base_url(), &["sk-revoked", "k"]),
        provider("down", &down, &["k"]),
        "[resilience]\nfailure_threshold = 2\n[resilience.account]\ncooldown_ms = 1500\n[resilience.endpoint]\nfailure_threshold = 1\nopen_ms = 60000\n",
    );
    let gw = TestGateway::start(&config, &[]).await;
    let url = gw.url("/v1/chat/completions");
    let report = gw.admin_get("/api/resilience").await;
    let profiles = &report["profiles"];
    assert_eq!(profiles["default"]["failure_threshold"], 2, "{profiles}");
    assert_eq!(profiles["endpoint"]["failure_threshold"], 1, "{profiles}");
    assert_eq!(profiles["account_cooldown_ms"], 1500, "{profiles}");
    // The old top-level key: two failures open a model's breaker.
    for _ in 0..2 {
        assert_eq!(post(&url, &chat("p/error-500")).await.status(), 500);
    }
    assert_eq!(post(&url, &chat("p/error-500")).await.status(), 503);
    // One refused connection opens the endpoint.
    assert!(post(&url, &chat("down/m")).await.status().is_server_error());
    let report = gw.admin_get("/api/resilience").await;
    let origin = down.trim_end_matches("/v1");
    assert_eq!(key_report(&report, &format!("endpoint:{origin}")).map(|k| k["state"].clone()), Some(json!("open")));
    // The account scope's cooldown: the revoked key is out for 1.5 s, not 5 min.
    assert_eq!(post(&url, &chat("p/gpt-mock")).await.status(), 200, "the second account serves");
    let limits = gw.admin_get("/api/rate-limits").await;
    let out = limits["cooldowns"].as_array().and_then(|c| c.iter().find(|c| c["key"] == "account:p:a0")).cloned();
    let out = out.unwrap_or_else(|| panic!("the revoked account cools: {limits}"));
    assert!(out["retry_after_secs"].as_u64().unwrap() <= 2, "{out}");
    // PUT /api/settings shows and takes them too.
    let settings = gw.admin_get("/api/settings").await;
    assert_eq!(settings["routing"]["accountCooldownMs"], 1500, "{settings}");
    assert_eq!(settings["routing"]["endpointBreaker"]["failureThreshold"], 1, "{settings}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_takes_one_scope_and_leaves_the_others() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&provider("p", &mock.base_url(), &["sk-revoked", "k"]), &[]).await;
    let url = gw.url("/v1/chat/completions");
    assert_eq!(post(&url, &chat("p/gpt-mock")).await.status(), 200);
    assert_eq!(post(&url, &chat("p/retry-after-max")).await.status(), 429);
    let scopes = |limits: &Value| -> Vec<String> {
        let entries = limits["cooldowns"].as_array().cloned().unwrap_or_default();
        entries
            .iter()
            .map(|c| format!("{}={}", c["scope"].as_str().unwrap_or("?"), c["key"].as_str().unwrap_or("?")))
            .collect()
    };
    let limits = gw.admin_get("/api/rate-limits").await;
    assert_eq!(scopes(&limits), ["account=account:p:a0", "model=account:p:a1/model:retry-after-max"], "{limits}");
    let (status, _) = gw.admin_call("POST", "/api/resilience/reset", Some(json!({ "scope": "model" }))).await;
    assert_eq!(status, 200);
    let limits = gw.admin_get("/api/rate-limits").await;
    assert_eq!(scopes(&limits), ["account=account:p:a0"], "{limits}");
    // A key and a scope: both are reset.
    assert_eq!(post(&url, &chat("p/retry-after-max")).await.status(), 429);
    assert_eq!(gw.admin_get("/api/rate-limits").await["cooldowns"].as_array().map(Vec::len), Some(2));
    let both = json!({ "scope": "model", "key": "account:p:a0" });
    let (status, body) = gw.admin_call("POST", "/api/resilience/reset", Some(both)).await;
    assert_eq!(status, 200, "{body}");
    let limits = gw.admin_get("/api/rate-limits").await;
    assert_eq!(scopes(&limits), Vec::<String>::new(), "{limits}");
    let (status, body) = gw.admin_call("POST", "/api/resilience/reset", Some(json!([null, null]))).await;
    assert_eq!(status, 400, "an array is not a reset request: {body}");
    let (status, body) = gw.admin_call("POST", "/api/resilience/reset", Some(json!({ "scope": "galaxy" }))).await;
    assert_eq!(status, 400, "{body}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_an_account_does_not_serve_moves_a_combo_on_and_opens_nothing() {
    let mock = MockUpstream::start();
    let config = format!(
        "{}[[combos]]\nname = \"pair\"\ntargets = [\"p/error-404\", \"p/gpt-mock\"]\n",
        provider("p", &mock.base_url(), &["k"]),
    );
    let gw = TestGateway::start(&config, &[]).await;
    let url = gw.url("/v1/chat/completions");
    let (status, body) = post_json(&url, &chat("combo/pair")).await;
    assert_eq!(status, 200, "the second leg serves: {body}");
    for _ in 0..7 {
        let (status, body) = post_json(&url, &chat("p/error-404")).await;
        assert_eq!(status, 404, "the upstream's answer, never a breaker's: {body}");
    }
    let report = gw.admin_get("/api/resilience").await;
    assert!(report["keys"].as_array().unwrap().iter().all(|k| k["state"] != "open"), "{report}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_too_long_moves_a_combo_on_only_to_a_larger_context_window() {
    let mock = MockUpstream::start();
    let anthropic = format!(
        "[[providers]]\nid = \"big\"\nformat = \"anthropic\"\nbase_url = \"{}\"\n  [[providers.accounts]]\n  api_key = \"k\"\n",
        mock.base_url()
    );
    let config = format!(
        "{}{}{}{}",
        provider("small", &mock.base_url(), &["k"]),
        anthropic,
        "[[combos]]\nname = \"grow\"\ntargets = [\"small/context-too-long\", \"big/claude-mock\"]\n",
        "[[combos]]\nname = \"shrink\"\ntargets = [\"big/context-too-long\", \"small/gpt-mock\"]\n[[combos]]\nname = \"unknown\"\ntargets = [\"small/context-too-long\", \"small/no-window\"]\n",
    );
    let gw = TestGateway::start(&config, &[]).await;
    for (provider, model, window) in [
        ("small", "context-too-long", 8_192),
        ("small", "gpt-mock", 8_192),
        ("big", "claude-mock", 200_000),
        ("big", "context-too-long", 200_000),
    ] {
        let model = json!({ "provider": provider, "modelId": model, "contextWindow": window });
        let (status, body) = gw.admin_call("POST", "/api/provider-models", Some(model)).await;
        assert!(status == 200 || status == 201, "{status} {body}");
    }
    let url = gw.url("/v1/chat/completions");
    // 8k refused it, 200k takes it: the combo moves on and the client gets the answer.
    let before = mock.requests().len();
    let (status, body) = post_json(&url, &chat("combo/grow")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.requests().len(), before + 2);
    // 200k refused it: an 8k model cannot take it, so the refusal comes back as it came.
    let before = mock.requests().len();
    let (status, body) = post_json(&url, &chat("combo/shrink")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("prompt is too long"), "{body}");
    assert_eq!(mock.requests().len(), before + 1, "the smaller model is not asked");
    // Nothing known of the next target's window: the refusal as it came, nobody else asked.
    let before = mock.requests().len();
    let (status, body) = post_json(&url, &chat("combo/unknown")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "context_length_exceeded", "{body}");
    assert_eq!(mock.requests().len(), before + 1);
    // And none of it counted against anyone.
    let report = gw.admin_get("/api/resilience").await;
    assert!(report["keys"].as_array().unwrap().iter().all(|k| k["failures_in_window"] == 0), "{report}");
    gw.stop().await;
}

/// The endpoint breaker and a combo's 402 leg as each client format sees them: the held-off
/// model answers 503 in the client's own error shape, and the combos still answer 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_format_sees_the_endpoint_and_account_scopes_alike() {
    use omniroute_tests::clients::Client;
    let mock = MockUpstream::start();
    let down = refused_base_url();
    let config = format!(
        "{}{}{}{}",
        provider("down", &down, &["k"]),
        provider("broke", &mock.base_url(), &["k-broke"]),
        provider("up", &mock.base_url(), &["k"]),
        "[[combos]]\nname = \"past-down\"\ntargets = [\"down/m\", \"up/gpt-mock\"]\n[[combos]]\nname = \"past-402\"\ntargets = [\"broke/error-402\", \"up/gpt-mock\"]\n",
    );
    let gw = TestGateway::start(&config, &[]).await;
    let http = reqwest::Client::new();
    let base = gw.base_url();
    // Open the endpoint's breaker (three refused connections).
    for _ in 0..3 {
        assert!(post(&gw.url("/v1/chat/completions"), &chat("down/m")).await.status().is_server_error());
    }
    let mut failures = Vec::new();
    for client in Client::ALL {
        for stream in [false, true] {
            let held_off = client.request(&http, &base, "down/other", stream).send().await.unwrap();
            let status = held_off.status().as_u16();
            let body = held_off.text().await.unwrap();
            if let Err(e) = client.check_error(status, 503, &body) {
                failures.push(format!("{} stream={stream} held off: {e}", client.name()));
            }
            for combo in ["combo/past-down", "combo/past-402"] {
                let answered = client.request(&http, &base, combo, stream).send().await.unwrap();
                let status = answered.status().as_u16();
                if status != 200 {
                    let body = answered.text().await.unwrap_or_default();
                    failures.push(format!("{} stream={stream} {combo}: {status} {body}", client.name()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    gw.stop().await;
}
