//! Anthropic SSE stream → hub stream events: a synchronous state machine, bytes in and events
//! out at any chunk boundary (the SSE parser buffers partial lines and UTF-8).
//!
//! Text, tool_use and thinking blocks become hub blocks, renumbered from 0 in arrival order;
//! blocks the hub's stream does not model (`redacted_thinking`, `server_tool_use`, web search
//! results, ...) and `citations_delta` are skipped. Usage from `message_start` and the
//! cumulative `message_delta` is emitted once, just before `MessageStop`.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::error::status_for_error_type;
use super::{WireUsage, finish_reason_from_wire};
use crate::formats::blocks::BlockTracker;
use crate::formats::lenient::{Str, U64};
use crate::formats::sse::SseParser;
use crate::formats::{StreamDecode, cut_stream_error};
use crate::hub::{BlockDelta, BlockStart, FinishReason, StreamEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    /// Whether any argument fragment was emitted yet.
    Tool {
        has_arguments: bool,
    },
}

/// The open block: its index on the wire and what it holds.
#[derive(Debug, Clone, Copy)]
struct OpenBlock {
    wire: u64,
    kind: Kind,
}

/// One stream event, typed: `content_block_delta` (one per token) is read without building a
/// `Value` map. Objects seen once per stream stay `Value`s.
#[derive(Deserialize, Default)]
struct WireEvent<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Str<'a>,
    #[serde(default)]
    index: U64,
    #[serde(borrow, default)]
    delta: Option<&'a RawValue>,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    content_block: Option<Value>,
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
}

/// The `delta` of `content_block_delta` and `message_delta`.
#[derive(Deserialize, Default)]
struct WireDelta<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Str<'a>,
    #[serde(borrow, default)]
    text: Str<'a>,
    #[serde(borrow, default)]
    thinking: Str<'a>,
    #[serde(borrow, default)]
    signature: Str<'a>,
    #[serde(borrow, default)]
    partial_json: Str<'a>,
    #[serde(borrow, default)]
    stop_reason: Str<'a>,
}

impl<'a> WireDelta<'a> {
    /// A delta that is not an object reads as empty, as a missing one does.
    fn of(raw: Option<&'a RawValue>) -> Self {
        raw.and_then(|raw| serde_json::from_str(raw.get()).ok()).unwrap_or_default()
    }
}

