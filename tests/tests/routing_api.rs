//! The routing config over HTTP: aliases, combos (CRUD, rename, test) and the model catalog.
//! From an empty database a user builds aliases and combos and chats through them; every
//! invalid field is a 400 naming it; the config file's rows are read-only; nobody without the
//! right credential gets in.

use omniroute_tests::gateway::{TestGateway, provider_env};
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use serde_json::{Value, json};

/// Providers from env vars only: no config file, nothing routed yet.
async fn empty_gateway(mock: &MockUpstream) -> TestGateway {
    let env = provider_env(mock);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestGateway::start("", &env).await
}

async fn send(gw: &TestGateway, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = gw.admin().request(method.parse().unwrap(), gw.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_and_combos_built_over_http_serve_chat() {
    let mock = MockUpstream::start();
    let gw = empty_gateway(&mock).await;
    assert_eq!(send(&gw, "GET", "/api/combos", None).await, (200, json!({"combos": [], "total": 0})));
    assert_eq!(send(&gw, "GET", "/api/models/alias", None).await.1["list"], json!([]));
    assert_eq!(gw.chat("fast").await.0, 400, "nothing is called `fast` yet");

    let (status, combo) = send(
        &gw,
        "POST",
        "/api/combos",
        Some(json!({"name": "fast", "models": ["openai/error-503", {"model": "anthropic/claude-mock", "weight": 2}],
                    "config": {"retries": 0}})),
    )
    .await;
    assert_eq!(status, 201, "{combo}");
    assert_eq!(combo["id"], "fast");
    assert_eq!(combo["strategy"], "priority");
    assert_eq!(
        combo["models"],
        json!([{"model": "openai/error-503", "weight": 1}, {"model": "anthropic/claude-mock", "weight": 2}])
    );
    assert_eq!(combo["source"], "api");
    let (status, alias) =
        send(&gw, "POST", "/api/models/alias", Some(json!({"alias": "gpt-4*", "model": "combo/fast"}))).await;
    assert_eq!((status, alias["source"].clone()), (201, json!("api")));
    let (status, _) =
        send(&gw, "PUT", "/api/models/alias", Some(json!({"alias": "smart", "model": "gemini/gemini-mock"}))).await;
    assert_eq!(status, 201);

    // The combo falls back past the failing target; the glob alias reaches the combo.
    for model in ["fast", "combo/fast", "gpt-4-turbo"] {
        let (status, answer) = gw.chat(model).await;
        assert_eq!(status, 200, "{model}: {answer}");
        assert_eq!(answer["choices"][0]["message"]["content"], MOCK_TEXT);
        let upstream = mock.last_request();
        assert_eq!((upstream.path.as_str(), upstream.json()["model"].clone()), ("/v1/messages", json!("claude-mock")));
    }
    assert_eq!(gw.chat("smart").await.0, 200);
    assert!(mock.last_request().path.starts_with("/v1beta/models/gemini-mock:generateContent"));

    // Replace, patch, rename, list.
    let (status, replaced) =
        send(&gw, "PUT", "/api/models/alias", Some(json!({"alias": "smart", "model": "openai/gpt-mock"}))).await;
    assert_eq!((status, replaced["model"].clone()), (200, json!("openai/gpt-mock")));
    assert_eq!(gw.chat("smart").await.0, 200);
    assert_eq!(mock.last_request().path, "/v1/chat/completions");
    let (status, patched) =
        send(&gw, "PATCH", "/api/combos/fast", Some(json!({"strategy": "weighted", "config": {"retryDelayMs": 5}})))
            .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!((patched["strategy"].clone(), patched["config"]["retryDelayMs"].clone()), (json!("weighted"), json!(5)));
    assert_eq!(patched["models"].as_array().unwrap().len(), 2, "a PATCH keeps what it does not name");
    let (status, body) =
        send(&gw, "PUT", "/api/combos/fast", Some(json!({"name": "quick", "models": ["anthropic/claude-mock"]}))).await;
    assert_eq!(status, 400, "the alias still names `fast`: {body}");
    assert_eq!(body["error"]["param"], "name");
    let (status, _) =
        send(&gw, "PUT", "/api/models/alias", Some(json!({"alias": "gpt-4*", "model": "openai/gpt-mock"}))).await;
    assert_eq!(status, 200);
    let (status, renamed) =
        send(&gw, "PUT", "/api/combos/fast", Some(json!({"name": "quick", "models": ["anthropic/claude-mock"]}))).await;
    assert_eq!((status, renamed["id"].clone(), renamed["strategy"].clone()), (200, json!("quick"), json!("priority")));
    assert_eq!(send(&gw, "GET", "/api/combos/fast", None).await.0, 404);
    assert_eq!(gw.chat("quick").await.0, 200);
    let (_, aliases) = send(&gw, "GET", "/api/models/alias", None).await;
    assert_eq!(aliases["aliases"], json!({"gpt-4*": "openai/gpt-mock", "smart": "openai/gpt-mock"}));

    // A combo still named elsewhere cannot go; then it can.
    send(&gw, "POST", "/api/combos", Some(json!({"name": "outer", "models": ["quick"]}))).await;
    let (status, body) = send(&gw, "DELETE", "/api/combos/quick", None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(send(&gw, "DELETE", "/api/combos/outer", None).await, (200, json!({"deleted": true, "id": "outer"})));
    assert_eq!(send(&gw, "DELETE", "/api/combos/quick", None).await.0, 200);
    assert_eq!(send(&gw, "DELETE", "/api/models/alias?alias=gpt-4%2A", None).await.0, 200);
    assert_eq!(
        send(&gw, "DELETE", "/api/models/alias/smart", None).await,
        (200, json!({"deleted": true, "alias": "smart"}))
    );
    assert_eq!(send(&gw, "DELETE", "/api/models/alias/smart", None).await.0, 404);
    assert_eq!(gw.chat("quick").await.0, 400);

    // Every write is in the audit log, with who did it.
    let (_, log) = send(&gw, "GET", "/api/compliance/audit-log?limit=50", None).await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for action in
        ["combo.create", "alias.create", "alias.update", "combo.update", "combo.rename", "combo.delete", "alias.delete"]
    {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_combo_test_tries_every_target_and_reports_each() {
    let mock = MockUpstream::start();
    let gw = empty_gateway(&mock).await;
    send(&gw, "POST", "/api/combos", Some(json!({"name": "inner", "models": ["openai/error-500", "openai/gpt-mock"]})))
        .await;
    let (status, _) =
        send(&gw, "POST", "/api/combos", Some(json!({"name": "outer", "models": ["inner", "anthropic/claude-mock"]})))
            .await;
    assert_eq!(status, 201);
    let before = mock.requests().len();
    let (status, report) = send(&gw, "POST", "/api/combos/outer/test", None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["comboName"], "outer");
    let results = report["results"].as_array().unwrap();
    let models: Vec<&str> = results.iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(
        models,
        ["openai/error-500", "openai/gpt-mock", "anthropic/claude-mock"],
        "nested combos expand in order"
    );
    assert_eq!((results[0]["status"].clone(), results[0]["statusCode"].clone()), (json!("error"), json!(500)));
    assert!(results[0]["error"].as_str().is_some_and(|e| !e.is_empty()), "{report}");
    for ok in &results[1..] {
        assert_eq!(
            (ok["status"].clone(), ok["statusCode"].clone(), ok["error"].clone()),
            (json!("ok"), json!(200), Value::Null)
        );
        assert!(ok["latencyMs"].is_u64());
    }
    assert_eq!(results[2]["provider"], "anthropic");
    assert_eq!(report["resolvedBy"], "openai/gpt-mock");
    assert_eq!(mock.requests().len() - before, 3, "one real request per target (the cache is bypassed)");
    assert_eq!(send(&gw, "POST", "/api/combos/nope/test", None).await.0, 404);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_fields_are_400s_that_name_them() {
    let mock = MockUpstream::start();
    let gw = empty_gateway(&mock).await;
    send(&gw, "POST", "/api/combos", Some(json!({"name": "a", "models": ["openai/gpt-mock"]}))).await;
    send(&gw, "POST", "/api/combos", Some(json!({"name": "b", "models": ["a"]}))).await;
    let cases = [
        ("POST", "/api/models/alias", json!({"alias": "x"}), "model"),
        ("POST", "/api/models/alias", json!({"alias": "a b", "model": "openai/gpt-mock"}), "alias"),
        ("POST", "/api/models/alias", json!({"alias": "x", "model": "nope/model"}), "model"),
        ("POST", "/api/models/alias", json!({"alias": "x", "model": "combo/missing"}), "model"),
        ("POST", "/api/models/alias", json!({"alias": "a", "model": "openai/gpt-mock"}), "alias"),
        ("POST", "/api/models/alias", json!({"alias": "x", "model": "openai/m", "extra": 1}), "extra"),
        ("POST", "/api/combos", json!({"models": ["openai/gpt-mock"]}), "name"),
        ("POST", "/api/combos", json!({"name": "Bad Name", "models": ["openai/gpt-mock"]}), "name"),
        ("POST", "/api/combos", json!({"name": "openai", "models": ["openai/gpt-mock"]}), "name"),
        ("POST", "/api/combos", json!({"name": "c", "models": []}), "models"),
        ("POST", "/api/combos", json!({"name": "c", "models": ["openai/gpt-mock", "nope/x"]}), "models[1]"),
        ("POST", "/api/combos", json!({"name": "c", "models": ["c"]}), "models[0]"),
        ("POST", "/api/combos", json!({"name": "c", "models": ["openai/m"], "strategy": "bogus"}), "strategy"),
        (
            "POST",
            "/api/combos",
            json!({"name": "c", "models": ["openai/m"], "config": {"retries": 11}}),
            "config.retries",
        ),
        ("POST", "/api/combos", json!({"name": "c", "models": ["openai/m"], "config": {"idleMs": 0}}), "config.idleMs"),
        (
            "POST",
            "/api/combos",
            json!({"name": "c", "models": [{"model": "openai/m", "weight": 0}], "strategy": "weighted"}),
            "models",
        ),
        ("PUT", "/api/combos/a", json!({"models": ["b"]}), "models"),
        ("PATCH", "/api/combos/a", json!({"config": {"retries": "many"}}), "config.retries"),
        ("DELETE", "/api/models/alias", Value::Null, "alias"),
    ];
    for (method, path, body, param) in cases {
        let (status, answer) = send(&gw, method, path, (!body.is_null()).then_some(body.clone())).await;
        assert_eq!(status, 400, "{method} {path} {body}: {answer}");
        assert_eq!(answer["error"]["param"], param, "{method} {path} {body}: {answer}");
    }
    let (status, answer) = send(&gw, "PUT", "/api/combos/a", Some(json!({"models": ["b"]}))).await;
    assert!(answer["error"]["message"].as_str().unwrap().contains("cycle"), "{status} {answer}");
    assert_eq!(send(&gw, "POST", "/api/combos", Some(json!({"name": "a", "models": ["openai/m"]}))).await.0, 409);
    assert_eq!(send(&gw, "GET", "/api/combos/missing", None).await.0, 404);
    assert_eq!(send(&gw, "DELETE", "/api/combos", None).await.0, 405);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_files_rows_are_read_only() {
    let mock = MockUpstream::start();
    let config = format!(
        "[[providers]]\nid = \"openai\"\nbase_url = \"{}\"\n  [[providers.accounts]]\n  api_key = \"sk-test\"\n\
         [[aliases]]\npattern = \"file-alias\"\ntarget = \"openai/gpt-mock\"\n\
         [[combos]]\nname = \"file-combo\"\ntargets = [\"openai/gpt-mock\"]\n",
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let (_, aliases) = send(&gw, "GET", "/api/models/alias", None).await;
    assert_eq!(aliases["list"], json!([{"alias": "file-alias", "model": "openai/gpt-mock", "source": "config"}]));
    let (_, combo) = send(&gw, "GET", "/api/combos/file-combo", None).await;
    assert_eq!(combo["source"], "config");
    for (method, path, body) in [
        ("PUT", "/api/models/alias", Some(json!({"alias": "file-alias", "model": "openai/other"}))),
        ("DELETE", "/api/models/alias/file-alias", None),
        ("PUT", "/api/combos/file-combo", Some(json!({"models": ["openai/other"]}))),
        ("PATCH", "/api/combos/file-combo", Some(json!({"strategy": "random"}))),
        ("DELETE", "/api/combos/file-combo", None),
    ] {
        let (status, answer) = send(&gw, method, path, body).await;
        assert_eq!(status, 409, "{method} {path}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("config file"), "{answer}");
    }
    // What the API adds lives beside them.
    assert_eq!(send(&gw, "POST", "/api/combos", Some(json!({"name": "mine", "models": ["file-combo"]}))).await.0, 201);
    gw.stop().await;
}

/// One vocabulary: the file's `targets` and the API's `models` name a combo's list in both
/// places; answers keep saying `models`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_combos_list_is_targets_or_models_in_the_file_and_over_the_api() {
    let mock = MockUpstream::start();
    let config = format!(
        "[[providers]]\nid = \"openai\"\nbase_url = \"{}\"\n  [[providers.accounts]]\n  api_key = \"sk-test\"\n\
         [[combos]]\nname = \"from-file\"\nmodels = [\"openai/error-503\", \"openai/gpt-mock\"]\n",
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let (status, combo) = send(&gw, "GET", "/api/combos/from-file", None).await;
    assert_eq!(status, 200, "{combo}");
    assert_eq!(
        combo["models"],
        json!([{"model": "openai/error-503", "weight": 1}, {"model": "openai/gpt-mock", "weight": 1}])
    );
    assert_eq!(gw.chat("from-file").await.0, 200, "the file's `models` list is routed");

    let body = json!({"name": "api", "targets": ["openai/gpt-mock", {"model": "from-file", "weight": 2}]});
    let (status, created) = send(&gw, "POST", "/api/combos", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["models"],
        json!([{"model": "openai/gpt-mock", "weight": 1}, {"model": "from-file", "weight": 2}])
    );
    assert!(created.get("targets").is_none(), "answers say `models`: {created}");
    assert_eq!(gw.chat("api").await.0, 200);
    let (status, patched) = send(&gw, "PATCH", "/api/combos/api", Some(json!({"targets": ["from-file"]}))).await;
    assert_eq!((status, patched["models"].clone()), (200, json!([{"model": "from-file", "weight": 1}])), "{patched}");
    let (status, replaced) = send(&gw, "PUT", "/api/combos/api", Some(json!({"targets": ["openai/gpt-mock"]}))).await;
    assert_eq!((status, replaced["models"][0]["model"].clone()), (200, json!("openai/gpt-mock")), "{replaced}");
    for (method, body) in [
        ("POST", json!({"name": "c", "targets": []})),
        ("POST", json!({"name": "c", "targets": ["nope/x"], "models": ["openai/gpt-mock"]})),
        ("PATCH", json!({"targets": [], "models": []})),
    ] {
        let path = if method == "POST" { "/api/combos" } else { "/api/combos/api" };
        let (status, answer) = send(&gw, method, path, Some(body.clone())).await;
        assert_eq!((status, answer["error"]["param"].clone()), (400, json!("models")), "{body}: {answer}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_lists_every_provider_with_prices_and_the_combos() {
    let mock = MockUpstream::start();
    let config = format!(
        "[[providers]]\nid = \"mycorp\"\nformat = \"openai-chat\"\nbase_url = \"{}\"\nmodels = [\"llama-3\"]\n  [[providers.accounts]]\n  api_key = \"k\"\n\
         [[combos]]\nname = \"fast\"\ntargets = [\"mycorp/llama-3\"]\n",
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[("OPENAI_API_KEY", "sk-test")]).await;
    let (status, catalog) = send(&gw, "GET", "/api/models/catalog", None).await;
    assert_eq!(status, 200);
    let openai = &catalog["catalog"]["openai"];
    assert_eq!(
        (openai["configured"].clone(), openai["active"].clone(), openai["format"].clone()),
        (json!(true), json!(true), json!("openai-chat"))
    );
    let gpt5 =
        openai["models"].as_array().unwrap().iter().find(|m| m["id"] == "openai/gpt-5").expect("a catalog model");
    assert_eq!(gpt5["type"], "chat");
    assert_eq!(gpt5["custom"], false);
    assert!(gpt5["pricing"]["input"].as_f64().is_some_and(|p| p > 0.0), "{gpt5}");
    assert!(gpt5["capabilities"].as_array().unwrap().contains(&json!("tools")));
    assert!(gpt5["contextLength"].as_u64().is_some());
    let groq = &catalog["catalog"]["groq"];
    assert_eq!((groq["configured"].clone(), groq["active"].clone()), (json!(false), json!(false)));
    assert_eq!(
        catalog["catalog"]["mycorp"]["models"],
        json!([{"id": "mycorp/llama-3", "name": "llama-3", "type": "chat", "custom": true, "discovered": false, "contextLength": null,
                "maxOutput": null, "capabilities": [], "pricing": null}])
    );
    assert_eq!(
        catalog["combos"],
        json!([{"id": "fast", "type": "combo", "strategy": "priority", "models": ["mycorp/llama-3"]}])
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_get_401_and_user_keys_403() {
    let mock = MockUpstream::start();
    let gw = empty_gateway(&mock).await;
    let (_, created) = send(&gw, "POST", "/api/keys", Some(json!({"name": "app"}))).await;
    let user_key = created["key"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/api/models/alias"),
        ("POST", "/api/models/alias"),
        ("DELETE", "/api/models/alias/x"),
        ("GET", "/api/models/catalog"),
        ("GET", "/api/combos"),
        ("POST", "/api/combos"),
        ("GET", "/api/combos/x"),
        ("PUT", "/api/combos/x"),
        ("PATCH", "/api/combos/x"),
        ("DELETE", "/api/combos/x"),
        ("POST", "/api/combos/x/test"),
    ] {
        let request = || {
            http.request(method.parse().unwrap(), gw.url(path)).header("content-type", "application/json").body("{}")
        };
        assert_eq!(request().send().await.unwrap().status(), 401, "{method} {path}");
        assert_eq!(request().bearer_auth(&user_key).send().await.unwrap().status(), 403, "{method} {path}");
    }
    gw.stop().await;
}
