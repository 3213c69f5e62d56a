//! Response cache keys: SHA-256 over a canonical JSON of the parts of a request that change the answer.
//!
//! In the key: the resolved model, messages (role, content, name), tools (hosted ones too), tool
//! choice, response format, reasoning options, `parallel_tool_calls` and every sampling parameter (temperature,
//! top_p, top_k, max_tokens, stop, seed, penalties). Not in it: `stream` and `stream_usage` (a
//! streaming request may be answered from a non-streamed one and back), `user`, and the
//! unmodelled `extra` maps of the request and its messages (they are per client format, and the
//! key must not depend on the format the request came in).
//!
//! An absent temperature and temperature 0 give the same key: [`readable`] lets a request without
//! a temperature read what a temperature-0 request wrote, and only temperature 0 writes
//! ([`writable`]).

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::hub::{
    ChatRequest, ContentBlock, HostedTool, ReasoningOptions, ResponseFormat, Role, Sampling, ToolChoice, ToolDefinition,
};

/// Bumped when the canonical form changes, so old store entries are not read with a new meaning.
const KEY_VERSION: u32 = 1;

/// The hex SHA-256 of the output-affecting parts of `req`, with `resolved_model` in place of
/// the model the client named (an alias and its target share entries).
pub fn cache_key(req: &ChatRequest, resolved_model: &str) -> String {
    digest(req, resolved_model, |_| true)
}

/// The semantic cache's scope of `req`: [`cache_key`] over everything but the conversation
/// (model, system and developer messages, tools, output options, sampling). Only requests of
/// one scope are compared by meaning, so an answer never crosses models or system prompts.
pub fn semantic_scope(req: &ChatRequest, resolved_model: &str) -> String {
    digest(req, resolved_model, |role| matches!(role, Role::System | Role::Developer))
}

/// The conversation the semantic cache compares: each user and assistant turn as
/// `role: text`, one per line. `None` when a turn holds anything but text (images, tool calls
/// and results, documents, reasoning): those do not compare by text, so they stay exact-only.
pub fn semantic_text(req: &ChatRequest) -> Option<String> {
    let mut text = String::new();
    for message in req.messages.iter().filter(|m| !matches!(m.role, Role::System | Role::Developer)) {
        let role = match message.role {
            Role::User => "user",
            Role::Assistant => "assistant",
            _ => return None,
        };
        text.push_str(role);
        text.push(':');
        for block in &message.content {
            let ContentBlock::Text { text: part } = block else { return None };
            text.push(' ');
            text.push_str(part);
        }
        text.push('\n');
    }
    (!text.is_empty()).then_some(text)
}

fn digest(req: &ChatRequest, resolved_model: &str, keep: impl Fn(Role) -> bool) -> String {
    let view = KeyView {
        version: KEY_VERSION,
        model: resolved_model,
        messages: req
            .messages
            .iter()
            .filter(|m| keep(m.role))
            .map(|m| MessageView { role: m.role, content: &m.content, name: m.name.as_deref() })
            .collect(),
        tools: &req.tools,
        hosted_tools: &req.hosted_tools,
        tool_choice: req.tool_choice.as_ref(),
        response_format: req.response_format.as_ref(),
        reasoning: req.reasoning.as_ref(),
        parallel_tool_calls: req.parallel_tool_calls,
        sampling: normalized_sampling(&req.sampling),
    };
    let canonical = match serde_json::to_value(&view) {
        Ok(value) => {
            // Bytes written by serde_json into one buffer, hashed once (no per-leaf strings).
            let mut out = Vec::with_capacity(512);
            write_canonical(&value, &mut out);
            out
        }
        // Not reachable for these types (string keys only); the Debug form still tells requests
        // apart, so a failure costs a cache miss, never a wrong answer.
        Err(_) => format!("debug:{resolved_model}:{req:?}").into_bytes(),
    };
    hex::encode(Sha256::digest(&canonical))
}

/// Whether the cache may answer `req`: temperature absent or 0.
pub fn readable(req: &ChatRequest) -> bool {
    matches!(req.sampling.temperature, None | Some(0.0))
}

/// Whether `req`'s answer may be stored: only an explicit temperature 0. An absent temperature
/// means the provider's default (usually above 0), so its answer is not deterministic enough to
/// serve to others, though such a request may read a stored temperature-0 answer.
pub fn writable(req: &ChatRequest) -> bool {
    req.sampling.temperature == Some(0.0)
}

