//! Every official SDK, unchanged, against the gateway, in front of every provider format:
//! `openai` (chat and responses), `anthropic`, `google-genai` and `ollama` × a provider speaking
//! OpenAI chat, OpenAI Responses, Anthropic, Gemini and Ollama (the mock upstream). Each script
//! checks text, streaming, tools (streamed and not), usage and error mapping.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use omniroute_tests::sdk::run_sdk_script;

const PROVIDERS: [&str; 5] = ["openai", "responses", "anthropic", "gemini", "ollama"];

/// Runs `script` against the gateway once per provider format.
async fn sdk_against_every_provider(script: &'static str, path: &'static str) {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let base = gw.url(path);
    for provider in PROVIDERS {
        let base = base.clone();
        let summary = tokio::task::spawn_blocking(move || run_sdk_script(script, &base, provider)).await.unwrap();
        eprintln!("{script} → {provider}: {summary}");
        let text = summary.to_string();
        assert!(text.contains(MOCK_TEXT), "{script} → {provider}: {summary}");
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sdk_chat_reaches_every_provider_format() {
    sdk_against_every_provider("openai_sdk_chat.py", "/v1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sdk_responses_reaches_every_provider_format() {
    sdk_against_every_provider("openai_sdk_responses.py", "/v1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_sdk_reaches_every_provider_format() {
    sdk_against_every_provider("anthropic_sdk.py", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genai_sdk_reaches_every_provider_format() {
    sdk_against_every_provider("genai_sdk.py", "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_sdk_reaches_every_provider_format() {
    sdk_against_every_provider("ollama_sdk.py", "").await;
}
