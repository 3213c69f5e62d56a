//! Every official SDK, unchanged, against the gateway, in front of every provider format:
//! `openai` (chat and responses), `anthropic`, `google-genai` (Python and JavaScript) and `ollama`
//! × a provider speaking OpenAI chat, OpenAI Responses, Anthropic, Gemini and Ollama (the mock
//! upstream). Each script checks text, streaming, tools (streamed and not), usage and error
//! mapping; the Google GenAI ones a function-calling round trip and the model resources (list,
//! get) too, with the SDK's default API version (`v1` in the pinned versions, see
//! mock_fidelity.rs) and with `v1` and `v1beta` set.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{AGENT_DONE_TEXT, MOCK_TEXT, MockUpstream};
use omniroute_tests::sdk::{run_genai_js_sdk, run_genai_sdk, run_sdk_script};
use serde_json::Value;

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

/// Runs a Google GenAI SDK script (`run`) against the gateway once per provider format and API
/// version: the SDK's default (`None`), `v1` and `v1beta`. Each version gets a gateway of its
/// own: the script's 429 cools the provider's account down for a second.
async fn genai_against_every_provider(sdk: &'static str, run: fn(&str, &str, Option<&str>) -> Value) {
    let mock = MockUpstream::start();
    for version in [None, Some("v1"), Some("v1beta")] {
        let gw = TestGateway::with_every_format(&mock).await;
        for provider in PROVIDERS {
            let base = gw.base_url();
            let summary = tokio::task::spawn_blocking(move || run(&base, provider, version)).await.unwrap();
            eprintln!("{sdk} ({}) → {provider}: {summary}", version.unwrap_or("default"));
            let context = format!("{sdk} ({version:?}) → {provider}: {summary}");
            assert_eq!(summary["generate"], MOCK_TEXT, "{context}");
            assert_eq!(summary["stream"], MOCK_TEXT, "{context}");
            assert_eq!(summary["tools"], serde_json::json!({ "city": "Paris" }), "{context}");
            assert_eq!(summary["round_trip"], AGENT_DONE_TEXT, "{context}");
            assert_eq!(summary["automatic_round_trip"], AGENT_DONE_TEXT, "{context}");
            assert_eq!(summary["error"], 429, "{context}");
            assert!(summary["models"].as_u64().is_some_and(|n| n > 0), "models.list: {context}");
        }
        gw.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genai_sdk_reaches_every_provider_format() {
    genai_against_every_provider("google-genai", run_genai_sdk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genai_js_sdk_reaches_every_provider_format() {
    genai_against_every_provider("@google/genai", run_genai_js_sdk).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ollama_sdk_reaches_every_provider_format() {
    sdk_against_every_provider("ollama_sdk.py", "").await;
}