#[derive(Serialize)]
struct KeyView<'a> {
    version: u32,
    model: &'a str,
    messages: Vec<MessageView<'a>>,
    tools: &'a [ToolDefinition],
    /// Left out when empty, so the keys of requests without hosted tools stay as they were.
    #[serde(skip_serializing_if = "<[HostedTool]>::is_empty")]
    hosted_tools: &'a [HostedTool],
    tool_choice: Option<&'a ToolChoice>,
    response_format: Option<&'a ResponseFormat>,
    reasoning: Option<&'a ReasoningOptions>,
    parallel_tool_calls: Option<bool>,
    sampling: Sampling,
}

#[derive(Serialize)]
struct MessageView<'a> {
    role: Role,
    content: &'a [ContentBlock],
    name: Option<&'a str>,
}

/// Temperature absent, 0 and -0 all become 0 (see the module docs).
fn normalized_sampling(sampling: &Sampling) -> Sampling {
    let temperature = match sampling.temperature {
        None | Some(0.0) => 0.0,
        Some(t) => t,
    };
    Sampling { temperature: Some(temperature), ..sampling.clone() }
}

/// Compact JSON with every object's keys sorted, whatever order the map kept them in; keys and
/// leaves are written by serde_json straight into `out` (no per-leaf strings).
fn write_canonical(value: &Value, out: &mut impl std::io::Write) {
    // Writing into a hasher or a Vec cannot fail, and the leaves always serialize.
    let _ = write_canonical_inner(value, out);
}

