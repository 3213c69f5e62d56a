//! ollama codec: request, response, stream and error (being written; every function answers
//! `Unsupported` until then).

use bytes::Bytes;

use crate::error::GatewayError;
use crate::formats::{ErrorInfo, StreamDecode, StreamEncode};
use crate::hub::{ChatRequest, ChatResponse, StreamEvent};

fn unsupported() -> GatewayError {
    GatewayError::Unsupported("the ollama format is not translated yet".into())
}

pub fn decode_request(_body: &[u8]) -> Result<ChatRequest, GatewayError> {
    Err(unsupported())
}

pub fn encode_request(_req: &ChatRequest) -> Result<Bytes, GatewayError> {
    Err(unsupported())
}

pub fn decode_response(_body: &[u8]) -> Result<ChatResponse, GatewayError> {
    Err(unsupported())
}

pub fn encode_response(_resp: &ChatResponse) -> Bytes {
    Bytes::new()
}

pub fn error_body(err: &ErrorInfo) -> Bytes {
    crate::formats::openai_chat::error_body(err)
}

pub fn stream_error_event(err: &ErrorInfo) -> Bytes {
    crate::formats::openai_chat::stream_error_event(err)
}

pub fn upstream_error_message(body: &[u8]) -> Option<String> {
    crate::formats::openai_chat::upstream_error_message(body)
}

#[derive(Debug, Default)]
pub struct StreamDecoder;

impl StreamDecoder {
    pub fn new() -> Self {
        StreamDecoder
    }
}

impl StreamDecode for StreamDecoder {
    fn push(&mut self, _chunk: &[u8]) -> Vec<StreamEvent> {
        Vec::new()
    }
    fn finish(&mut self) -> Vec<StreamEvent> {
        vec![crate::formats::cut_stream_error()]
    }
}

#[derive(Debug, Default)]
pub struct StreamEncoder;

impl StreamEncoder {
    pub fn new() -> Self {
        StreamEncoder
    }
}

impl StreamEncode for StreamEncoder {
    fn push(&mut self, _event: &StreamEvent) -> Bytes {
        Bytes::new()
    }
    fn finish(&mut self) -> Bytes {
        Bytes::new()
    }
}

pub fn tags_entry(model: &str) -> serde_json::Value {
    serde_json::json!({ "name": model, "model": model })
}
