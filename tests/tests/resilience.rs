//! Routing and resilience end to end: combos that survive a dead and a rate-limited provider
//! with the state visible over the API, strategies spreading load, aliases and defaults,
//! provider-scoped routes, sticky sessions, fault injection and a flapping upstream under load.

use std::collections::HashMap;
use std::net::TcpListener;

use futures_util::future::join_all;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use serde_json::{Value, json};

fn chat(model: &str) -> String {
    json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] }).to_string()
}

async fn post(url: &str, body: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(url).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(body.to_owned()).send().await.unwrap()
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

/// A port where nothing listens (connection refused).
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A port that accepts connections and closes them at once (reset before any byte).
fn resetting_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    port
}

fn provider(id: &str, base_url: &str, key: &str) -> String {
    format!(
        "[[providers]]\nid = \"{id}\"\nformat = \"openai-chat\"\nbase_url = \"{base_url}\"\n  [[providers.accounts]]\n  api_key = \"{key}\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_combo_keeps_answering_with_one_provider_dead_and_another_rate_limited() {
    let mock = MockUpstream::start();
    // It accepts and hangs up before any byte: the endpoint's failure, not the account's.
    let dead_origin = format!("http://127.0.0.1:{}", dead_port());
    let dead = format!("{dead_origin}/v1");
    let dead_key = format!("endpoint:{dead_origin}");
    let config = format!(
        "[resilience]\nfailure_threshold = 2\nwindow_ms = 60000\nopen_ms = 60000\n[resilience.endpoint]\nfailure_threshold = 2\nopen_ms = 60000\n\n{}{}{}\n[[combos]]\nname = \"trio\"\nstrategy = \"priority\"\ntargets = [\"dead/m\", \"limited/error-429\", \"good/gpt-mock\"]\n",
        provider("dead", &dead, "k-dead"),
        provider("limited", &mock.base_url(), "k-limited"),
        provider("good", &mock.base_url(), "k-good"),
    );
    let gw = TestGateway::start(&config, &[]).await;

    // The first request tries all three in order and is answered by the third.
    let response = post(&gw.url("/v1/chat/completions"), &chat("trio"), &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-omniroute-provider"], "good");
    assert_eq!(response.headers()["x-omniroute-attempts"], "3");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], MOCK_TEXT);

    // The rate-limited account cools down (the upstream said retry-after: 1) and is visible.
    let limits = gw.admin_get("/api/rate-limits").await;
    let cooling: Vec<&str> =
        limits["cooldowns"].as_array().unwrap().iter().map(|c| c["account"].as_str().unwrap()).collect();
    assert!(cooling.iter().any(|a| a.starts_with("limited")), "{limits}");

    // A second failure opens the dead endpoint's breaker; after that it is skipped.
    let response = post(&gw.url("/v1/chat/completions"), &chat("trio"), &[]).await;
    assert_eq!(response.status(), 200);
    let report = gw.admin_get("/api/resilience").await;
    let dead = report["keys"].as_array().unwrap().iter().find(|k| k["key"] == dead_key).unwrap();
    assert_eq!(dead["state"], "open", "{report}");
    let response = post(&gw.url("/v1/chat/completions"), &chat("trio"), &[]).await;
    assert_eq!(response.status(), 200);
    let report = gw.admin_get("/api/resilience").await;
    let dead = report["keys"].as_array().unwrap().iter().find(|k| k["key"] == dead_key).unwrap();
    assert_eq!(dead["failures_in_window"], 2, "an open breaker keeps the dead endpoint from being called: {report}");

    // Availability says which targets can serve now.
    let availability =
        post(&gw.url("/api/models/availability"), r#"{"model":"trio"}"#, &[("cookie", &gw.admin_cookie)])
            .await
            .json::<Value>()
            .await
            .unwrap();
    assert_eq!(availability["available"], true);
    let target = |name: &str| availability["targets"].as_array().unwrap().iter().find(|t| t["target"] == name).cloned();
    assert_eq!(target("dead/m").unwrap()["available"], false, "{availability}");
    assert_eq!(target("good/gpt-mock").unwrap()["available"], true, "{availability}");

    // An operator can reset the breaker.
    let reset = json!({ "key": dead_key }).to_string();
    let reset = post(&gw.url("/api/resilience/reset"), &reset, &[("cookie", &gw.admin_cookie)]).await;
    assert_eq!(reset.status(), 200, "{}", reset.text().await.unwrap());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_account_cools_down_the_gateway_fails_fast_with_retry_after() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&provider("limited", &mock.base_url(), "k"), &[]).await;
    let first = post(&gw.url("/v1/chat/completions"), &chat("limited/error-429"), &[]).await;
    assert_eq!(first.status(), 429);
    let calls = mock.requests().len();
    // Issue 16: the 429 cools that model of the account, so the same model fails fast.
    let second = post(&gw.url("/v1/chat/completions"), &chat("limited/error-429"), &[]).await;
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "1");
    assert_eq!(mock.requests().len(), calls, "a cooling model of the account is not called");
    // Once the cooldown has passed, it is called again.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let third = post(&gw.url("/v1/chat/completions"), &chat("limited/error-429"), &[]).await;
    assert_eq!(third.status(), 429);
    assert_eq!(mock.requests().len(), calls + 1, "after its cooldown the model is asked again");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strategies_spread_requests_and_sessions_stick() {
    let mock = MockUpstream::start();
    let config = format!(
        "{}{}[[combos]]\nname = \"rr\"\nstrategy = \"round-robin\"\ntargets = [\"a/gpt-mock\", \"b/gpt-mock\"]\n\n[[combos]]\nname = \"heavy\"\nstrategy = \"weighted\"\ntargets = [\"a/gpt-mock\", \"b/gpt-mock\"]\nweights = [3, 1]\n",
        provider("a", &mock.base_url(), "key-a"),
        provider("b", &mock.base_url(), "key-b"),
    );
    let gw = TestGateway::start(&config, &[]).await;
    let served_by = |mock: &MockUpstream, from: usize| -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for request in &mock.requests()[from..] {
            let key = request.headers["authorization"].to_str().unwrap().to_owned();
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
    };
    for _ in 0..20 {
        assert_eq!(post(&gw.url("/v1/chat/completions"), &chat("rr"), &[]).await.status(), 200);
    }
    let counts = served_by(&mock, 0);
    assert_eq!((counts["Bearer key-a"], counts["Bearer key-b"]), (10, 10), "round-robin is exactly even");

    let start = mock.requests().len();
    for _ in 0..400 {
        assert_eq!(post(&gw.url("/v1/chat/completions"), &chat("heavy"), &[]).await.status(), 200);
    }
    let counts = served_by(&mock, start);
    let a = counts.get("Bearer key-a").copied().unwrap_or(0);
    assert!((255..=345).contains(&a), "weighted 3:1 over 400 requests gave {a} to a");

    // A session sticks to the target that served it, and is listed.
    let start = mock.requests().len();
    for _ in 0..6 {
        let response = post(&gw.url("/v1/chat/completions"), &chat("rr"), &[("x-session-id", "conv-42")]).await;
        assert_eq!(response.headers()["x-omniroute-session-id"], "conv-42");
    }
    assert_eq!(served_by(&mock, start).len(), 1, "one session, one upstream");
    let sessions = gw.admin_get("/api/sessions").await;
    assert_eq!(sessions["sessions"][0]["id"], "conv-42");
    assert_eq!(sessions["sessions"][0]["requests"], 6);
    gw.stop().await;
}

