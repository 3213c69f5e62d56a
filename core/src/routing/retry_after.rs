//! How long an upstream asks us to wait, as an absolute unix-ms deadline: `retry-after-ms`,
//! `Retry-After` (seconds or an HTTP date) and the OpenAI / Anthropic rate-limit headers.

use http::HeaderMap;

use crate::time::{parse_http_date_ms, parse_rfc3339_ms};

/// The longest wait honoured; anything further is clamped to this (24 h).
pub const MAX_WAIT_MS: u64 = 24 * 60 * 60 * 1000;

/// OpenAI-style `(reset duration, remaining)` header pairs (also used by Groq and others).
const OPENAI: [(&str, &str); 2] = [
    ("x-ratelimit-reset-requests", "x-ratelimit-remaining-requests"),
    ("x-ratelimit-reset-tokens", "x-ratelimit-remaining-tokens"),
];

/// Anthropic `(reset timestamp, remaining)` header pairs.
const ANTHROPIC: [(&str, &str); 4] = [
    ("anthropic-ratelimit-requests-reset", "anthropic-ratelimit-requests-remaining"),
    ("anthropic-ratelimit-tokens-reset", "anthropic-ratelimit-tokens-remaining"),
    ("anthropic-ratelimit-input-tokens-reset", "anthropic-ratelimit-input-tokens-remaining"),
    ("anthropic-ratelimit-output-tokens-reset", "anthropic-ratelimit-output-tokens-remaining"),
];

/// The unix-ms time until which to wait, or `None` when the headers say nothing usable.
///
/// Sources in order: `retry-after-ms`, `Retry-After`, then the provider rate-limit headers
/// (the latest reset among the limits whose remaining count is 0). The result is clamped to
/// `now_unix_ms ..= now_unix_ms + MAX_WAIT_MS`, so a date in the past means "now".
pub fn retry_after_ms(headers: &HeaderMap, now_unix_ms: u64) -> Option<u64> {
    let after = |ms: f64| now_unix_ms.saturating_add(ms.ceil().min(MAX_WAIT_MS as f64) as u64);
    let deadline = header(headers, "retry-after-ms")
        .and_then(parse_decimal)
        .map(after)
        .or_else(|| {
            let value = header(headers, "retry-after")?;
            parse_decimal(value).map(|secs| after(secs * 1000.0)).or_else(|| parse_http_date_ms(value))
        })
        .or_else(|| {
            let exhausted = |remaining: &str| header(headers, remaining).and_then(parse_decimal) == Some(0.0);
            let openai = OPENAI
                .iter()
                .filter(|(_, remaining)| exhausted(remaining))
                .filter_map(|(reset, _)| header(headers, reset).and_then(parse_duration_ms).map(after));
            let anthropic = ANTHROPIC
                .iter()
                .filter(|(_, remaining)| exhausted(remaining))
                .filter_map(|(reset, _)| header(headers, reset).and_then(rfc3339_ms));
            openai.chain(anthropic).max()
        })?;
    Some(deadline.clamp(now_unix_ms, now_unix_ms.saturating_add(MAX_WAIT_MS)))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim).filter(|v| !v.is_empty())
}

/// A plain non-negative decimal (`12`, `1.5`); no signs, exponents, `inf` or `NaN`.
fn parse_decimal(s: &str) -> Option<f64> {
    let plain = s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes().filter(|&b| b == b'.').count() <= 1;
    if plain { s.parse().ok() } else { None }
}

/// A Go-style duration (`1s`, `6m0s`, `120ms`, `1h2m3.5s`) in ms; a bare number is seconds.
fn parse_duration_ms(s: &str) -> Option<f64> {
    if let Some(secs) = parse_decimal(s) {
        return Some(secs * 1000.0);
    }
    let is_number = |c: char| c.is_ascii_digit() || c == '.';
    let (mut rest, mut total) = (s, 0.0);
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !is_number(c))?;
        let number = parse_decimal(&rest[..number_len])?;
        rest = &rest[number_len..];
        let unit_len = rest.find(is_number).unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3_600_000.0,
            "m" => 60_000.0,
            "s" => 1000.0,
            "ms" => 1.0,
            "us" | "µs" => 1e-3,
            "ns" => 1e-6,
            _ => return None,
        };
        total += number * factor;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// An RFC 3339 reset time in unix ms; one before 1970 is 0 (long past: wait for nothing).
