//! Stream events in hub form: the typed sequence every stream decoder emits and every
//! stream encoder consumes (start, blocks with deltas, usage, stop, error).

use serde::{Deserialize, Serialize};

use super::{FinishReason, Usage};

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StreamEvent {
    MessageStart {
        id: String,
        model: String,
        created: Option<u64>,
    },
    BlockStart {
        index: usize,
        block: BlockStart,
    },
    BlockDelta {
        index: usize,
        delta: BlockDelta,
    },
    BlockStop {
        index: usize,
    },
    Usage(Usage),
    MessageStop {
        finish_reason: Option<FinishReason>,
    },
    /// The upstream failed mid-stream; encoders emit their format's error event.
    Error {
        status: u16,
        kind: String,
        message: String,
    },
}

/// What kind of block opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BlockStart {
    Text,
    ToolCall { id: String, name: String },
    Thinking,
}

/// A fragment of an open block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BlockDelta {
    Text(String),
    /// A fragment of the tool call's JSON arguments.
    ToolArguments(String),
    Thinking(String),
    /// Anthropic's thinking signature, sent once before the block stops.
    Signature(String),
}

/// A complete answer as the stream that would have carried it (a cached answer replayed to a
/// streaming client, in any format, through that format's stream encoder).
pub fn response_events(resp: &super::ChatResponse) -> Vec<StreamEvent> {
    use super::ContentBlock;
    let mut events =
        vec![StreamEvent::MessageStart { id: resp.id.clone(), model: resp.model.clone(), created: resp.created }];
    let mut next_index = 0;
    for block in &resp.content {
        let (start, deltas) = match block {
            ContentBlock::Text { text } => (BlockStart::Text, vec![BlockDelta::Text(text.clone())]),
            ContentBlock::Thinking { text, signature } => {
                let mut deltas = vec![BlockDelta::Thinking(text.clone())];
                deltas.extend(signature.clone().map(BlockDelta::Signature));
                (BlockStart::Thinking, deltas)
            }
            ContentBlock::ToolCall { id, name, arguments } => (
                BlockStart::ToolCall { id: id.clone(), name: name.clone() },
                vec![BlockDelta::ToolArguments(arguments.clone())],
            ),
            // Media, results and format-specific parts have no place in an answer stream.
            _ => continue,
        };
        let index = next_index;
        next_index += 1;
        events.push(StreamEvent::BlockStart { index, block: start });
        events.extend(deltas.into_iter().map(|delta| StreamEvent::BlockDelta { index, delta }));
        events.push(StreamEvent::BlockStop { index });
    }
    if let Some(usage) = resp.usage {
        events.push(StreamEvent::Usage(usage));
    }
    events.push(StreamEvent::MessageStop { finish_reason: resp.finish_reason.clone() });
    events
}
