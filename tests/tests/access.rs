//! Access control end to end: nobody without credentials gets past a 401, admin login with
//! lockout, API keys created once and stored as hashes, the key policy matrix (models,
//! providers, expiry, revocation, rate limits) through the real HTTP path in each client's
//! format, roles, the audit log, and no secret ever in a management response.

use std::time::Duration;

use omniroute_storage::{Database, LibsqlUsageSink};
use omniroute_tests::gateway::{TEST_ADMIN_PASSWORD, TestGateway};
use omniroute_tests::mock_upstream::MockUpstream;
use serde_json::{Value, json};

/// Every operation the OpenAPI document says needs credentials (a session or a key, with no
/// anonymous alternative), as `(METHOD, path)` with each path parameter filled in, plus paths an
/// attacker might guess that are not documented at all.
async fn guarded_operations(gw: &TestGateway) -> Vec<(String, String)> {
    let spec: Value = gw.admin_get("/api/openapi/spec").await;
    let mut operations = vec![("GET".to_owned(), "/api/no-such-endpoint".to_owned())];
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(security) = operation["security"].as_array() else { continue };
            let anonymous_allowed = security.iter().any(|s| s.as_object().is_some_and(|s| s.is_empty()));
            if security.is_empty() || anonymous_allowed {
                continue;
            }
            let filled = path.split('/').map(|part| if part.starts_with('{') { "x1" } else { part });
            operations.push((method.to_uppercase(), filled.collect::<Vec<_>>().join("/")));
        }
    }
    operations
}

fn chat(model: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": "hi" }] })
}

