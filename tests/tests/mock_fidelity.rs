//! The mock upstreams speak each provider's real wire format: every official SDK script runs
//! against the mock directly (bare model names), then what the SDKs sent and the behaviours
//! SDKs never exercise (auth failures, cut streams, fallback keys) are checked on the wire.

use omniroute_tests::mock_upstream::agent::{Wire, carries_tool_result};
use omniroute_tests::mock_upstream::{AGENT_DONE_TEXT, MOCK_TEXT, MockUpstream, ModelList, Recorded};
use omniroute_tests::sdk::{
    run_anthropic_sdk, run_genai_js_sdk, run_genai_sdk, run_ollama_sdk, run_openai_sdk_chat, run_openai_sdk_responses,
    run_sdk_script,
};
use omniroute_tests::sse::data_events;
use serde_json::{Value, json};

fn paths(requests: &[Recorded]) -> Vec<&str> {
    requests.iter().map(|r| r.path.as_str()).collect()
}

fn header<'a>(request: &'a Recorded, name: &str) -> &'a str {
    request.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("{} lacks {name}", request.path))
}

#[test]
fn openai_sdk_chats_with_the_mock() {
    let mock = MockUpstream::start();
    let summary = run_openai_sdk_chat(&mock.base_url(), "");
    assert_eq!(summary["chat"], MOCK_TEXT);
    assert_eq!(summary["stream"], MOCK_TEXT);
    let requests = mock.requests();
    assert!(paths(&requests).iter().all(|p| *p == "/v1/chat/completions"), "{:?}", paths(&requests));
    assert!(requests.iter().all(|r| header(r, "authorization") == "Bearer sk-anything"));
}

#[test]
fn each_sdk_reads_the_account_and_request_errors_as_its_providers() {
    // The bodies the failure-scope tables are checked against, as each official SDK types them.
    let mock = MockUpstream::start();
    let summary = run_sdk_script("error_bodies_sdk.py", &mock.root_url(), "");
    assert_eq!(summary["openai-chat"], json!([401, 429, 400]));
    assert_eq!(summary["openai-responses"], json!([401, 429, 400]));
    assert_eq!(summary["anthropic"], json!([401, 400, 400, 429, 529, 402]));
    assert_eq!(summary["gemini"], json!([400, 429, 400, 429, 503]));
    assert_eq!(summary["ollama"], json!([401, 429, 400, 404]));
}

#[test]
fn openai_sdk_uses_the_responses_mock() {
    let mock = MockUpstream::start();
    let summary = run_openai_sdk_responses(&mock.base_url(), "");
    assert_eq!(summary["create"], MOCK_TEXT);
    assert_eq!(summary["stream"], MOCK_TEXT);
    assert_eq!(summary["error"], 429);
    let requests = mock.requests();
    assert!(paths(&requests).iter().all(|p| *p == "/v1/responses"), "{:?}", paths(&requests));
    assert!(requests.iter().all(|r| header(r, "authorization") == "Bearer sk-anything"));
    let tools = requests.iter().find(|r| r.json()["model"] == "tools").expect("a tools request");
    assert_eq!(tools.json()["tools"][0]["name"], "get_weather", "Responses tools are flat, not nested");
}

#[test]
fn anthropic_sdk_uses_the_messages_mock() {
    let mock = MockUpstream::start();
    let summary = run_anthropic_sdk(&mock.root_url(), "");
    assert_eq!(summary["create"], MOCK_TEXT);
    assert_eq!(summary["stream"], MOCK_TEXT);
    assert_eq!(summary["count_tokens"], 12);
    let requests = mock.requests();
    for request in &requests {
        assert!(!header(request, "anthropic-version").is_empty());
        // The SDK sends the API key as a Bearer token (2.x); x-api-key is the documented header.
        let key = request.headers.get("x-api-key").map(|v| v.to_str().unwrap().to_owned());
        let key = key.unwrap_or_else(|| header(request, "authorization").replace("Bearer ", ""));
        assert_eq!(key, "sk-anything");
    }
    assert!(paths(&requests).contains(&"/v1/messages/count_tokens"));
    assert!(requests.iter().any(|r| r.json()["thinking"]["type"] == "enabled"));
    assert!(requests.iter().any(|r| r.json()["stream"] == true), "messages.stream sends stream: true");
}

