//! OpenAI chat request ⇄ hub request. Unknown top-level and message fields go to `extra` and
//! come back out on encode, so an OpenAI → OpenAI trip loses nothing.

use bytes::Bytes;
use serde_json::{Value, json};

use crate::error::GatewayError;
use crate::formats::json_body::{SamplingKeys, client_object, invalid, put_sampling, take_f64, take_model, take_u64};
use crate::hub::{
    ChatRequest, ContentBlock, Extra, MediaSource, Message, ReasoningOptions, ResponseFormat, Role, ToolChoice,
    ToolDefinition,
};

const KNOWN_FIELDS: &[&str] = &[
    "model",
    "messages",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "response_format",
    "reasoning_effort",
    "parallel_tool_calls",
    "stream",
    "stream_options",
    "user",
];

/// `max_tokens` is what every OpenAI-compatible server accepts; there is no `top_k`.
const SAMPLING_KEYS: SamplingKeys = SamplingKeys {
    temperature: "temperature",
    top_p: "top_p",
    top_k: None,
    max_tokens: "max_tokens",
    stop: "stop",
    seed: "seed",
    presence_penalty: "presence_penalty",
    frequency_penalty: "frequency_penalty",
};

/// Parses an OpenAI chat request body into the hub.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let mut obj = client_object(body)?;
    let model = take_model(&mut obj)?;
    let messages = match obj.remove("messages") {
        Some(Value::Array(messages)) => {
            messages.into_iter().enumerate().map(|(i, m)| decode_message(i, m)).collect::<Result<_, _>>()?
        }
        _ => return Err(invalid("`messages` is required and must be an array")),
    };
    let tools = match obj.remove("tools") {
        Some(Value::Array(tools)) => tools.into_iter().enumerate().map(decode_tool).collect::<Result<_, _>>()?,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(invalid("`tools` must be an array")),
    };
    let mut req = ChatRequest { model, messages, tools, ..Default::default() };
    req.tool_choice = obj.remove("tool_choice").map(decode_tool_choice).transpose()?.flatten();
    let s = &mut req.sampling;
    s.temperature = take_f64(&mut obj, "temperature")?;
    s.top_p = take_f64(&mut obj, "top_p")?;
    let max_completion = take_u64(&mut obj, "max_completion_tokens")?;
    let max_tokens = take_u64(&mut obj, "max_tokens")?;
    s.max_tokens = max_completion.or(max_tokens);
    s.stop = match obj.remove("stop") {
        Some(Value::String(stop)) => vec![stop],
        Some(Value::Array(stops)) => stops.into_iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    s.seed = obj.remove("seed").and_then(|v| v.as_i64());
    s.presence_penalty = take_f64(&mut obj, "presence_penalty")?;
    s.frequency_penalty = take_f64(&mut obj, "frequency_penalty")?;
    req.response_format = obj.remove("response_format").and_then(decode_response_format);
    req.reasoning = obj
        .remove("reasoning_effort")
        .and_then(|v| v.as_str().map(|e| ReasoningOptions { effort: Some(e.to_owned()), budget_tokens: None }));
    req.parallel_tool_calls = obj.remove("parallel_tool_calls").and_then(|v| v.as_bool());
    req.stream = obj.remove("stream").and_then(|v| v.as_bool()).unwrap_or(false);
    req.stream_usage =
        obj.remove("stream_options").and_then(|v| v.get("include_usage").and_then(Value::as_bool)).unwrap_or(false);
    req.user = obj.remove("user").and_then(|v| v.as_str().map(str::to_owned));
    req.extra = obj;
    Ok(req)
}

