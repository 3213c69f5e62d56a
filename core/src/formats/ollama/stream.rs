//! Ollama NDJSON chat stream ⇄ hub stream events. Each line is a whole object: text and
//! thinking fragments, tool calls that arrive whole, and exactly one final `done: true` line
//! with `done_reason` and the counts. An `{"error": "..."}` line ends a broken stream.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value, json};

use super::response::call_id;
use super::wire::{
    RawLine, WireChunk, WireFunction, WireMessage, WireToolCall, arguments_from_wire, arguments_to_wire_lossy,
};
use super::{finish_reason_from_wire, finish_reason_to_wire, message_id, stamp, usage_from_wire, usage_to_wire};
use crate::formats::blocks::BlockTracker;
use crate::formats::ndjson::{NdjsonParser, encode_line};
use crate::formats::{StreamDecode, StreamEncode, cut_stream_error};
use crate::hub::{BlockDelta, BlockStart, FinishReason, StreamEvent, Usage};
use crate::time::{format_rfc3339, parse_rfc3339_secs};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
}

/// Decodes an upstream's Ollama NDJSON stream into hub events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    lines: NdjsonParser,
    started: bool,
    stopped: bool,
    blocks: BlockTracker<Kind>,
    /// Digits of the first line's `created_at`, for generated tool-call ids.
    stamp: String,
    tool_calls: usize,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn on_line(&mut self, line: &str, out: &mut Vec<StreamEvent>) {
        if self.stopped {
            return;
        }
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            return;
        };
        if let Some(message) = value.as_object().and_then(super::error::error_message) {
            self.stopped = true;
            out.push(StreamEvent::Error { status: 500, kind: "api_error".into(), message });
            return;
        }
        if !self.started {
            self.started = true;
            let created_at = value.get("created_at").and_then(Value::as_str);
            self.stamp = stamp(created_at);
            out.push(StreamEvent::MessageStart {
                id: message_id(created_at.and_then(parse_rfc3339_secs)),
                model: value.get("model").and_then(Value::as_str).unwrap_or_default().to_owned(),
                created: created_at.and_then(parse_rfc3339_secs),
            });
        }
        let message = value.get("message").unwrap_or(&Value::Null);
        if let Some(text) = message.get("thinking").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            let index = self.blocks.ensure_open(out, Kind::Thinking, BlockStart::Thinking);
            out.push(StreamEvent::BlockDelta { index, delta: BlockDelta::Thinking(text.to_owned()) });
        }
        if let Some(text) = message.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            let index = self.blocks.ensure_open(out, Kind::Text, BlockStart::Text);
            out.push(StreamEvent::BlockDelta { index, delta: BlockDelta::Text(text.to_owned()) });
        }
        if let Some(calls) = message.get("tool_calls").and_then(Value::as_array).filter(|c| !c.is_empty()) {
            let raw = RawLine::parse(line);
            for (n, call) in calls.iter().enumerate() {
                let id = call_id(call, &self.stamp, self.tool_calls);
                self.tool_calls += 1;
                let name = call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let arguments = arguments_from_wire(raw.arguments(n), call.pointer("/function/arguments"));
                let start = BlockStart::ToolCall { id, name };
                self.blocks.whole(out, start, [BlockDelta::ToolArguments(arguments)]);
            }
        }
        if value.get("done").and_then(Value::as_bool) == Some(true) {
            self.blocks.close(out);
            if let Some(usage) = value.as_object().and_then(usage_from_wire) {
                out.push(StreamEvent::Usage(usage));
            }
            let done_reason = value.get("done_reason").and_then(Value::as_str);
            let finish_reason = finish_reason_from_wire(done_reason, self.tool_calls > 0);
            out.push(StreamEvent::MessageStop { finish_reason: Some(finish_reason) });
            self.stopped = true;
        }
    }
}

impl StreamDecode for StreamDecoder {
    /// Feeds upstream bytes; returns the events they complete.
    fn push(&mut self, chunk: &[u8]) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        for line in self.lines.push(chunk) {
            self.on_line(&line, &mut out);
        }
        out
    }

    /// The upstream closed: a stream without its `done: true` line was cut.
    fn finish(&mut self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if let Some(line) = self.lines.finish() {
            self.on_line(&line, &mut out);
        }
        if !self.stopped {
            self.stopped = true;
            out.push(cut_stream_error());
        }
        out
    }
}