/// Runs a Google GenAI SDK script (`run`) against a fresh mock with `api_version` (`None`: the
/// SDK's default) and checks what it sent: every path under `/{expected}/models/`.
fn genai_sdk_uses_the_gemini_mock(
    run: fn(&str, &str, Option<&str>) -> Value,
    api_version: Option<&str>,
    expected: &str,
) {
    let mock = MockUpstream::start();
    let summary = run(&mock.root_url(), "", api_version);
    assert_eq!(summary["generate"], MOCK_TEXT);
    assert_eq!(summary["stream"], MOCK_TEXT);
    assert_eq!(summary["tools"], json!({ "city": "Paris" }));
    assert_eq!(summary["round_trip"], AGENT_DONE_TEXT);
    assert_eq!(summary["automatic_round_trip"], AGENT_DONE_TEXT);
    assert_eq!(summary["models"], 1);
    let requests = mock.requests();
    assert!(requests.iter().all(|r| header(r, "x-goog-api-key") == "sk-anything"), "the key goes in a header");
    let seen = paths(&requests);
    assert!(seen.iter().all(|p| p.starts_with(&format!("/{expected}/models/"))), "{api_version:?}: {seen:?}");
    assert!(seen.contains(&format!("/{expected}/models/gpt-mock:generateContent").as_str()), "{seen:?}");
    let stream = format!("/{expected}/models/gpt-mock:streamGenerateContent?alt=sse");
    assert!(seen.contains(&stream.as_str()), "{seen:?}");
    let tools = requests.iter().find(|r| r.path.contains("/tools:")).expect("a tools request").json();
    assert_eq!(tools["tools"][0]["functionDeclarations"][0]["name"], "get_weather");
    assert!(tools["contents"].is_array());
    let results = requests.iter().filter(|r| carries_tool_result(Wire::Gemini, &r.json())).count();
    assert_eq!(results, 2, "both round trips send the call's result back: {seen:?}");
}

#[test]
fn genai_sdk_uses_the_gemini_mock_on_v1_by_default() {
    genai_sdk_uses_the_gemini_mock(run_genai_sdk, None, "v1");
    genai_sdk_uses_the_gemini_mock(run_genai_sdk, Some("v1"), "v1");
    genai_sdk_uses_the_gemini_mock(run_genai_sdk, Some("v1beta"), "v1beta");
}

#[test]
fn genai_js_sdk_uses_the_gemini_mock_on_v1_by_default() {
    genai_sdk_uses_the_gemini_mock(run_genai_js_sdk, None, "v1");
    genai_sdk_uses_the_gemini_mock(run_genai_js_sdk, Some("v1"), "v1");
    genai_sdk_uses_the_gemini_mock(run_genai_js_sdk, Some("v1beta"), "v1beta");
}

#[test]
fn ollama_sdk_uses_the_ollama_mock() {
    let mock = MockUpstream::start();
    let summary = run_ollama_sdk(&mock.ollama_base_url(), "");
    assert_eq!(summary["chat"], MOCK_TEXT);
    assert_eq!(summary["stream"], MOCK_TEXT);
    let requests = mock.requests();
    assert!(paths(&requests).iter().all(|p| *p == "/api/chat"), "{:?}", paths(&requests));
    assert!(requests.iter().any(|r| r.json()["stream"] == false));
    assert!(requests.iter().any(|r| r.json()["stream"] == true));
}

async fn post(url: &str, headers: &[(&str, &str)], body: Value) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(url).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("the mock answers")
}

/// Reads a body that must break off: what arrived before the connection was cut.
async fn read_cut(mut response: reqwest::Response) -> String {
    let mut received = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => panic!("the stream ended cleanly: {}", String::from_utf8_lossy(&received)),
            Err(_) => return String::from_utf8(received).expect("utf-8"),
        }
    }
}

const ANTHROPIC: [(&str, &str); 2] = [("x-api-key", "sk-test"), ("anthropic-version", "2023-06-01")];

