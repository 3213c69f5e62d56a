//! Wire formats: one codec module per format (request, response, stream, error), our own SSE
//! and NDJSON framing, the pieces the codecs share (`json_body`: body preludes and field
//! readers; `blocks`: stream decoders' open-block bookkeeping; `test_support`: test helpers),
//! and the dispatch from a [`WireFormat`] to its codec. N codecs through the hub give every N×N
//! client/provider pair.
//!
//! The contract every codec module follows (see each module's `mod.rs`):
//! - `decode_request(&[u8]) -> Result<ChatRequest, GatewayError>`: a client's body → hub
//!   (400-class `InvalidRequest` with a clear message on bad input, never a panic).
//! - `encode_request(&ChatRequest) -> Result<Bytes, GatewayError>`: hub → provider body;
//!   `InvalidRequest` when the request holds something the format cannot carry (e.g. an image
//!   URL where only base64 is accepted).
//! - `decode_response(&[u8])` / `encode_response(&ChatResponse)`: non-streamed answers.
//! - `StreamDecoder` / `StreamEncoder`: the [`StreamDecode`] / [`StreamEncode`] state machines.
//! - `error_body(&ErrorInfo)`, `stream_error_event(&ErrorInfo)`, `upstream_error_message(&[u8])`.

pub mod anthropic;
pub(crate) mod blocks;
pub mod error_info;
pub mod gemini;
pub(crate) mod json_body;
pub(crate) mod lenient;
pub mod ndjson;
pub mod ollama;
pub mod openai_chat;
pub mod openai_responses;
pub mod sse;
#[cfg(test)]
mod system_turn_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tool_translation_tests;

use bytes::Bytes;

pub use error_info::ErrorInfo;

use crate::error::GatewayError;
use crate::hub::{ChatRequest, ChatResponse, Namespaces, StreamEvent};
use crate::providers::WireFormat;

/// Upstream bytes in, hub events out, at any chunk boundary.
///
/// Events come in this order: `MessageStart`, then blocks (`BlockStart`, `BlockDelta`*,
/// `BlockStop`; one block open at a time), then `Usage` (zero or more; the last wins), then
/// `MessageStop`. An `Error` event ends the stream instead. `finish` reports an `Error` if the
/// upstream closed before the format's terminal event (a cut stream is never a success).
pub trait StreamDecode: Send {
    fn push(&mut self, chunk: &[u8]) -> Vec<StreamEvent>;
    fn finish(&mut self) -> Vec<StreamEvent>;
}

/// Hub events in, client bytes out. `finish` writes any trailer the format needs after the
/// last event (e.g. the `]` closing Gemini's JSON-array stream); most formats write nothing.
pub trait StreamEncode: Send {
    fn push(&mut self, event: &StreamEvent) -> Bytes;
    fn finish(&mut self) -> Bytes;
}

/// The error a decoder reports from `finish` when the upstream closed before the format's
/// terminal event.
pub fn cut_stream_error() -> StreamEvent {
    StreamEvent::Error {
        status: 502,
        kind: "api_error".into(),
        message: "the upstream closed the stream before the answer was complete".into(),
    }
}

/// How a client wants its stream framed, where the format has a choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamFraming {
    /// The format's usual framing (SSE; NDJSON for Ollama).
    #[default]
    Default,
    /// Gemini `:streamGenerateContent` without `?alt=sse`: one JSON array, element by element.
    JsonArray,
}

pub fn decode_request(format: WireFormat, body: &[u8]) -> Result<ChatRequest, GatewayError> {
    match format {
        WireFormat::OpenaiChat => openai_chat::decode_request(body),
        WireFormat::OpenaiResponses => openai_responses::decode_request(body),
        WireFormat::Anthropic => anthropic::decode_request(body),
        WireFormat::Gemini => gemini::decode_request(body),
        WireFormat::Ollama => ollama::decode_request(body),
    }
}

pub fn encode_request(format: WireFormat, req: &ChatRequest) -> Result<Bytes, GatewayError> {
    match format {
        WireFormat::OpenaiChat => Ok(openai_chat::encode_request(req)),
        WireFormat::OpenaiResponses => openai_responses::encode_request(req),
        WireFormat::Anthropic => anthropic::encode_request(req),
        WireFormat::Gemini => gemini::encode_request(req),
        WireFormat::Ollama => ollama::encode_request(req),
    }
}

