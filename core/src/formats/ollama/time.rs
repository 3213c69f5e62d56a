//! RFC 3339 timestamps (Ollama's `created_at`, `modified_at`) ⇄ Unix seconds, with Howard
//! Hinnant's civil-date algorithms: no time crate, no clock.

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn format_rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// An RFC 3339 timestamp (any fraction, `Z` or `±HH:MM`) → Unix seconds, fraction dropped.
/// None for anything else and for instants before 1970 (e.g. Go's zero time).
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    parse_rfc3339_signed(s).and_then(|secs| u64::try_from(secs).ok())
}

/// [`parse_rfc3339`] for any year: seconds from the Unix epoch, negative before 1970. Days past
/// the end of their month (`02-30`) are refused.
pub(crate) fn parse_rfc3339_signed(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(s, 0, 4)?;
    let month = digits(s, 5, 7)?;
    let day = digits(s, 8, 10)?;
    let hour = digits(s, 11, 13)?;
    let minute = digits(s, 14, 16)?;
    let second = digits(s, 17, 19)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction.find(|c: char| !c.is_ascii_digit()).unwrap_or(fraction.len());
        if end == 0 {
            return None;
        }
        rest = &fraction[end..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (h, m) = (digits(rest, 1, 3)?, digits(rest, 4, 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if day > month_days[(month - 1) as usize] {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn digits(s: &str, start: usize, end: usize) -> Option<i64> {
    let part = s.get(start..end)?;
    if !part.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let (month, day) = (i64::from(month), i64::from(day));
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_691_177_365), "2023-08-04T19:29:25Z");
        assert_eq!(format_rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn parses_fractions_and_offsets() {
        assert_eq!(parse_rfc3339("2023-08-04T19:22:45.499127Z"), Some(1_691_176_965));
        assert_eq!(parse_rfc3339("2023-08-04T08:52:19.385406455-07:00"), Some(1_691_164_339));
        assert_eq!(parse_rfc3339("2023-08-04T15:52:19+00:00"), Some(1_691_164_339));
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), None, "Go's zero time is before 1970");
        for bad in ["", "2023-08-04", "2023-13-04T00:00:00Z", "2023-08-04T00:00:00", "2023-08-04T00:00:00.Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_day_for_three_centuries_round_trips() {
        for day in 0..(300 * 366) {
            let secs = day * 86_400 + 3_723;
            assert_eq!(parse_rfc3339(&format_rfc3339(secs)), Some(secs));
        }
    }
}
