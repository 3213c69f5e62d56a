//! When the remote database goes away: chat keeps answering from the last snapshot, management
//! writes answer 503 naming the database (never the token) instead of a success that would be
//! forgotten, and once it is back, writes work again and the usage rows buffered meanwhile
//! land. A server does not start on a database it cannot reach, nor on a shared database
//! without `OMNIROUTE_SECRET` or with one that does not open the stored keys; each says why.

use std::time::{Duration, Instant};

use omniroute_server::Settings;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::MockUpstream;
use omniroute_tests::sqld::Sqld;
use serde_json::json;

const SECRET: &str = "one secret for every instance";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_continues_writes_fail_with_a_clear_503_and_nothing_is_lost_once_it_is_back() {
    let mut sqld = Sqld::start_with_auth().await;
    let token = sqld.token();
    let mock = MockUpstream::start();
    let base = mock.base_url();
    let env = [
        ("OMNIROUTE_DATABASE_URL", sqld.url.as_str()),
        ("OMNIROUTE_DATABASE_AUTH_TOKEN", token.as_str()),
        ("OMNIROUTE_SECRET", SECRET),
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", base.as_str()),
    ];
    let gw = TestGateway::start("", &env).await;
    assert_eq!(gw.chat("openai/gpt-4o-mini").await.0, 200);
    gw.admin_get_until("/api/usage/logs", |page| page["total"] == 1).await;

    sqld.kill();
    for _ in 0..3 {
        assert_eq!(gw.chat("openai/gpt-4o-mini").await.0, 200, "chat answers from the snapshot");
    }
    let started = Instant::now();
    let (status, answer) = gw.admin_call("POST", "/api/keys", Some(json!({"name": "during-outage"}))).await;
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast: {:?}", started.elapsed());
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"]["code"], "store_unavailable", "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("libsql-remote at {}", sqld.url)), "names the database: {message}");
    assert!(message.contains("nothing was changed"), "{message}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!answer.to_string().contains(signature), "no token in {answer}");
    let (status, keys) = gw.admin_call("GET", "/api/keys", None).await;
    assert_eq!(
        (status, keys["keys"].clone()),
        (200, json!([])),
        "the key list comes from the snapshot; the refused key is not in it"
    );
    let health = gw.admin_get("/api/monitoring/health").await;
    assert_eq!(health["storage"], "libsql-remote");

    // Back: the write goes through, and the three chats' usage rows (buffered) land.
    sqld.restart().await;
    let (status, created) = gw.admin_call("POST", "/api/keys", Some(json!({"name": "after-outage"}))).await;
    assert_eq!(status, 201, "{created}");
    let keys = gw.admin_get("/api/keys").await;
    let names: Vec<&str> = keys["keys"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["after-outage"], "the refused write was not stored: {keys}");
    let logs = gw.admin_get_until("/api/usage/logs", |page| page["total"] == 4).await;
    assert_eq!(logs["total"], 4, "usage rows of the outage are written once it is back: {logs}");
    gw.stop().await;
}

async fn start_error(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::from_file(None);
    settings.host = "127.0.0.1".into();
    settings.port = 0;
    settings.data_dir = dir.path().to_path_buf();
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    match omniroute_server::start(settings, &lookup).await {
        Ok(_) => panic!("the server started"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_does_not_start_on_a_database_it_cannot_reach_or_without_the_shared_secret() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let message = start_error(&[
        ("OMNIROUTE_DATABASE_URL", url.as_str()),
        ("OMNIROUTE_DATABASE_AUTH_TOKEN", "secret-token"),
        ("OMNIROUTE_SECRET", SECRET),
    ])
    .await;
    assert!(started.elapsed() < Duration::from_secs(5), "fails fast: {:?}", started.elapsed());
    assert!(message.contains(&url) && message.contains("unreachable"), "{message}");
    assert!(!message.contains("secret-token"), "{message}");

    let sqld = Sqld::start().await;
    let message = start_error(&[("TURSO_DATABASE_URL", sqld.url.as_str())]).await;
    assert!(message.contains("OMNIROUTE_SECRET"), "{message}");

    // The first instance seals its provider key; one with another secret could not read it.
    let mock = MockUpstream::start();
    let base = mock.base_url();
    let same = [
        ("TURSO_DATABASE_URL", sqld.url.as_str()),
        ("OMNIROUTE_SECRET", SECRET),
        ("OPENAI_API_KEY", "sk-first"),
        ("OPENAI_BASE_URL", base.as_str()),
    ];
    let first = TestGateway::start("", &same).await;
    let message = start_error(&[
        ("TURSO_DATABASE_URL", sqld.url.as_str()),
        ("OMNIROUTE_SECRET", "another secret"),
        ("OPENAI_API_KEY", "sk-second"),
    ])
    .await;
    assert!(message.contains("OMNIROUTE_SECRET does not open the provider keys"), "{message}");
    // Nothing was written by the refused instance: the first one's key is intact.
    let providers = first.admin_get("/api/providers").await.to_string();
    assert!(!providers.contains("sk-second"), "{providers}");
    // The same secret starts, and the stored key works through it.
    let again = TestGateway::start("", &same).await;
    assert_eq!(again.chat("openai/gpt-4o-mini").await.0, 200);
    first.stop().await;
    again.stop().await;
}

/// Backups of a remote database are taken by reading it (see `tests/tests/remote_backups.rs`);
/// while it is unreachable, taking or restoring one fails with an error that names it (never
/// the token) and leaves nothing listed, and once it is back they work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_of_a_remote_database_fail_clearly_while_it_is_down_and_work_once_it_is_back() {
    let mut sqld = Sqld::start_with_auth().await;
    let token = sqld.token();
    let env = [
        ("OMNIROUTE_DATABASE_URL", sqld.url.as_str()),
        ("OMNIROUTE_DATABASE_AUTH_TOKEN", token.as_str()),
        ("OMNIROUTE_SECRET", SECRET),
    ];
    let gw = TestGateway::start("", &env).await;
    let (status, made) = gw.admin_call("PUT", "/api/db-backups", None).await;
    assert_eq!(status, 201, "{made}");

    sqld.kill();
    let (status, body) = gw.admin_call("PUT", "/api/db-backups", None).await;
    assert!(status >= 500, "{status} {body}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!body.to_string().contains(signature), "no token in {body}");
    let (status, body) = gw.admin_call("POST", "/api/db-backups", Some(json!({ "name": made["name"] }))).await;
    assert!(status >= 500, "{status} {body}");
    let listed = gw.admin_get("/api/db-backups").await;
    assert_eq!(listed["backups"].as_array().map(Vec::len), Some(1), "nothing half-made is listed: {listed}");

    sqld.restart().await;
    let (status, made) = gw.admin_call("PUT", "/api/db-backups", None).await;
    assert_eq!(status, 201, "{made}");
    let (status, restored) = gw.admin_call("POST", "/api/db-backups", Some(json!({ "name": made["name"] }))).await;
    assert_eq!(status, 200, "{restored}");
    gw.stop().await;
}
