//! System turns anywhere in a conversation, from every client format to every provider format:
//! kept in place where the provider's format takes system messages mid-conversation (OpenAI
//! chat, Ollama, Responses input items), merged in order into the system slot where it does not
//! (Anthropic's `system`, Gemini's `systemInstruction`).

use serde_json::Value;

use super::test_support::{ALL_FORMATS, json_of};
use super::{decode_request, encode_request};
use crate::hub::Role;
use crate::providers::WireFormat;

/// A provider body read back: the system slot's texts, and every turn as (role, text) in order
/// (system turns kept in place included).
#[derive(Debug, PartialEq)]
struct Shape {
    slot: Vec<String>,
    turns: Vec<(String, String)>,
}

/// The text of an OpenAI-style or Anthropic content (a string, or the text of its blocks).
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect(),
        _ => String::new(),
    }
}

fn turns_of(messages: &Value, content_key: &str) -> Vec<(String, String)> {
    messages
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| (m["role"].as_str().unwrap_or_default().to_owned(), text_of(&m[content_key])))
        .collect()
}

fn shape(format: WireFormat, body: &Value) -> Shape {
    match format {
        WireFormat::OpenaiChat | WireFormat::Ollama => {
            Shape { slot: vec![], turns: turns_of(&body["messages"], "content") }
        }
        WireFormat::OpenaiResponses => Shape {
            slot: body["instructions"].as_str().map(str::to_owned).into_iter().collect(),
            turns: turns_of(&body["input"], "content"),
        },
        WireFormat::Anthropic => {
            let slot = match &body["system"] {
                Value::String(text) => vec![text.clone()],
                Value::Array(blocks) => {
                    blocks.iter().map(|b| b["text"].as_str().unwrap_or_default().to_owned()).collect()
                }
                _ => vec![],
            };
            Shape { slot, turns: turns_of(&body["messages"], "content") }
        }
        WireFormat::Gemini => {
            let parts = body["systemInstruction"]["parts"].as_array().cloned().unwrap_or_default();
            let slot = parts.iter().map(|p| p["text"].as_str().unwrap_or_default().to_owned()).collect();
            let turns = body["contents"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| (c["role"].as_str().unwrap_or_default().to_owned(), text_of(&c["parts"])))
                .collect();
            Shape { slot, turns }
        }
    }
}

fn turn(role: &str, text: &str) -> (String, String) {
    (role.to_owned(), text.to_owned())
}

/// What each provider must get for a conversation `S0 (system slot), U1, S1, A1, S2, U2`, where
/// `mid` is the role a mid-conversation system turn keeps where it stays in place.
fn expected(provider: WireFormat, mid: [&str; 2]) -> Shape {
    let texts = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    match provider {
        WireFormat::OpenaiChat | WireFormat::Ollama => {
            let mid = if provider == WireFormat::Ollama { ["system", "system"] } else { mid };
            Shape {
                slot: vec![],
                turns: vec![
                    turn("system", "S0"),
                    turn("user", "U1"),
                    turn(mid[0], "S1"),
                    turn("assistant", "A1"),
                    turn(mid[1], "S2"),
                    turn("user", "U2"),
                ],
            }
        }
        WireFormat::OpenaiResponses => Shape {
            slot: texts(&["S0"]),
            turns: vec![
                turn("user", "U1"),
                turn(mid[0], "S1"),
                turn("assistant", "A1"),
                turn(mid[1], "S2"),
                turn("user", "U2"),
            ],
        },
        WireFormat::Anthropic => Shape {
            slot: texts(&["S0", "S1", "S2"]),
            turns: vec![turn("user", "U1"), turn("assistant", "A1"), turn("user", "U2")],
        },
        WireFormat::Gemini => Shape {
            slot: texts(&["S0", "S1", "S2"]),
            turns: vec![turn("user", "U1"), turn("model", "A1"), turn("user", "U2")],
        },
    }
}

