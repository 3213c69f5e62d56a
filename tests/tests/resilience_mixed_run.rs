//! Issue 16's "done means", the mixed run: healthy and failing models interleaved, every client
//! format × every provider format, one key per provider as a user would have, default resilience
//! settings (the keyless local profile for Ollama too). Every healthy request is answered; every
//! failing one gets its honest status in the client's own error format. This is the issue's
//! original complaint: failing models cooled or broke the whole account, so the gateway refused
//! their healthy siblings without asking the upstream.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use omniroute_tests::clients::Client;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};

/// Provider ids of [`TestGateway::with_every_format`], one per provider wire format.
const PROVIDERS: [&str; 5] = ["openai", "responses", "anthropic", "gemini", "ollama"];

/// The failing models, streamed or not, and the statuses that are honest for them: the
/// upstream's own, or the gateway's 503 once that model's breaker is open (429s cool the model
/// and are answered 429 while it cools).
const FAILING: [(&str, bool, &[u16]); 7] = [
    ("error-429", false, &[429]),
    ("error-500", false, &[500, 503]),
    ("error-503", true, &[503]),
    ("error-529", false, &[529, 503]),
    ("error-404", false, &[404]),
    ("context-too-long", true, &[400]),
    // A stream that dies after its first text: a 200 that never completes, until the breaker.
    ("cut-stream", true, &[200, 503]),
];

/// The healthy models: any name but the mock's special ones answers `MOCK_TEXT`.
const HEALTHY: [&str; 3] = ["gpt-mock", "healthy-b", "healthy-c"];

const ROUNDS: usize = 3;

#[derive(Default)]
struct Tally {
    healthy: usize,
    failing: BTreeMap<String, usize>,
    errors: Vec<String>,
}

async fn one_client(http: &reqwest::Client, base: &str, client: Client) -> Tally {
    let mut tally = Tally::default();
    let mut turn = 0usize;
    for round in 0..ROUNDS {
        for provider in PROVIDERS {
            for (model, stream, honest) in FAILING {
                let cell = format!("{} client, {provider}, round {round}", client.name());
                let (status, body) = send(http, base, client, &format!("{provider}/{model}"), stream).await;
                match check_failing(client, model, stream, honest, status, &body) {
                    Ok(()) => *tally.failing.entry(format!("{model} → {status}")).or_default() += 1,
                    Err(e) => tally.errors.push(format!("{cell}: {model}: {e}")),
                }
                // A healthy sibling right after each failure, streamed every other time.
                let healthy = HEALTHY[turn % HEALTHY.len()];
                let stream = turn % 2 == 1;
                turn += 1;
                let (status, body) = send(http, base, client, &format!("{provider}/{healthy}"), stream).await;
                match check_healthy(client, stream, status, &body) {
                    Ok(()) => tally.healthy += 1,
                    Err(e) => {
                        tally.errors.push(format!("{cell}: healthy {healthy} (stream {stream}) after {model}: {e}"))
                    }
                }
            }
        }
    }
    tally
}

async fn send(http: &reqwest::Client, base: &str, client: Client, model: &str, stream: bool) -> (u16, String) {
    match client.request(http, base, model, stream).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            // A cut stream may end the body with an error: keep what arrived.
            (status, response.text().await.unwrap_or_default())
        }
        Err(e) => (0, format!("request failed: {e}")),
    }
}

fn check_healthy(client: Client, stream: bool, status: u16, body: &str) -> Result<(), String> {
    if status != 200 {
        return Err(format!("status {status}: {body}"));
    }
    let answer = if stream { client.parse_stream(body)? } else { client.parse_full(body)? };
    if answer.text != MOCK_TEXT || !answer.complete || answer.stream_error {
        return Err(format!("not the whole answer: {answer:?}"));
    }
    Ok(())
}

fn check_failing(
    client: Client,
    model: &str,
    stream: bool,
    honest: &[u16],
    status: u16,
    body: &str,
) -> Result<(), String> {
    if !honest.contains(&status) {
        return Err(format!("status {status}, expected one of {honest:?}: {body}"));
    }
    if status != 200 {
        return client.check_error(status, status, body);
    }
    // Only the cut stream may answer 200, and then it must not look complete.
    let answer = if stream { client.parse_stream(body) } else { client.parse_full(body) };
    match answer {
        Ok(answer) if answer.complete && !answer.stream_error => Err(format!("{model} looked complete: {answer:?}")),
        _ => Ok(()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_models_answer_while_their_siblings_fail_in_every_format_pair() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let http = reqwest::Client::new();
    let base = gw.base_url();
    // The five clients at once, so failures and healthy requests of different clients interleave too.
    let tallies = join_all(Client::ALL.map(|client| one_client(&http, &base, client))).await;
    let healthy: usize = tallies.iter().map(|t| t.healthy).sum();
    let mut failing = BTreeMap::new();
    for (outcome, n) in tallies.iter().flat_map(|t| &t.failing) {
        *failing.entry(outcome.clone()).or_insert(0usize) += n;
    }
    let errors: Vec<&String> = tallies.iter().flat_map(|t| &t.errors).collect();
    let expected = Client::ALL.len() * ROUNDS * PROVIDERS.len() * FAILING.len();
    println!("healthy answered: {healthy} of {expected}; failing outcomes: {failing:?}");
    assert!(errors.is_empty(), "{} of {} requests went wrong:\n{}", errors.len(), 2 * expected, {
        let shown: Vec<&str> = errors.iter().take(40).map(|e| e.as_str()).collect();
        shown.join("\n")
    });
    assert_eq!(healthy, expected);
    // The healthy requests reached the upstream: nothing was refused on a sibling's account.
    let asked =
        |name: &str| mock.requests().iter().filter(|r| r.path.contains(name) || r.json()["model"] == name).count();
    let healthy_asked: usize = HEALTHY.iter().map(|m| asked(m)).sum();
    assert_eq!(healthy_asked, expected, "every healthy request was sent upstream once");
    gw.stop().await;
}
