//! Per-key spend in the current day, week and month, held in memory so the guard can refuse a
//! key over its budget without a query: advanced by every recorded cost, seeded from the usage
//! store at start and on refresh.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::{BudgetPeriod, KeyBudget};
use crate::usage::period::{period_end, period_start};

const PERIODS: [BudgetPeriod; 3] = [BudgetPeriod::Daily, BudgetPeriod::Weekly, BudgetPeriod::Monthly];

fn slot(period: BudgetPeriod) -> usize {
    match period {
        BudgetPeriod::Daily => 0,
        BudgetPeriod::Weekly => 1,
        BudgetPeriod::Monthly => 2,
    }
}

/// Spend since `start_ms`; a window from an earlier period counts as nothing.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start_ms: u64,
    spent: f64,
}

impl Window {
    fn current(&mut self, period: BudgetPeriod, now_ms: u64) -> &mut f64 {
        let start = period_start(period, now_ms);
        if self.start_ms != start {
            *self = Window { start_ms: start, spent: 0.0 };
        }
        &mut self.spent
    }
}

/// Where a key stands against its budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetStatus {
    pub limit_usd: f64,
    pub period: BudgetPeriod,
    pub spent_usd: f64,
    pub period_start_ms: u64,
    pub resets_at_ms: u64,
    /// At or past the warning share of the limit.
    pub warning: bool,
    /// At or past the limit: requests are refused until the period ends.
    pub exceeded: bool,
}

impl BudgetStatus {
    pub fn remaining_usd(&self) -> f64 {
        (self.limit_usd - self.spent_usd).max(0.0)
    }

    /// The `X-OmniRoute-Budget-Warning` value: `used=85%; spent=0.85; limit=1; period=daily`.
    pub fn warning_header(&self) -> String {
        let used = if self.limit_usd > 0.0 { self.spent_usd / self.limit_usd * 100.0 } else { 100.0 };
        let (spent, limit, period) = (usd(self.spent_usd), usd(self.limit_usd), period_name(self.period));
        format!("used={used:.0}%; spent={spent}; limit={limit}; period={period}")
    }
}

/// `daily`, `weekly` or `monthly`.
pub fn period_name(period: BudgetPeriod) -> &'static str {
    match period {
        BudgetPeriod::Daily => "daily",
        BudgetPeriod::Weekly => "weekly",
        BudgetPeriod::Monthly => "monthly",
    }
}

/// Dollars to at most six decimals, without trailing zeros (`0.35`, `1`).
pub fn usd(amount: f64) -> String {
    let text = format!("{amount:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Spend per key and period.
#[derive(Debug, Default)]
pub struct BudgetTracker {
    keys: Mutex<HashMap<String, [Window; 3]>>,
}

impl BudgetTracker {
    fn keys(&self) -> std::sync::MutexGuard<'_, HashMap<String, [Window; 3]>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds one answer's cost to the key's day, week and month.
    pub fn add(&self, key_id: &str, now_ms: u64, cost_usd: f64) {
        if !(cost_usd.is_finite() && cost_usd > 0.0) {
            return;
        }
        let mut keys = self.keys();
        let windows = match keys.get_mut(key_id) {
            Some(windows) => windows,
            None => keys.entry(key_id.to_owned()).or_default(),
        };
        for period in PERIODS {
            *windows[slot(period)].current(period, now_ms) += cost_usd;
        }
    }

    /// What the key spent in the current `period`.
    pub fn spent(&self, key_id: &str, period: BudgetPeriod, now_ms: u64) -> f64 {
        let mut keys = self.keys();
        keys.get_mut(key_id).map_or(0.0, |windows| *windows[slot(period)].current(period, now_ms))
    }

    /// Takes in what the store says each key spent in the current `period`, keeping the larger
    /// figure: rows still in the sink's buffer are known here only, and other instances' spend
    /// reaches us only through the store.
    pub fn seed(&self, period: BudgetPeriod, now_ms: u64, spend: &[(String, f64)]) {
        let mut keys = self.keys();
        for (key_id, stored) in spend {
            let spent = keys.entry(key_id.clone()).or_default()[slot(period)].current(period, now_ms);
            if *stored > *spent {
                *spent = *stored;
            }
        }
    }

    /// The key's standing against `budget` now.
    pub fn status(&self, key_id: &str, budget: &KeyBudget, now_ms: u64) -> BudgetStatus {
        let spent = self.spent(key_id, budget.period, now_ms);
        BudgetStatus {
            limit_usd: budget.limit_usd,
            period: budget.period,
            spent_usd: spent,
            period_start_ms: period_start(budget.period, now_ms),
            resets_at_ms: period_end(budget.period, now_ms),
            warning: spent >= budget.warn_ratio * budget.limit_usd,
            exceeded: spent >= budget.limit_usd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400_000;

    fn budget(limit_usd: f64, period: BudgetPeriod) -> KeyBudget {
        KeyBudget { limit_usd, period, warn_ratio: 0.5 }
    }

    #[test]
    fn the_boundary_refuses_at_the_limit_not_before() {
        let tracker = BudgetTracker::default();
        let daily = budget(0.3, BudgetPeriod::Daily);
        let now = 10 * DAY + 5;
        tracker.add("k", now, 0.1);
        let status = tracker.status("k", &daily, now);
        assert!(!status.warning && !status.exceeded);
        tracker.add("k", now, 0.1);
        assert!(tracker.status("k", &daily, now).warning);
        assert!(!tracker.status("k", &daily, now).exceeded, "0.2 of 0.3 spent: still allowed");
        tracker.add("k", now, 0.15);
        let status = tracker.status("k", &daily, now);
        assert!(status.exceeded, "{status:?}");
        assert_eq!(status.remaining_usd(), 0.0);
        assert_eq!(status.warning_header(), "used=117%; spent=0.35; limit=0.3; period=daily");
        // The next day starts from nothing; the month still counts it.
        assert_eq!(tracker.spent("k", BudgetPeriod::Daily, now + DAY), 0.0);
        assert!((tracker.spent("k", BudgetPeriod::Monthly, now + DAY) - 0.35).abs() < 1e-12);
        assert_eq!(tracker.spent("other", BudgetPeriod::Daily, now), 0.0);
    }

    #[test]
    fn seeding_keeps_the_larger_figure() {
        let tracker = BudgetTracker::default();
        let now = 3 * DAY;
        tracker.add("a", now, 2.0);
        tracker.seed(BudgetPeriod::Daily, now, &[("a".into(), 1.0), ("b".into(), 4.0)]);
        assert_eq!(tracker.spent("a", BudgetPeriod::Daily, now), 2.0);
        assert_eq!(tracker.spent("b", BudgetPeriod::Daily, now), 4.0);
        assert_eq!(tracker.spent("b", BudgetPeriod::Weekly, now), 0.0, "each period is seeded on its own");
    }
}
