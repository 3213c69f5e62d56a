//! Ordering decisions of the router: which combo target and which provider account serve a
//! request first, and in what order the others follow as fallbacks. Pure and deterministic
//! given the seed: randomness comes from a small seeded PRNG (the router seeds it from the
//! Clock), never from the OS, so this builds and behaves the same on wasm32.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::config::policy::{AccountSelection, ComboStrategy};

/// How much a target's error rate inflates its latency score: `latency * (1 + 4 * error_rate)`.
pub const ERROR_RATE_PENALTY: f64 = 4.0;

/// One target of a combo, with what the router knows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetCandidate {
    /// `"provider/model"` or a nested combo id.
    pub key: String,
    /// Relative share under [`ComboStrategy::Weighted`]; 0 is never picked first unless all are 0.
    pub weight: u32,
    /// Input + output price per million tokens; `None` when unknown (ordered last).
    pub cost_per_mtok: Option<f64>,
    /// Moving latency estimate; `None` before any observation (gets an optimistic prior).
    pub latency_ms: Option<f64>,
    /// Moving error rate in `[0, 1]`.
    pub error_rate: f64,
    /// Requests sent to this target so far.
    pub requests: u64,
    /// False when a breaker or cooldown holds it out: ordered after every healthy target.
    pub healthy: bool,
}

/// One account of a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCandidate {
    pub id: String,
    /// Lower is preferred under [`AccountSelection::FillFirst`].
    pub priority: i64,
    /// When it last served a request (Unix ms); `None` if never.
    pub last_used_ms: Option<u64>,
    /// False when cooling down or disabled: ordered after every healthy account.
    pub healthy: bool,
}

/// SplitMix64: tiny, fast, good enough for load spreading; not cryptographic.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-high; the bias is below 2^-32 for any `n` we see.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates.
    fn shuffle(&mut self, items: &mut [usize]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Which account a provider's round robin is on, and for how many calls it has served.
#[derive(Debug, Default)]
struct StickyPosition {
    current: Option<String>,
    served: u32,
}

#[derive(Debug)]
struct State {
    rng: SplitMix64,
    combo_rr: HashMap<String, u64>,
    provider_rr: HashMap<String, StickyPosition>,
}

/// Orders combo targets and provider accounts. Shared by reference; its state (round-robin
/// positions, the PRNG) sits behind a mutex held only for the length of one ordering.
#[derive(Debug)]
pub struct Selector {
    state: Mutex<State>,
}

impl Selector {
    /// A selector whose random choices are fully determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(State { rng: SplitMix64(seed), combo_rr: HashMap::new(), provider_rr: HashMap::new() }),
        }
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut state)
    }

    /// A permutation of all of `candidates`' indexes: the first serves this request, the rest
    /// are the fallback order. Healthy targets always precede unhealthy ones, which keep their
    /// listed order. Round robin rotates per `combo`.
    pub fn order_targets(&self, combo: &str, strategy: ComboStrategy, candidates: &[TargetCandidate]) -> Vec<usize> {
        let (mut healthy, unhealthy) = partition(candidates.len(), |i| candidates[i].healthy);
        if healthy.len() > 1 {
            match strategy {
                ComboStrategy::Priority => {}
                ComboStrategy::RoundRobin => {
                    let turn = self.with_state(|s| {
                        let counter = s.combo_rr.entry(combo.to_owned()).or_insert(0);
                        let turn = *counter;
                        *counter = counter.wrapping_add(1);
                        turn
                    });
                    let start = (turn % healthy.len() as u64) as usize;
                    healthy.rotate_left(start);
                }
                ComboStrategy::Weighted => self.with_state(|s| order_weighted(&mut s.rng, &mut healthy, candidates)),
                ComboStrategy::Random => self.with_state(|s| s.rng.shuffle(&mut healthy)),
                ComboStrategy::LeastUsed => healthy.sort_by_key(|&i| candidates[i].requests),
                ComboStrategy::CostOptimized => healthy.sort_by(|&a, &b| {
                    match (known(candidates[a].cost_per_mtok), known(candidates[b].cost_per_mtok)) {
                        (Some(x), Some(y)) => x.total_cmp(&y),
                        (Some(_), None) => std::cmp::Ordering::Less,
                        (None, Some(_)) => std::cmp::Ordering::Greater,
                        (None, None) => std::cmp::Ordering::Equal,
                    }
                }),
                ComboStrategy::LatencyAware => {
                    self.with_state(|s| order_latency_aware(&mut s.rng, &mut healthy, candidates));
                }
            }
        }
        healthy.extend(unhealthy);
        healthy
    }

    /// A permutation of all of `accounts`' indexes: the first serves this request, the rest
    /// are the fallback order. Healthy accounts always precede unhealthy ones, which keep their
    /// listed order. Round robin rotates per `provider`, staying on one account for
    /// `sticky_window` consecutive calls (0 or 1: move on every call).
    pub fn order_accounts(
        &self,
        provider: &str,
        selection: AccountSelection,
        sticky_window: u32,
        accounts: &[AccountCandidate],
    ) -> Vec<usize> {
        let (mut healthy, unhealthy) = partition(accounts.len(), |i| accounts[i].healthy);
        match selection {
            AccountSelection::FillFirst => {
                healthy.sort_by(|&a, &b| {
                    accounts[a].priority.cmp(&accounts[b].priority).then_with(|| accounts[a].id.cmp(&accounts[b].id))
                });
            }
            AccountSelection::RoundRobin if !healthy.is_empty() => {
                let start = self.with_state(|s| {
                    let position = s.provider_rr.entry(provider.to_owned()).or_default();
                    sticky_start(position, sticky_window.max(1), &healthy, accounts)
                });
                healthy.rotate_left(start);
            }
            AccountSelection::RoundRobin => {}
            // `None` sorts before `Some`: never used first (listed order), then the longest idle.
            AccountSelection::LeastRecentlyUsed => healthy.sort_by_key(|&i| accounts[i].last_used_ms),
            AccountSelection::Random => self.with_state(|s| s.rng.shuffle(&mut healthy)),
        }
        healthy.extend(unhealthy);
        healthy
    }
}

