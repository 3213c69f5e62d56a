//! Every log line of a request carries its request id: the guard's, the dispatcher's and the
//! stream relay's (which logs after the handler returned), through one `tracing` span per request.

use std::io::Write;
use std::sync::{Arc, Mutex};

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::MockUpstream;
use serde_json::json;

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn line_with(&self, needle: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned();
        text.lines().find(|l| l.contains(needle)).map(str::to_owned)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_log_lines_carry_its_request_id() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .init();
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
