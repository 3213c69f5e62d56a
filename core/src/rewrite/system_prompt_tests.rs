use serde_json::{Value, json};

use super::*;
use crate::formats;

const PROMPT: &str = "Answer in French.";

fn edited(format: WireFormat, body: Value) -> Value {
    let mut raw = RawObject::parse(body.to_string().as_bytes()).unwrap();
    prepend_to_body(format, &mut raw, PROMPT).unwrap();
    serde_json::from_slice(&raw.to_bytes()).unwrap()
}

#[test]
fn openai_messages_get_a_system_message_or_share_theirs() {
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(
        edited(WireFormat::OpenaiChat, body)["messages"],
        json!([{"role": "system", "content": PROMPT}, {"role": "user", "content": "hi"}])
    );
    let own = json!({"model": "m", "messages": [{"role": "developer", "content": "Be terse."}, {"role": "user", "content": "hi"}]});
    let out = edited(WireFormat::OpenaiChat, own);
    assert_eq!(out["messages"][0], json!({"role": "developer", "content": "Answer in French.\n\nBe terse."}));
    assert_eq!(out["messages"].as_array().unwrap().len(), 2);
    let parts =
        json!({"model": "m", "messages": [{"role": "system", "content": [{"type": "text", "text": "Be terse."}]}]});
    assert_eq!(
        edited(WireFormat::OpenaiChat, parts)["messages"][0]["content"],
        json!([{"type": "text", "text": PROMPT}, {"type": "text", "text": "Be terse."}])
    );
}

#[test]
fn ollama_merges_only_into_a_system_message() {
    let body = json!({"model": "m", "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}]});
    assert_eq!(edited(WireFormat::Ollama, body)["messages"][0]["content"], "Answer in French.\n\nBe terse.");
    let dev = json!({"model": "m", "messages": [{"role": "developer", "content": "x"}]});
    assert_eq!(edited(WireFormat::Ollama, dev)["messages"][0], json!({"role": "system", "content": PROMPT}));
}

#[test]
fn responses_instructions_anthropic_system_and_gemini_system_instruction() {
    let out = edited(WireFormat::OpenaiResponses, json!({"model": "m", "input": "hi"}));
    assert_eq!(out["instructions"], PROMPT);
    let out = edited(WireFormat::OpenaiResponses, json!({"model": "m", "input": "hi", "instructions": "Be terse."}));
    assert_eq!(out["instructions"], "Answer in French.\n\nBe terse.");

    let out = edited(WireFormat::Anthropic, json!({"model": "m", "messages": []}));
    assert_eq!(out["system"], PROMPT);
    let out = edited(WireFormat::Anthropic, json!({"model": "m", "messages": [], "system": "Be terse."}));
    assert_eq!(out["system"], "Answer in French.\n\nBe terse.");
    let blocks = json!({"model": "m", "messages": [], "system": [{"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}]});
    assert_eq!(
        edited(WireFormat::Anthropic, blocks)["system"],
        json!([{"type": "text", "text": PROMPT}, {"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}])
    );

    let out = edited(WireFormat::Gemini, json!({"contents": []}));
    assert_eq!(out["systemInstruction"], json!({"parts": [{"text": PROMPT}]}));
    let out =
        edited(WireFormat::Gemini, json!({"contents": [], "system_instruction": {"parts": {"text": "Be terse."}}}));
    assert_eq!(out["system_instruction"], json!({"parts": [{"text": PROMPT}, {"text": "Be terse."}]}));
    assert!(out.get("systemInstruction").is_none(), "the client's spelling is kept");
}

#[test]
fn the_rest_of_the_body_keeps_its_bytes() {
    let body = br#"{"model":"m","temperature":0.70,"messages":[{"role":"user","content":"hi"}],"x_unknown":{"a":1e2}}"#;
    let mut raw = RawObject::parse(body).unwrap();
    prepend_to_body(WireFormat::OpenaiChat, &mut raw, PROMPT).unwrap();
    assert_eq!(
        std::str::from_utf8(&raw.to_bytes()).unwrap(),
        r#"{"model":"m","temperature":0.70,"messages":[{"content":"Answer in French.","role":"system"},{"role":"user","content":"hi"}],"x_unknown":{"a":1e2}}"#
    );
}

#[test]
fn the_hub_gets_it_first_in_every_target_format() {
    let mut req = formats::decode_request(
        WireFormat::OpenaiChat,
        br#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
    )
    .unwrap();
    prepend_to_hub(&mut req, PROMPT);
    assert_eq!(req.messages[0].role, Role::System);
    let anthropic: Value =
        serde_json::from_slice(&formats::encode_request(WireFormat::Anthropic, &req).unwrap()).unwrap();
    assert_eq!(anthropic["system"], PROMPT);
    let gemini: Value = serde_json::from_slice(&formats::encode_request(WireFormat::Gemini, &req).unwrap()).unwrap();
    assert_eq!(gemini["systemInstruction"]["parts"][0]["text"], PROMPT);

    let mut own = formats::decode_request(
        WireFormat::Anthropic,
        br#"{"model":"m","max_tokens":5,"system":"Be terse.","messages":[{"role":"user","content":"hi"}]}"#,
    )
    .unwrap();
    prepend_to_hub(&mut own, PROMPT);
    let responses: Value =
        serde_json::from_slice(&formats::encode_request(WireFormat::OpenaiResponses, &own).unwrap()).unwrap();
    assert_eq!(responses["instructions"], "Answer in French.\n\nBe terse.");
}
