//! Tests of the Responses stream codec: documented streams decoded at every split point,
//! encoder → decoder round trips, the encoder's event sequence, errors and cut streams.

use serde_json::Value;

use super::*;
use crate::formats::StreamEncode;
use crate::formats::openai_responses::SIGNATURE_PREFIX;
use crate::formats::test_support::{block_text, decode_at_every_split, decode_split, encode_all, fixture, sse_json};
use crate::hub::{FinishReason, Usage};

const TEXT: &str = fixture!("openai_responses", "stream_text.sse");
const TOOLS: &str = fixture!("openai_responses", "stream_tool_call.sse");
const REASONING: &str = fixture!("openai_responses", "stream_reasoning.sse");
const ERROR: &str = fixture!("openai_responses", "stream_error.sse");
const FAILED: &str = fixture!("openai_responses", "stream_failed.sse");
const INCOMPLETE: &str = fixture!("openai_responses", "stream_incomplete.sse");
const ALL: [&str; 6] = [TEXT, TOOLS, REASONING, ERROR, FAILED, INCOMPLETE];

fn decode(bytes: &[u8]) -> Vec<StreamEvent> {
    decode_split(&mut StreamDecoder::new(), bytes, 0)
}

fn encode(events: &[StreamEvent]) -> Vec<u8> {
    encode_all(&mut StreamEncoder::new(), events)
}

/// The encoded stream as (event name, data) pairs, checking name = `type` and the numbering.
fn wire_events(bytes: &[u8]) -> Vec<(String, Value)> {
    let out = sse_json(bytes);
    for (i, (name, data)) in out.iter().enumerate() {
        assert_eq!(data["type"], name.as_str(), "event name and type differ");
        assert_eq!(data["sequence_number"], i, "sequence numbers rise from 0");
    }
    out
}

fn text(s: &str) -> BlockDelta {
    BlockDelta::Text(s.into())
}

#[test]
fn text_stream_decodes_to_hub_events_at_every_split() {
    // Every byte boundary, including inside the multi-byte `Ç` and `🌍`.
    assert_eq!(
        decode_at_every_split(StreamDecoder::new, TEXT.as_bytes()),
        vec![
            StreamEvent::MessageStart {
                id: "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654".into(),
                model: "gpt-4.1-2025-04-14".into(),
                created: Some(1741290958),
            },
            StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
            StreamEvent::BlockDelta { index: 0, delta: text("Hi") },
            StreamEvent::BlockDelta { index: 0, delta: text(" there! Ça") },
            StreamEvent::BlockDelta { index: 0, delta: text(" va? 🌍") },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::Usage(Usage {
                input_tokens: 37,
                output_tokens: 11,
                cached_input_tokens: Some(0),
                cache_creation_tokens: None,
                reasoning_tokens: Some(0),
            }),
            StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) },
        ]
    );
}

#[test]
fn every_fixture_decodes_the_same_at_every_split() {
    for stream in [TOOLS, REASONING, ERROR, FAILED, INCOMPLETE] {
        decode_at_every_split(StreamDecoder::new, stream.as_bytes());
    }
}

#[test]
fn parallel_tool_call_fragments_reassemble_exactly() {
    let events = decode(TOOLS.as_bytes());
    assert_eq!(block_text(&events, 0), r#"{"location":"Paris, France"}"#);
    assert_eq!(block_text(&events, 1), r#"{"location":"Bogotá, Colombia"}"#);
    assert!(events.contains(&StreamEvent::BlockStart {
        index: 0,
        block: BlockStart::ToolCall { id: "call_1234xyz".into(), name: "get_weather".into() }
    }));
    assert!(events.contains(&StreamEvent::BlockStart {
        index: 1,
        block: BlockStart::ToolCall { id: "call_5678xyz".into(), name: "get_weather".into() }
    }));
    assert!(events.contains(&StreamEvent::Usage(Usage {
        input_tokens: 291,
        output_tokens: 46,
        cached_input_tokens: Some(128),
        cache_creation_tokens: None,
        reasoning_tokens: Some(0),
    })));
    assert_eq!(events.last(), Some(&StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) }));
}

