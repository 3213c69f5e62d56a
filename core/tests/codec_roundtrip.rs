//! Property tests: for every wire format, decode → encode → decode is stable on generated hub
//! values (requests, responses and streams). A format may drop what it has no place for on the
//! first trip, but a second trip must change nothing: translation never drifts or corrupts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use omniroute_core::formats::{self, StreamFraming};
use omniroute_core::hub::{
    BlockDelta, BlockStart, ChatRequest, ChatResponse, ContentBlock, FinishReason, MediaSource, Message, Role,
    Sampling, StreamEvent, ToolChoice, ToolDefinition, Usage,
};
use omniroute_core::providers::WireFormat;
use proptest::prelude::*;
use serde_json::json;

const FORMATS: [WireFormat; 5] = [
    WireFormat::OpenaiChat,
    WireFormat::OpenaiResponses,
    WireFormat::Anthropic,
    WireFormat::Gemini,
    WireFormat::Ollama,
];

// A tiny PNG's base64, so image blocks carry bytes every format accepts.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn text() -> impl Strategy<Value = String> {
    // Non-ASCII and newlines included: codecs must carry them untouched.
    "[a-zA-Z0-9 ,.!?éü€\n]{1,24}"
}

fn arguments() -> impl Strategy<Value = String> {
    (text(), 0..1000i64).prop_map(|(city, n)| json!({ "city": city, "days": n }).to_string())
}

/// One user → assistant (text + tool call) → tool result round of a conversation.
fn round(index: usize) -> impl Strategy<Value = Vec<Message>> {
    (text(), text(), arguments(), text(), any::<bool>()).prop_map(move |(question, said, args, result, image)| {
        let id = format!("call_{index}");
        let mut user = vec![ContentBlock::text(question)];
        if image {
            user.push(ContentBlock::Image {
                source: MediaSource::Base64 { media_type: "image/png".into(), data: PNG.into() },
                detail: None,
            });
        }
        let message = |role, content| Message { role, content, name: None, extra: Default::default() };
        vec![
            message(Role::User, user),
            message(
                Role::Assistant,
                vec![
                    ContentBlock::text(said),
                    ContentBlock::ToolCall { id: id.clone(), name: "get_weather".into(), arguments: args },
                ],
            ),
            message(
                Role::Tool,
                vec![ContentBlock::ToolResult {
                    tool_call_id: id,
                    content: vec![ContentBlock::text(result)],
                    is_error: false,
                }],
            ),
        ]
    })
}

fn request() -> impl Strategy<Value = ChatRequest> {
    let rounds = (0..3usize).prop_flat_map(|n| (0..n).map(round).collect::<Vec<_>>());
    let sampling = (
        proptest::option::of((0..20u32).prop_map(|t| f64::from(t) / 10.0)),
        proptest::option::of((1..10u32).prop_map(|t| f64::from(t) / 10.0)),
        proptest::option::of(1..4096u64),
    );
    let choice = prop_oneof![
        Just(None),
        Just(Some(ToolChoice::Auto)),
        Just(Some(ToolChoice::Required)),
        Just(Some(ToolChoice::Tool("get_weather".into()))),
    ];
    (proptest::option::of(text()), rounds, text(), sampling, any::<bool>(), choice).prop_map(
        |(system, rounds, last, (temperature, top_p, max_tokens), tools, tool_choice)| {
            let mut messages = Vec::new();
            if let Some(system) = system {
                messages.push(Message {
                    role: Role::System,
                    content: vec![ContentBlock::text(system)],
                    name: None,
                    extra: Default::default(),
                });
            }
            messages.extend(rounds.into_iter().flatten());
            messages.push(Message {
                role: Role::User,
                content: vec![ContentBlock::text(last)],
                name: None,
                extra: Default::default(),
            });
            let has_calls = messages.iter().any(|m| m.role == Role::Tool);
            let tools = (tools || has_calls)
                .then(|| ToolDefinition {
                    name: "get_weather".into(),
                    description: Some("Current weather".into()),
                    parameters: json!({ "type": "object", "properties": { "city": { "type": "string" } } }),
                    strict: None,
                    namespace: None,
                })
                .into_iter()
                .collect::<Vec<_>>();
            ChatRequest {
                model: "m".into(),
                tool_choice: if tools.is_empty() { None } else { tool_choice },
                messages,
                tools,
                sampling: Sampling { temperature, top_p, max_tokens, ..Default::default() },
                ..Default::default()
            }
        },
    )
}

fn usage() -> impl Strategy<Value = Usage> {
    (1..10_000u64, 1..10_000u64).prop_map(|(input_tokens, output_tokens)| Usage {
        input_tokens,
        output_tokens,
        ..Default::default()
    })
}

fn response() -> impl Strategy<Value = ChatResponse> {
    (text(), proptest::option::of((text(), arguments())), usage()).prop_map(|(said, call, usage)| {
        let mut content = vec![ContentBlock::text(said)];
        let finish = match call {
            Some((_, args)) => {
                content.push(ContentBlock::ToolCall {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    arguments: args,
                });
                FinishReason::ToolCalls
            }
            None => FinishReason::Stop,
        };
        ChatResponse {
            id: "resp_1".into(),
            model: "m".into(),
            created: Some(1_700_000_000),
            content,
            finish_reason: Some(finish),
            usage: Some(usage),
            extra: Default::default(),
        }
    })
}

