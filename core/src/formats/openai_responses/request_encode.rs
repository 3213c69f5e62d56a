//! Hub request → Responses request body, for providers that speak this API. A leading text-only
//! System message becomes `instructions`; every other turn becomes flat input items (messages,
//! system ones in place, `function_call`, `function_call_output`, `reasoning`); flattened
//! namespace functions go back into their `namespace` tools, and calls to them name it. The request is stateless
//! (`store: false` unless the client's extras say otherwise), so signed reasoning is replayed
//! through `encrypted_content` (requested with `include` whenever reasoning is on).

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::request_tools::TOOL_TYPES;
use super::{ITEM_FORMAT, PART_FORMAT, SIGNATURE_PREFIX};
use crate::error::GatewayError;
use crate::hub::{
    ChatRequest, ContentBlock, MediaSource, Message, Namespaces, ReasoningOptions, ResponseFormat, Role, ToolChoice,
};

/// Top-level fields native to this API that `extra` may carry (from a client of this format or
/// of chat completions, where they mean the same); anything else in `extra` is not sent.
const NATIVE_EXTRAS: &[&str] = &[
    "metadata",
    "store",
    "include",
    "truncation",
    "service_tier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "top_logprobs",
    "max_tool_calls",
    "text",
];

/// OpenAI refuses `max_output_tokens` below this.
const MIN_OUTPUT_TOKENS: u64 = 16;

