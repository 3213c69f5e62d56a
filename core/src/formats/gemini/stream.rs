//! Gemini `streamGenerateContent` ⇄ hub stream events. Every chunk is a whole
//! `GenerateContentResponse` holding the next parts; function calls arrive whole. The decoder
//! reads `?alt=sse` streams (and the JSON-array form); the encoder writes either.

use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};

use super::error::error_object;
use super::framing::JsonArraySplitter;
use super::parts::{PartKind, args_object, args_string, read_part};
use super::{
    as_list, field, finish_reason_from_wire, finish_reason_to_wire, invent_response_id, response_call_id,
    usage_from_wire, usage_to_wire,
};
use crate::formats::blocks::BlockTracker;
use crate::formats::sse::{SseParser, encode_event};
use crate::formats::{StreamDecode, StreamEncode, cut_stream_error};
use crate::hub::{BlockDelta, BlockStart, FinishReason, StreamEvent, Usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Nothing but whitespace seen yet.
    #[default]
    Unknown,
    Sse,
    JsonArray,
}

/// Decodes an upstream's `streamGenerateContent` answer into hub events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    framing: Framing,
    head: Vec<u8>,
    sse: SseParser,
    array: JsonArraySplitter,
    started: bool,
    ended: bool,
    blocks: BlockTracker<Kind>,
    response_id: String,
    /// Calls given generated ids so far.
    generated_ids: usize,
    saw_calls: bool,
    finish_reason: Option<String>,
    blocked: bool,
    usage: Option<Usage>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes → JSON payloads, whichever framing the upstream chose.
    fn frame(&mut self, chunk: &[u8]) -> Vec<String> {
        match self.framing {
            Framing::Sse => self.sse.push(chunk).into_iter().map(|e| e.data).collect(),
            Framing::JsonArray => self.array.push(chunk),
            Framing::Unknown => {
                self.head.extend_from_slice(chunk);
                let Some(first) = self.head.iter().find(|b| !b.is_ascii_whitespace()) else {
                    return Vec::new();
                };
                self.framing = if matches!(first, b'[' | b'{') { Framing::JsonArray } else { Framing::Sse };
                let head = std::mem::take(&mut self.head);
                self.frame(&head)
            }
        }
    }

    fn on_payload(&mut self, data: &str, out: &mut Vec<StreamEvent>) {
        if self.ended {
            return;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            return;
        };
        if let Some(error) = field(&chunk, "error") {
            let status = error.get("code").and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok()).unwrap_or(500);
            out.push(StreamEvent::Error {
                status,
                kind: crate::formats::error_info::kind_for_status(status).to_owned(),
                message: error.get("message").and_then(Value::as_str).unwrap_or("upstream stream error").to_owned(),
            });
            self.ended = true;
            return;
        }
        if !self.started {
            self.started = true;
            self.response_id = field(&chunk, "responseId").and_then(Value::as_str).unwrap_or_default().to_owned();
            out.push(StreamEvent::MessageStart {
                id: self.response_id.clone(),
                model: field(&chunk, "modelVersion").and_then(Value::as_str).unwrap_or_default().to_owned(),
                created: None,
            });
        }
        if let Some(candidate) = as_list(field(&chunk, "candidates")).into_iter().next() {
            let parts = field(candidate, "content").and_then(|c| field(c, "parts"));
            for part in as_list(parts) {
                self.on_part(part, out);
            }
            // Blocks stay open: older models put `finishReason` on every chunk.
            if let Some(reason) = field(candidate, "finishReason").and_then(Value::as_str) {
                self.finish_reason = Some(reason.to_owned());
            }
        } else if field(&chunk, "promptFeedback").and_then(|f| field(f, "blockReason")).is_some() {
            self.blocked = true;
        }
        if let Some(usage) = field(&chunk, "usageMetadata").and_then(usage_from_wire) {
            self.usage = Some(usage);
        }
    }

    fn on_part(&mut self, part: &Value, out: &mut Vec<StreamEvent>) {
        let part = read_part(part);
        if let PartKind::Thought(text) = part.kind {
            let index = self.blocks.ensure_open(out, Kind::Thinking, BlockStart::Thinking);
            if !text.is_empty() {
                out.push(StreamEvent::BlockDelta { index, delta: BlockDelta::Thinking(text) });
            }
            if let Some(signature) = part.signature {
                out.push(StreamEvent::BlockDelta { index, delta: BlockDelta::Signature(signature) });
                self.blocks.close(out);
            }
            return;
        }
        if let Some(signature) = part.signature {
            // A signature on a text or call part: its own Thinking block, just before.
            self.blocks.whole(out, BlockStart::Thinking, [BlockDelta::Signature(signature)]);
        }
        match part.kind {
            PartKind::Text(text) if !text.is_empty() => {
                let index = self.blocks.ensure_open(out, Kind::Text, BlockStart::Text);
                out.push(StreamEvent::BlockDelta { index, delta: BlockDelta::Text(text) });
            }
            PartKind::Call { id, name, args } => {
                let id = id.unwrap_or_else(|| {
                    self.generated_ids += 1;
                    response_call_id(&self.response_id, &name, &args, self.generated_ids - 1)
                });
                self.saw_calls = true;
                let start = BlockStart::ToolCall { id, name };
                self.blocks.whole(out, start, [BlockDelta::ToolArguments(args_string(&args))]);
            }
            // Media, code execution and the like have no stream event in the hub.
            _ => {}
        }
    }
}