fn write_canonical_inner(value: &Value, out: &mut impl std::io::Write) -> std::io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // Already in order when serde_json's map is the sorted one (no `preserve_order`).
            if !entries.is_sorted_by(|a, b| a.0 <= b.0) {
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            }
            out.write_all(b"{")?;
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical_inner(item, out)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical_inner(item, out)?;
            }
            out.write_all(b"]")
        }
        leaf => serde_json::to_writer(&mut *out, leaf).map_err(std::io::Error::from),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Message;
    use serde_json::json;

    fn request() -> ChatRequest {
        ChatRequest {
            model: "fast".into(),
            messages: vec![
                Message {
                    role: Role::System,
                    content: vec![ContentBlock::Text { text: "Be brief.".into() }],
                    name: None,
                    extra: Default::default(),
                },
                Message {
                    role: Role::User,
                    content: vec![ContentBlock::Text { text: "What is 2+2?".into() }],
                    name: None,
                    extra: Default::default(),
                },
            ],
            tools: vec![ToolDefinition {
                name: "calc".into(),
                description: Some("Adds".into()),
                parameters: json!({"type": "object", "properties": {"a": {"type": "number"}}}),
                strict: None,
                namespace: None,
            }],
            sampling: Sampling { temperature: Some(0.0), max_tokens: Some(64), ..Default::default() },
            ..Default::default()
        }
    }

    fn key(req: &ChatRequest) -> String {
        cache_key(req, "openai/gpt-4o-mini")
    }

    #[test]
    fn golden_key_is_stable_across_runs() {
        let view = serde_json::to_value(KeyView {
            version: KEY_VERSION,
            model: "m",
            messages: vec![],
            tools: &[],
            hosted_tools: &[],
            tool_choice: None,
            response_format: None,
            reasoning: None,
            parallel_tool_calls: None,
            sampling: normalized_sampling(&Sampling::default()),
        })
        .unwrap();
        let mut out = Vec::new();
        write_canonical(&view, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"messages":[],"model":"m","parallel_tool_calls":null,"reasoning":null,"response_format":null,"sampling":{"frequency_penalty":null,"max_tokens":null,"presence_penalty":null,"seed":null,"stop":[],"temperature":0.0,"top_k":null,"top_p":null},"tool_choice":null,"tools":[],"version":1}"#
        );
        let k = key(&request());
        assert_eq!(k.len(), 64);
        assert_eq!(k, "5ffa32e536246d8aae1a1e964840debd27ae571d0d1f82f916e175939595de11");
    }

    #[test]
    fn stream_user_and_extras_do_not_change_the_key() {
        let base = key(&request());
        let mut other = request();
        other.stream = true;
        other.stream_usage = true;
        other.user = Some("alice".into());
        other.model = "alias-of-the-same".into();
        other.extra.insert("metadata".into(), json!({"trace": 1}));
        other.messages[1].extra.insert("cache_control".into(), json!({"type": "ephemeral"}));
        assert_eq!(key(&other), base);
    }

    #[test]
    fn output_affecting_changes_change_the_key() {
        let base = key(&request());
        let mut changes: Vec<ChatRequest> = Vec::new();
        let mut r = request();
        r.messages[1].content = vec![ContentBlock::Text { text: "What is 2+3?".into() }];
        changes.push(r);
        let mut r = request();
        r.sampling.temperature = Some(0.7);
        changes.push(r);
        let mut r = request();
        r.tools[0].parameters = json!({"type": "object", "properties": {"b": {"type": "number"}}});
        changes.push(r);
        let mut r = request();
        r.tools.clear();
        changes.push(r);
        let mut r = request();
        r.tool_choice = Some(ToolChoice::Required);
        changes.push(r);
        let mut r = request();
        r.sampling.max_tokens = Some(65);
        changes.push(r);
        let mut r = request();
        r.sampling.stop = vec!["\n".into()];
        changes.push(r);
        let mut r = request();
        r.sampling.seed = Some(7);
        changes.push(r);
        let mut r = request();
        r.response_format = Some(ResponseFormat::JsonObject);
        changes.push(r);
        let mut r = request();
        r.reasoning = Some(ReasoningOptions { effort: Some("high".into()), budget_tokens: None });
        changes.push(r);
        let mut r = request();
        r.messages[0].role = Role::Developer;
        changes.push(r);
        let mut keys: Vec<String> = changes.iter().map(key).collect();
        assert!(keys.iter().all(|k| *k != base));
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), changes.len(), "every change gives its own key");
        assert_ne!(cache_key(&request(), "openai/gpt-4o"), base, "the resolved model is in the key");
    }

    #[test]
    fn absent_and_zero_temperature_share_a_key() {
        let mut absent = request();
        absent.sampling.temperature = None;
        let mut negative_zero = request();
        negative_zero.sampling.temperature = Some(-0.0);
        assert_eq!(key(&absent), key(&request()));
        assert_eq!(key(&negative_zero), key(&request()));
    }

    #[test]
    fn object_keys_are_canonically_ordered() {
        let mut a = request();
        a.tools[0].parameters = json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "number"}}});
        let mut b = request();
        let mut params = serde_json::Map::new();
        params.insert("properties".into(), json!({"a": {"type": "number"}}));
        params.insert("required".into(), json!(["a"]));
        params.insert("type".into(), json!("object"));
        b.tools[0].parameters = Value::Object(params);
        assert_eq!(key(&a), key(&b));

        let mut out = Vec::new();
        write_canonical(&json!({"z": 1, "a": {"y": [true, null], "b": "x\"y"}}), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":{"b":"x\"y","y":[true,null]},"z":1}"#);
    }

    #[test]
    fn the_semantic_scope_is_everything_but_the_conversation() {
        let base = semantic_scope(&request(), "openai/gpt-4o-mini");
        let mut reworded = request();
        reworded.messages[1].content = vec![ContentBlock::Text { text: "what's 2 + 2".into() }];
        assert_eq!(semantic_scope(&reworded, "openai/gpt-4o-mini"), base, "the question is compared by meaning");
        assert_ne!(semantic_scope(&request(), "openai/gpt-4o"), base, "another model");
        let mut system = request();
        system.messages[0].content = vec![ContentBlock::Text { text: "Be verbose.".into() }];
        assert_ne!(semantic_scope(&system, "openai/gpt-4o-mini"), base, "another system prompt");
        let mut tools = request();
        tools.tools.clear();
        assert_ne!(semantic_scope(&tools, "openai/gpt-4o-mini"), base, "other tools");
        let mut sampling = request();
        sampling.sampling.max_tokens = Some(1);
        assert_ne!(semantic_scope(&sampling, "openai/gpt-4o-mini"), base, "other output options");
        assert_ne!(base, key(&request()), "scopes and keys are not the same digest");
    }

    #[test]
    fn semantic_text_is_the_text_conversation() {
        let mut r = request();
        assert_eq!(semantic_text(&r).as_deref(), Some("user: What is 2+2?\n"));
        r.messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::Text { text: "4".into() }],
            name: None,
            extra: Default::default(),
        });
        assert_eq!(semantic_text(&r).as_deref(), Some("user: What is 2+2?\nassistant: 4\n"));
        r.messages[1].content.push(ContentBlock::ToolCall { id: "c".into(), name: "f".into(), arguments: "{}".into() });
        assert_eq!(semantic_text(&r), None, "tool calls only match exactly");
        r.messages.truncate(1);
        assert_eq!(semantic_text(&r), None, "no conversation, nothing to compare");
    }

    #[test]
    fn readable_and_writable_follow_temperature() {
        let mut r = request();
        assert!(readable(&r) && writable(&r));
        r.sampling.temperature = None;
        assert!(readable(&r) && !writable(&r));
        r.sampling.temperature = Some(0.2);
        assert!(!readable(&r) && !writable(&r));
    }
}
