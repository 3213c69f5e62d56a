//! Gemini `GenerateContentRequest` ⇄ hub request: `contents` turns (function responses become
//! hub Tool messages), `systemInstruction`, `tools` / `toolConfig`, `generationConfig` (sampling,
//! JSON output, `thinkingConfig`). Fields the hub does not model go to `extra` and come back.
//!
//! Ids: a `functionCall` without an id gets `call_<content index>_<part index>`; a
//! `functionResponse` without one takes the id of the earliest unanswered call of the same name.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::generation::{decode_generation_config, encode_generation_config, normalize_schema};
use super::parts::{PartKind, PartWriter, WirePart, blocks_of, read_part, response_content, response_object};
use super::{SKIP_SIGNATURE, as_list, field, snake, take_field};
use crate::error::GatewayError;
use crate::formats::json_body::{client_object, invalid};
use crate::hub::{ChatRequest, ContentBlock, HostedTool, Message, Role, ToolChoice, ToolDefinition};

/// Top-level fields with no hub equivalent that go back to Gemini as they came.
/// (`generationConfig`, `toolConfig` and `tools` leftovers are merged into their own fields.)
const NATIVE_EXTRAS: &[&str] = &["safetySettings", "cachedContent"];

/// Parses a Gemini `generateContent` body. The model and the stream flag come from the URL.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let mut obj = client_object(body)?;
    // The model is in the URL; a copy in the body is ignored.
    obj.remove("model");
    let contents = match take_field(&mut obj, "contents") {
        Some(Value::Array(contents)) => contents,
        Some(single @ Value::Object(_)) => vec![single],
        _ => return Err(invalid("`contents` is required and must be an array of contents")),
    };
    let mut messages = Vec::new();
    if let Some(system) = take_field(&mut obj, "systemInstruction") {
        messages.extend(decode_system(&system)?);
    }
    messages.extend(decode_contents(&contents)?);
    let mut req = ChatRequest { messages, ..Default::default() };
    if let Some(tools) = take_field(&mut obj, "tools") {
        decode_tools(&tools, &mut req)?;
    }
    if let Some(config) = take_field(&mut obj, "toolConfig") {
        decode_tool_config(config, &mut req)?;
    }
    if let Some(config) = take_field(&mut obj, "generationConfig") {
        decode_generation_config(config, &mut req)?;
    }
    for key in NATIVE_EXTRAS {
        if let Some(value) = take_field(&mut obj, key) {
            req.extra.insert((*key).into(), value);
        }
    }
    req.extra.extend(obj);
    Ok(req)
}

fn decode_system(system: &Value) -> Result<Option<Message>, GatewayError> {
    let content: Vec<ContentBlock> = match system {
        Value::String(text) => vec![ContentBlock::text(text.clone())],
        Value::Object(_) => as_list(field(system, "parts"))
            .into_iter()
            .filter_map(|p| field(p, "text").and_then(Value::as_str))
            .map(ContentBlock::text)
            .collect(),
        _ => return Err(invalid("`systemInstruction` must be a content object with text parts")),
    };
    Ok((!content.is_empty()).then(|| Message { role: Role::System, content, name: None, extra: Map::new() }))
}

/// Contents → hub messages. A user turn's function responses become a Tool message; the rest of
/// the turn stays a User message, in order.
fn decode_contents(contents: &[Value]) -> Result<Vec<Message>, GatewayError> {
    // Function name → ids of calls not answered yet, oldest first.
    let mut unanswered: HashMap<String, VecDeque<String>> = HashMap::new();
    let mut messages = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        if !content.is_object() {
            return Err(invalid(format!("contents[{i}] must be an object")));
        }
        let is_model = match field(content, "role").and_then(Value::as_str) {
            Some("model") => true,
            Some("user") | Some("function") | Some("") | None => false,
            Some(other) => return Err(invalid(format!("contents[{i}].role '{other}' is not one of user, model"))),
        };
        let mut turn: Vec<Message> = Vec::new();
        for (j, part) in as_list(field(content, "parts")).into_iter().enumerate() {
            if !part.is_object() {
                return Err(invalid(format!("contents[{i}].parts[{j}] must be an object")));
            }
            let WirePart { signature, mut kind } = read_part(part);
            if let PartKind::Response { id, name, response, parts } = kind {
                let id = match id {
                    Some(id) => {
                        if let Some(queue) = unanswered.get_mut(&name) {
                            queue.retain(|pending| *pending != id);
                        }
                        id
                    }
                    None => unanswered
                        .get_mut(&name)
                        .and_then(VecDeque::pop_front)
                        .unwrap_or_else(|| format!("call_{i}_{j}")),
                };
                let (mut result, is_error) = response_content(&response);
                result.extend(parts);
                let block = ContentBlock::ToolResult { tool_call_id: id, content: result, is_error };
                push_block(&mut turn, Role::Tool, vec![block]);
                continue;
            }
            if let PartKind::Call { id, name, .. } = &mut kind {
                let id = id.get_or_insert_with(|| format!("call_{i}_{j}"));
                unanswered.entry(name.clone()).or_default().push_back(id.clone());
            }
            let role = if is_model { Role::Assistant } else { Role::User };
            let blocks = blocks_of(WirePart { signature, kind }, |_, _| format!("call_{i}_{j}"));
            push_block(&mut turn, role, blocks);
        }
        messages.extend(turn);
    }
    Ok(messages)
}