#[tokio::test]
async fn aliases_default_model_and_provider_routes() {
    let mock = MockUpstream::start();
    let config = format!(
        "[routing]\ndefault_model = \"good/gpt-mock\"\n\n[[aliases]]\npattern = \"gpt-4*\"\ntarget = \"good/gpt-mock\"\n\n{}[[combos]]\nname = \"solo\"\ntargets = [\"good/gpt-mock\"]\n",
        provider("good", &mock.base_url(), "k")
    );
    let gw = TestGateway::start(&config, &[]).await;
    for model in ["gpt-4o-mini", "some-unknown-model", "combo/solo", "solo"] {
        let response = post(&gw.url("/v1/chat/completions"), &chat(model), &[]).await;
        assert_eq!(response.status(), 200, "{model}");
        assert_eq!(mock.last_request().json()["model"], "gpt-mock", "{model}");
    }
    // Provider routes add the prefix, and refuse another provider's.
    let url = gw.url("/v1/providers/good/chat/completions");
    assert_eq!(post(&url, &chat("gpt-mock"), &[]).await.status(), 200);
    assert_eq!(post(&url, &chat("good/gpt-mock"), &[]).await.status(), 200);
    let mismatch = post(&gw.url("/v1/providers/good/chat/completions"), &chat("openai/gpt-4o"), &[]).await;
    assert_eq!(mismatch.status(), 400);
    let unknown = post(&gw.url("/v1/providers/nope/chat/completions"), &chat("x"), &[]).await;
    assert_eq!(unknown.status(), 400);
    // The model list shows combos beside models.
    let models = get_json(&gw.url("/v1/models")).await;
    assert!(
        models["data"].as_array().unwrap().iter().any(|m| m["id"] == "solo" && m["owned_by"] == "combo"),
        "{models}"
    );
    gw.stop().await;
}

