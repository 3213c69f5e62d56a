//! Gemini `Part` ⇄ hub content blocks, shared by requests, responses and streams: text, thought
//! parts and their `thoughtSignature`, inline and file media, function calls and responses.
//!
//! Signatures: a `thought` part keeps its signature on its Thinking block. A signature on any
//! other part (Gemini puts them on function calls and final text parts) becomes a Thinking
//! block with empty text and that signature, placed just before the part's own block; encoding
//! attaches such a signature to the next part again.

use serde_json::{Map, Value, json};

use super::{as_list, field, real_signature};
use crate::hub::{ContentBlock, MediaSource};

pub(crate) const FORMAT: &str = "gemini";

/// What one wire part holds, before ids are assigned.
pub(crate) enum PartKind {
    Text(String),
    Thought(String),
    /// Image, document or a part the hub does not model.
    Block(ContentBlock),
    Call {
        id: Option<String>,
        name: String,
        args: Value,
    },
    Response {
        id: Option<String>,
        name: String,
        response: Value,
        parts: Vec<ContentBlock>,
    },
}

/// One wire part: its kind and its (non-dummy) thought signature.
pub(crate) struct WirePart {
    pub signature: Option<String>,
    pub kind: PartKind,
}

/// Reads one part. Never fails: a part the hub does not model becomes `Unknown`.
pub(crate) fn read_part(part: &Value) -> WirePart {
    let signature = real_signature(part);
    let kind = read_kind(part).unwrap_or_else(|| PartKind::Block(unknown(part)));
    WirePart { signature, kind }
}

fn read_kind(part: &Value) -> Option<PartKind> {
    if let Some(text) = field(part, "text") {
        let text = text.as_str()?.to_owned();
        let thought = field(part, "thought").and_then(Value::as_bool).unwrap_or(false);
        return Some(if thought { PartKind::Thought(text) } else { PartKind::Text(text) });
    }
    if let Some(call) = field(part, "functionCall") {
        return Some(PartKind::Call {
            id: string_field(call, "id"),
            name: string_field(call, "name")?,
            args: field(call, "args").cloned().unwrap_or_else(|| json!({})),
        });
    }
    if let Some(resp) = field(part, "functionResponse") {
        return Some(PartKind::Response {
            id: string_field(resp, "id"),
            name: string_field(resp, "name")?,
            response: field(resp, "response").cloned().unwrap_or_else(|| json!({})),
            parts: as_list(field(resp, "parts")).into_iter().filter_map(media_block).collect(),
        });
    }
    if field(part, "thought").and_then(Value::as_bool) == Some(true) {
        // A thought part with only a signature.
        return Some(PartKind::Thought(String::new()));
    }
    media_block(part).map(PartKind::Block)
}

fn string_field(value: &Value, key: &str) -> Option<String> {
    field(value, key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// `inlineData` / `fileData` → Image (image types) or Document (anything else).
fn media_block(part: &Value) -> Option<ContentBlock> {
    let (media_type, source) = if let Some(inline) = field(part, "inlineData") {
        let media_type = string_field(inline, "mimeType").unwrap_or_else(|| "application/octet-stream".into());
        let data = field(inline, "data")?.as_str()?.to_owned();
        (media_type.clone(), MediaSource::Base64 { media_type, data })
    } else if let Some(file) = field(part, "fileData") {
        let uri = string_field(file, "fileUri")?;
        let media_type = string_field(file, "mimeType").unwrap_or_else(|| guess_mime(&uri, "image/jpeg").to_owned());
        (media_type, MediaSource::Url(uri))
    } else {
        return None;
    };
    Some(if media_type.starts_with("image/") {
        ContentBlock::Image { source, detail: None }
    } else {
        ContentBlock::Document { source, name: None }
    })
}

pub(crate) fn unknown(value: &Value) -> ContentBlock {
    ContentBlock::Unknown { format: FORMAT.into(), value: value.clone() }
}

/// A MIME type from a URL's file extension, or `fallback`.
pub(crate) fn guess_mime<'a>(url: &str, fallback: &'a str) -> &'a str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "mp3" => "audio/mp3",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        _ => fallback,
    }
}

