//! The format matrix: every client format × every provider format × {text, streamed text, tool
//! call, streamed tool call, upstream error, stream cut}, through the real server against a mock
//! that speaks each provider's documented format. Prints the grid; every cell must pass.

use futures_util::future::join_all;
use omniroute_tests::clients::Client;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use serde_json::json;

#[derive(Debug, Clone, Copy)]
enum Scenario {
    Text,
    StreamText,
    Tool,
    StreamTool,
    UpstreamError,
    StreamCut,
}

const SCENARIOS: [Scenario; 6] = [
    Scenario::Text,
    Scenario::StreamText,
    Scenario::Tool,
    Scenario::StreamTool,
    Scenario::UpstreamError,
    Scenario::StreamCut,
];

/// Provider ids as configured below, one per provider wire format.
const PROVIDERS: [&str; 5] = ["openai", "responses", "anthropic", "gemini", "ollama"];

async fn run_cell(
    http: &reqwest::Client,
    base: &str,
    client: Client,
    provider: &str,
    scenario: Scenario,
) -> Result<(), String> {
    let (model, stream) = match scenario {
        Scenario::Text => ("gpt-mock", false),
        Scenario::StreamText => ("gpt-mock", true),
        Scenario::Tool => ("tools", false),
        Scenario::StreamTool => ("tools", true),
        Scenario::UpstreamError => ("error-429", false),
        Scenario::StreamCut => ("cut-stream", true),
    };
    let response = client
        .request(http, base, &format!("{provider}/{model}"), stream)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| format!("body failed: {e}"))?;
    if let Scenario::UpstreamError = scenario {
        return client.check_error(status, 429, &body);
    }
    if status != 200 {
        return Err(format!("status {status}: {body}"));
    }
    let answer = if stream { client.parse_stream(&body)? } else { client.parse_full(&body)? };
    let fail = |what: &str| Err(format!("{what}: {answer:?}\n{body}"));
    match scenario {
        Scenario::Text | Scenario::StreamText => {
            if answer.text != MOCK_TEXT {
                return fail("text differs");
            }
            if !answer.complete || answer.stream_error || !client.is_stop_finish(&answer.finish) {
                return fail("not a clean end");
            }
        }
        Scenario::Tool | Scenario::StreamTool => {
            if answer.tool != Some(("get_weather".to_owned(), json!({ "city": "Paris" }))) {
                return fail("tool call differs");
            }
            if !answer.complete || answer.stream_error || !client.is_tool_finish(&answer.finish) {
                return fail("not a clean tool-call end");
            }
        }
        Scenario::StreamCut => {
            if answer.complete || !answer.stream_error {
                return fail("a cut stream must end in the format's error event, not look complete");
            }
        }
        Scenario::UpstreamError => {}
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_format_reaches_every_provider_format() {
    let mock = MockUpstream::start();
    // The matrix is about formats: breakers must not open on its deliberate cut streams.
    let no_breakers = "[resilience]\nfailure_threshold = 100000\n[resilience.local]\nfailure_threshold = 100000\n";
    let gw = TestGateway::with_every_format_and(&mock, no_breakers).await;
    let http = reqwest::Client::new();
    let base = gw.base_url();
    let mut cells = Vec::new();
    for client in Client::ALL {
        for provider in PROVIDERS {
            for scenario in SCENARIOS {
                cells.push((client, provider, scenario));
            }
        }
    }
    // Upstream 429s cool their account down (that is the point), so they run last, after every
    // other cell has been answered.
    cells.sort_by_key(|(_, _, scenario)| matches!(scenario, Scenario::UpstreamError));
    let (errors, others): (Vec<_>, Vec<_>) =
        cells.iter().partition(|(_, _, scenario)| matches!(scenario, Scenario::UpstreamError));
    let mut results = join_all(
        others.iter().map(|(client, provider, scenario)| run_cell(&http, &base, *client, provider, *scenario)),
    )
    .await;
    results.extend(
        join_all(
            errors.iter().map(|(client, provider, scenario)| run_cell(&http, &base, *client, provider, *scenario)),
        )
        .await,
    );

    let mut grid = format!("{:<18}", "client \\ provider");
    for provider in PROVIDERS {
        grid.push_str(&format!("{provider:<12}"));
    }
    let mut failures = Vec::new();
    for client in Client::ALL {
        grid.push_str(&format!("\n{:<18}", client.name()));
        for provider in PROVIDERS {
            let mut passed = 0;
            for ((c, p, scenario), result) in cells.iter().zip(&results) {
                if *c == client && *p == provider {
                    match result {
                        Ok(()) => passed += 1,
                        Err(why) => failures.push(format!("{} → {provider} {scenario:?}: {why}", client.name())),
                    }
                }
            }
            grid.push_str(&format!("{:<12}", format!("{passed}/{}", SCENARIOS.len())));
        }
    }
    eprintln!("{grid}");
    // Each provider was called on its native path.
    let paths: Vec<String> = mock.requests().iter().map(|r| r.path.clone()).collect();
    for native in [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        ":generateContent",
        ":streamGenerateContent",
        "/api/chat",
    ] {
        assert!(paths.iter().any(|p| p.contains(native)), "no upstream call on {native}: {paths:?}");
    }
    assert!(failures.is_empty(), "{} of {} cells failed:\n{}", failures.len(), results.len(), failures.join("\n\n"));
    gw.stop().await;
}