fn decode_message(index: usize, value: Value) -> Result<Message, GatewayError> {
    let Value::Object(mut obj) = value else {
        return Err(invalid(format!("messages[{index}] must be an object")));
    };
    let role = match obj.remove("role").as_ref().and_then(Value::as_str) {
        Some("system") => Role::System,
        Some("developer") => Role::Developer,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("tool") | Some("function") => Role::Tool,
        Some(other) => {
            return Err(invalid(format!(
                "messages[{index}].role '{other}' is not one of system, developer, user, assistant, tool"
            )));
        }
        None => return Err(invalid(format!("messages[{index}].role is required"))),
    };
    let mut content = Vec::new();
    if let Some(Value::String(reasoning)) = obj.remove("reasoning_content") {
        content.push(ContentBlock::Thinking { text: reasoning, signature: None });
    }
    let parts = decode_content(index, obj.remove("content"))?;
    if role == Role::Tool {
        let tool_call_id = obj.remove("tool_call_id").and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        content.push(ContentBlock::ToolResult { tool_call_id, content: parts, is_error: false });
    } else {
        content.extend(parts);
    }
    if let Some(Value::Array(calls)) = obj.remove("tool_calls") {
        for call in calls {
            content.push(ContentBlock::ToolCall {
                id: call.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                name: call.pointer("/function/name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                arguments: call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}").to_owned(),
            });
        }
    }
    let name = obj.remove("name").and_then(|v| v.as_str().map(str::to_owned));
    Ok(Message { role, content, name, extra: obj })
}

fn decode_content(index: usize, content: Option<Value>) -> Result<Vec<ContentBlock>, GatewayError> {
    match content {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![ContentBlock::Text { text }]),
        Some(Value::Array(parts)) => Ok(parts.into_iter().map(decode_part).collect()),
        Some(_) => Err(invalid(format!("messages[{index}].content must be a string, an array of parts or null"))),
    }
}

fn decode_part(part: Value) -> ContentBlock {
    match part.get("type").and_then(Value::as_str) {
        Some("text") => match part.get("text").and_then(Value::as_str) {
            Some(text) => ContentBlock::text(text),
            None => unknown(part),
        },
        Some("image_url") => match part.pointer("/image_url/url").and_then(Value::as_str) {
            Some(url) => ContentBlock::Image {
                source: MediaSource::from_url(url),
                detail: part.pointer("/image_url/detail").and_then(Value::as_str).map(str::to_owned),
            },
            None => unknown(part),
        },
        Some("file") => match part.pointer("/file/file_data").and_then(Value::as_str) {
            Some(data) => ContentBlock::Document {
                source: MediaSource::from_url(data),
                name: part.pointer("/file/filename").and_then(Value::as_str).map(str::to_owned),
            },
            None => unknown(part),
        },
        _ => unknown(part),
    }
}

fn unknown(value: Value) -> ContentBlock {
    ContentBlock::Unknown { format: "openai-chat".into(), value }
}

/// A function tool. Chat Completions knows one other type, `custom` (free-form input), which has
/// no equivalent elsewhere; any other type is refused as OpenAI refuses it.
fn decode_tool((i, tool): (usize, Value)) -> Result<ToolDefinition, GatewayError> {
    match tool.get("type").and_then(Value::as_str) {
        None | Some("function") => {}
        Some("custom") => {
            return Err(invalid(format!(
                "tools[{i}] has type 'custom', which is not supported through translation: only function tools can be sent to this model's provider"
            )));
        }
        Some(other) => {
            return Err(GatewayError::InvalidValue {
                param: format!("tools[{i}].type"),
                message: format!("Invalid value: '{other}'. Supported values are: 'function' and 'custom'."),
            });
        }
    }
    let function = tool.get("function").ok_or_else(|| invalid("each tool needs a `function`"))?;
    let name =
        function.get("name").and_then(Value::as_str).ok_or_else(|| invalid("each tool function needs a `name`"))?;
    Ok(ToolDefinition {
        name: name.to_owned(),
        description: function.get("description").and_then(Value::as_str).map(str::to_owned),
        parameters: function.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        strict: function.get("strict").and_then(Value::as_bool),
        namespace: None,
    })
}

fn decode_tool_choice(choice: Value) -> Result<Option<ToolChoice>, GatewayError> {
    Ok(match &choice {
        Value::Null => None,
        Value::String(s) if s == "auto" => Some(ToolChoice::Auto),
        Value::String(s) if s == "none" => Some(ToolChoice::None),
        Value::String(s) if s == "required" => Some(ToolChoice::Required),
        Value::Object(_) => match choice.pointer("/function/name").and_then(Value::as_str) {
            Some(name) => Some(ToolChoice::Tool(name.to_owned())),
            None => return Err(invalid("`tool_choice` object needs `function.name`")),
        },
        _ => return Err(invalid("`tool_choice` must be auto, none, required or {\"type\":\"function\",...}")),
    })
}