/// Hub blocks of a model/user part (not a function response), given the id to use for a call.
pub(crate) fn blocks_of(part: WirePart, call_id: impl FnOnce(&str, &Value) -> String) -> Vec<ContentBlock> {
    let mut out = Vec::new();
    if let PartKind::Thought(text) = part.kind {
        if !text.is_empty() || part.signature.is_some() {
            out.push(ContentBlock::Thinking { text, signature: part.signature });
        }
        return out;
    }
    if let Some(signature) = part.signature {
        out.push(ContentBlock::Thinking { text: String::new(), signature: Some(signature) });
    }
    match part.kind {
        PartKind::Text(text) if text.is_empty() => {}
        PartKind::Text(text) => out.push(ContentBlock::Text { text }),
        PartKind::Block(block) => out.push(block),
        PartKind::Call { id, name, args } => {
            let id = id.unwrap_or_else(|| call_id(&name, &args));
            out.push(ContentBlock::ToolCall { id, name, arguments: args_string(&args) });
        }
        PartKind::Response { .. } | PartKind::Thought(_) => {}
    }
    out
}

/// `args` object → the hub's JSON arguments string.
pub(crate) fn args_string(args: &Value) -> String {
    match args {
        Value::Null => "{}".into(),
        other => other.to_string(),
    }
}

/// The hub's JSON arguments string → Gemini's `args` object. Empty arguments are `{}`; text
/// that is not a JSON object (a model's broken output echoed back) is kept under `arguments`.
pub(crate) fn args_object(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return json!({});
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(obj)) => Value::Object(obj),
        _ => json!({ "arguments": arguments }),
    }
}

/// A function response's `response` object → tool-result content and whether it is an error.
/// `{"result": "text"}` (what we write) gives back the text; `{"error": …}` alone is an error.
pub(crate) fn response_content(response: &Value) -> (Vec<ContentBlock>, bool) {
    let single = response.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next());
    match single {
        Some((key, Value::String(text))) if key == "result" => (vec![ContentBlock::text(text.clone())], false),
        Some((key, Value::String(text))) if key == "error" => (vec![ContentBlock::text(text.clone())], true),
        Some((key, value)) if key == "error" => (vec![ContentBlock::text(value.to_string())], true),
        _ => (vec![ContentBlock::text(response.to_string())], false),
    }
}

/// Tool-result content → a `response` object: the text's JSON object when it is one, else
/// `{"result": text}` (`{"error": …}` for failed calls, as Google's docs suggest).
pub(crate) fn response_object(content: &[ContentBlock], is_error: bool) -> Value {
    let text: String = content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let parsed = serde_json::from_str::<Value>(&text).ok().filter(Value::is_object);
    match (parsed, is_error) {
        (Some(obj), false) => obj,
        (Some(obj), true) => json!({ "error": obj }),
        (None, false) => json!({ "result": text }),
        (None, true) => json!({ "error": text }),
    }
}

/// Builds a list of wire parts, moving signature-only Thinking blocks onto the next part.
#[derive(Default)]
pub(crate) struct PartWriter {
    pub parts: Vec<Value>,
    pending: Option<String>,
}

impl PartWriter {
    pub fn push(&mut self, mut part: Value) {
        if part.get("thoughtSignature").is_none()
            && let Some(signature) = self.pending.take()
        {
            part["thoughtSignature"] = json!(signature);
        }
        self.parts.push(part);
    }

    /// A signature with no thought text: it goes on the next part.
    pub fn signature(&mut self, signature: &str) {
        if let Some(previous) = self.pending.replace(signature.to_owned()) {
            self.attach_to_last(previous);
        }
    }

    fn attach_to_last(&mut self, signature: String) {
        if let Some(last) = self.parts.iter_mut().rev().find(|p| p.get("thoughtSignature").is_none()) {
            last["thoughtSignature"] = json!(signature);
        }
    }

