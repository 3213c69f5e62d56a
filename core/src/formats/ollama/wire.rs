//! Pieces of Ollama's wire shared by the request, response and stream codecs: outgoing message
//! structs, tool-call arguments kept byte-exact (Ollama sends them as JSON objects, the hub
//! keeps them as JSON text), and base64-only images with a sniffed media type.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::hub::MediaSource;
use crate::hub::data_url::{DataUrl, decode_base64_prefix};

/// One message as Ollama writes it (requests, answers and stream lines).
#[derive(Debug, Serialize)]
pub(crate) struct WireMessage {
    pub role: &'static str,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<WireToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl WireMessage {
    pub fn new(role: &'static str, content: String) -> Self {
        WireMessage {
            role,
            content,
            thinking: None,
            images: Vec::new(),
            tool_calls: Vec::new(),
            tool_name: None,
            tool_call_id: None,
        }
    }
}

/// `{"id"?, "function": {"name", "arguments": {...}}}`; recent Ollama versions send `id` too.
#[derive(Debug, Serialize)]
pub(crate) struct WireToolCall {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub function: WireFunction,
}

#[derive(Debug, Serialize)]
pub(crate) struct WireFunction {
    pub name: String,
    /// The hub's argument text, written as the object it is, byte for byte.
    pub arguments: Box<RawValue>,
}

/// An answer object or stream line: `model`, `created_at`, `message`, `done`, `done_reason`,
/// then counts and durations.
#[derive(Debug, Serialize)]
pub(crate) struct WireChunk<'a> {
    pub model: &'a str,
    pub created_at: &'a str,
    pub message: WireMessage,
    pub done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done_reason: Option<&'a str>,
    #[serde(flatten)]
    pub metrics: Map<String, Value>,
}

/// Hub argument text → the object Ollama expects, kept verbatim. Empty text is `{}`; anything
/// that is not a JSON object is an error (described for the caller's message).
pub(crate) fn arguments_to_wire(arguments: &str) -> Result<Box<RawValue>, String> {
    let text = arguments.trim();
    let text = if text.is_empty() { "{}" } else { text };
    if !text.starts_with('{') {
        return Err("are not a JSON object".into());
    }
    RawValue::from_string(text.to_owned()).map_err(|e| format!("are not valid JSON ({e})"))
}

/// Like [`arguments_to_wire`] for answers, which cannot fail: unusable arguments become `{}`.
pub(crate) fn arguments_to_wire_lossy(name: &str, arguments: &str) -> Box<RawValue> {
    arguments_to_wire(arguments).unwrap_or_else(|problem| {
        tracing::warn!(tool = %name, "tool-call arguments {problem}; sent to the ollama client as {{}}");
        RawValue::from_string("{}".to_owned()).unwrap_or_else(|_| Box::<RawValue>::default())
    })
}

/// The raw `function.arguments` of a message's tool calls, read without re-ordering keys.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawMessageCalls<'a> {
    #[serde(borrow, default)]
    pub tool_calls: Option<Vec<RawCall<'a>>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawCall<'a> {
    #[serde(borrow)]
    pub function: RawFunction<'a>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawFunction<'a> {
    #[serde(borrow, default)]
    pub arguments: Option<&'a RawValue>,
}

/// An answer or stream line, for its raw tool-call arguments.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawLine<'a> {
    #[serde(borrow, default)]
    pub message: Option<RawMessageCalls<'a>>,
}

impl<'a> RawLine<'a> {
    /// Parses what it can; a line whose shape is off gives no raw arguments (callers then fall
    /// back to the parsed value).
    pub fn parse(text: &'a str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    pub fn arguments(&self, call: usize) -> Option<&'a RawValue> {
        self.message.as_ref()?.tool_calls.as_ref()?.get(call)?.function.arguments
    }
}

/// A request, for its messages' raw tool-call arguments.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawRequest<'a> {
    #[serde(borrow, default)]
    pub messages: Option<Vec<RawMessageCalls<'a>>>,
}

