//! The five client wire formats as a test sees them from outside: how each sends a chat
//! (path, headers, body with a system prompt and the `get_weather` tool) and how its answers,
//! streams and errors read. Written from each format's documentation, independent of the
//! gateway's codecs, so a codec bug cannot hide behind its own decoder.

use serde_json::{Value, json};

use crate::sse::data_events;

/// A client format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    OpenaiChat,
    Responses,
    Anthropic,
    Gemini,
    Ollama,
}

/// What a client understood from an answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub text: String,
    /// The first tool call: name and parsed arguments.
    pub tool: Option<(String, Value)>,
    /// The format's own stop reason, verbatim.
    pub finish: String,
    /// The format's end marker arrived (`[DONE]`, `message_stop`, `response.completed`,
    /// a final `finishReason`, exactly one `done: true`).
    pub complete: bool,
    /// An error event or line was in the stream.
    pub stream_error: bool,
}

const SYSTEM: &str = "You are terse.";
const QUESTION: &str = "What is the weather in Paris?";

fn weather_schema() -> Value {
    json!({ "type": "object", "properties": { "city": { "type": "string" } }, "required": ["city"] })
}

impl Client {
    pub const ALL: [Client; 5] =
        [Client::OpenaiChat, Client::Responses, Client::Anthropic, Client::Gemini, Client::Ollama];

