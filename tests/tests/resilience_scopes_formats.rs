//! Issue 16 in every wire format, through the server: for each provider format (OpenAI Chat,
//! Responses, Anthropic, Gemini, Ollama behind a key) driven from each client format, a failure
//! holds off only the scope it belongs to, and the client hears of it in its own error format
//! with an honest status. A model's 429 leaves the account's other models serving; five 5xx open
//! that model's breaker only; a revoked key or an exhausted account takes the whole account out
//! while a second account serves; a context-length error counts against nobody.
//!
//! Each test runs one gateway with one provider per (provider format, client format) pair, all
//! in front of one mock, so every pair starts from clean routing state; the pairs run one after
//! the other so the mock's request count belongs to the pair being checked. Every pair's failure
//! is collected and the grid of failures printed.

use omniroute_tests::clients::Client;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use serde_json::Value;

/// A provider wire format as the gateway's config names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upstream {
    OpenaiChat,
    Responses,
    Anthropic,
    Gemini,
    Ollama,
}

impl Upstream {
    const ALL: [Upstream; 5] =
        [Upstream::OpenaiChat, Upstream::Responses, Upstream::Anthropic, Upstream::Gemini, Upstream::Ollama];

    fn format(self) -> &'static str {
        match self {
            Upstream::OpenaiChat => "openai-chat",
            Upstream::Responses => "openai-responses",
            Upstream::Anthropic => "anthropic",
            Upstream::Gemini => "gemini",
            Upstream::Ollama => "ollama",
        }
    }

    /// How the provider takes its key (Ollama: a Bearer key, as ollama.com takes it).
    fn auth(self) -> &'static str {
        match self {
            Upstream::Anthropic => "x-api-key",
            Upstream::Gemini => "x-goog-api-key",
            _ => "bearer",
        }
    }

    fn base_url(self, mock: &MockUpstream) -> String {
        match self {
            Upstream::Gemini => mock.gemini_base_url(),
            Upstream::Ollama => mock.ollama_base_url(),
            _ => mock.base_url(),
        }
    }
}

/// The provider id of a pair, e.g. `anthropic-via-gemini`.
fn provider_id(upstream: Upstream, client: Client) -> String {
    format!("{}-via-{}", upstream.format(), client.name())
}

/// One provider per pair, each with accounts for `keys` (fill-first: tried in this order).
fn config(mock: &MockUpstream, keys: &[&str]) -> String {
    let mut config = String::new();
    for upstream in Upstream::ALL {
        for client in Client::ALL {
            config.push_str(&format!(
                "[[providers]]\nid = \"{}\"\nformat = \"{}\"\nauth = \"{}\"\nbase_url = \"{}\"\n",
                provider_id(upstream, client),
                upstream.format(),
                upstream.auth(),
                upstream.base_url(mock)
            ));
            for (i, key) in keys.iter().enumerate() {
                config.push_str(&format!("  [[providers.accounts]]\n  name = \"a{i}\"\n  api_key = \"{key}\"\n"));
            }
        }
    }
    config
}

/// The key a recorded request carried, in whichever header its format uses.
fn key_of(request: &omniroute_tests::mock_upstream::Recorded) -> Option<String> {
    let h = &request.headers;
    let value = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    value("authorization")
        .map(|v| v.trim_start_matches("Bearer ").to_owned())
        .or_else(|| value("x-api-key"))
        .or_else(|| value("x-goog-api-key"))
}

/// How many requests the mock got with `key`.
fn asked_with(mock: &MockUpstream, key: &str) -> usize {
    mock.requests().iter().filter(|r| key_of(r).as_deref() == Some(key)).count()
}

/// One pair's view: the gateway, the client format, the provider to address.
struct Pair<'a> {
    gw: &'a TestGateway,
    mock: &'a MockUpstream,
    http: &'a reqwest::Client,
    client: Client,
    provider: String,
}

