//! Breakers and cooldowns shared between instances on one database: the text of a shared row
//! (its kind, then the key's store text) and what an instance holds off because another one
//! reported it, and how [`Health`] writes and takes them in; the `CooldownStore` port carries
//! the rows.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Breaker, CoolKind, Entry, Health, Inner, RejectReason};
use crate::providers::AuthScheme;
use crate::routing::health_key::HealthKey;
use crate::routing::shared_reset::{RESET_ROW_MS, ResetTarget};

/// Before the store key of an account-out row. No store key starts with it: account ids are
/// slugs and generated ids (no `=`), the other keys start with `account:` or `endpoint:`.
const OUT_PREFIX: &str = "out=";
/// Before the store key of an open breaker's row.
const OPEN_PREFIX: &str = "open=";

/// A shared row's text. A rate limit keeps the bare store key, so instances older than the
/// prefixes read it as before (and read prefixed rows as accounts no one has: harmless).
pub fn encode_row(key: &HealthKey, kind: RejectReason) -> String {
    let prefix = match kind {
        RejectReason::CoolingDown => "",
        RejectReason::AccountOut => OUT_PREFIX,
        RejectReason::BreakerOpen => OPEN_PREFIX,
    };
    format!("{prefix}{}", key.store_key())
}

/// The key and kind a shared row stands for (a row without a prefix is a rate limit).
pub fn decode_row(row: &str) -> (HealthKey, RejectReason) {
    if let Some(rest) = row.strip_prefix(OUT_PREFIX) {
        (HealthKey::from_store_key(rest), RejectReason::AccountOut)
    } else if let Some(rest) = row.strip_prefix(OPEN_PREFIX) {
        (HealthKey::from_store_key(rest), RejectReason::BreakerOpen)
    } else {
        (HealthKey::from_store_key(row), RejectReason::CoolingDown)
    }
}

/// Whether a reset of `reset` (`None`: everything) covers `key`: an account covers its models.
pub fn covers(reset: Option<&HealthKey>, key: &HealthKey) -> bool {
    match reset {
        None => true,
        Some(HealthKey::Account(id)) => key.account_id() == Some(id.as_str()),
        Some(reset) => key == reset,
    }
}

/// Where a breaker's or cooldown's state was learned, as the reports show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// This instance saw the failure.
    Local,
    /// Another instance on the database reported it (held until its deadline, not re-shared).
    Peer,
}

/// The later of two cooldowns; at the same deadline an account-out one (an operator must act).
pub fn later(a: Option<(u64, CoolKind)>, b: Option<(u64, CoolKind)>) -> Option<(u64, CoolKind)> {
    match (a, b) {
        (Some(a), Some(b)) if b.0 > a.0 || (b.0 == a.0 && b.1 == CoolKind::AccountOut) => Some(b),
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// The later of a local and a peer's cooldown, and whose it is (the local one at a tie).
pub fn pick(local: Option<(u64, CoolKind)>, peer: Option<(u64, CoolKind)>) -> Option<(u64, CoolKind, Source)> {
    let (until, kind) = later(local, peer)?;
    Some((until, kind, if local == Some((until, kind)) { Source::Local } else { Source::Peer }))
}

/// The reason shown for another instance's cooldown: its row carries only the kind.
pub fn peer_reason(kind: CoolKind) -> &'static str {
    match kind {
        CoolKind::RateLimited => "rate limited (reported by another instance)",
        CoolKind::AccountOut => "account: key or credit refused (reported by another instance)",
    }
}

/// What other instances hold one key off for, from the last read of the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerHold {
    pub cooling: Option<(u64, CoolKind)>,
    /// Their breaker's `until`; once it has passed, this instance probes on its own.
    pub open_until: Option<u64>,
}

/// Every key another instance holds off. Replaced whole at each read of the store, so a row
/// cleared there (a reset on any instance) is released here at the next read.
#[derive(Debug, Default)]
pub struct PeerHolds {
    holds: BTreeMap<HealthKey, PeerHold>,
}

impl PeerHolds {
    /// The peers' cooldown of `key`, while it runs.
    pub fn cooling(&self, key: &HealthKey, now: u64) -> Option<(u64, CoolKind)> {
        self.holds.get(key)?.cooling.filter(|(until, _)| *until > now)
    }

    /// The peers' open breaker of `key`, while it is open.
    pub fn open_until(&self, key: &HealthKey, now: u64) -> Option<u64> {
        self.holds.get(key)?.open_until.filter(|until| *until > now)
    }

    /// Takes a peer's open breaker of `key` whose time has passed: the caller half-opens its own
    /// breaker then, as if it had opened it (the probe is this instance's own).
    pub fn take_expired_open(&mut self, key: &HealthKey, now: u64) -> Option<u64> {
        let hold = self.holds.get_mut(key)?;
        let until = hold.open_until.filter(|until| *until <= now)?;
        hold.open_until = None;
        if hold.cooling.is_none() {
            self.holds.remove(key);
        }
        Some(until)
    }

