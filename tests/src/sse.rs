//! Reading an SSE body in tests: the `data:` payloads in order, and the streamed text.

use serde_json::Value;

/// Every `data:` payload of a complete SSE body, in order (lines may end in LF or CRLF).
pub fn data_events(body: &str) -> Vec<String> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(|event| {
            let data: Vec<&str> =
                event.lines().filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:"))).collect();
            (!data.is_empty()).then(|| data.join("\n"))
        })
        .collect()
}

/// The concatenated `choices[0].delta.content` of an OpenAI chat stream.
pub fn streamed_text(body: &str) -> String {
    data_events(body)
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
        .collect()
}

/// The concatenated tool-call argument fragments of call `index`.
pub fn streamed_tool_arguments(body: &str, index: u64) -> String {
    data_events(body)
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .flat_map(|v| v["choices"][0]["delta"]["tool_calls"].as_array().cloned().unwrap_or_default())
        .filter(|call| call["index"].as_u64() == Some(index))
        .filter_map(|call| call["function"]["arguments"].as_str().map(str::to_owned))
        .collect()
}
