//! `cargo lambda watch` smoke test: the real binary, built by cargo-lambda and run under its
//! emulated Lambda runtime API, answers function-URL requests (plain and SSE) through the
//! mock upstream. A missing cargo-lambda fails the test with the fix (scripts/test installs it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_methods)]

use std::fs::File;
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use omniroute_storage::{Database, LibsqlUsageSink};
use omniroute_tests::mock_upstream::{MOCK_TEXT, MOCK_USAGE, MockUpstream};
use omniroute_tests::sdk::{run_anthropic_sdk, run_openai_sdk_chat};
use omniroute_tests::sse::{data_events, streamed_text};
use omniroute_tests::tools::{free_port, tool};
use serde_json::{Value, json};

/// The first start compiles the function; give a cold cache on a 2-core box room.
const FIRST_START: Duration = Duration::from_secs(15 * 60);

/// `cargo lambda watch` in its own process group, killed with all its children on drop.
struct Watch {
    child: Child,
    log: PathBuf,
}

impl Watch {
    fn start(port: u16, env: &[(&str, String)], log: &Path) -> Watch {
        let mut command = Command::new(tool("cargo-lambda"));
        // Called directly, a cargo subcommand gets its own name as the first argument.
        command
            .args(["lambda", "watch", "--ignore-changes", "-A", "127.0.0.1", "-P", &port.to_string()])
            .args(["--timeout", &FIRST_START.as_secs().to_string()]);
        for (key, value) in env {
            command.arg("--env-var").arg(format!("{key}={value}"));
            command.env(key, value);
        }
        let out = File::create(log).unwrap();
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            // cargo-lambda spawns cargo and then the function: kill the whole group.
            .process_group(0);
        let child = command.spawn().expect("spawn cargo lambda watch");
        Watch { child, log: log.to_path_buf() }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// Resolves once cargo lambda reports that the function process exited.
    async fn function_exited(&self) {
        loop {
            if std::fs::read_to_string(&self.log).unwrap_or_default().contains("command exited") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Awaits `request` unless the function dies first: cargo lambda would hold the invocation
    /// until its own timeout, so a crash is reported at once, with the log.
    async fn guard<T>(&self, request: impl Future<Output = T>) -> T {
        tokio::select! {
            result = request => result,
            () = self.function_exited() => panic!("the function exited:\n{}", self.log_tail()),
        }
    }

    /// Fails the test with the log if cargo lambda exited.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("cargo lambda watch exited with {status}:\n{}", self.log_tail());
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- cargo lambda watch log (tail) ---\n{}", self.log_tail());
        }
    }
}

async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> reqwest::Response {
    let request = client.post(url).header("content-type", "application/json").body(body.to_string());
    request.timeout(Duration::from_secs(60)).send().await.unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn cargo_lambda_watch_serves_chat_and_streams_sse() {
    let started = Instant::now();
    let mock = MockUpstream::start();
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let env = [
        ("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned())),
        ("OPENAI_API_KEY", "sk-test".to_owned()),
        ("OPENAI_BASE_URL", mock.base_url()),
        ("OMNIROUTE_DATA_DIR", data_dir.path().display().to_string()),
        ("OMNIROUTE_SECRET", "lambda-watch-test-secret".to_owned()),
    ];
    let mut watch = Watch::start(port, &env, &data_dir.path().join("cargo-lambda.log"));
    let base = format!("http://127.0.0.1:{port}/lambda-url/omniroute-lambda");
    let client = reqwest::Client::new();

    // Ready once the function itself answers: cargo lambda holds invocations while it compiles.
    let deadline = Instant::now() + FIRST_START;
    loop {
        watch.assert_running();
        let health = watch.guard(client.get(format!("{base}/health")).timeout(FIRST_START).send()).await;
        if let Ok(response) = health {
            if response.status().is_success() {
                break;
            }
            eprintln!("health: {} {}", response.status(), response.text().await.unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "the function did not answer within {FIRST_START:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("cargo lambda watch ready after {:?}", started.elapsed());

    let request = json!({ "model": "openai/gpt-mock", "messages": [{ "role": "user", "content": "Say hello." }] });
    let response = watch.guard(post_json(&client, &format!("{base}/v1/chat/completions"), &request)).await;
    assert_eq!(response.status(), 200);
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], MOCK_TEXT, "{body}");
    assert_eq!(mock.last_request().headers["authorization"], "Bearer sk-test");

    let mut request = request;
    request["stream"] = json!(true);
    let response = watch.guard(post_json(&client, &format!("{base}/v1/chat/completions"), &request)).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    let mut chunks = response.bytes_stream();
    let mut text = Vec::new();
    while let Some(chunk) = watch.guard(chunks.next()).await {
        text.extend_from_slice(&chunk.unwrap());
    }
    let text = String::from_utf8(text).unwrap();
    assert_eq!(data_events(&text).last().map(String::as_str), Some("[DONE]"), "{text}");
    assert_eq!(streamed_text(&text), MOCK_TEXT);
    assert_eq!(mock.last_request().json()["stream"], true);
    // Both rows were flushed before each body ended: read them from the function's database.
    let db = Database::open_file(&data_dir.path().join("omniroute.db")).await.unwrap();
    let rows = LibsqlUsageSink::new(db, 16).read_all().await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[0].stream, rows[0].input_tokens), (false, Some(MOCK_USAGE.0)), "{rows:?}");
    assert!(rows[1].stream, "{rows:?}");

    // The official OpenAI Python SDK, unchanged, against the function URL.
    let sdk_base = format!("{base}/v1");
    let summary = watch.guard(tokio::task::spawn_blocking(move || run_openai_sdk_chat(&sdk_base, "openai"))).await;
    assert_eq!(summary.unwrap()["stream"], MOCK_TEXT);
    // Translation under Lambda too: the Anthropic SDK in front of an OpenAI provider, once the
    // account has cooled down from the SDK's 429 check (the mock says `retry-after: 1`).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let sdk_base = base.clone();
    let summary = watch.guard(tokio::task::spawn_blocking(move || run_anthropic_sdk(&sdk_base, "openai"))).await;
    assert_eq!(summary.unwrap()["stream"], MOCK_TEXT);

    watch.assert_running();
    let log = std::fs::read_to_string(&watch.log).unwrap_or_default();
    for line in log.lines().filter(|line| line.contains("runtime API call failed")) {
        eprintln!("recovered: {line}");
    }
    eprintln!("cargo lambda watch test done in {:?}", started.elapsed());
}
