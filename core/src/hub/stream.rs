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
