//! Request, response and error fixture tests for the Gemini codec: wire shapes from Google's
//! documentation and cookbook (`tests/fixtures/gemini/`), decoded, encoded back, decoded again.

use serde_json::json;

use super::*;
use crate::formats::ErrorInfo;
use crate::formats::test_support::{
    assert_client_errors, assert_upstream_errors, encode_response_everywhere, fixture, json_of, message,
};
use crate::hub::{
    ChatRequest, ChatResponse, ContentBlock, FinishReason, MediaSource, ReasoningOptions, ResponseFormat, Role,
    ToolChoice, ToolDefinition, Usage,
};

const REQUEST: &str = fixture!("gemini", "request_full.json");
const TEXT_RESPONSE: &str = fixture!("gemini", "response_text.json");
const TOOL_RESPONSE: &str = fixture!("gemini", "response_tool_call.json");
const THINKING_RESPONSE: &str = fixture!("gemini", "response_thinking.json");
const ERROR: &str = fixture!("gemini", "error.json");

// ---------------------------------------------------------------- requests

#[test]
fn request_fixture_decodes_every_modelled_field() {
    let req = decode_request(REQUEST.as_bytes()).unwrap();
    assert_eq!(req.model, "");
    assert!(!req.stream);
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant, Role::User, Role::Assistant, Role::Tool]);
    assert_eq!(req.messages[0].content, vec![ContentBlock::text("You are a cat. Your name is Neko.")]);
    assert!(matches!(
        &req.messages[1].content[1],
        ContentBlock::Image { source: MediaSource::Base64 { media_type, .. }, .. } if media_type == "image/jpeg"
    ));
    assert!(matches!(
        &req.messages[1].content[2],
        ContentBlock::Document { source: MediaSource::Url(url), .. } if url.ends_with("files/abc-123")
    ));
    let model_turn = &req.messages[4].content;
    assert!(
        matches!(&model_turn[0], ContentBlock::Thinking { text, signature: None } if text.contains("find_theaters"))
    );
    assert_eq!(
        model_turn[1],
        ContentBlock::Thinking {
            text: String::new(),
            signature: Some("CiQB0e2Kb3JvXZ1uHc4P9r6jT4p0zVnd2gZkqW".into())
        }
    );
    let ContentBlock::ToolCall { id, name, arguments } = &model_turn[2] else { panic!("{model_turn:?}") };
    assert_eq!((id.as_str(), name.as_str()), ("call_3_1", "find_theaters"));
    assert_eq!(json_of(arguments.as_bytes()), json!({ "location": "Mountain View, CA", "movie": "Barbie" }));
    let ContentBlock::ToolResult { tool_call_id, content, is_error: false } = &req.messages[5].content[0] else {
        panic!()
    };
    assert_eq!(tool_call_id, "call_3_1", "the response takes the id of the call it answers");
    let ContentBlock::Text { text } = &content[0] else { panic!() };
    assert_eq!(json_of(text.as_bytes())["content"]["movie"], "Barbie");

    assert_eq!(req.tools.len(), 2);
    assert_eq!(req.tools[0].parameters["type"], "object", "OpenAPI types become JSON Schema types");
    assert_eq!(req.tools[0].parameters["properties"]["location"]["type"], "string");
    assert_eq!(req.hosted_tools.len(), 1);
    assert_eq!(
        (req.hosted_tools[0].kind.as_str(), &req.hosted_tools[0].value),
        ("codeExecution", &json!({ "codeExecution": {} }))
    );
    assert_eq!(req.tool_choice, Some(ToolChoice::Tool("find_theaters".into())));
    let s = &req.sampling;
    assert_eq!((s.temperature, s.top_p, s.top_k, s.max_tokens), (Some(0.2), Some(0.95), Some(40), Some(1024)));
    assert_eq!((s.stop.clone(), s.seed), (vec!["Title".to_string()], Some(42)));
    assert_eq!((s.presence_penalty, s.frequency_penalty), (Some(0.1), Some(0.2)));
    assert!(matches!(
        &req.response_format,
        Some(ResponseFormat::JsonSchema { schema, .. }) if schema["items"]["type"] == "object"
    ));
    assert_eq!(req.reasoning, Some(ReasoningOptions { effort: None, budget_tokens: Some(1024) }));
    assert_eq!(req.extra["generationConfig"], json!({ "candidateCount": 1 }));
    assert_eq!(req.extra["safetySettings"][0]["threshold"], "BLOCK_ONLY_HIGH");
}

