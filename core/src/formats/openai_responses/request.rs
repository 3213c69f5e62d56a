//! Responses request body → hub request. `instructions` becomes the leading System message;
//! the flat `input` item list is regrouped into turns (an assistant turn collects reasoning,
//! text and function calls; a tool turn collects consecutive `function_call_output`s; system
//! and developer items stay where they are). `previous_response_id` and item references are
//! resolved from stored responses before a body reaches this decoder (`pipeline::stored`), so
//! here they can only be unresolved leftovers; they, and state the gateway does not keep
//! (`conversation`, stored prompts, background mode), are refused with a 400. Tools are read by
//! `request_tools.rs`; a call to a namespaced function takes its flat name. The hub → Responses
//! direction lives in `request_encode.rs`.

use serde_json::{Map, Value, json};

use super::request_tools::{decode_tool_choice, decode_tools};
use super::{ITEM_FORMAT, PART_FORMAT};
use crate::error::GatewayError;
use crate::formats::json_body::{client_object, invalid, take_f64, take_model, take_u64};
use crate::hub::data_url::DataUrl;
use crate::hub::{
    ChatRequest, ContentBlock, MediaSource, Message, Namespaces, ReasoningOptions, ResponseFormat, Role, flat_name,
};

pub use super::request_encode::encode_request;

/// Parses a Responses request body into the hub.
pub fn decode_request(body: &[u8]) -> Result<ChatRequest, GatewayError> {
    let mut obj = client_object(body)?;
    refuse_stateful(&obj)?;
    let model = take_model(&mut obj)?;
    // Tools first: a call in the history to a namespaced function takes its flat name.
    let (tools, hosted_tools) = decode_tools(obj.remove("tools"))?;
    let mut turns = Turns { messages: Vec::new(), names: Namespaces::of(&tools) };
    match obj.remove("instructions") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => turns.push(Role::System, ContentBlock::Text { text }),
        Some(_) => return Err(invalid("`instructions` must be a string")),
    }
    match obj.remove("input") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => turns.push(Role::User, ContentBlock::Text { text }),
        Some(Value::Array(items)) => {
            for (i, item) in items.into_iter().enumerate() {
                decode_item(i, item, &mut turns)?;
            }
        }
        Some(_) => return Err(invalid("`input` must be a string or an array of input items")),
    }
    let mut req = ChatRequest { model, messages: turns.messages, tools, hosted_tools, ..Default::default() };
    req.tool_choice = obj.remove("tool_choice").map(decode_tool_choice).transpose()?.flatten();
    req.sampling.temperature = take_f64(&mut obj, "temperature")?;
    req.sampling.top_p = take_f64(&mut obj, "top_p")?;
    req.sampling.max_tokens = take_u64(&mut obj, "max_output_tokens")?;
    req.parallel_tool_calls = obj.remove("parallel_tool_calls").and_then(|v| v.as_bool());
    req.reasoning = match obj.remove("reasoning") {
        Some(Value::Object(reasoning)) => Some(ReasoningOptions {
            effort: reasoning.get("effort").and_then(Value::as_str).map(str::to_owned),
            budget_tokens: None,
        }),
        _ => None,
    };
    if let Some(Value::Object(mut text)) = obj.remove("text") {
        req.response_format = text.remove("format").map(decode_format).transpose()?.flatten();
        if !text.is_empty() {
            // e.g. `verbosity`: no hub field; written back when encoding to this format.
            obj.insert("text".into(), Value::Object(text));
        }
    }
    req.stream = obj.remove("stream").and_then(|v| v.as_bool()).unwrap_or(false);
    // A Responses stream always ends with the usage in `response.completed`.
    req.stream_usage = req.stream;
    req.user = obj.remove("user").and_then(|v| v.as_str().map(str::to_owned));
    req.extra = obj;
    Ok(req)
}