/// A tool call being collected until its block stops: Ollama sends calls whole.
#[derive(Debug)]
struct PendingCall {
    id: String,
    name: String,
    arguments: String,
}

/// Encodes hub events as an Ollama NDJSON stream: a line per text or thinking fragment, a line
/// per finished tool call, then exactly one `done: true` line (or one `{"error"}` line).
#[derive(Debug)]
pub struct StreamEncoder {
    model: String,
    created_at: String,
    /// Hub block index → the call being collected.
    calls: BTreeMap<usize, PendingCall>,
    usage: Option<Usage>,
    finished: bool,
}

impl Default for StreamEncoder {
    fn default() -> Self {
        StreamEncoder {
            model: String::new(),
            created_at: format_rfc3339(0),
            calls: BTreeMap::new(),
            usage: None,
            finished: false,
        }
    }
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn calls_line(&self, calls: Vec<PendingCall>) -> Bytes {
        let mut message = WireMessage::new("assistant", String::new());
        message.tool_calls = calls
            .into_iter()
            .map(|call| WireToolCall {
                function: WireFunction {
                    arguments: arguments_to_wire_lossy(&call.name, &call.arguments),
                    name: call.name,
                },
                id: call.id,
            })
            .collect();
        self.line(message)
    }

    fn line(&self, message: WireMessage) -> Bytes {
        self.chunk(message, None, Map::new())
    }

    fn chunk(&self, message: WireMessage, done_reason: Option<&str>, metrics: Map<String, Value>) -> Bytes {
        let chunk = WireChunk {
            model: &self.model,
            created_at: &self.created_at,
            message,
            done: done_reason.is_some(),
            done_reason,
            metrics,
        };
        let mut line = serde_json::to_vec(&chunk).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    }
}

impl StreamEncode for StreamEncoder {
    /// Encodes one event (possibly to nothing).
    fn push(&mut self, event: &StreamEvent) -> Bytes {
        let mut out = BytesMut::new();
        if self.finished {
            return out.freeze();
        }
        match event {
            StreamEvent::MessageStart { model, created, .. } => {
                self.model.clone_from(model);
                self.created_at = format_rfc3339(created.unwrap_or(0));
            }
            StreamEvent::BlockStart { index, block: BlockStart::ToolCall { id, name } } => {
                let call = PendingCall { id: id.clone(), name: name.clone(), arguments: String::new() };
                self.calls.insert(*index, call);
            }
            StreamEvent::BlockDelta { index, delta } => match delta {
                BlockDelta::Text(text) if !text.is_empty() => {
                    out.extend_from_slice(&self.line(WireMessage::new("assistant", text.clone())));
                }
                BlockDelta::Thinking(text) if !text.is_empty() => {
                    let mut message = WireMessage::new("assistant", String::new());
                    message.thinking = Some(text.clone());
                    out.extend_from_slice(&self.line(message));
                }
                BlockDelta::ToolArguments(fragment) => {
                    if let Some(call) = self.calls.get_mut(index) {
                        call.arguments.push_str(fragment);
                    }
                }
                // Ollama has no place for a thinking signature.
                BlockDelta::Text(_) | BlockDelta::Thinking(_) | BlockDelta::Signature(_) => {}
            },
            StreamEvent::BlockStop { index } => {
                if let Some(call) = self.calls.remove(index) {
                    out.extend_from_slice(&self.calls_line(vec![call]));
                }
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::MessageStop { finish_reason } => {
                let pending: Vec<PendingCall> = std::mem::take(&mut self.calls).into_values().collect();
                if !pending.is_empty() {
                    out.extend_from_slice(&self.calls_line(pending));
                }
                let mut metrics = Map::new();
                if let Some(usage) = self.usage.take() {
                    usage_to_wire(&usage, &mut metrics);
                }
                let reason = finish_reason_to_wire(finish_reason.as_ref().unwrap_or(&FinishReason::Stop));
                let message = WireMessage::new("assistant", String::new());
                out.extend_from_slice(&self.chunk(message, Some(reason), metrics));
                self.finished = true;
            }
            StreamEvent::Error { message, .. } => {
                out.extend_from_slice(&encode_line(&json!({ "error": message })));
                self.finished = true;
            }
            StreamEvent::BlockStart { .. } => {}
        }
        out.freeze()
    }

    fn finish(&mut self) -> Bytes {
        Bytes::new()
    }
}
