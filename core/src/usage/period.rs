//! Budget periods on the UTC calendar: a day from midnight, a week from Monday midnight, a
//! month from the first (the calendar month from [`crate::time`]).

use crate::config::BudgetPeriod;
use crate::time::month_start_ms;

/// One UTC day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// When the `period` holding `now_ms` began (Unix ms).
pub fn period_start(period: BudgetPeriod, now_ms: u64) -> u64 {
    let days = now_ms / DAY_MS;
    match period {
        BudgetPeriod::Daily => days * DAY_MS,
        // 1970-01-01 was a Thursday: three days after a Monday.
        BudgetPeriod::Weekly => days.saturating_sub((days + 3) % 7) * DAY_MS,
        // Past the calendar's range (year 262 142) the day is as good a start as any.
        BudgetPeriod::Monthly => month_start_ms(now_ms, 0).unwrap_or(days * DAY_MS),
    }
}

/// When the `period` holding `now_ms` ends (the next one's start).
pub fn period_end(period: BudgetPeriod, now_ms: u64) -> u64 {
    match period {
        BudgetPeriod::Daily => period_start(period, now_ms) + DAY_MS,
        BudgetPeriod::Weekly => period_start(period, now_ms) + 7 * DAY_MS,
        BudgetPeriod::Monthly => month_start_ms(now_ms, 1).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::json::{parse_timestamp, timestamp};

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
        assert_eq!(period_end(BudgetPeriod::Monthly, at("2024-12-31T23:59:59Z")), at("2025-01-01T00:00:00Z"));
        assert_eq!(period_start(BudgetPeriod::Monthly, u64::MAX), u64::MAX / DAY_MS * DAY_MS, "no panic");
        assert_eq!(period_end(BudgetPeriod::Monthly, u64::MAX), u64::MAX);
    }
}
