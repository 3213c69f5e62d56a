//! Stream fixture tests for the Gemini codec: SSE and JSON-array streams decoded at every split
//! point, encoder → decoder round trips, fragment buffering, cut streams and in-stream errors.

use serde_json::{Value, json};

use super::*;
use crate::formats::test_support::{decode_at_every_split, decode_split, encode_all, fixture, json_of};
use crate::formats::{StreamDecode, StreamEncode};
use crate::hub::{BlockDelta, BlockStart, ContentBlock, FinishReason, StreamEvent, Usage};

const TEXT_STREAM: &str = fixture!("gemini", "stream_text.sse");
const TEXT_STREAM_ARRAY: &str = fixture!("gemini", "stream_text_array.json");
const TOOL_STREAM: &str = fixture!("gemini", "stream_tool_call.sse");
const ERROR: &str = fixture!("gemini", "error.json");

fn decode(bytes: &[u8]) -> Vec<StreamEvent> {
    decode_split(&mut StreamDecoder::new(), bytes, 0)
}

fn encode(events: &[StreamEvent], json_array: bool) -> Vec<u8> {
    encode_all(&mut StreamEncoder::new(json_array), events)
}

#[test]
fn text_stream_decodes_to_hub_events_at_every_split() {
    assert_eq!(
        decode_at_every_split(StreamDecoder::new, TEXT_STREAM.as_bytes()),
        vec![
            StreamEvent::MessageStart {
                id: "6FVbaPfTB7mhnvgPkNLvmAs".into(),
                model: "gemini-2.0-flash".into(),
                created: None
            },
            StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
            StreamEvent::BlockDelta {
                index: 0,
                delta: BlockDelta::Text(
                    "In the quaint, sunlit cottage nestled amidst a lush meadow, resided two feline".into()
                )
            },
            StreamEvent::BlockDelta {
                index: 0,
                delta: BlockDelta::Text(
                    " companions named Mittens and Whiskers, known as the \"冒险伙伴\" (Adventure Buddies) of the meadow."
                        .into()
                )
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::Usage(Usage { input_tokens: 8, output_tokens: 41, ..Default::default() }),
            StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) },
        ]
    );
}

#[test]
fn json_array_stream_decodes_like_sse_at_every_split() {
    let expected = decode(TEXT_STREAM.as_bytes());
    assert_eq!(decode_at_every_split(StreamDecoder::new, TEXT_STREAM_ARRAY.as_bytes()), expected);
}

#[test]
fn tool_stream_decodes_thoughts_signature_and_whole_calls_at_every_split() {
    let expected = decode_at_every_split(StreamDecoder::new, TOOL_STREAM.as_bytes());
    let resp = decode_response(
        serde_json::to_string(&json_of(TOOL_STREAM.split("data: ").nth(2).unwrap().trim().as_bytes()))
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let ContentBlock::ToolCall { id: first_id, .. } = &resp.content[1] else { panic!("{resp:?}") };
    assert_eq!(
        expected[..8],
        [
            StreamEvent::MessageStart {
                id: "p2BcaN6qA9KlnvgPv4SN2AE".into(),
                model: "gemini-2.5-flash".into(),
                created: None
            },
            StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking },
            StreamEvent::BlockDelta {
                index: 0,
                delta: BlockDelta::Thinking(
                    "**Finding theaters**\n\nThe user wants Barbie showings in Mountain View; I'll look up theaters and showtimes.".into()
                )
            },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::BlockStart { index: 1, block: BlockStart::Thinking },
            StreamEvent::BlockDelta { index: 1, delta: BlockDelta::Signature("CrMCAdHtim+zrYjW4o2tFgZ0kl6UyQWvWk1=".into()) },
            StreamEvent::BlockStop { index: 1 },
            StreamEvent::BlockStart {
                index: 2,
                block: BlockStart::ToolCall { id: first_id.clone(), name: "find_theaters".into() }
            },
        ],
        "streamed and non-streamed answers give the same ids"
    );
    let StreamEvent::BlockDelta { delta: BlockDelta::ToolArguments(args), .. } = &expected[8] else { panic!() };
    assert_eq!(json_of(args.as_bytes()), json!({ "movie": "Barbie", "location": "Mountain View, CA" }));
    assert!(
        matches!(&expected[10], StreamEvent::BlockStart { index: 3, block: BlockStart::ToolCall { name, .. } } if name == "get_showtimes")
    );
    assert_eq!(
        expected[expected.len() - 2..],
        [
            StreamEvent::Usage(Usage {
                input_tokens: 195,
                output_tokens: 90,
                reasoning_tokens: Some(48),
                ..Default::default()
            }),
            StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) },
        ]
    );
}

