//! Two in-process servers on one sqld act as one: a key, a combo or a revocation made through
//! A's management API applies on B within the config refresh bound; usage rows from both are
//! read on either; a 429 cooldown learned by A holds on B; a breaker A opened holds on B and an
//! account A found out is out on B (told apart from a rate limit), until a reset on A releases
//! both; a budget spent through A is enforced on B. Each bound is measured and asserted
//! (docs/consistency.md states them).

use std::time::Duration;

use omniroute_tests::eventually::within;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::MockUpstream;
use omniroute_tests::sqld::Sqld;
use serde_json::{Value, json};

/// Config changes made elsewhere apply within the refresh interval (1 s) plus a reload; the
/// assertion leaves room for a loaded machine.
const CONFIG_BOUND: Duration = Duration::from_secs(3);
/// Cooldowns go to the store and come back every 2 s on each side.
const COOLDOWN_BOUND: Duration = Duration::from_secs(6);
/// Open breakers and account-outs travel with the cooldowns (each side every 2 s), and so does a
/// reset's clearing of them.
const BREAKER_BOUND: Duration = Duration::from_secs(6);
/// Spend reaches the store with the usage flush (1 s) and is re-read every 5 s on a shared
/// database.
const BUDGET_BOUND: Duration = Duration::from_secs(9);

async fn pair(sqld: &Sqld, mock: &MockUpstream, extra: &[(&str, &str)]) -> (TestGateway, TestGateway) {
    let base = mock.base_url();
    let mut env = vec![
        ("OMNIROUTE_DATABASE_URL", sqld.url.as_str()),
        ("OMNIROUTE_SECRET", "one secret for every instance"),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", base.as_str()),
    ];
    env.extend_from_slice(extra);
    let a = TestGateway::start("", &env).await;
    let b = TestGateway::start("", &env).await;
    for gw in [&a, &b] {
        assert_eq!(gw.admin_get("/api/monitoring/health").await["storage"], "libsql-remote");
    }
    (a, b)
}

async fn chat(gw: &TestGateway, key: Option<&str>, model: &str) -> u16 {
    chat_answer(gw, key, model).await.0
}

