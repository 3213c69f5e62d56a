//! Resilience state the router consults: circuit breakers and cooldowns per account, per
//! (account, model) and per (provider, model), and moving latency/error estimates. Which key a
//! failure lands on follows its scope (`failure_scope.rs`). Time comes only from
//! the Clock port's wall clock, so deadlines can be shared between instances and shown to users.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use crate::ports::Clock;
use crate::providers::AuthScheme;

/// Weight of the newest sample in the latency and error-rate moving averages.
const ALPHA: f64 = 0.3;

pub use crate::routing::breaker_profiles::{
    BreakerConfig, BreakerProfiles, DEFAULT_ACCOUNT_COOLDOWN_MS, DEFAULT_RATE_LIMIT_COOLDOWN_MS,
};

pub use crate::routing::health_key::{HealthKey, KeyScope};
use share::{PeerHolds, Source, covers, peer_reason, pick};

/// The answer to "may a request go to this key now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Half-open: this request is a probe whose outcome closes or reopens the breaker.
    Probe,
    /// Skip this key; it may be tried again at `until_ms` (unix ms).
    Rejected {
        until_ms: u64,
        reason: RejectReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    BreakerOpen,
    /// Rate limited: it said when to come back (or the default cooldown).
    CoolingDown,
    /// The account's key or credit was refused: out until someone fixes it (or the time ends).
    AccountOut,
}

/// Why a key cools down: what [`Health::admit`] tells the walk when it skips it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoolKind {
    RateLimited,
    AccountOut,
}

impl From<CoolKind> for RejectReason {
    fn from(kind: CoolKind) -> Self {
        match kind {
            CoolKind::RateLimited => RejectReason::CoolingDown,
            CoolKind::AccountOut => RejectReason::AccountOut,
        }
    }
}

/// A failed attempt (the caller has already decided it counts against the upstream).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Status(u16),
    Timeout,
    Connect,
    StreamBroken,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Status(code) => write!(f, "status {code}"),
            Failure::Timeout => f.write_str("timeout"),
            Failure::Connect => f.write_str("connect"),
            Failure::StreamBroken => f.write_str("stream broken"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

/// Moving estimates for one key.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Estimate {
    /// EWMA of successful attempts' latency; `None` before the first success.
    pub latency_ms: Option<f64>,
    /// EWMA of failures (1) and successes (0).
    pub error_rate: f64,
    pub requests: u64,
}

/// One key in [`HealthReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyReport {
    pub key: HealthKey,
    pub scope: KeyScope,
    pub account: Option<String>,
    pub model: Option<String>,
    pub state: CircuitState,
    pub failures_in_window: u32,
    pub opened_at_ms: Option<u64>,
    pub open_until_ms: Option<u64>,
    pub probes_in_flight: u32,
    /// Whether the breaker's state was learned here or reported by another instance.
    pub open_source: Option<Source>,
    pub cooldown_until_ms: Option<u64>,
    /// Why it is cooling down (e.g. `rate limited`, `account: status 401`).
    pub cooldown_reason: Option<String>,
    pub cooldown_source: Option<Source>,
    pub last_failure: Option<String>,
    pub last_failure_at_ms: Option<u64>,
    #[serde(flatten)]
    pub estimate: Estimate,
}

/// Everything [`Health`] knows, for the resilience, rate-limit and availability endpoints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    pub now_ms: u64,
    pub profiles: BreakerProfiles,
    /// Sorted by key: accounts first, then models.
    pub keys: Vec<KeyReport>,
}

#[derive(Debug, Clone, Copy)]
enum Breaker {
    Closed,
    Open { opened_at: u64, until: u64 },
    HalfOpen { opened_at: u64, probes: u32, last_probe: u64 },
}

#[derive(Debug)]
struct Entry {
    auth: AuthScheme,
    breaker: Breaker,
    /// Recent failure times (at most `failure_threshold` of them).
    failures: VecDeque<u64>,
    estimate: Estimate,
    last_failure: Option<(Failure, u64)>,
}

impl Entry {
    fn new(auth: AuthScheme) -> Self {
        Entry {
            auth,
            breaker: Breaker::Closed,
            failures: VecDeque::new(),
            estimate: Estimate::default(),
            last_failure: None,
        }
    }

