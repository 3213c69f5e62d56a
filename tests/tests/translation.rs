//! Translation details the matrix does not show: what the provider actually receives (system
//! prompts, history, tool ids, images, headers), what cannot be carried (a clear 400), the
//! passthrough leaving bodies untouched, Gemini's JSON-array stream, Ollama's stream default,
//! count_tokens and the per-format model lists.

use omniroute_tests::gateway::TestGateway;
use omniroute_tests::mock_upstream::{MOCK_TEXT, MockUpstream};
use serde_json::{Value, json};

async fn post(url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, String) {
    let mut request = reqwest::Client::new().post(url).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.body(body.to_string()).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

const ANTHROPIC: [(&str, &str); 2] = [("x-api-key", "k"), ("anthropic-version", "2023-06-01")];

#[tokio::test]
async fn an_anthropic_conversation_reaches_openai_with_system_history_and_tool_ids() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let body = json!({
        "model": "openai/gpt-mock", "max_tokens": 100, "system": "Be brief.",
        "messages": [
            { "role": "user", "content": "Weather in Paris?" },
            { "role": "assistant", "content": [
                { "type": "text", "text": "Checking." },
                { "type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": { "city": "Paris" } }
            ]},
            { "role": "user", "content": [
                { "type": "tool_result", "tool_use_id": "toolu_01A", "content": "18°C" }
            ]}
        ],
        "tools": [{ "name": "get_weather", "input_schema": { "type": "object", "properties": { "city": { "type": "string" } } } }]
    });
    let (status, text) = post(&gw.url("/v1/messages"), &ANTHROPIC, &body).await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["type"], "message");
    assert_eq!(answer["content"][0]["text"], MOCK_TEXT);
    assert_eq!(answer["stop_reason"], "end_turn");
    assert_eq!(answer["usage"]["input_tokens"], 12);

    let sent = mock.last_request();
    assert_eq!(sent.path, "/v1/chat/completions");
    let sent = sent.json();
    let messages = sent["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({ "role": "system", "content": "Be brief." }));
    let call = &messages[2]["tool_calls"][0];
    assert_eq!(call["id"], "toolu_01A");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({ "city": "Paris" })
    );
    let result = messages.iter().find(|m| m["role"] == "tool").unwrap();
    assert_eq!(result["tool_call_id"], "toolu_01A");
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
    gw.stop().await;
}

#[tokio::test]
async fn images_travel_where_both_sides_take_them_and_are_refused_clearly_where_not() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let with_image = |model: &str, url: &str| {
        json!({ "model": model, "messages": [{ "role": "user", "content": [
            { "type": "text", "text": "What is this?" },
            { "type": "image_url", "image_url": { "url": url } }
        ]}]})
    };
    // Base64 from an OpenAI client reaches Anthropic as a base64 image block.
    let data_url = format!("data:image/png;base64,{png}");
    let (status, text) = post(&gw.url("/v1/chat/completions"), &[], &with_image("anthropic/gpt-mock", &data_url)).await;
    assert_eq!(status, 200, "{text}");
    let sent = mock.last_request().json();
    let image = &sent["messages"][0]["content"][1];
    assert_eq!(image["type"], "image", "{sent}");
    assert_eq!(image["source"], json!({ "type": "base64", "media_type": "image/png", "data": png }));
    // Ollama takes base64 only: an image URL is the client's problem, said plainly.
    let before = mock.requests().len();
    let (status, text) =
        post(&gw.url("/v1/chat/completions"), &[], &with_image("ollama/llava", "https://example.com/cat.png")).await;
    assert_eq!(status, 400, "{text}");
    let error: Value = serde_json::from_str(&text).unwrap();
    assert!(error["error"]["message"].as_str().unwrap().to_lowercase().contains("image"), "{text}");
    assert_eq!(mock.requests().len(), before, "nothing was sent upstream");
    gw.stop().await;
}

