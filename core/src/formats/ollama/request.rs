//! Ollama chat request (`POST /api/chat`) ⇄ hub request: messages with base64 `images`,
//! `thinking` and id-less `tool_calls`, `tools`, `format`, `options`, `think`, and `stream`
//! (which defaults to true). Unknown top-level fields and unknown `options` go to `extra`.

use std::collections::HashMap;

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::wire::{
    RawRequest, WireFunction, WireMessage, WireToolCall, arguments_from_wire, arguments_to_wire, image_from_wire,
    image_to_wire,
};
use crate::error::GatewayError;
use crate::formats::json_body::{SamplingKeys, client_object, invalid, put_sampling, string_list, take_model};
use crate::hub::{
    ChatRequest, ContentBlock, Message, ReasoningOptions, ResponseFormat, Role, ToolChoice, ToolDefinition,
};

/// Extras that are Ollama's own and go back out on encode (`options` and `think` are merged
/// with what the hub models).
const NATIVE_EXTRAS: &[&str] = &["keep_alive", "logprobs", "top_logprobs"];

/// Ollama's names for the hub's sampling fields, all under `options`.
const SAMPLING_KEYS: SamplingKeys = SamplingKeys {
    temperature: "temperature",
    top_p: "top_p",
    top_k: Some("top_k"),
    max_tokens: "num_predict",
    stop: "stop",
    seed: "seed",
    presence_penalty: "presence_penalty",
    frequency_penalty: "frequency_penalty",
};

/// Parses an Ollama chat request body into the hub.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let text = std::str::from_utf8(body).map_err(|_| invalid("request body is not valid UTF-8"))?;
    let mut obj = client_object(text.as_bytes())?;
    let model = take_model(&mut obj)?;
    let messages = match obj.remove("messages") {
        Some(Value::Array(messages)) => decode_messages(messages, &RawRequest::parse(text))?,
        _ => return Err(invalid("`messages` is required and must be an array")),
    };
    let tools = match obj.remove("tools") {
        Some(Value::Array(tools)) => tools.into_iter().enumerate().map(decode_tool).collect::<Result<_, _>>()?,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(invalid("`tools` must be an array")),
    };
    let mut req = ChatRequest { model, messages, tools, ..Default::default() };
    req.response_format = match obj.remove("format") {
        None | Some(Value::Null) => None,
        Some(Value::String(format)) if format.is_empty() => None,
        Some(Value::String(format)) if format == "json" => Some(ResponseFormat::JsonObject),
        Some(Value::Object(schema)) => {
            Some(ResponseFormat::JsonSchema { name: "response".into(), schema: Value::Object(schema), strict: None })
        }
        Some(_) => return Err(invalid("`format` must be \"json\" or a JSON schema object")),
    };
    let mut options = match obj.remove("options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(options)) => options,
        Some(_) => return Err(invalid("`options` must be an object")),
    };
    decode_options(&mut options, &mut req)?;
    req.stream = match obj.remove("stream") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(stream)) => stream,
        Some(_) => return Err(invalid("`stream` must be a boolean")),
    };
    // Ollama's final stream line always carries the token counts.
    req.stream_usage = req.stream;
    match obj.remove("think") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(true)) => req.reasoning = Some(ReasoningOptions { effort: None, budget_tokens: None }),
        // "Don't think" has no hub field: it stays an Ollama extra.
        Some(Value::Bool(false)) => {
            obj.insert("think".into(), json!(false));
        }
        Some(Value::String(level)) if matches!(level.as_str(), "low" | "medium" | "high") => {
            req.reasoning = Some(ReasoningOptions { effort: Some(level), budget_tokens: None });
        }
        Some(_) => return Err(invalid("`think` must be true, false, \"low\", \"medium\" or \"high\"")),
    }
    if !options.is_empty() {
        obj.insert("options".into(), Value::Object(options));
    }
    req.extra = obj;
    Ok(req)
}