    fn admit(&mut self, now: u64, cfg: &BreakerConfig) -> Admission {
        let rejected = |until_ms| Admission::Rejected { until_ms, reason: RejectReason::BreakerOpen };
        match self.breaker {
            Breaker::Closed => Admission::Allowed,
            Breaker::Open { until, .. } if now < until => rejected(until),
            Breaker::Open { opened_at, .. } => {
                self.breaker = Breaker::HalfOpen { opened_at, probes: 1, last_probe: now };
                Admission::Probe
            }
            Breaker::HalfOpen { opened_at, probes, last_probe } => {
                // Probes unanswered for `open_ms` are taken as abandoned.
                let retry_at = last_probe.saturating_add(cfg.open_ms);
                let probes = if now >= retry_at { 0 } else { probes };
                if probes < cfg.half_open_probes.max(1) {
                    self.breaker = Breaker::HalfOpen { opened_at, probes: probes + 1, last_probe: now };
                    Admission::Probe
                } else {
                    rejected(retry_at)
                }
            }
        }
    }

    /// When [`Entry::admit`] would reject, the time it names, without spending a probe.
    fn blocked_until(&self, now: u64, cfg: &BreakerConfig) -> Option<u64> {
        match self.breaker {
            Breaker::Open { until, .. } if now < until => Some(until),
            Breaker::HalfOpen { probes, last_probe, .. } => {
                let retry_at = last_probe.saturating_add(cfg.open_ms);
                (now < retry_at && probes >= cfg.half_open_probes.max(1)).then_some(retry_at)
            }
            _ => None,
        }
    }

    fn observe(&mut self, latency_ms: Option<u64>, failed: bool) {
        let e = &mut self.estimate;
        e.requests += 1;
        e.error_rate = e.error_rate * (1.0 - ALPHA) + if failed { ALPHA } else { 0.0 };
        if let Some(sample) = latency_ms.map(|ms| ms as f64) {
            e.latency_ms = Some(e.latency_ms.map_or(sample, |avg| avg * (1.0 - ALPHA) + sample * ALPHA));
        }
    }

    fn failures_in_window(&self, now: u64, cfg: &BreakerConfig) -> usize {
        self.failures.iter().filter(|&&t| now.saturating_sub(t) < cfg.window_ms).count()
    }

    fn state(&self, now: u64) -> CircuitState {
        match self.breaker {
            Breaker::Closed => CircuitState::Closed,
            Breaker::Open { until, .. } if now < until => CircuitState::Open,
            _ => CircuitState::HalfOpen,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    profiles: BreakerProfiles,
    entries: BTreeMap<HealthKey, Entry>,
    /// Account or deployment → until when it is skipped (unix ms), and why.
    cooldowns: BTreeMap<HealthKey, Cooling>,
    /// Endpoint → its recent timeouts and the model each was for: one model's timeouts are
    /// that model's (a slow model), several models' the endpoint's.
    endpoint_timeouts: BTreeMap<HealthKey, VecDeque<(u64, String)>>,
    /// What other instances hold off (shared rows), kept apart so it is never shared again.
    peers: PeerHolds,
    /// Bumped by every reset: rows read from the store before a reset may predate it.
    epoch: u64,
    /// Reset rows (`shared_reset.rs`) already applied here, with their deadline.
    applied_resets: BTreeSet<(String, u64)>,
}

/// A cooldown this instance learned (other instances' are in `Inner::peers`).
#[derive(Debug, Clone)]
struct Cooling {
    until: u64,
    reason: Option<String>,
    kind: CoolKind,
}

/// One cooling account or deployment, for `/api/rate-limits`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CooldownReport {
    pub key: HealthKey,
    pub scope: KeyScope,
    pub account: Option<String>,
    pub model: Option<String>,
    pub until_ms: u64,
    pub reason: Option<String>,
    /// `cooling_down` (rate limited) or `account_out`.
    pub kind: RejectReason,
    pub source: Source,
}

impl Inner {
    fn cooldown(&mut self, key: &HealthKey, now: u64) -> Option<(u64, CoolKind)> {
        let cooling = self.cooldowns.get(key)?;
        if cooling.until > now {
            return Some((cooling.until, cooling.kind));
        }
        self.cooldowns.remove(key);
        None
    }