fn push_block(turn: &mut Vec<Message>, role: Role, blocks: Vec<ContentBlock>) {
    if blocks.is_empty() {
        return;
    }
    match turn.last_mut() {
        Some(last) if last.role == role => last.content.extend(blocks),
        _ => turn.push(Message { role, content: blocks, name: None, extra: Map::new() }),
    }
}

/// Fields of Gemini's `Tool` besides `functionDeclarations`: the built-in tools Google runs.
const BUILT_IN_TOOLS: &[&str] = &[
    "googleSearch",
    "googleSearchRetrieval",
    "codeExecution",
    "urlContext",
    "computerUse",
    "fileSearch",
    "googleMaps",
    "retrieval",
    "enterpriseWebSearch",
    "mcpServers",
];

fn decode_tools(tools: &Value, req: &mut ChatRequest) -> Result<(), GatewayError> {
    for (i, tool) in as_list(Some(tools)).into_iter().enumerate() {
        let Value::Object(tool) = tool else {
            return Err(invalid(format!("tools[{i}] must be an object")));
        };
        let mut tool = tool.clone();
        if let Some(declarations) = take_field(&mut tool, "functionDeclarations") {
            for (j, decl) in as_list(Some(&declarations)).into_iter().enumerate() {
                let name = field(decl, "name")
                    .and_then(Value::as_str)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| invalid(format!("tools[{i}].functionDeclarations[{j}].name is required")))?;
                let parameters = field(decl, "parametersJsonSchema")
                    .cloned()
                    .or_else(|| field(decl, "parameters").map(normalize_schema))
                    .unwrap_or_else(|| json!({ "type": "object", "properties": {} }));
                req.tools.push(ToolDefinition {
                    name: name.to_owned(),
                    description: field(decl, "description").and_then(Value::as_str).map(str::to_owned),
                    parameters,
                    strict: None,
                    namespace: None,
                });
            }
        }
        // Built-in tools (googleSearch, codeExecution, urlContext…): hosted tools, one per field;
        // any other field is refused as Google's JSON parser refuses it.
        for (key, value) in tool {
            let Some(kind) = BUILT_IN_TOOLS.iter().find(|known| **known == key || snake(known) == key) else {
                return Err(invalid(format!(
                    "Invalid JSON payload received. Unknown name \"{key}\" at 'tools[{i}]': Cannot find field."
                )));
            };
            let value = json!({ (*kind): value });
            req.hosted_tools.push(HostedTool { kind: (*kind).to_owned(), value });
        }
    }
    Ok(())
}

fn decode_tool_config(config: Value, req: &mut ChatRequest) -> Result<(), GatewayError> {
    let Value::Object(mut config) = config else {
        return Err(invalid("`toolConfig` must be an object"));
    };
    if let Some(calling) = take_field(&mut config, "functionCallingConfig") {
        let mode = field(&calling, "mode").and_then(Value::as_str).unwrap_or("AUTO").to_ascii_uppercase();
        let allowed: Vec<&str> =
            as_list(field(&calling, "allowedFunctionNames")).into_iter().filter_map(Value::as_str).collect();
        req.tool_choice = match mode.as_str() {
            "AUTO" | "VALIDATED" => Some(ToolChoice::Auto),
            "NONE" => Some(ToolChoice::None),
            "ANY" => Some(match allowed.as_slice() {
                [only] => ToolChoice::Tool((*only).to_owned()),
                _ => ToolChoice::Required,
            }),
            "MODE_UNSPECIFIED" => None,
            other => {
                return Err(invalid(format!(
                    "`toolConfig.functionCallingConfig.mode` '{other}' is not one of AUTO, ANY, NONE, VALIDATED"
                )));
            }
        };
    }
    if !config.is_empty() {
        req.extra.insert("toolConfig".into(), Value::Object(config));
    }
    Ok(())
}

