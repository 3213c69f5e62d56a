//! `GET /api/sync/cloud` tells the truth about the shared database: the store and where it is
//! (never the token), that it is shared, how often this instance reads other instances' changes,
//! that a change made on another instance was taken in, and the last error while the database
//! was unreachable. On the embedded file it says the store is not shared.

use std::time::{Duration, Instant};

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::sqld::Sqld;
use serde_json::{Value, json};

async fn until(gw: &TestGateway, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let status = gw.admin_get("/api/sync/cloud").await;
        if done(&status) {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(6), "{what}: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_status_reports_the_store_changes_taken_in_and_the_last_error() {
    let mut sqld = Sqld::start_with_auth().await;
    let token = sqld.token();
    let env = [
        ("OMNIROUTE_DATABASE_URL", sqld.url.as_str()),
        ("OMNIROUTE_DATABASE_AUTH_TOKEN", token.as_str()),
        ("OMNIROUTE_SECRET", "one secret for every instance"),
    ];
    let a = TestGateway::start("", &env).await;
    let b = TestGateway::start("", &env).await;

    let status = until(&a, "A has read the version", |s| s["polls"].as_u64() > Some(0)).await;
    assert_eq!(status["storage"], "libsql-remote", "{status}");
    assert_eq!(status["shared"], true, "{status}");
    assert_eq!(status["pollEveryMs"], 1000, "{status}");
    let location = status["location"].as_str().unwrap();
    assert!(location.contains(&sqld.url), "{status}");
    let text = status.to_string();
    assert!(!text.contains(&token) && !text.contains(token.rsplit('.').next().unwrap()), "the token leaked: {text}");
    assert_eq!(status["lastError"], Value::Null, "{status}");

    // A change made on B is taken in on A, and A says so.
    let taken = status["changesTaken"].as_u64().unwrap();
    let (code, _) = b.admin_call("POST", "/api/keys", Some(json!({"name": "made-on-b"}))).await;
    assert_eq!(code, 201);
    let status = until(&a, "A took B's change in", |s| s["changesTaken"].as_u64() > Some(taken)).await;
    assert!(status["lastChangeAtMs"].as_u64().is_some(), "{status}");
    let b_version = b.admin_get("/api/sync/cloud").await["configVersion"].clone();
    assert_eq!(status["configVersion"], b_version, "A serves the version B wrote");

    // The database goes away: the next read fails and the status names the database, not the
    // token, and says when.
    sqld.kill();
    let status = until(&a, "A reports the failed read", |s| !s["lastError"].is_null()).await;
    let message = status["lastError"]["message"].as_str().unwrap();
    assert!(message.contains(&sqld.url), "{status}");
    assert!(!status.to_string().contains(&token), "{status}");
    assert!(status["lastError"]["atMs"].as_u64().is_some(), "{status}");
    sqld.restart().await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_file_the_store_is_not_shared() {
    let gw = TestGateway::start("", &[]).await;
    let status = gw.admin_get("/api/sync/cloud").await;
    assert_eq!(status["storage"], "libsql-file", "{status}");
    assert_eq!(status["shared"], false, "{status}");
    assert_eq!(status["pollEveryMs"], Value::Null, "{status}");
    gw.stop().await;
}
