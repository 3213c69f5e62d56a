//! The Lambda handler fed real function URL events (payload v2.0, from `tests/fixtures/lambda/`)
//! against the mock upstream: answers, SSE chunk by chunk, OpenAI errors, and usage rows that
//! reach the database before the response body ends (Lambda freezes the sandbox right after).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::BodyExt;
use lambda_http::request::LambdaRequest;
use omniroute_lambda::{LambdaHandler, ResponseBody, handler, settings};
use omniroute_native::{Bootstrapped, bootstrap};
use omniroute_tests::mock_upstream::{MOCK_TEXT, MOCK_USAGE, MockUpstream};
use omniroute_tests::sse::{data_events, streamed_text};
use serde_json::Value;
use tempfile::TempDir;

/// A function URL event from the fixtures, decoded the way lambda_http decodes it at runtime.
fn event(name: &str) -> lambda_http::Request {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lambda").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let event: LambdaRequest =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not a Lambda HTTP event: {e}"));
    assert!(
        matches!(event, LambdaRequest::ApiGatewayV2(_)),
        "{name} must decode as a payload v2.0 (function URL) event"
    );
    lambda_http::Request::from(event)
}

/// One cold start against `mock`, as `main` does it but with injected env.
struct Sandbox {
    handler: LambdaHandler,
    booted: Bootstrapped,
    data_dir: TempDir,
}

async fn cold_start(mock: &MockUpstream) -> Sandbox {
    let data_dir = tempfile::tempdir().unwrap();
    let env = |key: &str| match key {
        "OMNIROUTE_DATA_DIR" => Some(data_dir.path().display().to_string()),
        "OPENAI_API_KEY" => Some("sk-test".to_owned()),
        "OPENAI_BASE_URL" => Some(mock.base_url()),
        _ => None,
    };
    let settings = settings::from_env(&env).unwrap();
    assert_eq!(settings.data_dir, data_dir.path());
    let booted = bootstrap(&settings, &env).await.expect("bootstrap");
    Sandbox { handler: LambdaHandler::new(&booted), booted, data_dir }
}

/// Every data frame of `body`, one entry per frame.
async fn frames(mut body: ResponseBody) -> Vec<Bytes> {
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        frames.push(frame.expect("body frame").into_data().expect("data frame"));
    }
    frames
}

#[tokio::test]
async fn non_stream_chat_answers_and_writes_usage_before_the_body_ends() {
    let mock = MockUpstream::start();
    let sandbox = cold_start(&mock).await;

    let response = sandbox.handler.handle(event("function_url_chat.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-omniroute-provider"], "openai");
    // The row is recorded but still buffered: only the body's end may flush it.
    assert_eq!(sandbox.booted.usage.pending(), 1);
    assert!(sandbox.booted.usage.read_all().await.unwrap().is_empty());

    let body: Vec<u8> = frames(response.into_body()).await.concat();
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["choices"][0]["message"]["content"], MOCK_TEXT);

    let upstream = mock.last_request();
    assert_eq!(upstream.headers["authorization"], "Bearer sk-test");
    assert_eq!(upstream.json()["model"], "gpt-mock");

    let rows = sandbox.booted.usage.read_all().await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].input_tokens, Some(MOCK_USAGE.0));
    assert_eq!(rows[0].input_tokens, Some(12));
    assert_eq!(rows[0].output_tokens, Some(MOCK_USAGE.1));
    assert_eq!((rows[0].provider.as_str(), rows[0].status, rows[0].stream), ("openai", 200, false));
    assert_eq!(sandbox.booted.usage.pending(), 0);
}

#[tokio::test]
async fn base64_stream_chat_relays_sse_chunk_by_chunk_and_writes_usage_before_the_end() {
    let mock = MockUpstream::start();
    let sandbox = cold_start(&mock).await;

    let response = sandbox.handler.handle(event("function_url_chat_stream.json")).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");

    let frames = frames(response.into_body()).await;
    assert!(frames.len() > 2, "SSE must arrive as several frames, not one buffered body: {frames:?}");
    let text = String::from_utf8(frames.concat()).unwrap();
    assert_eq!(data_events(&text).last().map(String::as_str), Some("[DONE]"), "{text}");
    assert_eq!(streamed_text(&text), MOCK_TEXT);
    assert_eq!(mock.last_request().json()["stream"], true);

    // Nothing flushed these rows but the body's own end.
    let rows = sandbox.booted.usage.read_all().await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].stream);
    assert_eq!(rows[0].status, 200);
    assert_eq!(sandbox.booted.usage.pending(), 0);
}

#[tokio::test]
async fn malformed_json_is_an_openai_400_and_never_reaches_the_upstream() {
    let mock = MockUpstream::start();
    let sandbox = cold_start(&mock).await;

    let response = sandbox.handler.handle(event("function_url_malformed_json.json")).await;
    assert_eq!(response.status(), 400);
    let body: Vec<u8> = frames(response.into_body()).await.concat();
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["type"], "invalid_request_error", "{json}");
    assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{json}");
    assert!(mock.requests().is_empty());
    assert!(sandbox.booted.usage.read_all().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_cold_start_answers_an_openai_error() {
    let missing = |key: &str| (key == "OMNIROUTE_CONFIG").then(|| "/nonexistent/omniroute.toml".to_owned());
    assert!(settings::from_env(&missing).is_err());

    let response = handler::startup_failed();
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["content-type"], "application/json");
    let json: Value = serde_json::from_slice(&frames(response.into_body()).await.concat()).unwrap();
    assert_eq!(json["error"]["type"], "api_error");
    assert_eq!(json["error"]["code"], "startup_failed");
}

/// The chat fixture turned into another call: method, path, body and extra headers.
fn call(method: &str, path: &str, body: &str, headers: &[(&str, &str)]) -> lambda_http::Request {
    let path_buf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lambda/function_url_chat.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path_buf).unwrap()).unwrap();
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    event["body"] = body.into();
    event["headers"]["content-length"] = body.len().to_string().into();
    for (name, value) in headers {
        event["headers"][*name] = (*value).into();
    }
    let event: LambdaRequest = serde_json::from_value(event).unwrap();
    lambda_http::Request::from(event)
}

#[tokio::test]
async fn shutdown_and_restart_do_not_exist_on_lambda() {
    let mock = MockUpstream::start();
    let sandbox = cold_start(&mock).await;
    // First run: the generated admin password is in a file only the owner reads.
    let password = std::fs::read_to_string(sandbox.data_dir.path().join("initial-admin-password")).unwrap();
    let login = sandbox
        .handler
        .handle(call("POST", "/api/auth/login", &serde_json::json!({"password": password.trim()}).to_string(), &[]))
        .await;
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    for path in ["/api/shutdown", "/api/restart"] {
        let response = sandbox.handler.handle(call("POST", path, "", &[("cookie", &cookie)])).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let init = sandbox.handler.handle(call("GET", "/api/init", "", &[])).await;
    let init: Value = serde_json::from_slice(&frames(init.into_body()).await.concat()).unwrap();
    assert_eq!(init["serverControls"], false);
}