#[test]
fn encode_then_decode_gives_the_same_events_in_both_framings() {
    for stream in [TEXT_STREAM, TOOL_STREAM] {
        let events = decode(stream.as_bytes());
        for json_array in [false, true] {
            let bytes = encode(&events, json_array);
            if json_array {
                assert!(json_of(&bytes).is_array(), "the array is valid JSON");
            } else {
                assert!(bytes.starts_with(b"data: {"));
            }
            assert_eq!(decode(&bytes), events, "json_array={json_array}");
        }
    }
}

#[test]
fn the_encoder_buffers_argument_fragments_into_one_whole_call() {
    let events = vec![
        StreamEvent::MessageStart { id: String::new(), model: "gpt-4o".into(), created: Some(1) },
        StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("Checking ".into()) },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::BlockStart {
            index: 1,
            block: BlockStart::ToolCall { id: "call_a".into(), name: "get_weather".into() },
        },
        StreamEvent::BlockDelta { index: 1, delta: BlockDelta::ToolArguments("{\"ci".into()) },
        StreamEvent::BlockDelta { index: 1, delta: BlockDelta::ToolArguments("ty\":\"Zürich\"}".into()) },
        StreamEvent::BlockStop { index: 1 },
        StreamEvent::BlockStart {
            index: 2,
            block: BlockStart::ToolCall { id: "call_b".into(), name: "get_time".into() },
        },
        StreamEvent::BlockStop { index: 2 },
        StreamEvent::Usage(Usage { input_tokens: 3, output_tokens: 4, ..Default::default() }),
        StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) },
    ];
    let bytes = encode(&events, false);
    let text = String::from_utf8(bytes.clone()).unwrap();
    let chunks: Vec<Value> = text
        .split("\n\n")
        .filter(|c| !c.is_empty())
        .map(|c| json_of(c.strip_prefix("data: ").unwrap().as_bytes()))
        .collect();
    assert_eq!(chunks.len(), 4, "text, two whole calls, final: {text}");
    assert_eq!(
        chunks[1]["candidates"][0]["content"]["parts"][0]["functionCall"],
        json!({ "id": "call_a", "name": "get_weather", "args": { "city": "Zürich" } })
    );
    assert_eq!(chunks[2]["candidates"][0]["content"]["parts"][0]["functionCall"]["args"], json!({}));
    let last = &chunks[3];
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["totalTokenCount"], 7);
    let id = last["responseId"].as_str().unwrap();
    assert!(!id.is_empty() && chunks.iter().all(|c| c["responseId"] == id), "one invented id for the stream");

    let decoded = decode(&bytes);
    let args: String = decoded
        .iter()
        .filter_map(|e| match e {
            StreamEvent::BlockDelta { delta: BlockDelta::ToolArguments(a), .. } => Some(a.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("|");
    assert_eq!(args, r#"{"city":"Zürich"}|{}"#);
    assert!(decoded.contains(&StreamEvent::BlockStart {
        index: 1,
        block: BlockStart::ToolCall { id: "call_a".into(), name: "get_weather".into() }
    }));
    assert_eq!(decoded.last(), Some(&StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) }));
}

#[test]
fn anthropic_style_thinking_round_trips_through_the_stream_encoder() {
    let events = vec![
        StreamEvent::MessageStart { id: "msg_1".into(), model: "claude".into(), created: None },
        StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Thinking("Let me think".into()) },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Signature("sig-1".into()) },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::BlockStart { index: 1, block: BlockStart::Text },
        StreamEvent::BlockDelta { index: 1, delta: BlockDelta::Text("Done".into()) },
        StreamEvent::BlockStop { index: 1 },
        StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) },
    ];
    assert_eq!(decode(&encode(&events, false)), events);
}