    fn merge(&mut self, key: HealthKey, until: u64, reason: String, kind: CoolKind) {
        let current = self.cooldowns.entry(key).or_insert(Cooling { until: 0, reason: None, kind });
        if until >= current.until {
            current.until = until;
            current.reason = Some(reason);
            // An account found out stays out, whatever rate limit comes later.
            if current.kind != CoolKind::AccountOut {
                current.kind = kind;
            }
        }
    }

    /// Local and peers' cooldowns of `key` together: the later, with the reason of whichever
    /// it is.
    fn cooling(&mut self, key: &HealthKey, now: u64) -> Option<(u64, CoolKind, Source)> {
        let local = self.cooldown(key, now);
        pick(local, self.peers.cooling(key, now))
    }

    /// What holds `key` off now, here or on another instance, without spending a probe: the
    /// later of cooldown and open breaker (a cooldown when it lasts as long).
    fn held(&mut self, key: &HealthKey, now: u64, cfg: &BreakerConfig) -> Option<Admission> {
        if let Some(until) = self.peers.take_expired_open(key, now) {
            self.open_after_peer(key, until);
        }
        let open = self.entries.get(key).and_then(|e| e.blocked_until(now, cfg)).max(self.peers.open_until(key, now));
        let breaker = |until_ms| Admission::Rejected { until_ms, reason: RejectReason::BreakerOpen };
        match (self.cooling(key, now), open) {
            (Some((cool, ..)), Some(open)) if open > cool => Some(breaker(open)),
            (Some((until_ms, kind, _)), _) => Some(Admission::Rejected { until_ms, reason: kind.into() }),
            (None, open) => open.map(breaker),
        }
    }

    fn forget(&mut self, covers: impl Fn(&HealthKey) -> bool) {
        self.entries.retain(|k, _| !covers(k));
        self.cooldowns.retain(|k, _| !covers(k));
        self.endpoint_timeouts.retain(|k, _| !covers(k));
        self.peers.forget(&covers);
        self.epoch += 1;
    }

