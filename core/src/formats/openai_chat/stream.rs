//! OpenAI chat SSE stream ⇄ hub stream events, as two small synchronous state machines:
//! push bytes (or events) in, get events (or bytes) out, at any chunk boundary.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use serde::Serialize;
use serde_json::{Value, json};

use super::{finish_reason_from_wire, finish_reason_to_wire, stream_error_event, usage_from_wire, usage_to_wire};
use crate::formats::blocks::BlockTracker;
use crate::formats::sse::{SseParser, write_json_event};
use crate::formats::{ErrorInfo, StreamDecode, StreamEncode, cut_stream_error};
use crate::hub::{BlockDelta, BlockStart, FinishReason, StreamEvent, Usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    Tool,
}

/// Decodes an upstream's `chat.completion.chunk` stream into hub events.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseParser,
    started: bool,
    stopped: bool,
    blocks: BlockTracker<Kind>,
    /// OpenAI's `tool_calls[].index` → hub block index.
    tools: HashMap<u64, usize>,
    finish: Option<FinishReason>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    fn on_data(&mut self, data: &str, out: &mut Vec<StreamEvent>) {
        if self.stopped {
            return;
        }
        if data.trim() == "[DONE]" {
            self.stop(out);
            return;
        }
        let Ok(chunk) = serde_json::from_str::<Value>(data) else {
            return;
        };
        if let Some(error) = chunk.get("error") {
            out.push(StreamEvent::Error {
                status: error.get("code").and_then(Value::as_u64).unwrap_or(500) as u16,
                kind: error.get("type").and_then(Value::as_str).unwrap_or("api_error").to_owned(),
                message: error.get("message").and_then(Value::as_str).unwrap_or("upstream stream error").to_owned(),
            });
            self.stopped = true;
            return;
        }
        if !self.started {
            self.started = true;
            out.push(StreamEvent::MessageStart {
                id: chunk.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                model: chunk.get("model").and_then(Value::as_str).unwrap_or_default().to_owned(),
                created: chunk.get("created").and_then(Value::as_u64),
            });
        }
        if let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) {
            let delta = choice.get("delta").unwrap_or(&Value::Null);
            if let Some(text) = delta.get("reasoning_content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                let index = self.blocks.ensure_open(out, Kind::Thinking, BlockStart::Thinking);
                out.push(StreamEvent::BlockDelta { index, delta: BlockDelta::Thinking(text.to_owned()) });
            }
            if let Some(text) = delta.get("content").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                let index = self.blocks.ensure_open(out, Kind::Text, BlockStart::Text);
                out.push(StreamEvent::BlockDelta { index, delta: BlockDelta::Text(text.to_owned()) });
            }
            for call in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
                self.on_tool_call(call, out);
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finish = Some(finish_reason_from_wire(reason));
                self.blocks.close(out);
            }
        }
        if let Some(usage) = chunk.get("usage").and_then(usage_from_wire) {
            out.push(StreamEvent::Usage(usage));
        }
    }

    fn on_tool_call(&mut self, call: &Value, out: &mut Vec<StreamEvent>) {
        let wire_index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
        let index = match self.tools.get(&wire_index) {
            Some(index) => *index,
            None => {
                let start = BlockStart::ToolCall {
                    id: call.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    name: call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                };
                let index = self.blocks.open_new(out, Kind::Tool, start);
                self.tools.insert(wire_index, index);
                index
            }
        };
        if let Some(args) = call.pointer("/function/arguments").and_then(Value::as_str).filter(|a| !a.is_empty()) {
            out.push(StreamEvent::BlockDelta { index, delta: BlockDelta::ToolArguments(args.to_owned()) });
        }
    }

    fn stop(&mut self, out: &mut Vec<StreamEvent>) {
        self.blocks.close(out);
        self.stopped = true;
        out.push(StreamEvent::MessageStop { finish_reason: self.finish.take() });
    }
}

impl StreamDecode for StreamDecoder {
    /// Feeds upstream bytes; returns the events they complete.
    fn push(&mut self, chunk: &[u8]) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        for event in self.sse.push(chunk) {
            self.on_data(&event.data, &mut out);
        }
        out
    }

    /// The upstream closed: flush. A stream that gave its `finish_reason` but no `[DONE]` is
    /// complete; one that stopped before either was cut.
    fn finish(&mut self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        if let Some(event) = self.sse.finish() {
            self.on_data(&event.data, &mut out);
        }
        if !self.stopped {
            if self.finish.is_some() {
                self.stop(&mut out);
            } else {
                self.stopped = true;
                out.push(cut_stream_error());
            }
        }
        out
    }
}

