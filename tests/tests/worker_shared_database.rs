//! The Worker as a real deployment: under `wrangler dev`, on the same sqld as a self-hosted
//! server, it keeps what the management API is told and shares it. A key created on the Worker
//! works on the server and one created on the server works on the Worker (each within the
//! catch-up bound), usage rows the Worker records land in the one database (written through
//! `waitUntil`), a revocation holds on the Worker, and after the Worker restarts (a new isolate:
//! what a redeploy does) its keys are still there.

use std::time::{Duration, Instant};

use omniroute_tests::eventually::within;
use omniroute_tests::gateway::{TEST_ADMIN_PASSWORD, TestGateway, login};
use omniroute_tests::mock_upstream::MockUpstream;
use omniroute_tests::sqld::Sqld;
use omniroute_tests::tools::free_port;
use omniroute_tests::wrangler::Wrangler;
use serde_json::{Value, json};

/// A change made elsewhere applies within the catch-up period (1 s on the Worker, the refresh
/// interval of 1 s on the server) plus a reload; room for a loaded machine.
const CONFIG_BOUND: Duration = Duration::from_secs(4);
const SECRET: &str = "one secret for every instance";

/// The Worker under `wrangler dev`, its base URL and an admin session cookie.
struct Worker {
    wrangler: Wrangler,
    base: String,
    cookie: String,
}

impl Worker {
    async fn start(vars: &[(&str, &str)]) -> Worker {
        let port = free_port();
        let mut wrangler = Wrangler::start(port, vars);
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        wrangler.wait_ready(&format!("{base}/health")).await;
        eprintln!("wrangler dev ready after {:.1?}", started.elapsed());
        let cookie = login(&base, TEST_ADMIN_PASSWORD).await;
        Worker { wrangler, base, cookie }
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("cookie", &self.cookie);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }
}

async fn chat(base: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_and_a_server_on_one_sqld_share_keys_and_usage_and_the_worker_keeps_them_across_restarts() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let upstream = mock.base_url();
    let shared = [
        ("OMNIROUTE_DATABASE_URL", sqld.url.as_str()),
        ("OMNIROUTE_SECRET", SECRET),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", upstream.as_str()),
        ("REQUIRE_API_KEY", "true"),
    ];
    let server = TestGateway::start("", &shared).await;
    let mut vars = shared.to_vec();
    vars.push(("INITIAL_PASSWORD", TEST_ADMIN_PASSWORD));
    let worker = Worker::start(&vars).await;

    let (status, health) = worker.admin("GET", "/api/monitoring/health", None).await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["storage"], "libsql-remote", "{health}");

    // A key created on the Worker is stored, so the server honours it.
    let (status, created) = worker.admin("POST", "/api/keys", Some(json!({"name": "from-the-worker"}))).await;
    assert_eq!(status, 201, "{created}");
    let worker_key = created["key"].as_str().unwrap().to_owned();
    assert_eq!(chat(&worker.base, &worker_key).await, 200, "the Worker knows its own key at once");
    within(CONFIG_BOUND, "a key created on the Worker works on the server", async || {
        chat(&server.url(""), &worker_key).await == 200
    })
    .await;

    // And the other way: a key created on the server works on the Worker.
    let (status, created) = server.admin_call("POST", "/api/keys", Some(json!({"name": "from-the-server"}))).await;
    assert_eq!(status, 201, "{created}");
    let server_key = created["key"].as_str().unwrap().to_owned();
    let server_key_id = created["apiKey"]["id"].as_str().unwrap().to_owned();
    within(CONFIG_BOUND, "a key created on the server works on the Worker", async || {
        chat(&worker.base, &server_key).await == 200
    })
    .await;

    // The Worker's usage rows reach the database (through waitUntil): the server reads them.
    let logs =
        server.admin_get_until(&format!("/api/usage/logs?keyId={server_key_id}"), |page| page["total"] == 1).await;
    assert_eq!(logs["total"], 1, "the Worker's request is in the shared usage rows: {logs}");
    assert_eq!(logs["logs"][0]["status"], 200, "{logs}");

    // A revocation on the server is honoured on the Worker.
    let (status, _) = server.admin_call("POST", &format!("/api/keys/{server_key_id}/revoke"), None).await;
    assert_eq!(status, 200);
    within(CONFIG_BOUND, "a key revoked on the server is refused on the Worker", async || {
        chat(&worker.base, &server_key).await == 401
    })
    .await;

    // A restart is a new isolate with nothing in memory: the Worker's key is still there.
    let Worker { mut wrangler, .. } = worker;
    assert!(wrangler.stop().await.is_empty(), "wrangler left processes behind");
    let worker = Worker::start(&vars).await;
    let (status, keys) = worker.admin("GET", "/api/keys", None).await;
    assert_eq!(status, 200, "{keys}");
    let names: Vec<&str> = keys["keys"].as_array().unwrap().iter().filter_map(|k| k["name"].as_str()).collect();
    assert!(names.contains(&"from-the-worker") && names.contains(&"from-the-server"), "{keys}");
    assert_eq!(chat(&worker.base, &worker_key).await, 200, "the key created before the restart still works");
    assert_eq!(chat(&worker.base, &server_key).await, 401, "the revocation too");

    let Worker { mut wrangler, .. } = worker;
    assert!(wrangler.stop().await.is_empty(), "wrangler left processes behind");
    server.stop().await;
}