fn rfc3339_ms(s: &str) -> Option<u64> {
    parse_rfc3339_ms(s).map(|ms| u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-01T00:00:00Z
    const NOW: u64 = 1_709_251_200_000;

    fn at(pairs: &[(&str, &str)]) -> Option<u64> {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        retry_after_ms(&headers, NOW)
    }

    #[test]
    fn nothing_usable_is_none() {
        assert_eq!(at(&[]), None);
        assert_eq!(at(&[("content-type", "application/json")]), None);
        for bad in ["", "soon", "-5", "1e3", "inf", "NaN", "1.2.3", ".", "Sun, 32 Nov 1994 08:49:37 GMT"] {
            assert_eq!(at(&[("retry-after", bad)]), None, "{bad:?}");
        }
        assert_eq!(at(&[("retry-after-ms", "-1")]), None);
    }

    #[test]
    fn retry_after_ms_header_comes_first() {
        assert_eq!(at(&[("retry-after-ms", "1500"), ("retry-after", "9")]), Some(NOW + 1500));
        assert_eq!(at(&[("retry-after-ms", "2.2")]), Some(NOW + 3));
        assert_eq!(at(&[("retry-after-ms", "junk"), ("retry-after", "9")]), Some(NOW + 9000));
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(at(&[("retry-after", "0")]), Some(NOW));
        assert_eq!(at(&[("retry-after", " 30 ")]), Some(NOW + 30_000));
        assert_eq!(at(&[("retry-after", "1.5")]), Some(NOW + 1500));
    }

    #[test]
    fn absurd_waits_are_capped_at_a_day() {
        assert_eq!(at(&[("retry-after", "99999999999999999999999")]), Some(NOW + MAX_WAIT_MS));
        assert_eq!(at(&[("retry-after", "Fri, 01 Jan 2100 00:00:00 GMT")]), Some(NOW + MAX_WAIT_MS));
        assert_eq!(retry_after_ms(&HeaderMap::new(), u64::MAX), None);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "10".parse().unwrap());
        assert_eq!(retry_after_ms(&headers, u64::MAX), Some(u64::MAX));
    }

    #[test]
    fn retry_after_http_dates() {
        assert_eq!(at(&[("retry-after", "Fri, 01 Mar 2024 00:01:00 GMT")]), Some(NOW + 60_000));
        assert_eq!(at(&[("retry-after", "Friday, 01-Mar-24 00:00:10 GMT")]), Some(NOW + 10_000));
        assert_eq!(at(&[("retry-after", "Fri Mar  1 00:00:05 2024")]), Some(NOW + 5000));
        // In the past: wait for nothing.
        assert_eq!(at(&[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")]), Some(NOW));
        assert_eq!(at(&[("retry-after", "Thu, 29 Feb 2024 23:59:59 GMT")]), Some(NOW));
        for bad in [
            "Fri, 01 Mar 2024 00:01:00",
            "Fri, 01 Mar 2024 00:01:00 PST",
            "Fri, 01 Foo 2024 00:01:00 GMT",
            "Thu, 29 Feb 2023 00:00:00 GMT",
            "Fri, 01 Mar 2024 24:00:00 GMT",
            "Fri, 01 Mar 2024 0:01:00 GMT",
            "Fri, 01 Mar 24 00:01:00 GMT",
            "Friday, 01-Mar-2024 00:00:10 GMT",
            "Fri, 01 Mar 2024 00:0é:00 GMT",
        ] {
            assert_eq!(at(&[("retry-after", bad)]), None, "{bad:?}");
        }
    }

    #[test]
    fn go_durations() {
        for (text, ms) in
            [("1s", 1000.0), ("6m0s", 360_000.0), ("120ms", 120.0), ("1h2m3.5s", 3_723_500.0), ("7.66s", 7660.0)]
        {
            assert_eq!(parse_duration_ms(text), Some(ms), "{text}");
        }
        assert_eq!(parse_duration_ms("2"), Some(2000.0));
        assert_eq!(parse_duration_ms("1500us"), Some(1.5));
        for bad in ["", "s", "1x", "1h-2m", "m5", "1..2s", "1sms", "5 s"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn openai_reset_only_when_exhausted() {
        let reset = [("x-ratelimit-reset-requests", "1s"), ("x-ratelimit-reset-tokens", "6m0s")];
        assert_eq!(at(&reset), None);
        let mut requests_out = reset.to_vec();
        requests_out.extend([("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-remaining-tokens", "900")]);
        assert_eq!(at(&requests_out), Some(NOW + 1000));
        let mut both_out = reset.to_vec();
        both_out.extend([("x-ratelimit-remaining-requests", "0"), ("x-ratelimit-remaining-tokens", "0")]);
        assert_eq!(at(&both_out), Some(NOW + 360_000));
        assert_eq!(
            at(&[("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "soon")]),
            None,
            "malformed reset"
        );
        both_out.push(("retry-after", "2"));
        assert_eq!(at(&both_out), Some(NOW + 2000), "Retry-After wins");
    }

    #[test]
    fn anthropic_reset_timestamps() {
        let at_reset = |remaining: &str, reset: &str| {
            at(&[("anthropic-ratelimit-tokens-remaining", remaining), ("anthropic-ratelimit-tokens-reset", reset)])
        };
        assert_eq!(at_reset("0", "2024-03-01T00:00:42Z"), Some(NOW + 42_000));
        assert_eq!(at_reset("0", "2024-03-01T00:00:42.5Z"), Some(NOW + 42_500));
        assert_eq!(at_reset("0", "2024-03-01T00:00:42.123456789Z"), Some(NOW + 42_123));
        assert_eq!(at_reset("0", "2024-03-01T02:00:42+02:00"), Some(NOW + 42_000));
        assert_eq!(at_reset("0", "2024-02-29T23:00:42-01:00"), Some(NOW + 42_000));
        assert_eq!(at_reset("12", "2024-03-01T00:00:42Z"), None);
        for bad in
            ["2024-03-01T00:00:42", "2024-03-01 00:00:42 UTC", "2024-13-01T00:00:42Z", "2024-03-01T00:00:42.Z", "nope"]
        {
            assert_eq!(at_reset("0", bad), None, "{bad:?}");
        }
        let several = at(&[
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2024-03-01T00:00:05Z"),
            ("anthropic-ratelimit-output-tokens-remaining", "0"),
            ("anthropic-ratelimit-output-tokens-reset", "2024-03-01T00:00:20Z"),
            ("anthropic-ratelimit-input-tokens-remaining", "100"),
            ("anthropic-ratelimit-input-tokens-reset", "2024-03-01T00:09:00Z"),
        ]);
        assert_eq!(several, Some(NOW + 20_000));
    }

    #[test]
    fn a_reset_before_the_epoch_is_now() {
        assert_eq!(rfc3339_ms("1969-12-31T23:59:59Z"), Some(0));
        let at_reset = at(&[
            ("anthropic-ratelimit-tokens-remaining", "0"),
            ("anthropic-ratelimit-tokens-reset", "1969-12-31T23:59:59Z"),
        ]);
        assert_eq!(at_reset, Some(NOW));
    }
}
