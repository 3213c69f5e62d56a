//! Model discovery through the real server: a provider with no `models` of its own lists what
//! its upstream's model list names, in all four list formats, routes those names bare, keeps
//! them in the store across a restart with the upstream down, refreshes on
//! `POST /api/providers/{id}/sync-models` and periodically, and keeps the cached list (logging
//! why) when the upstream answers with something unusable.

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::log_capture::LogCapture;
use omniroute_tests::mock_upstream::{MockUpstream, ModelList};
use serde_json::{Value, json};

fn logs() -> &'static LogCapture {
    static LOGS: OnceLock<LogCapture> = OnceLock::new();
    LOGS.get_or_init(|| LogCapture::install(tracing::Level::INFO))
}

fn list(ids: &[&str]) -> ModelList {
    ModelList::Models(ids.iter().map(|id| (*id).to_owned()).collect())
}

/// A custom OpenAI-compatible provider `id` in front of `base_url` with one account and no
/// `models`.
fn custom(id: &str, base_url: &str) -> String {
    format!(
        "[[providers]]\nid = \"{id}\"\nbase_url = \"{base_url}\"\n  [[providers.accounts]]\n  api_key = \"sk-discovery-secret-4242\"\n"
    )
}

async fn get(gw: &TestGateway, path: &str) -> Value {
    reqwest::get(gw.url(path)).await.unwrap().json().await.unwrap()
}