#[test]
fn request_decode_encode_decode_is_stable() {
    let first = decode_request(REQUEST.as_bytes()).unwrap();
    let encoded = encode_request(&first).unwrap();
    let wire = json_of(&encoded);
    assert!(wire.get("model").is_none(), "the model goes in the URL");
    assert_eq!(wire["safetySettings"][0]["category"], "HARM_CATEGORY_DANGEROUS_CONTENT");
    assert_eq!(wire["generationConfig"]["candidateCount"], 1);
    assert_eq!(wire["tools"][1], json!({ "codeExecution": {} }));
    let call = &wire["contents"][3]["parts"][1];
    assert_eq!(call["thoughtSignature"], "CiQB0e2Kb3JvXZ1uHc4P9r6jT4p0zVnd2gZkqW", "signatures stay on their call");
    assert_eq!(call["functionCall"]["id"], "call_3_1");
    assert_eq!(wire["contents"][4]["parts"][0]["functionResponse"]["id"], "call_3_1");
    assert_eq!(decode_request(&encoded).unwrap(), first);
}

#[test]
fn calls_without_ids_are_matched_to_responses_by_name_in_order() {
    let body = json!({ "contents": [
        { "role": "user", "parts": [{ "text": "weather and time in Paris and Rome" }] },
        { "role": "model", "parts": [
            { "functionCall": { "name": "weather", "args": { "city": "Paris" } } },
            { "functionCall": { "name": "weather", "args": { "city": "Rome" } } },
            { "functionCall": { "name": "time", "args": {}, "id": "t-1" } }
        ] },
        { "role": "user", "parts": [
            { "functionResponse": { "name": "time", "response": { "result": "noon" } } },
            { "functionResponse": { "name": "weather", "response": { "result": "sunny" } } },
            { "functionResponse": { "name": "weather", "response": { "error": "no data" } } },
            { "text": "thanks" }
        ] }
    ] });
    let req = decode_request(body.to_string().as_bytes()).unwrap();
    let ids: Vec<&str> = req.messages[1]
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolCall { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ids, ["call_1_0", "call_1_1", "t-1"]);
    assert_eq!(req.messages[2].role, Role::Tool);
    let results: Vec<(&str, bool)> = req.messages[2]
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolResult { tool_call_id, is_error, .. } => Some((tool_call_id.as_str(), *is_error)),
            _ => None,
        })
        .collect();
    assert_eq!(results, [("t-1", false), ("call_1_0", false), ("call_1_1", true)]);
    assert_eq!(req.messages[3], message(Role::User, vec![ContentBlock::text("thanks")]));
}

