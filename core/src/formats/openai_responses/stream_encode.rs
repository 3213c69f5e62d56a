//! Hub stream events → the Responses SSE stream, in the documented order the official SDKs'
//! stream helpers check: `response.created`, `response.in_progress`, then per hub block one
//! output item (`output_item.added`, its part/argument/summary events, `output_item.done`), then
//! `response.completed` or `response.incomplete` carrying every item and the usage. An Error
//! becomes the `error` event followed by `response.failed`. Each event has an `event:` name,
//! a `type` and a rising `sequence_number`.

use bytes::{Bytes, BytesMut};
use serde_json::{Value, json};

use super::error::{error_code, error_event};
use super::response::{
    ResponseHead, function_call_item, message_item, output_text, reasoning_item, response_object, restore_namespace,
};
use super::{client_response_id, finish_to_wire, item_id};
use crate::formats::StreamEncode;
use crate::formats::sse::write_json_event;
use crate::hub::{BlockDelta, BlockStart, Namespaces, StreamEvent, Usage};

/// The output item being streamed, with what it has gathered so far.
#[derive(Debug)]
enum Open {
    Message { hub: usize, item_id: String, output_index: usize, text: String },
    Call { hub: usize, item_id: String, output_index: usize, call_id: String, name: String, arguments: String },
    Reasoning { hub: usize, item_id: String, output_index: usize, text: String, signature: Option<String>, part: bool },
}

impl Open {
    fn hub(&self) -> usize {
        match self {
            Open::Message { hub, .. } | Open::Call { hub, .. } | Open::Reasoning { hub, .. } => *hub,
        }
    }
}

/// Encodes hub events as a Responses event stream.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    id: String,
    model: String,
    created: u64,
    sequence: u64,
    started: bool,
    ended: bool,
    open: Option<Open>,
    /// Finished output items, by output index.
    output: Vec<Value>,
    usage: Option<Usage>,
    /// The client's namespaced functions: calls to them name their namespace again.
    names: Namespaces,
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// An encoder for a client whose request had the namespaced functions `names`.
    pub fn with_namespaces(names: Namespaces) -> Self {
        StreamEncoder { names, ..Self::default() }
    }

    fn emit(&mut self, out: &mut BytesMut, kind: &str, mut data: Value) {
        data["type"] = json!(kind);
        data["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        write_json_event(out, Some(kind), &data);
    }

    fn response(&self, status: &str, incomplete: Value, error: Value) -> Value {
        response_object(&ResponseHead {
            id: &self.id,
            model: &self.model,
            created: self.created,
            status,
            incomplete,
            error,
            output: self.output.clone(),
            usage: self.usage.as_ref(),
        })
    }

    /// `response.created` and `response.in_progress`, once, with a new id unless the upstream gave
    /// a response id.
    fn start(&mut self, out: &mut BytesMut) {
        if self.started {
            return;
        }
        self.started = true;
        self.id = client_response_id(&self.id);
        let response = self.response("in_progress", Value::Null, Value::Null);
        self.emit(out, "response.created", json!({ "response": response }));
        self.emit(out, "response.in_progress", json!({ "response": response }));
    }

    fn open(&mut self, hub: usize, block: &BlockStart, out: &mut BytesMut) {
        let output_index = self.output.len();
        let (open, item) = match block {
            BlockStart::Text => {
                let item_id = item_id("msg", &self.id, output_index);
                let item = json!({ "type": "message", "id": item_id, "status": "in_progress", "role": "assistant", "content": [] });
                (Open::Message { hub, item_id, output_index, text: String::new() }, item)
            }
            BlockStart::ToolCall { id, name } => {
                let item_id = item_id("fc", &self.id, output_index);
                let mut item = json!({
                    "type": "function_call", "id": item_id, "call_id": id, "name": name, "arguments": "", "status": "in_progress",
                });
                restore_namespace(&mut item, name, &self.names);
                let open = Open::Call {
                    hub,
                    item_id,
                    output_index,
                    call_id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                };
                (open, item)
            }
            BlockStart::Thinking => {
                let item_id = item_id("rs", &self.id, output_index);
                let item = json!({ "type": "reasoning", "id": item_id, "summary": [] });
                (
                    Open::Reasoning { hub, item_id, output_index, text: String::new(), signature: None, part: false },
                    item,
                )
            }
        };
        self.emit(out, "response.output_item.added", json!({ "output_index": output_index, "item": item }));
        if let Open::Message { item_id, .. } = &open {
            let data = json!({ "item_id": item_id, "output_index": output_index, "content_index": 0, "part": output_text("") });
            self.emit(out, "response.content_part.added", data);
        }
        self.open = Some(open);
    }

    fn delta(&mut self, hub: usize, delta: &BlockDelta, out: &mut BytesMut) {
        let Some(mut open) = self.open.take() else {
            return;
        };
        if open.hub() == hub {
            match (&mut open, delta) {
                (Open::Message { item_id, output_index, text, .. }, BlockDelta::Text(piece)) if !piece.is_empty() => {
                    text.push_str(piece);
                    let data = json!({
                        "item_id": item_id, "output_index": output_index, "content_index": 0, "delta": piece, "logprobs": [],
                    });
                    self.emit(out, "response.output_text.delta", data);
                }
                (Open::Call { item_id, output_index, arguments, .. }, BlockDelta::ToolArguments(piece))
                    if !piece.is_empty() =>
                {
                    arguments.push_str(piece);
                    let data = json!({ "item_id": item_id, "output_index": output_index, "delta": piece });
                    self.emit(out, "response.function_call_arguments.delta", data);
                }
                (Open::Reasoning { item_id, output_index, text, part, .. }, BlockDelta::Thinking(piece))
                    if !piece.is_empty() =>
                {
                    if !*part {
                        *part = true;
                        let data = json!({
                            "item_id": item_id, "output_index": output_index, "summary_index": 0,
                            "part": { "type": "summary_text", "text": "" },
                        });
                        self.emit(out, "response.reasoning_summary_part.added", data);
                    }
                    text.push_str(piece);
                    let data =
                        json!({ "item_id": item_id, "output_index": output_index, "summary_index": 0, "delta": piece });
                    self.emit(out, "response.reasoning_summary_text.delta", data);
                }
                (Open::Reasoning { signature, .. }, BlockDelta::Signature(sig)) => *signature = Some(sig.clone()),
                _ => {}
            }
        }
        self.open = Some(open);
    }

    /// Finishes the open item: its `.done` events, then `output_item.done`.
    fn close(&mut self, out: &mut BytesMut) {
        let Some(open) = self.open.take() else {
            return;
        };
        let (output_index, item) = match open {
            Open::Message { item_id, output_index, text, .. } => {
                let at = json!({ "item_id": item_id, "output_index": output_index, "content_index": 0 });
                self.emit(out, "response.output_text.done", with(&at, json!({ "text": text, "logprobs": [] })));
                self.emit(out, "response.content_part.done", with(&at, json!({ "part": output_text(&text) })));
                (output_index, message_item(&item_id, "completed", vec![output_text(&text)]))
            }
            Open::Call { item_id, output_index, call_id, name, arguments, .. } => {
                let data = json!({ "item_id": item_id, "output_index": output_index, "arguments": arguments });
                self.emit(out, "response.function_call_arguments.done", data);
                let mut item = function_call_item(&call_id, &name, &arguments, &self.names);
                item["id"] = json!(item_id);
                (output_index, item)
            }
            Open::Reasoning { item_id, output_index, text, signature, part, .. } => {
                if part {
                    let at = json!({ "item_id": item_id, "output_index": output_index, "summary_index": 0 });
                    self.emit(out, "response.reasoning_summary_text.done", with(&at, json!({ "text": text })));
                    let part = json!({ "part": { "type": "summary_text", "text": text } });
                    self.emit(out, "response.reasoning_summary_part.done", with(&at, part));
                }
                let mut item = reasoning_item(&text, signature.as_deref());
                item["id"] = json!(item_id);
                (output_index, item)
            }
        };
        self.emit(out, "response.output_item.done", json!({ "output_index": output_index, "item": item }));
        self.output.push(item);
    }
}