/// The ids of `GET /v1/models`.
async fn openai_ids(gw: &TestGateway) -> Vec<String> {
    get(gw, "/v1/models").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `GET /v1/models` until `done` holds for its ids (discovery runs in the background), at
/// most five seconds; the last ids.
async fn ids_until(gw: &TestGateway, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut ids = openai_ids(gw).await;
    for _ in 0..50 {
        if done(&ids) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        ids = openai_ids(gw).await;
    }
    ids
}

fn has(ids: &[String], id: &str) -> bool {
    ids.iter().any(|i| i == id)
}

async fn chat(gw: &TestGateway, model: &str) -> reqwest::Response {
    let body = json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] });
    reqwest::Client::new().post(gw.url("/v1/chat/completions")).json(&body).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_provider_without_models_lists_and_routes_what_its_upstream_serves() {
    logs();
    let mock = MockUpstream::start();
    mock.set_model_list(list(&["disc-alpha", "disc-beta"]));
    let gw = TestGateway::start(&custom("local", &mock.base_url()), &[]).await;
    let ids = ids_until(&gw, |ids| has(ids, "local/disc-beta")).await;
    assert!(has(&ids, "local/disc-alpha") && has(&ids, "local/disc-beta"), "{ids:?}");

    // All four list formats.
    let entry = get(&gw, "/v1/models").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "local/disc-alpha")
        .cloned();
    assert_eq!(entry.unwrap()["owned_by"], "local");
    let gemini = get(&gw, "/v1beta/models").await.to_string();
    assert!(
        gemini.contains("\"models/local/disc-alpha\"") && gemini.contains("\"models/local/disc-beta\""),
        "{gemini}"
    );
    let tags = get(&gw, "/api/tags").await.to_string();
    assert!(tags.contains("\"local/disc-alpha\"") && tags.contains("\"local/disc-beta\""), "{tags}");
    let own = get(&gw, "/v1/providers/local/models").await;
    let own: Vec<&str> = own["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(own, ["local/disc-alpha", "local/disc-beta"]);

    // A bare name only discovery knows routes to the provider, as the upstream's name.
    let response = chat(&gw, "disc-alpha").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-omniroute-provider"], "local");
    assert_eq!(mock.last_request().json()["model"], "disc-alpha");

    // Management listings say where each model comes from.
    let (status, listed) = gw.admin_call("GET", "/api/provider-models?provider=local", None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["allModels"],
        json!([
            { "id": "disc-alpha", "source": "discovered", "isHidden": false },
            { "id": "disc-beta", "source": "discovered", "isHidden": false },
        ])
    );

    let catalog = gw.admin_get("/api/models/catalog").await;
    let alpha = catalog["catalog"]["local"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "local/disc-alpha")
        .cloned();
    let alpha = alpha.unwrap();
    assert_eq!((alpha["discovered"].clone(), alpha["custom"].clone()), (json!(true), json!(false)), "{alpha}");

    // A hidden discovered model leaves every list and bare names, and stays hidden after a sync.
    let hide = json!({ "provider": "local", "modelIds": ["disc-beta"], "isHidden": true });
    assert_eq!(gw.admin_call("PATCH", "/api/provider-models", Some(hide)).await.0, 200);
    for path in ["/v1/models", "/v1beta/models", "/api/tags", "/v1/providers/local/models"] {
        assert!(!get(&gw, path).await.to_string().contains("disc-beta"), "{path} lists a hidden model");
    }
    assert_eq!(chat(&gw, "disc-beta").await.status(), 400, "a hidden model has no bare name");

    // The sync endpoint refreshes: one model added, one gone.
    mock.set_model_list(list(&["disc-alpha", "disc-beta", "disc-gamma"]));
    let (status, report) = gw.admin_call("POST", "/api/providers/local/sync-models", None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["ok"].clone(), report["syncedModels"].clone()), (json!(true), json!(3)));
    assert_eq!(report["modelChanges"], json!({ "added": 1, "removed": 0, "total": 1 }));
    assert_eq!(report["connectionId"], "local:account-1", "{report}");
    let ids = openai_ids(&gw).await;
    assert!(has(&ids, "local/disc-gamma") && !has(&ids, "local/disc-beta"), "hidden stays hidden: {ids:?}");
    mock.set_model_list(list(&["disc-gamma"]));
    let (_, report) = gw.admin_call("POST", "/api/providers/local/sync-models", None).await;
    assert_eq!(report["modelChanges"], json!({ "added": 0, "removed": 2, "total": 2 }), "{report}");
    let ids = openai_ids(&gw).await;
    assert!(has(&ids, "local/disc-gamma") && !has(&ids, "local/disc-alpha"), "{ids:?}");
    assert_eq!(chat(&gw, "disc-alpha").await.status(), 400, "a model the upstream stopped listing has no bare name");
    let audit = gw.admin_call("GET", "/api/compliance/audit-log", None).await.1.to_string();
    assert!(audit.contains("provider.models.sync"), "a sync that changed the list is audited: {audit}");

    // Unusable answers keep the cached list, answer 502 with the reason, and are logged.
    for (answer, reason) in [(ModelList::Html(200), "no known shape"), (ModelList::Error(401), "upstream_auth_error")] {
        mock.set_model_list(answer);
        let (status, error) = gw.admin_call("POST", "/api/providers/local/sync-models", None).await;
        assert_eq!(status, 502, "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason) && message.contains("cached list is kept"), "{message}");
        assert!(!error.to_string().contains("sk-discovery-secret"), "{error}");
        assert_eq!(openai_ids(&gw).await.iter().filter(|id| id.starts_with("local/")).count(), 1);
        let line = logs()
            .text()
            .lines()
            .find(|l| l.contains("model discovery") && l.contains("provider=local") && l.contains(reason))
            .map(str::to_owned);
        assert!(line.is_some(), "the failure is logged with its reason: {}", logs().text());
    }
    assert!(!logs().text().contains("sk-discovery-secret"), "the key never reaches the log");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_the_upstream_down_still_lists_the_discovered_models() {
    logs();
    let mock = MockUpstream::start();
    mock.set_model_list(list(&["kept-model"]));
    let first = TestGateway::start(&custom("keeper", &mock.base_url()), &[]).await;
    assert!(has(&ids_until(&first, |ids| has(ids, "keeper/kept-model")).await, "keeper/kept-model"));
    let data_dir = first.stop().await;

    // Same provider, its upstream now refusing connections.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = custom("keeper", &format!("http://127.0.0.1:{dead}/v1"));
    let dir = data_dir.path().to_path_buf();
    let second = TestGateway::start_with(&config, &[], |s| s.data_dir = dir).await;
    let (status, error) = second.admin_call("POST", "/api/providers/keeper/sync-models", None).await;
    assert_eq!(status, 502, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("network_error"), "{error}");
    let ids = openai_ids(&second).await;
    assert!(has(&ids, "keeper/kept-model"), "the stored list survives: {ids:?}");
    assert!(get(&second, "/api/tags").await.to_string().contains("\"keeper/kept-model\""));
    // Bare names still pick the provider: its upstream is asked (and is down), where an unknown
    // name would be refused with a 400.
    let response = chat(&second, "kept-model").await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("keeper"), "{body}");
    second.stop().await;
    drop(data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_wire_formats_model_list_is_discovered_and_refreshed_periodically() {
    logs();
    let mock = MockUpstream::start();
    mock.set_model_list(list(&["wire-one"]));
    let gw = TestGateway::with_every_format_adjusted(&mock, "", |s| {
        s.model_discovery_every = Some(Duration::from_millis(300));
    })
    .await;
    let expected =
        ["openai/wire-one", "anthropic/wire-one", "gemini/wire-one", "ollama/wire-one:latest", "responses/wire-one"];
    let ids = ids_until(&gw, |ids| expected.iter().all(|e| has(ids, e))).await;
    for id in expected {
        assert!(has(&ids, id), "{id} missing: {ids:?}");
    }
    // Catalog models stay beside the discovered ones.
    assert!(ids.iter().any(|id| id.starts_with("anthropic/claude")), "{ids:?}");
    let (_, listed) = gw.admin_call("GET", "/api/provider-models?provider=openai", None).await;
    let sources: Vec<(&str, &str)> = listed["allModels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap(), m["source"].as_str().unwrap()))
        .collect();
    assert!(
        sources.contains(&("wire-one", "discovered")) && sources.contains(&("gpt-4o-mini", "catalog")),
        "{sources:?}"
    );

    // No sync call: the periodic round picks up the upstream's new list.
    mock.set_model_list(list(&["wire-two"]));
    let moved = expected.map(|id| id.replace("wire-one", "wire-two"));
    let ids =
        ids_until(&gw, |ids| moved.iter().all(|m| has(ids, m)) && !ids.iter().any(|id| id.contains("wire-one"))).await;
    assert!(
        has(&ids, "gemini/wire-two") && has(&ids, "anthropic/wire-two") && !has(&ids, "openai/wire-one"),
        "{ids:?}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_names_its_own_models_is_not_discovered() {
    logs();
    let mock = MockUpstream::start();
    mock.set_model_list(list(&["not-wanted"]));
    let config = format!(
        "[[providers]]\nid = \"pinned\"\nbase_url = \"{}\"\nmodels = [\"pinned-model\"]\n  [[providers.accounts]]\n  api_key = \"sk-x\"\n",
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let (status, error) = gw.admin_call("POST", "/api/providers/pinned/sync-models", None).await;
    assert_eq!(status, 409, "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("names its own models"), "{error}");
    let ids = openai_ids(&gw).await;
    assert_eq!(ids.iter().filter(|id| id.starts_with("pinned/")).collect::<Vec<_>>(), ["pinned/pinned-model"]);
    assert_eq!(gw.admin_call("POST", "/api/providers/nobody/sync-models", None).await.0, 404);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_added_over_the_api_lists_its_models_without_a_sync() {
    let mock = MockUpstream::start();
    mock.set_model_list(list(&["api-added-model"]));
    let gw = TestGateway::start("", &[]).await;
    gw.allow_private_upstreams().await;
    let node = json!({ "id": "added", "baseUrl": mock.base_url() });
    assert_eq!(gw.admin_call("POST", "/api/provider-nodes", Some(node)).await.0, 201);
    let account = json!({ "provider": "added", "apiKey": "sk-added-0123456789", "name": "main" });
    let (status, body) = gw.admin_call("POST", "/api/providers", Some(account)).await;
    assert_eq!(status, 201, "{body}");
    let ids = ids_until(&gw, |ids| has(ids, "added/api-added-model")).await;
    assert!(has(&ids, "added/api-added-model"), "discovered within seconds of being added: {ids:?}");
    assert_eq!(chat(&gw, "api-added-model").await.status(), 200, "and routed by its bare name");
    gw.stop().await;
}