    fn entry(&mut self, key: &HealthKey, auth: AuthScheme) -> (&mut Entry, BreakerConfig) {
        let cfg = *self.profiles.for_key(key, auth);
        let entry = self.entries.entry(key.clone()).or_insert_with(|| Entry::new(auth));
        entry.auth = auth;
        (entry, cfg)
    }
}

/// Breakers, cooldowns and estimates, shared by every request (`&self`, internally locked).
pub struct Health {
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl Health {
    pub fn new(clock: Arc<dyn Clock>, profiles: BreakerProfiles) -> Self {
        Health { clock, inner: Mutex::new(Inner { profiles, ..Inner::default() }) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> u64 {
        self.clock.now_unix_ms()
    }

    /// Whether a request may go to `key` now. A `Probe` must be followed by `on_success` or
    /// `on_failure`; one left unanswered for `open_ms` frees its slot.
    pub fn admit(&self, key: &HealthKey, auth: AuthScheme) -> Admission {
        let now = self.now();
        let mut inner = self.lock();
        let cfg = *inner.profiles.for_key(key, auth);
        if let Some(held) = inner.held(key, now, &cfg) {
            return held;
        }
        match inner.entries.get_mut(key) {
            Some(entry) => {
                entry.auth = auth;
                entry.admit(now, &cfg)
            }
            None => Admission::Allowed,
        }
    }

    /// What [`Health::admit`] would answer now, without spending a half-open probe.
    pub fn peek(&self, key: &HealthKey, auth: AuthScheme) -> Admission {
        let now = self.now();
        let mut inner = self.lock();
        let cfg = *inner.profiles.for_key(key, auth);
        inner.held(key, now, &cfg).unwrap_or(Admission::Allowed)
    }

    /// Why a key cools down (another instance's rows carry only the kind).
    pub fn cooldown_reason(&self, key: &HealthKey) -> Option<String> {
        let now = self.now();
        let mut inner = self.lock();
        match inner.cooling(key, now)? {
            (_, _, Source::Local) => inner.cooldowns.get(key)?.reason.clone(),
            (_, kind, Source::Peer) => Some(peer_reason(kind).to_owned()),
        }
    }

    pub fn on_success(&self, key: &HealthKey, auth: AuthScheme, latency_ms: u64) {
        let mut inner = self.lock();
        let (entry, _) = inner.entry(key, auth);
        entry.observe(Some(latency_ms), false);
        if let Breaker::HalfOpen { .. } = entry.breaker {
            entry.breaker = Breaker::Closed;
            entry.failures.clear();
        }
    }

    /// A failure for the estimates only (error rate), its breaker untouched: the (provider,
    /// model) key, whose breaker would otherwise hold every account off one account's failure.
    pub fn observe_failure(&self, key: &HealthKey, auth: AuthScheme) {
        let mut inner = self.lock();
        inner.entry(key, auth).0.observe(None, true);
    }

    pub fn on_failure(&self, key: &HealthKey, auth: AuthScheme, failure: Failure) {
        let now = self.now();
        let mut inner = self.lock();
        let (entry, cfg) = inner.entry(key, auth);
        entry.observe(None, true);
        entry.last_failure = Some((failure, now));
        let reopen = match entry.breaker {
            Breaker::HalfOpen { .. } => true,
            // Late answers from requests admitted before it opened change nothing.
            Breaker::Open { .. } => false,
            Breaker::Closed if cfg.failure_threshold == 0 => false,
            Breaker::Closed => {
                let threshold = cfg.failure_threshold as usize;
                entry.failures.push_back(now);
                while entry.failures.len() > threshold
                    || entry.failures.front().is_some_and(|&t| now.saturating_sub(t) >= cfg.window_ms)
                {
                    entry.failures.pop_front();
                }
                entry.failures.len() >= threshold
            }
        };
        if reopen {
            entry.breaker = Breaker::Open { opened_at: now, until: now.saturating_add(cfg.open_ms) };
        }
    }

    /// Skips the account or deployment until `until_ms` (the later deadline wins), saying why.
    pub fn cool_down(&self, key: &HealthKey, until_ms: u64, reason: &str, kind: CoolKind) {
        let now = self.now();
        if until_ms > now {
            self.lock().merge(key.clone(), until_ms, reason.to_owned(), kind);
        }
    }

    /// A timeout waiting for `endpoint` on `model`. It counts against the endpoint's breaker
    /// only once timeouts of two or more models fall within the endpoint's window (one slow
    /// model is that model's business); returns whether it did.
    pub fn endpoint_timeout(&self, endpoint: &HealthKey, auth: AuthScheme, model: &str) -> bool {
        let now = self.now();
        let spread = {
            let mut inner = self.lock();
            let window = inner.profiles.for_key(endpoint, auth).window_ms;
            let recent = inner.endpoint_timeouts.entry(endpoint.clone()).or_default();
            recent.retain(|(at, _)| now.saturating_sub(*at) < window);
            recent.push_back((now, model.to_owned()));
            // Bounded: only whether two models differ matters.
            while recent.len() > 16 {
                recent.pop_front();
            }
            recent.iter().any(|(_, other)| other != model)
        };
        if spread {
            self.on_failure(endpoint, auth, Failure::Timeout);
        }
        spread
    }

    /// Until when `key` cools down, here or on another instance.
    pub fn cooldown_until(&self, key: &HealthKey) -> Option<u64> {
        let now = self.now();
        self.lock().cooling(key, now).map(|(until, ..)| until)
    }

    /// What cools down now, here or on another instance, with the account, model, reason and
    /// source of each.
    pub fn cooldown_entries(&self) -> Vec<CooldownReport> {
        let now = self.now();
        let mut inner = self.lock();
        inner.cooldowns.retain(|_, c| c.until > now);
        let keys: BTreeSet<HealthKey> =
            inner.cooldowns.keys().chain(inner.peers.iter().map(|(k, _)| k)).cloned().collect();
        let report = |key: HealthKey| {
            let (until_ms, kind, source) = inner.cooling(&key, now)?;
            let reason = match source {
                Source::Local => inner.cooldowns.get(&key).and_then(|c| c.reason.clone()),
                Source::Peer => Some(peer_reason(kind).to_owned()),
            };
            Some(CooldownReport {
                scope: key.scope(),
                account: key.account_id().map(str::to_owned),
                model: key.model_name().map(str::to_owned),
                key,
                until_ms,
                reason,
                kind: kind.into(),
                source,
            })
        };
        keys.into_iter().filter_map(report).collect()
    }

    pub fn estimate(&self, key: &HealthKey) -> Estimate {
        self.lock().entries.get(key).map(|e| e.estimate).unwrap_or_default()
    }

    /// The breaker's state, open too while another instance reports it open.
    pub fn state(&self, key: &HealthKey) -> CircuitState {
        let now = self.now();
        let inner = self.lock();
        if inner.peers.open_until(key, now).is_some() {
            return CircuitState::Open;
        }
        inner.entries.get(key).map_or(CircuitState::Closed, |e| e.state(now))
    }

    pub fn snapshot(&self) -> HealthReport {
        let now = self.now();
        let mut inner = self.lock();
        inner.cooldowns.retain(|_, c| c.until > now);
        let inner = &*inner;
        let peers = inner.peers.iter().map(|(k, _)| k);
        let keys: BTreeSet<HealthKey> =
            inner.entries.keys().chain(inner.cooldowns.keys()).chain(peers).cloned().collect();
        let idle = Entry::new(AuthScheme::Bearer);
        let keys = keys.into_iter().map(|key| {
            let entry = inner.entries.get(&key).unwrap_or(&idle);
            let (opened_at_ms, mut open_until_ms, probes_in_flight) = match entry.breaker {
                Breaker::Closed => (None, None, 0),
                Breaker::Open { opened_at, until } => (Some(opened_at), (now < until).then_some(until), 0),
                Breaker::HalfOpen { opened_at, probes, .. } => (Some(opened_at), None, probes),
            };
            let (mut state, mut open_source) = (entry.state(now), None);
            if state != CircuitState::Closed {
                open_source = Some(Source::Local);
            }
            // Another instance's open breaker that outlasts this one's: held open until its time.
            if let Some(until) = inner.peers.open_until(&key, now).filter(|&u| open_until_ms.is_none_or(|own| u > own))
            {
                (state, open_source, open_until_ms) = (CircuitState::Open, Some(Source::Peer), Some(until));
            }
            let local = inner.cooldowns.get(&key);
            let cooling = pick(local.map(|c| (c.until, c.kind)), inner.peers.cooling(&key, now));
            let in_window = entry.failures_in_window(now, inner.profiles.for_key(&key, entry.auth));
            KeyReport {
                scope: key.scope(),
                state,
                failures_in_window: u32::try_from(in_window).unwrap_or(u32::MAX),
                opened_at_ms,
                open_until_ms,
                probes_in_flight,
                open_source,
                cooldown_until_ms: cooling.map(|(until, ..)| until),
                cooldown_reason: match cooling {
                    Some((_, _, Source::Local)) => local.and_then(|c| c.reason.clone()),
                    Some((_, kind, Source::Peer)) => Some(peer_reason(kind).to_owned()),
                    None => None,
                },
                cooldown_source: cooling.map(|(.., source)| source),
                account: key.account_id().map(str::to_owned),
                model: key.model_name().map(str::to_owned),
                last_failure: entry.last_failure.map(|(failure, _)| failure.to_string()),
                last_failure_at_ms: entry.last_failure.map(|(_, at)| at),
                estimate: entry.estimate,
                key,
            }
        });
        HealthReport { now_ms: now, profiles: inner.profiles, keys: keys.collect() }
    }

    /// Forgets one key and its cooldown (an account's deployments too), or everything when `None`.
    pub fn reset(&self, key: Option<&HealthKey>) {
        self.forget(|k| covers(key, k));
    }

    /// Forgets every key of one scope (every model of every account, say).
    pub fn reset_scope(&self, scope: KeyScope) {
        self.forget(|k| k.scope() == scope);
    }

    fn forget(&self, covers: impl Fn(&HealthKey) -> bool) {
        self.lock().forget(covers);
    }

    pub fn set_profiles(&self, profiles: BreakerProfiles) {
        self.lock().profiles = profiles;
    }

    pub fn profiles(&self) -> BreakerProfiles {
        self.lock().profiles
    }
}

/// Sharing with other instances on one database (a child module: it reads the state here).
#[path = "health_share.rs"]
pub mod share;

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