fn decode_response_format(value: Value) -> Option<ResponseFormat> {
    match value.get("type").and_then(Value::as_str)? {
        "text" => Some(ResponseFormat::Text),
        "json_object" => Some(ResponseFormat::JsonObject),
        "json_schema" => {
            let schema = value.get("json_schema")?;
            Some(ResponseFormat::JsonSchema {
                name: schema.get("name").and_then(Value::as_str).unwrap_or("response").to_owned(),
                schema: schema.get("schema").cloned().unwrap_or(Value::Null),
                strict: schema.get("strict").and_then(Value::as_bool),
            })
        }
        _ => None,
    }
}

/// Writes a hub request as an OpenAI chat request body.
pub fn encode_request(req: &ChatRequest) -> Bytes {
    let mut obj: Extra = req.extra.clone();
    obj.retain(|k, _| !KNOWN_FIELDS.contains(&k.as_str()));
    obj.insert("model".into(), json!(req.model));
    obj.insert("messages".into(), Value::Array(req.messages.iter().flat_map(encode_message).collect()));
    if !req.tools.is_empty() {
        let tools = req.tools.iter().map(|t| {
            let mut function = json!({ "name": t.name, "parameters": t.parameters });
            if let Some(d) = &t.description {
                function["description"] = json!(d);
            }
            if let Some(strict) = t.strict {
                function["strict"] = json!(strict);
            }
            json!({ "type": "function", "function": function })
        });
        obj.insert("tools".into(), Value::Array(tools.collect()));
    }
    if let Some(choice) = &req.tool_choice {
        obj.insert(
            "tool_choice".into(),
            match choice {
                ToolChoice::Auto => json!("auto"),
                ToolChoice::None => json!("none"),
                ToolChoice::Required => json!("required"),
                ToolChoice::Tool(name) => json!({ "type": "function", "function": { "name": name } }),
            },
        );
    }
    put_sampling(&mut obj, &req.sampling, &SAMPLING_KEYS);
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            obj.insert(key.into(), value);
        }
    };
    put(
        "response_format",
        req.response_format.as_ref().map(|f| match f {
            ResponseFormat::Text => json!({ "type": "text" }),
            ResponseFormat::JsonObject => json!({ "type": "json_object" }),
            ResponseFormat::JsonSchema { name, schema, strict } => {
                let mut inner = json!({ "name": name, "schema": schema });
                if let Some(strict) = strict {
                    inner["strict"] = json!(strict);
                }
                json!({ "type": "json_schema", "json_schema": inner })
            }
        }),
    );
    put("reasoning_effort", req.reasoning.as_ref().and_then(|r| r.effort.clone()).map(Value::String));
    put("parallel_tool_calls", req.parallel_tool_calls.map(Value::Bool));
    put("user", req.user.clone().map(Value::String));
    if req.stream {
        put("stream", Some(json!(true)));
        if req.stream_usage {
            put("stream_options", Some(json!({ "include_usage": true })));
        }
    }
    Bytes::from(Value::Object(obj).to_string())
}

