//! The stored-response endpoints of the Responses API, in its shapes: `GET /v1/responses/{id}`
//! (the response object), `DELETE /v1/responses/{id}` (`{"id","object":"response","deleted":
//! true}`) and `GET /v1/responses/{id}/input_items` (a cursor list: `data`, `first_id`,
//! `last_id`, `has_more`; `limit` 1-100, default 20; `order` `asc` or `desc`, default `desc`;
//! `after`/`before` an item id). A caller sees only its own scope: another key's response is a
//! 404 like a missing one, so ids say nothing about other keys.

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::{response_not_found, scope};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};
use crate::percent::form_decode;
use crate::ports::StoredResponse;
use crate::render;

/// `GET /v1/responses/{id}`: the response as it was answered (marked stored).
pub async fn get(call: Call<'_>) -> Answer {
    let stored = find(call.gateway, call.ctx, &call.decoded_param("id")).await?;
    Ok(json(&stored.response))
}

/// `DELETE /v1/responses/{id}`.
pub async fn delete(call: Call<'_>) -> Answer {
    let (gateway, ctx, id) = (call.gateway, call.ctx, call.decoded_param("id").into_owned());
    let now_ms = gateway.ports.clock.now_unix_ms();
    let deleted = gateway
        .ports
        .responses
        .delete(&scope(&ctx.caller), &id, now_ms)
        .await
        .map_err(|e| GatewayError::internal("deleting a stored response", e))?;
    if !deleted {
        return Err(response_not_found(&id));
    }
    Ok(json(&json!({ "id": id, "object": "response", "deleted": true })))
}

/// `GET /v1/responses/{id}/input_items`.
pub async fn input_items(call: Call<'_>) -> Answer {
    let query = ListQuery::parse(call.query())?;
    let stored = find(call.gateway, call.ctx, &call.decoded_param("id")).await?;
    Ok(json(&query.page(listed_items(&stored))?))
}

/// The caller's response `id`, if it has one. (Takes the call's parts, not the call: the
/// call's body is not `Sync`, and the future must be `Send`.)
async fn find(gateway: &Gateway, ctx: &RequestContext, id: &str) -> Result<StoredResponse, GatewayError> {
    let now_ms = gateway.ports.clock.now_unix_ms();
    let found = gateway
        .ports
        .responses
        .get(&scope(&ctx.caller), id, now_ms)
        .await
        .map_err(|e| GatewayError::internal("reading a stored response", e))?;
    found.ok_or_else(|| response_not_found(id))
}

fn json(value: &Value) -> http::Response<crate::body::Body> {
    render::json(StatusCode::OK, Bytes::from(value.to_string()))
}

/// The input items as listed: each with a `type` and an `id`. Items the client sent without an
/// id get one made from the response id and their place (stable, so it works as a cursor), as
/// the API gives every listed item one.
pub(super) fn listed_items(stored: &StoredResponse) -> Vec<Value> {
    let stem = stored.id.strip_prefix("resp_").unwrap_or(&stored.id);
    stored
        .input
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let mut item = item.clone();
            if let Some(fields) = item.as_object_mut() {
                if !fields.contains_key("type") && fields.contains_key("role") {
                    fields.insert("type".into(), json!("message"));
                }
                if !fields.get("id").is_some_and(Value::is_string) {
                    let prefix =
                        if fields.get("type").and_then(Value::as_str) == Some("message") { "msg" } else { "item" };
                    fields.insert("id".into(), json!(format!("{prefix}_{stem}_in{index}")));
                }
            }
            item
        })
        .collect()
}

/// The `input_items` query: `limit`, `order`, `after`, `before` (`include` and anything else
/// change nothing here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ListQuery {
    pub limit: usize,
    pub descending: bool,
    pub after: Option<String>,
    pub before: Option<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery { limit: 20, descending: true, after: None, before: None }
    }
}

impl ListQuery {
    pub(super) fn parse(query: Option<&str>) -> Result<Self, GatewayError> {
        let mut out = ListQuery::default();
        for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = form_decode(value).into_owned();
            match &*form_decode(name) {
                "limit" => {
                    out.limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| invalid(format!("limit must be an integer from 1 to 100, not '{value}'")))?;
                }
                "order" => {
                    out.descending = match value.as_str() {
                        "desc" => true,
                        "asc" => false,
                        _ => return Err(invalid(format!("order must be 'asc' or 'desc', not '{value}'"))),
                    };
                }
                "after" => out.after = Some(value),
                "before" => out.before = Some(value),
                _ => {}
            }
        }
        Ok(out)
    }

    /// One page of `items` (in stored order) as the list object.
    pub(super) fn page(&self, mut items: Vec<Value>) -> Result<Value, GatewayError> {
        if self.descending {
            items.reverse();
        }
        let position = |id: &str| {
            items
                .iter()
                .position(|item| item.get("id").and_then(Value::as_str) == Some(id))
                .ok_or_else(|| invalid(format!("no input item with id '{id}' in this response")))
        };
        let end = match &self.before {
            Some(id) => position(id)?,
            None => items.len(),
        };
        let start = match &self.after {
            Some(id) => position(id)? + 1,
            None => 0,
        };
        let window = items.get(start..end.max(start)).unwrap_or_default();
        let data: Vec<Value> = window.iter().take(self.limit).cloned().collect();
        let id_of = |item: Option<&Value>| item.and_then(|i| i.get("id")).cloned().unwrap_or(Value::Null);
        Ok(json!({
            "object": "list",
            "data": data,
            "first_id": id_of(data.first()),
            "last_id": id_of(data.last()),
            "has_more": window.len() > data.len(),
        }))
    }
}

fn invalid(message: String) -> GatewayError {
    GatewayError::InvalidRequest(message)
}