impl Pair<'_> {
    /// Sends a non-streamed chat for `provider/model`: status and body.
    async fn send(&self, model: &str) -> (u16, String) {
        self.send_as(model, false).await
    }

    /// Sends a chat for `provider/model`, streamed or not: status and body.
    async fn send_as(&self, model: &str, stream: bool) -> (u16, String) {
        let model = format!("{}/{model}", self.provider);
        let response =
            self.client.request(self.http, &self.gw.base_url(), &model, stream).send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// `model` must answer the mock's text.
    async fn answers(&self, model: &str) -> Result<(), String> {
        self.answers_as(model, false).await
    }

    /// `model` must answer the mock's text, streamed or not.
    async fn answers_as(&self, model: &str, stream: bool) -> Result<(), String> {
        let (status, body) = self.send_as(model, stream).await;
        if status != 200 {
            return Err(format!("{model}: status {status}: {body}"));
        }
        let answer = if stream { self.client.parse_stream(&body) } else { self.client.parse_full(&body) };
        let answer = answer.map_err(|e| format!("{model}: {e}"))?;
        if answer.text != MOCK_TEXT || !answer.complete {
            return Err(format!("{model}: not the whole answer: {answer:?}"));
        }
        Ok(())
    }

    /// `model` must be refused with `status`, in the client's own error format.
    async fn refused(&self, model: &str, status: u16) -> Result<(), String> {
        self.refused_as(model, false, status).await
    }

    /// `model`, streamed or not, must be refused with `status` before any stream starts, in
    /// the client's own error format.
    async fn refused_as(&self, model: &str, stream: bool, status: u16) -> Result<(), String> {
        let (got, body) = self.send_as(model, stream).await;
        self.client.check_error(got, status, &body).map_err(|e| format!("{model} (stream {stream}): {e}"))
    }

    /// Runs `f` and returns how many requests the mock got meanwhile.
    async fn counting<T>(&self, f: impl std::future::Future<Output = T>) -> (T, usize) {
        let before = self.mock.requests().len();
        let out = f.await;
        (out, self.mock.requests().len() - before)
    }

    /// The health report's entry for `key` (e.g. `account:p:a0/model:m`).
    async fn breaker(&self, key: &str) -> Option<Value> {
        let report = self.gw.admin_get("/api/resilience").await;
        report["keys"].as_array()?.iter().find(|k| k["key"] == key).cloned()
    }
}

/// Runs `case` for every pair in turn and fails with the list of pairs that failed.
async fn every_pair<F>(gw: &TestGateway, mock: &MockUpstream, case: F)
where
    F: AsyncFn(&Pair<'_>) -> Result<(), String>,
{
    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    for upstream in Upstream::ALL {
        for client in Client::ALL {
            let pair = Pair { gw, mock, http: &http, client, provider: provider_id(upstream, client) };
            if let Err(e) = case(&pair).await {
                failures.push(format!("{} provider, {} client: {e}", upstream.format(), client.name()));
            }
        }
    }
    assert!(failures.is_empty(), "{} of 25 pairs failed:\n{}", failures.len(), failures.join("\n"));
}

fn expect(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_one_model_never_blocks_another_model_of_the_account_in_every_format() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&config(&mock, &["k-good"]), &[]).await;
    every_pair(&gw, &mock, async |pair| {
        let (refused, asked) = pair.counting(pair.refused("error-429", 429)).await;
        refused?;
        expect(asked == 1, || format!("model A: the upstream was asked {asked} times, not once"))?;
        let (answered, asked) = pair.counting(pair.answers("gpt-mock")).await;
        answered.map_err(|e| format!("model B refused after A's 429: {e}"))?;
        expect(asked == 1, || format!("model B: the upstream was asked {asked} times, not once"))?;
        // The same, streamed, with another pair of models.
        let (refused, asked) = pair.counting(pair.refused_as("error-429", true, 429)).await;
        refused?;
        expect(asked <= 1, || format!("model A streamed: the upstream was asked {asked} times"))?;
        let (answered, asked) = pair.counting(pair.answers_as("other-model", true)).await;
        answered.map_err(|e| format!("model C streamed, refused after A's 429: {e}"))?;
        expect(asked == 1, || format!("model C streamed: the upstream was asked {asked} times, not once"))
    })
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_5xx_on_one_model_open_its_breaker_only_in_every_format() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&config(&mock, &["k-good"]), &[]).await;
    every_pair(&gw, &mock, async |pair| {
        for i in 0..5 {
            pair.refused("error-500", 500).await.map_err(|e| format!("try {i}: {e}"))?;
        }
        let (open, asked) = pair.counting(pair.refused("error-500", 503)).await;
        open.map_err(|e| format!("6th try, breaker open: {e}"))?;
        expect(asked == 0, || format!("an open breaker still sent {asked} requests upstream"))?;
        let key = format!("account:{}:a0", pair.provider);
        let model_a = pair.breaker(&format!("{key}/model:error-500")).await;
        expect(model_a.as_ref().is_some_and(|k| k["state"] == "open"), || format!("model A's breaker: {model_a:?}"))?;
        let account = pair.breaker(&key).await;
        expect(account.as_ref().is_none_or(|k| k["state"] != "open"), || {
            format!("the account's breaker: {account:?}")
        })?;
        let (answered, asked) = pair.counting(pair.answers("gpt-mock")).await;
        answered.map_err(|e| format!("model B refused while A's breaker is open: {e}"))?;
        expect(asked == 1, || format!("model B: the upstream was asked {asked} times"))
    })
    .await;
    gw.stop().await;
}