#[test]
fn reasoning_summary_becomes_one_signed_thinking_block() {
    let events = decode(REASONING.as_bytes());
    assert_eq!(events[1], StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking });
    assert_eq!(
        block_text(&events, 0),
        "**Answering a simple question**\n\nThe capital of France is Paris.\n\n**Double-checking**\n\nNothing tricky — Paris."
    );
    let signature = format!("{SIGNATURE_PREFIX}gAAAAABodnAXEXAMPLEENCRYPTEDREASONING==");
    let at = events
        .iter()
        .position(|e| e == &StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Signature(signature.clone()) });
    assert_eq!(events[at.unwrap() + 1], StreamEvent::BlockStop { index: 0 });
    assert!(events.contains(&StreamEvent::BlockDelta { index: 1, delta: text("The capital of France is Paris.") }));
    assert!(matches!(events[events.len() - 2], StreamEvent::Usage(Usage { reasoning_tokens: Some(128), .. })));
}

#[test]
fn encode_then_decode_gives_the_same_events() {
    for stream in ALL {
        let events = decode(stream.as_bytes());
        let bytes = encode(&events);
        wire_events(&bytes);
        assert_eq!(decode(&bytes), events);
    }
}

#[test]
fn encoder_writes_the_documented_text_sequence() {
    let wire = wire_events(&encode(&decode(TEXT.as_bytes())));
    let names: Vec<&str> = wire.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let item_id = wire[2].1["item"]["id"].clone();
    assert!(item_id.as_str().unwrap().starts_with("msg_"));
    for (_, data) in &wire[3..10] {
        assert_eq!(data["item_id"].as_str().or(data["item"]["id"].as_str()), item_id.as_str());
        assert_eq!(data["output_index"], 0);
    }
    assert_eq!(wire[7].1["text"], "Hi there! Ça va? 🌍");
    let response = &wire[10].1["response"];
    assert_eq!(response["id"], wire[0].1["response"]["id"]);
    assert_eq!(response["status"], "completed");
    assert_eq!(response["output"][0]["id"], item_id);
    assert_eq!(response["output"][0]["content"][0]["text"], "Hi there! Ça va? 🌍");
    assert_eq!(response["usage"]["total_tokens"], 48);
    assert!(response["tools"].is_array() && response["parallel_tool_calls"].is_boolean());
}

#[test]
fn encoder_accepts_any_decoders_events() {
    // What another decoder may send: no id or model, usage just before the stop, a thinking
    // block with a foreign signature, then a tool call.
    let events = [
        StreamEvent::MessageStart { id: String::new(), model: String::new(), created: None },
        StreamEvent::BlockStart { index: 0, block: BlockStart::Thinking },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Thinking("Let me think".into()) },
        StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Signature("EqQBCkgIARABGAIi".into()) },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::BlockStart {
            index: 1,
            block: BlockStart::ToolCall { id: "toolu_01A".into(), name: "get_time".into() },
        },
        StreamEvent::BlockDelta { index: 1, delta: BlockDelta::ToolArguments("{\"tz\":".into()) },
        StreamEvent::BlockDelta { index: 1, delta: BlockDelta::ToolArguments("\"UTC\"}".into()) },
        StreamEvent::BlockStop { index: 1 },
        StreamEvent::Usage(Usage { input_tokens: 5, output_tokens: 7, ..Default::default() }),
        StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) },
    ];
    let wire = wire_events(&encode(&events));
    let id = wire[0].1["response"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("resp_") && id.len() > 10, "an id is invented: {id}");
    let done: Vec<&Value> =
        wire.iter().filter(|(n, _)| n == "response.output_item.done").map(|(_, d)| &d["item"]).collect();
    assert_eq!(done[0]["type"], "reasoning");
    assert_eq!(done[0]["encrypted_content"], "EqQBCkgIARABGAIi", "a foreign signature is passed on verbatim");
    assert_eq!(done[0]["summary"][0]["text"], "Let me think");
    assert_eq!(done[1]["call_id"], "toolu_01A");
    assert_eq!(done[1]["arguments"], "{\"tz\":\"UTC\"}");
    let (last, data) = wire.last().unwrap();
    assert_eq!(last, "response.completed");
    assert_eq!(data["response"]["id"], id.as_str());
    assert_eq!(data["response"]["usage"]["output_tokens"], 7);
    assert_eq!(data["response"]["output"].as_array().unwrap().len(), 2);
    // And it reads back as the same blocks, the signature now marked as this API's.
    let mut expected = events[1..9].to_vec();
    expected[2] = StreamEvent::BlockDelta {
        index: 0,
        delta: BlockDelta::Signature(format!("{SIGNATURE_PREFIX}EqQBCkgIARABGAIi")),
    };
    assert_eq!(decode(&encode(&events))[1..9], expected);
}

