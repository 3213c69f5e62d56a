//! Stored responses (the Responses API's `store`) end to end: the official `openai` SDK runs tool
//! loops that continue by `item_reference` and by `previous_response_id` against mock upstreams
//! of all five provider formats, with two gateway keys that cannot see each other's responses;
//! the wire shapes of the stored-response endpoints; `noLog` keys, `store: false` and a
//! retention of 0 keep nothing; the anonymous scope; and stored responses outlive a restart.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_SIGNATURE, MOCK_TEXT, MOCK_THINKING, MockUpstream, Recorded};
use omniroute_tests::sdk::run_sdk_script_with_env;
use serde_json::{Value, json};

const PROVIDERS: [&str; 5] = ["openai", "responses", "anthropic", "gemini", "ollama"];

/// Creates a gateway API key; its secret.
async fn create_key(gw: &TestGateway, body: Value) -> String {
    let response = gw.admin().post(gw.url("/api/keys")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    created["key"].as_str().unwrap().to_owned()
}

/// Whether an upstream request carries a tool's result, in any format.
fn carries_tool_result(request: &Recorded) -> bool {
    let body = String::from_utf8_lossy(&request.body);
    ["function_call_output", "tool_result", "functionResponse", "\"role\":\"tool\""].iter().any(|m| body.contains(m))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sdk_tool_loops_continue_from_stored_responses_on_every_provider_format() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let key_a = create_key(&gw, json!({ "name": "a" })).await;
    let key_b = create_key(&gw, json!({ "name": "b" })).await;
    for provider in PROVIDERS {
        let before = mock.requests().len();
        let (base, a, b) = (gw.url("/v1"), key_a.clone(), key_b.clone());
        let summary = tokio::task::spawn_blocking(move || {
            let env = [("STORED_KEY_A", a.as_str()), ("STORED_KEY_B", b.as_str())];
            run_sdk_script_with_env("openai_sdk_stored.py", &base, provider, &env)
        })
        .await
        .unwrap();
        eprintln!("stored responses → {provider}: {summary}");
        // Every turn that answered a tool call reached the provider with the reasoning of the turn
        // before (resolved from the store: the client sent it by reference or not at all).
        let continued: Vec<Recorded> =
            mock.requests()[before..].iter().filter(|r| carries_tool_result(r)).cloned().collect();
        assert!(continued.len() >= 3, "{provider}: the loops' later turns reached the provider: {}", continued.len());
        for request in &continued {
            let body = String::from_utf8_lossy(&request.body);
            assert!(
                body.contains(MOCK_THINKING) || body.contains(MOCK_SIGNATURE),
                "{provider}: the reasoning went back to the provider: {body}"
            );
            assert!(body.contains("temperature_c"), "{provider}: the tool's result went to the provider: {body}");
        }
        let last = continued.last().unwrap().json().to_string();
        assert!(!last.contains("previous_response_id") && !last.contains("item_reference"), "{provider}: {last}");
    }
    gw.stop().await;
}

/// `POST /v1/responses` with `key` (none: anonymous): the status and the JSON answer.
async fn create(gw: &TestGateway, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(gw.url("/v1/responses")).json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// `method path` with `key`: the status and the JSON answer.
async fn call(gw: &TestGateway, method: &str, path: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method.parse().unwrap(), gw.url(path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn ask(model: &str, text: &str) -> Value {
    json!({ "model": model, "input": text })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoints_answer_in_openais_shapes_and_scopes_hold() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let key = create_key(&gw, json!({ "name": "a" })).await;
    let quiet = create_key(&gw, json!({ "name": "quiet", "noLog": true })).await;

    let (status, made) = create(&gw, Some(&key), ask("anthropic/gpt-mock", "hello")).await;
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("resp_"), "a response id even from Anthropic: {id}");
    let (status, got) = call(&gw, "GET", &format!("/v1/responses/{id}"), Some(&key)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (got["id"].as_str(), got["object"].as_str(), got["store"].as_bool()),
        (Some(id.as_str()), Some("response"), Some(true))
    );
    assert_eq!(got["output"], made["output"], "the output as the client got it");
    assert_eq!(call(&gw, "GET", &format!("/responses/{id}"), Some(&key)).await.0, 200, "the short spelling");

    // Not found, in OpenAI's shape: missing, anonymous, or another scope.
    let (status, missing) = call(&gw, "GET", "/v1/responses/resp_nope", Some(&key)).await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["message"], "Response with id 'resp_nope' not found.");
    assert_eq!(missing["error"]["type"], "invalid_request_error");
    assert_eq!(call(&gw, "GET", &format!("/v1/responses/{id}"), None).await.0, 404, "anonymous is its own scope");
    assert_eq!(call(&gw, "POST", &format!("/v1/responses/{id}"), Some(&key)).await.0, 405);

    // The anonymous scope is shared by requests without a key, and only by them.
    let (status, open) = create(&gw, None, ask("openai/gpt-mock", "hi")).await;
    assert_eq!(status, 200, "{open}");
    let open_id = open["id"].as_str().unwrap();
    assert_eq!(call(&gw, "GET", &format!("/v1/responses/{open_id}"), None).await.0, 200);
    assert_eq!(call(&gw, "GET", &format!("/v1/responses/{open_id}"), Some(&key)).await.0, 404);

    // input_items: bad queries are 400s in OpenAI's shape.
    let (status, page) =
        call(&gw, "GET", &format!("/v1/responses/{id}/input_items?order=asc&limit=5"), Some(&key)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["object"], "list");
    assert_eq!(page["data"][0]["content"][0]["text"], "hello");
    assert_eq!(page["first_id"], page["data"][0]["id"]);
    let (status, bad) = call(&gw, "GET", &format!("/v1/responses/{id}/input_items?limit=500"), Some(&key)).await;
    assert_eq!((status, bad["error"]["type"].as_str()), (400, Some("invalid_request_error")));

    // A `noLog` key never stores; nor does `store: false`; nor a retention of 0.
    let (_, unlogged) = create(&gw, Some(&quiet), ask("openai/gpt-mock", "secret")).await;
    assert_eq!(
        call(&gw, "GET", &format!("/v1/responses/{}", unlogged["id"].as_str().unwrap()), Some(&quiet)).await.0,
        404
    );
    let mut unstored = ask("gemini/gpt-mock", "hi");
    unstored["store"] = json!(false);
    let (_, unstored) = create(&gw, Some(&key), unstored).await;
    assert_eq!(
        call(&gw, "GET", &format!("/v1/responses/{}", unstored["id"].as_str().unwrap()), Some(&key)).await.0,
        404
    );
    let (status, settings) =
        gw.admin_call("PATCH", "/api/settings/usage", Some(json!({ "responsesRetentionDays": 0 }))).await;
    assert_eq!((status, settings["responsesRetentionDays"].as_u64()), (200, Some(0)), "{settings}");
    let (_, off) = create(&gw, Some(&key), ask("ollama/gpt-mock", "hi")).await;
    assert_eq!(call(&gw, "GET", &format!("/v1/responses/{}", off["id"].as_str().unwrap()), Some(&key)).await.0, 404);
    let refused = gw.admin_call("PATCH", "/api/settings/usage", Some(json!({ "responsesRetentionDays": 4000 }))).await;
    assert_eq!((refused.0, refused.1["error"]["param"].as_str()), (400, Some("responsesRetentionDays")));

    // Continuing a response that is gone: 400 with OpenAI's code; an unknown reference: 404.
    let mut continuing = ask("openai/gpt-mock", "more");
    continuing["previous_response_id"] = json!("resp_gone");
    let (status, err) = create(&gw, Some(&key), continuing).await;
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("previous_response_not_found")), "{err}");
    let referencing = json!({ "model": "openai/gpt-mock", "input": [{ "type": "item_reference", "id": "rs_gone" }] });
    let (status, err) = create(&gw, Some(&key), referencing).await;
    assert_eq!((status, err["error"]["message"].as_str()), (404, Some("Item with id 'rs_gone' not found.")), "{err}");

    let (status, deleted) = call(&gw, "DELETE", &format!("/v1/responses/{id}"), Some(&key)).await;
    assert_eq!((status, deleted), (200, json!({ "id": id, "object": "response", "deleted": true })));
    assert_eq!(call(&gw, "DELETE", &format!("/v1/responses/{id}"), Some(&key)).await.0, 404);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_responses_survive_a_restart_of_the_server() {
    let mock = MockUpstream::start();
    let env = [("OPENAI_API_KEY", "sk-test".to_owned()), ("OPENAI_BASE_URL", mock.base_url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let gw = TestGateway::start("", &env).await;
    let key = create_key(&gw, json!({ "name": "a" })).await;
    let (status, first) = create(&gw, Some(&key), ask("openai/think-tools", "weather?")).await;
    assert_eq!(status, 200, "{first}");
    let id = first["id"].as_str().unwrap().to_owned();
    let data = gw.stop().await;

    // A new server on the same data folder (the same libSQL file).
    let dir = data.path().to_path_buf();
    let gw = TestGateway::start_with("", &env, move |settings| settings.data_dir = dir).await;
    let (status, got) = call(&gw, "GET", &format!("/v1/responses/{id}"), Some(&key)).await;
    assert_eq!((status, &got["output"]), (200, &first["output"]), "{got}");
    let call_id =
        first["output"].as_array().unwrap().iter().find(|i| i["type"] == "function_call").unwrap()["call_id"].clone();
    let next = json!({
        "model": "openai/think-tools", "previous_response_id": id,
        "input": [{ "type": "function_call_output", "call_id": call_id, "output": "{\"temperature_c\":21}" }],
    });
    let (status, next) = create(&gw, Some(&key), next).await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["output"][0]["content"][0]["text"], MOCK_TEXT, "continued after the restart");
    let sent = mock.last_request().json();
    assert_eq!(sent["messages"][1]["reasoning_content"], MOCK_THINKING, "the stored reasoning went back: {sent}");
    gw.stop().await;
    drop(data);
}