    /// Replaces the holds with the rows just read (`(key, kind, until)`, each still running).
    /// Returns the open breakers that ended since the last read (for the caller to half-open);
    /// an open breaker whose row is gone before its time was reset elsewhere and is dropped.
    pub fn replace(&mut self, rows: Vec<(HealthKey, RejectReason, u64)>, now: u64) -> Vec<(HealthKey, u64)> {
        let ended = self
            .holds
            .iter()
            .filter_map(|(key, hold)| hold.open_until.filter(|until| *until <= now).map(|until| (key.clone(), until)))
            .collect();
        self.holds.clear();
        for (key, kind, until) in rows.into_iter().filter(|(_, _, until)| *until > now) {
            let hold = self.holds.entry(key).or_default();
            match kind {
                RejectReason::BreakerOpen => hold.open_until = hold.open_until.max(Some(until)),
                RejectReason::CoolingDown => hold.cooling = later(hold.cooling, Some((until, CoolKind::RateLimited))),
                RejectReason::AccountOut => hold.cooling = later(hold.cooling, Some((until, CoolKind::AccountOut))),
            }
        }
        ended
    }

    /// Drops the holds a reset covers (their rows are cleared from the store by the caller).
    pub fn forget(&mut self, covers: impl Fn(&HealthKey) -> bool) {
        self.holds.retain(|key, _| !covers(key));
    }

    /// Every key held, with what holds it (for the reports).
    pub fn iter(&self) -> impl Iterator<Item = (&HealthKey, &PeerHold)> {
        self.holds.iter()
    }
}

impl Inner {
    /// Another instance's open breaker ran out: this one's (if closed) counts as open until
    /// then, so the next request is a half-open probe of its own (half-open state is never
    /// copied: each instance probes for itself).
    pub(super) fn open_after_peer(&mut self, key: &HealthKey, until: u64) {
        let entry = self.entries.entry(key.clone()).or_insert_with(|| Entry::new(AuthScheme::Bearer));
        if let Breaker::Closed = entry.breaker {
            entry.breaker = Breaker::Open { opened_at: until, until };
        }
    }

    /// Whether this instance's own state accounts for a shared row (its own row read back).
    fn holds_own(&self, key: &HealthKey, kind: RejectReason, until: u64) -> bool {
        match kind {
            RejectReason::BreakerOpen => self
                .entries
                .get(key)
                .is_some_and(|e| matches!(e.breaker, Breaker::Open { until: own, .. } if own >= until)),
            _ => self.cooldowns.get(key).is_some_and(|c| c.until >= until && RejectReason::from(c.kind) == kind),
        }
    }
}

impl Health {
    /// Counts resets; pass it to [`Health::merge_shared`] as it was before the store was read.
    pub fn share_epoch(&self) -> u64 {
        self.lock().epoch
    }

    /// Takes in every row of the shared store ([`encode_row`]: cooldowns of each kind and
    /// open breakers), in place of the last read: what another instance cleared is released.
    /// Rows this instance holds itself are its own read back. A reset row not seen before is
    /// applied (this instance forgets what it covers) and returned: the rows it covers in
    /// this read may be older than it, so they are skipped, and the caller clears them from
    /// the store. Ignored when a reset ran since `epoch` (the read may predate it).
    pub fn merge_shared(&self, rows: &[(String, u64)], epoch: u64) -> Vec<ResetTarget> {
        let now = self.now();
        let mut inner = self.lock();
        if inner.epoch != epoch {
            return Vec::new();
        }
        inner.applied_resets.retain(|(_, until)| *until > now);
        let mut applied = Vec::new();
        for (row, until) in rows.iter().filter(|(_, until)| *until > now) {
            if let Some(target) = ResetTarget::from_row(row)
                && inner.applied_resets.insert((row.clone(), *until))
            {
                inner.forget(|key| target.covers(key));
                applied.push(target);
            }
        }
        let theirs = rows
            .iter()
            .filter(|(row, _)| ResetTarget::from_row(row).is_none())
            .map(|(row, until)| {
                let (key, kind) = decode_row(row);
                (key, kind, *until)
            })
            .filter(|(key, kind, until)| !inner.holds_own(key, *kind, *until))
            .filter(|(key, ..)| !applied.iter().any(|target| target.covers(key)))
            .collect();
        for (key, until) in inner.peers.replace(theirs, now) {
            inner.open_after_peer(&key, until);
        }
        applied
    }

    /// Resets `target` here and returns its row (with its deadline) for the shared store, so
    /// the other instances forget what they learned of it too; this one has applied it.
    pub fn reset_shared(&self, target: &ResetTarget) -> (String, u64) {
        let now = self.now();
        let row = (target.row(), now.saturating_add(RESET_ROW_MS));
        let mut inner = self.lock();
        inner.forget(|key| target.covers(key));
        inner.applied_resets.insert(row.clone());
        row
    }

    /// Rows of what this instance itself holds off now, to share: its cooldowns (with their
    /// kind) and open breakers. Never what peers reported: they share their own, and a reset
    /// that clears their rows must not come back from here.
    pub fn shared_rows(&self) -> Vec<(String, u64)> {
        let now = self.now();
        let inner = self.lock();
        let cooling =
            inner.cooldowns.iter().filter(|(_, c)| c.until > now).map(|(k, c)| (encode_row(k, c.kind.into()), c.until));
        let open = inner.entries.iter().filter_map(|(key, entry)| match entry.breaker {
            Breaker::Open { until, .. } if until > now => Some((encode_row(key, RejectReason::BreakerOpen), until)),
            _ => None,
        });
        cooling.chain(open).collect()
    }
}

#[cfg(test)]
#[path = "health_share_tests.rs"]
mod tests;
