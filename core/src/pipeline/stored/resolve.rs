//! Resolution: a Responses request that names stored state gets it filled in before the probe,
//! the cache or any codec reads the body. `previous_response_id` becomes the stored conversation
//! (each response's input items, then its output items, oldest first, following the chain)
//! prepended to `input`; each `item_reference` becomes the stored item. The body that results
//! is self-contained, so passthrough and translation alike send every provider the whole
//! conversation. Requests that name nothing (nearly all) cost one byte search.

use std::sync::LazyLock;

use bytes::Bytes;
use memchr::memmem::Finder;
use serde_json::{Value, json};

use super::{item_not_found, previous_not_found};
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::ports::StoredResponse;

/// The longest chain of responses `previous_response_id` follows (a conversation longer than
/// this is refused rather than cut short silently).
pub const MAX_CHAIN: usize = 4096;

/// A request with its stored state filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The body to go on with: `previous_response_id` gone, the conversation and the items
    /// referenced written out in `input`.
    pub body: Bytes,
    /// This request's own input items, references resolved: what a response stored for it keeps
    /// (the conversation before it lives in the responses it continues).
    pub input: Vec<Value>,
    /// The response this request continues.
    pub previous_response_id: Option<String>,
}

/// Whether a body may name stored state. A byte search: a key cannot hide inside a JSON string
/// (its quotes would be escaped), and a false positive only costs a parse.
pub fn names_stored_state(body: &[u8]) -> bool {
    static PREVIOUS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"previous_response_id\""));
    static REFERENCE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"item_reference"));
    PREVIOUS.find(body).is_some() || REFERENCE.find(body).is_some()
}

/// The request with what it names filled in from `scope`'s stored responses; `None` when it
/// names nothing (the body goes on as sent). A body that is not a JSON object is left to the
/// probe, which refuses it in the client's words.
pub async fn resolve(gateway: &Gateway, scope: &str, body: &Bytes) -> Result<Option<Resolved>, GatewayError> {
    if !names_stored_state(body) {
        return Ok(None);
    }
    let Ok(Value::Object(mut request)) = serde_json::from_slice::<Value>(body) else { return Ok(None) };
    let previous = match request.remove("previous_response_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.is_empty() => Some(id),
        Some(_) => return Err(invalid("`previous_response_id` must be a non-empty string")),
    };
    let own = input_items(request.remove("input"))?;
    let has_references = own.iter().any(is_reference);
    if previous.is_none() && !has_references {
        return Ok(None);
    }
    let now_ms = gateway.ports.clock.now_unix_ms();
    let own = fill_references(gateway, scope, own, now_ms).await?;
    let mut input = match &previous {
        Some(id) => conversation(gateway, scope, id, now_ms).await?,
        None => Vec::new(),
    };
    input.extend(own.iter().cloned());
    request.insert("input".into(), Value::Array(input));
    let body = serde_json::to_vec(&request).map_err(|e| GatewayError::internal("re-encoding a resolved request", e))?;
    Ok(Some(Resolved { body: Bytes::from(body), input: own, previous_response_id: previous }))
}

fn invalid(message: &str) -> GatewayError {
    GatewayError::InvalidRequest(message.to_owned())
}

/// `input` as a list of items: a string is one user message, as the Responses API reads it.
pub(super) fn input_items(input: Option<Value>) -> Result<Vec<Value>, GatewayError> {
    match input {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(vec![user_message(&text)]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(invalid("`input` must be a string or an array of input items")),
    }
}

/// A string `input` as the message item the API makes of it.
fn user_message(text: &str) -> Value {
    json!({ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": text }] })
}

/// `{"type": "item_reference", "id": …}`.
fn is_reference(item: &Value) -> bool {
    item.get("type").and_then(Value::as_str) == Some("item_reference")
}

/// The items with every reference replaced by the stored item it names (one store read for all).
async fn fill_references(
    gateway: &Gateway,
    scope: &str,
    items: Vec<Value>,
    now_ms: u64,
) -> Result<Vec<Value>, GatewayError> {
    let mut wanted = Vec::new();
    for (index, item) in items.iter().enumerate().filter(|(_, item)| is_reference(item)) {
        match item.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => wanted.push(id.to_owned()),
            _ => {
                return Err(GatewayError::InvalidRequest(format!(
                    "input[{index}].id is required for an item_reference"
                )));
            }
        }
    }
    if wanted.is_empty() {
        return Ok(items);
    }
    let found = gateway
        .ports
        .responses
        .items(scope, &wanted, now_ms)
        .await
        .map_err(|e| GatewayError::internal("reading stored items", e))?;
    items
        .into_iter()
        .map(|item| {
            if !is_reference(&item) {
                return Ok(item);
            }
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
            found.get(id).cloned().ok_or_else(|| item_not_found(id))
        })
        .collect()
}

/// The conversation up to and including response `id`: for each response of its chain, oldest
/// first, its input items and then its output items.
async fn conversation(gateway: &Gateway, scope: &str, id: &str, now_ms: u64) -> Result<Vec<Value>, GatewayError> {
    let chain = gateway
        .ports
        .responses
        .chain(scope, id, now_ms, MAX_CHAIN)
        .await
        .map_err(|e| GatewayError::internal("reading stored responses", e))?;
    check_chain(id, &chain)?;
    let mut items = Vec::new();
    for response in chain.iter().rev() {
        items.extend(response.input.iter().cloned());
        items.extend(response.output().iter().cloned());
    }
    Ok(items)
}

/// A chain must start at `id` and reach a response that continues nothing: a missing link (an
/// earlier response deleted or expired) would silently drop part of the conversation, and a
/// response that names itself again (an upstream that reuses ids) would repeat it.
pub(super) fn check_chain(id: &str, chain: &[StoredResponse]) -> Result<(), GatewayError> {
    let Some(first) = chain.first().filter(|first| first.id == id) else { return Err(previous_not_found(id)) };
    let mut seen = std::collections::HashSet::new();
    for response in chain {
        if !seen.insert(response.id.as_str()) {
            return Err(GatewayError::InvalidRequest(format!(
                "the conversation behind previous_response_id '{}' repeats response '{}'",
                first.id, response.id
            )));
        }
    }
    match chain.last().and_then(|last| last.previous_response_id.as_deref()) {
        None => Ok(()),
        Some(_) if chain.len() >= MAX_CHAIN => Err(GatewayError::InvalidRequest(format!(
            "the conversation behind previous_response_id '{id}' is longer than {MAX_CHAIN} responses; send it in `input` instead"
        ))),
        Some(missing) => Err(previous_not_found(missing)),
    }
}

/// The request object's `input` items after resolution, for tests and the writer.
#[cfg(test)]
pub(super) fn resolved_input(resolved: &Resolved) -> Vec<Value> {
    let request: serde_json::Map<String, Value> = serde_json::from_slice(&resolved.body).unwrap_or_default();
    request.get("input").and_then(Value::as_array).cloned().unwrap_or_default()
}
