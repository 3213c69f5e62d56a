//! Wire formats: one codec module per format (request, response, stream, error), plus our own
//! SSE framing. Only OpenAI chat is written so far; the hub is shaped for all five.

pub mod openai_chat;
pub mod sse;