#[tokio::test]
async fn each_format_rejects_missing_credentials_in_its_own_shape() {
    let mock = MockUpstream::start();
    let body = json!({ "model": "gpt-mock", "max_tokens": 8, "messages": [], "input": "x", "contents": [] });
    let messages = format!("{}/messages", mock.base_url());

    let response = post(&messages, &[("anthropic-version", "2023-06-01")], body.clone()).await;
    assert_eq!(response.status(), 401);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        (error["type"].as_str(), error["error"]["type"].as_str()),
        (Some("error"), Some("authentication_error"))
    );

    let response = post(&messages, &[("x-api-key", "sk-test")], body.clone()).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["type"], "invalid_request_error");

    let response =
        post(&format!("{}/models/gpt-mock:generateContent", mock.gemini_base_url()), &[], body.clone()).await;
    assert_eq!(response.status(), 403);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        (error["error"]["code"].as_u64(), error["error"]["status"].as_str()),
        (Some(403), Some("PERMISSION_DENIED"))
    );
    let with_query = format!("{}/models/gpt-mock:generateContent?key=sk-test", mock.gemini_base_url());
    assert_eq!(post(&with_query, &[], body.clone()).await.status(), 200, "`?key=` authenticates too");

    let response = post(&format!("{}/responses", mock.base_url()), &[], body.clone()).await;
    assert_eq!(response.status(), 401);
    assert!(response.json::<Value>().await.unwrap()["error"]["message"].is_string());
}

#[tokio::test]
async fn the_bad_key_fails_over_in_every_format() {
    let mock = MockUpstream::start();
    let bearer = [("authorization", "Bearer sk-bad")];
    let body = json!({ "model": "gpt-mock", "max_tokens": 8, "messages": [], "input": "x", "contents": [] });
    let cases = [
        (format!("{}/chat/completions", mock.base_url()), bearer.to_vec()),
        (format!("{}/responses", mock.base_url()), bearer.to_vec()),
        (format!("{}/messages", mock.base_url()), vec![("x-api-key", "sk-bad"), ANTHROPIC[1]]),
        (format!("{}/models/gpt-mock:generateContent", mock.gemini_base_url()), vec![("x-goog-api-key", "sk-bad")]),
        (format!("{}/api/chat", mock.ollama_base_url()), bearer.to_vec()),
    ];
    for (url, headers) in cases {
        assert_eq!(post(&url, &headers, body.clone()).await.status(), 500, "{url}");
    }
}

#[tokio::test]
async fn cut_streams_break_off_without_a_terminal_event() {
    let mock = MockUpstream::start();
    let bearer = [("authorization", "Bearer sk-test")];
    let messages = json!([{ "role": "user", "content": "Hi" }]);

    let chat = json!({ "model": "cut-stream", "messages": messages, "stream": true });
    let text = read_cut(post(&format!("{}/chat/completions", mock.base_url()), &bearer, chat).await).await;
    assert!(!text.contains("[DONE]") && data_events(&text).len() == 2, "{text}");

    let responses = json!({ "model": "cut-stream", "input": "Hi", "stream": true });
    let text = read_cut(post(&format!("{}/responses", mock.base_url()), &bearer, responses).await).await;
    assert!(text.contains("response.output_text.delta") && !text.contains("response.completed"), "{text}");

    let anthropic = json!({ "model": "cut-stream", "max_tokens": 8, "messages": messages, "stream": true });
    let text = read_cut(post(&format!("{}/messages", mock.base_url()), &ANTHROPIC, anthropic).await).await;
    assert!(text.contains("text_delta") && !text.contains("message_stop"), "{text}");

    let gemini = format!("{}/models/cut-stream:streamGenerateContent?alt=sse", mock.gemini_base_url());
    let request = json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hi" }] }] });
    let text = read_cut(post(&gemini, &[("x-goog-api-key", "k")], request).await).await;
    assert!(data_events(&text).len() == 2 && !text.contains("finishReason"), "{text}");

    let ollama = json!({ "model": "cut-stream", "messages": messages });
    let text = read_cut(post(&format!("{}/api/chat", mock.ollama_base_url()), &[], ollama).await).await;
    assert!(text.lines().count() == 2 && !text.contains("\"done\":true"), "{text}");
}

#[tokio::test]
async fn gemini_streams_cumulative_usage_and_a_json_array_without_sse() {
    let mock = MockUpstream::start();
    let request = json!({ "contents": [{ "role": "user", "parts": [{ "text": "Hi" }] }] });
    let key = [("x-goog-api-key", "k")];
    let url = format!("{}/models/gpt-mock:streamGenerateContent", mock.gemini_base_url());

    let sse = post(&format!("{url}?alt=sse"), &key, request.clone()).await.text().await.unwrap();
    assert!(sse.contains("\r\n\r\n"), "Google ends SSE lines with CRLF");
    let chunks: Vec<Value> = data_events(&sse).iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    let totals: Vec<u64> = chunks.iter().map(|c| c["usageMetadata"]["totalTokenCount"].as_u64().unwrap()).collect();
    assert!(totals.windows(2).all(|w| w[0] < w[1]) && totals.last() == Some(&18), "usage is cumulative: {totals:?}");

    let array: Value = post(&url, &key, request).await.json().await.unwrap();
    assert_eq!(array.as_array().map(Vec::len), Some(chunks.len()), "the same chunks as one JSON array");
    assert_eq!(array[chunks.len() - 1]["candidates"][0]["finishReason"], "STOP");
}