#[test]
fn an_error_chunk_becomes_an_error_event() {
    let stream = format!("data: {}\r\n\r\n", json_of(ERROR.as_bytes()));
    let events = decode(stream.as_bytes());
    assert_eq!(
        events,
        vec![StreamEvent::Error {
            status: 400,
            kind: "invalid_request_error".into(),
            message: "API key not valid. Please pass a valid API key.".into()
        }]
    );
    let mid = format!(
        "{}data: {{\"error\":{{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}}}\r\n\r\n",
        &TEXT_STREAM[..TEXT_STREAM.find("\r\n\r\n").unwrap() + 4]
    );
    let events = decode(mid.as_bytes());
    assert!(matches!(events.last(), Some(StreamEvent::Error { status: 503, message, .. }) if message == "overloaded"));
}

#[test]
fn a_stream_cut_before_its_finish_reason_ends_in_an_error() {
    let cut = &TEXT_STREAM[..TEXT_STREAM.find("\"finishReason\"").unwrap()];
    let events = decode(cut.as_bytes());
    assert!(matches!(events.last(), Some(StreamEvent::Error { status: 502, .. })), "{events:?}");
    assert_eq!(decode(b""), vec![crate::formats::cut_stream_error()]);
}

#[test]
fn stream_errors_are_the_format_error_in_both_framings() {
    let events = vec![
        StreamEvent::MessageStart { id: "r".into(), model: "m".into(), created: None },
        StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("partial".into()) },
        StreamEvent::Error { status: 429, kind: "rate_limit_error".into(), message: "slow down".into() },
        StreamEvent::MessageStop { finish_reason: None },
    ];
    let array = json_of(&encode(&events, true));
    assert_eq!(array.as_array().map(Vec::len), Some(2), "nothing after the error: {array}");
    assert_eq!(array[1], json!({ "error": { "code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED" } }));
    let sse = encode(&events, false);
    let decoded = decode(&sse);
    assert!(matches!(decoded.last(), Some(StreamEvent::Error { status: 429, message, .. }) if message == "slow down"));
    assert_eq!(json_of(&encode(&[], true)), json!([]));
    let mut encoder = StreamEncoder::new(true);
    assert_eq!(StreamEncode::finish(&mut encoder), "[]");
    assert_eq!(StreamEncode::finish(&mut encoder), "", "finish writes its trailer once");
    let mut decoder = StreamDecoder::new();
    assert!(StreamDecode::push(&mut decoder, b"  ").is_empty());
}

#[test]
fn odd_chunks_never_panic() {
    let odd = concat!(
        "data: {\"candidates\": 5}\n\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [1, \"x\", {\"functionCall\": {}}, {\"text\": 3}]}}]}\n\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": {\"text\": \"single\"}}, \"finishReason\": 7}]}\n\n",
        "data: {\"usageMetadata\": {\"promptTokenCount\": \"many\"}, \"error\": null}\n\n",
        "data: not json\n\n",
        "event: ping\n\n",
    );
    let events = decode(odd.as_bytes());
    assert!(events.contains(&StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("single".into()) }));
    assert!(matches!(events.last(), Some(StreamEvent::Error { status: 502, .. })), "no finishReason: {events:?}");
    for body in [&b"[1, 2, {\"error\": 3}]"[..], b"[{\"error\": {\"code\": 99999}}]", b"\xff\xfe"] {
        let events = decode(body);
        assert!(matches!(events.last(), Some(StreamEvent::Error { .. })), "{events:?}");
    }
}
