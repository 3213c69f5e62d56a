//! Budgets end to end: a key with a tiny budget is served until its spend reaches the limit,
//! warned on the way, then refused with a 402 in each client's own error format without the
//! upstream being called; the spend survives a restart (read back from the usage rows, as the
//! keys' last use is); removing the budget lets the key in again.

use omniroute_tests::clients::Client;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::MockUpstream;
use serde_json::{Value, json};

async fn create_key(gw: &TestGateway, name: &str) -> (String, String) {
    let response = gw.admin().post(gw.url("/api/keys")).json(&json!({ "name": name })).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    (created["key"].as_str().unwrap().to_owned(), created["apiKey"]["id"].as_str().unwrap().to_owned())
}

/// A chat in `client`'s format with `key`, in whichever header that format authenticates with.
async fn chat(gw: &TestGateway, client: Client, key: &str) -> (u16, http::HeaderMap, String) {
    let http = reqwest::Client::new();
    let model = match client {
        Client::Gemini => "gemini/gpt-4o-mini",
        _ => "openai/gpt-4o-mini",
    };
    let mut request = client.request(&http, &gw.base_url(), model, false).build().unwrap();
    let headers = request.headers_mut();
    headers.remove("x-api-key");
    headers.remove("x-goog-api-key");
    let auth = match client {
        Client::Anthropic => ("x-api-key", key.to_owned()),
        Client::Gemini => ("x-goog-api-key", key.to_owned()),
        _ => ("authorization", format!("Bearer {key}")),
    };
    headers.insert(auth.0, auth.1.parse().unwrap());
    let response = http.execute(request).await.unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

async fn get(gw: &TestGateway, path: &str) -> Value {
    gw.admin_get(path).await
}

async fn set_budget(gw: &TestGateway, body: Value) -> (u16, Value) {
    let response = gw.admin().post(gw.url("/api/usage/budget")).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_budget_holds_at_its_boundary_in_every_format_and_across_a_restart() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let (key, id) = create_key(&gw, "tiny").await;
    let (free_key, _) = create_key(&gw, "free").await;

    // The first answer's cost, exactly as recorded: the budget is two of them.
    let (status, headers, _) = chat(&gw, Client::OpenaiChat, &key).await;
    assert_eq!(status, 200);
    assert!(headers.get("x-omniroute-budget-warning").is_none(), "no budget yet");
    let logs = gw.admin_get_until(&format!("/api/usage/logs?keyId={id}"), |page| page["total"] == 1).await;
    let one = logs["logs"][0]["costUsd"].as_f64().unwrap();
    assert!(one > 0.0, "the catalog prices gpt-4o-mini");
    let (status, budget) =
        set_budget(&gw, json!({ "keyId": id, "limit": 2.0 * one, "period": "daily", "warnAt": 0.5 })).await;
    assert_eq!(status, 200, "{budget}");
    assert_eq!((budget["spent"].as_f64(), budget["remaining"].as_f64()), (Some(one), Some(one)), "{budget}");
    assert_eq!((budget["warning"].as_bool(), budget["exceeded"].as_bool()), (Some(true), Some(false)));
    assert_eq!((budget["period"].as_str(), budget["warnAt"].as_f64()), (Some("daily"), Some(0.5)));

    // The second request reaches the limit exactly: served, with the warning.
    let (status, headers, _) = chat(&gw, Client::OpenaiChat, &key).await;
    assert_eq!(status, 200);
    let warning = headers["x-omniroute-budget-warning"].to_str().unwrap();
    assert!(warning.starts_with("used=100%; ") && warning.ends_with("period=daily"), "{warning}");

    // Spent == limit: refused in each client's format, before any upstream call.
    let calls = mock.requests().len();
    for client in Client::ALL {
        let (status, _, body) = chat(&gw, client, &key).await;
        client.check_error(status, 402, &body).unwrap_or_else(|e| panic!("{}: {e}", client.name()));
        assert!(body.contains("budget"), "{}: {body}", client.name());
    }
    let (_, _, body) = chat(&gw, Client::OpenaiChat, &key).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "budget_exceeded", "{body}");
    let (_, _, body) = chat(&gw, Client::Anthropic, &key).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["error"]["type"], "billing_error");
    assert_eq!(mock.requests().len(), calls, "no refused request reached the upstream");
    assert_eq!(chat(&gw, Client::OpenaiChat, &free_key).await.0, 200, "other keys are not affected");

    let list = get(&gw, "/api/usage/budget").await;
    assert_eq!(list["total"], 1);
    let status = &list["budgets"][0];
    assert_eq!((status["keyId"].as_str(), status["keyName"].as_str()), (Some(id.as_str()), Some("tiny")));
    assert_eq!((status["spent"].as_f64(), status["remaining"].as_f64()), (Some(2.0 * one), Some(0.0)));
    assert_eq!(status["exceeded"], true);
    assert!(status["resetsAt"].as_str().unwrap().ends_with("T00:00:00Z"));
    assert_eq!(get(&gw, &format!("/api/usage/budget/{id}")).await["exceeded"], true);

    // A restart reads the spend (and the key's last use) back from the usage rows.
    let data_dir = gw.stop().await;
    let env = [("OPENAI_API_KEY", "sk-test".to_owned()), ("OPENAI_BASE_URL", mock.base_url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = data_dir.path().to_path_buf();
    let gw = TestGateway::start_with("", &env, |settings| settings.data_dir = dir).await;
    let keys = get(&gw, "/api/keys").await;
    let tiny = keys["keys"].as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap().clone();
    assert!(tiny["lastUsedAt"].is_string(), "last use survives a restart: {tiny}");
    let (status, _, body) = chat(&gw, Client::OpenaiChat, &key).await;
    assert_eq!(status, 402, "still spent after a restart: {body}");
    assert_eq!(get(&gw, "/api/usage/budget").await["budgets"][0]["spent"].as_f64(), Some(2.0 * one));

    // Removing the budget lets the key in again.
    let response = gw.admin().delete(gw.url(&format!("/api/usage/budget/{id}"))).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "deleted": true, "keyId": id }));
    assert_eq!(chat(&gw, Client::OpenaiChat, &key).await.0, 200);
    let response = gw.admin().delete(gw.url(&format!("/api/usage/budget/{id}"))).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["deleted"], false);
    let response = gw.admin().get(gw.url(&format!("/api/usage/budget/{id}"))).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let audit = get(&gw, "/api/compliance/audit-log").await;
    let actions: Vec<&str> =
        audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"budget.set") && actions.contains(&"budget.delete"), "{actions:?}");
    gw.stop().await;
    drop(data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_input_is_checked_field_by_field() {
    let gw = TestGateway::start("", &[]).await;
    let (_, id) = create_key(&gw, "k").await;
    for (body, field) in [
        (json!({ "keyId": "key_nope", "limit": 1, "period": "daily" }), "keyId"),
        (json!({ "keyId": id, "limit": 0, "period": "daily" }), "limit"),
        (json!({ "keyId": id, "limit": -5, "period": "daily" }), "limit"),
        (json!({ "keyId": id, "limit": "ten", "period": "daily" }), "limit"),
        (json!({ "keyId": id, "limit": 1, "period": "yearly" }), "period"),
        (json!({ "keyId": id, "limit": 1, "period": "daily", "warnAt": 1.5 }), "warnAt"),
        (json!({ "keyId": id, "limit": 1, "period": "daily", "warnAt": 0 }), "warnAt"),
        (json!({ "keyId": id, "limit": 1, "period": "daily", "hard": true }), "hard"),
        (json!({ "limit": 1, "period": "daily" }), "keyId"),
    ] {
        let (status, error) = set_budget(&gw, body.clone()).await;
        assert_eq!((status, error["error"]["param"].as_str()), (400, Some(field)), "{body}: {error}");
    }
    // A good one, with the default warning share; the key's view shows it too.
    let (status, budget) = set_budget(&gw, json!({ "keyId": id, "limit": 25, "period": "monthly" })).await;
    assert_eq!(status, 200);
    assert_eq!((budget["warnAt"].as_f64(), budget["spent"].as_f64()), (Some(0.8), Some(0.0)));
    assert!(budget["periodStart"].as_str().unwrap().ends_with("-01T00:00:00Z"), "{budget}");
    let key = get(&gw, &format!("/api/keys/{id}")).await;
    assert_eq!(key["budget"]["limit_usd"], 25.0);
    let response = gw.admin().patch(gw.url("/api/usage/budget")).json(&json!({})).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.headers()["allow"].to_str().unwrap()), (405, "GET, POST, PUT"));
    let response = gw.admin().get(gw.url("/api/usage/budget/key_nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    gw.stop().await;
}