    pub fn name(self) -> &'static str {
        match self {
            Client::OpenaiChat => "openai-chat",
            Client::Responses => "openai-responses",
            Client::Anthropic => "anthropic",
            Client::Gemini => "gemini",
            Client::Ollama => "ollama",
        }
    }

    /// A chat request for `model` against the gateway at `base` (`http://host:port`).
    pub fn request(self, http: &reqwest::Client, base: &str, model: &str, stream: bool) -> reqwest::RequestBuilder {
        let function =
            json!({ "name": "get_weather", "description": "Current weather", "parameters": weather_schema() });
        let (path, body) = match self {
            Client::OpenaiChat => (
                "/v1/chat/completions".to_owned(),
                json!({
                    "model": model, "stream": stream,
                    "messages": [{ "role": "system", "content": SYSTEM }, { "role": "user", "content": QUESTION }],
                    "tools": [{ "type": "function", "function": function }],
                }),
            ),
            Client::Responses => (
                "/v1/responses".to_owned(),
                json!({
                    "model": model, "stream": stream, "instructions": SYSTEM, "input": QUESTION,
                    "tools": [{ "type": "function", "name": "get_weather", "description": "Current weather", "parameters": weather_schema() }],
                }),
            ),
            Client::Anthropic => (
                "/v1/messages".to_owned(),
                json!({
                    "model": model, "stream": stream, "max_tokens": 256, "system": SYSTEM,
                    "messages": [{ "role": "user", "content": QUESTION }],
                    "tools": [{ "name": "get_weather", "description": "Current weather", "input_schema": weather_schema() }],
                }),
            ),
            Client::Gemini => (
                if stream {
                    format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
                } else {
                    format!("/v1beta/models/{model}:generateContent")
                },
                json!({
                    "systemInstruction": { "parts": [{ "text": SYSTEM }] },
                    "contents": [{ "role": "user", "parts": [{ "text": QUESTION }] }],
                    "tools": [{ "functionDeclarations": [function] }],
                }),
            ),
            Client::Ollama => (
                "/api/chat".to_owned(),
                json!({
                    "model": model, "stream": stream,
                    "messages": [{ "role": "system", "content": SYSTEM }, { "role": "user", "content": QUESTION }],
                    "tools": [{ "type": "function", "function": function }],
                }),
            ),
        };
        let request = http.post(format!("{base}{path}")).header("content-type", "application/json");
        let request = match self {
            Client::Anthropic => request.header("x-api-key", "sk-client").header("anthropic-version", "2023-06-01"),
            Client::Gemini => request.header("x-goog-api-key", "client-key"),
            _ => request.bearer_auth("sk-client"),
        };
        request.body(body.to_string())
    }

    /// Reads a complete (non-streamed) answer.
    pub fn parse_full(self, body: &str) -> Result<Answer, String> {
        let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON ({e}): {body}"))?;
        let mut answer = Answer { complete: true, ..Default::default() };
        let str_of = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        match self {
            Client::OpenaiChat => {
                let message = &v["choices"][0]["message"];
                answer.text = str_of(&message["content"]);
                answer.finish = str_of(&v["choices"][0]["finish_reason"]);
                if let Some(call) = message["tool_calls"].get(0) {
                    answer.tool =
                        Some((str_of(&call["function"]["name"]), parse_args(&call["function"]["arguments"])?));
                }
            }
            Client::Responses => {
                answer.finish = str_of(&v["status"]);
                for item in v["output"].as_array().into_iter().flatten() {
                    match item["type"].as_str() {
                        Some("message") => {
                            for part in item["content"].as_array().into_iter().flatten() {
                                answer.text.push_str(part["text"].as_str().unwrap_or_default());
                            }
                        }
                        Some("function_call") if answer.tool.is_none() => {
                            answer.tool = Some((str_of(&item["name"]), parse_args(&item["arguments"])?));
                        }
                        _ => {}
                    }
                }
            }
            Client::Anthropic => {
                answer.finish = str_of(&v["stop_reason"]);
                for block in v["content"].as_array().into_iter().flatten() {
                    match block["type"].as_str() {
                        Some("text") => answer.text.push_str(block["text"].as_str().unwrap_or_default()),
                        Some("tool_use") if answer.tool.is_none() => {
                            answer.tool = Some((str_of(&block["name"]), block["input"].clone()));
                        }
                        _ => {}
                    }
                }
            }
            Client::Gemini => gemini_chunk(&v, &mut answer),
            Client::Ollama => {
                answer.text = str_of(&v["message"]["content"]);
                answer.finish = str_of(&v["done_reason"]);
                if let Some(call) = v["message"]["tool_calls"].get(0) {
                    answer.tool = Some((str_of(&call["function"]["name"]), call["function"]["arguments"].clone()));
                }
                answer.complete = v["done"] == true;
            }
        }
        Ok(answer)
    }

    /// Reads a streamed answer the way the format's SDK would.
    pub fn parse_stream(self, body: &str) -> Result<Answer, String> {
        let mut answer = Answer::default();
        match self {
            Client::OpenaiChat => {
                let mut args = String::new();
                let mut name = None;
                for data in data_events(body) {
                    if data == "[DONE]" {
                        answer.complete = true;
                        continue;
                    }
                    let v: Value = serde_json::from_str(&data).map_err(|e| format!("bad chunk {data}: {e}"))?;
                    if v.get("error").is_some() {
                        answer.stream_error = true;
                    }
                    let choice = &v["choices"][0];
                    answer.text.push_str(choice["delta"]["content"].as_str().unwrap_or_default());
                    for call in choice["delta"]["tool_calls"].as_array().into_iter().flatten() {
                        name = name.or(call["function"]["name"].as_str().map(str::to_owned));
                        args.push_str(call["function"]["arguments"].as_str().unwrap_or_default());
                    }
                    if let Some(finish) = choice["finish_reason"].as_str() {
                        answer.finish = finish.to_owned();
                    }
                }
                answer.tool = tool_from(name, &args)?;
            }
            Client::Responses => {
                let mut args = String::new();
                let mut name = None;
                for (event, data) in named_events(body) {
                    let v: Value = serde_json::from_str(&data).map_err(|e| format!("bad event {data}: {e}"))?;
                    if v["type"].as_str() != Some(event.as_str()) {
                        return Err(format!("event name {event} differs from its type: {data}"));
                    }
                    match event.as_str() {
                        "response.output_text.delta" => answer.text.push_str(v["delta"].as_str().unwrap_or_default()),
                        "response.output_item.added" if v["item"]["type"] == "function_call" => {
                            name = v["item"]["name"].as_str().map(str::to_owned);
                        }
                        "response.function_call_arguments.delta" => {
                            args.push_str(v["delta"].as_str().unwrap_or_default());
                        }
                        "response.completed" | "response.incomplete" => {
                            answer.complete = true;
                            answer.finish = v["response"]["status"].as_str().unwrap_or_default().to_owned();
                        }
                        "error" | "response.failed" => answer.stream_error = true,
                        _ => {}
                    }
                }
                answer.tool = tool_from(name, &args)?;
            }
            Client::Anthropic => {
                let mut args = String::new();
                let mut name = None;
                for (event, data) in named_events(body) {
                    let v: Value = serde_json::from_str(&data).map_err(|e| format!("bad event {data}: {e}"))?;
                    match event.as_str() {
                        "content_block_start" if v["content_block"]["type"] == "tool_use" => {
                            name = v["content_block"]["name"].as_str().map(str::to_owned);
                        }
                        "content_block_delta" => match v["delta"]["type"].as_str() {
                            Some("text_delta") => answer.text.push_str(v["delta"]["text"].as_str().unwrap_or_default()),
                            Some("input_json_delta") => {
                                args.push_str(v["delta"]["partial_json"].as_str().unwrap_or_default());
                            }
                            _ => {}
                        },
                        "message_delta" => {
                            answer.finish = v["delta"]["stop_reason"].as_str().unwrap_or_default().to_owned();
                        }
                        "message_stop" => answer.complete = true,
                        "error" => answer.stream_error = true,
                        _ => {}
                    }
                }
                answer.tool = tool_from(name, &args)?;
            }
            Client::Gemini => {
                for data in data_events(body) {
                    let v: Value = serde_json::from_str(&data).map_err(|e| format!("bad chunk {data}: {e}"))?;
                    if v.get("error").is_some() {
                        answer.stream_error = true;
                    }
                    gemini_chunk(&v, &mut answer);
                }
            }
            Client::Ollama => {
                let mut done_lines = 0;
                for line in body.lines().filter(|l| !l.trim().is_empty()) {
                    let v: Value = serde_json::from_str(line).map_err(|e| format!("bad line {line}: {e}"))?;
                    if v.get("error").is_some() {
                        answer.stream_error = true;
                    }
                    answer.text.push_str(v["message"]["content"].as_str().unwrap_or_default());
                    if let Some(call) = v["message"]["tool_calls"].get(0) {
                        let name = call["function"]["name"].as_str().unwrap_or_default().to_owned();
                        answer.tool = Some((name, call["function"]["arguments"].clone()));
                    }
                    if v["done"] == true {
                        done_lines += 1;
                        answer.finish = v["done_reason"].as_str().unwrap_or_default().to_owned();
                    }
                }
                if done_lines > 1 {
                    return Err(format!("{done_lines} lines with done: true"));
                }
                answer.complete = done_lines == 1;
            }
        }
        Ok(answer)
    }

    /// Checks an error answer has the format's documented error shape and the given status.
    pub fn check_error(self, status: u16, expected: u16, body: &str) -> Result<(), String> {
        if status != expected {
            return Err(format!("status {status}, expected {expected}: {body}"));
        }
        let v: Value = serde_json::from_str(body).map_err(|e| format!("error body is not JSON ({e}): {body}"))?;
        let ok = match self {
            Client::OpenaiChat | Client::Responses => v["error"]["message"].is_string(),
            Client::Anthropic => {
                v["type"] == "error" && v["error"]["type"].is_string() && v["error"]["message"].is_string()
            }
            Client::Gemini => {
                v["error"]["code"] == expected && v["error"]["status"].is_string() && v["error"]["message"].is_string()
            }
            Client::Ollama => v["error"].is_string(),
        };
        if ok { Ok(()) } else { Err(format!("not a {} error body: {body}", self.name())) }
    }

    /// Whether a finish reason means "a tool was called" in this format.
    pub fn is_tool_finish(self, finish: &str) -> bool {
        match self {
            Client::OpenaiChat => finish == "tool_calls",
            Client::Anthropic => finish == "tool_use",
            // Responses reports `completed`; Gemini `STOP`; Ollama `stop`: the call itself says it.
            Client::Responses => finish == "completed",
            Client::Gemini => finish == "STOP",
            Client::Ollama => finish == "stop",
        }
    }

    /// Whether a finish reason means a normal end of text.
    pub fn is_stop_finish(self, finish: &str) -> bool {
        match self {
            Client::OpenaiChat | Client::Ollama => finish == "stop",
            Client::Anthropic => finish == "end_turn",
            Client::Responses => finish == "completed",
            Client::Gemini => finish == "STOP",
        }
    }
}