    /// The parts; a signature still pending goes on the last part that has none (dropped if
    /// there is none: Gemini rejects empty text parts in requests).
    pub fn finish(mut self) -> Vec<Value> {
        if let Some(signature) = self.pending.take() {
            self.attach_to_last(signature);
        }
        self.parts
    }

    /// Writes one block that is not a tool result. Blocks Gemini has no place for are dropped.
    pub fn block(&mut self, block: &ContentBlock) {
        match block {
            ContentBlock::Text { text } if !text.is_empty() => self.push(json!({ "text": text })),
            ContentBlock::Image { source, .. } => self.push(media_part(source, "image/jpeg")),
            ContentBlock::Document { source, .. } => self.push(media_part(source, "application/pdf")),
            ContentBlock::ToolCall { id, name, arguments } => self.push(function_call(id, name, arguments)),
            ContentBlock::Thinking { text, signature: Some(signature) } if text.is_empty() => self.signature(signature),
            ContentBlock::Thinking { text, signature } if !text.is_empty() => {
                let mut part = json!({ "text": text, "thought": true });
                if let Some(signature) = signature {
                    part["thoughtSignature"] = json!(signature);
                }
                self.push(part);
            }
            ContentBlock::Unknown { format, value } if format == FORMAT => self.push(value.clone()),
            // Empty text and thinking, Anthropic's redacted thinking, other formats' unknown parts; tool
            // results are written by the caller, which knows the function's name.
            _ => {}
        }
    }
}

/// A `functionCall` part (the id only when there is one).
pub(crate) fn function_call(id: &str, name: &str, arguments: &str) -> Value {
    let mut call = Map::new();
    if !id.is_empty() {
        call.insert("id".into(), json!(id));
    }
    call.insert("name".into(), json!(name));
    call.insert("args".into(), args_object(arguments));
    json!({ "functionCall": call })
}

/// `inlineData` for base64, `fileData` (type guessed from the extension) for a URL; a data URL
/// becomes `inlineData`.
pub(crate) fn media_part(source: &MediaSource, fallback: &str) -> Value {
    match source.inline() {
        Some((media_type, data)) => json!({ "inlineData": { "mimeType": media_type, "data": data } }),
        // Not inline: a URL for Gemini to fetch.
        None => {
            let url = source.to_url();
            json!({ "fileData": { "mimeType": guess_mime(&url, fallback), "fileUri": url } })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_signatures_go_on_the_next_part_or_the_last() {
        let mut w = PartWriter::default();
        w.block(&ContentBlock::Thinking { text: String::new(), signature: Some("s1".into()) });
        w.block(&ContentBlock::ToolCall { id: String::new(), name: "f".into(), arguments: String::new() });
        w.block(&ContentBlock::text("done"));
        w.block(&ContentBlock::Thinking { text: String::new(), signature: Some("s2".into()) });
        let parts = w.finish();
        assert_eq!(parts[0], json!({ "functionCall": { "name": "f", "args": {} }, "thoughtSignature": "s1" }));
        assert_eq!(parts[1], json!({ "text": "done", "thoughtSignature": "s2" }));
    }

    #[test]
    fn tool_results_map_to_response_objects_and_back() {
        for (content, is_error, wire) in [
            ("22C", false, json!({ "result": "22C" })),
            (r#"{"temp":22}"#, false, json!({ "temp": 22 })),
            ("boom", true, json!({ "error": "boom" })),
        ] {
            let blocks = vec![ContentBlock::text(content)];
            assert_eq!(response_object(&blocks, is_error), wire);
            let (back, err) = response_content(&wire);
            assert_eq!(err, is_error);
            let ContentBlock::Text { text } = &back[0] else { panic!() };
            assert_eq!(serde_json::from_str::<Value>(text).ok(), serde_json::from_str::<Value>(content).ok());
        }
    }

    #[test]
    fn urls_guess_their_type() {
        assert_eq!(guess_mime("https://x/a.PNG?x=1", "image/jpeg"), "image/png");
        assert_eq!(guess_mime("https://x/a", "image/jpeg"), "image/jpeg");
        assert_eq!(args_object("not json"), json!({ "arguments": "not json" }));
    }
}
