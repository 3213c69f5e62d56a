//! Every log line of a request carries its request id: the guard's, the dispatcher's and the
//! stream relay's (which logs after the handler returned), through one `tracing` span per request.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::log_capture::LogCapture;
use omniroute_tests::mock_upstream::MockUpstream;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_log_lines_carry_its_request_id() {
    let logs = LogCapture::install(tracing::Level::WARN);
    let mock = MockUpstream::start();
    // `openai` reaches the mock; `groq` points at a closed port.
    let gw = TestGateway::start(
        "",
        &[
            ("OPENAI_API_KEY", "sk-test"),
            ("OPENAI_BASE_URL", &mock.base_url()),
            ("GROQ_API_KEY", "gsk-test"),
            ("GROQ_BASE_URL", "http://127.0.0.1:9/v1"),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let ask = |model: &str, stream: bool, id: &str| {
        let body = json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": "hi" }] });
        http.post(gw.url("/v1/chat/completions")).header("x-request-id", id).json(&body).send()
    };
    // An upstream that cannot be reached: the dispatcher's warning.
    let failed = ask("groq/llama", false, "span-connect-1").await.unwrap();
    assert_eq!(failed.headers()["x-request-id"], "span-connect-1");
    failed.bytes().await.unwrap();
    let line = logs.line_with("upstream attempt failed").expect("the dispatcher warned");
    assert!(line.contains("request_id=span-connect-1"), "{line}");
    // A stream cut after it started: the relay's warning, logged while the body streams.
    let cut = ask("openai/cut-stream", true, "span-cut-2").await.unwrap();
    cut.bytes().await.unwrap();
    let line = logs.line_with("upstream stream broke").expect("the relay warned");
    assert!(line.contains("request_id=span-cut-2"), "{line}");
    gw.stop().await;
}
