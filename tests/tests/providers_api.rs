//! The provider management API end to end: from an empty database a user adds a provider and an
//! account over HTTP and chats through it; accounts (`/api/providers`), provider nodes and
//! custom/hidden models with their validation (the field named), the SSRF guard on base URLs,
//! config-file rows kept read-only, keys masked everywhere, and who may call what.

use omniroute_tests::gateway::{TestGateway, assert_refused};
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use serde_json::{Value, json};

async fn chat(gw: &TestGateway, model: &str) -> reqwest::Response {
    let body = json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] });
    reqwest::Client::new().post(gw.url("/v1/chat/completions")).json(&body).send().await.unwrap()
}

async fn model_ids(gw: &TestGateway) -> Vec<String> {
    let list: Value = reqwest::Client::new().get(gw.url("/v1/models")).send().await.unwrap().json().await.unwrap();
    list["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_an_empty_database_a_provider_and_account_added_over_http_serve_chat() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start("", &[]).await;
    assert!(gw.server.booted.gateway.snapshot().is_empty());
    let node = json!({ "id": "mock", "format": "openai-chat", "baseUrl": mock.base_url(), "models": ["gpt-mock"] });
    // The mock is on loopback: refused until the operator allows private upstreams.
    let (status, error) = gw.admin_call("POST", "/api/provider-nodes", Some(node.clone())).await;
    assert_eq!((status, error["error"]["param"].clone()), (400, json!("baseUrl")), "{error}");
    assert!(error["error"]["message"].as_str().unwrap().contains("allowPrivateUpstreams"), "{error}");
    gw.allow_private_upstreams().await;

    let (status, created) = gw.admin_call("POST", "/api/provider-nodes", Some(node)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["node"]["effective"]["baseUrl"], mock.base_url());
    assert_eq!(created["node"]["catalogId"], Value::Null);
    let (status, account) = gw
        .admin_call(
            "POST",
            "/api/providers",
            Some(json!({ "provider": "mock", "apiKey": "sk-mock-secret-9876", "name": "main" })),
        )
        .await;
    assert_eq!(status, 201, "{account}");
    assert_eq!(account["connection"]["apiKey"], "****9876");
    assert_eq!(account["connection"]["provider"], "mock");
    assert_eq!(account["connection"]["readOnly"], false);

    let reply = chat(&gw, "mock/gpt-mock").await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.json::<Value>().await.unwrap()["choices"][0]["message"]["content"], MOCK_TEXT);
    assert_eq!(mock.last_request().headers["authorization"], "Bearer sk-mock-secret-9876");
    assert!(model_ids(&gw).await.contains(&"mock/gpt-mock".to_owned()));
    // Its usage is readable by its id (`conn_<hex>`), once the row is flushed.
    let id = account["connection"]["id"].as_str().unwrap().to_owned();
    let usage = gw.admin_get_until(&format!("/api/usage/{id}"), |u| u["totals"]["requests"] == 1).await;
    assert_eq!((usage["provider"].as_str(), usage["configured"].as_bool()), (Some("mock"), Some(true)), "{usage}");
    assert_eq!(usage["totals"]["requests"], 1, "{usage}");

    // A catalog provider by alias: overriding its base URL, then an account, configures it.
    let (status, _) =
        gw.admin_call("POST", "/api/provider-nodes", Some(json!({ "id": "claude", "baseUrl": mock.base_url() }))).await;
    assert_eq!(status, 201);
    let (status, account) = gw
        .admin_call("POST", "/api/providers", Some(json!({ "provider": "claude", "apiKey": "sk-ant-over-http" })))
        .await;
    assert_eq!((status, account["connection"]["provider"].clone()), (201, json!("anthropic")), "{account}");
    assert_eq!(account["connection"]["name"], "account-1");
    let reply = chat(&gw, "anthropic/claude-x").await;
    assert_eq!(reply.status(), 200);
    assert_eq!(mock.last_request().path, "/v1/messages");
    assert_eq!(mock.last_request().headers["x-api-key"], "sk-ant-over-http");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_managed_validated_and_config_rows_stay_read_only() {
    let mock = MockUpstream::start();
    let config = format!(
        "[[providers]]\nid = \"openai\"\nbase_url = \"{}\"\n  [[providers.accounts]]\n  name = \"team\"\n  api_key = \"sk-file-secret-1111\"\n",
        mock.base_url()
    );
    let gw = TestGateway::start(&config, &[]).await;
    let (_, list) = gw.admin_call("GET", "/api/providers", None).await;
    assert_eq!(list["total"], 1, "{list}");
    let team = &list["connections"][0];
    assert_eq!((team["id"].clone(), team["source"].clone()), (json!("openai:team"), json!("config")));
    assert_eq!((team["readOnly"].clone(), team["apiKey"].clone()), (json!(true), json!("****1111")));
    assert_eq!(team["providerName"], "OpenAI");
    for method in ["PUT", "DELETE"] {
        let (status, error) = gw.admin_call(method, "/api/providers/openai:team", Some(json!({ "priority": 3 }))).await;
        assert_eq!(status, 409, "{method}: {error}");
        assert!(error["error"]["message"].as_str().unwrap().contains("config file"), "{error}");
    }

    for (body, field) in [
        (json!({}), "provider"),
        (json!({ "provider": "nope", "apiKey": "k" }), "provider"),
        (json!({ "provider": "groq" }), "apiKey"),
        (json!({ "provider": "groq", "apiKey": "has space" }), "apiKey"),
        (json!({ "provider": "groq", "apiKey": "****abcd" }), "apiKey"),
        (json!({ "provider": "groq", "apiKey": "gsk-1", "priority": 1_000_000_000 }), "priority"),
        (json!({ "provider": "groq", "apiKey": "gsk-1", "name": "" }), "name"),
        (json!({ "provider": "groq", "apiKey": "gsk-1", "isActive": "yes" }), "isActive"),
        (json!({ "provider": "groq", "apiKey": "gsk-1", "colour": "red" }), "colour"),
        (json!({ "provider": "openai", "apiKey": "sk-2", "name": "TEAM" }), "name"),
    ] {
        assert_refused(gw.admin_call("POST", "/api/providers", Some(body.clone())).await, field, &body.to_string());
    }

    // An account of a catalog provider that is not configured yet configures it.
    let body = json!({ "provider": "groq", "apiKey": "gsk-first-key-aaaa", "name": "ci", "priority": 2 });
    let (status, created) = gw.admin_call("POST", "/api/providers", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["connection"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("conn_"), "{id}");
    let (status, node) = gw.admin_call("GET", "/api/provider-nodes/groq", None).await;
    assert_eq!(
        (status, node["node"]["source"].clone(), node["node"]["accounts"].clone()),
        (200, json!("api"), json!(1))
    );

    // Updates: the masked key sent back keeps the key; a new one replaces it.
    let path = format!("/api/providers/{id}");
    let (status, updated) =
        gw.admin_call("PUT", &path, Some(json!({ "apiKey": "****aaaa", "name": "ci-2", "isActive": false }))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["connection"]["apiKey"], "****aaaa");
    assert_eq!(
        (updated["connection"]["name"].clone(), updated["connection"]["isActive"].clone()),
        (json!("ci-2"), json!(false))
    );
    assert_eq!(updated["connection"]["priority"], 2, "fields not sent keep their value");
    let (_, updated) = gw.admin_call("PUT", &path, Some(json!({ "apiKey": "gsk-second-key-bbbb" }))).await;
    assert_eq!(updated["connection"]["apiKey"], "****bbbb");
    assert_refused(
        gw.admin_call("PUT", &path, Some(json!({ "provider": "openai" }))).await,
        "provider",
        "provider is fixed",
    );
    assert_refused(gw.admin_call("PUT", &path, Some(json!({ "priority": -2_000_000 }))).await, "priority", "priority");
    let (_, filtered) = gw.admin_call("GET", "/api/providers?provider=groq", None).await;
    assert_eq!(filtered["total"], 1);
    let (status, one) = gw.admin_call("GET", &path, None).await;
    assert_eq!((status, one["connection"]["id"].clone()), (200, json!(id.clone())));
    let (status, deleted) = gw.admin_call("DELETE", &path, None).await;
    assert_eq!((status, deleted["deleted"].clone()), (200, json!(true)));
    assert_eq!(gw.admin_call("GET", &path, None).await.0, 404);
    assert_eq!(gw.admin_call("PATCH", "/api/providers", Some(json!({}))).await.0, 405);

    // Audited, with who, and never a key in full.
    let log = gw.admin_get("/api/compliance/audit-log?limit=100").await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["connection.create", "connection.update", "connection.delete"] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    let text = log.to_string();
    for secret in ["gsk-first-key-aaaa", "gsk-second-key-bbbb", "sk-file-secret-1111"] {
        assert!(!text.contains(secret), "the audit log shows {secret}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_nodes_are_validated_guarded_against_ssrf_and_mask_secret_headers() {
    let gw =
        TestGateway::start("[[providers]]\nid = \"filed\"\nbase_url = \"https://llm.example.com/v1\"\n", &[]).await;
    for url in [
        "http://127.0.0.1:8000/v1",
        "http://localhost:11434",
        "http://2130706433/v1",
        "http://0177.0.0.1/v1",
        "http://[::1]/v1",
        "http://[::ffff:127.0.0.1]/v1",
        "http://169.254.169.254/latest",
        "http://10.1.2.3/v1",
        "http://[fd00::1]/v1",
        "http://metadata.google.internal/v1",
    ] {
        let body = json!({ "id": "internal", "baseUrl": url });
        assert_refused(gw.admin_call("POST", "/api/provider-nodes", Some(body)).await, "baseUrl", url);
    }
    for (body, field) in [
        (json!({ "baseUrl": "https://a.example.com/v1" }), "id"),
        (json!({ "id": "Bad Id", "baseUrl": "https://a.example.com/v1" }), "id"),
        (json!({ "id": "combo", "baseUrl": "https://a.example.com/v1" }), "id"),
        (json!({ "id": "newco" }), "baseUrl"),
        (json!({ "id": "newco", "baseUrl": "ftp://a.example.com" }), "baseUrl"),
        (json!({ "id": "newco", "baseUrl": "https://user:pw@a.example.com" }), "baseUrl"),
        (json!({ "id": "newco", "baseUrl": "https://a.example.com", "format": "soap" }), "format"),
        (json!({ "id": "newco", "baseUrl": "https://a.example.com", "auth": "magic" }), "auth"),
        (json!({ "id": "newco", "baseUrl": "https://a.example.com", "headers": { "Host": "x" } }), "headers.Host"),
        (json!({ "id": "newco", "baseUrl": "https://a.example.com", "chatPath": "chat" }), "chatPath"),
        (json!({ "id": "newco", "baseUrl": "https://a.example.com", "stickyWindow": 0 }), "stickyWindow"),
        (
            json!({ "id": "newco", "baseUrl": "https://a.example.com", "timeouts": { "connectMs": 0 } }),
            "timeouts.connectMs",
        ),
        (json!({ "id": "newco", "baseUrl": "https://a.example.com", "models": ["ok", "bad model"] }), "models[1]"),
        (json!({ "id": "newco", "baseUrl": "https://a.example.com", "selection": "lottery" }), "selection"),
        (json!({ "id": "newco", "baseUrl": "https://a.example.com", "extra": 1 }), "extra"),
    ] {
        assert_refused(
            gw.admin_call("POST", "/api/provider-nodes", Some(body.clone())).await,
            field,
            &body.to_string(),
        );
    }

    let body = json!({
        "prefix": "newco", "name": "New Co", "format": "anthropic", "baseUrl": "https://llm.newco.example/v1/",
        "auth": "x-api-key", "headers": { "Authorization": "Bearer node-header-secret-7777", "X-Team": "ml" },
        "apiVersion": "2024-10-21", "selection": "round-robin", "stickyWindow": 3, "timeouts": { "firstByteMs": 9000 }
    });
    let (status, created) = gw.admin_call("POST", "/api/provider-nodes", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let node = &created["node"];
    assert_eq!(node["baseUrl"], "https://llm.newco.example/v1", "trailing slash trimmed");
    assert_eq!(node["headers"], json!({ "Authorization": "****7777", "X-Team": "ml" }));
    assert_eq!((node["format"].clone(), node["auth"].clone()), (json!("anthropic"), json!("x-api-key")));
    assert_eq!(node["effective"]["chatPath"], "/messages");
    assert_eq!(node["timeouts"]["firstByteMs"], 9000);
    assert_eq!(
        gw.admin_call("POST", "/api/provider-nodes", Some(json!({ "id": "newco", "baseUrl": "https://b.example" })))
            .await
            .0,
        409
    );

    // The masked header sent back keeps its value; null clears an override.
    let put = json!({ "headers": { "Authorization": "****7777" }, "apiVersion": null, "isActive": false });
    let (status, updated) = gw.admin_call("PUT", "/api/provider-nodes/newco", Some(put)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["node"]["headers"], json!({ "Authorization": "****7777" }));
    assert_eq!(
        (updated["node"]["apiVersion"].clone(), updated["node"]["isActive"].clone()),
        (Value::Null, json!(false))
    );
    let stored = gw.server.booted.gateway.ports.config.load().await.unwrap();
    let newco = stored.providers.iter().find(|p| p.id == "newco").unwrap();
    assert_eq!(newco.headers["Authorization"], "Bearer node-header-secret-7777");
    assert_refused(
        gw.admin_call("PUT", "/api/provider-nodes/newco", Some(json!({ "baseUrl": null }))).await,
        "baseUrl",
        "custom",
    );
    assert_refused(
        gw.admin_call("PUT", "/api/provider-nodes/newco", Some(json!({ "id": "other" }))).await,
        "id",
        "rename",
    );

    // A catalog override goes back to the catalog's URL with null.
    let (_, groq) = gw
        .admin_call("POST", "/api/provider-nodes", Some(json!({ "id": "groq", "baseUrl": "https://groq.example/v1" })))
        .await;
    assert_eq!(groq["node"]["catalogId"], "groq");
    let (_, groq) = gw.admin_call("PUT", "/api/provider-nodes/groq", Some(json!({ "baseUrl": null }))).await;
    assert_eq!(groq["node"]["effective"]["baseUrl"], "https://api.groq.com/openai/v1");

    // Config-file nodes are listed, read-only.
    let (_, list) = gw.admin_call("GET", "/api/provider-nodes", None).await;
    let filed = list["nodes"].as_array().unwrap().iter().find(|n| n["id"] == "filed").unwrap().clone();
    assert_eq!((filed["source"].clone(), filed["readOnly"].clone()), (json!("config"), json!(true)));
    assert_eq!(gw.admin_call("PUT", "/api/provider-nodes/filed", Some(json!({ "isActive": false }))).await.0, 409);
    assert_eq!(gw.admin_call("DELETE", "/api/provider-nodes/filed", None).await.0, 409);

    // Deleting a node takes its accounts.
    let (status, _) =
        gw.admin_call("POST", "/api/providers", Some(json!({ "provider": "newco", "apiKey": "k-newco-1" }))).await;
    assert_eq!(status, 201);
    let (status, deleted) = gw.admin_call("DELETE", "/api/provider-nodes/newco", None).await;
    assert_eq!((status, deleted["accounts"].clone()), (200, json!(1)), "{deleted}");
    let (_, accounts) = gw.admin_call("GET", "/api/providers?provider=newco", None).await;
    assert_eq!(accounts["total"], 0);
    assert_eq!(gw.admin_call("GET", "/api/provider-nodes/newco", None).await.0, 404);
    let log = gw.admin_get("/api/compliance/audit-log?limit=100").await.to_string();
    assert!(log.contains("provider.create") && log.contains("provider.delete"));
    assert!(!log.contains("node-header-secret-7777"), "the audit log shows a header secret");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_models_are_listed_and_hidden_models_leave_every_list_but_still_route() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start("", &[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &mock.base_url())]).await;
    let add = json!({ "provider": "oai", "modelId": "ft:gpt-mock:acme", "name": "Acme tune", "contextWindow": 8192 });
    let (status, added) = gw.admin_call("POST", "/api/provider-models", Some(add.clone())).await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(
        (added["model"]["provider"].clone(), added["model"]["contextWindow"].clone()),
        (json!("openai"), json!(8192))
    );
    assert!(model_ids(&gw).await.contains(&"openai/ft:gpt-mock:acme".to_owned()));
    assert_eq!(chat(&gw, "ft:gpt-mock:acme").await.status(), 200, "a custom model routes by its bare name");
    assert_eq!(gw.admin_call("POST", "/api/provider-models", Some(add)).await.0, 409);
    let duplicate = json!({ "provider": "openai", "modelId": "gpt-4o-mini" });
    assert_eq!(gw.admin_call("POST", "/api/provider-models", Some(duplicate)).await.0, 409, "a catalog model exists");

    // Hide a catalog model: gone from every list and from bare names, still reachable by prefix.
    let hide = json!({ "provider": "openai", "modelIds": ["gpt-4o-mini"], "isHidden": true });
    let (status, hidden) = gw.admin_call("PATCH", "/api/provider-models", Some(hide)).await;
    assert_eq!((status, hidden["hidden"].clone()), (200, json!(["gpt-4o-mini"])), "{hidden}");
    assert!(!model_ids(&gw).await.contains(&"openai/gpt-4o-mini".to_owned()));
    let http = reqwest::Client::new();
    for path in ["/api/tags", "/v1beta/models", "/v1/providers/openai/models"] {
        let text = http.get(gw.url(path)).send().await.unwrap().text().await.unwrap();
        assert!(!text.contains("openai/gpt-4o-mini\""), "{path} lists a hidden model");
    }
    assert_eq!(chat(&gw, "openai/gpt-4o-mini").await.status(), 200, "provider/model still routes");
    assert_eq!(chat(&gw, "gpt-4o-mini").await.status(), 400, "a hidden model has no bare name");
    let (_, listed) = gw.admin_call("GET", "/api/provider-models?provider=openai", None).await;
    assert_eq!(listed["hiddenModelsByProvider"], json!({ "openai": ["gpt-4o-mini"] }));
    let entry = listed["allModels"].as_array().unwrap().iter().find(|m| m["id"] == "gpt-4o-mini").unwrap().clone();
    assert_eq!((entry["source"].clone(), entry["isHidden"].clone()), (json!("catalog"), json!(true)));
    assert_eq!(listed["models"][0]["id"], "ft:gpt-mock:acme");

    // Show it again, the seed's way (query parameters).
    let (status, _) = gw
        .admin_call(
            "PATCH",
            "/api/provider-models?provider=openai&modelId=gpt-4o-mini",
            Some(json!({ "isHidden": false })),
        )
        .await;
    assert_eq!(status, 200);
    assert!(model_ids(&gw).await.contains(&"openai/gpt-4o-mini".to_owned()));

    for (body, field) in [
        (json!({ "provider": "openai", "modelIds": ["no-such-model"], "isHidden": true }), "modelIds[0]"),
        (json!({ "provider": "openai", "modelIds": ["gpt-4o-mini"] }), "isHidden"),
        (json!({ "provider": "openai", "isHidden": true }), "modelIds"),
        (json!({ "modelIds": ["gpt-4o-mini"], "isHidden": true }), "provider"),
        (json!({ "provider": "nope", "modelIds": ["x"], "isHidden": true }), "provider"),
    ] {
        assert_refused(
            gw.admin_call("PATCH", "/api/provider-models", Some(body.clone())).await,
            field,
            &body.to_string(),
        );
    }
    for (body, field) in [
        (json!({ "provider": "openai" }), "modelId"),
        (json!({ "provider": "openai", "modelId": "has space" }), "modelId"),
        (json!({ "provider": "openai", "modelId": "m", "contextWindow": 0 }), "contextWindow"),
        (json!({ "provider": "openai", "modelId": "m", "price": 1 }), "price"),
    ] {
        assert_refused(
            gw.admin_call("POST", "/api/provider-models", Some(body.clone())).await,
            field,
            &body.to_string(),
        );
    }
    assert_refused(gw.admin_call("DELETE", "/api/provider-models?provider=openai", None).await, "model", "no model");
    assert_refused(gw.admin_call("GET", "/api/provider-models?provider=nope", None).await, "provider", "unknown");
    assert_eq!(gw.admin_call("DELETE", "/api/provider-models?provider=openai&model=gpt-4o-mini", None).await.0, 404);
    let (status, _) =
        gw.admin_call("DELETE", "/api/provider-models?provider=openai&model=ft%3Agpt-mock%3Aacme", None).await;
    assert_eq!(status, 200);
    assert!(!model_ids(&gw).await.contains(&"openai/ft:gpt-mock:acme".to_owned()));
    let log = gw.admin_get("/api/compliance/audit-log?limit=100").await.to_string();
    for action in ["model.create", "model.hide", "model.show", "model.delete"] {
        assert!(log.contains(action), "{action} missing");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_endpoints_need_an_admin() {
    let gw = TestGateway::start("", &[("GROQ_API_KEY", "gsk-env")]).await;
    let (_, user) = gw.admin_call("POST", "/api/keys", Some(json!({ "name": "app" }))).await;
    let user_key = user["key"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/api/providers"),
        ("POST", "/api/providers"),
        ("GET", "/api/providers/groq:env"),
        ("PUT", "/api/providers/groq:env"),
        ("DELETE", "/api/providers/groq:env"),
        ("POST", "/api/providers/groq:env/test"),
        ("GET", "/api/providers/groq:env/models"),
        ("POST", "/api/providers/validate"),
        ("GET", "/api/provider-nodes"),
        ("POST", "/api/provider-nodes"),
        ("GET", "/api/provider-nodes/groq"),
        ("PUT", "/api/provider-nodes/groq"),
        ("DELETE", "/api/provider-nodes/groq"),
        ("GET", "/api/provider-models"),
        ("POST", "/api/provider-models"),
        ("PATCH", "/api/provider-models"),
        ("DELETE", "/api/provider-models"),
        ("GET", "/api/settings/proxy"),
        ("PUT", "/api/settings/proxy"),
        ("POST", "/api/settings/proxy/test"),
    ] {
        let request = || http.request(method.parse().unwrap(), gw.url(path)).header("content-type", "application/json");
        let anonymous = request().body("{}").send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{method} {path}");
        let as_user = request().bearer_auth(&user_key).body("{}").send().await.unwrap();
        assert_eq!(as_user.status(), 403, "{method} {path} with a user key");
        assert_eq!(as_user.json::<Value>().await.unwrap()["error"]["type"], "permission_error");
    }
    gw.stop().await;
}