/// One hub message can become several OpenAI messages (each tool result is its own message).
fn encode_message(msg: &Message) -> Vec<Value> {
    let role = match msg.role {
        Role::System => "system",
        Role::Developer => "developer",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    let mut out = Vec::new();
    let mut parts = Vec::new();
    let mut tool_calls = Vec::new();
    let mut reasoning = String::new();
    for block in &msg.content {
        match block {
            ContentBlock::ToolResult { tool_call_id, content, .. } => {
                out.push(json!({ "role": "tool", "tool_call_id": tool_call_id, "content": content_value(&content.iter().filter_map(encode_part).collect::<Vec<_>>()) }));
            }
            ContentBlock::ToolCall { id, name, arguments } => tool_calls.push(json!({
                "id": id, "type": "function", "function": { "name": name, "arguments": arguments }
            })),
            ContentBlock::Thinking { text, .. } => reasoning.push_str(text),
            other => parts.extend(encode_part(other)),
        }
    }
    if role == "tool" && parts.is_empty() && tool_calls.is_empty() {
        return out;
    }
    let mut obj = msg.extra.clone();
    obj.insert("role".into(), json!(role));
    obj.insert(
        "content".into(),
        if parts.is_empty() && !tool_calls.is_empty() { Value::Null } else { content_value(&parts) },
    );
    if !tool_calls.is_empty() {
        obj.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    if !reasoning.is_empty() {
        obj.insert("reasoning_content".into(), json!(reasoning));
    }
    if let Some(name) = &msg.name {
        obj.insert("name".into(), json!(name));
    }
    out.insert(0, Value::Object(obj));
    out
}

/// A single text part is sent as a plain string, as most clients do.
fn content_value(parts: &[Value]) -> Value {
    match parts {
        [single] if single.get("type").and_then(Value::as_str) == Some("text") => single["text"].clone(),
        [] => json!(""),
        _ => Value::Array(parts.to_vec()),
    }
}

fn encode_part(block: &ContentBlock) -> Option<Value> {
    Some(match block {
        ContentBlock::Text { text } => json!({ "type": "text", "text": text }),
        ContentBlock::Image { source, detail } => {
            let mut image = json!({ "url": source.to_url() });
            if let Some(detail) = detail {
                image["detail"] = json!(detail);
            }
            json!({ "type": "image_url", "image_url": image })
        }
        ContentBlock::Document { source, name } => {
            let mut file = json!({ "file_data": source.to_url() });
            if let Some(name) = name {
                file["filename"] = json!(name);
            }
            json!({ "type": "file", "file": file })
        }
        ContentBlock::Unknown { format, value } if format == "openai-chat" => value.clone(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{
        "model": "openai/gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K", "detail": "low"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "22C"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "auto",
        "temperature": 0.2,
        "max_tokens": 100,
        "stop": "END",
        "stream": true,
        "stream_options": {"include_usage": true},
        "logit_bias": {"50256": -100}
    }"#;

    #[test]
    fn decodes_every_modelled_field() {
        let req = decode_request(FULL.as_bytes()).unwrap();
        assert_eq!(req.model, "openai/gpt-4o");
        assert_eq!(req.messages.len(), 4);
        assert!(
            matches!(&req.messages[1].content[1], ContentBlock::Image { source: MediaSource::Base64 { media_type, .. }, detail: Some(d) } if media_type == "image/png" && d == "low")
        );
        assert!(matches!(&req.messages[2].content[0], ContentBlock::ToolCall { id, .. } if id == "call_1"));
        assert!(
            matches!(&req.messages[3].content[0], ContentBlock::ToolResult { tool_call_id, .. } if tool_call_id == "call_1")
        );
        assert_eq!(req.tools[0].name, "get_weather");
        assert_eq!(req.tool_choice, Some(ToolChoice::Auto));
        assert_eq!(req.sampling.max_tokens, Some(100));
        assert_eq!(req.sampling.stop, vec!["END".to_string()]);
        assert!(req.stream && req.stream_usage);
        assert!(req.extra.contains_key("logit_bias"), "unknown fields are kept");
    }

    #[test]
    fn decode_encode_decode_is_stable() {
        let first = decode_request(FULL.as_bytes()).unwrap();
        let second = decode_request(&encode_request(&first)).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn bad_requests_name_the_field() {
        crate::formats::test_support::assert_client_errors(
            decode_request,
            &[
                (r#"{"messages": []}"#, "`model`"),
                (r#"{"model": "a/b"}"#, "`messages`"),
                (r#"{"model": "a/b", "messages": [{"role": "robot"}]}"#, "messages[0].role"),
                (r#"{"model": "a/b", "messages": [], "temperature": "hot"}"#, "`temperature`"),
                (
                    r#"{"model": "a/b", "messages": [], "tools": [{"type": "web_search"}]}"#,
                    "Invalid value: 'web_search'. Supported values are: 'function' and 'custom'.",
                ),
            ],
        );
    }
}