impl StreamDecode for StreamDecoder {
    /// Feeds upstream bytes; returns the events they complete.
    fn push(&mut self, chunk: &[u8]) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        for payload in self.frame(chunk) {
            self.on_payload(&payload, &mut out);
        }
        out
    }

    /// The upstream closed. A stream that gave a `finishReason` ends normally (with the last
    /// usage); one that did not was cut.
    fn finish(&mut self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if self.framing == Framing::Sse
            && let Some(event) = self.sse.finish()
        {
            self.on_payload(&event.data, &mut out);
        }
        if self.ended {
            return out;
        }
        self.ended = true;
        if self.finish_reason.is_some() || self.blocked {
            self.blocks.close(&mut out);
            if let Some(usage) = self.usage.take() {
                out.push(StreamEvent::Usage(usage));
            }
            let reason = match self.finish_reason.take() {
                Some(reason) => finish_reason_from_wire(&reason, self.saw_calls),
                None => FinishReason::ContentFilter,
            };
            out.push(StreamEvent::MessageStop { finish_reason: Some(reason) });
        } else {
            out.push(cut_stream_error());
        }
        out
    }
}

/// A tool call whose argument fragments are being collected until its block stops.
#[derive(Debug)]
struct PendingCall {
    index: usize,
    id: String,
    name: String,
    arguments: String,
}

/// Encodes hub events as Gemini chunks: SSE `data:` lines, or (`json_array`) one JSON array
/// written element by element and closed by [`StreamEncode::finish`].
#[derive(Debug, Default)]
pub struct StreamEncoder {
    json_array: bool,
    elements: usize,
    /// After `MessageStop` or `Error`: later events write nothing.
    closed: bool,
    finished: bool,
    id: String,
    model: String,
    call: Option<PendingCall>,
    thinking_has_text: bool,
    /// A signature from a Thinking block without text: it goes on the next part.
    pending_signature: Option<String>,
    usage: Option<Usage>,
}

impl StreamEncoder {
    pub fn new(json_array: bool) -> Self {
        StreamEncoder { json_array, ..Self::default() }
    }

    /// Writes a buffered tool call as one whole `functionCall` part.
    fn flush_call(&mut self, out: &mut BytesMut) {
        if let Some(call) = self.call.take() {
            let mut function_call = serde_json::Map::new();
            if !call.id.is_empty() {
                function_call.insert("id".into(), json!(call.id));
            }
            function_call.insert("name".into(), json!(call.name));
            function_call.insert("args".into(), args_object(&call.arguments));
            self.part(json!({ "functionCall": function_call }), out);
        }
    }

    fn part(&mut self, mut part: Value, out: &mut BytesMut) {
        if let Some(signature) = self.pending_signature.take() {
            part["thoughtSignature"] = json!(signature);
        }
        out.extend_from_slice(&self.chunk(vec![part], None));
    }