/// Writes a hub request as a Gemini `generateContent` body (no model: it goes in the URL).
pub fn encode_request(req: &ChatRequest) -> Result<Bytes, GatewayError> {
    let mut obj = Map::new();
    let contents = encode_contents(&req.messages)?;
    if contents.is_empty() {
        return Err(invalid("Gemini needs at least one user or model turn; the request has only system text"));
    }
    obj.insert("contents".into(), Value::Array(contents));
    let system: Vec<Value> = req
        .messages
        .iter()
        .filter(|m| matches!(m.role, Role::System | Role::Developer))
        .flat_map(|m| &m.content)
        .filter_map(|b| match b {
            ContentBlock::Text { text } if !text.is_empty() => Some(json!({ "text": text })),
            _ => None,
        })
        .collect();
    if !system.is_empty() {
        obj.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    let mut tools = Vec::new();
    if !req.tools.is_empty() {
        let declarations: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut decl = json!({ "name": t.name });
                if let Some(description) = &t.description {
                    decl["description"] = json!(description);
                }
                // JSON Schema as every other format writes it; `parameters` takes only
                // Google's OpenAPI subset.
                if !t.parameters.is_null() && t.parameters.as_object().is_none_or(|o| !o.is_empty()) {
                    decl["parametersJsonSchema"] = t.parameters.clone();
                }
                decl
            })
            .collect();
        tools.push(json!({ "functionDeclarations": declarations }));
    }
    // Gemini's built-in tools, as its decoder kept them (another format's are gone by now).
    tools
        .extend(req.hosted_tools.iter().filter(|t| BUILT_IN_TOOLS.contains(&t.kind.as_str())).map(|t| t.value.clone()));
    if !tools.is_empty() {
        obj.insert("tools".into(), Value::Array(tools));
    }
    let mut tool_config = match req.extra.get("toolConfig") {
        Some(Value::Object(config)) => config.clone(),
        _ => Map::new(),
    };
    if let Some(choice) = req.tool_choice.as_ref().filter(|_| !req.tools.is_empty()) {
        let calling = match choice {
            ToolChoice::Auto => json!({ "mode": "AUTO" }),
            ToolChoice::None => json!({ "mode": "NONE" }),
            ToolChoice::Required => json!({ "mode": "ANY" }),
            ToolChoice::Tool(name) => json!({ "mode": "ANY", "allowedFunctionNames": [name] }),
        };
        tool_config.insert("functionCallingConfig".into(), calling);
    }
    if !tool_config.is_empty() {
        obj.insert("toolConfig".into(), Value::Object(tool_config));
    }
    let generation = encode_generation_config(req);
    if !generation.is_empty() {
        obj.insert("generationConfig".into(), Value::Object(generation));
    }
    for key in NATIVE_EXTRAS {
        if let Some(value) = req.extra.get(*key) {
            obj.insert((*key).into(), value.clone());
        }
    }
    Ok(Bytes::from(Value::Object(obj).to_string()))
}

/// One Gemini turn being built. Images returned by tools go after the turn's other parts, so
/// a turn's function responses stay together.
struct Turn {
    role: &'static str,
    parts: Vec<Value>,
    media: Vec<Value>,
}

/// Hub messages → contents. System text goes to `systemInstruction` instead; consecutive
/// messages of the same Gemini role share one turn (all the results of one model turn must
/// come back in one user turn).
fn encode_contents(messages: &[Message]) -> Result<Vec<Value>, GatewayError> {
    let mut turns: Vec<Turn> = Vec::new();
    for (index, msg) in messages.iter().enumerate() {
        let role = match msg.role {
            Role::System | Role::Developer => continue,
            Role::Assistant => "model",
            Role::User | Role::Tool => "user",
        };
        let mut writer = PartWriter::default();
        let mut media = PartWriter::default();
        for block in &msg.content {
            let ContentBlock::ToolResult { tool_call_id, content, is_error } = block else {
                writer.block(block);
                continue;
            };
            let name = call_name(&messages[..=index], tool_call_id).ok_or_else(|| {
                invalid(format!(
                    "the tool result for call '{tool_call_id}' has no matching tool call earlier in the \
                     conversation; Gemini needs the function's name"
                ))
            })?;
            let mut response = Map::new();
            if !tool_call_id.is_empty() {
                response.insert("id".into(), json!(tool_call_id));
            }
            response.insert("name".into(), json!(name));
            response.insert("response".into(), response_object(content, *is_error));
            writer.push(json!({ "functionResponse": response }));
            for block in content {
                if matches!(block, ContentBlock::Image { .. } | ContentBlock::Document { .. }) {
                    media.block(block);
                }
            }
        }
        let (parts, media) = (writer.finish(), media.finish());
        if parts.is_empty() && media.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some(last) if last.role == role => {
                last.parts.extend(parts);
                last.media.extend(media);
            }
            _ => turns.push(Turn { role, parts, media }),
        }
    }
    Ok(turns
        .into_iter()
        .map(|turn| {
            let mut parts = turn.parts;
            parts.extend(turn.media);
            if turn.role == "model" {
                add_skip_signature(&mut parts);
            }
            json!({ "role": turn.role, "parts": parts })
        })
        .collect())
}

/// The name of the latest tool call with this id at or before the result.
fn call_name<'a>(messages: &'a [Message], id: &str) -> Option<&'a str> {
    messages.iter().rev().flat_map(|m| m.content.iter().rev()).find_map(|b| match b {
        ContentBlock::ToolCall { id: call_id, name, .. } if call_id == id => Some(name.as_str()),
        _ => None,
    })
}

/// Gemini 3 rejects a model turn whose function calls carry no thought signature; history from
/// another model has none, so the first call gets Google's documented skip value.
fn add_skip_signature(parts: &mut [Value]) {
    let is_call = |p: &Value| p.get("functionCall").is_some();
    if parts.iter().any(|p| is_call(p) && p.get("thoughtSignature").is_some()) {
        return;
    }
    if let Some(first) = parts.iter_mut().find(|p| is_call(p)) {
        first["thoughtSignature"] = json!(SKIP_SIGNATURE);
    }
}
