//! The fixed bodies of the benchmark: what the load driver sends and what the mock answers, in
//! OpenAI chat and Anthropic Messages as each provider documents them, built once at start.
//!
//! The streamed answer is 20 chunks (OpenAI: role, 17 words, finish, usage; then `[DONE]`).
//! A drip stream (`bench-drip-<gap ms>-<chunks>`) stamps each text fragment with the mock's
//! send time (`@` + 12 digits of µs since the harness started) so the driver, in the same
//! process, can tell how long each chunk took to reach it.

use std::sync::OnceLock;
use std::time::Instant;

use bytes::Bytes;
use serde_json::{Value, json};

/// Prompt and completion tokens the mock reports.
pub const USAGE: (u64, u64) = (42, 18);
/// The model the gateway sends upstream for an ordinary answer.
pub const MODEL: &str = "bench-model";
/// The model whose every answer is a 503 at once (scenario e's failing first target).
pub const FAIL_MODEL: &str = "bench-fail";
/// The drip model prefix: `bench-drip-<gap ms>-<chunks>`.
pub const DRIP_PREFIX: &str = "bench-drip-";
/// Words of the answer text, one per streamed content chunk.
const WORDS: [&str; 17] = [
    "The ",
    "quick ",
    "brown ",
    "fox ",
    "jumps ",
    "over ",
    "the ",
    "lazy ",
    "dog ",
    "while ",
    "the ",
    "gateway ",
    "forwards ",
    "every ",
    "chunk ",
    "on ",
    "time.",
];

/// The instant every drip stamp counts from (shared by the mock and the driver in one process).
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// µs since [`epoch`].
pub fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// A drip fragment carrying the send time: `@000001234567 `.
pub fn stamp(us: u64) -> String {
    format!("@{us:012} ")
}

/// Every stamp in `bytes`, in order (the driver's side of [`stamp`]).
pub fn stamps(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    memchr::memchr_iter(b'@', bytes).filter_map(|at| {
        let digits = bytes.get(at + 1..at + 13)?;
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
    })
}

fn text() -> String {
    WORDS.concat()
}

/// What a client sends: a system prompt and a user question, like a chat app does.
pub fn openai_request(model: &str, stream: bool) -> Bytes {
    let mut body = json!({
        "model": model,
        "messages": [
            { "role": "system", "content": "You are a helpful assistant. Answer briefly and precisely." },
            { "role": "user", "content": "Write one sentence about a fox and a dog, for a benchmark of an AI gateway." }
        ],
        "max_tokens": 256,
        "stream": stream,
    });
    if stream {
        body["stream_options"] = json!({ "include_usage": true });
    }
    Bytes::from(body.to_string())
}

/// The same question in Anthropic Messages.
pub fn anthropic_request(model: &str, stream: bool) -> Bytes {
    Bytes::from(
        json!({
            "model": model,
            "system": "You are a helpful assistant. Answer briefly and precisely.",
            "messages": [{ "role": "user", "content": "Write one sentence about a fox and a dog, for a benchmark of an AI gateway." }],
            "max_tokens": 256,
            "stream": stream,
        })
        .to_string(),
    )
}

fn openai_usage() -> Value {
    json!({ "prompt_tokens": USAGE.0, "completion_tokens": USAGE.1, "total_tokens": USAGE.0 + USAGE.1,
            "prompt_tokens_details": { "cached_tokens": 0 }, "completion_tokens_details": { "reasoning_tokens": 0 } })
}

/// `chat.completion` as OpenAI answers it.
pub fn openai_completion() -> Bytes {
    Bytes::from(
        json!({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000, "model": MODEL,
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": text(), "refusal": null },
                          "logprobs": null, "finish_reason": "stop" }],
            "usage": openai_usage(), "service_tier": "default", "system_fingerprint": "fp_bench"
        })
        .to_string(),
    )
}

fn openai_chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": finish }]
    })
}

fn data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// The OpenAI SSE frames of a streamed answer, each one write; `texts` are the content pieces.
pub fn openai_stream(texts: &[String]) -> Vec<Bytes> {
    let mut frames = vec![data(&openai_chunk(json!({ "role": "assistant", "content": "" }), None))];
    frames.extend(texts.iter().map(|t| data(&openai_chunk(json!({ "content": t }), None))));
    frames.push(data(&openai_chunk(json!({}), Some("stop"))));
    let usage = json!({ "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000,
                        "model": MODEL, "choices": [], "usage": openai_usage() });
    frames.push(data(&usage));
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    frames
}

fn anthropic_usage(output: u64) -> Value {
    json!({ "input_tokens": USAGE.0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "output_tokens": output, "service_tier": "standard" })
}

/// A Messages answer as Anthropic sends it.
pub fn anthropic_message() -> Bytes {
    Bytes::from(
        json!({
            "id": "msg_bench", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{ "type": "text", "text": text() }],
            "stop_reason": "end_turn", "stop_sequence": null, "usage": anthropic_usage(USAGE.1)
        })
        .to_string(),
    )
}

fn event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The Anthropic SSE events of a streamed answer, from `message_start` to `message_stop`.
pub fn anthropic_stream(texts: &[String]) -> Vec<Bytes> {
    let start = json!({ "type": "message_start", "message": {
        "id": "msg_bench", "type": "message", "role": "assistant", "model": MODEL, "content": [],
        "stop_reason": null, "stop_sequence": null, "usage": anthropic_usage(1) } });
    let mut frames = vec![
        event("message_start", &start),
        event(
            "content_block_start",
            &json!({ "type": "content_block_start", "index": 0, "content_block": { "type": "text", "text": "" } }),
        ),
        event("ping", &json!({ "type": "ping" })),
    ];
    frames.extend(texts.iter().map(|t| {
        event(
            "content_block_delta",
            &json!({ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": t } }),
        )
    }));
    frames.push(event("content_block_stop", &json!({ "type": "content_block_stop", "index": 0 })));
    frames.push(event(
        "message_delta",
        &json!({ "type": "message_delta", "delta": { "stop_reason": "end_turn", "stop_sequence": null },
                 "usage": { "output_tokens": USAGE.1 } }),
    ));
    frames.push(event("message_stop", &json!({ "type": "message_stop" })));
    frames
}

/// The text pieces of the ordinary streamed answer.
pub fn words() -> Vec<String> {
    WORDS.iter().map(|w| (*w).to_owned()).collect()
}

/// OpenAI's and Anthropic's error bodies for the failing model's 503.
pub fn overloaded(anthropic: bool) -> Bytes {
    let body = if anthropic {
        json!({ "type": "error", "error": { "type": "overloaded_error", "message": "Overloaded" } })
    } else {
        json!({ "error": { "message": "The server is overloaded.", "type": "server_error", "param": null, "code": null } })
    };
    Bytes::from(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        let text = format!("data: {{\"content\":\"{}\"}}\n\n{}", stamp(123), stamp(4_567_890));
        assert_eq!(stamps(text.as_bytes()).collect::<Vec<_>>(), [123, 4_567_890]);
    }

    #[test]
    fn the_stream_has_twenty_chunks() {
        let frames = openai_stream(&words());
        assert_eq!(frames.len(), 21, "20 chunks and [DONE]");
    }
}
