//! The `ResponseStore` port: responses kept for the Responses API's `store` (its default), so
//! `previous_response_id`, `item_reference` input items and `GET/DELETE /v1/responses/{id}`
//! work whatever provider answered. Every read and write names a scope (the API key, or the
//! anonymous scope of an open gateway): a scope never sees another's responses. Rows carry their
//! own expiry; reads skip expired rows and `prune` deletes them.

use std::collections::HashMap;

use serde_json::Value;

use crate::maybe_send::{BoxFuture, MaybeSend, MaybeSync};
use crate::ports::StoreError;

/// One stored response.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    /// Who may read it (see `pipeline::stored::scope`).
    pub scope: String,
    /// The response id the client got (`resp_…`).
    pub id: String,
    pub model: String,
    /// When it was stored (Unix ms).
    pub created_ms: u64,
    /// When it stops being readable (Unix ms).
    pub expires_ms: u64,
    /// The response this one continued, when the request named one.
    pub previous_response_id: Option<String>,
    /// This request's own input items as the client sent them, item references resolved (the
    /// conversation before `previous_response_id` is not repeated here).
    pub input: Vec<Value>,
    /// The response object as the client got it, in the Responses API's shape (`output`
    /// included), whatever provider answered.
    pub response: Value,
}

impl StoredResponse {
    /// The output items, in order.
    pub fn output(&self) -> &[Value] {
        self.response.get("output").and_then(Value::as_array).map_or(&[], Vec::as_slice)
    }

    /// The items an `item_reference` can name: every input and output item that has an id.
    pub fn items_with_ids(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.input.iter().chain(self.output()).filter_map(|item| Some((item.get("id")?.as_str()?, item)))
    }
}

/// Where responses are kept.
pub trait ResponseStore: MaybeSend + MaybeSync {
    /// Stores `response`, replacing one with the same scope and id.
    fn put(&self, response: StoredResponse) -> BoxFuture<'_, Result<(), StoreError>>;

    /// The response `id` of `scope`, unless it is missing or expired at `now_ms`.
    fn get<'a>(
        &'a self,
        scope: &'a str,
        id: &'a str,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Option<StoredResponse>, StoreError>>;

    /// The response `id` and the ones it continued, newest first: follows
    /// `previous_response_id` until a response has none, is missing or expired, or `max`
    /// responses were read. Empty when `id` itself is not there.
    fn chain<'a>(
        &'a self,
        scope: &'a str,
        id: &'a str,
        now_ms: u64,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<StoredResponse>, StoreError>>;

    /// The items of `scope` with these ids (input or output items of its live responses), the
    /// newest stored copy of each; ids not found are left out.
    fn items<'a>(
        &'a self,
        scope: &'a str,
        ids: &'a [String],
        now_ms: u64,
    ) -> BoxFuture<'a, Result<HashMap<String, Value>, StoreError>>;

    /// Deletes the response `id` of `scope`; whether there was one (expired ones count as gone).
    fn delete<'a>(&'a self, scope: &'a str, id: &'a str, now_ms: u64) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Deletes every response expired at `now_ms`; how many went.
    fn prune(&self, now_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>>;
}