/// Encodes hub events as an OpenAI `chat.completion.chunk` SSE stream ending in `[DONE]`.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    id: String,
    model: String,
    created: u64,
    /// Hub block index → OpenAI `tool_calls[].index`.
    tools: HashMap<usize, usize>,
    usage: Option<Usage>,
}

impl StreamEncoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one `chat.completion.chunk` event with this delta to `out`.
    fn chunk(&self, out: &mut BytesMut, delta: ChunkDelta<'_>, finish_reason: Option<&str>) {
        // Typed rather than `json!`: one chunk per streamed token, and building a map per chunk
        // was most of a translated stream's cost. Fields in alphabetical order, so the bytes
        // are the ones the sorted `json!` map wrote.
        #[derive(Serialize)]
        struct Choice<'a> {
            delta: ChunkDelta<'a>,
            finish_reason: Option<&'a str>,
            index: u32,
            logprobs: Option<()>,
        }
        #[derive(Serialize)]
        struct Chunk<'a> {
            choices: [Choice<'a>; 1],
            created: u64,
            id: &'a str,
            model: &'a str,
            object: &'static str,
        }
        let chunk = Chunk {
            choices: [Choice { delta, finish_reason, index: 0, logprobs: None }],
            created: self.created,
            id: &self.id,
            model: &self.model,
            object: "chat.completion.chunk",
        };
        write_json_event(out, None, &chunk);
    }
}

