//! Tests for the Anthropic stream decoder and encoder, on the streaming docs' transcripts.

use serde_json::json;

use super::*;
use crate::formats::anthropic::StreamEncoder;
use crate::formats::test_support::{block_text, decode_at_every_split, decode_split, encode_all, fixture, sse_json};
use crate::hub::Usage;

// The docs' basic stream, with non-ASCII text (é, 👋) so splits land inside UTF-8 sequences.
const TEXT_STREAM: &str = fixture!("anthropic", "stream_text.sse");
// The docs' "streaming request with tool use" transcript, verbatim.
const TOOL_STREAM: &str = fixture!("anthropic", "stream_tool_use.sse");
// The docs' extended-thinking transcript, verbatim (its "×" is non-ASCII; it carries no usage).
const THINKING_STREAM: &str = fixture!("anthropic", "stream_thinking.sse");
// A stream broken by the documented in-stream `overloaded_error`.
const ERROR_STREAM: &str = fixture!("anthropic", "stream_error.sse");

fn decode(bytes: &[u8]) -> Vec<StreamEvent> {
    decode_split(&mut StreamDecoder::new(), bytes, 0)
}

fn decode_every_split(stream: &str) -> Vec<StreamEvent> {
    decode_at_every_split(StreamDecoder::new, stream.as_bytes())
}

fn encode(events: &[StreamEvent]) -> Vec<u8> {
    encode_all(&mut StreamEncoder::new(), events)
}

#[test]
fn text_stream_decodes_to_hub_events_at_every_split() {
    assert_eq!(
        decode_every_split(TEXT_STREAM),
        vec![
            StreamEvent::MessageStart {
                id: "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY".into(),
                model: "claude-opus-4-6".into(),
                created: None
            },
            StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("Héllo".into()) },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("! 👋".into()) },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::Usage(Usage { input_tokens: 25, output_tokens: 15, ..Default::default() }),
            StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) },
        ]
    );
}

#[test]
fn tool_stream_fragments_reassemble_exactly_at_every_split() {
    let events = decode_every_split(TOOL_STREAM);
    assert_eq!(events[1], StreamEvent::BlockStart { index: 0, block: BlockStart::Text });
    assert!(events.contains(&StreamEvent::BlockStart {
        index: 1,
        block: BlockStart::ToolCall { id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(), name: "get_weather".into() }
    }));
    assert_eq!(block_text(&events, 1), r#"{"location": "San Francisco, CA", "unit": "fahrenheit"}"#);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, StreamEvent::BlockDelta { delta: BlockDelta::ToolArguments(a), .. } if a.is_empty())),
        "the docs' empty first fragment is not passed on"
    );
    let tail = &events[events.len() - 3..];
    assert_eq!(
        tail,
        [
            StreamEvent::BlockStop { index: 1 },
            StreamEvent::Usage(Usage { input_tokens: 472, output_tokens: 89, ..Default::default() }),
            StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) },
        ]
    );
}

#[test]
fn thinking_stream_keeps_thinking_and_signature_at_every_split() {
    let events = decode_every_split(THINKING_STREAM);
    assert_eq!(events[1], StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking });
    let thinking = block_text(&events, 0);
    assert!(thinking.contains("1071 = 2 × 462 + 147\n462 = 3 × 147 + 21"), "{thinking}");
    assert!(events.contains(&StreamEvent::BlockDelta {
        index: 0,
        delta: BlockDelta::Signature("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds...".into())
    }));
    assert!(events.contains(&StreamEvent::BlockStart { index: 1, block: BlockStart::Text }));
    assert!(!events.iter().any(|e| matches!(e, StreamEvent::Usage(_))), "this transcript reports no usage");
    assert_eq!(events.last(), Some(&StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) }));
}

#[test]
fn an_in_stream_error_decodes_to_an_error_event() {
    let events = decode_every_split(ERROR_STREAM);
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Error { status: 529, kind: "overloaded_error".into(), message: "Overloaded".into() })
    );
    assert_eq!(events.iter().filter(|e| matches!(e, StreamEvent::Error { .. })).count(), 1, "no cut error on top");
}

#[test]
fn a_cut_stream_ends_in_an_error() {
    let cut = &TOOL_STREAM[..TOOL_STREAM.find("event: message_delta").unwrap()];
    let events = decode(cut.as_bytes());
    assert!(matches!(events.last(), Some(StreamEvent::Error { status: 502, .. })), "{events:?}");
    // An answer that reached message_delta is complete, even without message_stop.
    let almost = &TOOL_STREAM[..TOOL_STREAM.find("event: message_stop").unwrap()];
    let events = decode(almost.as_bytes());
    assert_eq!(events.last(), Some(&StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) }));
}

#[test]
fn unmodelled_blocks_are_skipped_and_indexes_stay_contiguous() {
    let stream = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":90,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"EmwK\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"now\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"pause_turn\"},\"usage\":{\"output_tokens\":7,\"input_tokens\":12,\"cache_read_input_tokens\":90}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    assert_eq!(
        decode(stream.as_bytes()),
        vec![
            StreamEvent::MessageStart { id: "m".into(), model: "c".into(), created: None },
            StreamEvent::BlockStart {
                index: 0,
                block: BlockStart::ToolCall { id: "toolu_1".into(), name: "now".into() }
            },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::ToolArguments("{}".into()) },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::Usage(Usage {
                input_tokens: 102,
                output_tokens: 7,
                cached_input_tokens: Some(90),
                ..Default::default()
            }),
            StreamEvent::MessageStop { finish_reason: Some(FinishReason::Other("pause_turn".into())) },
        ]
    );
}