fn parse_args(arguments: &Value) -> Result<Value, String> {
    let text = arguments.as_str().ok_or_else(|| format!("arguments are not a string: {arguments}"))?;
    serde_json::from_str(text).map_err(|e| format!("arguments are not JSON ({e}): {text}"))
}

fn tool_from(name: Option<String>, args: &str) -> Result<Option<(String, Value)>, String> {
    match name {
        None => Ok(None),
        Some(name) => {
            let args = serde_json::from_str(args)
                .map_err(|e| format!("streamed arguments do not reassemble ({e}): {args}"))?;
            Ok(Some((name, args)))
        }
    }
}

/// One Gemini GenerateContentResponse (whole or a stream chunk) into the answer.
fn gemini_chunk(v: &Value, answer: &mut Answer) {
    let candidate = &v["candidates"][0];
    for part in candidate["content"]["parts"].as_array().into_iter().flatten() {
        if part["thought"] == true {
            continue;
        }
        if let Some(text) = part["text"].as_str() {
            answer.text.push_str(text);
        }
        if let Some(call) = part.get("functionCall")
            && answer.tool.is_none()
        {
            answer.tool = Some((call["name"].as_str().unwrap_or_default().to_owned(), call["args"].clone()));
        }
    }
    if let Some(finish) = candidate["finishReason"].as_str() {
        answer.finish = finish.to_owned();
        answer.complete = true;
    }
}

/// `(event name, data)` pairs of an SSE body whose events are named.
pub fn named_events(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter_map(|event| {
            let mut name = None;
            let mut data = Vec::new();
            for line in event.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = Some(n.trim().to_owned());
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push(d.strip_prefix(' ').unwrap_or(d));
                }
            }
            (!data.is_empty()).then(|| (name.unwrap_or_default(), data.join("\n")))
        })
        .collect()
}