/// A chunk's `delta`: the per-token kinds typed (no map built per token), the rest as JSON.
#[derive(Serialize)]
#[serde(untagged)]
enum ChunkDelta<'a> {
    Content { content: &'a str },
    Reasoning { reasoning_content: &'a str },
    Json(Value),
}

impl StreamEncode for StreamEncoder {
    /// Encodes one event (possibly to nothing).
    fn push(&mut self, event: &StreamEvent) -> Bytes {
        let mut out = BytesMut::new();
        match event {
            StreamEvent::MessageStart { id, model, created } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                self.created = created.unwrap_or(0);
                self.chunk(&mut out, ChunkDelta::Json(json!({ "role": "assistant", "content": "" })), None);
            }
            StreamEvent::BlockStart { index, block: BlockStart::ToolCall { id, name } } => {
                let wire_index = self.tools.len();
                self.tools.insert(*index, wire_index);
                let call = json!({ "index": wire_index, "id": id, "type": "function", "function": { "name": name, "arguments": "" } });
                self.chunk(&mut out, ChunkDelta::Json(json!({ "tool_calls": [call] })), None);
            }
            StreamEvent::BlockDelta { index, delta } => {
                let delta = match delta {
                    BlockDelta::Text(text) => Some(ChunkDelta::Content { content: text }),
                    BlockDelta::Thinking(text) => Some(ChunkDelta::Reasoning { reasoning_content: text }),
                    BlockDelta::ToolArguments(args) => self.tools.get(index).map(|wire| {
                        ChunkDelta::Json(
                            json!({ "tool_calls": [{ "index": wire, "function": { "arguments": args } }] }),
                        )
                    }),
                    // OpenAI chat has no place for a thinking signature.
                    BlockDelta::Signature(_) => None,
                };
                if let Some(delta) = delta {
                    self.chunk(&mut out, delta, None);
                }
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            StreamEvent::MessageStop { finish_reason } => {
                let reason = finish_reason.clone().unwrap_or(FinishReason::Stop);
                self.chunk(&mut out, ChunkDelta::Json(json!({})), Some(finish_reason_to_wire(&reason)));
                if let Some(usage) = self.usage.take() {
                    let chunk = json!({
                        "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                        "model": self.model, "choices": [], "usage": usage_to_wire(&usage),
                    });
                    write_json_event(&mut out, None, &chunk);
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
            }
            StreamEvent::Error { status, kind, message } => {
                let info = ErrorInfo::from_status(*status, message.clone());
                let info = ErrorInfo { kind: kind.clone(), ..info };
                out.extend_from_slice(&stream_error_event(&info));
            }
            StreamEvent::BlockStart { .. } | StreamEvent::BlockStop { .. } => {}
        }
        out.freeze()
    }

    fn finish(&mut self) -> Bytes {
        Bytes::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::sse::encode_event;
    use crate::formats::test_support::{
        block_text, decode_at_every_split, decode_split, encode_all, encode_stream_everywhere,
    };

    #[test]
    fn typed_chunks_are_the_bytes_of_the_json_map() {
        let encoder = StreamEncoder { id: "c\"1".into(), model: "m".into(), created: 7, ..Default::default() };
        let expected = json!({
            "id": "c\"1", "object": "chat.completion.chunk", "created": 7, "model": "m",
            "choices": [{ "index": 0, "delta": { "content": "hé\n" }, "logprobs": null, "finish_reason": "stop" }],
        });
        let mut typed = BytesMut::new();
        encoder.chunk(&mut typed, ChunkDelta::Content { content: "hé\n" }, Some("stop"));
        assert_eq!(typed, encode_event(None, &expected.to_string()));
        let mut mapped = BytesMut::new();
        encoder.chunk(&mut mapped, ChunkDelta::Json(json!({ "content": "hé\n" })), Some("stop"));
        assert_eq!(mapped, typed);
    }

    // Shaped like the OpenAI reference's streaming examples: text, then parallel tool calls.
    const TEXT_STREAM: &str = concat!(
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Héllo\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n",
        "data: [DONE]\n\n",
    );

    const TOOL_STREAM: &str = concat!(
        "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"ci\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ty\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c2\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: [DONE]\n\n",
    );

    fn decode(bytes: &[u8]) -> Vec<StreamEvent> {
        decode_split(&mut StreamDecoder::new(), bytes, 0)
    }

    #[test]
    fn text_stream_decodes_to_hub_events_at_every_split() {
        assert_eq!(
            decode_at_every_split(StreamDecoder::new, TEXT_STREAM.as_bytes()),
            vec![
                StreamEvent::MessageStart {
                    id: "chatcmpl-1".into(),
                    model: "gpt-4o-mini".into(),
                    created: Some(1694268190)
                },
                StreamEvent::BlockStart { index: 0, block: BlockStart::Text },
                StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text("Héllo".into()) },
                StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text(" world".into()) },
                StreamEvent::BlockStop { index: 0 },
                StreamEvent::Usage(Usage { input_tokens: 9, output_tokens: 3, ..Default::default() }),
                StreamEvent::MessageStop { finish_reason: Some(FinishReason::Stop) },
            ]
        );
    }

    #[test]
    fn tool_call_fragments_reassemble_exactly() {
        let events = decode(TOOL_STREAM.as_bytes());
        assert_eq!(block_text(&events, 0), r#"{"city":"Paris"}"#);
        assert!(events.contains(&StreamEvent::BlockStart {
            index: 1,
            block: BlockStart::ToolCall { id: "call_b".into(), name: "get_time".into() }
        }));
        assert_eq!(events.last(), Some(&StreamEvent::MessageStop { finish_reason: Some(FinishReason::ToolCalls) }));
    }

    #[test]
    fn encode_then_decode_gives_the_same_events() {
        for stream in [TEXT_STREAM, TOOL_STREAM] {
            let events = decode(stream.as_bytes());
            let bytes = encode_all(&mut StreamEncoder::new(), &events);
            assert!(bytes.ends_with(b"data: [DONE]\n\n"));
            assert_eq!(decode(&bytes), events);
        }
    }

    #[test]
    fn an_error_chunk_becomes_an_error_event() {
        let events = decode(b"data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n");
        assert!(matches!(&events[0], StreamEvent::Error { message, .. } if message == "overloaded"));
    }

    #[test]
    fn a_stream_cut_before_its_finish_reason_ends_in_an_error() {
        let cut = &TEXT_STREAM.as_bytes()[..TEXT_STREAM.find("\"finish_reason\":\"stop\"").unwrap() - 200];
        let events = decode(cut);
        assert!(matches!(events.last(), Some(StreamEvent::Error { status: 502, .. })), "{events:?}");
    }

    // Issue 14, fuzzing: these bytes made the openai_chat_stream target panic. A usage chunk
    // whose counts add past u64::MAX overflowed in the stream encoders' totals.
    #[test]
    fn an_upstream_count_of_u64_max_streams_to_every_client() {
        let stream = concat!(
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":18446744073709551615,\"completion_tokens\":1}}\n\n",
            "data: [DONE]\n\n",
        );
        let events = decode(stream.as_bytes());
        let openai = &encode_stream_everywhere(&events)[0];
        assert!(String::from_utf8_lossy(openai).contains("\"total_tokens\":18446744073709551615"));
    }
}
