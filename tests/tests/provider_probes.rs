//! Real upstream calls from the management API, against the mock upstream in every format:
//! `POST /api/providers/{id}/test` (latency, the upstream's own error), `GET
//! /api/providers/{id}/models` (the upstream's list, else the catalog), `POST
//! /api/providers/validate`; and the outbound proxy (`/api/settings/proxy`) through a real
//! forward proxy on loopback, proven to carry the calls, applied and removed without restart.

use omniroute_tests::forward_proxy::ForwardProxy;
use omniroute_tests::gateway::{TestGateway, assert_refused};
use omniroute_tests::mock_upstream::MockUpstream;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_make_a_real_minimal_call_and_report_the_upstreams_error_honestly() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    for (id, path) in [
        ("openai:env", "/v1/chat/completions"),
        ("anthropic:env", "/v1/messages"),
        ("gemini:env", "/v1beta/models/gpt-mock:generateContent"),
        ("ollama", "/api/chat"),
        ("responses", "/v1/responses"),
    ] {
        let body = json!({ "model": "gpt-mock" });
        let (status, report) = gw.admin_call("POST", &format!("/api/providers/{id}/test"), Some(body)).await;
        assert_eq!(status, 200, "{id}: {report}");
        assert_eq!((report["valid"].clone(), report["status"].clone()), (json!(true), json!(200)), "{id}: {report}");
        assert!(report["latencyMs"].is_u64() && report["testedAt"].is_string(), "{report}");
        assert_eq!(report["error"], Value::Null);
        let sent = mock.last_request();
        assert_eq!(sent.path, path, "{id} is called in its own format");
        assert!(
            sent.json()["messages"].is_array()
                || sent.json()["contents"].is_array()
                || sent.json()["input"].is_string()
                || sent.json()["input"].is_array(),
            "{id}: {}",
            sent.json()
        );
    }
    // Without a model, the provider's first listed one; the key goes where the format wants it.
    let (_, report) = gw.admin_call("POST", "/api/providers/anthropic:env/test", None).await;
    assert_eq!(report["valid"], true, "{report}");
    assert!(!report["model"].as_str().unwrap().is_empty());
    assert_eq!(mock.last_request().headers["x-api-key"], "sk-ant-test");

    // The upstream's failure comes back as it was: status, kind and its own message.
    let (status, report) =
        gw.admin_call("POST", "/api/providers/openai:env/test", Some(json!({ "model": "openai/error-401" }))).await;
    assert_eq!(status, 200);
    assert_eq!((report["valid"].clone(), report["status"].clone()), (json!(false), json!(401)), "{report}");
    assert_eq!(report["error"]["type"], "upstream_auth_error");
    assert_eq!(report["model"], "error-401", "the provider prefix is taken off");
    assert!(!report["error"]["message"].as_str().unwrap().is_empty(), "{report}");
    let (_, report) =
        gw.admin_call("POST", "/api/providers/openai:env/test", Some(json!({ "model": "error-503" }))).await;
    assert_eq!(
        (report["status"].clone(), report["error"]["type"].clone()),
        (json!(503), json!("upstream_unavailable"))
    );
    // Probes never open breakers: real traffic still flows.
    let chat = json!({ "model": "openai/gpt-mock", "messages": [{ "role": "user", "content": "hi" }] });
    let reply = reqwest::Client::new().post(gw.url("/v1/chat/completions")).json(&chat).send().await.unwrap();
    assert_eq!(reply.status(), 200);

    // A dead upstream is a network error with its latency.
    gw.allow_private_upstreams().await;
    let dead = json!({ "id": "dead", "baseUrl": "http://127.0.0.1:9/v1", "models": ["m"] });
    assert_eq!(gw.admin_call("POST", "/api/provider-nodes", Some(dead)).await.0, 201);
    let (status, account) =
        gw.admin_call("POST", "/api/providers", Some(json!({ "provider": "dead", "apiKey": "k" }))).await;
    assert_eq!(status, 201);
    let id = account["connection"]["id"].as_str().unwrap().to_owned();
    let (_, report) = gw.admin_call("POST", &format!("/api/providers/{id}/test"), None).await;
    assert_eq!((report["valid"].clone(), report["status"].clone()), (json!(false), Value::Null), "{report}");
    assert_eq!(report["error"]["type"], "network_error");

    assert_refused(
        gw.admin_call("POST", "/api/providers/openai:env/test", Some(json!({ "model": 5 }))).await,
        "model",
        "model",
    );
    assert_refused(
        gw.admin_call("POST", "/api/providers/openai:env/test", Some(json!({ "modle": "x" }))).await,
        "modle",
        "typo",
    );
    assert_eq!(gw.admin_call("POST", "/api/providers/nope/test", None).await.0, 404);
    assert_eq!(gw.admin_call("GET", "/api/providers/openai:env/test", None).await.0, 405);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_lists_come_from_the_upstream_where_it_has_one_else_the_catalog() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    for (id, expected) in [
        ("openai:env", "gpt-mock"),
        ("anthropic:env", "gpt-mock"),
        ("gemini:env", "gpt-mock"),
        ("ollama", "gpt-mock:latest"),
    ] {
        let (status, report) = gw.admin_call("GET", &format!("/api/providers/{id}/models"), None).await;
        assert_eq!(status, 200, "{id}: {report}");
        assert_eq!(report["source"], "upstream", "{id}: {report}");
        let ids: Vec<&str> = report["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [expected], "{id}");
        assert_eq!(report["total"], 1);
    }
    // An upstream that cannot be reached: the catalog's list, and why.
    gw.allow_private_upstreams().await;
    let body = json!({ "id": "groq", "baseUrl": "http://127.0.0.1:9/v1" });
    assert_eq!(gw.admin_call("POST", "/api/provider-nodes", Some(body)).await.0, 201);
    assert_eq!(
        gw.admin_call("POST", "/api/providers", Some(json!({ "provider": "groq", "apiKey": "gsk" }))).await.0,
        201
    );
    let (_, report) = gw.admin_call("GET", "/api/providers/groq/models", None).await;
    assert_eq!(report["source"], "catalog", "{report}");
    assert!(report["total"].as_u64().unwrap() > 0);
    assert_eq!(report["upstreamError"]["error"]["type"], "network_error", "{report}");
    // A provider without a model list (Perplexity) answers from the catalog without a call.
    let before = mock.requests().len();
    let body = json!({ "id": "perplexity", "baseUrl": mock.base_url() });
    assert_eq!(gw.admin_call("POST", "/api/provider-nodes", Some(body)).await.0, 201);
    assert_eq!(
        gw.admin_call("POST", "/api/providers", Some(json!({ "provider": "perplexity", "apiKey": "p" }))).await.0,
        201
    );
    let (_, report) = gw.admin_call("GET", "/api/providers/perplexity/models", None).await;
    assert_eq!((report["source"].clone(), report["upstreamError"].clone()), (json!("catalog"), Value::Null));
    assert_eq!(mock.requests().len(), before);
    assert_eq!(gw.admin_call("GET", "/api/providers/nope/models", None).await.0, 404);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_checks_a_config_and_key_without_saving_it() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start("", &[]).await;
    let version = gw.server.booted.gateway.snapshot().version;
    // Format checks, no call.
    let (status, report) =
        gw.admin_call("POST", "/api/providers/validate", Some(json!({ "provider": "openai", "live": false }))).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["valid"].clone(), report["method"].clone()), (json!(true), json!("none")));
    assert_eq!(report["baseUrl"], "https://api.openai.com/v1");
    for (body, field) in [
        (json!({}), "provider"),
        (json!({ "provider": "nope" }), "provider"),
        (json!({ "provider": "openai", "baseUrl": "http://10.0.0.1/v1" }), "baseUrl"),
        (json!({ "provider": "openai", "baseUrl": "http://[::1]/v1" }), "baseUrl"),
        (json!({ "provider": "openai", "apiKey": "with space" }), "apiKey"),
        (json!({ "provider": "openai", "format": "soap" }), "format"),
        (json!({ "provider": "openai" }), "apiKey"),
    ] {
        assert_refused(
            gw.admin_call("POST", "/api/providers/validate", Some(body.clone())).await,
            field,
            &body.to_string(),
        );
    }
    // Live: the model list (no tokens spent), or a minimal chat for a named model.
    gw.allow_private_upstreams().await;
    let body = json!({ "provider": "openai", "apiKey": "sk-validate-secret", "baseUrl": mock.base_url() });
    let (_, report) = gw.admin_call("POST", "/api/providers/validate", Some(body)).await;
    assert_eq!(
        (report["valid"].clone(), report["method"].clone(), report["status"].clone()),
        (json!(true), json!("models"), json!(200)),
        "{report}"
    );
    let body = json!({ "provider": "newco", "baseUrl": mock.base_url(), "format": "anthropic", "auth": "x-api-key", "apiKey": "k-new", "model": "gpt-mock" });
    let (_, report) = gw.admin_call("POST", "/api/providers/validate", Some(body)).await;
    assert_eq!((report["valid"].clone(), report["method"].clone()), (json!(true), json!("chat")), "{report}");
    assert_eq!(mock.last_request().path, "/v1/messages");
    assert_eq!(mock.last_request().headers["x-api-key"], "k-new");
    let body = json!({ "provider": "newco", "baseUrl": mock.base_url(), "apiKey": "k", "model": "error-429" });
    let (_, report) = gw.admin_call("POST", "/api/providers/validate", Some(body)).await;
    assert_eq!((report["valid"].clone(), report["status"].clone()), (json!(false), json!(429)), "{report}");
    assert_eq!(report["error"]["type"], "upstream_rate_limited");
    // A stored key is never sent to a base URL given here.
    let (status, _) = gw
        .admin_call("POST", "/api/providers", Some(json!({ "provider": "groq", "apiKey": "gsk-stored-secret" })))
        .await;
    assert_eq!(status, 201);
    let body = json!({ "provider": "groq", "baseUrl": mock.base_url(), "model": "gpt-mock" });
    assert_refused(gw.admin_call("POST", "/api/providers/validate", Some(body)).await, "apiKey", "no stored key");
    let calls = mock.requests().len();
    let (_, report) =
        gw.admin_call("POST", "/api/providers/validate", Some(json!({ "provider": "groq", "live": false }))).await;
    assert_eq!(report["valid"], true);
    assert_eq!(mock.requests().len(), calls);
    // Nothing was saved (besides the test's own setting and account).
    assert_eq!(gw.server.booted.gateway.snapshot().version, version + 2);
    let (_, nodes) = gw.admin_call("GET", "/api/provider-nodes", None).await;
    assert_eq!(nodes["total"], 1, "only groq, configured by its account: {nodes}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_calls_go_through_the_outbound_proxy_once_set_and_stop_when_unset() {
    let mock = MockUpstream::start();
    let proxy = ForwardProxy::start();
    let gw = TestGateway::start("", &[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &mock.base_url())]).await;
    let chat = || {
        let body = json!({ "model": "openai/gpt-mock", "messages": [{ "role": "user", "content": "hi" }] });
        reqwest::Client::new().post(gw.url("/v1/chat/completions")).json(&body).send()
    };
    let (_, shown) = gw.admin_call("GET", "/api/settings/proxy", None).await;
    assert_eq!(shown, json!({ "enabled": false, "url": "", "noProxy": "", "supported": true }));
    assert_eq!(chat().await.unwrap().status(), 200);
    assert!(proxy.requests().is_empty());

    for (body, field) in [
        (json!({ "enabled": true }), "url"),
        (json!({ "url": "ftp://proxy:21" }), "url"),
        (json!({ "url": "http://proxy:3128/path" }), "url"),
        (json!({ "enabled": "yes" }), "enabled"),
        (json!({ "noProxy": "a\nb" }), "noProxy"),
        (json!({ "colour": 1 }), "colour"),
    ] {
        assert_refused(gw.admin_call("PUT", "/api/settings/proxy", Some(body.clone())).await, field, &body.to_string());
    }

    let url = format!("http://alice:proxy-pass-4321@{}", proxy.addr);
    let (status, shown) =
        gw.admin_call("PUT", "/api/settings/proxy", Some(json!({ "enabled": true, "url": url }))).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["url"], format!("http://alice:****4321@{}", proxy.addr));
    // The next upstream call goes through it, with its credentials, no restart.
    assert_eq!(chat().await.unwrap().status(), 200);
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].target, format!("{}/chat/completions", mock.base_url()));
    assert_eq!(seen[0].proxy_authorization.as_deref(), Some("Basic YWxpY2U6cHJveHktcGFzcy00MzIx"));

    // The masked URL sent back keeps the password.
    let (_, shown) = gw.admin_call("PUT", "/api/settings/proxy", Some(json!({ "url": shown["url"].clone() }))).await;
    assert_eq!(shown["url"], format!("http://alice:****4321@{}", proxy.addr));
    assert_eq!(chat().await.unwrap().status(), 200);
    assert_eq!(
        proxy.requests().last().unwrap().proxy_authorization.as_deref(),
        Some("Basic YWxpY2U6cHJveHktcGFzcy00MzIx")
    );

    // The test endpoint fetches through the saved proxy (default target: the first provider).
    let count = proxy.requests().len();
    let (status, report) = gw.admin_call("POST", "/api/settings/proxy/test", None).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["success"], true, "{report}");
    assert!(report["status"].is_u64() && report["latencyMs"].is_u64(), "{report}");
    assert_eq!(proxy.requests().len(), count + 1);
    assert!(!report.to_string().contains("proxy-pass-4321"));
    // A proxy that is not there fails, honestly.
    let (_, report) = gw
        .admin_call(
            "POST",
            "/api/settings/proxy/test",
            Some(json!({ "url": "http://127.0.0.1:9", "targetUrl": "https://api.openai.com/v1" })),
        )
        .await;
    assert_eq!(
        (report["success"].clone(), report["error"]["type"].clone()),
        (json!(false), json!("network_error")),
        "{report}"
    );
    assert_refused(
        gw.admin_call("POST", "/api/settings/proxy/test", Some(json!({ "targetUrl": "http://169.254.169.254/" })))
            .await,
        "targetUrl",
        "ssrf",
    );
    assert_refused(
        gw.admin_call("POST", "/api/settings/proxy/test", Some(json!({ "url": "ftp://proxy:21" }))).await,
        "url",
        "scheme",
    );

    // SOCKS5 (with user/password) works the same way.
    let socks = format!("socks5://bob:sock-pass-99@{}", proxy.addr);
    let (status, shown) = gw.admin_call("PUT", "/api/settings/proxy", Some(json!({ "url": socks }))).await;
    assert_eq!(
        (status, shown["url"].clone()),
        (200, json!(format!("socks5://bob:****s-99@{}", proxy.addr))),
        "{shown}"
    );
    assert_eq!(chat().await.unwrap().status(), 200);
    let last = proxy.requests().pop().unwrap();
    assert_eq!((last.method.as_str(), last.target.clone()), ("SOCKS5", mock.addr.to_string()));
    assert_eq!(last.proxy_authorization.as_deref(), Some("bob:sock-pass-99"));

    // Disabled: calls go direct again.
    let (_, shown) = gw.admin_call("PUT", "/api/settings/proxy", Some(json!({ "enabled": false }))).await;
    assert_eq!(shown["enabled"], false);
    let count = proxy.requests().len();
    assert_eq!(chat().await.unwrap().status(), 200);
    assert_eq!(proxy.requests().len(), count, "no call through a disabled proxy");

    let log = gw.admin_get("/api/compliance/audit-log?limit=100").await.to_string();
    assert!(log.contains("settings.proxy.update"));
    assert!(!log.contains("proxy-pass-4321"), "the audit log shows the proxy password");
    gw.stop().await;
}
