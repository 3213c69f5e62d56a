//! Helpers the codecs' tests share: fixtures from `tests/fixtures/<format>/`, decoding a stream
//! at one split point or at every split point, encoding an event list, reading SSE output back,
//! checking that bad bodies give the right error, and encoding a decoded answer in every format
//! (as the fuzz targets do, for their regression inputs).

use std::fmt::Debug;

use serde_json::Value;

use crate::error::GatewayError;
use crate::formats::sse::SseParser;
use crate::formats::{StreamDecode, StreamEncode, StreamFraming, encode_response, stream_encoder};
use crate::hub::{BlockDelta, ChatResponse, ContentBlock, Message, Role, StreamEvent};
use crate::providers::WireFormat;

/// Every wire format, for tests that translate into all of them.
pub(crate) const ALL_FORMATS: [WireFormat; 5] = [
    WireFormat::OpenaiChat,
    WireFormat::OpenaiResponses,
    WireFormat::Anthropic,
    WireFormat::Gemini,
    WireFormat::Ollama,
];

/// The text of `tests/fixtures/<format>/<name>`, compiled in.
macro_rules! fixture {
    ($format:literal, $name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/", $format, "/", $name))
    };
}
pub(crate) use fixture;

/// Bytes that must be JSON.
pub(crate) fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// A hub message with nothing but a role and content.
pub(crate) fn message(role: Role, content: Vec<ContentBlock>) -> Message {
    Message { role, content, name: None, extra: Default::default() }
}

/// Everything a decoder makes of `bytes` pushed in two chunks, split at `split`, then closed.
pub(crate) fn decode_split(decoder: &mut dyn StreamDecode, bytes: &[u8], split: usize) -> Vec<StreamEvent> {
    let mut events = decoder.push(&bytes[..split]);
    events.extend(decoder.push(&bytes[split..]));
    events.extend(decoder.finish());
    events
}

/// What a fresh decoder makes of `bytes`, after checking that every split point (inside UTF-8
/// sequences too) gives the same events.
pub(crate) fn decode_at_every_split<D: StreamDecode>(new_decoder: impl Fn() -> D, bytes: &[u8]) -> Vec<StreamEvent> {
    let expected = decode_split(&mut new_decoder(), bytes, 0);
    for split in 1..=bytes.len() {
        assert_eq!(decode_split(&mut new_decoder(), bytes, split), expected, "split at {split}");
    }
    expected
}

/// The bytes an encoder writes for `events`, its trailer included.
pub(crate) fn encode_all(encoder: &mut dyn StreamEncode, events: &[StreamEvent]) -> Vec<u8> {
    let mut bytes: Vec<u8> = events.iter().flat_map(|e| encoder.push(e).to_vec()).collect();
    bytes.extend_from_slice(&encoder.finish());
    bytes
}

/// An SSE stream as (event name or "", JSON data) pairs.
pub(crate) fn sse_json(bytes: &[u8]) -> Vec<(String, Value)> {
    let mut parser = SseParser::new();
    let mut events = parser.push(bytes);
    events.extend(parser.finish());
    events.into_iter().map(|e| (e.event.unwrap_or_default(), json_of(e.data.as_bytes()))).collect()
}

/// The text, thinking or argument fragments of block `index`, joined.
pub(crate) fn block_text(events: &[StreamEvent], index: usize) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::BlockDelta {
                index: i,
                delta: BlockDelta::Text(t) | BlockDelta::Thinking(t) | BlockDelta::ToolArguments(t),
            } if *i == index => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Checks that each body is refused as a client error whose message names `needle`, after the
/// rows every codec shares (not JSON, not an object).
pub(crate) fn assert_client_errors<T: Debug>(decode: impl Fn(&[u8]) -> Result<T, GatewayError>, rows: &[(&str, &str)]) {
    let shared = [("{", "not valid JSON"), ("[]", "JSON object")];
    for (body, needle) in shared.iter().chain(rows) {
        let err = decode(body.as_bytes()).unwrap_err();
        let refused = matches!(&err, GatewayError::InvalidRequest(m) | GatewayError::InvalidValue { message: m, .. }
            if m.contains(needle));
        assert!(refused, "{body}: {err}");
    }
}

/// Checks that each body is an upstream error (502) whose message names `needle`, after the rows
/// every codec shares (not JSON, not an object).
pub(crate) fn assert_upstream_errors<T: Debug>(
    decode: impl Fn(&[u8]) -> Result<T, GatewayError>,
    rows: &[(&str, &str)],
) {
    let shared = [("{", "not valid JSON"), ("[1]", "not a JSON object")];
    for (body, needle) in shared.iter().chain(rows) {
        let err = decode(body.as_bytes()).unwrap_err();
        assert!(matches!(&err, GatewayError::UpstreamUnavailable(m) if m.contains(needle)), "{body}: {err}");
    }
}

/// A decoded answer as every format's client gets it, by format (what a translated request
/// does with an upstream's answer).
pub(crate) fn encode_response_everywhere(resp: &ChatResponse) -> Vec<(WireFormat, Value)> {
    ALL_FORMATS.into_iter().map(|format| (format, json_of(&encode_response(format, resp)))).collect()
}

/// Decoded stream events as every format's client gets them (Gemini in both framings).
pub(crate) fn encode_stream_everywhere(events: &[StreamEvent]) -> Vec<Vec<u8>> {
    let mut encoders: Vec<_> = ALL_FORMATS.map(|format| stream_encoder(format, StreamFraming::Default)).into();
    encoders.push(stream_encoder(WireFormat::Gemini, StreamFraming::JsonArray));
    encoders.iter_mut().map(|encoder| encode_all(encoder.as_mut(), events)).collect()
}
