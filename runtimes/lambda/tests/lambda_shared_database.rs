//! The Lambda function and a self-hosted server on one sqld act as one: a key created over the
//! server's management API is honoured by a warm sandbox (which catches up before an
//! invocation, at most once a second), and the sandbox's usage rows are read on the server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use http_body_util::BodyExt;
use lambda_http::request::LambdaRequest;
use omniroute_lambda::{LambdaHandler, settings};
use omniroute_native::bootstrap;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::MockUpstream;
use omniroute_tests::sqld::Sqld;
use serde_json::{Value, json};

const SECRET: &str = "one secret for every instance";

/// A function URL event for `POST /v1/chat/completions` with `key`.
fn chat(key: &str) -> lambda_http::Request {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lambda/function_url_chat.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let body = json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).to_string();
    event["headers"]["content-length"] = body.len().to_string().into();
    event["headers"]["authorization"] = format!("Bearer {key}").into();
    event["body"] = body.into();
    let event: LambdaRequest = serde_json::from_value(event).unwrap();
    lambda_http::Request::from(event)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_created_on_the_server_works_on_a_warm_lambda_on_the_same_database() {
    let sqld = Sqld::start().await;
    let mock = MockUpstream::start();
    let base = mock.base_url();
    let server = TestGateway::start(
        "",
        &[
            ("OMNIROUTE_DATABASE_URL", sqld.url.as_str()),
            ("OMNIROUTE_SECRET", SECRET),
            ("REQUIRE_API_KEY", "true"),
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", base.as_str()),
        ],
    )
    .await;

    let data_dir = tempfile::tempdir().unwrap();
    let env = |key: &str| match key {
        "OMNIROUTE_DATA_DIR" => Some(data_dir.path().display().to_string()),
        "TURSO_DATABASE_URL" => Some(sqld.url.clone()),
        "OMNIROUTE_SECRET" => Some(SECRET.to_owned()),
        "INITIAL_PASSWORD" => Some(omniroute_tests::gateway::TEST_ADMIN_PASSWORD.to_owned()),
        "REQUIRE_API_KEY" => Some("true".to_owned()),
        "OPENAI_API_KEY" => Some("sk-test".to_owned()),
        "OPENAI_BASE_URL" => Some(mock.base_url()),
        _ => None,
    };
    let booted = bootstrap(&settings::from_env(&env).unwrap(), &env).await.expect("cold start on sqld");
    let lambda = LambdaHandler::new(&booted);
    assert_eq!(lambda.handle(chat("sk-not-yet")).await.status(), 401, "the sandbox is warm");

    let (status, created) = server.admin_call("POST", "/api/keys", Some(json!({"name": "shared"}))).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().unwrap();
    let started = Instant::now();
    loop {
        let response = lambda.handle(chat(key)).await;
        let status = response.status();
        // The body's end is where the sandbox writes its usage rows (then it may freeze).
        response.into_body().collect().await.unwrap();
        if status == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "the Lambda never took the key: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("a key created on the server works on the Lambda after {:?}", started.elapsed());
    // The sandbox's usage row is in the one database (written before its response ended).
    let logs = server.admin_get_until("/api/usage/logs", |page| page["total"] == 1).await;
    assert_eq!(logs["total"], 1, "{logs}");
    server.stop().await;
}
