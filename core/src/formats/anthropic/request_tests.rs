//! Tests for the Anthropic request codec (kept apart so `request.rs` stays short).

use super::*;
use crate::formats::test_support::{assert_client_errors, fixture};
use crate::hub::{MediaSource, ResponseFormat, ToolDefinition};

// Built from the Messages API docs' examples: system blocks, vision (base64 and URL sources),
// extended thinking with tool use, a tool result, a PDF document, a server tool.
const FULL: &str = fixture!("anthropic", "request_full.json");

fn wire(req: &ChatRequest) -> Value {
    serde_json::from_slice(&encode_request(req).unwrap()).unwrap()
}

#[test]
fn decodes_every_modelled_field() {
    let req = decode_request(FULL.as_bytes()).unwrap();
    assert_eq!(req.model, "claude-sonnet-4-5");
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::Tool, Role::User]);
    assert_eq!(req.messages[0].content.len(), 2);
    assert!(matches!(
        &req.messages[1].content[0],
        ContentBlock::Image { source: MediaSource::Base64 { media_type, .. }, .. } if media_type == "image/jpeg"
    ));
    assert!(
        matches!(&req.messages[1].content[1], ContentBlock::Image { source: MediaSource::Url(u), .. } if u.ends_with(".jpg"))
    );
    assert!(matches!(&req.messages[2].content[0], ContentBlock::Thinking { signature: Some(_), .. }));
    assert_eq!(
        req.messages[2].content[2],
        ContentBlock::ToolCall {
            id: "toolu_01A09q90qw90lq917835lq9".into(),
            name: "get_weather".into(),
            arguments: r#"{"location":"San Francisco, CA","unit":"celsius"}"#.into(),
        }
    );
    assert_eq!(
        req.messages[3].content,
        vec![ContentBlock::ToolResult {
            tool_call_id: "toolu_01A09q90qw90lq917835lq9".into(),
            content: vec![ContentBlock::text("15 degrees")],
            is_error: false,
        }]
    );
    assert!(matches!(&req.messages[4].content[1], ContentBlock::Document { name: Some(n), .. } if n == "Forecast"));
    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tools[0].parameters["required"], json!(["location"]));
    assert_eq!(req.hosted_tools[0].kind, "web_search_20250305", "server tools are kept");
    assert_eq!(req.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(req.parallel_tool_calls, Some(false));
    assert_eq!(req.reasoning, Some(ReasoningOptions { effort: None, budget_tokens: Some(16000) }));
    assert_eq!(req.sampling.max_tokens, Some(20000));
    assert_eq!(req.sampling.top_p, Some(0.95));
    assert_eq!(req.sampling.stop, vec!["\n\nHuman:".to_string()]);
    assert_eq!(req.user.as_deref(), Some("13803d75-b4b5-4c3e-b2a2-6f21399b021b"));
    assert!(req.stream && req.stream_usage);
    assert_eq!(req.extra["service_tier"], "auto");
}

#[test]
fn decode_encode_decode_is_stable() {
    let first = decode_request(FULL.as_bytes()).unwrap();
    let second = decode_request(&encode_request(&first).unwrap()).unwrap();
    assert_eq!(first, second);
}

