//! Responses SSE stream → hub stream events, as a small synchronous state machine (bytes in,
//! events out, any chunk boundary). Output items open hub blocks: each `output_text` part a Text
//! block, each `function_call` a ToolCall block, each reasoning item with a summary (or
//! encrypted content) one Thinking block whose summary parts are joined by a blank line.
//! `response.completed` / `response.incomplete` end the answer (usage and finish reason come
//! from the final response); `response.failed` and `error` end it with an Error. The encoder
//! lives in `stream_encode.rs`.

use serde_json::Value;

use super::error::status_and_kind;
use super::response::{call_name, finish_of};
use super::{created_from_wire, usage_from_wire};
use crate::formats::blocks::BlockTracker;
use crate::formats::sse::SseParser;
use crate::formats::{StreamDecode, cut_stream_error};
use crate::hub::{BlockDelta, BlockStart, StreamEvent};

pub use super::stream_encode::StreamEncoder;

/// Which part of an item a hub block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Text(u64),
    Summary(u64),
    ReasoningText(u64),
    Call,
}

/// The output item being streamed.
#[derive(Debug, Clone, Copy)]
struct Item {
    output_index: u64,
    /// Whether any hub block was opened for it (if not, `output_item.done` replays it whole).
    opened: bool,
}

/// What the open hub block holds.
#[derive(Debug, Clone, Copy)]
struct Block {
    output_index: u64,
    part: Part,
    /// The current part has had text (so a `.done` event need not replay it).
    part_has_text: bool,
    /// The block has had text (so a new summary part needs a separator).
    has_text: bool,
}