/// `0..n` split into (healthy, unhealthy), each in listed order.
fn partition(n: usize, healthy: impl Fn(usize) -> bool) -> (Vec<usize>, Vec<usize>) {
    (0..n).partition(|&i| healthy(i))
}

/// A finite number, or `None` for unknown/NaN/infinite values.
fn known(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

/// First pick at random in proportion to weight (uniform if every weight is 0), then the rest
/// by descending weight, ties in listed order.
fn order_weighted(rng: &mut SplitMix64, healthy: &mut Vec<usize>, candidates: &[TargetCandidate]) {
    let total: u64 = healthy.iter().map(|&i| u64::from(candidates[i].weight)).sum();
    let first = if total == 0 {
        rng.below(healthy.len())
    } else {
        let mut ticket = ((u128::from(rng.next_u64()) * u128::from(total)) >> 64) as u64;
        let mut chosen = 0;
        for (pos, &i) in healthy.iter().enumerate() {
            let weight = u64::from(candidates[i].weight);
            if ticket < weight {
                chosen = pos;
                break;
            }
            ticket -= weight;
        }
        chosen
    };
    let picked = healthy.remove(first);
    healthy.sort_by(|&a, &b| candidates[b].weight.cmp(&candidates[a].weight));
    healthy.insert(0, picked);
}

/// Power of two choices: two distinct healthy targets at random, the lower score first, then
/// the rest by ascending score (ties in listed order).
fn order_latency_aware(rng: &mut SplitMix64, healthy: &mut Vec<usize>, candidates: &[TargetCandidate]) {
    let prior = latency_prior(healthy, candidates);
    let mut scores = vec![f64::INFINITY; candidates.len()];
    for &i in healthy.iter() {
        scores[i] = latency_score(&candidates[i], prior);
    }
    let score = |i: usize| scores[i];

    let a = rng.below(healthy.len());
    let mut b = rng.below(healthy.len() - 1);
    if b >= a {
        b += 1;
    }
    // On a tie the first sample wins, so tied targets share traffic evenly.
    let first = if score(healthy[b]) < score(healthy[a]) { b } else { a };
    let picked = healthy.remove(first);
    healthy.sort_by(|&x, &y| score(x).total_cmp(&score(y)));
    healthy.insert(0, picked);
}

/// The latency assumed for a target never measured: the best measured among the candidates,
/// so a new target ties with the fastest and gets tried (0 when nothing is measured).
fn latency_prior(healthy: &[usize], candidates: &[TargetCandidate]) -> f64 {
    healthy.iter().filter_map(|&i| known(candidates[i].latency_ms)).map(|l| l.max(0.0)).reduce(f64::min).unwrap_or(0.0)
}

/// `latency * (1 + 4 * error_rate)`; lower is better.
fn latency_score(candidate: &TargetCandidate, prior: f64) -> f64 {
    let latency = known(candidate.latency_ms).map_or(prior, |l| l.max(0.0));
    let error_rate = if candidate.error_rate.is_finite() { candidate.error_rate.clamp(0.0, 1.0) } else { 0.0 };
    latency * (1.0 + ERROR_RATE_PENALTY * error_rate)
}

/// Where in `healthy` (listed order) a sticky round robin starts this call: the same account
/// while it is healthy and has served fewer than `window` calls, else the next healthy one
/// after it in listed order.
fn sticky_start(position: &mut StickyPosition, window: u32, healthy: &[usize], accounts: &[AccountCandidate]) -> usize {
    let current = position.current.as_deref().and_then(|id| healthy.iter().position(|&i| accounts[i].id == id));
    if let Some(pos) = current
        && position.served < window
    {
        position.served += 1;
        return pos;
    }
    let next = match position.current.as_deref().and_then(|id| accounts.iter().position(|a| a.id == id)) {
        // The first healthy account listed after the current one, wrapping around.
        Some(listed) => healthy.iter().position(|&i| i > listed).unwrap_or(0),
        None => 0,
    };
    position.current = Some(accounts[healthy[next]].id.clone());
    position.served = 1;
    next
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