    fn chunk(&mut self, parts: Vec<Value>, finish_reason: Option<&str>) -> Bytes {
        if self.id.is_empty() {
            self.id = invent_response_id();
        }
        let mut candidate = json!({ "content": { "parts": parts, "role": "model" }, "index": 0 });
        if let Some(reason) = finish_reason {
            candidate["finishReason"] = json!(reason);
        }
        let mut chunk = json!({ "candidates": [candidate] });
        if finish_reason.is_some()
            && let Some(usage) = &self.usage
        {
            chunk["usageMetadata"] = usage_to_wire(usage);
        }
        chunk["modelVersion"] = json!(self.model);
        chunk["responseId"] = json!(self.id);
        self.frame(&chunk)
    }

    fn frame(&mut self, value: &Value) -> Bytes {
        if !self.json_array {
            return encode_event(None, &value.to_string());
        }
        let mut out = BytesMut::new();
        out.extend_from_slice(if self.elements == 0 { b"[" } else { b",\r\n" });
        out.extend_from_slice(value.to_string().as_bytes());
        self.elements += 1;
        out.freeze()
    }
}

impl StreamEncode for StreamEncoder {
    /// Encodes one event (possibly to nothing).
    fn push(&mut self, event: &StreamEvent) -> Bytes {
        let mut out = BytesMut::new();
        if self.closed || self.finished {
            return out.freeze();
        }
        match event {
            StreamEvent::MessageStart { id, model, .. } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
            }
            StreamEvent::BlockStart { index, block } => match block {
                BlockStart::ToolCall { id, name } => {
                    self.flush_call(&mut out);
                    self.call = Some(PendingCall {
                        index: *index,
                        id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                    });
                }
                BlockStart::Thinking => self.thinking_has_text = false,
                BlockStart::Text => {}
            },
            StreamEvent::BlockDelta { index, delta } => match delta {
                BlockDelta::Text(text) if !text.is_empty() => self.part(json!({ "text": text }), &mut out),
                BlockDelta::Thinking(text) if !text.is_empty() => {
                    self.thinking_has_text = true;
                    self.part(json!({ "text": text, "thought": true }), &mut out);
                }
                BlockDelta::Signature(signature) if self.thinking_has_text => {
                    let part = json!({ "text": "", "thought": true, "thoughtSignature": signature });
                    out.extend_from_slice(&self.chunk(vec![part], None));
                }
                BlockDelta::Signature(signature) => {
                    if let Some(previous) = self.pending_signature.replace(signature.clone()) {
                        let part = json!({ "text": "", "thoughtSignature": previous });
                        out.extend_from_slice(&self.chunk(vec![part], None));
                    }
                }
                BlockDelta::ToolArguments(fragment) => {
                    if let Some(call) = self.call.as_mut().filter(|c| c.index == *index) {
                        call.arguments.push_str(fragment);
                    }
                }
                BlockDelta::Text(_) | BlockDelta::Thinking(_) => {}
            },
            StreamEvent::BlockStop { index } => {
                if self.call.as_ref().is_some_and(|c| c.index == *index) {
                    self.flush_call(&mut out);
                }
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::MessageStop { finish_reason } => {
                self.flush_call(&mut out);
                let part = match self.pending_signature.take() {
                    Some(signature) => json!({ "text": "", "thoughtSignature": signature }),
                    None => json!({ "text": "" }),
                };
                let reason = finish_reason_to_wire(finish_reason.as_ref());
                out.extend_from_slice(&self.chunk(vec![part], Some(reason)));
                self.closed = true;
            }
            StreamEvent::Error { status, message, .. } => {
                let error = error_object(*status, message);
                out.extend_from_slice(&self.frame(&error));
                self.closed = true;
            }
        }
        out.freeze()
    }

    /// Closes the JSON array (`[]` if nothing was written); nothing for SSE.
    fn finish(&mut self) -> Bytes {
        if self.finished || !self.json_array {
            self.finished = true;
            return Bytes::new();
        }
        self.finished = true;
        Bytes::from_static(if self.elements == 0 { b"[]" } else { b"\n]" })
    }
}