impl<'a> RawRequest<'a> {
    pub fn parse(text: &'a str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    pub fn arguments(&self, message: usize, call: usize) -> Option<&'a RawValue> {
        self.messages.as_ref()?.get(message)?.tool_calls.as_ref()?.get(call)?.function.arguments
    }
}

/// Wire arguments → hub argument text: the raw object text when there is one (a JSON string is
/// unwrapped, as some clients send), else the parsed value; missing or null is `{}`.
pub(crate) fn arguments_from_wire(raw: Option<&RawValue>, parsed: Option<&Value>) -> String {
    if let Some(raw) = raw {
        let text = raw.get();
        if text.starts_with('"') {
            if let Ok(inner) = serde_json::from_str::<String>(text) {
                return inner;
            }
        } else if text != "null" {
            return compact(text);
        }
    }
    match parsed {
        None | Some(Value::Null) => "{}".into(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// JSON text without the whitespace between tokens (pretty-printed arguments from a client),
/// keys left in their order.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// An Ollama image string → hub media. Plain base64 gets its type from its magic bytes; a
/// `data:` URL (which some clients send) keeps its own.
pub(crate) fn image_from_wire(image: &str) -> MediaSource {
    if DataUrl::parse(image).is_some() {
        return MediaSource::from_url(image);
    }
    MediaSource::Base64 { media_type: sniff_image_type(image).to_owned(), data: image.to_owned() }
}

/// Hub media → the base64 string Ollama takes. A URL cannot be sent (Ollama never fetches
/// one), except a `data:` URL, whose payload is the base64 itself.
pub(crate) fn image_to_wire(source: &MediaSource) -> Result<String, String> {
    match source.inline() {
        Some((_, data)) => Ok(data.to_owned()),
        None => {
            Err("ollama accepts images only as base64 data, not as URLs; send the image inline (base64 or a data: URL)"
                .into())
        }
    }
}

/// PNG, JPEG, GIF or WebP from the first decoded bytes; `image/png` when unsure.
pub(crate) fn sniff_image_type(base64: &str) -> &'static str {
    // 16 characters are 12 bytes: enough for every signature below.
    let bytes = decode_base64_prefix(base64, 16);
    if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        "image/png"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else {
        "image/png"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_four_image_types() {
        assert_eq!(sniff_image_type("iVBORw0KGgoAAAANSUhEUgAAAG0AAABm"), "image/png");
        assert_eq!(sniff_image_type("/9j/4AAQSkZJRgABAQ"), "image/jpeg");
        assert_eq!(sniff_image_type("R0lGODlhAQABAIAAAP"), "image/gif");
        assert_eq!(sniff_image_type("UklGRiQAAABXRUJQVlA4"), "image/webp");
        assert_eq!(sniff_image_type("not base64 at all"), "image/png");
        assert_eq!(sniff_image_type(""), "image/png");
    }

    #[test]
    fn arguments_keep_their_bytes_out_and_their_key_order_in() {
        let text = r#"{"zeta": 1, "alpha": {"b": [1, 2]}}"#;
        assert_eq!(arguments_to_wire(text).unwrap().get(), text);
        assert_eq!(arguments_to_wire("").unwrap().get(), "{}");
        assert!(arguments_to_wire("[1]").is_err());
        assert!(arguments_to_wire("{\"a\":").is_err());
        let raw = RawValue::from_string(text.to_owned()).unwrap();
        assert_eq!(arguments_from_wire(Some(&raw), None), r#"{"zeta":1,"alpha":{"b":[1,2]}}"#);
        let quoted = RawValue::from_string(r#""{\"a\":1}""#.to_owned()).unwrap();
        assert_eq!(arguments_from_wire(Some(&quoted), None), r#"{"a":1}"#);
        assert_eq!(arguments_from_wire(None, None), "{}");
        let pretty = RawValue::from_string("{\n  \"b\": \"x y\\\" \",\n  \"a\": [1, 2]\n}".to_owned()).unwrap();
        assert_eq!(arguments_from_wire(Some(&pretty), None), r#"{"b":"x y\" ","a":[1,2]}"#);
    }

    #[test]
    fn image_urls_are_refused_but_data_urls_pass() {
        assert!(image_to_wire(&MediaSource::Url("https://example.com/cat.png".into())).is_err());
        assert_eq!(image_to_wire(&MediaSource::Url("data:image/png;base64,iVBO".into())).unwrap(), "iVBO");
        assert_eq!(
            image_from_wire("data:image/jpeg;base64,/9j/"),
            MediaSource::Base64 { media_type: "image/jpeg".into(), data: "/9j/".into() }
        );
    }
}
