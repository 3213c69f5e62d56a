//! Sticky sessions: `X-Session-Id` keeps a conversation on the target and account that last
//! served it while they stay healthy (provider-side prompt caches stay warm, answers stay
//! consistent). Entries expire after an idle time.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// Sessions idle this long are forgotten.
pub const SESSION_IDLE_MS: u64 = 60 * 60 * 1000;
/// At most this many sessions are kept; the least recently seen go first.
const MAX_SESSIONS: usize = 10_000;

/// Where a session was last served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionEntry {
    pub id: String,
    /// `provider/model`.
    pub target: String,
    pub connection_id: String,
    pub requests: u64,
    pub last_seen_ms: u64,
}

#[derive(Debug, Default)]
pub struct Sessions {
    entries: Mutex<HashMap<String, SessionEntry>>,
}

impl Sessions {
    /// A client-supplied id, trimmed and bounded; `None` when unusable.
    pub fn normalize(id: &str) -> Option<String> {
        let id = id.trim();
        (!id.is_empty() && id.len() <= 256 && id.chars().all(|c| !c.is_control())).then(|| id.to_owned())
    }

    /// The live entry for `id`, if any.
    pub fn get(&self, id: &str, now_ms: u64) -> Option<SessionEntry> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.get(id).filter(|e| now_ms.saturating_sub(e.last_seen_ms) < SESSION_IDLE_MS).cloned()
    }

    /// Records that `target` via `connection_id` served session `id`.
    pub fn served(&self, id: &str, target: &str, connection_id: &str, now_ms: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let requests = entries.get(id).map_or(0, |e| e.requests) + 1;
        entries.insert(
            id.to_owned(),
            SessionEntry {
                id: id.to_owned(),
                target: target.to_owned(),
                connection_id: connection_id.to_owned(),
                requests,
                last_seen_ms: now_ms,
            },
        );
        if entries.len() > MAX_SESSIONS {
            entries.retain(|_, e| now_ms.saturating_sub(e.last_seen_ms) < SESSION_IDLE_MS);
            while entries.len() > MAX_SESSIONS {
                let Some(oldest) = entries.values().min_by_key(|e| e.last_seen_ms).map(|e| e.id.clone()) else { break };
                entries.remove(&oldest);
            }
        }
    }

    /// Live sessions, most recent first.
    pub fn list(&self, now_ms: u64) -> Vec<SessionEntry> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut live: Vec<_> =
            entries.values().filter(|e| now_ms.saturating_sub(e.last_seen_ms) < SESSION_IDLE_MS).cloned().collect();
        live.sort_by(|a, b| b.last_seen_ms.cmp(&a.last_seen_ms).then_with(|| a.id.cmp(&b.id)));
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_remember_the_last_target_until_idle() {
        let sessions = Sessions::default();
        sessions.served("s1", "openai/gpt", "openai:a", 1_000);
        sessions.served("s1", "openai/gpt", "openai:b", 2_000);
        let entry = sessions.get("s1", 3_000).unwrap();
        assert_eq!((entry.connection_id.as_str(), entry.requests), ("openai:b", 2));
        assert!(sessions.get("s1", 2_000 + SESSION_IDLE_MS).is_none());
        assert_eq!(sessions.list(3_000).len(), 1);
        assert!(sessions.list(2_000 + SESSION_IDLE_MS).is_empty());
    }

    #[test]
    fn ids_are_normalized() {
        assert_eq!(Sessions::normalize("  abc "), Some("abc".into()));
        assert_eq!(Sessions::normalize(""), None);
        assert_eq!(Sessions::normalize("a\nb"), None);
        assert_eq!(Sessions::normalize(&"x".repeat(300)), None);
    }
}