#[test]
fn encoder_without_message_start_still_starts_with_response_created() {
    let wire = wire_events(&encode(&[
        StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
        StreamEvent::BlockDelta { index: 0, delta: text("hi") },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::MessageStop { finish_reason: Some(FinishReason::Length) },
    ]));
    assert_eq!(wire[0].0, "response.created");
    let (last, data) = wire.last().unwrap();
    assert_eq!(last, "response.incomplete");
    assert_eq!(data["response"]["incomplete_details"]["reason"], "max_output_tokens");
}

#[test]
fn encoder_turns_an_error_into_error_and_response_failed() {
    let wire = wire_events(&encode(&[
        StreamEvent::MessageStart { id: "resp_1".into(), model: "m".into(), created: Some(1) },
        StreamEvent::Error { status: 429, kind: "rate_limit_error".into(), message: "slow down".into() },
        StreamEvent::MessageStop { finish_reason: None },
    ]));
    let names: Vec<&str> = wire.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["response.created", "response.in_progress", "error", "response.failed"]);
    assert_eq!(wire[2].1["code"], "rate_limit_exceeded");
    assert_eq!(wire[2].1["message"], "slow down");
    assert!(wire[2].1["param"].is_null());
    assert_eq!(wire[3].1["response"]["status"], "failed");
    assert_eq!(wire[3].1["response"]["error"]["message"], "slow down");
}

#[test]
fn upstream_errors_become_error_events() {
    let events = decode(ERROR.as_bytes());
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Error {
            status: 429,
            kind: "rate_limit_error".into(),
            message: "Rate limit reached for gpt-4.1 in organization org-123 on tokens per min.".into(),
        })
    );
    assert!(events.contains(&StreamEvent::BlockDelta { index: 0, delta: text("Partial") }));
    let failed = decode(FAILED.as_bytes());
    assert_eq!(
        failed.last(),
        Some(&StreamEvent::Error {
            status: 500,
            kind: "api_error".into(),
            message: "The model failed to generate a response.".into()
        })
    );
    let nested = decode(
        b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\",\"message\":\"too long\"}}\n\n",
    );
    assert_eq!(
        nested,
        vec![StreamEvent::Error { status: 400, kind: "invalid_request_error".into(), message: "too long".into() }]
    );
}

#[test]
fn incomplete_stream_finishes_for_length() {
    let events = decode(INCOMPLETE.as_bytes());
    assert_eq!(events.last(), Some(&StreamEvent::MessageStop { finish_reason: Some(FinishReason::Length) }));
}

#[test]
fn a_stream_cut_before_its_terminal_event_ends_in_an_error() {
    let cut = &TEXT.as_bytes()[..TEXT.find("event: response.completed").unwrap()];
    let events = decode(cut);
    assert!(events.contains(&StreamEvent::BlockStop { index: 0 }));
    assert!(matches!(events.last(), Some(StreamEvent::Error { status: 502, .. })), "{events:?}");
    // A cut in the middle of an event too.
    let events = decode(&TOOLS.as_bytes()[..TOOLS.len() / 2]);
    assert!(matches!(events.last(), Some(StreamEvent::Error { status: 502, .. })), "{events:?}");
    assert_eq!(StreamDecoder::new().finish(), vec![crate::formats::cut_stream_error()]);
}

