//! The router's live state, shared by every request: breakers and cooldowns ([`Health`]), the
//! policy picks ([`Selector`]), sticky sessions and when each account was last used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::ports::Clock;
use crate::routing::health::{BreakerProfiles, CircuitState, Health, HealthKey};
use crate::routing::select::{AccountCandidate, Selector};
use crate::routing::sessions::Sessions;
use crate::snapshot::{ResolvedConnection, ResolvedProvider};

pub struct Router {
    pub health: Health,
    pub selector: Selector,
    pub sessions: Sessions,
    clock: Arc<dyn Clock>,
    last_used: Mutex<HashMap<String, u64>>,
}

impl Router {
    pub fn new(clock: Arc<dyn Clock>, profiles: BreakerProfiles) -> Self {
        // Instances seeded apart so their random picks do not move in lockstep.
        let seed = clock.now_unix_ms() ^ clock.monotonic_us().rotate_left(32);
        Router {
            health: Health::new(clock.clone(), profiles),
            selector: Selector::new(seed),
            sessions: Sessions::default(),
            clock,
            last_used: Mutex::new(HashMap::new()),
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.clock.now_unix_ms()
    }

    /// Not cooling down and its breaker not open (a half-open one may be probed).
    pub fn account_healthy(&self, connection_id: &str) -> bool {
        self.health.cooldown_until(&HealthKey::account(connection_id)).is_none()
            && self.health.state(&HealthKey::account(connection_id)) != CircuitState::Open
    }

    /// Whether one model of an account can be tried now: the account is healthy and that
    /// (account, model) neither cools down nor has an open breaker (issue 16's model scope).
    pub fn deployment_healthy(&self, connection_id: &str, model: &str) -> bool {
        let deployment = HealthKey::deployment(connection_id, model);
        self.account_healthy(connection_id)
            && self.health.cooldown_until(&deployment).is_none()
            && self.health.state(&deployment) != CircuitState::Open
    }

    /// Whether the provider's origin can be reached (its endpoint breaker is not open).
    pub fn endpoint_healthy(&self, provider: &ResolvedProvider) -> bool {
        self.health.state(&HealthKey::endpoint_of(&provider.base_url)) != CircuitState::Open
    }

    /// Whether a target can be tried now: its endpoint is reachable and some account may
    /// serve its model.
    pub fn target_healthy(&self, provider: &ResolvedProvider, model: &str) -> bool {
        self.endpoint_healthy(provider) && provider.connections.iter().any(|c| self.deployment_healthy(&c.id, model))
    }

    /// A provider's accounts in the order to try them: healthy first, by the provider's
    /// selection policy; `preferred` (a sticky session's account) first while healthy.
    pub fn order_accounts(&self, provider: &ResolvedProvider, preferred: Option<&str>) -> Vec<ResolvedConnection> {
        // Read under the lock (health has its own), not a copy of the whole map per request.
        let last_used = self.last_used.lock().unwrap_or_else(PoisonError::into_inner);
        let candidates: Vec<AccountCandidate> = provider
            .connections
            .iter()
            .enumerate()
            // Connections come sorted by priority: their position is their rank.
            .map(|(i, c)| AccountCandidate {
                id: c.id.clone(),
                priority: i64::try_from(i).unwrap_or(i64::MAX),
                last_used_ms: last_used.get(&c.id).copied(),
                healthy: self.account_healthy(&c.id),
            })
            .collect();
        let order = self.selector.order_accounts(&provider.id, provider.selection, provider.sticky_window, &candidates);
        let mut ordered: Vec<ResolvedConnection> =
            order.into_iter().filter_map(|i| provider.connections.get(i).cloned()).collect();
        if let Some(preferred) = preferred
            && self.account_healthy(preferred)
            && let Some(at) = ordered.iter().position(|c| c.id == preferred)
        {
            let sticky = ordered.remove(at);
            ordered.insert(0, sticky);
        }
        ordered
    }

    /// Remembers that an account was just used (least-recently-used selection).
    pub fn mark_used(&self, connection_id: &str) {
        let now = self.now_ms();
        self.last_used.lock().unwrap_or_else(PoisonError::into_inner).insert(connection_id.to_owned(), now);
    }
}
