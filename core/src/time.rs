//! Dates as text, for everything in core that writes or reads one: RFC 3339 timestamps (the
//! management API, Ollama's `created_at`, Anthropic's rate-limit resets) through `chrono`, HTTP
//! dates (`Retry-After`) through `httpdate`, and the UTC calendar month that budgets follow.
//!
//! Pure conversions between text and Unix time: nothing here reads a clock. "Now" comes from the
//! `Clock` port, since `SystemTime::now` panics on wasm32 (`chrono` is built without its `clock`
//! feature for that reason; `httpdate`'s parser only adds a duration to `UNIX_EPOCH`).

use chrono::{DateTime, Datelike, Months, NaiveDate, SecondsFormat, Utc};

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ`. An instant past chrono's range (year 262 142) is
/// written as the last one it can name, since an answer must carry some date.
pub fn format_rfc3339(secs: u64) -> String {
    let instant = i64::try_from(secs).ok().and_then(|secs| DateTime::from_timestamp(secs, 0));
    instant.unwrap_or(DateTime::<Utc>::MAX_UTC).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An RFC 3339 timestamp (`T`, `t` or a space between date and time; any fraction; `Z` or
/// `±HH:MM`) → Unix milliseconds, negative before 1970, the fraction cut to milliseconds. None
/// for anything else, including days past the end of their month (`02-30`).
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text).ok().map(|instant| instant.timestamp_millis())
}

/// [`parse_rfc3339_ms`] as whole Unix seconds (fraction dropped); None before 1970, where an
/// unset time lands (Go's zero time `0001-01-01T00:00:00Z`).
pub fn parse_rfc3339_secs(text: &str) -> Option<u64> {
    parse_rfc3339_ms(text).and_then(|ms| u64::try_from(ms.div_euclid(1000)).ok())
}

/// An HTTP date (RFC 9110: IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, and the obsolete
/// RFC 850 and asctime forms) → Unix milliseconds. None for anything else, for a weekday that
/// does not match the date, and for dates before 1970 or after 9999.
pub fn parse_http_date_ms(text: &str) -> Option<u64> {
    let instant = httpdate::parse_http_date(text).ok()?;
    let since_epoch = instant.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(since_epoch.as_millis()).ok()
}

/// The start (Unix ms) of the UTC calendar month `months_ahead` months after the one holding
/// `ms` (0: that month's own first day, midnight). None past chrono's range.
pub fn month_start_ms(ms: u64, months_ahead: u32) -> Option<u64> {
    let instant = DateTime::from_timestamp(i64::try_from(ms / 1000).ok()?, 0)?;
    let first = NaiveDate::from_ymd_opt(instant.year(), instant.month(), 1)?;
    let start = first.checked_add_months(Months::new(months_ahead))?.and_hms_opt(0, 0, 0)?;
    u64::try_from(start.and_utc().timestamp_millis()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-01T00:00:00Z
    const MARCH_2024_MS: i64 = 1_709_251_200_000;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_691_177_365), "2023-08-04T19:29:25Z");
        assert_eq!(format_rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert!(format_rfc3339(u64::MAX).starts_with("+262142-12-31T23:59:59"), "saturates, no panic");
    }

    #[test]
    fn parses_fractions_offsets_and_separators() {
        let secs = |text| parse_rfc3339_ms(text).map(|ms| ms.div_euclid(1000));
        assert_eq!(secs("2023-08-04T19:22:45.499127Z"), Some(1_691_176_965));
        assert_eq!(secs("2023-08-04T08:52:19.385406455-07:00"), Some(1_691_164_339));
        assert_eq!(secs("2023-08-04T15:52:19+00:00"), Some(1_691_164_339));
        assert_eq!(secs("2023-08-04t15:52:19z"), Some(1_691_164_339));
        assert_eq!(secs("2023-08-04 15:52:19Z"), Some(1_691_164_339));
        assert_eq!(parse_rfc3339_ms("2024-03-01T00:00:42.5Z"), Some(MARCH_2024_MS + 42_500));
        assert_eq!(parse_rfc3339_ms("2024-03-01T00:00:42.123456789Z"), Some(MARCH_2024_MS + 42_123));
        assert_eq!(parse_rfc3339_ms("2024-03-01T02:00:42+02:00"), Some(MARCH_2024_MS + 42_000));
        assert_eq!(parse_rfc3339_ms("1969-12-31T23:59:59Z"), Some(-1000));
        assert_eq!(parse_rfc3339_ms("0001-01-01T00:00:00Z"), Some(-62_135_596_800_000), "Go's zero time");
        for bad in [
            "",
            "nope",
            "2023-08-04",
            "2023-13-04T00:00:00Z",
            "2023-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-08-04T24:00:00Z",
            "2023-08-04T00:00:00",
            "2023-08-04T00:00:00.Z",
            "2023-08-04T00:00:00+24:00",
            "2023-08-04T00:00:00 UTC",
            "2023-08-04T00:00:00Z trailing",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn whole_seconds_since_1970() {
        assert_eq!(parse_rfc3339_secs("2023-08-04T19:22:45.999Z"), Some(1_691_176_965));
        assert_eq!(parse_rfc3339_secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_secs("1969-12-31T23:59:59.5Z"), None);
        assert_eq!(parse_rfc3339_secs("0001-01-01T00:00:00Z"), None, "Go's zero time is before 1970");
        assert_eq!(parse_rfc3339_secs("2023-08-04"), None);
    }

    #[test]
    fn every_day_for_three_centuries_round_trips() {
        for day in 0..(300 * 366) {
            let secs = day * 86_400 + 3_723;
            assert_eq!(parse_rfc3339_ms(&format_rfc3339(secs)), Some(secs as i64 * 1000));
        }
    }

    #[test]
    fn http_dates_in_the_three_forms() {
        let ms = MARCH_2024_MS as u64;
        assert_eq!(parse_http_date_ms("Fri, 01 Mar 2024 00:01:00 GMT"), Some(ms + 60_000));
        assert_eq!(parse_http_date_ms("Friday, 01-Mar-24 00:00:10 GMT"), Some(ms + 10_000));
        assert_eq!(parse_http_date_ms("Fri Mar  1 00:00:05 2024"), Some(ms + 5000));
        assert_eq!(parse_http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777_000));
        assert_eq!(parse_http_date_ms("Thu, 29 Feb 2024 23:59:59 GMT"), Some(ms - 1000));
        for bad in [
            "",
            "Fri, 01 Mar 2024 00:01:00",
            "Fri, 01 Mar 2024 00:01:00 PST",
            "Fri, 01 Mar 2024 00:01:00 UTC",
            "Fri, 01 Foo 2024 00:01:00 GMT",
            "Thu, 29 Feb 2023 00:00:00 GMT",
            "Fri, 01 Mar 2024 24:00:00 GMT",
            "Fri, 01 Mar 2024 0:01:00 GMT",
            "Fri, 01 Mar 24 00:01:00 GMT",
            "Friday, 01-Mar-2024 00:00:10 GMT",
            "Fri, 01 Mar 2024 00:0é:00 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            // What `httpdate` checks and the hand-written parser did not: the weekday.
            "Sat, 01 Mar 2024 00:01:00 GMT",
        ] {
            assert_eq!(parse_http_date_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn month_starts_follow_the_utc_calendar() {
        let at = |text| parse_rfc3339_ms(text).and_then(|ms| u64::try_from(ms).ok()).unwrap_or(u64::MAX);
        let now = at("2026-12-02T15:30:00.250Z");
        assert_eq!(month_start_ms(now, 0), Some(at("2026-12-01T00:00:00Z")));
        assert_eq!(month_start_ms(now, 1), Some(at("2027-01-01T00:00:00Z")));
        assert_eq!(month_start_ms(at("2024-02-29T23:59:59Z"), 1), Some(at("2024-03-01T00:00:00Z")));
        assert_eq!(month_start_ms(0, 0), Some(0));
        assert_eq!(month_start_ms(u64::MAX, 0), None);
    }
}