#[test]
fn items_sent_only_whole_still_decode() {
    // Some compatible servers send no deltas, only finished items, or only the final response.
    let done_only = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"r\",\"model\":\"m\",\"created_at\":1.5,\"status\":\"in_progress\",\"output\":[]}}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"m1\",\"role\":\"assistant\",\"status\":\"completed\",\"content\":[{\"type\":\"output_text\",\"text\":\"whole\",\"annotations\":[]}]}}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"sequence_number\":2,\"output_index\":1,\"item\":{\"type\":\"function_call\",\"id\":\"f1\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\",\"status\":\"completed\"}}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":3,\"response\":{\"id\":\"r\",\"model\":\"m\",\"status\":\"completed\",\"output\":[]}}\n\n",
        "data: [DONE]\n\n",
    );
    let expected = vec![
        StreamEvent::MessageStart { id: "r".into(), model: "m".into(), created: Some(1) },
        StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
        StreamEvent::BlockDelta { index: 0, delta: text("whole") },
        StreamEvent::BlockStop { index: 0 },
        StreamEvent::BlockStart { index: 1, block: BlockStart::ToolCall { id: "c1".into(), name: "f".into() } },
        StreamEvent::BlockDelta { index: 1, delta: BlockDelta::ToolArguments("{}".into()) },
        StreamEvent::BlockStop { index: 1 },
        StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) },
    ];
    assert_eq!(decode(done_only.as_bytes()), expected);
    let final_only = concat!(
        "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"model\":\"m\",\"created_at\":1,\"status\":\"completed\",\"output\":[",
        "{\"type\":\"message\",\"id\":\"m1\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"whole\"}]},",
        "{\"type\":\"function_call\",\"id\":\"f1\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"}]}}\n\n",
    );
    assert_eq!(decode(final_only.as_bytes()), expected);
}

#[test]
fn done_events_fill_in_parts_that_had_no_deltas() {
    let stream = concat!(
        "data: {\"type\":\"response.created\",\"response\":{\"id\":\"r\",\"model\":\"m\"}}\n\n",
        "data: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"m1\",\"content\":[]}}\n\n",
        "data: {\"type\":\"response.content_part.added\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\"}}\n\n",
        "data: {\"type\":\"response.output_text.done\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"text\":\"late\"}\n\n",
        "data: {\"type\":\"response.content_part.done\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"late\"}}\n\n",
        "data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"m1\",\"content\":[{\"type\":\"output_text\",\"text\":\"late\"}]}}\n\n",
        "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"model\":\"m\",\"status\":\"completed\"}}\n\n",
    );
    let events = decode(stream.as_bytes());
    let texts: Vec<&StreamEvent> = events.iter().filter(|e| matches!(e, StreamEvent::BlockDelta { .. })).collect();
    assert_eq!(texts, [&StreamEvent::BlockDelta { index: 0, delta: text("late") }]);
    assert_eq!(events.last(), Some(&StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) }));
}

#[test]
fn a_finished_item_fills_in_an_open_part_without_deltas() {
    let stream = concat!(
        "data: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"m1\",\"content\":[]}}\n\n",
        "data: {\"type\":\"response.content_part.added\",\"item_id\":\"m1\",\"output_index\":0,\"content_index\":0,\"part\":{\"type\":\"output_text\",\"text\":\"\"}}\n\n",
        "data: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"m1\",\"content\":[{\"type\":\"output_text\",\"text\":\"only here\"}]}}\n\n",
        "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"status\":\"completed\"}}\n\n",
    );
    // No `response.created` either: the answer still starts with MessageStart.
    assert_eq!(
        decode(stream.as_bytes()),
        vec![
            StreamEvent::MessageStart { id: String::new(), model: String::new(), created: None },
            StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
            StreamEvent::BlockDelta { index: 0, delta: text("only here") },
            StreamEvent::BlockStop { index: 0 },
            StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) },
        ]
    );
}

#[test]
fn events_after_the_end_are_ignored() {
    let mut encoder = StreamEncoder::new();
    encoder.push(&StreamEvent::MessageStop { finish_reason: None });
    assert!(encoder.push(&StreamEvent::BlockStart { index: 0, block: BlockStart::Text }).is_empty());
    let mut bytes = TEXT.as_bytes().to_vec();
    bytes.extend_from_slice(ERROR.as_bytes());
    assert_eq!(decode(&bytes), decode(TEXT.as_bytes()));
}