/// A key that takes its account out (for every model) while the second account serves.
async fn account_out_while_the_second_serves(key: &'static str) {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&config(&mock, &[key, "k-good"]), &[]).await;
    every_pair(&gw, &mock, async |pair| {
        let (bad, good) = (asked_with(pair.mock, key), asked_with(pair.mock, "k-good"));
        // Streamed: the key's refusal comes before any byte, so the next account serves the stream.
        pair.answers_as("gpt-mock", true).await.map_err(|e| format!("the second account did not serve: {e}"))?;
        let (bad_now, good_now) = (asked_with(pair.mock, key), asked_with(pair.mock, "k-good"));
        expect(bad_now == bad + 1 && good_now == good + 1, || {
            format!("first request: {key} asked {}, k-good asked {}", bad_now - bad, good_now - good)
        })?;
        // Another model: the account is out for it too, so only the second account is asked.
        pair.answers("other-model").await.map_err(|e| format!("other model: {e}"))?;
        let (bad_then, good_then) = (asked_with(pair.mock, key), asked_with(pair.mock, "k-good"));
        expect(bad_then == bad_now && good_then == good_now + 1, || {
            format!("another model: {key} asked {} more, k-good {} more", bad_then - bad_now, good_then - good_now)
        })?;
        let limits = pair.gw.admin_get("/api/rate-limits").await;
        let account = format!("{}:a0", pair.provider);
        let entries = limits["cooldowns"].as_array().cloned().unwrap_or_default();
        let out: Vec<&Value> = entries.iter().filter(|c| c["account"] == account.as_str()).collect();
        expect(out.len() == 1 && out[0]["model"].is_null(), || format!("{account} is not out as a whole: {out:?}"))?;
        let secs = out[0]["retry_after_secs"].as_u64().unwrap_or(0);
        expect(secs > 60, || format!("{account} is out for only {secs} s"))
    })
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_takes_the_account_out_and_a_second_account_serves_in_every_format() {
    account_out_while_the_second_serves("sk-revoked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_out_of_credit_is_taken_out_and_a_second_account_serves_in_every_format() {
    account_out_while_the_second_serves("sk-no-credit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_with_no_second_account_reaches_the_client_as_its_status() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&config(&mock, &["sk-revoked"]), &[]).await;
    every_pair(&gw, &mock, async |pair| {
        let (refused, asked) = pair.counting(pair.send("gpt-mock")).await;
        let (status, body) = refused;
        expect(asked == 1, || format!("asked {asked} times"))?;
        // The provider's own status: 401, or Gemini's 400 `API_KEY_INVALID`.
        let expected = if pair.provider.starts_with("gemini") { 400 } else { 401 };
        pair.client.check_error(status, expected, &body)?;
        // Then the account is out: nothing is sent for any model until it is back.
        let ((status, body), asked) = pair.counting(pair.send("other-model")).await;
        expect(asked == 0, || format!("the account that is out was asked {asked} times"))?;
        expect(status >= 400, || format!("a request with every account out answered {status}"))?;
        pair.client.check_error(status, status, &body).map_err(|e| format!("every account out: {e}"))
    })
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_account_out_for_its_key_is_not_reported_as_a_rate_limit() {
    // Issue 16: an account out for a revoked key is reported with its reason. The client must
    // not be told to wait out a rate limit that never happened.
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&config(&mock, &["sk-revoked"]), &[]).await;
    every_pair(&gw, &mock, async |pair| {
        pair.send("gpt-mock").await;
        let (status, body) = pair.send("other-model").await;
        // 503 `accounts_unavailable` (docs/routing.md), naming the provider's own refusal.
        pair.client.check_error(status, 503, &body)?;
        let says_rate_limit = body.to_ascii_lowercase().contains("rate limit");
        let refused = if pair.provider.starts_with("gemini") { 400 } else { 401 };
        let names_it = body.contains(&format!("status {refused}"));
        expect(!says_rate_limit && names_it, || format!("every account out for a revoked key: {status} {body}"))
    })
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_length_error_counts_against_nobody_in_every_format() {
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&config(&mock, &["k-good"]), &[]).await;
    every_pair(&gw, &mock, async |pair| {
        for i in 0..8 {
            pair.refused("context-too-long", 400).await.map_err(|e| format!("try {i}: {e}"))?;
        }
        let (still, asked) = pair.counting(pair.refused("context-too-long", 400)).await;
        still.map_err(|e| format!("9th try: {e}"))?;
        expect(asked == 1, || format!("after 8 context-length errors the upstream was asked {asked} times"))?;
        let key = format!("account:{}:a0", pair.provider);
        for key in [key.clone(), format!("{key}/model:context-too-long")] {
            let state = pair.breaker(&key).await.map(|k| k["state"].clone());
            expect(state.as_ref().is_none_or(|s| s != "open"), || format!("{key} is {state:?}"))?;
        }
        let limits = pair.gw.admin_get("/api/rate-limits").await;
        let account = format!("{}:a0", pair.provider);
        let cooling = limits["cooldowns"].as_array().into_iter().flatten().any(|c| c["account"] == account.as_str());
        expect(!cooling, || format!("{account} cools down after a request's own error: {limits}"))?;
        pair.answers("gpt-mock").await
    })
    .await;
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_overloaded_529_counts_against_the_models_breaker() {
    // Issue 16: 529/overloaded is the model's, like any 5xx. Five of them open that model's
    // breaker; another model of the account still answers.
    let mock = MockUpstream::start();
    let gw = TestGateway::start(&config(&mock, &["k-good"]), &[]).await;
    let http = reqwest::Client::new();
    let mut failures = Vec::new();
    for client in Client::ALL {
        let pair =
            Pair { gw: &gw, mock: &mock, http: &http, client, provider: provider_id(Upstream::Anthropic, client) };
        let result = async {
            for i in 0..5 {
                pair.refused("error-529", 529).await.map_err(|e| format!("try {i}: {e}"))?;
            }
            let (open, asked) = pair.counting(pair.refused("error-529", 503)).await;
            open.map_err(|e| format!("6th try: {e}"))?;
            expect(asked == 0, || format!("after five 529s the upstream was still asked ({asked})"))?;
            pair.answers("gpt-mock").await
        }
        .await;
        if let Err(e) = result {
            failures.push(format!("{} client: {e}", client.name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    gw.stop().await;
}