impl StreamEncode for StreamEncoder {
    /// Encodes one event (possibly to nothing).
    fn push(&mut self, event: &StreamEvent) -> Bytes {
        let mut out = BytesMut::new();
        if self.ended {
            return out.freeze();
        }
        match event {
            StreamEvent::MessageStart { id, model, created } => {
                if !self.started {
                    self.id.clone_from(id);
                    self.model.clone_from(model);
                    self.created = created.unwrap_or(0);
                }
                self.start(&mut out);
            }
            StreamEvent::BlockStart { index, block } => {
                self.start(&mut out);
                self.close(&mut out);
                self.open(*index, block, &mut out);
            }
            StreamEvent::BlockDelta { index, delta } => self.delta(*index, delta, &mut out),
            StreamEvent::BlockStop { index } => {
                if self.open.as_ref().is_some_and(|o| o.hub() == *index) {
                    self.close(&mut out);
                }
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::MessageStop { finish_reason } => {
                self.start(&mut out);
                self.close(&mut out);
                let (status, incomplete) = finish_to_wire(finish_reason.as_ref());
                let response = self.response(status, incomplete, Value::Null);
                let kind = if status == "incomplete" { "response.incomplete" } else { "response.completed" };
                self.emit(&mut out, kind, json!({ "response": response }));
                self.ended = true;
            }
            StreamEvent::Error { status, kind, message } => {
                self.start(&mut out);
                let code = error_code(*status, kind);
                out.extend_from_slice(&error_event(&code, message, self.sequence));
                self.sequence += 1;
                let response_code = if *status == 429 { "rate_limit_exceeded" } else { "server_error" };
                let error = json!({ "code": response_code, "message": message, "type": kind });
                let response = self.response("failed", Value::Null, error);
                self.emit(&mut out, "response.failed", json!({ "response": response }));
                self.ended = true;
            }
        }
        out.freeze()
    }

    fn finish(&mut self) -> Bytes {
        Bytes::new()
    }
}

/// `base` with `more`'s fields added.
fn with(base: &Value, more: Value) -> Value {
    let mut out = base.clone();
    if let (Value::Object(out), Value::Object(more)) = (&mut out, more) {
        out.extend(more);
    }
    out
}