#[test]
fn an_openai_request_becomes_a_valid_anthropic_one() {
    let openai = r#"{
        "model": "anthropic/claude-sonnet-4-5",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "22C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "noon"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}}],
        "tool_choice": "required",
        "parallel_tool_calls": false,
        "temperature": 1.7, "seed": 7, "frequency_penalty": 0.5, "stop": "END",
        "response_format": {"type": "json_object"},
        "user": "u-1", "logit_bias": {"50256": -100}, "stream": true
    }"#;
    let hub = crate::formats::openai_chat::decode_request(openai.as_bytes()).unwrap();
    let body = wire(&hub);
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(
        messages[0]["content"][1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "iVBORw0K"})
    );
    assert_eq!(messages[1]["content"][0]["input"], json!({"city": "Paris"}));
    assert_eq!(messages[1]["content"][1]["input"], json!({}));
    assert_eq!(messages[2]["role"], "user");
    assert_eq!(
        messages[2]["content"],
        json!([
            {"type": "tool_result", "tool_use_id": "call_1", "content": "22C"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "noon"}
        ])
    );
    assert_eq!(
        body["tools"],
        json!([{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
    );
    assert_eq!(body["tool_choice"], json!({"type": "any", "disable_parallel_tool_use": true}));
    assert_eq!(body["temperature"], 1.0, "clamped to Anthropic's range");
    assert_eq!(body["stop_sequences"], json!(["END"]));
    assert_eq!(body["metadata"], json!({"user_id": "u-1"}));
    assert_eq!(body["stream"], true);
    for dropped in ["seed", "frequency_penalty", "response_format", "logit_bias", "stream_options", "user"] {
        assert!(body.get(dropped).is_none(), "{dropped} must not reach Anthropic");
    }
}

#[test]
fn thinking_follows_anthropic_rules() {
    let mut req = ChatRequest {
        model: "m".into(),
        messages: vec![Message {
            role: Role::User,
            content: vec![ContentBlock::text("hi")],
            name: None,
            extra: Default::default(),
        }],
        reasoning: Some(ReasoningOptions { effort: Some("high".into()), budget_tokens: None }),
        ..Default::default()
    };
    req.sampling.temperature = Some(0.3);
    req.sampling.top_k = Some(5);
    req.sampling.top_p = Some(0.5);
    let body = wire(&req);
    assert_eq!(body["thinking"], json!({"type": "enabled", "budget_tokens": 16384}));
    assert_eq!(body["max_tokens"], 16384 + DEFAULT_MAX_TOKENS, "raised above the budget");
    assert!(body.get("temperature").is_none() && body.get("top_k").is_none());
    assert_eq!(body["top_p"], 0.95);

    req.sampling.max_tokens = Some(3000);
    assert_eq!(wire(&req)["thinking"]["budget_tokens"], 2999, "kept below max_tokens");
    req.sampling.max_tokens = Some(1000);
    assert!(wire(&req).get("thinking").is_none(), "too small for Anthropic's minimum budget");
    req.sampling.max_tokens = None;
    req.reasoning = Some(ReasoningOptions { effort: Some("none".into()), budget_tokens: None });
    let body = wire(&req);
    assert!(body.get("thinking").is_none());
    assert_eq!(body["temperature"], 0.3);
    assert_eq!(body["top_k"], 5);

    req.reasoning = Some(ReasoningOptions { effort: None, budget_tokens: Some(2048) });
    let call = ContentBlock::ToolCall { id: "c".into(), name: "f".into(), arguments: "{}".into() };
    let mut tool_loop = req.clone();
    tool_loop.messages.push(Message {
        role: Role::Assistant,
        content: vec![call.clone()],
        name: None,
        extra: Default::default(),
    });
    assert!(wire(&tool_loop).get("thinking").is_none(), "an unsigned tool turn excludes thinking");
    let signed = ContentBlock::Thinking { text: "t".into(), signature: Some("s".into()) };
    tool_loop.messages[1].content.insert(0, signed);
    assert_eq!(wire(&tool_loop)["thinking"]["budget_tokens"], 2048);
    req.tools = vec![ToolDefinition {
        name: "f".into(),
        description: None,
        parameters: Value::Null,
        strict: None,
        namespace: None,
    }];
    req.tool_choice = Some(ToolChoice::Tool("f".into()));
    let body = wire(&req);
    assert!(body.get("thinking").is_none(), "forced tool use excludes thinking");
    assert_eq!(body["tool_choice"], json!({"type": "tool", "name": "f"}));
    assert_eq!(body["tools"][0]["input_schema"], json!({"type": "object", "properties": {}}));
}

#[test]
fn adaptive_thinking_and_response_format() {
    let req = decode_request(
        br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"thinking":{"type":"adaptive"},"output_config":{"effort":"low"}}"#,
    )
    .unwrap();
    assert_eq!(req.reasoning, Some(ReasoningOptions { effort: Some("low".into()), budget_tokens: None }));
    assert_eq!(req.sampling.max_tokens, None, "count_tokens bodies have no max_tokens");
    let mut req = req;
    req.response_format = Some(ResponseFormat::JsonObject);
    let body = wire(&req);
    assert!(body.get("response_format").is_none());
    assert_eq!(body["output_config"], json!({"effort": "low"}), "native extras are written back");
}

#[test]
fn bad_requests_name_the_field() {
    assert_client_errors(
        decode_request,
        &[
            (r#"{"messages": []}"#, "`model`"),
            (r#"{"model": "m"}"#, "`messages`"),
            (r#"{"model": "m", "messages": [{"role": "developer", "content": "x"}]}"#, "messages[0].role"),
            (
                r#"{"model": "m", "messages": [{"role": "system", "content": [{"type": "image", "source": {}}]}]}"#,
                "messages[0]: a system turn",
            ),
            (r#"{"model": "m", "messages": [{"role": "user"}]}"#, "messages[0].content"),
            (r#"{"model": "m", "messages": [{"role": "user", "content": [42]}]}"#, "messages[0].content[0]"),
            (r#"{"model": "m", "messages": [], "system": 3}"#, "`system`"),
            (r#"{"model": "m", "messages": [], "max_tokens": -1}"#, "`max_tokens`"),
            (r#"{"model": "m", "messages": [], "temperature": "hot"}"#, "`temperature`"),
            (r#"{"model": "m", "messages": [], "stop_sequences": "END"}"#, "`stop_sequences`"),
            (r#"{"model": "m", "messages": [], "tools": [{"input_schema": {}}]}"#, "tools[0]"),
            (r#"{"model": "m", "messages": [], "tool_choice": {"type": "tool"}}"#, "`name`"),
            (r#"{"model": "m", "messages": [], "tool_choice": {"type": "sometimes"}}"#, "tool_choice.type"),
            (r#"{"model": "m", "messages": [], "thinking": {"type": "enabled"}}"#, "budget_tokens"),
        ],
    );
}
