//! Hub stream events → Anthropic SSE, in the documented sequence the official SDKs parse:
//! `message_start`, then per block `content_block_start` / `content_block_delta`* /
//! `content_block_stop` (indexes from 0), then `message_delta` (stop reason and usage) and
//! `message_stop`. Accepts events from any decoder: hub indexes are renumbered, a missing
//! `MessageStart` or `BlockStart` is made up where possible, and open blocks are closed.

use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};

use super::response::stop_reason;
use super::{WireUsage, new_message_id, stream_error_event};
use crate::formats::sse::write_json_event;
use crate::formats::{ErrorInfo, StreamEncode};
use crate::hub::{BlockDelta, BlockStart, StreamEvent, Usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    Tool,
}

#[derive(Debug, Clone, Copy)]
struct OpenBlock {
    hub: usize,
    wire: usize,
    kind: Kind,
}

/// Encodes hub events as an Anthropic Messages SSE stream.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    started: bool,
    /// `message_stop` or an error went out: the stream is over.
    done: bool,
    open: Option<OpenBlock>,
    next_wire: usize,
    usage: Option<Usage>,
    tool_calls: bool,
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `message_start` once; an empty id gets a fresh `msg_…` one.
    fn start(&mut self, id: &str, model: &str, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        let id = if id.is_empty() { new_message_id() } else { id.to_owned() };
        let usage = match &self.usage {
            Some(usage) => WireUsage::from_hub(usage).to_value(),
            None => json!({ "input_tokens": 0, "output_tokens": 0 }),
        };
        let message = json!({
            "type": "message_start",
            "message": {
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": null, "stop_sequence": null, "usage": usage,
            },
        });
        put(out, "message_start", &message);
    }

    fn open_block(&mut self, hub: usize, kind: Kind, content_block: Value, out: &mut BytesMut) -> OpenBlock {
        self.close_open(out);
        let open = OpenBlock { hub, wire: self.next_wire, kind };
        self.next_wire += 1;
        self.tool_calls |= kind == Kind::Tool;
        self.open = Some(open);
        put(
            out,
            "content_block_start",
            &json!({ "type": "content_block_start", "index": open.wire, "content_block": content_block }),
        );
        open
    }

    fn delta(&mut self, hub: usize, delta: &BlockDelta, out: &mut BytesMut) {
        let (kind, wire_delta) = match delta {
            BlockDelta::Text(text) => (Kind::Text, json!({ "type": "text_delta", "text": text })),
            BlockDelta::Thinking(text) => (Kind::Thinking, json!({ "type": "thinking_delta", "thinking": text })),
            BlockDelta::Signature(signature) => {
                (Kind::Thinking, json!({ "type": "signature_delta", "signature": signature }))
            }
            BlockDelta::ToolArguments(args) => {
                (Kind::Tool, json!({ "type": "input_json_delta", "partial_json": args }))
            }
        };
        let open = match self.open {
            Some(open) if open.hub == hub && open.kind == kind => open,
            // Text or thinking without its BlockStart: open the block it implies. A tool call
            // (no id or name) or a signature (nothing to sign) cannot be made up.
            _ => match delta {
                BlockDelta::Text(_) => self.open_block(hub, kind, json!({ "type": "text", "text": "" }), out),
                BlockDelta::Thinking(_) => {
                    self.open_block(hub, kind, json!({ "type": "thinking", "thinking": "" }), out)
                }
                _ => return,
            },
        };
        put(
            out,
            "content_block_delta",
            &json!({ "type": "content_block_delta", "index": open.wire, "delta": wire_delta }),
        );
    }

    fn close_open(&mut self, out: &mut BytesMut) {
        if let Some(open) = self.open.take() {
            put(out, "content_block_stop", &json!({ "type": "content_block_stop", "index": open.wire }));
        }
    }
}

fn put(out: &mut BytesMut, name: &str, data: &Value) {
    write_json_event(out, Some(name), data);
}

impl StreamEncode for StreamEncoder {
    /// Encodes one event (possibly to nothing).
    fn push(&mut self, event: &StreamEvent) -> Bytes {
        let mut out = BytesMut::new();
        if self.done {
            return out.freeze();
        }
        match event {
            StreamEvent::MessageStart { id, model, .. } => self.start(id, model, &mut out),
            StreamEvent::BlockStart { index, block } => {
                self.start("", "", &mut out);
                let (kind, content_block) = match block {
                    BlockStart::Text => (Kind::Text, json!({ "type": "text", "text": "" })),
                    BlockStart::Thinking => (Kind::Thinking, json!({ "type": "thinking", "thinking": "" })),
                    BlockStart::ToolCall { id, name } => {
                        (Kind::Tool, json!({ "type": "tool_use", "id": id, "name": name, "input": {} }))
                    }
                };
                self.open_block(*index, kind, content_block, &mut out);
            }
            StreamEvent::BlockDelta { index, delta } => {
                self.start("", "", &mut out);
                self.delta(*index, delta, &mut out);
            }
            StreamEvent::BlockStop { index } => {
                if self.open.is_some_and(|open| open.hub == *index) {
                    self.close_open(&mut out);
                }
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::MessageStop { finish_reason } => {
                self.start("", "", &mut out);
                self.close_open(&mut out);
                let usage = match &self.usage {
                    Some(usage) => WireUsage::from_hub(usage).to_value(),
                    None => json!({ "output_tokens": 0 }),
                };
                let delta = json!({
                    "type": "message_delta",
                    "delta": { "stop_reason": stop_reason(finish_reason.as_ref(), self.tool_calls, None), "stop_sequence": null },
                    "usage": usage,
                });
                put(&mut out, "message_delta", &delta);
                put(&mut out, "message_stop", &json!({ "type": "message_stop" }));
                self.done = true;
            }
            StreamEvent::Error { status, kind, message } => {
                let info = ErrorInfo::from_status(*status, message.clone());
                let info = ErrorInfo { kind: kind.clone(), ..info };
                out.extend_from_slice(&stream_error_event(&info));
                self.done = true;
            }
        }
        out.freeze()
    }

    fn finish(&mut self) -> Bytes {
        Bytes::new()
    }
}
