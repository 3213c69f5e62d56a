//! Tests of the Ollama codec against the documented wire shapes in `tests/fixtures/ollama/`:
//! requests, answers and streams, both directions, at every chunk boundary.

use serde_json::{Value, json};

use super::*;
use crate::error::GatewayError;
use crate::formats::StreamEncode;
use crate::formats::test_support::{
    assert_client_errors, assert_upstream_errors, decode_at_every_split, decode_split, encode_all, fixture, json_of,
};
use crate::hub::{
    BlockDelta, BlockStart, ChatRequest, ChatResponse, ContentBlock, MediaSource, ReasoningOptions, ResponseFormat,
    Role, StreamEvent, ToolChoice,
};

const REQUEST: &str = fixture!("ollama", "request_full.json");
const TEXT_RESPONSE: &str = fixture!("ollama", "response_text.json");
const TOOL_RESPONSE: &str = fixture!("ollama", "response_tool_call.json");
const THINKING_RESPONSE: &str = fixture!("ollama", "response_thinking.json");
const TEXT_STREAM: &str = fixture!("ollama", "stream_text.ndjson");
const THINKING_STREAM: &str = fixture!("ollama", "stream_thinking.ndjson");
const TOOL_STREAM: &str = fixture!("ollama", "stream_tool_call.ndjson");
const ERROR_STREAM: &str = fixture!("ollama", "stream_error.ndjson");

// ---- requests ----

