//! The settings that change requests on their way upstream, seen from the mock upstream: the
//! global system prompt (every client format × every provider format, passthrough and
//! translated) and the thinking budget modes on each format's reasoning parameters.

use omniroute_tests::clients::Client;
use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MockUpstream, Recorded};
use serde_json::{Value, json};

const PROMPT: &str = "Always answer in French.";
/// What every `Client` request carries as its own system prompt.
const CLIENT_SYSTEM: &str = "You are terse.";
const PROVIDERS: [&str; 5] = ["openai", "responses", "anthropic", "gemini", "ollama"];

fn texts(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// The system prompt as the upstream received it, in `provider`'s format, parts in order.
fn upstream_system(provider: &str, body: &Value) -> Vec<String> {
    match provider {
        "openai" | "ollama" => match body["messages"][0]["role"].as_str() {
            Some("system" | "developer") => texts(body["messages"][0].get("content")),
            _ => Vec::new(),
        },
        "responses" => texts(body.get("instructions")),
        "anthropic" => texts(body.get("system")),
        "gemini" => texts(body.pointer("/systemInstruction/parts")),
        other => panic!("unknown provider {other}"),
    }
}

async fn put(gw: &TestGateway, path: &str, body: Value) {
    let response = gw.admin().put(gw.url(path)).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200, "PUT {path}: {}", response.text().await.unwrap());
}