/// Fields that point at state stored by OpenAI, which a translating gateway cannot honour.
fn refuse_stateful(obj: &Map<String, Value>) -> Result<(), GatewayError> {
    let set = |key: &str| obj.get(key).is_some_and(|v| !v.is_null());
    if set("previous_response_id") {
        return Err(invalid(
            "previous_response_id could not be resolved here: send the request to POST /v1/responses, or send the full conversation in `input`",
        ));
    }
    if set("conversation") {
        return Err(invalid(
            "conversation is not supported: this gateway does not store conversations; send the full conversation in `input`",
        ));
    }
    if set("prompt") {
        return Err(invalid(
            "prompt (a stored prompt template) is not supported: this gateway cannot read stored prompts; send the text in `instructions` and `input`",
        ));
    }
    if obj.get("background").and_then(Value::as_bool) == Some(true) {
        return Err(invalid("background responses are not supported: this gateway does not store responses"));
    }
    Ok(())
}

/// Hub messages being built from the flat item list.
struct Turns {
    messages: Vec<Message>,
    /// The request's namespaced functions, for the calls in the history.
    names: Namespaces,
}

impl Turns {
    /// Appends a block: assistant-side items join the open assistant turn and tool outputs the
    /// open tool turn; every other message item starts a turn of its own.
    fn push(&mut self, role: Role, block: ContentBlock) {
        self.start(role, matches!(role, Role::Assistant | Role::Tool)).content.push(block);
    }

    fn start(&mut self, role: Role, merge: bool) -> &mut Message {
        let reuse = merge && self.messages.last().is_some_and(|m| m.role == role);
        if !reuse {
            self.messages.push(Message { role, content: Vec::new(), name: None, extra: Default::default() });
        }
        let last = self.messages.len() - 1;
        &mut self.messages[last]
    }
}

fn str_field(item: &Value, key: &str) -> Option<String> {
    item.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn decode_item(index: usize, item: Value, turns: &mut Turns) -> Result<(), GatewayError> {
    if !item.is_object() {
        return Err(invalid(format!("input[{index}] must be an object")));
    }
    let kind = match item.get("type").and_then(Value::as_str) {
        Some(kind) => kind.to_owned(),
        None if item.get("role").is_some() => "message".to_owned(),
        None => return Err(invalid(format!("input[{index}] needs a `type` (or a `role` for a message)"))),
    };
    match kind.as_str() {
        "message" => decode_message(index, item, turns),
        "function_call" => {
            let name = str_field(&item, "name").ok_or_else(|| invalid(format!("input[{index}].name is required")))?;
            // A namespaced function: the flat name its tool was given (Codex's own flattening
            // for a function the request no longer offers).
            let name = match item.get("namespace").and_then(Value::as_str) {
                Some(ns) => turns.names.flat(ns, &name).map_or_else(|| flat_name(ns, &name), str::to_owned),
                None => name,
            };
            let call = ContentBlock::ToolCall {
                id: str_field(&item, "call_id").unwrap_or_default(),
                name,
                arguments: str_field(&item, "arguments").unwrap_or_else(|| "{}".into()),
            };
            turns.push(Role::Assistant, call);
            Ok(())
        }
        "function_call_output" => {
            let content = match item.get("output") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::String(text)) if text.is_empty() => Vec::new(),
                Some(Value::String(text)) => vec![ContentBlock::text(text.as_str())],
                Some(Value::Array(parts)) => parts.iter().cloned().map(decode_part).collect(),
                Some(other) => vec![ContentBlock::text(other.to_string())],
            };
            let tool_call_id = str_field(&item, "call_id").unwrap_or_default();
            turns.push(Role::Tool, ContentBlock::ToolResult { tool_call_id, content, is_error: false });
            Ok(())
        }
        "reasoning" => {
            if let Some(thinking) = decode_reasoning(&item, false) {
                turns.push(Role::Assistant, thinking);
            }
            Ok(())
        }
        "item_reference" => Err(invalid(format!(
            "input[{index}] is an item_reference that could not be resolved here: send the request to POST /v1/responses, or send the item itself"
        ))),
        // Built-in tool calls and their outputs (web_search_call, computer_call_output, ...):
        // kept whole, written back only to this format.
        _ => {
            turns.push(Role::Assistant, ContentBlock::Unknown { format: ITEM_FORMAT.into(), value: item });
            Ok(())
        }
    }
}