async fn create_key(gw: &TestGateway, body: Value) -> (String, Value) {
    let response = gw.admin().post(gw.url("/api/keys")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    (created["key"].as_str().unwrap().to_owned(), created["apiKey"].clone())
}

async fn openai_chat(gw: &TestGateway, key: Option<&str>, model: &str) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(gw.url("/v1/chat/completions")).json(&chat(model));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_every_management_endpoint_is_a_401() {
    let gw = TestGateway::start("", &[]).await;
    let http = reqwest::Client::new();
    let operations = guarded_operations(&gw).await;
    // The document really was read: every management group is in it.
    assert!(operations.len() > 90, "{} operations", operations.len());
    for path in ["/api/keys", "/api/providers", "/api/combos", "/api/settings", "/api/usage/budget", "/metrics"] {
        assert!(operations.iter().any(|(_, p)| p == path), "{path} not swept");
    }
    for (method, path) in &operations {
        let (method, path) = (method.as_str(), path.as_str());
        for auth in [None, Some("Bearer sk-omni-forged"), Some("Bearer sk-openai-real-looking")] {
            let mut request =
                http.request(method.parse().unwrap(), gw.url(path)).header("content-type", "application/json");
            if let Some(auth) = auth {
                request = request.header("authorization", auth);
            }
            let response = request.body("{}").send().await.unwrap();
            assert_eq!(response.status(), 401, "{method} {path} with {auth:?}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["type"], "authentication_error", "{method} {path}");
        }
    }
    // A forged session cookie is no better.
    let forged = http.get(gw.url("/api/keys")).header("cookie", "auth_token=00ff").send().await.unwrap();
    assert_eq!(forged.status(), 401);
    // What is public stays public and says nothing secret.
    let status: Value = http.get(gw.url("/api/auth/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status, json!({"authenticated": false, "via": null, "requireLogin": true, "passwordSet": true}));
    assert_eq!(http.get(gw.url("/api/monitoring/health")).send().await.unwrap().status(), 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sessions_logout_and_lockout() {
    let gw = TestGateway::start("", &[]).await;
    let http = reqwest::Client::new();
    let login = |password: &str| http.post(gw.url("/api/auth/login")).json(&json!({ "password": password })).send();
    // The session cookie is HttpOnly and SameSite=Strict.
    let ok = login(TEST_ADMIN_PASSWORD).await.unwrap();
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: no Secure flag");
    let session = cookie.split(';').next().unwrap().to_owned();
    let status: Value =
        http.get(gw.url("/api/auth/status")).header("cookie", &session).send().await.unwrap().json().await.unwrap();
    assert_eq!((status["authenticated"].clone(), status["via"].clone()), (json!(true), json!("session")));
    // Behind a TLS proxy the cookie is Secure.
    let tls = http
        .post(gw.url("/api/auth/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "password": TEST_ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(tls.headers()["set-cookie"].to_str().unwrap().contains("; Secure"));

    // A cookie-authenticated write from another origin is refused (CSRF).
    let cross = http
        .post(gw.url("/api/keys"))
        .header("cookie", &session)
        .header("origin", "https://evil.example")
        .json(&json!({ "name": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);

    // Logout ends the session.
    let out = http.post(gw.url("/api/auth/logout")).header("cookie", &session).send().await.unwrap();
    assert_eq!(out.status(), 200);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(http.get(gw.url("/api/keys")).header("cookie", &session).send().await.unwrap().status(), 401);

    // Five wrong passwords lock the address out, even for the right one.
    let wrong = login("wrong password").await.unwrap();
    assert_eq!(wrong.status(), 401);
    for _ in 0..4 {
        login("wrong password").await.unwrap();
    }
    let locked = login(TEST_ADMIN_PASSWORD).await.unwrap();
    assert_eq!(locked.status(), 429);
    assert!(locked.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    // The failed attempts are in the audit log (read with the earlier session of the harness).
    let log = gw.admin_get("/api/compliance/audit-log?limit=50").await;
    let failed = log["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "auth.login_failed").count();
    assert_eq!(failed, 5, "{log}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_shown_once_stored_hashed_and_managed() {
    let gw = TestGateway::start("", &[]).await;
    let admin = gw.admin();
    let (secret, view) = create_key(&gw, json!({ "name": "ci", "allowedModels": ["openai/*"], "noLog": true })).await;
    assert!(secret.starts_with("sk-omni-") && secret.len() == 72, "{secret}");
    assert_eq!(view["name"], "ci");
    assert_eq!(view["role"], "user");
    assert_eq!(view["isActive"], true);
    assert_eq!(view["noLog"], true);
    assert!(secret.starts_with(view["prefix"].as_str().unwrap()));
    let id = view["id"].as_str().unwrap().to_owned();

    // Lists and reads never show the key again.
    let list = gw.admin_get("/api/keys").await;
    assert_eq!(list["total"], 1);
    assert!(!list.to_string().contains(&secret[10..]), "{list}");
    let one = gw.admin_get(&format!("/api/keys/{id}")).await;
    assert_eq!(one["id"], id.as_str());

    // Validation names the field.
    for (body, field) in [
        (json!({}), "name"),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x", "allowedModels": ["ok", "bad pattern"] }), "allowedModels[1]"),
        (json!({ "name": "x", "requestsPerMinute": 0 }), "requestsPerMinute"),
        (json!({ "name": "x", "expiresAt": "tomorrow" }), "expiresAt"),
        (json!({ "name": "x", "role": "root" }), "role"),
        (json!({ "name": "x", "colour": "red" }), "colour"),
    ] {
        let response = admin.post(gw.url("/api/keys")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["param"], field, "{body}: {error}");
    }
    let bad_json = admin.post(gw.url("/api/keys")).body("{not json").send().await.unwrap();
    assert_eq!(bad_json.status(), 400);

    // Update, revoke, delete.
    let updated: Value = admin
        .patch(gw.url(&format!("/api/keys/{id}")))
        .json(&json!({ "name": "ci-2", "requestsPerDay": 1000 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((updated["name"].clone(), updated["requestsPerDay"].clone()), (json!("ci-2"), json!(1000)));
    assert_eq!(updated["allowedModels"], json!(["openai/*"]), "fields not sent keep their value");
    let revoked = admin.post(gw.url(&format!("/api/keys/{id}/revoke"))).send().await.unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(revoked.json::<Value>().await.unwrap()["isActive"], false);
    assert_eq!(admin.delete(gw.url(&format!("/api/keys/{id}"))).send().await.unwrap().status(), 200);
    assert_eq!(admin.get(gw.url(&format!("/api/keys/{id}"))).send().await.unwrap().status(), 404);
    assert_eq!(admin.put(gw.url("/api/keys")).send().await.unwrap().status(), 405);

    // Every change is in the audit log, with who, and never the key.
    let log = gw.admin_get("/api/compliance/audit-log").await;
    let actions: Vec<&str> = log["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["key.create", "key.update", "key.revoke", "key.delete"] {
        assert!(actions.contains(&action), "{action} missing: {actions:?}");
    }
    let create = log["entries"].as_array().unwrap().iter().find(|e| e["action"] == "key.create").unwrap();
    assert_eq!(create["actor"], "admin");
    assert_eq!(create["ip"], "127.0.0.1");
    assert_eq!(create["after"]["name"], "ci");
    assert!(!log.to_string().contains(&secret[10..]));
    let bad_limit = admin.get(gw.url("/api/compliance/audit-log?limit=0")).send().await.unwrap();
    assert_eq!(bad_limit.json::<Value>().await.unwrap()["error"]["param"], "limit");

    // The database holds the hash, not the key.
    let data_dir = gw.stop().await;
    let raw = std::fs::read(data_dir.path().join("omniroute.db")).unwrap();
    let wal = std::fs::read(data_dir.path().join("omniroute.db-wal")).unwrap_or_default();
    for bytes in [raw, wal] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "key stored in clear");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_user_keys_stay_out_of_management_admin_keys_get_in() {
    let gw = TestGateway::start("", &[]).await;
    let (user, _) = create_key(&gw, json!({ "name": "app" })).await;
    let (admin_key, _) = create_key(&gw, json!({ "name": "ops", "role": "admin" })).await;
    let http = reqwest::Client::new();
    // A user key is refused on every management operation, whatever it would do.
    for (method, path) in guarded_operations(&gw).await.iter().filter(|(_, p)| p != "/api/no-such-endpoint") {
        let request = http.request(method.parse().unwrap(), gw.url(path)).bearer_auth(&user);
        let as_user = request.header("content-type", "application/json").body("{}").send().await.unwrap();
        assert_eq!(as_user.status(), 403, "{method} {path}");
        assert_eq!(as_user.json::<Value>().await.unwrap()["error"]["type"], "permission_error");
    }
    let as_admin = http.get(gw.url("/api/keys")).bearer_auth(&admin_key).send().await.unwrap();
    assert_eq!(as_admin.status(), 200);
    // An admin key is not an ambient credential: it works from scripts, audited by key id.
    let made =
        http.post(gw.url("/api/keys")).bearer_auth(&admin_key).json(&json!({ "name": "more" })).send().await.unwrap();
    assert_eq!(made.status(), 201);
    let log = gw.admin_get("/api/compliance/audit-log?limit=1").await;
    assert!(log["entries"][0]["actor"].as_str().unwrap().starts_with("key:key_"), "{log}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_policy_matrix_through_the_real_path() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let (open_key, _) = create_key(&gw, json!({ "name": "open" })).await;
    let (openai_only, _) = create_key(&gw, json!({ "name": "models", "allowedModels": ["openai/*", "gpt-4o*"] })).await;
    let (anthropic_only, _) = create_key(&gw, json!({ "name": "providers", "allowedProviders": ["anthropic"] })).await;
    let (limited, _) = create_key(&gw, json!({ "name": "limited", "requestsPerMinute": 2 })).await;
    let (revoked, revoked_view) = create_key(&gw, json!({ "name": "revoked" })).await;
    let id = revoked_view["id"].as_str().unwrap();
    gw.admin().post(gw.url(&format!("/api/keys/{id}/revoke"))).send().await.unwrap();
    let soon = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 2;
    let expires_at = omniroute_core::admin::json::timestamp(soon * 1000);
    let (expiring, _) = create_key(&gw, json!({ "name": "expiring", "expiresAt": expires_at })).await;

    // Without REQUIRE_API_KEY, no key is fine and a non-gateway key is ignored.
    assert_eq!(openai_chat(&gw, None, "openai/gpt-4o-mini").await.status(), 200);
    assert_eq!(openai_chat(&gw, Some("sk-someone-elses-openai-key"), "openai/gpt-4o-mini").await.status(), 200);
    assert_eq!(openai_chat(&gw, Some(&open_key), "anthropic/claude-x").await.status(), 200);

    // Model globs.
    assert_eq!(openai_chat(&gw, Some(&openai_only), "openai/gpt-4o-mini").await.status(), 200);
    let refused = openai_chat(&gw, Some(&openai_only), "anthropic/claude-x").await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["type"], "permission_error", "OpenAI's shape: {body}");
    // Providers, checked in the Anthropic client's own format.
    let anthropic = |key: &str, model: &str| {
        reqwest::Client::new()
            .post(gw.url("/v1/messages"))
            .header("x-api-key", key)
            .header("anthropic-version", "2023-06-01")
            .json(&json!({ "model": model, "max_tokens": 16, "messages": [{ "role": "user", "content": "hi" }] }))
            .send()
    };
    assert_eq!(anthropic(&anthropic_only, "anthropic/claude-x").await.unwrap().status(), 200);
    let wrong_provider = anthropic(&anthropic_only, "openai/gpt-4o-mini").await.unwrap();
    assert_eq!(wrong_provider.status(), 403);
    let body: Value = wrong_provider.json().await.unwrap();
    assert_eq!((body["type"].clone(), body["error"]["type"].clone()), (json!("error"), json!("permission_error")));

    // Revoked keys are refused even though keys are optional.
    assert_eq!(openai_chat(&gw, Some(&revoked), "openai/gpt-4o-mini").await.status(), 401);

    // Requests per minute: the third is a 429 with Retry-After, in the client's format.
    assert_eq!(openai_chat(&gw, Some(&limited), "openai/gpt-4o-mini").await.status(), 200);
    assert_eq!(openai_chat(&gw, Some(&limited), "openai/gpt-4o-mini").await.status(), 200);
    let over = openai_chat(&gw, Some(&limited), "openai/gpt-4o-mini").await;
    assert_eq!(over.status(), 429);
    assert!(over.headers().contains_key("retry-after"));
    assert_eq!(over.json::<Value>().await.unwrap()["error"]["type"], "rate_limit_error");
    let upstream_calls = mock.requests().len();

    // Expiry.
    assert_eq!(openai_chat(&gw, Some(&expiring), "openai/gpt-4o-mini").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(2_600)).await;
    assert_eq!(openai_chat(&gw, Some(&expiring), "openai/gpt-4o-mini").await.status(), 401);
    assert_eq!(mock.requests().len(), upstream_calls + 1, "refused requests never reach the upstream");

    // Usage rows are attributed to the key; the list shows when each key was last used.
    let keys = gw.admin_get("/api/keys").await;
    let open_view = keys["keys"].as_array().unwrap().iter().find(|k| k["name"] == "open").unwrap().clone();
    assert!(open_view["lastUsedAt"].is_string(), "{open_view}");
    let data_dir = gw.stop().await;
    let db = Database::open_file(&data_dir.path().join("omniroute.db")).await.unwrap();
    let rows = LibsqlUsageSink::new(db, 16).read_all().await.unwrap();
    let open_id = open_view["id"].as_str().unwrap();
    assert_eq!(rows.iter().filter(|r| r.api_key_id.as_deref() == Some(open_id)).count(), 1, "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r.api_key_id.is_none()).count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_keys_in_every_client_format() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(
        "",
        &[("REQUIRE_API_KEY", "true"), ("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &mock.base_url())],
    )
    .await;
    let (key, _) = create_key(&gw, json!({ "name": "app" })).await;
    let http = reqwest::Client::new();
    let missing = openai_chat(&gw, None, "openai/gpt-4o-mini").await;
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.json::<Value>().await.unwrap()["error"]["type"], "authentication_error");
    assert_eq!(openai_chat(&gw, Some("sk-not-ours"), "openai/gpt-4o-mini").await.status(), 401);
    assert_eq!(openai_chat(&gw, Some(&key), "openai/gpt-4o-mini").await.status(), 200);
    // Anthropic clients send x-api-key; their errors come in Anthropic's shape.
    let messages =
        json!({ "model": "openai/gpt-4o-mini", "max_tokens": 8, "messages": [{ "role": "user", "content": "hi" }] });
    let anthropic = http.post(gw.url("/v1/messages")).header("x-api-key", &key).json(&messages).send().await.unwrap();
    assert_eq!(anthropic.status(), 200);
    let anthropic = http.post(gw.url("/v1/messages")).json(&messages).send().await.unwrap();
    assert_eq!(anthropic.status(), 401);
    assert_eq!(anthropic.json::<Value>().await.unwrap()["error"]["type"], "authentication_error");
    // Gemini clients send x-goog-api-key or ?key=; errors in Google's shape.
    let gemini = json!({ "contents": [{ "role": "user", "parts": [{ "text": "hi" }] }] });
    let path = "/v1beta/models/openai%2Fgpt-4o-mini:generateContent";
    let by_query = http.post(gw.url(&format!("{path}?key={key}"))).json(&gemini).send().await.unwrap();
    assert_eq!(by_query.status(), 200);
    let by_header = http.post(gw.url(path)).header("x-goog-api-key", &key).json(&gemini).send().await.unwrap();
    assert_eq!(by_header.status(), 200);
    let refused = http.post(gw.url(path)).json(&gemini).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["status"], "UNAUTHENTICATED");
    // Model lists need the key too.
    assert_eq!(http.get(gw.url("/v1/models")).send().await.unwrap().status(), 401);
    assert_eq!(http.get(gw.url("/v1/models")).bearer_auth(&key).send().await.unwrap().status(), 200);
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_management_response_ever_contains_a_stored_secret() {
    let gw = TestGateway::start("", &[]).await;
    let mut secrets = vec![TEST_ADMIN_PASSWORD.to_owned()];
    // Many keys with random policies; then every readable endpoint is scanned for any of them.
    for n in 0..20 {
        let role = if n % 3 == 0 { "admin" } else { "user" };
        let (secret, _) = create_key(&gw, json!({ "name": format!("k{n}"), "role": role, "noLog": n % 2 == 0 })).await;
        secrets.push(secret);
    }
    let stored_hash_fragment = {
        let db = Database::open_file(&gw.data_dir.path().join("omniroute.db")).await.unwrap();
        let mut rows = db.connection().query("SELECT value FROM settings WHERE key = 'admin_auth'", ()).await.unwrap();
        let text: String = rows.next().await.unwrap().unwrap().get(0).unwrap();
        text.split('$').next_back().unwrap().trim_end_matches(['"', '}']).to_owned()
    };
    let password_hash = stored_hash_fragment.clone();
    secrets.push(stored_hash_fragment);
    // Provider keys (accounts of catalog and custom providers), a secret header and the outbound
    // proxy's password: written, updated, listed, and never shown in clear.
    let admin = gw.admin();
    let mut paths: Vec<String> = Vec::new();
    let custom = json!({ "id": "vault", "baseUrl": "https://llm.vault.example/v1",
        "headers": { "X-Api-Key": "hdr-secret-0123456789" } });
    assert_eq!(admin.post(gw.url("/api/provider-nodes")).json(&custom).send().await.unwrap().status(), 201);
    secrets.push("hdr-secret-0123456789".into());
    for n in 0..12 {
        let provider = ["openai", "groq", "claude", "vault"][n % 4];
        let key = format!("sk-prov-{n:02}-{}", "x7".repeat(8 + n));
        let body = json!({ "provider": provider, "apiKey": key, "name": format!("a{n}") });
        let created: Value =
            admin.post(gw.url("/api/providers")).json(&body).send().await.unwrap().json().await.unwrap();
        let id = created["connection"]["id"].as_str().unwrap().to_owned();
        if n % 3 == 0 {
            let rotated = format!("sk-rotated-{n:02}-{}", "q9".repeat(8));
            let put = admin.put(gw.url(&format!("/api/providers/{id}"))).json(&json!({ "apiKey": rotated }));
            assert_eq!(put.send().await.unwrap().status(), 200);
            secrets.push(rotated);
        }
        secrets.push(key);
        paths.push(format!("/api/providers/{id}"));
    }
    let proxy = json!({ "enabled": true, "url": "http://ops:proxy-secret-pass@proxy.internal.example:3128" });
    assert_eq!(admin.put(gw.url("/api/settings/proxy")).json(&proxy).send().await.unwrap().status(), 200);
    secrets.push("proxy-secret-pass".into());
    // Every readable management endpoint the document lists, the audit log in full, and each
    // account.
    let readable = guarded_operations(&gw).await.into_iter().filter(|(m, p)| m == "GET" && !p.contains("x1"));
    for path in readable
        .map(|(_, path)| path)
        .chain(["/api/compliance/audit-log?limit=1000".to_owned(), "/api/provider-nodes/vault".to_owned()])
        .chain(paths)
    {
        let path = path.as_str();
        let text = gw.admin().get(gw.url(path)).send().await.unwrap().text().await.unwrap();
        // The database export is the database itself, admin only: it must carry the admin
        // password's hash (a restore keeps the login), but provider keys only sealed and API
        // keys only hashed, never in clear.
        let whole_database = path == "/api/db-backups/export";
        for (n, secret) in secrets.iter().enumerate() {
            if whole_database && *secret == password_hash {
                continue;
            }
            assert!(!text.contains(secret.as_str()), "{path} shows a secret (the {n}th of the list)");
        }
    }
    gw.stop().await;
}