fn last(mock: &MockUpstream) -> Recorded {
    mock.last_request()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_prompt_reaches_every_provider_format_first() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let http = reqwest::Client::new();
    // Off by default: a passthrough body arrives as sent (only the model rewritten).
    let sent = Client::OpenaiChat.request(&http, &gw.base_url(), "openai/gpt-mock", false);
    assert_eq!(sent.send().await.unwrap().status(), 200);
    assert_eq!(upstream_system("openai", &last(&mock).json()), [CLIENT_SYSTEM]);

    put(&gw, "/api/settings/system-prompt", json!({"enabled": true, "prompt": PROMPT})).await;
    let mut failures = Vec::new();
    for client in Client::ALL {
        for provider in PROVIDERS {
            for stream in [false, true] {
                let response = client
                    .request(&http, &gw.base_url(), &format!("{provider}/gpt-mock"), stream)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body = response.text().await.unwrap();
                let system = upstream_system(provider, &last(&mock).json());
                let joined = system.join("\n\n");
                let cell = format!("{} → {provider} (stream {stream})", client.name());
                if status != 200 {
                    failures.push(format!("{cell}: status {status}: {body}"));
                } else if !joined.starts_with(PROMPT)
                    || !joined.contains(CLIENT_SYSTEM)
                    || joined.matches(PROMPT).count() != 1
                {
                    failures.push(format!("{cell}: upstream system {system:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Passthrough keeps the client's own shape: a separate part where it sent parts, one text
    // where it sent one.
    let sent = Client::Gemini.request(&http, &gw.base_url(), "gemini/gpt-mock", false);
    assert_eq!(sent.send().await.unwrap().status(), 200);
    assert_eq!(upstream_system("gemini", &last(&mock).json()), [PROMPT, CLIENT_SYSTEM]);
    let sent = Client::Anthropic.request(&http, &gw.base_url(), "anthropic/gpt-mock", false);
    assert_eq!(sent.send().await.unwrap().status(), 200);
    assert_eq!(upstream_system("anthropic", &last(&mock).json()), [format!("{PROMPT}\n\n{CLIENT_SYSTEM}")]);

    // A request without a system prompt gets ours alone.
    assert_eq!(gw.chat("openai/gpt-mock").await.0, 200);
    let upstream = last(&mock).json();
    assert_eq!(upstream["messages"], json!([{"role": "system", "content": PROMPT}, {"role": "user", "content": "hi"}]));

    // Switched off again: back to the client's own.
    put(&gw, "/api/settings/system-prompt", json!({"enabled": false, "prompt": PROMPT})).await;
    let sent = Client::Ollama.request(&http, &gw.base_url(), "ollama/gpt-mock", false);
    assert_eq!(sent.send().await.unwrap().status(), 200);
    assert_eq!(upstream_system("ollama", &last(&mock).json()), [CLIENT_SYSTEM]);
    gw.stop().await;
}

/// One chat in `format` with reasoning asked as each format asks for it.
async fn reasoning_request(http: &reqwest::Client, gw: &TestGateway, format: &str, model: &str) -> reqwest::Response {
    let user = json!([{"role": "user", "content": "think"}]);
    let (path, body) = match format {
        "openai" => {
            ("/v1/chat/completions".to_owned(), json!({"model": model, "messages": user, "reasoning_effort": "high"}))
        }
        "responses" => (
            "/v1/responses".to_owned(),
            json!({"model": model, "input": "think", "reasoning": {"effort": "high", "summary": "auto"}}),
        ),
        "anthropic" => (
            "/v1/messages".to_owned(),
            json!({"model": model, "max_tokens": 20000, "messages": user, "thinking": {"type": "enabled", "budget_tokens": 16000}}),
        ),
        "gemini" => (
            format!("/v1beta/models/{model}:generateContent"),
            json!({"contents": [{"role": "user", "parts": [{"text": "think"}]}],
                   "generationConfig": {"thinkingConfig": {"thinkingBudget": 16000, "includeThoughts": true}}}),
        ),
        "ollama" => {
            ("/api/chat".to_owned(), json!({"model": model, "messages": user, "think": "high", "stream": false}))
        }
        other => panic!("{other}"),
    };
    http.post(gw.url(&path)).json(&body).send().await.unwrap()
}

/// The reasoning parameters the upstream got, in `provider`'s format.
fn upstream_reasoning(provider: &str, body: &Value) -> Value {
    match provider {
        "openai" => body.get("reasoning_effort").cloned().unwrap_or(Value::Null),
        "responses" => body.pointer("/reasoning/effort").cloned().unwrap_or(Value::Null),
        "anthropic" => body.get("thinking").cloned().unwrap_or(Value::Null),
        "gemini" => body.pointer("/generationConfig/thinkingConfig/thinkingBudget").cloned().unwrap_or(Value::Null),
        "ollama" => body.get("think").cloned().unwrap_or(Value::Null),
        other => panic!("{other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thinking_budget_modes_shape_the_upstream_reasoning() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let http = reqwest::Client::new();
    let budget = |mode: &str, n: u32| json!({"mode": mode, "budgetTokens": n});
    let enabled = |n: u64| json!({"type": "enabled", "budget_tokens": n});
    // (mode, client format = provider format (passthrough), what the upstream gets)
    let passthrough = [
        (budget("passthrough", 0), [json!("high"), json!("high"), enabled(16000), json!(16000), json!("high")]),
        (budget("cap", 4000), [json!("low"), json!("low"), enabled(4000), json!(4000), json!("low")]),
        (budget("cap", 50000), [json!("high"), json!("high"), enabled(16000), json!(16000), json!("high")]),
        (budget("fixed", 9000), [json!("medium"), json!("medium"), enabled(9000), json!(9000), json!("medium")]),
        (budget("disabled", 0), [Value::Null, Value::Null, Value::Null, Value::Null, json!(false)]),
    ];
    for (settings, expected) in passthrough {
        put(&gw, "/api/settings/thinking-budget", settings.clone()).await;
        for (provider, expected) in PROVIDERS.iter().zip(expected) {
            let response = reasoning_request(&http, &gw, provider, &format!("{provider}/gpt-mock")).await;
            assert_eq!(response.status(), 200, "{settings} {provider}: {}", response.text().await.unwrap());
            let upstream = last(&mock).json();
            assert_eq!(upstream_reasoning(provider, &upstream), expected, "{settings} {provider}: {upstream}");
        }
    }
    // A fixed budget above the client's max_tokens keeps the room it left for the answer.
    put(&gw, "/api/settings/thinking-budget", budget("fixed", 30000)).await;
    assert_eq!(reasoning_request(&http, &gw, "anthropic", "anthropic/gpt-mock").await.status(), 200);
    let upstream = last(&mock).json();
    assert_eq!((upstream["thinking"].clone(), upstream["max_tokens"].clone()), (enabled(30000), json!(34000)));

    // Translated: the hub carries the budget itself (OpenAI's effort → Anthropic's budget).
    put(&gw, "/api/settings/thinking-budget", budget("cap", 4000)).await;
    let response = reasoning_request(&http, &gw, "openai", "anthropic/gpt-mock").await;
    assert_eq!(response.status(), 200);
    assert_eq!(upstream_reasoning("anthropic", &last(&mock).json()), enabled(4000));
    let response = reasoning_request(&http, &gw, "anthropic", "gemini/gpt-mock").await;
    assert_eq!(response.status(), 200);
    assert_eq!(upstream_reasoning("gemini", &last(&mock).json()), json!(4000));
    let response = reasoning_request(&http, &gw, "gemini", "openai/gpt-mock").await;
    assert_eq!(response.status(), 200);
    assert_eq!(upstream_reasoning("openai", &last(&mock).json()), json!("low"));
    put(&gw, "/api/settings/thinking-budget", budget("disabled", 0)).await;
    let response = reasoning_request(&http, &gw, "anthropic", "responses/gpt-mock").await;
    assert_eq!(response.status(), 200);
    assert!(last(&mock).json().get("reasoning").is_none(), "{}", last(&mock).json());

    // A request that asks for no reasoning gets none, whatever the mode.
    put(&gw, "/api/settings/thinking-budget", budget("fixed", 9000)).await;
    assert_eq!(gw.chat("anthropic/gpt-mock").await.0, 200);
    assert!(last(&mock).json().get("thinking").is_none());
    gw.stop().await;
}