#[test]
fn fields_of_unexpected_types_are_ignored_not_fatal() {
    // Escaped text (not borrowable), a delta of the wrong type, an index given as a string and
    // a `message_delta` whose delta is not an object: the decoder reads what it can.
    let stream = concat!(
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"c\",\"usage\":{\"input_tokens\":3}}}\n\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\\\"b\\n\"}}\n\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":7}}\n\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":\"text\"}\n\n",
        "data: {\"type\":\"content_block_delta\",\"index\":\"0\",\"delta\":{\"type\":\"text_delta\",\"text\":\"c\"}}\n\n",
        "data: {\"type\":\"message_delta\",\"delta\":null,\"usage\":{\"output_tokens\":4}}\n\n",
        "data: {\"type\":\"message_stop\"}\n\n",
    );
    assert_eq!(
        decode(stream.as_bytes()),
        vec![
            StreamEvent::MessageStart { id: "m".into(), model: "c".into(), created: None },
            StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("a\"b\n".into()) },
            StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("c".into()) },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::Usage(Usage { input_tokens: 3, output_tokens: 4, ..Default::default() }),
            StreamEvent::MessageStop { finish_reason: None },
        ]
    );
}

#[test]
fn encode_then_decode_gives_the_same_events() {
    for stream in [TEXT_STREAM, TOOL_STREAM] {
        let events = decode(stream.as_bytes());
        assert_eq!(decode_at_every_split(StreamDecoder::new, &encode(&events)), events);
    }
    // Without upstream usage the encoder still writes the usage objects the SDKs require (zeros).
    let events = decode(THINKING_STREAM.as_bytes());
    let mut again = decode(&encode(&events));
    again.retain(|e| !matches!(e, StreamEvent::Usage(u) if *u == Usage::default()));
    assert_eq!(again, events);
}

/// The wire events as (event name, data) pairs.
fn wire_events(bytes: &[u8]) -> Vec<(String, Value)> {
    let events = sse_json(bytes);
    for (name, data) in &events {
        assert_eq!(Some(name.as_str()), data["type"].as_str(), "event name matches data.type");
    }
    events
}

#[test]
fn openai_stream_events_become_the_documented_anthropic_sequence() {
    // What the OpenAI decoder emits: empty-ish ids allowed, Usage just before MessageStop,
    // block indexes not starting at 0.
    let events = vec![
        StreamEvent::MessageStart { id: String::new(), model: "gpt-4o".into(), created: Some(1) },
        StreamEvent::BlockStart { index: 3, block: BlockStart::Text },
        StreamEvent::BlockDelta { index: 3, delta: BlockDelta::Text("Hi".into()) },
        StreamEvent::BlockStop { index: 3 },
        StreamEvent::BlockStart { index: 4, block: BlockStart::ToolCall { id: "call_a".into(), name: "f".into() } },
        StreamEvent::BlockDelta { index: 4, delta: BlockDelta::ToolArguments("{\"x\":".into()) },
        StreamEvent::BlockDelta { index: 4, delta: BlockDelta::ToolArguments("1}".into()) },
        StreamEvent::BlockStop { index: 4 },
        StreamEvent::Usage(Usage {
            input_tokens: 30,
            output_tokens: 5,
            cached_input_tokens: Some(20),
            ..Default::default()
        }),
        StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) },
    ];
    let wire = wire_events(&encode(&events));
    let names: Vec<&str> = wire.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let message = &wire[0].1["message"];
    assert!(message["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(message["model"], "gpt-4o");
    assert_eq!(message["usage"], json!({"input_tokens": 0, "output_tokens": 0}));
    assert_eq!(wire[1].1["index"], 0);
    assert_eq!(
        wire[4].1,
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "call_a", "name": "f", "input": {}}})
    );
    assert_eq!(wire[6].1["delta"], json!({"type": "input_json_delta", "partial_json": "1}"}));
    assert_eq!(
        wire[8].1,
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 20},
        })
    );
}

#[test]
fn encoder_repairs_loose_event_sequences() {
    // No MessageStart, no BlockStart, no BlockStop, no usage: still a well-formed stream.
    let events = vec![
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Thinking("hmm".into()) },
        StreamEvent::BlockDelta { index: 1, delta: BlockDelta::Text("answer".into()) },
        StreamEvent::BlockDelta { index: 7, delta: BlockDelta::ToolArguments("{}".into()) },
        StreamEvent::MessageStop { finish_reason: None },
        StreamEvent::BlockDelta { index: 1, delta: BlockDelta::Text("after the end".into()) },
    ];
    let wire = wire_events(&encode(&events));
    let names: Vec<&str> = wire.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    assert_eq!(wire[4].1["index"], 1);
    assert_eq!(wire[7].1["delta"]["stop_reason"], "end_turn");
    assert_eq!(wire[7].1["usage"], json!({"output_tokens": 0}));
}

#[test]
fn an_error_event_becomes_anthropics_error_event() {
    let events = vec![
        StreamEvent::MessageStart { id: "m".into(), model: "c".into(), created: None },
        StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("Hel".into()) },
        crate::formats::cut_stream_error(),
    ];
    let bytes = encode(&events);
    let wire = wire_events(&bytes);
    assert_eq!(wire.last().unwrap().0, "error");
    assert_eq!(wire.last().unwrap().1["error"]["type"], "api_error");
    let decoded = decode(&bytes);
    assert!(matches!(decoded.last(), Some(StreamEvent::Error { status: 500, kind, .. }) if kind == "api_error"));
}