/// Moves the options the hub models out of `options`; the rest (`num_ctx`, `mirostat`, a
/// negative `num_predict`, ...) stays there for `extra`.
fn decode_options(options: &mut Map<String, Value>, req: &mut ChatRequest) -> Result<(), GatewayError> {
    let s = &mut req.sampling;
    s.temperature = take(options, "temperature", Value::as_f64, "a number")?;
    s.top_p = take(options, "top_p", Value::as_f64, "a number")?;
    s.top_k = take(options, "top_k", Value::as_u64, "a non-negative integer")?;
    s.seed = take(options, "seed", Value::as_i64, "an integer")?;
    s.presence_penalty = take(options, "presence_penalty", Value::as_f64, "a number")?;
    s.frequency_penalty = take(options, "frequency_penalty", Value::as_f64, "a number")?;
    // -1 (no limit) and -2 (fill the context) have no hub equivalent: they stay Ollama's.
    match options.get("num_predict") {
        Some(v) if v.as_i64().is_some_and(|n| n < 0) => {}
        _ => s.max_tokens = take(options, "num_predict", Value::as_u64, "an integer")?,
    }
    s.stop = match options.remove("stop") {
        Some(Value::String(stop)) => vec![stop],
        other => string_list(other, "options.stop")?,
    };
    Ok(())
}

fn take<T>(
    options: &mut Map<String, Value>,
    key: &str,
    read: fn(&Value) -> Option<T>,
    what: &str,
) -> Result<Option<T>, GatewayError> {
    match options.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => read(&v).map(Some).ok_or_else(|| invalid(format!("`options.{key}` must be {what}"))),
    }
}

/// A tool call seen in the history, for matching the tool messages that answer it.
struct SeenCall {
    id: String,
    name: String,
    answered: bool,
}

fn decode_messages(messages: Vec<Value>, raw: &RawRequest<'_>) -> Result<Vec<Message>, GatewayError> {
    let mut calls: Vec<SeenCall> = Vec::new();
    messages.into_iter().enumerate().map(|(i, m)| decode_message(i, m, raw, &mut calls)).collect()
}

fn decode_message(
    i: usize,
    value: Value,
    raw: &RawRequest<'_>,
    calls: &mut Vec<SeenCall>,
) -> Result<Message, GatewayError> {
    let Value::Object(mut obj) = value else {
        return Err(invalid(format!("messages[{i}] must be an object")));
    };
    let role = match obj.remove("role").as_ref().and_then(Value::as_str) {
        Some("system") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("tool") => Role::Tool,
        Some(other) => {
            return Err(invalid(format!("messages[{i}].role '{other}' is not one of system, user, assistant, tool")));
        }
        None => return Err(invalid(format!("messages[{i}].role is required"))),
    };
    let text = match obj.remove("content") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text,
        Some(_) => return Err(invalid(format!("messages[{i}].content must be a string"))),
    };
    let images = match obj.remove("images") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(images)) => images
            .iter()
            .map(|image| match image.as_str() {
                Some(data) => Ok(ContentBlock::Image { source: image_from_wire(data), detail: None }),
                None => Err(invalid(format!("messages[{i}].images must be an array of base64 strings"))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(invalid(format!("messages[{i}].images must be an array of base64 strings"))),
    };
    let thinking = match obj.remove("thinking") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(thinking)) => thinking,
        Some(_) => return Err(invalid(format!("messages[{i}].thinking must be a string"))),
    };
    let tool_calls = match obj.remove("tool_calls") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(tool_calls)) => tool_calls,
        Some(_) => return Err(invalid(format!("messages[{i}].tool_calls must be an array"))),
    };
    let tool_name = obj.remove("tool_name").and_then(|v| v.as_str().map(str::to_owned));
    let tool_call_id = obj.remove("tool_call_id").and_then(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned));

    let mut content = Vec::new();
    if !thinking.is_empty() {
        content.push(ContentBlock::Thinking { text: thinking, signature: None });
    }
    let mut own = Vec::new();
    if !text.is_empty() {
        own.push(ContentBlock::Text { text });
    }
    own.extend(images);
    if role == Role::Tool {
        let tool_call_id = answer_id(i, calls, tool_name.as_deref(), tool_call_id);
        content.push(ContentBlock::ToolResult { tool_call_id, content: own, is_error: false });
    } else {
        content.extend(own);
    }
    for (j, call) in tool_calls.iter().enumerate() {
        let name = call
            .pointer("/function/name")
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| invalid(format!("messages[{i}].tool_calls[{j}].function.name is required")))?;
        // Ollama has no ids (recent versions send one): generated ones are stable across turns
        // because the history is re-sent in the same order.
        let id = match call.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => format!("call_{i}_{j}"),
        };
        let arguments = arguments_from_wire(raw.arguments(i, j), call.pointer("/function/arguments"));
        calls.push(SeenCall { id: id.clone(), name: name.to_owned(), answered: false });
        content.push(ContentBlock::ToolCall { id, name: name.to_owned(), arguments });
    }
    Ok(Message { role, content, name: None, extra: obj })
}