/// Decodes an upstream's Anthropic Messages stream into hub events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseParser,
    started: bool,
    /// `message_stop` or an error was seen (or the stream was closed): nothing more comes out.
    done: bool,
    blocks: BlockTracker<OpenBlock>,
    usage: WireUsage,
    /// `message_delta` arrived: the answer is complete even if `message_stop` goes missing.
    delta_seen: bool,
    finish: Option<FinishReason>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn on_event(&mut self, name: Option<&str>, data: &str, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        let Ok(event) = serde_json::from_str::<WireEvent>(data) else {
            return;
        };
        let kind = event.kind.as_deref().or(name).unwrap_or_default();
        let index = event.index.0.unwrap_or(0);
        match kind {
            "message_start" => {
                let message = event.message.as_ref().unwrap_or(&Value::Null);
                self.start(message, out);
                if let Some(usage) = message.get("usage") {
                    self.usage = self.usage.merge(WireUsage::from_value(usage));
                }
            }
            "content_block_start" => {
                self.start(&Value::Null, out);
                self.close_open(out);
                let block = event.content_block.as_ref().unwrap_or(&Value::Null);
                self.on_block_start(index, block, out);
            }
            "content_block_delta" => self.on_delta(index, &WireDelta::of(event.delta), out),
            "content_block_stop" if self.blocks.open().is_some_and(|(open, _)| open.wire == index) => {
                self.close_open(out);
            }
            "message_delta" => {
                self.start(&Value::Null, out);
                self.close_open(out);
                self.delta_seen = true;
                if let Some(reason) = WireDelta::of(event.delta).stop_reason.as_deref() {
                    self.finish = Some(finish_reason_from_wire(reason));
                }
                if let Some(usage) = &event.usage {
                    self.usage = self.usage.merge(WireUsage::from_value(usage));
                }
            }
            "message_stop" => {
                self.start(&Value::Null, out);
                self.stop(out);
            }
            "error" => {
                let error = event.error.as_ref().unwrap_or(&Value::Null);
                let kind = error.get("type").and_then(Value::as_str).unwrap_or("api_error");
                out.push(StreamEvent::Error {
                    status: status_for_error_type(kind),
                    kind: kind.to_owned(),
                    message: error.get("message").and_then(Value::as_str).unwrap_or("upstream stream error").to_owned(),
                });
                self.done = true;
            }
            // `ping` and event types added later.
            _ => {}
        }
    }

    /// Emits `MessageStart` once, from `message_start` (or empty, if content came first).
    fn start(&mut self, message: &Value, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let field = |key: &str| message.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        out.push(StreamEvent::MessageStart { id: field("id"), model: field("model"), created: None });
    }

    fn on_block_start(&mut self, wire: u64, block: &Value, out: &mut Vec<StreamEvent>) {
        let text_of = |key: &str| block.get(key).and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned);
        let (kind, start, mut deltas) = match block.get("type").and_then(Value::as_str) {
            Some("text") => (Kind::Text, BlockStart::Text, text_of("text").map(BlockDelta::Text).into_iter().collect()),
            Some("thinking") => (
                Kind::Thinking,
                BlockStart::Thinking,
                text_of("thinking")
                    .map(BlockDelta::Thinking)
                    .into_iter()
                    .chain(text_of("signature").map(BlockDelta::Signature))
                    .collect(),
            ),
            Some("tool_use") => {
                let arguments = block
                    .get("input")
                    .filter(|input| input.as_object().is_some_and(|o| !o.is_empty()))
                    .map(|input| BlockDelta::ToolArguments(input.to_string()));
                (
                    Kind::Tool { has_arguments: arguments.is_some() },
                    BlockStart::ToolCall {
                        id: text_of("id").unwrap_or_default(),
                        name: text_of("name").unwrap_or_default(),
                    },
                    arguments.into_iter().collect::<Vec<_>>(),
                )
            }
            _ => return,
        };
        let hub = self.blocks.open_new(out, OpenBlock { wire, kind }, start);
        out.extend(deltas.drain(..).map(|delta| StreamEvent::BlockDelta { index: hub, delta }));
    }

    fn on_delta(&mut self, wire: u64, delta: &WireDelta, out: &mut Vec<StreamEvent>) {
        let Some((open, hub)) = self.blocks.open_mut().filter(|(open, _)| open.wire == wire) else {
            return;
        };
        let hub_delta = match (delta.kind.as_deref(), &mut open.kind) {
            (Some("text_delta"), Kind::Text) => delta.text.non_empty().map(BlockDelta::Text),
            (Some("thinking_delta"), Kind::Thinking) => delta.thinking.non_empty().map(BlockDelta::Thinking),
            (Some("signature_delta"), Kind::Thinking) => delta.signature.non_empty().map(BlockDelta::Signature),
            (Some("input_json_delta"), Kind::Tool { has_arguments }) => {
                let fragment = delta.partial_json.non_empty();
                *has_arguments |= fragment.is_some();
                fragment.map(BlockDelta::ToolArguments)
            }
            _ => None,
        };
        if let Some(delta) = hub_delta {
            out.push(StreamEvent::BlockDelta { index: hub, delta });
        }
    }

    /// Closes the open block. A tool call that streamed no arguments had the input `{}`.
    fn close_open(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some((open, hub)) = self.blocks.open()
            && open.kind == (Kind::Tool { has_arguments: false })
        {
            out.push(StreamEvent::BlockDelta { index: hub, delta: BlockDelta::ToolArguments("{}".into()) });
        }
        self.blocks.close(out);
    }

    fn stop(&mut self, out: &mut Vec<StreamEvent>) {
        self.close_open(out);
        if !self.usage.is_empty() {
            out.push(StreamEvent::Usage(self.usage.to_hub()));
        }
        out.push(StreamEvent::MessageStop { finish_reason: self.finish.take() });
        self.done = true;
    }
}

impl StreamDecode for StreamDecoder {
    /// Feeds upstream bytes; returns the events they complete.
    fn push(&mut self, chunk: &[u8]) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        for event in self.sse.push(chunk) {
            self.on_event(event.event.as_deref(), &event.data, &mut out);
        }
        out
    }

    /// The upstream closed. A stream that reached `message_delta` (stop reason and final usage)
    /// is complete even without `message_stop`; one that stopped earlier was cut.
    fn finish(&mut self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if let Some(event) = self.sse.finish() {
            self.on_event(event.event.as_deref(), &event.data, &mut out);
        }
        if !self.done {
            if self.delta_seen {
                self.stop(&mut out);
            } else {
                self.done = true;
                out.push(cut_stream_error());
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