/// Decodes an upstream's Responses event stream into hub events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseParser,
    started: bool,
    stopped: bool,
    item: Option<Item>,
    blocks: BlockTracker<Block>,
    saw_items: bool,
    called_tools: bool,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn on_event(&mut self, data: &str, name: Option<&str>, out: &mut Vec<StreamEvent>) {
        if self.stopped {
            return;
        }
        // Not JSON: a keep-alive or a `[DONE]` some compatible servers add after the end.
        let Ok(ev) = serde_json::from_str::<Value>(data) else {
            return;
        };
        let kind = ev.get("type").and_then(Value::as_str).or(name).unwrap_or_default().to_owned();
        let oi = ev.get("output_index").and_then(Value::as_u64).unwrap_or(0);
        let str_of = |key: &str| ev.get(key).and_then(Value::as_str).unwrap_or_default();
        let index_of = |key: &str| ev.get(key).and_then(Value::as_u64).unwrap_or(0);
        match kind.as_str() {
            "response.created" | "response.in_progress" | "response.queued" => self.start(ev.get("response"), out),
            "response.output_item.added" => {
                self.start(None, out);
                if let Some(item) = ev.get("item") {
                    self.item_added(oi, item, out);
                }
            }
            "response.content_part.added" => {
                let part = ev.get("part").and_then(|p| p.get("type")).and_then(Value::as_str);
                if matches!(part, Some("output_text" | "refusal")) {
                    self.open_part(oi, Part::Text(index_of("content_index")), out);
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                self.delta(oi, Part::Text(index_of("content_index")), str_of("delta"), out);
            }
            "response.output_text.done" => self.replay(oi, Part::Text(index_of("content_index")), str_of("text"), out),
            "response.refusal.done" => self.replay(oi, Part::Text(index_of("content_index")), str_of("refusal"), out),
            "response.content_part.done" => {
                let part = Part::Text(index_of("content_index"));
                let text =
                    ev.get("part").and_then(|p| p.get("text").or_else(|| p.get("refusal"))).and_then(Value::as_str);
                self.replay(oi, part, text.unwrap_or_default(), out);
                if self.blocks.open().is_some_and(|(b, _)| b.output_index == oi && b.part == part) {
                    self.blocks.close(out);
                }
            }
            // A call's block opens with its item (which names the call); these only add to it.
            "response.function_call_arguments.delta" => self.delta(oi, Part::Call, str_of("delta"), out),
            "response.function_call_arguments.done" => self.replay(oi, Part::Call, str_of("arguments"), out),
            "response.reasoning_summary_part.added" => {
                self.open_part(oi, Part::Summary(index_of("summary_index")), out);
            }
            "response.reasoning_summary_text.delta" => {
                self.delta(oi, Part::Summary(index_of("summary_index")), str_of("delta"), out);
            }
            "response.reasoning_summary_text.done" => {
                self.replay(oi, Part::Summary(index_of("summary_index")), str_of("text"), out);
            }
            "response.reasoning_text.delta" => {
                self.delta(oi, Part::ReasoningText(index_of("content_index")), str_of("delta"), out);
            }
            "response.reasoning_text.done" => {
                self.replay(oi, Part::ReasoningText(index_of("content_index")), str_of("text"), out);
            }
            "response.output_item.done" => {
                self.start(None, out);
                if let Some(item) = ev.get("item") {
                    self.item_done(oi, item, out);
                }
            }
            "response.completed" | "response.incomplete" => {
                let response = ev.get("response").cloned().unwrap_or(Value::Null);
                self.complete(&response, out);
            }
            "response.failed" => {
                let error = ev.pointer("/response/error").cloned().unwrap_or(Value::Null);
                self.fail(&error, true, "the upstream response failed", out);
            }
            // The documented event is flat (its `type` is the event's); some servers nest the
            // fields, with the error's own `type`, under `error`.
            "error" => match ev.get("error") {
                Some(nested) if nested.is_object() => self.fail(nested, true, "upstream stream error", out),
                _ => self.fail(&ev, false, "upstream stream error", out),
            },
            _ => {}
        }
    }

    fn start(&mut self, response: Option<&Value>, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let field =
            |key: &str| response.and_then(|r| r.get(key)).and_then(Value::as_str).unwrap_or_default().to_owned();
        out.push(StreamEvent::MessageStart {
            id: field("id"),
            model: field("model"),
            created: created_from_wire(response.and_then(|r| r.get("created_at"))),
        });
    }

    fn item_added(&mut self, oi: u64, item: &Value, out: &mut Vec<StreamEvent>) {
        self.blocks.close(out);
        self.saw_items = true;
        self.item = Some(Item { output_index: oi, opened: false });
        if item.get("type").and_then(Value::as_str) == Some("function_call") {
            self.called_tools = true;
            let field = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            let start = BlockStart::ToolCall { id: field("call_id"), name: call_name(item) };
            self.open(oi, Part::Call, start, out);
            self.delta(oi, Part::Call, item.get("arguments").and_then(Value::as_str).unwrap_or_default(), out);
        }
    }

    /// Makes sure the block for this part is open and returns its hub index. A new summary
    /// part continues the item's open Thinking block after a blank line.
    fn open_part(&mut self, oi: u64, part: Part, out: &mut Vec<StreamEvent>) -> Option<usize> {
        if let Some((block, hub)) = self.blocks.open_mut()
            && block.output_index == oi
        {
            if block.part == part {
                return Some(hub);
            }
            let thinking = |p: Part| matches!(p, Part::Summary(_) | Part::ReasoningText(_));
            if thinking(block.part) && thinking(part) {
                block.part = part;
                block.part_has_text = false;
                if block.has_text {
                    out.push(StreamEvent::BlockDelta { index: hub, delta: BlockDelta::Thinking("\n\n".into()) });
                }
                return Some(hub);
            }
        }
        let start = match part {
            Part::Text(_) => BlockStart::Text,
            Part::Summary(_) | Part::ReasoningText(_) => BlockStart::Thinking,
            // A call block opens only with its item, which names the call.
            Part::Call => return None,
        };
        if self.item.is_none_or(|item| item.output_index != oi) {
            // No `output_item.added` for this index: the part starts its item.
            self.item = Some(Item { output_index: oi, opened: false });
        }
        Some(self.open(oi, part, start, out))
    }

    fn open(&mut self, oi: u64, part: Part, start: BlockStart, out: &mut Vec<StreamEvent>) -> usize {
        self.start(None, out);
        if let Some(item) = &mut self.item
            && item.output_index == oi
        {
            item.opened = true;
        }
        let block = Block { output_index: oi, part, part_has_text: false, has_text: false };
        self.blocks.open_new(out, block, start)
    }

    fn delta(&mut self, oi: u64, part: Part, text: &str, out: &mut Vec<StreamEvent>) {
        if text.is_empty() {
            return;
        }
        let Some(hub) = self.open_part(oi, part, out) else {
            return;
        };
        let delta = match part {
            Part::Text(_) => BlockDelta::Text(text.to_owned()),
            Part::Summary(_) | Part::ReasoningText(_) => BlockDelta::Thinking(text.to_owned()),
            Part::Call => BlockDelta::ToolArguments(text.to_owned()),
        };
        out.push(StreamEvent::BlockDelta { index: hub, delta });
        if let Some((block, _)) = self.blocks.open_mut() {
            block.part_has_text = true;
            block.has_text = true;
        }
    }

    /// A `.done` event carries the part's full text: used only when no delta brought it.
    fn replay(&mut self, oi: u64, part: Part, text: &str, out: &mut Vec<StreamEvent>) {
        let streamed =
            self.blocks.open().is_some_and(|(b, _)| b.output_index == oi && b.part == part && b.part_has_text);
        if !streamed {
            self.delta(oi, part, text, out);
        }
    }

    fn item_done(&mut self, oi: u64, item: &Value, out: &mut Vec<StreamEvent>) {
        self.saw_items = true;
        let opened = self.item.is_some_and(|i| i.output_index == oi && i.opened);
        let str_of = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        match item.get("type").and_then(Value::as_str) {
            Some("message") if opened => {
                // The open part may have had no deltas: its text is in the finished item.
                if let Some((block, _)) = self.blocks.open().filter(|(b, _)| b.output_index == oi)
                    && let Part::Text(ci) = block.part
                {
                    let part = item.get("content").and_then(|c| c.get(ci as usize));
                    let text = part.and_then(|p| p.get("text").or_else(|| p.get("refusal"))).and_then(Value::as_str);
                    self.replay(oi, block.part, text.unwrap_or_default(), out);
                }
            }
            Some("message") => {
                self.item = Some(Item { output_index: oi, opened: false });
                let parts = item.get("content").and_then(Value::as_array).cloned().unwrap_or_default();
                for (ci, part) in parts.iter().enumerate() {
                    let text = part.get("text").or_else(|| part.get("refusal")).and_then(Value::as_str);
                    if let Some(text) = text {
                        self.open_part(oi, Part::Text(ci as u64), out);
                        self.delta(oi, Part::Text(ci as u64), text, out);
                    }
                }
            }
            Some("function_call") => {
                self.called_tools = true;
                if !opened {
                    let start = BlockStart::ToolCall { id: str_of("call_id"), name: call_name(item) };
                    self.open(oi, Part::Call, start, out);
                }
                self.replay(oi, Part::Call, &str_of("arguments"), out);
            }
            Some("reasoning") => {
                if let Some(crate::hub::ContentBlock::Thinking { text, signature }) =
                    super::request::decode_reasoning(item, true)
                {
                    let has_block = self.blocks.open().is_some_and(|(b, _)| b.output_index == oi);
                    if !has_block && !opened {
                        self.item = Some(Item { output_index: oi, opened: false });
                        self.open(oi, Part::Summary(0), BlockStart::Thinking, out);
                    }
                    if let Some((block, hub)) = self.blocks.open().filter(|(b, _)| b.output_index == oi) {
                        if !block.has_text {
                            self.delta(oi, block.part, &text, out);
                        }
                        if let Some(signature) = signature {
                            out.push(StreamEvent::BlockDelta { index: hub, delta: BlockDelta::Signature(signature) });
                        }
                    }
                }
            }
            _ => {}
        }
        if self.blocks.open().is_some_and(|(b, _)| b.output_index == oi) {
            self.blocks.close(out);
        }
        if self.item.is_some_and(|i| i.output_index == oi) {
            self.item = None;
        }
    }

    fn complete(&mut self, response: &Value, out: &mut Vec<StreamEvent>) {
        self.start(Some(response), out);
        self.blocks.close(out);
        if !self.saw_items {
            // A server that sent only the final response: replay its output.
            let items = response.get("output").and_then(Value::as_array).cloned().unwrap_or_default();
            for (oi, item) in items.iter().enumerate() {
                self.item_added(oi as u64, item, out);
                self.item_done(oi as u64, item, out);
            }
        }
        if let Some(usage) = response.get("usage").and_then(usage_from_wire) {
            out.push(StreamEvent::Usage(usage));
        }
        self.stopped = true;
        out.push(StreamEvent::MessageStop { finish_reason: Some(finish_of(response, self.called_tools)) });
    }

    /// Ends the stream with an Error; `typed` says whether the error's `type` names its kind.
    fn fail(&mut self, error: &Value, typed: bool, fallback: &str, out: &mut Vec<StreamEvent>) {
        let field = |key: &str| error.get(key).and_then(Value::as_str);
        let (status, kind) = status_and_kind(field("code"), if typed { field("type") } else { None });
        self.stopped = true;
        out.push(StreamEvent::Error { status, kind, message: field("message").unwrap_or(fallback).to_owned() });
    }
}

impl StreamDecode for StreamDecoder {
    /// Feeds upstream bytes; returns the events they complete.
    fn push(&mut self, chunk: &[u8]) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        for event in self.sse.push(chunk) {
            self.on_event(&event.data, event.event.as_deref(), &mut out);
        }
        out
    }

    /// The upstream closed: a stream without its terminal event was cut.
    fn finish(&mut self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if let Some(event) = self.sse.finish() {
            self.on_event(&event.data, event.event.as_deref(), &mut out);
        }
        if !self.stopped {
            self.stopped = true;
            out.push(cut_stream_error());
        }
        out
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
