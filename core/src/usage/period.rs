//! Budget periods on the UTC calendar: a day from midnight, a week from Monday midnight, a
//! month from the first. No time crate: the civil-date helpers of the Ollama codec.

use crate::config::BudgetPeriod;
use crate::formats::ollama::time::{civil_from_days, days_from_civil};

/// One UTC day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// When the `period` holding `now_ms` began (Unix ms).
pub fn period_start(period: BudgetPeriod, now_ms: u64) -> u64 {
    let days = now_ms / DAY_MS;
    match period {
        BudgetPeriod::Daily => days * DAY_MS,
        // 1970-01-01 was a Thursday: three days after a Monday.
        BudgetPeriod::Weekly => days.saturating_sub((days + 3) % 7) * DAY_MS,
        BudgetPeriod::Monthly => {
            let (year, month, _) = civil_from_days(days as i64);
            days_from_civil(year, month, 1).max(0) as u64 * DAY_MS
        }
    }
}

/// When the `period` holding `now_ms` ends (the next one's start).
pub fn period_end(period: BudgetPeriod, now_ms: u64) -> u64 {
    match period {
        BudgetPeriod::Daily => period_start(period, now_ms) + DAY_MS,
        BudgetPeriod::Weekly => period_start(period, now_ms) + 7 * DAY_MS,
        BudgetPeriod::Monthly => {
            let (year, month, _) = civil_from_days((now_ms / DAY_MS) as i64);
            let (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
            days_from_civil(year, month, 1).max(0) as u64 * DAY_MS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::respond::{parse_timestamp, timestamp};

    fn at(text: &str) -> u64 {
        parse_timestamp("t", text).unwrap()
    }

    #[test]
    fn periods_follow_the_utc_calendar() {
        // Wednesday 2026-12-02 15:30 UTC.
        let now = at("2026-12-02T15:30:00Z");
        let show = |period| (timestamp(period_start(period, now)), timestamp(period_end(period, now)));
        assert_eq!(show(BudgetPeriod::Daily), ("2026-12-02T00:00:00Z".into(), "2026-12-03T00:00:00Z".into()));
        assert_eq!(show(BudgetPeriod::Weekly), ("2026-11-30T00:00:00Z".into(), "2026-12-07T00:00:00Z".into()));
        assert_eq!(show(BudgetPeriod::Monthly), ("2026-12-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into()));
        // A Monday is its own week's start; February ends on the 28th in 2027.
        assert_eq!(period_start(BudgetPeriod::Weekly, at("2026-11-30T00:00:00Z")), at("2026-11-30T00:00:00Z"));
        assert_eq!(period_end(BudgetPeriod::Monthly, at("2027-02-10T00:00:00Z")), at("2027-03-01T00:00:00Z"));
        assert_eq!(period_start(BudgetPeriod::Weekly, 0), 0, "never before the epoch");
    }
}
