//! The real coding agents, unchanged: Claude Code and Codex (pinned npm packages) each complete a
//! task that needs a tool round trip (the model calls the agent's own file tool, the agent runs
//! it and sends the result back, the model answers) through the gateway with a gateway API key,
//! in front of a provider of each of the five wire formats. First each agent runs straight
//! against the mock in its own format, which shows the mock's `agent-tool-loop` is what the
//! agent expects and records what the agent sends.

use std::time::{Duration, Instant};

use omniroute_tests::agents::{self, Agent, Endpoint, Scratch};
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{AGENT_DONE_TEXT, AGENT_MODEL, MockUpstream, agent_task_prompt};
use serde_json::json;

const PROVIDERS: [&str; 5] = ["openai", "responses", "anthropic", "gemini", "ollama"];
/// One run's limit: a passing run takes seconds; Claude Code retries a refused request a few
/// times with backoff before it gives up.
const RUN_LIMIT: Duration = Duration::from_secs(120);
const OUTPUT_FILE: &str = "agent-output.txt";

/// Runs `agent` once on the task and checks everything a user would see, and what the mock
/// saw: `Err` holds the whole story of a failed run.
async fn task(
    mock: &MockUpstream,
    agent: Agent,
    origin: &str,
    key: &str,
    model: &str,
    label: &str,
) -> Result<(), String> {
    let scratch = Scratch::new(label);
    let file = scratch.work.join(OUTPUT_FILE);
    let text = format!("omniroute-{label}-ok");
    let prompt = agent_task_prompt(file.to_str().expect("UTF-8 path"), &text);
    let seen_before = mock.requests().len();
    let endpoint = Endpoint { origin, key, model };
    let outcome = agents::run(agent, &endpoint, &scratch, &prompt, RUN_LIMIT).await;
    let requests: Vec<_> = mock.requests().split_off(seen_before);

    let mut problems = Vec::new();
    if outcome.timed_out {
        problems.push(format!("did not finish within {RUN_LIMIT:?}"));
    } else if outcome.code != Some(0) {
        problems.push(format!("exit code {:?}", outcome.code));
    }
    match std::fs::read_to_string(&file) {
        Ok(written) if written == text => {}
        Ok(written) => problems.push(format!("{OUTPUT_FILE} holds {written:?}, not {text:?}")),
        Err(_) => problems.push(format!("{OUTPUT_FILE} was not written")),
    }
    if !outcome.stdout.contains(AGENT_DONE_TEXT) {
        problems.push("the final text is not on stdout".into());
    }
    let generations: Vec<_> = requests.iter().filter(|r| agents::wire_of(r).is_some()).collect();
    if !generations.iter().skip(1).any(|r| agents::has_tool_result(r)) {
        problems.push(format!(
            "the mock saw {} generation request(s), none after the first carrying a tool result",
            generations.len()
        ));
    }
    eprintln!(
        "{label}: {} in {:.1}s, {} upstream request(s)",
        if problems.is_empty() { "PASS" } else { "FAIL" },
        outcome.elapsed.as_secs_f64(),
        requests.len()
    );
    if problems.is_empty() {
        return Ok(());
    }
    let dumped = agents::dump(&requests, scratch.path());
    let described: Vec<String> = requests.iter().map(agents::describe).collect();
    let kept = scratch.keep();
    Err(format!(
        "{label}: {}\n--- stdout ---\n{}\n--- stderr (last 4000 chars) ---\n{}\n--- what the mock received ({} request(s); full bodies: {:?}) ---\n{}\n--- scratch dir kept: {} ---",
        problems.join("; "),
        outcome.stdout.trim_end(),
        tail(&outcome.stderr, 4000),
        requests.len(),
        dumped,
        described.join("\n"),
        kept.display()
    ))
}

fn tail(text: &str, limit: usize) -> &str {
    let start = text.len().saturating_sub(limit);
    let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
    text[start..].trim_end()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_code_and_codex_complete_a_tool_round_trip_through_every_provider_format() {
    let started = Instant::now();
    for agent in Agent::ALL {
        let version = agents::installed_version(agent);
        assert!(
            version.contains(agent.version()),
            "{} is {version:?}, not the pinned {}",
            agent.name(),
            agent.version()
        );
    }
    let mock = MockUpstream::start();

    // Straight against the mock, in the agent's own format: the mock holds up, and the output
    // shows what each agent sends.
    for agent in Agent::ALL {
        let label = format!("{}-direct", agent.name());
        let origin = mock.root_url();
        let seen_before = mock.requests().len();
        let result = task(&mock, agent, &origin, "sk-mock", AGENT_MODEL, &label).await;
        if let Err(story) = result {
            panic!("the mock's agent-tool-loop does not hold up to {} itself:\n{story}", agent.name());
        }
        let sent: Vec<String> = mock.requests()[seen_before..].iter().map(agents::describe).collect();
        eprintln!("what {} {} sends:\n{}\n", agent.name(), agent.version(), sent.join("\n"));
    }

    // Through the gateway, which requires a key, with one made over the management API.
    let gw = TestGateway::with_every_format(&mock).await;
    let (status, _) = gw.admin_call("PATCH", "/api/settings", Some(json!({ "requireApiKey": true }))).await;
    assert_eq!(status, 200, "requireApiKey set");
    let (status, created) = gw.admin_call("POST", "/api/keys", Some(json!({ "name": "coding-agents" }))).await;
    assert_eq!(status, 201, "key created");
    let key = created["key"].as_str().expect("the key, once").to_owned();
    let origin = gw.base_url();

    let mut failures = Vec::new();
    let mut table = Vec::new();
    for agent in Agent::ALL {
        for provider in PROVIDERS {
            let label = format!("{}-{provider}", agent.name());
            let model = format!("{provider}/{AGENT_MODEL}");
            let result = task(&mock, agent, &origin, &key, &model, &label).await;
            table.push(format!("{label}: {}", if result.is_ok() { "pass" } else { "FAIL" }));
            if let Err(story) = result {
                eprintln!("{story}\n");
                failures.push(story);
            }
        }
    }
    gw.stop().await;
    eprintln!("{}\n(total {:.0}s)", table.join("\n"), started.elapsed().as_secs_f64());
    assert!(
        failures.is_empty(),
        "{} of 10 runs failed:\n{}\n\n{}",
        failures.len(),
        table.join("\n"),
        failures.join("\n\n")
    );
}
