//! Stored responses in a map: the in-process ResponseStore (tests, and the Worker until it
//! reaches Turso). Bounded: past `max_responses` the oldest go first, so an isolate that lives
//! long cannot grow without end.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use crate::maybe_send::{BoxFuture, boxed};
use crate::ports::StoreError;
use crate::ports::memory::lock;
use crate::ports::response_store::{ResponseStore, StoredResponse};

/// Responses one memory store keeps by default.
pub const DEFAULT_MAX_RESPONSES: usize = 10_000;

/// Responses kept in memory, by scope and id.
pub struct MemoryResponseStore {
    responses: Mutex<BTreeMap<(String, String), StoredResponse>>,
    max_responses: usize,
}

impl Default for MemoryResponseStore {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_MAX_RESPONSES)
    }
}

impl MemoryResponseStore {
    /// A store that keeps at most `max_responses` (at least one).
    pub fn with_capacity(max_responses: usize) -> Self {
        MemoryResponseStore { responses: Mutex::default(), max_responses: max_responses.max(1) }
    }

    /// How many responses are held, expired ones included.
    pub fn len(&self) -> usize {
        lock(&self.responses).len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn live(&self, scope: &str, id: &str, now_ms: u64) -> Option<StoredResponse> {
        let responses = lock(&self.responses);
        responses.get(&(scope.to_owned(), id.to_owned())).filter(|r| r.expires_ms > now_ms).cloned()
    }
}

impl ResponseStore for MemoryResponseStore {
    fn put(&self, response: StoredResponse) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut responses = lock(&self.responses);
        responses.insert((response.scope.clone(), response.id.clone()), response);
        while responses.len() > self.max_responses {
            let oldest = responses.iter().min_by_key(|(_, r)| r.created_ms).map(|(key, _)| key.clone());
            match oldest {
                Some(key) => responses.remove(&key),
                None => break,
            };
        }
        boxed(async { Ok(()) })
    }

    fn get<'a>(
        &'a self,
        scope: &'a str,
        id: &'a str,
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Option<StoredResponse>, StoreError>> {
        let found = self.live(scope, id, now_ms);
        boxed(async move { Ok(found) })
    }

    fn chain<'a>(
        &'a self,
        scope: &'a str,
        id: &'a str,
        now_ms: u64,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<StoredResponse>, StoreError>> {
        let mut chain: Vec<StoredResponse> = Vec::new();
        let mut next = Some(id.to_owned());
        while let Some(id) = next.take() {
            if chain.len() >= max {
                break;
            }
            let Some(response) = self.live(scope, &id, now_ms) else { break };
            next.clone_from(&response.previous_response_id);
            chain.push(response);
        }
        boxed(async move { Ok(chain) })
    }

    fn items<'a>(
        &'a self,
        scope: &'a str,
        ids: &'a [String],
        now_ms: u64,
    ) -> BoxFuture<'a, Result<HashMap<String, Value>, StoreError>> {
        let responses = lock(&self.responses);
        let mut newest: HashMap<String, (u64, Value)> = HashMap::new();
        let live = responses.values().filter(|r| r.scope == scope && r.expires_ms > now_ms);
        for response in live {
            for (item_id, item) in response.items_with_ids().filter(|(item_id, _)| ids.iter().any(|id| id == item_id)) {
                let entry = newest.entry(item_id.to_owned()).or_insert((0, Value::Null));
                if entry.1.is_null() || response.created_ms >= entry.0 {
                    *entry = (response.created_ms, item.clone());
                }
            }
        }
        let found = newest.into_iter().map(|(id, (_, item))| (id, item)).collect();
        boxed(async move { Ok(found) })
    }

    fn delete<'a>(&'a self, scope: &'a str, id: &'a str, now_ms: u64) -> BoxFuture<'a, Result<bool, StoreError>> {
        let removed = lock(&self.responses).remove(&(scope.to_owned(), id.to_owned()));
        let deleted = removed.is_some_and(|r| r.expires_ms > now_ms);
        boxed(async move { Ok(deleted) })
    }

    fn prune(&self, now_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        let mut responses = lock(&self.responses);
        let before = responses.len();
        responses.retain(|_, r| r.expires_ms > now_ms);
        let pruned = (before - responses.len()) as u64;
        boxed(async move { Ok(pruned) })
    }
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;
    use serde_json::json;

    use super::*;

    fn response(scope: &str, id: &str, previous: Option<&str>, created_ms: u64) -> StoredResponse {
        StoredResponse {
            scope: scope.into(),
            id: id.into(),
            model: "m".into(),
            created_ms,
            expires_ms: created_ms + 1_000,
            previous_response_id: previous.map(str::to_owned),
            input: vec![json!({"type": "message", "role": "user", "content": format!("in {id}")})],
            response: json!({"id": id, "output": [{"type": "reasoning", "id": format!("rs_{id}"), "summary": []}]}),
        }
    }

    #[test]
    fn chains_items_scopes_and_expiry() {
        let store = MemoryResponseStore::default();
        block_on(store.put(response("a", "r1", None, 10))).unwrap();
        block_on(store.put(response("a", "r2", Some("r1"), 20))).unwrap();
        block_on(store.put(response("b", "r3", None, 30))).unwrap();
        let ids = |chain: Vec<StoredResponse>| chain.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(ids(block_on(store.chain("a", "r2", 100, 10)).unwrap()), ["r2", "r1"]);
        assert_eq!(ids(block_on(store.chain("a", "r2", 100, 1)).unwrap()), ["r2"], "at most `max`");
        assert!(block_on(store.chain("b", "r2", 100, 10)).unwrap().is_empty(), "another scope sees nothing");
        let wanted = ["rs_r1".to_string(), "rs_r3".to_string()];
        let items = block_on(store.items("a", &wanted, 100)).unwrap();
        assert_eq!(items.keys().collect::<Vec<_>>(), ["rs_r1"]);
        assert!(block_on(store.get("a", "r1", 1_010)).unwrap().is_none(), "expired");
        assert_eq!(block_on(store.prune(1_015)).unwrap(), 1);
        assert!(block_on(store.delete("a", "r2", 100)).unwrap());
        assert!(!block_on(store.delete("a", "r2", 100)).unwrap());
    }

    #[test]
    fn the_oldest_go_past_the_capacity() {
        let store = MemoryResponseStore::with_capacity(2);
        for (i, id) in ["r1", "r2", "r3"].into_iter().enumerate() {
            block_on(store.put(response("a", id, None, i as u64))).unwrap();
        }
        assert_eq!(store.len(), 2);
        assert!(block_on(store.get("a", "r1", 0)).unwrap().is_none());
    }
}