#[test]
fn decodes_the_documented_request() {
    let req = decode_request(REQUEST.as_bytes()).unwrap();
    assert_eq!(req.model, "llava");
    assert_eq!(req.messages.len(), 7);
    assert_eq!(req.messages[0].role, Role::System);
    assert!(matches!(&req.messages[1].content[1],
        ContentBlock::Image { source: MediaSource::Base64 { media_type, data }, .. }
            if media_type == "image/png" && data.starts_with("iVBORw0KGgo")));
    let calls: Vec<_> = req.messages[4]
        .content
        .iter()
        .map(|b| match b {
            ContentBlock::ToolCall { id, name, arguments } => (id.as_str(), name.as_str(), arguments.as_str()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        calls,
        vec![
            ("call_4_0", "get_weather", r#"{"city":"Toronto"}"#),
            ("call_4_1", "get_weather", r#"{"city":"Montréal"}"#)
        ]
    );
    // Results carry only the tool name: they answer the calls in order.
    for (message, id) in [(5, "call_4_0"), (6, "call_4_1")] {
        assert_eq!(req.messages[message].role, Role::Tool);
        assert!(matches!(&req.messages[message].content[0],
            ContentBlock::ToolResult { tool_call_id, .. } if tool_call_id == id));
    }
    assert_eq!(req.tools[0].name, "get_weather");
    assert_eq!(req.tools[0].parameters["required"], json!(["city"]));
    let s = &req.sampling;
    assert_eq!(
        (s.temperature, s.top_p, s.top_k, s.max_tokens, s.seed),
        (Some(0.0), Some(0.9), Some(20), Some(100), Some(101))
    );
    assert_eq!(s.stop, vec!["\n".to_string(), "user:".to_string()]);
    assert_eq!(req.reasoning, Some(ReasoningOptions { effort: Some("low".into()), budget_tokens: None }));
    assert!(!req.stream);
    assert_eq!(req.extra["keep_alive"], "5m");
    assert_eq!(req.extra["options"], json!({ "num_ctx": 1024, "repeat_penalty": 1.2 }), "unknown options are kept");
}

#[test]
fn stream_defaults_to_true() {
    let req = decode_request(br#"{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}"#).unwrap();
    assert!(req.stream && req.stream_usage);
    let req = decode_request(br#"{"model":"llama3.2","messages":[],"stream":false}"#).unwrap();
    assert!(!req.stream);
}

#[test]
fn decode_encode_decode_is_stable() {
    let first = decode_request(REQUEST.as_bytes()).unwrap();
    let encoded = encode_request(&first).unwrap();
    let second = decode_request(&encoded).unwrap();
    assert_eq!(first, second);
    let wire = json_of(&encoded);
    assert_eq!(wire["messages"][4]["tool_calls"][1]["function"]["arguments"], json!({ "city": "Montréal" }));
    assert_eq!(wire["messages"][5]["tool_name"], "get_weather");
    assert_eq!(wire["options"]["num_ctx"], 1024);
    assert_eq!(wire["options"]["num_predict"], 100);
    assert_eq!(wire["think"], "low");
    assert_eq!(wire["stream"], false);
    assert_eq!(wire["keep_alive"], "5m");
}

#[test]
fn format_think_false_and_unlimited_num_predict_survive() {
    let body = br#"{"model":"m","messages":[],"format":"json","think":false,"options":{"num_predict":-1}}"#;
    let req = decode_request(body).unwrap();
    assert_eq!(req.response_format, Some(ResponseFormat::JsonObject));
    assert_eq!((req.reasoning.clone(), req.sampling.max_tokens), (None, None));
    let wire = json_of(&encode_request(&req).unwrap());
    assert_eq!(
        (&wire["format"], &wire["think"], &wire["options"]),
        (&json!("json"), &json!(false), &json!({ "num_predict": -1 }))
    );
    let schema = json!({ "type": "object", "properties": { "age": { "type": "integer" } } });
    let req = decode_request(json!({ "model": "m", "messages": [], "format": schema }).to_string().as_bytes()).unwrap();
    assert!(matches!(&req.response_format, Some(ResponseFormat::JsonSchema { schema: s, .. }) if *s == schema));
    assert_eq!(json_of(&encode_request(&req).unwrap())["format"], schema);
}

#[test]
fn bad_requests_name_the_field() {
    assert_client_errors(
        decode_request,
        &[
            (r#"{"messages": []}"#, "`model`"),
            (r#"{"model": "m"}"#, "`messages`"),
            (r#"{"model": "m", "messages": [{"role": "robot"}]}"#, "messages[0].role"),
            (r#"{"model": "m", "messages": [{"role": "user", "content": [1]}]}"#, "messages[0].content"),
            (r#"{"model": "m", "messages": [{"role": "user", "images": [1]}]}"#, "messages[0].images"),
            (
                r#"{"model": "m", "messages": [{"role": "assistant", "tool_calls": [{}]}]}"#,
                "tool_calls[0].function.name",
            ),
            (r#"{"model": "m", "messages": [], "options": {"temperature": "hot"}}"#, "`options.temperature`"),
            (r#"{"model": "m", "messages": [], "format": "yaml"}"#, "`format`"),
            (r#"{"model": "m", "messages": [], "think": "max"}"#, "`think`"),
            (r#"{"model": "m", "messages": [], "stream": "yes"}"#, "`stream`"),
        ],
    );
}

/// A request as an OpenAI client sends it, translated for an Ollama provider.
fn openai_request(image_url: &str) -> ChatRequest {
    let body = json!({
        "model": "ollama/llama3.2",
        "messages": [
            { "role": "developer", "content": "Be brief." },
            { "role": "user", "content": [
                { "type": "text", "text": "What is this?" },
                { "type": "image_url", "image_url": { "url": image_url } },
            ] },
            { "role": "assistant", "content": null, "tool_calls": [
                { "id": "call_abc", "type": "function", "function": { "name": "lookup", "arguments": "{\"q\":\"x\",\"a\":1}" } },
            ] },
            { "role": "tool", "tool_call_id": "call_abc", "content": "found" },
        ],
        "tools": [{ "type": "function", "function": { "name": "lookup", "parameters": { "type": "object" } } }],
        "tool_choice": "none",
        "max_tokens": 64,
        "reasoning_effort": "minimal",
        "response_format": { "type": "json_schema", "json_schema": { "name": "r", "schema": { "type": "object" } } },
    });
    crate::formats::openai_chat::decode_request(body.to_string().as_bytes()).unwrap()
}

#[test]
fn encodes_a_translated_request_natively() {
    let wire = json_of(&encode_request(&openai_request("data:image/jpeg;base64,/9j/4AAQ")).unwrap());
    let messages = wire["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({ "role": "system", "content": "Be brief." }));
    assert_eq!(messages[1]["images"], json!(["/9j/4AAQ"]));
    // Ids travel and arguments keep their key order, byte for byte.
    let call = &messages[2]["tool_calls"][0];
    assert_eq!(call["id"], "call_abc");
    assert!(
        encode_request(&openai_request("data:image/jpeg;base64,/9j/4AAQ"))
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .unwrap()
            .contains(r#""arguments":{"q":"x","a":1}"#)
    );
    assert_eq!(
        messages[3],
        json!({ "role": "tool", "content": "found", "tool_name": "lookup", "tool_call_id": "call_abc" })
    );
    assert!(wire.get("tools").is_none(), "tool_choice none withholds the tools");
    assert_eq!(wire["options"], json!({ "num_predict": 64 }));
    assert_eq!(wire["think"], "low");
    assert_eq!(wire["format"], json!({ "type": "object" }));
    assert_eq!(wire["stream"], false, "stream is always explicit: Ollama defaults to true");
}

#[test]
fn image_urls_and_documents_cannot_be_sent() {
    let err = encode_request(&openai_request("https://example.com/cat.png")).unwrap_err();
    assert!(matches!(&err, GatewayError::InvalidRequest(m) if m.contains("base64")), "{err}");
    let mut req = openai_request("data:image/png;base64,iVBO");
    req.messages[1].content.push(ContentBlock::Document {
        source: MediaSource::Base64 { media_type: "application/pdf".into(), data: "JVBER".into() },
        name: None,
    });
    assert!(matches!(encode_request(&req), Err(GatewayError::InvalidRequest(m)) if m.contains("document")));
    let mut req = openai_request("data:image/png;base64,iVBO");
    req.messages[2].content[0] =
        ContentBlock::ToolCall { id: "c".into(), name: "lookup".into(), arguments: "[1]".into() };
    assert!(matches!(encode_request(&req), Err(GatewayError::InvalidRequest(m)) if m.contains("lookup")));
}

#[test]
fn anthropic_style_results_in_a_user_turn_become_tool_messages_first() {
    let mut req = openai_request("data:image/png;base64,iVBO");
    req.tool_choice = Some(ToolChoice::Tool("lookup".into()));
    req.messages[3] = crate::hub::Message {
        role: Role::User,
        content: vec![
            ContentBlock::ToolResult {
                tool_call_id: "call_abc".into(),
                content: vec![ContentBlock::text("found")],
                is_error: false,
            },
            ContentBlock::text("thanks"),
        ],
        name: None,
        extra: Default::default(),
    };
    let wire = json_of(&encode_request(&req).unwrap());
    assert_eq!(wire["messages"][3]["role"], "tool");
    assert_eq!(wire["messages"][3]["tool_name"], "lookup");
    assert_eq!(wire["messages"][4], json!({ "role": "user", "content": "thanks" }));
    assert_eq!(wire["tools"][0]["function"]["name"], "lookup", "a named tool choice offers that tool alone");
}

// ---- answers ----

#[test]
fn decodes_the_documented_answers() {
    let text = decode_response(TEXT_RESPONSE.as_bytes()).unwrap();
    assert_eq!(text.content, vec![ContentBlock::text("The current temperature in Toronto is 11°C.")]);
    assert_eq!(text.finish_reason, Some(FinishReason::Stop));
    assert_eq!(text.usage, Some(Usage { input_tokens: 94, output_tokens: 11, ..Default::default() }));
    assert_eq!(text.created, Some(1_751_921_017));
    assert_eq!(text.id, "ollama-1751921017");
    assert_eq!(text.extra["eval_duration"], 90_282_125, "durations are kept");

    let tool = decode_response(TOOL_RESPONSE.as_bytes()).unwrap();
    assert_eq!(tool.finish_reason, Some(FinishReason::ToolCalls), "Ollama says stop when it calls tools");
    assert_eq!(
        tool.content,
        vec![ContentBlock::ToolCall {
            id: "call_20250707203253844124_0".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Tokyo"}"#.into()
        }]
    );

    let thinking = decode_response(THINKING_RESPONSE.as_bytes()).unwrap();
    assert!(
        matches!(&thinking.content[0], ContentBlock::Thinking { text, signature: None } if text.starts_with("Let me count"))
    );
    assert!(matches!(&thinking.content[1], ContentBlock::Text { text } if text.contains("strawberry")));
}

#[test]
fn answers_decode_encode_decode_stably() {
    for body in [TEXT_RESPONSE, TOOL_RESPONSE, THINKING_RESPONSE] {
        let first = decode_response(body.as_bytes()).unwrap();
        let encoded = encode_response(&first);
        assert_eq!(decode_response(&encoded).unwrap(), first, "{body}");
        let wire = json_of(&encoded);
        assert_eq!((&wire["done"], &wire["done_reason"]), (&json!(true), &json!("stop")));
        assert_eq!(wire["total_duration"], json_of(body.as_bytes())["total_duration"]);
    }
}

#[test]
fn encodes_a_translated_answer() {
    let resp = ChatResponse {
        id: "chatcmpl-1".into(),
        model: "gpt-4o".into(),
        created: Some(1_699_896_916),
        content: vec![
            ContentBlock::Thinking { text: "hmm".into(), signature: Some("sig".into()) },
            ContentBlock::ToolCall { id: "call_1".into(), name: "f".into(), arguments: r#"{"z":1,"a":2}"#.into() },
            ContentBlock::ToolCall { id: "call_2".into(), name: "g".into(), arguments: "{broken".into() },
        ],
        finish_reason: Some(FinishReason::ToolCalls),
        usage: Some(Usage { input_tokens: 82, output_tokens: 17, cached_input_tokens: Some(5), ..Default::default() }),
        extra: [("system_fingerprint".to_string(), json!("fp"))].into_iter().collect(),
    };
    let bytes = encode_response(&resp);
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(text.contains(r#""arguments":{"z":1,"a":2}"#), "{text}");
    let wire = json_of(&bytes);
    assert_eq!(wire["created_at"], "2023-11-13T17:35:16Z");
    assert_eq!(wire["message"]["thinking"], "hmm");
    assert_eq!(wire["message"]["content"], "");
    assert_eq!(wire["message"]["tool_calls"][1]["function"]["arguments"], json!({}), "unusable arguments become {{}}");
    assert_eq!(wire["done_reason"], "stop");
    assert_eq!((&wire["prompt_eval_count"], &wire["eval_count"]), (&json!(82), &json!(17)));
    assert!(wire.get("system_fingerprint").is_none() && wire.get("total_duration").is_none());
}

#[test]
fn bad_answers_are_upstream_errors() {
    assert_upstream_errors(
        decode_response,
        &[(r#"{"model":"m"}"#, "no `message` object"), (fixture!("ollama", "error.json"), "answered with an error")],
    );
}

// ---- streams ----

fn decode(bytes: &[u8]) -> Vec<StreamEvent> {
    decode_split(&mut StreamDecoder::new(), bytes, 0)
}

fn assert_every_split(stream: &str, expected: &[StreamEvent]) {
    assert_eq!(decode_at_every_split(StreamDecoder::new, stream.as_bytes()), expected);
}

fn start(model: &str, created: u64) -> StreamEvent {
    StreamEvent::MessageStart { id: format!("ollama-{created}"), model: model.into(), created: Some(created) }
}

#[test]
fn text_stream_decodes_to_hub_events_at_every_split() {
    assert_every_split(
        TEXT_STREAM,
        &[
            start("llama3.2", 1_691_164_339),
            StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("The".into()) },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text(" sky looks bleu — ".into()) },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("ça, c'est Rayleigh.".into()) },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::Usage(Usage { input_tokens: 26, output_tokens: 282, ..Default::default() }),
            StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) },
        ],
    );
}

#[test]
fn thinking_stream_decodes_to_a_thinking_then_a_text_block_at_every_split() {
    assert_every_split(
        THINKING_STREAM,
        &[
            start("qwen3", 1_760_742_847),
            StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Thinking("17 × 23: ".into()) },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Thinking("17 × 20 = 340, plus 51.".into()) },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockStart { index: 1, block: BlockStart::Text },
            StreamEvent::BlockDelta { index: 1, delta: BlockDelta::Text("17 × 23 = ".into()) },
            StreamEvent::BlockDelta { index: 1, delta: BlockDelta::Text("391".into()) },
            StreamEvent::BlockStop { index: 1 },
            StreamEvent::Usage(Usage { input_tokens: 15, output_tokens: 40, ..Default::default() }),
            StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) },
        ],
    );
}

#[test]
fn tool_stream_gives_whole_calls_with_stable_ids_at_every_split() {
    let call = |index: usize, id: &str, args: &str| {
        [
            StreamEvent::BlockStart {
                index,
                block: BlockStart::ToolCall { id: id.into(), name: "get_weather".into() },
            },
            StreamEvent::BlockDelta { index, delta: BlockDelta::ToolArguments(args.into()) },
            StreamEvent::BlockStop { index },
        ]
    };
    let mut expected = vec![start("llama3.2", 1_751_919_739)];
    expected.extend(call(0, "call_20250707202219184789_0", r#"{"city":"Tokyo"}"#));
    expected.extend(call(1, "call_20250707202219184789_1", r#"{"city":"Zürich","unit":"celsius"}"#));
    expected.push(StreamEvent::Usage(Usage { input_tokens: 169, output_tokens: 15, ..Default::default() }));
    expected.push(StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) });
    assert_every_split(TOOL_STREAM, &expected);
}

#[test]
fn encode_then_decode_gives_the_same_events() {
    for stream in [TEXT_STREAM, THINKING_STREAM, TOOL_STREAM] {
        let events = decode(stream.as_bytes());
        let bytes = encode_all(&mut StreamEncoder::new(), &events);
        let done_lines = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).filter(|l| json_of(l)["done"] == true);
        assert_eq!(done_lines.count(), 1, "exactly one done line");
        assert_eq!(decode(&bytes), events);
    }
}

/// An OpenAI stream whose tool arguments arrive in fragments, as the openai_chat decoder gives it.
const OPENAI_TOOL_STREAM: &str = concat!(
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Checking…\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn argument_fragments_from_another_format_are_written_as_whole_calls() {
    let mut openai = crate::formats::openai_chat::StreamDecoder::new();
    let events = decode_split(&mut openai, OPENAI_TOOL_STREAM.as_bytes(), 0);
    let bytes = encode_all(&mut StreamEncoder::new(), &events);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(
        text.contains(
            r#""tool_calls":[{"id":"call_a","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]"#
        ),
        "{text}"
    );
    assert!(text.contains(r#""tool_calls":[{"id":"call_b","function":{"name":"get_time","arguments":{}}}]"#), "{text}");
    let decoded = decode(&bytes);
    let calls: Vec<_> = decoded
        .iter()
        .filter_map(|e| match e {
            StreamEvent::BlockStart { block: BlockStart::ToolCall { id, name }, .. } => {
                Some((id.clone(), name.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(calls, vec![("call_a".into(), "get_weather".into()), ("call_b".into(), "get_time".into())]);
    let args: Vec<_> = decoded
        .iter()
        .filter_map(|e| match e {
            StreamEvent::BlockDelta { delta: BlockDelta::ToolArguments(a), .. } => Some(a.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(args, vec![r#"{"city":"Paris"}"#, "{}"]);
    assert_eq!(
        decoded[decoded.len() - 2],
        StreamEvent::Usage(Usage { input_tokens: 9, output_tokens: 3, ..Default::default() })
    );
    assert_eq!(decoded.last(), Some(&StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) }));
}

#[test]
fn encoder_accepts_a_bare_event_sequence() {
    let events = [
        StreamEvent::MessageStart { id: String::new(), model: String::new(), created: None },
        StreamEvent::BlockStart { index: 0, block: BlockStart::ToolCall { id: "t".into(), name: "f".into() } },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::ToolArguments("{\"a\":".into()) },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::ToolArguments("1}".into()) },
        StreamEvent::MessageStop { finish_reason: None },
        StreamEvent::MessageStop { finish_reason: None },
    ];
    let bytes = encode_all(&mut StreamEncoder::new(), &events);
    let lines: Vec<Value> = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(json_of).collect();
    assert_eq!(lines.len(), 2, "the unstopped call is flushed, then one done line");
    assert_eq!(lines[0]["message"]["tool_calls"][0]["function"]["arguments"], json!({ "a": 1 }));
    assert_eq!(lines[1]["done"], true);
    assert_eq!(lines[1]["created_at"], "1970-01-01T00:00:00Z");
}

#[test]
fn a_stream_cut_before_its_done_line_ends_in_an_error() {
    for stream in [TEXT_STREAM, THINKING_STREAM, TOOL_STREAM] {
        let cut = &stream.as_bytes()[..stream.rfind("\"done\":true").unwrap()];
        for end in [0, cut.len() / 2, cut.len()] {
            let events = decode(&cut[..end]);
            assert_eq!(events.last(), Some(&crate::formats::cut_stream_error()), "cut at {end}");
        }
    }
}

#[test]
fn an_error_line_becomes_an_error_event() {
    let events = decode(ERROR_STREAM.as_bytes());
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(matches!(&events[4],
        StreamEvent::Error { message, .. } if message == "an error was encountered while running the model"));
    let mut encoder = StreamEncoder::new();
    let mut bytes = encode_all(&mut encoder, &events);
    assert!(bytes.ends_with(b"{\"error\":\"an error was encountered while running the model\"}\n"));
    bytes.extend_from_slice(&encoder.push(&StreamEvent::MessageStop { finish_reason: None }));
    assert_eq!(decode(&bytes), events, "nothing follows the error line");
}