pub fn decode_response(format: WireFormat, body: &[u8]) -> Result<ChatResponse, GatewayError> {
    match format {
        WireFormat::OpenaiChat => openai_chat::decode_response(body),
        WireFormat::OpenaiResponses => openai_responses::decode_response(body),
        WireFormat::Anthropic => anthropic::decode_response(body),
        WireFormat::Gemini => gemini::decode_response(body),
        WireFormat::Ollama => ollama::decode_response(body),
    }
}

pub fn encode_response(format: WireFormat, resp: &ChatResponse) -> Bytes {
    match format {
        WireFormat::OpenaiChat => openai_chat::encode_response(resp),
        WireFormat::OpenaiResponses => openai_responses::encode_response(resp),
        WireFormat::Anthropic => anthropic::encode_response(resp),
        WireFormat::Gemini => gemini::encode_response(resp),
        WireFormat::Ollama => ollama::encode_response(resp),
    }
}

/// A complete answer for a client whose request flattened the namespaced functions `names` (only
/// a Responses client's can): calls to them name their namespace again.
pub fn encode_answer(format: WireFormat, resp: &ChatResponse, names: &Namespaces) -> Bytes {
    match format {
        WireFormat::OpenaiResponses => openai_responses::encode_response_for(resp, names),
        other => encode_response(other, resp),
    }
}

pub fn stream_decoder(format: WireFormat) -> Box<dyn StreamDecode> {
    match format {
        WireFormat::OpenaiChat => Box::new(openai_chat::StreamDecoder::new()),
        WireFormat::OpenaiResponses => Box::new(openai_responses::StreamDecoder::new()),
        WireFormat::Anthropic => Box::new(anthropic::StreamDecoder::new()),
        WireFormat::Gemini => Box::new(gemini::StreamDecoder::new()),
        WireFormat::Ollama => Box::new(ollama::StreamDecoder::new()),
    }
}

pub fn stream_encoder(format: WireFormat, framing: StreamFraming) -> Box<dyn StreamEncode> {
    match format {
        WireFormat::OpenaiChat => Box::new(openai_chat::StreamEncoder::new()),
        WireFormat::OpenaiResponses => Box::new(openai_responses::StreamEncoder::new()),
        WireFormat::Anthropic => Box::new(anthropic::StreamEncoder::new()),
        WireFormat::Gemini => Box::new(gemini::StreamEncoder::new(framing == StreamFraming::JsonArray)),
        WireFormat::Ollama => Box::new(ollama::StreamEncoder::new()),
    }
}

/// The stream encoder for a client whose request flattened the namespaced functions `names`
/// (see [`encode_answer`]).
pub fn answer_stream_encoder(format: WireFormat, framing: StreamFraming, names: &Namespaces) -> Box<dyn StreamEncode> {
    match format {
        WireFormat::OpenaiResponses if !names.is_empty() => {
            Box::new(openai_responses::StreamEncoder::with_namespaces(names.clone()))
        }
        other => stream_encoder(other, framing),
    }
}

/// An error as the client's SDK expects its body.
pub fn error_body(format: WireFormat, err: &ErrorInfo) -> Bytes {
    match format {
        WireFormat::OpenaiChat => openai_chat::error_body(err),
        WireFormat::OpenaiResponses => openai_responses::error_body(err),
        WireFormat::Anthropic => anthropic::error_body(err),
        WireFormat::Gemini => gemini::error_body(err),
        WireFormat::Ollama => ollama::error_body(err),
    }
}

/// The event a client's stream ends with when it breaks after bytes were sent.
pub fn stream_error_event(format: WireFormat, err: &ErrorInfo) -> Bytes {
    match format {
        WireFormat::OpenaiChat => openai_chat::stream_error_event(err),
        WireFormat::OpenaiResponses => openai_responses::stream_error_event(err),
        WireFormat::Anthropic => anthropic::stream_error_event(err),
        WireFormat::Gemini => gemini::stream_error_event(err),
        WireFormat::Ollama => ollama::stream_error_event(err),
    }
}

/// The human message inside a provider's error body, if it is that format's error shape.
pub fn upstream_error_message(format: WireFormat, body: &[u8]) -> Option<String> {
    match format {
        WireFormat::OpenaiChat => openai_chat::upstream_error_message(body),
        WireFormat::OpenaiResponses => openai_responses::upstream_error_message(body),
        WireFormat::Anthropic => anthropic::upstream_error_message(body),
        WireFormat::Gemini => gemini::upstream_error_message(body),
        WireFormat::Ollama => ollama::upstream_error_message(body),
    }
}