#[tokio::test]
async fn faults_are_absorbed_or_reported_with_every_attempt() {
    let mock = MockUpstream::start();
    let config = format!(
        "[timeouts]\nfirst_byte_ms = 400\ntotal_ms = 400\n\n{}{}{}{}[[combos]]\nname = \"mixed\"\ntargets = [\"broken/error-500\", \"refused/m\", \"reset/m\", \"good/gpt-mock\"]\n\n[[combos]]\nname = \"hopeless\"\ntargets = [\"refused/m\", \"reset/m\", \"good/slow-3000\"]\n",
        provider("broken", &mock.base_url(), "k"),
        provider("refused", &format!("http://127.0.0.1:{}/v1", dead_port()), "k"),
        provider("reset", &format!("http://127.0.0.1:{}/v1", resetting_port()), "k"),
        provider("good", &mock.base_url(), "k"),
    );
    let gw = TestGateway::start(&config, &[]).await;
    // 500, connection refused and a reset before the first byte all fall through to the answer.
    for stream in [false, true] {
        let body = json!({ "model": "mixed", "stream": stream, "messages": [] }).to_string();
        let response = post(&gw.url("/v1/chat/completions"), &body, &[]).await;
        assert_eq!(response.status(), 200, "stream={stream}");
        assert_eq!(response.headers()["x-omniroute-attempts"], "4");
        assert!(response.text().await.unwrap().contains("Hello"), "stream={stream}");
    }
    // Nothing answers: a clear error that lists what was tried, within the timeouts.
    let started = std::time::Instant::now();
    let response = post(&gw.url("/v1/chat/completions"), &chat("hopeless"), &[]).await;
    assert_eq!(response.status(), 504);
    assert!(started.elapsed() < std::time::Duration::from_millis(2500), "{:?}", started.elapsed());
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    for target in ["refused/m", "reset/m", "good/slow-3000"] {
        assert!(message.contains(target), "{message}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_upstream_under_load_loses_no_request_and_answers_none_twice() {
    let mock = MockUpstream::start();
    // Breakers out of the way for this one: the flapping target keeps being tried.
    let config = format!(
        "[resilience]\nfailure_threshold = 100000\n\n{}{}[[combos]]\nname = \"pair\"\nstrategy = \"round-robin\"\ntargets = [\"flappy/flaky\", \"steady/gpt-mock\"]\n",
        provider("flappy", &mock.base_url(), "key-flappy"),
        provider("steady", &mock.base_url(), "key-steady"),
    );
    let gw = TestGateway::start(&config, &[]).await;
    let http = reqwest::Client::new();
    let url = gw.url("/v1/chat/completions");
    let results = join_all((0..200).map(|i| {
        let request = http.post(&url).header("content-type", "application/json").body(chat("pair"));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (i, status, body)
        }
    }))
    .await;
    for (i, status, body) in &results {
        assert_eq!(*status, 200, "request {i}: {body}");
        assert_eq!(body["choices"][0]["message"]["content"], MOCK_TEXT, "request {i}");
    }
    // Round-robin puts every other first pick on the flapping target; it fails half of its
    // calls, and each of those falls back to the steady one: 50 + 150 upstream successes for
    // 200 requests, so none was lost and none answered twice.
    let requests = mock.requests();
    let steady = requests.iter().filter(|r| r.headers["authorization"] == "Bearer key-steady").count();
    let flaky = requests.len() - steady;
    assert_eq!(flaky, 100, "round-robin sends every other request to the flapping target first");
    assert_eq!(steady, 100 + 50, "the flapping target's 50 failures fell back to the steady one");
    gw.stop().await;
}

#[tokio::test]
async fn a_request_may_pin_an_account_or_wait_for_a_cooling_one() {
    let mock = MockUpstream::start();
    let config = format!(
        "[[providers]]\nid = \"duo\"\nformat = \"openai-chat\"\nbase_url = \"{}\"\n  [[providers.accounts]]\n  name = \"first\"\n  api_key = \"key-1\"\n  [[providers.accounts]]\n  name = \"second\"\n  api_key = \"key-2\"\n",
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let url = gw.url("/v1/chat/completions");
    let pinned = post(&url, &chat("duo/gpt-mock"), &[("x-omniroute-connection", "duo:second")]).await;
    assert_eq!(pinned.status(), 200);
    assert_eq!(mock.last_request().headers["authorization"], "Bearer key-2");
    let wrong = post(&url, &chat("duo/gpt-mock"), &[("x-omniroute-connection", "other:x")]).await;
    assert_eq!(wrong.status(), 400);

    // Both accounts rate-limited (retry-after: 1): a request that may wait gets its answer.
    for account in ["duo:first", "duo:second"] {
        let limited = post(&url, &chat("duo/error-429"), &[("x-omniroute-connection", account)]).await;
        assert_eq!(limited.status(), 429);
    }
    // Issue 16: the cooldown is that model's on each account; other models still answer.
    assert_eq!(post(&url, &chat("duo/gpt-mock"), &[]).await.status(), 200, "another model is not held off");
    let calls = mock.requests().len();
    assert_eq!(post(&url, &chat("duo/error-429"), &[]).await.status(), 429, "no waiting by default");
    assert_eq!(mock.requests().len(), calls, "answered at once, the upstream not asked");
    let started = std::time::Instant::now();
    let waited = post(&url, &chat("duo/error-429"), &[("x-omniroute-max-wait-ms", "3000")]).await;
    assert_eq!(waited.status(), 429, "the upstream's own answer after the wait");
    assert!(mock.requests().len() > calls, "asked once the cooldown passed");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300), "it waited for the cooldown");
    gw.stop().await;
}
