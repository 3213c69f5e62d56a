//! The access view of one config snapshot: API keys by hash, live admin sessions, security
//! settings and the parsed IP filter. Built once per config version, read lock-free.

use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::ip_filter::IpFilter;
use crate::auth::tokens::{hashes_equal, sha256_hex};
use crate::config::settings::{AdminAuth, IpFilterSettings, SecuritySettings, keys, setting_or_default};
use crate::config::{ApiKeyRecord, StoredConfig};

#[derive(Debug, Clone, Default)]
pub struct AccessIndex {
    /// In stored order.
    keys: Vec<Arc<ApiKeyRecord>>,
    by_hash: HashMap<String, usize>,
    by_id: HashMap<String, usize>,
    /// Session token hash → expiry (Unix ms).
    sessions: HashMap<String, u64>,
    pub security: SecuritySettings,
    /// `None` when the filter is off.
    pub ip_filter: Option<IpFilter>,
    /// The admin password hash (PHC), when one is set.
    pub password_hash: Option<String>,
}

impl AccessIndex {
    pub fn build(stored: &StoredConfig) -> AccessIndex {
        let filter: IpFilterSettings = setting_or_default(stored, keys::IP_FILTER);
        let ip_filter = if filter.enabled {
            match IpFilter::parse(&filter.allow, &filter.block) {
                Ok(parsed) => Some(parsed),
                Err(e) => {
                    // Validation refuses bad entries before they are stored; a hand-edited
                    // one fails closed: every address is refused until it is fixed.
                    tracing::error!(error = %e, "the stored IP filter is invalid; refusing every address until it is fixed");
                    IpFilter::parse(&[], &["0.0.0.0/0".into(), "::/0".into()]).ok()
                }
            }
        } else {
            None
        };
        let auth: AdminAuth = setting_or_default(stored, keys::ADMIN_AUTH);
        let keys: Vec<Arc<ApiKeyRecord>> = stored.api_keys.iter().cloned().map(Arc::new).collect();
        AccessIndex {
            by_hash: keys.iter().enumerate().map(|(i, k)| (k.hash.clone(), i)).collect(),
            by_id: keys.iter().enumerate().map(|(i, k)| (k.id.clone(), i)).collect(),
            keys,
            sessions: stored.sessions.iter().map(|s| (s.token_hash.clone(), s.expires_ms)).collect(),
            security: setting_or_default(stored, keys::SECURITY),
            ip_filter,
            password_hash: Some(auth.password_hash).filter(|h| !h.is_empty()),
        }
    }

    /// The stored key a client's secret is, if any (revoked and expired ones included).
    pub fn key_for_secret(&self, secret: &str) -> Option<&Arc<ApiKeyRecord>> {
        let hash = sha256_hex(secret);
        // The map finds the candidate; the final comparison does not exit early.
        let key = self.keys.get(*self.by_hash.get(&hash)?)?;
        hashes_equal(&key.hash, &hash).then_some(key)
    }

    pub fn key_by_id(&self, id: &str) -> Option<&Arc<ApiKeyRecord>> {
        self.keys.get(*self.by_id.get(id)?)
    }

    /// Every key, revoked ones included, in stored order.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<ApiKeyRecord>> {
        self.keys.iter()
    }

    /// Whether `token` is a live admin session.
    pub fn session_valid(&self, token: &str, now_ms: u64) -> bool {
        let hash = sha256_hex(token);
        self.sessions.get(&hash).is_some_and(|expires| *expires > now_ms)
    }
}