fn decode_message(index: usize, mut item: Value, turns: &mut Turns) -> Result<(), GatewayError> {
    let role = match item.get("role").and_then(Value::as_str) {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("system") => Role::System,
        Some("developer") => Role::Developer,
        Some(other) => {
            return Err(invalid(format!(
                "input[{index}].role '{other}' is not one of user, assistant, system, developer"
            )));
        }
        None => return Err(invalid(format!("input[{index}].role is required"))),
    };
    let blocks = match item.get_mut("content").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => vec![ContentBlock::Text { text }],
        Some(Value::Array(parts)) => parts.into_iter().map(decode_part).collect(),
        Some(_) => return Err(invalid(format!("input[{index}].content must be a string or an array of parts"))),
    };
    let message = turns.start(role, role == Role::Assistant);
    message.content.extend(blocks);
    Ok(())
}

/// A reasoning item → Thinking: the summary (or, from open-weight servers, the raw reasoning
/// text) as text, `encrypted_content` as the signature (marked as ours when it comes from an
/// upstream, verbatim from a client). An item with neither is dropped.
pub(crate) fn decode_reasoning(item: &Value, from_upstream: bool) -> Option<ContentBlock> {
    let texts = |key: &str| -> Vec<&str> {
        item.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect()
    };
    let mut parts = texts("summary");
    if parts.is_empty() {
        parts = texts("content");
    }
    let text = parts.join("\n\n");
    let signature = item
        .get("encrypted_content")
        .and_then(Value::as_str)
        .map(|enc| if from_upstream { super::signature_from_upstream(enc) } else { enc.to_owned() });
    if text.is_empty() && signature.is_none() {
        return None;
    }
    Some(ContentBlock::Thinking { text, signature })
}

/// One content part of a message or a function call output.
pub(crate) fn decode_part(part: Value) -> ContentBlock {
    let text_of = |key: &str| part.get(key).and_then(Value::as_str).map(str::to_owned);
    let block = match part.get("type").and_then(Value::as_str) {
        Some("input_text" | "output_text" | "text") => text_of("text").map(|text| ContentBlock::Text { text }),
        Some("refusal") => text_of("refusal").map(|text| ContentBlock::Text { text }),
        Some("input_image") => text_of("image_url")
            .map(|url| ContentBlock::Image { source: media_from_url(&url, None), detail: text_of("detail") }),
        Some("input_file") => {
            let name = text_of("filename");
            match (text_of("file_data"), text_of("file_url")) {
                (Some(data), _) => {
                    Some(ContentBlock::Document { source: media_from_url(&data, name.as_deref()), name })
                }
                (None, Some(url)) => Some(ContentBlock::Document { source: MediaSource::Url(url), name }),
                _ => None,
            }
        }
        _ => None,
    };
    block.unwrap_or(ContentBlock::Unknown { format: PART_FORMAT.into(), value: part })
}

/// `data:<type>;base64,<data>` → base64 media. A bare base64 `file_data` (given with a file
/// name) is base64 too; anything else is a URL.
fn media_from_url(url: &str, filename: Option<&str>) -> MediaSource {
    if DataUrl::parse(url).is_some() {
        return MediaSource::from_url(url);
    }
    if let Some(name) = filename
        && !url.contains("://")
    {
        let media_type =
            if name.to_ascii_lowercase().ends_with(".pdf") { "application/pdf" } else { "application/octet-stream" };
        return MediaSource::Base64 { media_type: media_type.to_owned(), data: url.to_owned() };
    }
    MediaSource::Url(url.to_owned())
}

fn decode_format(format: Value) -> Result<Option<ResponseFormat>, GatewayError> {
    Ok(match format.get("type").and_then(Value::as_str) {
        None if format.is_null() => None,
        Some("text") => Some(ResponseFormat::Text),
        Some("json_object") => Some(ResponseFormat::JsonObject),
        Some("json_schema") => Some(ResponseFormat::JsonSchema {
            name: format.get("name").and_then(Value::as_str).unwrap_or("response").to_owned(),
            schema: format.get("schema").cloned().unwrap_or_else(|| json!({})),
            strict: format.get("strict").and_then(Value::as_bool),
        }),
        _ => return Err(invalid("`text.format.type` must be text, json_object or json_schema")),
    })
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