/// The id of the call a tool message answers: its own `tool_call_id` if it has one, else the
/// first unanswered earlier call with its `tool_name` (any name when it has none). A result
/// that answers nothing gets an id of its own, still deterministic.
fn answer_id(i: usize, calls: &mut [SeenCall], tool_name: Option<&str>, explicit: Option<String>) -> String {
    if let Some(id) = explicit {
        if let Some(call) = calls.iter_mut().find(|c| c.id == id) {
            call.answered = true;
        }
        return id;
    }
    match calls.iter_mut().find(|c| !c.answered && tool_name.is_none_or(|name| c.name == name)) {
        Some(call) => {
            call.answered = true;
            call.id.clone()
        }
        None => format!("call_{i}_0"),
    }
}

fn decode_tool((i, tool): (usize, Value)) -> Result<ToolDefinition, GatewayError> {
    let function = tool.get("function").ok_or_else(|| invalid(format!("tools[{i}] needs a `function`")))?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("tools[{i}].function needs a `name`")))?;
    Ok(ToolDefinition {
        name: name.to_owned(),
        description: function.get("description").and_then(Value::as_str).map(str::to_owned),
        parameters: function.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        strict: None,
        namespace: None,
    })
}

#[derive(Serialize)]
struct WireRequest {
    model: String,
    messages: Vec<WireMessage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<Value>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    options: Map<String, Value>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    think: Option<Value>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// Writes a hub request as an Ollama chat request body. Fails on what Ollama cannot carry:
/// image URLs, documents, tool-call arguments that are not a JSON object.
pub fn encode_request(req: &ChatRequest) -> Result<Bytes, GatewayError> {
    // Tool results name the tool, not the call: look the name up by id.
    let names: HashMap<&str, &str> = req
        .messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|b| match b {
            ContentBlock::ToolCall { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    let mut messages = Vec::new();
    for (i, msg) in req.messages.iter().enumerate() {
        encode_message(i, msg, &names, &mut messages)?;
    }
    // No tool_choice in Ollama: `none` withholds the tools, a named tool is offered alone,
    // `required` cannot be enforced.
    let tools = req.tools.iter().filter(|t| match &req.tool_choice {
        Some(ToolChoice::None) => false,
        Some(ToolChoice::Tool(name)) => &t.name == name,
        _ => true,
    });
    let tools = tools
        .map(|t| {
            let mut function = json!({ "name": t.name, "parameters": t.parameters });
            if let Some(description) = &t.description {
                function["description"] = json!(description);
            }
            json!({ "type": "function", "function": function })
        })
        .collect();
    let format = match &req.response_format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(json!("json")),
        Some(ResponseFormat::JsonSchema { schema, .. }) => Some(schema.clone()),
    };
    let mut options = match req.extra.get("options") {
        Some(Value::Object(options)) => options.clone(),
        _ => Map::new(),
    };
    put_sampling(&mut options, &req.sampling, &SAMPLING_KEYS);
    let think = match &req.reasoning {
        Some(reasoning) => Some(think_to_wire(reasoning)),
        None => req.extra.get("think").filter(|v| v.is_boolean() || v.is_string()).cloned(),
    };
    let extra = req.extra.iter().filter(|(k, _)| NATIVE_EXTRAS.contains(&k.as_str()));
    let wire = WireRequest {
        model: req.model.clone(),
        messages,
        tools,
        format,
        options,
        stream: req.stream,
        think,
        extra: extra.map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    serde_json::to_vec(&wire).map(Bytes::from).map_err(|e| GatewayError::internal("cannot encode an Ollama request", e))
}

/// Hub reasoning → `think`: a level where there is one, else a boolean.
fn think_to_wire(reasoning: &ReasoningOptions) -> Value {
    match reasoning.effort.as_deref() {
        Some("none") => json!(false),
        Some("minimal" | "low") => json!("low"),
        Some("medium") => json!("medium"),
        Some("high" | "xhigh" | "max") => json!("high"),
        Some(_) => json!(true),
        None => json!(reasoning.budget_tokens != Some(0)),
    }
}

/// One hub message can become several Ollama messages: each tool result is a `tool` message,
/// written first (Anthropic and Gemini carry results at the start of a user turn).
fn encode_message(
    i: usize,
    msg: &Message,
    names: &HashMap<&str, &str>,
    out: &mut Vec<WireMessage>,
) -> Result<(), GatewayError> {
    let role = match msg.role {
        Role::System | Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut own = WireMessage::new(role, String::new());
    let mut thinking = String::new();
    let mut results = 0;
    for block in &msg.content {
        match block {
            ContentBlock::Text { text } => push_text(&mut own.content, text),
            ContentBlock::Image { source, .. } => {
                own.images.push(image_to_wire(source).map_err(|e| invalid(format!("messages[{i}]: {e}")))?);
            }
            ContentBlock::Document { .. } => {
                return Err(invalid(format!("messages[{i}] holds a document; ollama accepts only text and images")));
            }
            ContentBlock::ToolCall { id, name, arguments } => {
                let arguments = arguments_to_wire(arguments)
                    .map_err(|e| invalid(format!("messages[{i}]: the arguments of tool call '{name}' {e}")))?;
                own.tool_calls
                    .push(WireToolCall { id: id.clone(), function: WireFunction { name: name.clone(), arguments } });
            }
            ContentBlock::ToolResult { tool_call_id, content, .. } => {
                out.push(tool_message(i, tool_call_id, content, names)?);
                results += 1;
            }
            ContentBlock::Thinking { text, .. } => thinking.push_str(text),
            // No place in Ollama: redacted reasoning and other formats' parts are dropped.
            ContentBlock::RedactedThinking { .. } | ContentBlock::Unknown { .. } => {}
        }
    }
    if !thinking.is_empty() {
        own.thinking = Some(thinking);
    }
    let has_own = !own.content.is_empty() || own.thinking.is_some() || !own.images.is_empty();
    if has_own || !own.tool_calls.is_empty() || results == 0 {
        out.push(own);
    }
    Ok(())
}

/// A hub tool result → `{"role":"tool","content","tool_name"}` (plus `tool_call_id`, which
/// recent Ollama versions read and older ones ignore).
fn tool_message(
    i: usize,
    tool_call_id: &str,
    content: &[ContentBlock],
    names: &HashMap<&str, &str>,
) -> Result<WireMessage, GatewayError> {
    let mut message = WireMessage::new("tool", String::new());
    for block in content {
        match block {
            ContentBlock::Text { text } => push_text(&mut message.content, text),
            ContentBlock::Image { source, .. } => {
                message.images.push(image_to_wire(source).map_err(|e| invalid(format!("messages[{i}]: {e}")))?);
            }
            _ => {}
        }
    }
    message.tool_name = names.get(tool_call_id).map(|name| (*name).to_owned());
    message.tool_call_id = (!tool_call_id.is_empty()).then(|| tool_call_id.to_owned());
    Ok(message)
}

/// Ollama content is one string: text parts are joined by newlines.
fn push_text(content: &mut String, text: &str) {
    if !content.is_empty() && !text.is_empty() {
        content.push('\n');
    }
    content.push_str(text);
}