async fn chat_answer(gw: &TestGateway, key: Option<&str>, model: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(gw.url("/v1/chat/completions"))
        .json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// One key of `/api/resilience`, if reported.
fn key_report(report: &Value, key: &str) -> Option<Value> {
    report["keys"].as_array()?.iter().find(|k| k["key"] == key).cloned()
}

async fn create_key(gw: &TestGateway, name: &str) -> (String, String) {
    let (status, created) = gw.admin_call("POST", "/api/keys", Some(json!({ "name": name }))).await;
    assert_eq!(status, 201, "{created}");
    (created["key"].as_str().unwrap().to_owned(), created["apiKey"]["id"].as_str().unwrap().to_owned())
}

/// Sends `openai/<model>` (a model the mock fails with a 5xx) through `gw` until that model's
/// breaker on the account is open there; that breaker's key.
async fn open_breaker(gw: &TestGateway, model: &str) -> String {
    let suffix = format!("/model:{model}");
    for _ in 0..10 {
        let (status, body) = chat_answer(gw, None, &format!("openai/{model}")).await;
        let report = gw.admin_get("/api/resilience").await;
        let keys = report["keys"].as_array().cloned().unwrap_or_default();
        let open =
            keys.iter().find(|k| k["state"] == "open" && k["key"].as_str().is_some_and(|k| k.ends_with(&suffix)));
        if let Some(open) = open {
            assert_eq!(open["open_source"], "local", "{open}");
            return open["key"].as_str().unwrap().to_owned();
        }
        assert!(status >= 500, "{status} {body}");
    }
    panic!("the breaker of {model} never opened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_combos_and_revocations_made_on_one_instance_apply_on_the_other() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let (a, b) = pair(&sqld, &mock, &[("REQUIRE_API_KEY", "true")]).await;

    let (key, id) = create_key(&a, "shared").await;
    assert_eq!(chat(&a, Some(&key), "openai/gpt-4o-mini").await, 200, "A knows its own key at once");
    within(CONFIG_BOUND, "a key created on A works on B", async || {
        chat(&b, Some(&key), "openai/gpt-4o-mini").await == 200
    })
    .await;

    let (status, combo) =
        a.admin_call("POST", "/api/combos", Some(json!({"name": "team-fast", "models": ["openai/gpt-4o-mini"]}))).await;
    assert_eq!(status, 201, "{combo}");
    within(CONFIG_BOUND, "a combo created on A routes on B", async || chat(&b, Some(&key), "team-fast").await == 200)
        .await;

    // And the other way round: B's write reaches A.
    let (status, _) = b.admin_call("DELETE", "/api/combos/team-fast", None).await;
    assert_eq!(status, 200);
    within(CONFIG_BOUND, "a combo deleted on B is gone on A", async || chat(&a, Some(&key), "team-fast").await != 200)
        .await;

    let (status, _) = a.admin_call("POST", &format!("/api/keys/{id}/revoke"), None).await;
    assert_eq!(status, 200);
    within(CONFIG_BOUND, "a key revoked on A is refused on B", async || {
        chat(&b, Some(&key), "openai/gpt-4o-mini").await == 401
    })
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_rows_from_both_are_read_on_either_and_a_cooldown_learned_by_one_holds_on_the_other() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let (a, b) = pair(&sqld, &mock, &[]).await;

    assert_eq!(chat(&a, None, "openai/gpt-4o-mini").await, 200);
    assert_eq!(chat(&b, None, "openai/gpt-4o-mini").await, 200);
    assert_eq!(chat(&b, None, "openai/gpt-4o-mini").await, 200);
    for gw in [&a, &b] {
        let logs = gw.admin_get_until("/api/usage/logs", |page| page["total"] == 3).await;
        assert_eq!(logs["total"], 3, "every instance's rows, read on either: {logs}");
    }

    // A learns a cooldown from the upstream's 429 (a long Retry-After); B holds it too.
    assert_eq!(chat(&a, None, "openai/retry-after-max").await, 429);
    let cooling = |limits: &Value| {
        limits["cooldowns"]
            .as_array()
            .is_some_and(|all| all.iter().any(|c| c["account"].as_str().is_some_and(|a| a.starts_with("openai"))))
    };
    assert!(cooling(&a.admin_get("/api/rate-limits").await));
    within(COOLDOWN_BOUND, "a cooldown learned on A shows on B", async || {
        cooling(&b.admin_get("/api/rate-limits").await)
    })
    .await;
    let calls = mock.requests().len();
    assert_eq!(chat(&b, None, "openai/retry-after-max").await, 429);
    assert_eq!(mock.requests().len(), calls, "B spares the upstream A found limited");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_spent_through_one_instance_is_enforced_on_the_other() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let (a, b) = pair(&sqld, &mock, &[("REQUIRE_API_KEY", "true")]).await;
    let (key, id) = create_key(&a, "budgeted").await;
    assert_eq!(chat(&a, Some(&key), "openai/gpt-4o-mini").await, 200);
    let logs = a.admin_get_until(&format!("/api/usage/logs?keyId={id}"), |page| page["total"] == 1).await;
    let one = logs["logs"][0]["costUsd"].as_f64().unwrap();
    assert!(one > 0.0, "the catalog prices gpt-4o-mini");
    let (status, budget) = a
        .admin_call("POST", "/api/usage/budget", Some(json!({"keyId": id, "limit": 2.0 * one, "period": "daily"})))
        .await;
    assert_eq!(status, 200, "{budget}");
    assert_eq!(chat(&a, Some(&key), "openai/gpt-4o-mini").await, 200, "the second of two");
    assert_eq!(chat(&a, Some(&key), "openai/gpt-4o-mini").await, 402, "spent on A");

    // B counts A's spend once it is flushed and re-read; what B serves meanwhile is the overshoot.
    let mut overshoot = 0;
    within(BUDGET_BOUND, "a budget spent on A is enforced on B", async || {
        let status = chat(&b, Some(&key), "openai/gpt-4o-mini").await;
        overshoot += u32::from(status == 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
        status == 402
    })
    .await;
    eprintln!("requests B served past the budget meanwhile: {overshoot}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opened_and_an_account_found_out_on_one_instance_hold_on_the_other_until_a_reset() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let base = mock.base_url();
    let extra = [("ANTHROPIC_API_KEY", "sk-revoked"), ("ANTHROPIC_BASE_URL", base.as_str())];
    let (a, b) = pair(&sqld, &mock, &extra).await;
    let combo = json!({"name": "fallback", "models": ["openai/error-500", "openai/gpt-4o-mini"]});
    assert_eq!(a.admin_call("POST", "/api/combos", Some(combo)).await.0, 201);
    b.admin_get_until("/api/combos", |combos| combos.to_string().contains("fallback")).await;

    // A's 5xx open A's breaker of that model on its account.
    let open_key = open_breaker(&a, "error-500").await;
    let (status, body) = chat_answer(&a, None, "openai/error-500").await;
    assert_eq!((status, &body["error"]["code"]), (503, &json!("circuit_open")), "{body}");

    // B holds it open too, without having called the upstream for it.
    let asked = mock.requests().len();
    within(BREAKER_BOUND, "a breaker opened on A is open on B", async || {
        key_report(&b.admin_get("/api/resilience").await, &open_key)
            .is_some_and(|k| k["state"] == "open" && k["open_source"] == "peer")
    })
    .await;
    let (status, body) = chat_answer(&b, None, "openai/error-500").await;
    assert_eq!((status, &body["error"]["code"]), (503, &json!("circuit_open")), "the local breaker's answer: {body}");
    assert_eq!(mock.requests().len(), asked, "B spares the upstream A found failing");
    assert_eq!(chat(&b, None, "fallback").await, 200, "a combo moves on at once");
    assert_eq!(mock.requests().len(), asked + 1, "only the second leg was asked");

    // An account-scoped refusal on A (a revoked key, 401) is out on B, not rate limited.
    assert_eq!(chat(&a, None, "anthropic/claude-sonnet-4-5").await, 401);
    let limits = a.admin_get("/api/rate-limits").await;
    let out = limits["cooldowns"].as_array().and_then(|all| all.iter().find(|c| c["kind"] == "account_out")).cloned();
    let out = out.unwrap_or_else(|| panic!("A took the account out: {limits}"));
    let account = out["account"].as_str().unwrap().to_owned();
    assert_eq!(out["source"], "local", "{out}");
    within(BREAKER_BOUND, "an account found out on A is out on B", async || {
        let limits = b.admin_get("/api/rate-limits").await;
        limits["cooldowns"].as_array().is_some_and(|all| {
            all.iter().any(|c| c["account"] == account.as_str() && c["kind"] == "account_out" && c["source"] == "peer")
        })
    })
    .await;
    let asked = mock.requests().len();
    let (status, body) = chat_answer(&b, None, "anthropic/claude-sonnet-4-5").await;
    assert_eq!((status, &body["error"]["code"]), (503, &json!("accounts_unavailable")), "not a 429: {body}");
    assert_eq!(mock.requests().len(), asked, "the refused account is not asked from B either");

    // B opens a breaker of its own (another model); A holds it too.
    let b_key = open_breaker(&b, "error-503").await;
    within(BREAKER_BOUND, "a breaker opened on B is open on A", async || {
        key_report(&a.admin_get("/api/resilience").await, &b_key).is_some_and(|k| k["open_source"] == "peer")
    })
    .await;

    // A reset on A (the account, so both models; then every account) releases what B held for
    // A, B forgets the breaker it opened itself, and nothing brings any of them back.
    let openai_account = open_key.split("/model:").next().unwrap().to_owned();
    for reset in [json!({ "key": openai_account }), json!({ "scope": "account" })] {
        let (status, answer) = a.admin_call("POST", "/api/resilience/reset", Some(reset)).await;
        assert_eq!(status, 200, "{answer}");
    }
    within(BREAKER_BOUND, "a reset on A releases B, and B's own breaker", async || {
        let (report, limits) = (b.admin_get("/api/resilience").await, b.admin_get("/api/rate-limits").await);
        [&open_key, &b_key].iter().all(|key| key_report(&report, key).is_none_or(|k| k["state"] == "closed"))
            && limits["cooldowns"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    // Two more exchanges on each side: the cleared rows stay cleared.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for gw in [&a, &b] {
        let report = gw.admin_get("/api/resilience").await;
        for key in [&open_key, &b_key] {
            assert!(key_report(&report, key).is_none_or(|k| k["state"] == "closed"), "{key}: {report}");
        }
        let limits = gw.admin_get("/api/rate-limits").await;
        assert_eq!(limits["cooldowns"], json!([]), "{limits}");
    }
    let asked = mock.requests().len();
    assert_eq!(chat(&b, None, "openai/error-500").await, 500, "B asks the upstream again");
    assert!(mock.requests().len() > asked);
    a.stop().await;
    b.stop().await;
}