/// The same conversation as each client format writes it, and the roles its mid-conversation
/// system turns have.
fn client_bodies() -> Vec<(WireFormat, &'static str, [&'static str; 2])> {
    vec![
        // Claude Code: its environment as a system turn right after the first user turn.
        (
            WireFormat::Anthropic,
            r#"{"model":"m","max_tokens":100,"system":[{"type":"text","text":"S0"}],"messages":[
                {"role":"user","content":"U1"},
                {"role":"system","content":"S1"},
                {"role":"assistant","content":[{"type":"text","text":"A1"}]},
                {"role":"system","content":[{"type":"text","text":"S2"}]},
                {"role":"user","content":"U2"}]}"#,
            ["system", "system"],
        ),
        (
            WireFormat::OpenaiChat,
            r#"{"model":"m","messages":[
                {"role":"system","content":"S0"},
                {"role":"user","content":"U1"},
                {"role":"system","content":"S1"},
                {"role":"assistant","content":"A1"},
                {"role":"developer","content":[{"type":"text","text":"S2"}]},
                {"role":"user","content":"U2"}]}"#,
            ["system", "developer"],
        ),
        (
            WireFormat::OpenaiResponses,
            r#"{"model":"m","instructions":"S0","input":[
                {"role":"user","content":"U1"},
                {"type":"message","role":"system","content":[{"type":"input_text","text":"S1"}]},
                {"role":"assistant","content":"A1"},
                {"role":"developer","content":"S2"},
                {"role":"user","content":"U2"}]}"#,
            ["system", "developer"],
        ),
        (
            WireFormat::Ollama,
            r#"{"model":"m","stream":false,"messages":[
                {"role":"system","content":"S0"},
                {"role":"user","content":"U1"},
                {"role":"system","content":"S1"},
                {"role":"assistant","content":"A1"},
                {"role":"system","content":"S2"},
                {"role":"user","content":"U2"}]}"#,
            ["system", "system"],
        ),
    ]
}

#[test]
fn system_turns_stay_in_place_or_join_the_system_slot_in_order() {
    for (client, body, mid) in client_bodies() {
        let hub = decode_request(client, body.as_bytes()).unwrap_or_else(|e| panic!("{client:?}: {e}"));
        let roles: Vec<Role> = hub.messages.iter().map(|m| m.role).collect();
        assert_eq!(roles.iter().filter(|r| matches!(r, Role::System | Role::Developer)).count(), 3, "{client:?}");
        assert_eq!(
            roles[2],
            if mid[0] == "developer" { Role::Developer } else { Role::System },
            "{client:?}: in place"
        );
        for provider in ALL_FORMATS {
            let mut request = hub.clone();
            if provider != client {
                request.drop_extras();
            }
            let wire = json_of(&encode_request(provider, &request).unwrap());
            assert_eq!(shape(provider, &wire), expected(provider, mid), "{client:?} → {provider:?}\n{wire}");
        }
    }
}

/// Gemini's only system text is `systemInstruction`; it reaches each provider's system slot.
#[test]
fn geminis_system_instruction_reaches_every_system_slot() {
    let body = r#"{"systemInstruction":{"parts":[{"text":"S0"},{"text":"S1"}]},"contents":[
        {"role":"user","parts":[{"text":"U1"}]},{"role":"model","parts":[{"text":"A1"}]},{"role":"user","parts":[{"text":"U2"}]}]}"#;
    let mut hub = decode_request(WireFormat::Gemini, body.as_bytes()).unwrap();
    hub.model = "m".into();
    for provider in ALL_FORMATS {
        let wire = json_of(&encode_request(provider, &hub).unwrap());
        let shape = shape(provider, &wire);
        // One system message of two text blocks: each format writes it its own way.
        let (slot, first): (Vec<&str>, Option<(&str, &str)>) = match provider {
            WireFormat::OpenaiChat => (vec![], Some(("system", "S0S1"))),
            WireFormat::Ollama => (vec![], Some(("system", "S0\nS1"))),
            WireFormat::OpenaiResponses => (vec!["S0\n\nS1"], Some(("user", "U1"))),
            WireFormat::Anthropic | WireFormat::Gemini => (vec!["S0", "S1"], Some(("user", "U1"))),
        };
        assert_eq!(shape.slot, slot, "{provider:?}\n{wire}");
        assert_eq!(shape.turns.first().map(|(r, t)| (r.as_str(), t.as_str())), first, "{provider:?}\n{wire}");
    }
}