/// A well-formed event sequence: start, a text block in fragments, maybe a tool call in
/// fragments, usage, stop.
fn events() -> impl Strategy<Value = Vec<StreamEvent>> {
    (proptest::collection::vec(text(), 1..5), proptest::option::of(arguments()), usage()).prop_map(
        |(fragments, call, usage)| {
            let mut events = vec![
                StreamEvent::MessageStart { id: "msg_1".into(), model: "m".into(), created: Some(1_700_000_000) },
                StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
            ];
            events.extend(
                fragments.into_iter().map(|t| StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text(t) }),
            );
            events.push(StreamEvent::BlockStop { index: 0 });
            let finish = match call {
                Some(args) => {
                    events.push(StreamEvent::BlockStart {
                        index: 1,
                        block: BlockStart::ToolCall { id: "call_1".into(), name: "get_weather".into() },
                    });
                    // Split mid-text (on a char boundary): fragments are not JSON on their own.
                    let middle = args.char_indices().nth(args.chars().count() / 2).map_or(0, |(i, _)| i);
                    let (a, b) = args.split_at(middle);
                    for part in [a, b] {
                        events
                            .push(StreamEvent::BlockDelta { index: 1, delta: BlockDelta::ToolArguments(part.into()) });
                    }
                    events.push(StreamEvent::BlockStop { index: 1 });
                    FinishReason::ToolCalls
                }
                None => FinishReason::Stop,
            };
            events.push(StreamEvent::Usage(usage));
            events.push(StreamEvent::MessageStop { finish_reason: Some(finish) });
            events
        },
    )
}

fn through_stream(format: WireFormat, events: &[StreamEvent]) -> Vec<StreamEvent> {
    let mut encoder = formats::stream_encoder(format, StreamFraming::Default);
    let mut bytes = Vec::new();
    for event in events {
        bytes.extend_from_slice(&encoder.push(event));
    }
    bytes.extend_from_slice(&encoder.finish());
    let mut decoder = formats::stream_decoder(format);
    // Split in two at a byte-odd point so framing across chunks is exercised too.
    let split = bytes.len() / 3;
    let mut out = decoder.push(&bytes[..split]);
    out.extend(decoder.push(&bytes[split..]));
    out.extend(decoder.finish());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn requests_are_stable_after_one_trip(req in request()) {
        for format in FORMATS {
            // A format may refuse what it cannot carry; that is a clear error, not drift.
            let Ok(first) = formats::encode_request(format, &req) else { continue };
            let once = formats::decode_request(format, &first)
                .unwrap_or_else(|e| panic!("{format:?} cannot read its own request: {e}\n{}", String::from_utf8_lossy(&first)));
            let second = formats::encode_request(format, &once).unwrap();
            let twice = formats::decode_request(format, &second).unwrap();
            prop_assert_eq!(&once, &twice, "{:?}", format);
            prop_assert_eq!(&first, &second, "{:?}", format);
        }
    }

    #[test]
    fn responses_are_stable_after_one_trip(resp in response()) {
        for format in FORMATS {
            let first = formats::encode_response(format, &resp);
            let once = formats::decode_response(format, &first)
                .unwrap_or_else(|e| panic!("{format:?} cannot read its own response: {e}\n{}", String::from_utf8_lossy(&first)));
            let twice = formats::decode_response(format, &formats::encode_response(format, &once)).unwrap();
            prop_assert_eq!(&once, &twice, "{:?}", format);
            // Text and tool arguments survive the first trip exactly.
            prop_assert_eq!(text_of(&once.content), text_of(&resp.content), "{:?}", format);
            prop_assert_eq!(args_of(&once.content), args_of(&resp.content), "{:?}", format);
        }
    }

    #[test]
    fn streams_are_stable_after_one_trip(events in events()) {
        for format in FORMATS {
            let once = through_stream(format, &events);
            let twice = through_stream(format, &once);
            prop_assert_eq!(&once, &twice, "{:?}", format);
            prop_assert!(matches!(once.last(), Some(StreamEvent::MessageStop { .. })), "{:?} {:?}", format, once);
            prop_assert_eq!(streamed_text(&once), streamed_text(&events), "{:?}", format);
        }
    }
}

fn text_of(content: &[ContentBlock]) -> String {
    content
        .iter()
        .filter_map(|b| if let ContentBlock::Text { text } = b { Some(text.as_str()) } else { None })
        .collect()
}

fn args_of(content: &[ContentBlock]) -> Vec<serde_json::Value> {
    content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolCall { arguments, .. } => serde_json::from_str(arguments).ok(),
            _ => None,
        })
        .collect()
}

fn streamed_text(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::BlockDelta { delta: BlockDelta::Text(t), .. } => Some(t.as_str()),
            _ => None,
        })
        .collect()
}