/// A request as an OpenAI client would send it, in hub form.
fn openai_style_request() -> ChatRequest {
    ChatRequest {
        model: "gemini-2.5-flash".into(),
        messages: vec![
            message(Role::System, vec![ContentBlock::text("Be brief.")]),
            message(Role::Developer, vec![ContentBlock::text("Answer in French.")]),
            message(
                Role::User,
                vec![
                    ContentBlock::text("Weather where this photo was taken?"),
                    ContentBlock::Image {
                        source: MediaSource::Url("https://example.com/paris.png".into()),
                        detail: Some("low".into()),
                    },
                ],
            ),
            message(
                Role::Assistant,
                vec![
                    ContentBlock::ToolCall {
                        id: "call_a".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    },
                    ContentBlock::ToolCall { id: "call_b".into(), name: "get_time".into(), arguments: String::new() },
                ],
            ),
            message(
                Role::Tool,
                vec![ContentBlock::ToolResult {
                    tool_call_id: "call_a".into(),
                    content: vec![ContentBlock::text("22C")],
                    is_error: false,
                }],
            ),
            message(
                Role::Tool,
                vec![ContentBlock::ToolResult {
                    tool_call_id: "call_b".into(),
                    content: vec![ContentBlock::text(r#"{"time":"12:00"}"#)],
                    is_error: false,
                }],
            ),
        ],
        tools: vec![ToolDefinition {
            name: "get_weather".into(),
            description: Some("Weather".into()),
            parameters: json!({ "type": "object", "properties": { "city": { "type": "string" } }, "additionalProperties": false }),
            strict: Some(true),
            namespace: None,
        }],
        tool_choice: Some(ToolChoice::Required),
        response_format: Some(ResponseFormat::JsonObject),
        reasoning: Some(ReasoningOptions { effort: Some("high".into()), budget_tokens: None }),
        stream: true,
        user: Some("u-1".into()),
        ..Default::default()
    }
}

#[test]
fn hub_requests_from_other_formats_encode_to_gemini_shapes() {
    let wire = json_of(&encode_request(&openai_style_request()).unwrap());
    assert_eq!(
        wire["systemInstruction"],
        json!({ "parts": [{ "text": "Be brief." }, { "text": "Answer in French." }] })
    );
    let contents = wire["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "both tool results share one user turn: {contents:?}");
    assert_eq!(
        contents[0]["parts"][1],
        json!({ "fileData": { "mimeType": "image/png", "fileUri": "https://example.com/paris.png" } })
    );
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(
        contents[1]["parts"][0],
        json!({
            "functionCall": { "id": "call_a", "name": "get_weather", "args": { "city": "Paris" } },
            "thoughtSignature": "skip_thought_signature_validator"
        })
    );
    assert_eq!(contents[1]["parts"][1], json!({ "functionCall": { "id": "call_b", "name": "get_time", "args": {} } }));
    assert_eq!(
        contents[2]["parts"],
        json!([
            { "functionResponse": { "id": "call_a", "name": "get_weather", "response": { "result": "22C" } } },
            { "functionResponse": { "id": "call_b", "name": "get_time", "response": { "time": "12:00" } } }
        ])
    );
    assert_eq!(
        wire["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"]["additionalProperties"],
        json!(false)
    );
    assert_eq!(wire["toolConfig"], json!({ "functionCallingConfig": { "mode": "ANY" } }));
    assert_eq!(
        wire["generationConfig"],
        json!({
            "responseMimeType": "application/json",
            "thinkingConfig": { "thinkingBudget": 24576, "includeThoughts": true }
        })
    );
    assert!(wire.get("stream").is_none() && wire.get("user").is_none());

    // And back: the skip signature is not a real one, ids and names survive.
    let back = decode_request(&encode_request(&openai_style_request()).unwrap()).unwrap();
    assert!(matches!(&back.messages[2].content[0], ContentBlock::ToolCall { id, .. } if id == "call_a"));
    assert!(
        matches!(&back.messages[3].content[1], ContentBlock::ToolResult { tool_call_id, .. } if tool_call_id == "call_b")
    );
}

#[test]
fn tool_result_images_follow_the_responses_of_one_user_turn() {
    let mut req = openai_style_request();
    req.messages.truncate(4);
    let image = ContentBlock::Image {
        source: MediaSource::Base64 { media_type: "image/png".into(), data: "iVBORw0K".into() },
        detail: None,
    };
    req.messages.push(message(
        Role::Tool,
        vec![ContentBlock::ToolResult {
            tool_call_id: "call_a".into(),
            content: vec![ContentBlock::text("see the map"), image],
            is_error: true,
        }],
    ));
    req.messages.push(message(
        Role::Tool,
        vec![ContentBlock::ToolResult { tool_call_id: "call_b".into(), content: vec![], is_error: false }],
    ));
    req.messages.push(message(Role::User, vec![ContentBlock::text("thanks")]));
    let wire = json_of(&encode_request(&req).unwrap());
    let contents = wire["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3);
    assert_eq!(
        contents[2]["parts"],
        json!([
            { "functionResponse": { "id": "call_a", "name": "get_weather", "response": { "error": "see the map" } } },
            { "functionResponse": { "id": "call_b", "name": "get_time", "response": { "result": "" } } },
            { "text": "thanks" },
            { "inlineData": { "mimeType": "image/png", "data": "iVBORw0K" } }
        ])
    );
}

#[test]
fn requests_gemini_cannot_carry_are_refused_clearly() {
    let mut orphan = openai_style_request();
    orphan.messages.remove(3);
    let err = encode_request(&orphan).unwrap_err().to_string();
    assert!(err.contains("call_a") && err.contains("name"), "{err}");
    let only_system =
        ChatRequest { messages: vec![message(Role::System, vec![ContentBlock::text("hi")])], ..Default::default() };
    assert!(encode_request(&only_system).is_err());
}

#[test]
fn tool_choice_maps_both_ways() {
    let mut req = openai_style_request();
    for (choice, wire) in [
        (ToolChoice::Auto, json!({ "mode": "AUTO" })),
        (ToolChoice::None, json!({ "mode": "NONE" })),
        (ToolChoice::Required, json!({ "mode": "ANY" })),
        (ToolChoice::Tool("get_weather".into()), json!({ "mode": "ANY", "allowedFunctionNames": ["get_weather"] })),
    ] {
        req.tool_choice = Some(choice.clone());
        let encoded = encode_request(&req).unwrap();
        assert_eq!(json_of(&encoded)["toolConfig"]["functionCallingConfig"], wire);
        assert_eq!(decode_request(&encoded).unwrap().tool_choice, Some(choice));
    }
}

#[test]
fn snake_case_bodies_decode_too() {
    let body = r#"{"contents": {"role": "user", "parts": {"text": "hi"}},
        "system_instruction": {"parts": [{"text": "sys"}]},
        "tools": [{"function_declarations": [{"name": "f", "parameters": {"type": "OBJECT"}}]}],
        "generation_config": {"max_output_tokens": 5, "response_mime_type": "text/plain"}}"#;
    let req = decode_request(body.as_bytes()).unwrap();
    assert_eq!(req.messages[0].role, Role::System);
    assert_eq!(req.messages[1].content, vec![ContentBlock::text("hi")]);
    assert_eq!(req.tools[0].parameters, json!({ "type": "object" }));
    assert_eq!(req.sampling.max_tokens, Some(5));
    assert_eq!(req.response_format, Some(ResponseFormat::Text));
}

#[test]
fn bad_requests_name_the_field() {
    assert_client_errors(
        decode_request,
        &[
            ("{}", "`contents`"),
            (r#"{"contents": [1]}"#, "contents[0]"),
            (r#"{"contents": [{"role": "robot", "parts": []}]}"#, "contents[0].role"),
            (r#"{"contents": [{"parts": ["x"]}]}"#, "contents[0].parts[0]"),
            (r#"{"contents": [], "generationConfig": {"temperature": "hot"}}"#, "temperature"),
            (r#"{"contents": [], "generationConfig": {"maxOutputTokens": -1}}"#, "maxOutputTokens"),
            (r#"{"contents": [], "tools": [{"functionDeclarations": [{}]}]}"#, "name"),
            (
                r#"{"contents": [], "tools": [{"type": "web_search"}]}"#,
                "Invalid JSON payload received. Unknown name \"type\" at 'tools[0]': Cannot find field.",
            ),
            (r#"{"contents": [], "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}"#, "mode"),
        ],
    );
}

// ---------------------------------------------------------------- responses

#[test]
fn text_response_decodes_with_usage() {
    let resp = decode_response(TEXT_RESPONSE.as_bytes()).unwrap();
    assert_eq!((resp.id.as_str(), resp.model.as_str()), ("2FVbaKiuHtXVnvgP5tGNsAc", "gemini-2.0-flash"));
    assert!(matches!(&resp.content[..], [ContentBlock::Text { text }] if text.contains("冒险伙伴")));
    assert_eq!(resp.finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        resp.usage,
        Some(Usage { input_tokens: 8, output_tokens: 35, cached_input_tokens: Some(4), ..Default::default() })
    );
}

#[test]
fn parallel_function_calls_decode_with_stable_ids_and_tool_calls_reason() {
    let resp = decode_response(TOOL_RESPONSE.as_bytes()).unwrap();
    assert_eq!(resp.finish_reason, Some(FinishReason::ToolCalls), "STOP with calls is a tool-call stop");
    let calls: Vec<(&str, &str)> = resp
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolCall { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1].1, "get_showtimes");
    assert_ne!(calls[0].0, calls[1].0);
    assert_eq!(decode_response(TOOL_RESPONSE.as_bytes()).unwrap(), resp, "ids are deterministic");
    assert!(resp.extra.contains_key("promptFeedback"));
    let wire = json_of(&encode_response(&resp));
    assert_eq!(wire["candidates"][0]["finishReason"], "STOP");
    assert_eq!(wire["candidates"][0]["content"]["parts"][0]["functionCall"]["args"]["movie"], "Barbie");
}

#[test]
fn thinking_response_keeps_thoughts_signature_and_reasoning_tokens() {
    let resp = decode_response(THINKING_RESPONSE.as_bytes()).unwrap();
    assert!(matches!(&resp.content[0], ContentBlock::Thinking { text, signature: None } if text.contains("sum is 4")));
    assert!(matches!(&resp.content[1], ContentBlock::Thinking { text, signature: Some(_) } if text.is_empty()));
    assert_eq!(resp.content[2], ContentBlock::text("2 + 2 = 4"));
    assert_eq!(
        resp.usage,
        Some(Usage { input_tokens: 10, output_tokens: 119, reasoning_tokens: Some(112), ..Default::default() })
    );
    let wire = json_of(&encode_response(&resp));
    assert_eq!(wire["usageMetadata"]["candidatesTokenCount"], 7, "candidates exclude thoughts again");
    assert_eq!(wire["usageMetadata"]["thoughtsTokenCount"], 112);
    assert_eq!(
        wire["candidates"][0]["content"]["parts"][1],
        json!({ "text": "2 + 2 = 4", "thoughtSignature": "CtkCAdHtim9nPRwN0rJRsBnDZWmfb0e+8N1ZMpH/mHz3QSuCE3Yh" })
    );
}

// Issue 14, fuzzing: these bytes made the gemini_response target panic. Prompt + tool-use
// prompt tokens and candidates + thoughts tokens overflowed when summed into the hub's counts.
#[test]
fn upstream_counts_of_u64_max_saturate() {
    let bodies: [&[u8]; 2] = [
        br#"{"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":18446744073709551615,"toolUsePromptTokenCount":1}}"#,
        br#"{"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"candidatesTokenCount":18446744073709551615,"thoughtsTokenCount":1}}"#,
    ];
    for body in bodies {
        let usage = decode_response(body).unwrap().usage.unwrap();
        assert_eq!(usage.input_tokens.max(usage.output_tokens), u64::MAX);
        assert_eq!(encode_response_everywhere(&decode_response(body).unwrap()).len(), 5);
    }
}

#[test]
fn responses_decode_encode_decode_is_stable() {
    for body in [TEXT_RESPONSE, TOOL_RESPONSE, THINKING_RESPONSE] {
        let first = decode_response(body.as_bytes()).unwrap();
        let mut second = decode_response(&encode_response(&first)).unwrap();
        if first.id.is_empty() {
            assert!(!second.id.is_empty(), "an id is invented");
            second.id.clear();
        }
        assert_eq!(second, first);
    }
}

#[test]
fn finish_reasons_map_both_ways() {
    for (wire, hub) in [
        ("STOP", FinishReason::Stop),
        ("MAX_TOKENS", FinishReason::Length),
        ("SAFETY", FinishReason::ContentFilter),
        ("MALFORMED_FUNCTION_CALL", FinishReason::Other("MALFORMED_FUNCTION_CALL".into())),
    ] {
        assert_eq!(finish_reason_from_wire(wire, false), hub);
        assert_eq!(finish_reason_to_wire(Some(&hub)), wire);
    }
    assert_eq!(finish_reason_from_wire("RECITATION", false), FinishReason::ContentFilter);
    assert_eq!(finish_reason_to_wire(Some(&FinishReason::ToolCalls)), "STOP");
    assert_eq!(finish_reason_to_wire(Some(&FinishReason::Other("end_turn".into()))), "OTHER");
}

#[test]
fn blocked_prompts_and_error_bodies_decode() {
    let blocked = br#"{"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}}"#;
    let resp = decode_response(blocked).unwrap();
    assert_eq!((resp.content.len(), resp.finish_reason), (0, Some(FinishReason::ContentFilter)));
    assert_upstream_errors(decode_response, &[(ERROR, "API key"), ("<html>", "not valid JSON")]);
}

#[test]
fn hub_responses_from_other_formats_encode() {
    let resp = ChatResponse {
        content: vec![
            ContentBlock::Thinking { text: "hmm".into(), signature: Some("anthropic-sig".into()) },
            ContentBlock::RedactedThinking { data: "xxx".into() },
            ContentBlock::text("Hi"),
            ContentBlock::ToolCall { id: "toolu_1".into(), name: "f".into(), arguments: r#"{"a":1}"#.into() },
        ],
        finish_reason: Some(FinishReason::ToolCalls),
        usage: Some(Usage { input_tokens: 5, output_tokens: 9, reasoning_tokens: Some(4), ..Default::default() }),
        ..Default::default()
    };
    let wire = json_of(&encode_response(&resp));
    assert!(wire["responseId"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(
        wire["candidates"][0]["content"]["parts"],
        json!([
            { "text": "hmm", "thought": true, "thoughtSignature": "anthropic-sig" },
            { "text": "Hi" },
            { "functionCall": { "id": "toolu_1", "name": "f", "args": { "a": 1 } } }
        ])
    );
    assert_eq!(
        wire["usageMetadata"],
        json!({ "promptTokenCount": 5, "candidatesTokenCount": 5, "totalTokenCount": 14, "thoughtsTokenCount": 4 })
    );
}

// ---------------------------------------------------------------- errors and models

#[test]
fn error_fixture_and_bodies() {
    assert_eq!(
        upstream_error_message(ERROR.as_bytes()).as_deref(),
        Some("API key not valid. Please pass a valid API key.")
    );
    let body = json_of(&error_body(&ErrorInfo::from_status(404, "models/x is not found")));
    assert_eq!(body["error"]["status"], "NOT_FOUND");
    assert_eq!(body["error"]["code"], 404);
}

#[test]
fn model_list_entries_look_like_googles() {
    let entry = model_list_entry("gemini-2.5-flash", "Gemini 2.5 Flash");
    assert_eq!(entry["name"], "models/gemini-2.5-flash");
    assert_eq!(entry["displayName"], "Gemini 2.5 Flash");
    assert_eq!(entry["supportedGenerationMethods"], json!(["generateContent", "countTokens"]));
    assert_eq!(model_list_entry("models/x", "X")["name"], "models/x");
}