#[tokio::test]
async fn same_format_passes_through_untouched_with_client_headers() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let body = r#"{"model":"anthropic/gpt-mock","max_tokens":50,"messages":[{"role":"user","content":"hi"}],"x_future_field":{"keep":[1,2]}}"#;
    let response = reqwest::Client::new()
        .post(gw.url("/v1/messages"))
        .header("x-api-key", "client-key")
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let sent = mock.last_request();
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(
        std::str::from_utf8(&sent.body).unwrap(),
        body.replace("anthropic/gpt-mock", "gpt-mock"),
        "only the model changed"
    );
    assert_eq!(sent.headers["anthropic-beta"], "interleaved-thinking-2025-05-14");
    assert_eq!(sent.headers["x-api-key"], "sk-ant-test", "the provider key, never the client's");
    gw.stop().await;
}

#[tokio::test]
async fn gemini_streams_as_a_json_array_without_alt_sse_and_errors_in_its_shape() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let body = json!({ "contents": [{ "role": "user", "parts": [{ "text": "hi" }] }] });
    let (status, text) =
        post(&gw.url("/v1beta/models/openai/gpt-mock:streamGenerateContent"), &[("x-goog-api-key", "k")], &body).await;
    assert_eq!(status, 200, "{text}");
    let chunks: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not a JSON array ({e}): {text}"));
    let streamed: String = chunks
        .iter()
        .flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(streamed, MOCK_TEXT);
    // A model path with the prefix URL-encoded works the same, and errors are Gemini's.
    let (status, text) = post(&gw.url("/v1beta/models/nope%2Fx:generateContent?key=k"), &[], &body).await;
    assert_eq!(status, 400, "{text}");
    let error: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error["error"]["code"], 400);
    assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    gw.stop().await;
}

#[tokio::test]
async fn ollama_streams_by_default_and_answers_once_when_told_not_to() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let body = json!({ "model": "anthropic/gpt-mock", "messages": [{ "role": "user", "content": "hi" }] });
    let (status, text) = post(&gw.url("/api/chat"), &[], &body).await;
    assert_eq!(status, 200);
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() > 2, "{text}");
    assert_eq!(lines.iter().filter(|l| l["done"] == true).count(), 1, "{text}");
    assert_eq!(lines.last().unwrap()["done"], true);
    let mut once = body.clone();
    once["stream"] = json!(false);
    let (status, text) = post(&gw.url("/api/chat"), &[], &once).await;
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((answer["message"]["content"].as_str(), answer["done"].as_bool()), (Some(MOCK_TEXT), Some(true)));
    assert_eq!((answer["prompt_eval_count"].as_u64(), answer["eval_count"].as_u64()), (Some(12), Some(6)));
    gw.stop().await;
}

#[tokio::test]
async fn count_tokens_asks_anthropic_and_estimates_elsewhere() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let body = |model: &str| json!({ "model": model, "messages": [{ "role": "user", "content": "How many tokens is this?" }] });
    let (status, text) = post(&gw.url("/v1/messages/count_tokens"), &ANTHROPIC, &body("anthropic/gpt-mock")).await;
    assert_eq!(status, 200, "{text}");
    assert!(mock.last_request().path.ends_with("/messages/count_tokens"));
    assert!(serde_json::from_str::<Value>(&text).unwrap()["input_tokens"].as_u64().unwrap() > 0);
    let (status, text) = post(&gw.url("/v1/messages/count_tokens"), &ANTHROPIC, &body("openai/gpt-4o")).await;
    assert_eq!(status, 200, "{text}");
    assert!(serde_json::from_str::<Value>(&text).unwrap()["input_tokens"].as_u64().unwrap() > 0);
    gw.stop().await;
}

#[tokio::test]
async fn each_format_lists_the_configured_models() {
    let mock = MockUpstream::start();
    let gw = TestGateway::with_every_format(&mock).await;
    let get = |path: &str| {
        let url = gw.url(path);
        async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() }
    };
    let openai: Vec<String> = get("/v1/models").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(openai.iter().any(|m| m.starts_with("anthropic/claude")), "{openai:?}");
    let tags = get("/api/tags").await;
    let tagged: Vec<&str> = tags["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(tagged, openai, "Ollama's list is the configured one");
    let gemini = get("/v1beta/models").await;
    let names: Vec<&str> = gemini["models"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, openai.iter().map(|m| format!("models/{m}")).collect::<Vec<_>>());
    gw.stop().await;
}