#[tokio::test]
async fn catalogues_answer_in_each_format() {
    let mock = MockUpstream::start();
    let client = reqwest::Client::new();
    let get = |url: String, headers: &'static [(&'static str, &'static str)]| {
        let mut request = client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let openai = get(format!("{}/models", mock.base_url()), &[]).await;
    assert_eq!(openai["object"], "list");
    let anthropic = get(format!("{}/models", mock.base_url()), &ANTHROPIC).await;
    assert_eq!((anthropic["data"][0]["type"].as_str(), anthropic["has_more"].as_bool()), (Some("model"), Some(false)));
    let gemini = get(format!("{}/models", mock.gemini_base_url()), &[("x-goog-api-key", "k")]).await;
    assert_eq!(gemini["models"][0]["name"], "models/gpt-mock");
    let ollama = get(format!("{}/api/tags", mock.ollama_base_url()), &[]).await;
    assert_eq!(ollama["models"][0]["name"], "gpt-mock:latest");
    assert!(mock.requests().is_empty(), "catalogue GETs are not recorded");
}

#[tokio::test]
async fn model_lists_name_what_the_test_sets_and_refuse_as_the_apis_do() {
    let mock = MockUpstream::start();
    mock.set_model_list(ModelList::Models(vec!["alpha-one".into(), "beta".into()]));
    let client = reqwest::Client::new();
    let get = |url: String, headers: &[(&str, &str)]| {
        let mut request = client.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
            (status, kind, response.text().await.unwrap())
        }
    };
    let json = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    let (_, _, openai) = get(format!("{}/models", mock.base_url()), &[("authorization", "Bearer sk-test")]).await;
    let ids: Vec<Value> = json(&openai)["data"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(ids, [json!("alpha-one"), json!("beta")]);
    let (_, _, anthropic) = get(format!("{}/models", mock.base_url()), &ANTHROPIC).await;
    let anthropic = json(&anthropic);
    assert_eq!(
        (anthropic["data"][0]["display_name"].clone(), anthropic["last_id"].clone()),
        (json!("Alpha One"), json!("beta"))
    );
    let (_, _, gemini) = get(format!("{}/models", mock.gemini_base_url()), &[("x-goog-api-key", "k")]).await;
    assert_eq!(json(&gemini)["models"][1]["name"], "models/beta");
    let (_, _, ollama) = get(format!("{}/api/tags", mock.ollama_base_url()), &[]).await;
    assert_eq!(json(&ollama)["models"][0]["name"], "alpha-one:latest");

    // What the real APIs refuse: a revoked OpenAI key, an Anthropic or Gemini call with no key.
    let (status, _, body) = get(format!("{}/models", mock.base_url()), &[("authorization", "Bearer sk-revoked")]).await;
    assert_eq!((status, json(&body)["error"]["code"].clone()), (401, json!("invalid_api_key")));
    let (status, _, body) = get(format!("{}/models", mock.base_url()), &[("anthropic-version", "2023-06-01")]).await;
    assert_eq!((status, json(&body)["error"]["type"].clone()), (401, json!("authentication_error")));
    let (status, _, _) = get(format!("{}/models", mock.gemini_base_url()), &[]).await;
    assert_eq!(status, 403);

    // Failures the test sets, in each format's own shape.
    mock.set_model_list(ModelList::Error(401));
    let (status, _, body) = get(format!("{}/models", mock.base_url()), &ANTHROPIC).await;
    assert_eq!((status, json(&body)["type"].clone()), (401, json!("error")));
    let (status, _, body) = get(format!("{}/models", mock.gemini_base_url()), &[("x-goog-api-key", "k")]).await;
    assert_eq!((status, json(&body)["error"]["status"].clone()), (401, json!("UNAUTHENTICATED")));
    mock.set_model_list(ModelList::Html(200));
    let (status, kind, _) = get(format!("{}/api/tags", mock.ollama_base_url()), &[]).await;
    assert_eq!((status, kind.as_str()), (200, "text/html"));
    assert!(mock.requests().is_empty(), "catalogue GETs are not recorded");
}
