//! Settings over HTTP: the general document (security + routing, PUT and merge PATCH), the IP
//! filter (CIDR v4/v6, refusing to lock out its own caller, and what a blocked address sees),
//! the system prompt and thinking budget documents, CORS on the inference endpoints only, and
//! the public first-run check. Every invalid field is a 400 naming it; no credential is a 401,
//! a user key a 403.

use omniroute_tests::gateway::{TEST_ADMIN_PASSWORD, TestGateway};
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use serde_json::{Value, json};

async fn send(gw: &TestGateway, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    send_as(gw, gw.admin(), method, path, body).await
}

async fn send_as(
    gw: &TestGateway,
    http: reqwest::Client,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method.parse().unwrap(), gw.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn with_openai(mock: &MockUpstream, config: &str) -> TestGateway {
    let base = mock.base_url();
    TestGateway::start(config, &[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &base)]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn general_settings_read_replace_and_merge() {
    let mock = MockUpstream::start();
    let gw = with_openai(&mock, "").await;
    let (status, defaults) = send(&gw, "GET", "/api/settings", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        defaults,
        json!({"requireApiKey": false, "requireLogin": true, "allowPrivateUpstreams": false, "metricsPublic": false,
               "trustForwardedFor": false, "forwardedForHops": 1, "corsOrigins": [],
               "routing": {"defaultModel": null, "retryableStatuses": [408, 429, 500, 502, 503, 504, 529], "maxWaitMs": 0,
                           "breaker": {"failureThreshold": 5, "windowMs": 60000, "openMs": 30000, "halfOpenProbes": 1},
                           "localBreaker": {"failureThreshold": 3, "windowMs": 10000, "openMs": 5000, "halfOpenProbes": 1},
                           "endpointBreaker": {"failureThreshold": 3, "windowMs": 60000, "openMs": 30000, "halfOpenProbes": 1},
                           "rateLimitCooldownMs": 5000, "accountCooldownMs": 300000}})
    );
    // PATCH merges; a bare model nothing lists now goes to the default.
    assert_eq!(gw.chat("no-such-model").await.0, 400);
    let patch = json!({"metricsPublic": true, "corsOrigins": ["https://App.example.com/"],
                       "routing": {"defaultModel": "openai/gpt-mock", "breaker": {"openMs": 1000}}});
    let (status, merged) = send(&gw, "PATCH", "/api/settings", Some(patch)).await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["corsOrigins"], json!(["https://app.example.com"]), "origins are normalized");
    assert_eq!(
        merged["routing"]["breaker"],
        json!({"failureThreshold": 5, "windowMs": 60000, "openMs": 1000, "halfOpenProbes": 1})
    );
    assert_eq!(merged["requireLogin"], true);
    assert_eq!(send(&gw, "GET", "/api/settings", None).await.1, merged, "GET shows what was stored");
    let (status, answer) = gw.chat("no-such-model").await;
    assert_eq!((status, answer["choices"][0]["message"]["content"].clone()), (200, json!(MOCK_TEXT)));
    assert_eq!(reqwest::get(gw.url("/metrics")).await.unwrap().status(), 200, "metricsPublic took effect");
    // PATCH null resets a field; PUT replaces the whole document (absent: the defaults).
    let (_, reset) = send(&gw, "PATCH", "/api/settings", Some(json!({"routing": {"defaultModel": null}}))).await;
    assert_eq!(reset["routing"]["defaultModel"], Value::Null);
    let (status, replaced) = send(&gw, "PUT", "/api/settings", Some(json!({"corsOrigins": ["*"]}))).await;
    assert_eq!(status, 200);
    let mut expected = defaults.clone();
    expected["corsOrigins"] = json!(["*"]);
    assert_eq!(replaced, expected);
    // GET's answer is a valid PUT body.
    assert_eq!(send(&gw, "PUT", "/api/settings", Some(replaced.clone())).await, (200, replaced));
    let (_, log) = send(&gw, "GET", "/api/compliance/audit-log", None).await;
    assert!(log["entries"].as_array().unwrap().iter().any(|e| e["action"] == "settings.update"));
    let text = serde_json::to_string(&log).unwrap() + &serde_json::to_string(&merged).unwrap();
    assert!(!text.contains("password_hash") && !text.contains("argon2"), "the admin password never shows");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_settings_are_400s_that_name_the_field() {
    let mock = MockUpstream::start();
    let gw = with_openai(&mock, "").await;
    let cases = [
        ("PATCH", "/api/settings", json!({"corsOrigins": ["app.example.com"]}), "corsOrigins[0]"),
        ("PATCH", "/api/settings", json!({"corsOrigins": ["*", "https://a.com"]}), "corsOrigins"),
        (
            "PATCH",
            "/api/settings",
            json!({"routing": {"retryableStatuses": [429, 200]}}),
            "routing.retryableStatuses[1]",
        ),
        (
            "PATCH",
            "/api/settings",
            json!({"routing": {"breaker": {"failureThreshold": 0}}}),
            "routing.breaker.failureThreshold",
        ),
        (
            "PATCH",
            "/api/settings",
            json!({"routing": {"localBreaker": {"windowMs": 0}}}),
            "routing.localBreaker.windowMs",
        ),
        ("PATCH", "/api/settings", json!({"routing": {"defaultModel": "nope/model"}}), "routing.defaultModel"),
        ("PATCH", "/api/settings", json!({"requireLogin": "yes"}), "requireLogin"),
        ("PUT", "/api/settings", json!({"adminAuth": {"password_hash": "x"}}), "adminAuth"),
        ("PUT", "/api/settings/ip-filter", json!({"enabled": true, "allow": ["127.0.0.1", "300.1.1.1"]}), "allow[1]"),
        ("PUT", "/api/settings/ip-filter", json!({"enabled": true, "block": ["10.0.0.0/33"]}), "block[0]"),
        ("PUT", "/api/settings/ip-filter", json!({"enabled": "on"}), "enabled"),
        ("PUT", "/api/settings/system-prompt", json!({"enabled": true, "prompt": "  "}), "prompt"),
        ("PUT", "/api/settings/system-prompt", json!({"enabled": true, "text": "x"}), "text"),
        ("PUT", "/api/settings/thinking-budget", json!({"mode": "cap"}), "budgetTokens"),
        ("PUT", "/api/settings/thinking-budget", json!({"mode": "fixed", "budgetTokens": 2000000}), "budgetTokens"),
        ("PUT", "/api/settings/thinking-budget", json!({"mode": "bogus"}), "mode"),
    ];
    for (method, path, body, param) in cases {
        let (status, answer) = send(&gw, method, path, Some(body.clone())).await;
        assert_eq!(status, 400, "{method} {path} {body}: {answer}");
        assert_eq!(answer["error"]["param"], param, "{method} {path} {body}: {answer}");
    }
    assert_eq!(send(&gw, "DELETE", "/api/settings", None).await.0, 405);
    assert_eq!(send(&gw, "POST", "/api/settings/system-prompt", Some(json!({}))).await.0, 405);
    // Nothing was stored by any of them.
    assert_eq!(send(&gw, "GET", "/api/settings", None).await.1["corsOrigins"], json!([]));
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_set_by_the_config_file_is_read_only_here() {
    let mock = MockUpstream::start();
    let gw = with_openai(&mock, "[routing]\nmax_wait_ms = 250\n").await;
    let (_, current) = send(&gw, "GET", "/api/settings", None).await;
    assert_eq!(current["routing"]["maxWaitMs"], 250);
    let (status, answer) = send(&gw, "PATCH", "/api/settings", Some(json!({"routing": {"maxWaitMs": 10}}))).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("config file"));
    // The security part is the API's own.
    assert_eq!(send(&gw, "PATCH", "/api/settings", Some(json!({"metricsPublic": true}))).await.0, 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_prompt_and_thinking_budget_documents() {
    let mock = MockUpstream::start();
    let gw = with_openai(&mock, "").await;
    assert_eq!(
        send(&gw, "GET", "/api/settings/system-prompt", None).await,
        (200, json!({"enabled": false, "prompt": ""}))
    );
    assert_eq!(
        send(&gw, "GET", "/api/settings/thinking-budget", None).await,
        (200, json!({"mode": "passthrough", "budgetTokens": 0}))
    );
    let prompt = json!({"enabled": true, "prompt": "Be brief."});
    assert_eq!(send(&gw, "PUT", "/api/settings/system-prompt", Some(prompt.clone())).await, (200, prompt.clone()));
    assert_eq!(send(&gw, "GET", "/api/settings/system-prompt", None).await.1, prompt);
    let budget = json!({"mode": "cap", "budgetTokens": 4000});
    assert_eq!(send(&gw, "PUT", "/api/settings/thinking-budget", Some(budget.clone())).await, (200, budget.clone()));
    assert_eq!(send(&gw, "GET", "/api/settings/thinking-budget", None).await.1, budget);
    let (_, log) = send(&gw, "GET", "/api/compliance/audit-log", None).await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(
        actions.contains(&"settings.system_prompt") && actions.contains(&"settings.thinking_budget"),
        "{actions:?}"
    );
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ip_filter_refuses_to_lock_out_its_caller_and_blocks_everything_else() {
    let mock = MockUpstream::start();
    let gw = with_openai(&mock, "").await;
    assert_eq!(
        send(&gw, "GET", "/api/settings/ip-filter", None).await,
        (200, json!({"enabled": false, "allow": [], "block": []}))
    );
    // The admin calls from 127.0.0.1: a filter that refuses it is refused.
    let (status, answer) =
        send(&gw, "PUT", "/api/settings/ip-filter", Some(json!({"enabled": true, "allow": ["10.0.0.0/8"]}))).await;
    assert_eq!((status, answer["error"]["param"].clone()), (400, json!("allow")), "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("lock you out"));
    let (status, answer) = send(
        &gw,
        "PUT",
        "/api/settings/ip-filter",
        Some(json!({"enabled": true, "block": ["fd00::/8", "127.0.0.0/8"]})),
    )
    .await;
    assert_eq!((status, answer["error"]["param"].clone()), (400, json!("block[1]")), "{answer}");
    // Disabled, anything goes (and v4 and v6 ranges are kept as written).
    let off = json!({"enabled": false, "allow": ["10.0.0.0/8", "fd00::/8"], "block": ["127.0.0.1"]});
    assert_eq!(send(&gw, "PUT", "/api/settings/ip-filter", Some(off.clone())).await, (200, off));
    let allowed = json!({"enabled": true, "allow": ["127.0.0.0/8", "::1"], "block": ["10.9.9.9"]});
    assert_eq!(send(&gw, "PUT", "/api/settings/ip-filter", Some(allowed.clone())).await, (200, allowed));
    assert_eq!(reqwest::get(gw.url("/api/monitoring/health")).await.unwrap().status(), 200);

    // Behind a trusted proxy the admin is 10.1.2.3 and may block 127.0.0.1, the proxy's own
    // address: then every request from 127.0.0.1 itself is a 403, whatever it asks.
    let proxied = |addr: &str| {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", addr.parse().unwrap());
        headers.insert(reqwest::header::COOKIE, gw.admin_cookie.parse().unwrap());
        reqwest::Client::builder().default_headers(headers).build().unwrap()
    };
    send(&gw, "PUT", "/api/settings/ip-filter", Some(json!({"enabled": false}))).await;
    assert_eq!(send(&gw, "PATCH", "/api/settings", Some(json!({"trustForwardedFor": true}))).await.0, 200);
    let blocking = json!({"enabled": true, "block": ["127.0.0.1"]});
    assert_eq!(send_as(&gw, proxied("10.1.2.3"), "PUT", "/api/settings/ip-filter", Some(blocking)).await.0, 200);
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/api/monitoring/health"),
        ("GET", "/api/init"),
        ("POST", "/api/auth/login"),
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("OPTIONS", "/v1/chat/completions"),
        ("GET", "/api/settings"),
    ] {
        let response = http
            .request(method.parse().unwrap(), gw.url(path))
            .json(&json!({"password": TEST_ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{method} {path}");
    }
    // Switching the proxy trust off would make the admin 127.0.0.1 again: refused.
    let (status, answer) =
        send_as(&gw, proxied("10.1.2.3"), "PATCH", "/api/settings", Some(json!({"trustForwardedFor": false}))).await;
    assert_eq!((status, answer["error"]["param"].clone()), (400, json!("trustForwardedFor")), "{answer}");
    assert_eq!(
        send_as(&gw, proxied("10.1.2.3"), "PUT", "/api/settings/ip-filter", Some(json!({"enabled": false}))).await.0,
        200
    );
    assert_eq!(reqwest::get(gw.url("/api/monitoring/health")).await.unwrap().status(), 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_browsers_on_inference_paths_only() {
    let mock = MockUpstream::start();
    let gw = with_openai(&mock, "").await;
    let http = reqwest::Client::new();
    let preflight = |origin: &str| {
        http.request(reqwest::Method::OPTIONS, gw.url("/v1/chat/completions"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type, x-stainless-os")
    };
    // Off by default: a preflight gets no permission.
    let off = preflight("https://app.example.com").send().await.unwrap();
    assert_eq!(off.status(), 204);
    assert!(off.headers().get("access-control-allow-origin").is_none());

    let patch = json!({"corsOrigins": ["https://app.example.com"], "requireApiKey": true});
    assert_eq!(send(&gw, "PATCH", "/api/settings", Some(patch)).await.0, 200);
    let ok = preflight("https://app.example.com").send().await.unwrap();
    assert_eq!(ok.status(), 204, "answered before any API key is checked");
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-headers"], "authorization, content-type, x-stainless-os");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert_eq!(h["vary"], "origin");
    let other = preflight("https://evil.example").send().await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The real request: allowed origins can read the answer, errors included.
    let (_, created) = send(&gw, "POST", "/api/keys", Some(json!({"name": "web"}))).await;
    let key = created["key"].as_str().unwrap();
    let chat = |key: Option<&str>| {
        let request = http
            .post(gw.url("/v1/chat/completions"))
            .header("origin", "https://app.example.com")
            .json(&json!({"model": "openai/gpt-mock", "messages": [{"role": "user", "content": "hi"}]}));
        match key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    };
    let answered = chat(Some(key)).send().await.unwrap();
    assert_eq!(answered.status(), 200);
    assert_eq!(answered.headers()["access-control-allow-origin"], "https://app.example.com");
    assert!(answered.headers()["access-control-expose-headers"].to_str().unwrap().contains("x-request-id"));
    let refused = chat(None).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["access-control-allow-origin"], "https://app.example.com");
    // Ollama's client paths too.
    let tags = http
        .get(gw.url("/api/tags"))
        .bearer_auth(key)
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.headers()["access-control-allow-origin"], "https://app.example.com");

    // Never on the management API: no preflight, no header.
    let management = http
        .request(reqwest::Method::OPTIONS, gw.url("/api/keys"))
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(management.status(), 401);
    assert!(management.headers().get("access-control-allow-origin").is_none());
    let listed =
        gw.admin().get(gw.url("/api/settings")).header("origin", "https://app.example.com").send().await.unwrap();
    assert!(listed.headers().get("access-control-allow-origin").is_none());
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_is_public_and_says_nothing_secret() {
    let gw = TestGateway::start("", &[]).await;
    let response = reqwest::get(gw.url("/api/init")).await.unwrap();
    assert_eq!(response.status(), 200);
    let init: Value = response.json().await.unwrap();
    assert_eq!(init["passwordSet"], true);
    assert_eq!(init["requireLogin"], true);
    assert_eq!(init["requireApiKey"], false);
    assert_eq!(init["serverControls"], true);
    assert!(init["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(init.as_object().unwrap().len(), 5, "{init}");
    // An embedded server stops on request but cannot re-execute itself.
    assert_eq!(send(&gw, "POST", "/api/restart", None).await.0, 404);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_callers_get_401_and_user_keys_403() {
    let gw = TestGateway::start("", &[]).await;
    let (_, created) = send(&gw, "POST", "/api/keys", Some(json!({"name": "app"}))).await;
    let user_key = created["key"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/api/settings"),
        ("PUT", "/api/settings"),
        ("PATCH", "/api/settings"),
        ("GET", "/api/settings/ip-filter"),
        ("PUT", "/api/settings/ip-filter"),
        ("GET", "/api/settings/system-prompt"),
        ("PUT", "/api/settings/system-prompt"),
        ("GET", "/api/settings/thinking-budget"),
        ("PUT", "/api/settings/thinking-budget"),
        ("POST", "/api/shutdown"),
        ("POST", "/api/restart"),
    ] {
        let request = || {
            http.request(method.parse().unwrap(), gw.url(path)).header("content-type", "application/json").body("{}")
        };
        assert_eq!(request().send().await.unwrap().status(), 401, "{method} {path}");
        assert_eq!(request().bearer_auth(&user_key).send().await.unwrap().status(), 403, "{method} {path}");
    }
    // Still serving: none of those stopped anything.
    assert_eq!(reqwest::get(gw.url("/api/monitoring/health")).await.unwrap().status(), 200);
    gw.stop().await;
}