/// Writes a hub request as a Responses request body.
pub fn encode_request(req: &ChatRequest) -> Result<Bytes, GatewayError> {
    let mut obj: Map<String, Value> = req
        .extra
        .iter()
        .filter(|(k, _)| NATIVE_EXTRAS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    obj.insert("model".into(), json!(req.model));
    let mut messages = req.messages.as_slice();
    if let Some((first, rest)) = messages.split_first()
        && let Some(instructions) = instructions_of(first)
    {
        obj.insert("instructions".into(), json!(instructions));
        messages = rest;
    }
    let names = Namespaces::of(&req.tools);
    let mut input = Vec::new();
    for message in messages {
        encode_message(message, &names, &mut input);
    }
    obj.insert("input".into(), Value::Array(input));
    let tools = encode_tools(req);
    if !tools.is_empty() {
        obj.insert("tools".into(), Value::Array(tools));
    }
    if let Some(choice) = &req.tool_choice {
        let choice = match choice {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(name) => json!({ "type": "function", "name": name }),
        };
        obj.insert("tool_choice".into(), choice);
    }
    let s = &req.sampling;
    // top_k, stop, seed and the penalties have no place in this API: they are not sent.
    if let Some(t) = s.temperature {
        obj.insert("temperature".into(), json!(t));
    }
    if let Some(p) = s.top_p {
        obj.insert("top_p".into(), json!(p));
    }
    if let Some(max) = s.max_tokens {
        obj.insert("max_output_tokens".into(), json!(max.max(MIN_OUTPUT_TOKENS)));
    }
    if let Some(parallel) = req.parallel_tool_calls {
        obj.insert("parallel_tool_calls".into(), json!(parallel));
    }
    if let Some(reasoning) = req.reasoning.as_ref().and_then(reasoning_of) {
        obj.insert("reasoning".into(), reasoning);
        let include = obj.entry("include").or_insert_with(|| json!([]));
        if let Value::Array(list) = include
            && !list.iter().any(|v| v == "reasoning.encrypted_content")
        {
            list.push(json!("reasoning.encrypted_content"));
        }
    }
    if let Some(format) = &req.response_format {
        let format = match format {
            ResponseFormat::Text => json!({ "type": "text" }),
            ResponseFormat::JsonObject => json!({ "type": "json_object" }),
            ResponseFormat::JsonSchema { name, schema, strict } => {
                let mut f = json!({ "type": "json_schema", "name": name, "schema": schema });
                if let Some(strict) = strict {
                    f["strict"] = json!(strict);
                }
                f
            }
        };
        let text = obj.entry("text").or_insert_with(|| json!({}));
        if !text.is_object() {
            *text = json!({});
        }
        text["format"] = format;
    }
    if req.stream {
        obj.insert("stream".into(), json!(true));
    }
    if let Some(user) = &req.user {
        obj.insert("user".into(), json!(user));
    }
    // The gateway sends the whole conversation every time and never reads stored responses.
    obj.entry("store").or_insert(json!(false));
    Ok(Bytes::from(Value::Object(obj).to_string()))
}

/// The request's tools: functions (namespace members grouped into their namespace again, where
/// the first member stood), then the hosted tools that are this API's own.
fn encode_tools(req: &ChatRequest) -> Vec<Value> {
    let mut tools: Vec<Value> = Vec::new();
    // Index in `tools` of each namespace written so far.
    let mut namespaces: Vec<(&str, usize)> = Vec::new();
    for t in &req.tools {
        let mut tool = json!({
            "type": "function",
            "name": t.namespace.as_ref().map_or(t.name.as_str(), |ns| ns.name.as_str()),
            "parameters": t.parameters,
            // This API defaults to strict schemas, which most clients' schemas are not.
            "strict": t.strict.unwrap_or(false),
        });
        if let Some(description) = &t.description {
            tool["description"] = json!(description);
        }
        let Some(ns) = &t.namespace else {
            tools.push(tool);
            continue;
        };
        match namespaces.iter().find(|(name, _)| *name == ns.namespace) {
            Some((_, at)) => {
                if let Some(Value::Array(members)) = tools[*at].get_mut("tools") {
                    members.push(tool);
                }
            }
            None => {
                namespaces.push((&ns.namespace, tools.len()));
                tools.push(json!({
                    "type": "namespace", "name": ns.namespace, "description": ns.description, "tools": [tool],
                }));
            }
        }
    }
    tools.extend(req.hosted_tools.iter().filter(|t| TOOL_TYPES.contains(&t.kind.as_str())).map(|t| t.value.clone()));
    tools
}

/// A leading System message made only of text → the `instructions` string.
fn instructions_of(message: &Message) -> Option<String> {
    if message.role != Role::System || message.content.is_empty() {
        return None;
    }
    let texts: Option<Vec<&str>> = message
        .content
        .iter()
        .map(|b| match b {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.map(|t| t.join("\n\n"))
}

/// The `reasoning` object: the hub's effort, else one derived from a thinking budget (a budget
/// of 0 turns reasoning off), and summaries on so the answer carries readable reasoning.
fn reasoning_of(reasoning: &ReasoningOptions) -> Option<Value> {
    let effort = match (&reasoning.effort, reasoning.budget_tokens) {
        (Some(effort), _) => Some(effort.as_str()),
        (None, Some(0)) => return None,
        (None, Some(b)) if b <= 4096 => Some("low"),
        (None, Some(b)) if b <= 16384 => Some("medium"),
        (None, Some(_)) => Some("high"),
        (None, None) => None,
    };
    let mut out = json!({ "summary": "auto" });
    if let Some(effort) = effort {
        out["effort"] = json!(effort);
    }
    Some(out)
}

/// One hub turn → input items, in block order: content parts gather into message items,
/// calls, outputs and reasoning are items of their own.
fn encode_message(message: &Message, names: &Namespaces, input: &mut Vec<Value>) {
    let assistant = message.role == Role::Assistant;
    let role = match message.role {
        Role::System => "system",
        Role::Developer => "developer",
        Role::User | Role::Tool => "user",
        Role::Assistant => "assistant",
    };
    let mut parts = Vec::new();
    for block in &message.content {
        let item = match block {
            ContentBlock::ToolCall { id, name, arguments } => {
                let mut call = json!({
                    "type": "function_call",
                    "call_id": id,
                    "name": name,
                    "arguments": if arguments.is_empty() { "{}" } else { arguments.as_str() },
                });
                if let Some((namespace, name)) = names.split(name) {
                    call["namespace"] = json!(namespace);
                    call["name"] = json!(name);
                }
                Some(call)
            }
            ContentBlock::ToolResult { tool_call_id, content, .. } => {
                Some(json!({ "type": "function_call_output", "call_id": tool_call_id, "output": tool_output(content) }))
            }
            // Replayable only with encrypted content this API produced (see SIGNATURE_PREFIX):
            // without it the item would have to reference a stored one. No item id: with
            // `store: false` an id makes the API look the item up, and fail.
            ContentBlock::Thinking { text, signature: Some(signature) } if assistant => {
                signature.strip_prefix(SIGNATURE_PREFIX).map(|encrypted| {
                    let summary =
                        if text.is_empty() { json!([]) } else { json!([{ "type": "summary_text", "text": text }]) };
                    json!({ "type": "reasoning", "summary": summary, "encrypted_content": encrypted })
                })
            }
            ContentBlock::Unknown { format, value } if format == ITEM_FORMAT => Some(value.clone()),
            other => {
                parts.extend(encode_part(other, assistant));
                None
            }
        };
        if let Some(item) = item {
            flush(role, &mut parts, input);
            input.push(item);
        }
    }
    flush(role, &mut parts, input);
}

/// Writes the gathered parts as one message item. An assistant turn of one text is sent as a
/// plain string: the documented shape for assistant history without item ids.
fn flush(role: &str, parts: &mut Vec<Value>, input: &mut Vec<Value>) {
    let content = match parts.as_slice() {
        [] => return,
        [part] if role == "assistant" && part.get("type").and_then(Value::as_str) == Some("output_text") => {
            part["text"].clone()
        }
        _ => Value::Array(std::mem::take(parts)),
    };
    parts.clear();
    input.push(json!({ "type": "message", "role": role, "content": content }));
}

/// A content part; assistant turns take only text (`output_text`).
fn encode_part(block: &ContentBlock, assistant: bool) -> Option<Value> {
    Some(match block {
        ContentBlock::Text { text } if assistant => json!({ "type": "output_text", "text": text, "annotations": [] }),
        ContentBlock::Text { text } => json!({ "type": "input_text", "text": text }),
        ContentBlock::Image { source, detail } if !assistant => json!({
            "type": "input_image",
            "image_url": source.to_url(),
            "detail": detail.as_deref().unwrap_or("auto"),
        }),
        ContentBlock::Document { source, name } if !assistant => match source {
            MediaSource::Url(url) => {
                let mut file = json!({ "type": "input_file", "file_url": url });
                if let Some(name) = name {
                    file["filename"] = json!(name);
                }
                file
            }
            MediaSource::Base64 { media_type, .. } => json!({
                "type": "input_file",
                "filename": name.clone().unwrap_or_else(|| default_filename(media_type)),
                "file_data": source.to_url(),
            }),
        },
        ContentBlock::Unknown { format, value } if format == PART_FORMAT => value.clone(),
        // Unsigned or redacted thinking, media in assistant turns, other formats' parts.
        _ => return None,
    })
}

/// `function_call_output.output`: a string for one text block, else a list of parts.
fn tool_output(content: &[ContentBlock]) -> Value {
    match content {
        [] => json!(""),
        [ContentBlock::Text { text }] => json!(text),
        blocks => Value::Array(blocks.iter().filter_map(|b| encode_part(b, false)).collect()),
    }
}

fn default_filename(media_type: &str) -> String {
    match media_type {
        "application/pdf" => "document.pdf".into(),
        "text/plain" => "document.txt".into(),
        _ => "document".into(),
    }
}
