//! Query strings of management GETs: percent-decoded, unknown parameters refused by name, and
//! typed readers whose errors name the parameter (`limit`, `since`).

use crate::admin::json::{invalid, parse_timestamp};
use crate::error::GatewayError;
use crate::percent::form_decode;

/// 9999-12-31T23:59:59.999Z: the last instant RFC 3339's four-digit years can name.
pub const LAST_INSTANT_MS: u64 = 253_402_300_799_999;

/// The decoded parameters of one request.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses `query`, refusing a parameter not in `known` (a typo must not silently widen
    /// what a list returns).
    pub fn parse(query: Option<&str>, known: &[&str]) -> Result<Query, GatewayError> {
        let pairs: Vec<(String, String)> = decoded_pairs(query).collect();
        if let Some((name, _)) = pairs.iter().find(|(name, _)| !known.contains(&name.as_str())) {
            return Err(invalid(name, format!("is not a parameter here (known: {})", known.join(", "))));
        }
        Ok(Query { pairs })
    }

    /// Every parameter, unknown ones kept: for the few reads that take one optional parameter
    /// and ignore the rest.
    pub fn lenient(query: Option<&str>) -> Query {
        Query { pairs: decoded_pairs(query).collect() }
    }

    /// The first value of `name`, when given (an empty value is a value: `?limit=` is no number).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `name` as an owned string, when given.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// `name` as a number in `min..=max`, `default` when absent.
    pub fn number(&self, name: &str, min: u64, max: u64, default: u64) -> Result<u64, GatewayError> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| invalid(name, format!("must be a whole number from {min} to {max}"))),
        }
    }

    /// `name` as an instant: RFC 3339 (`2026-12-01T00:00:00Z`) or Unix milliseconds, up to
    /// the end of year 9999.
    pub fn time(&self, name: &str) -> Result<Option<u64>, GatewayError> {
        let instant = match self.get(name) {
            None => return Ok(None),
            Some("") => None,
            Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => text.parse::<u64>().ok(),
            Some(text) => Some(parse_timestamp(name, text)?),
        };
        instant
            .filter(|ms| *ms <= LAST_INSTANT_MS)
            .map(Some)
            .ok_or_else(|| invalid(name, "must be an RFC 3339 timestamp or Unix milliseconds, before the year 10000"))
    }

    /// `name` as one of `options` (by their names), `default` when absent.
    pub fn choice<T: Copy>(&self, name: &str, options: &[(&str, T)], default: T) -> Result<T, GatewayError> {
        let Some(text) = self.get(name) else { return Ok(default) };
        options.iter().find(|(option, _)| *option == text).map(|(_, value)| *value).ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
            invalid(name, format!("must be one of: {}", names.join(", ")))
        })
    }
}

/// The `name=value` pairs, decoded (a pair without `=` has an empty value).
fn decoded_pairs(query: Option<&str>) -> impl Iterator<Item = (String, String)> {
    query.unwrap_or_default().split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(name).into_owned(), form_decode(value).into_owned())
    })
}

/// One parameter's decoded value, `None` when absent or empty; other parameters are ignored.
pub(crate) fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    Query::lenient(query).text(name).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(err: GatewayError) -> String {
        match err {
            GatewayError::InvalidField { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lenient_reads_take_one_value_and_ignore_the_rest() {
        assert_eq!(query_value(Some("provider=openai&x=1"), "provider").as_deref(), Some("openai"));
        assert_eq!(query_value(Some("x=1&model=a%2Fb+c"), "model").as_deref(), Some("a/b c"));
        assert_eq!(query_value(Some("providers=x&provider="), "provider"), None);
        assert_eq!(query_value(Some("bad=%zz&provider=p"), "provider").as_deref(), Some("p"));
        assert_eq!(query_value(None, "provider"), None);
        assert_eq!(Query::lenient(Some("limit=5&other=1")).number("limit", 1, 10, 3).unwrap(), 5);
    }

    #[test]
    fn decodes_and_reads_typed_values() {
        let query = Query::parse(
            Some("model=openai%2Fgpt-4o&since=2026-12-01T00%3A00%3A00Z&limit=5&until=1000"),
            &["model", "since", "until", "limit"],
        )
        .unwrap();
        assert_eq!(query.get("model"), Some("openai/gpt-4o"));
        assert_eq!(query.time("since").unwrap(), parse_timestamp("t", "2026-12-01T00:00:00Z").ok());
        assert_eq!(query.time("until").unwrap(), Some(1000));
        assert_eq!(query.number("limit", 1, 10, 50).unwrap(), 5);
        assert_eq!(query.number("offset", 0, 10, 0).unwrap(), 0);
    }

    #[test]
    fn errors_name_the_parameter() {
        assert_eq!(field(Query::parse(Some("limt=5"), &["limit"]).unwrap_err()), "limt");
        let query = Query::parse(Some("limit=0&since=yesterday&bucket=week"), &["limit", "since", "bucket"]).unwrap();
        assert_eq!(field(query.number("limit", 1, 10, 5).unwrap_err()), "limit");
        assert_eq!(field(query.time("since").unwrap_err()), "since");
        let far = Query::parse(Some("until=253402300800000&since="), &["until", "since"]).unwrap();
        assert_eq!(field(far.time("until").unwrap_err()), "until");
        assert_eq!(field(far.time("since").unwrap_err()), "since", "empty is not an instant");
        let empty = Query::parse(Some("limit="), &["limit"]).unwrap();
        assert_eq!(field(empty.number("limit", 1, 10, 5).unwrap_err()), "limit");
        assert_eq!(field(query.choice("bucket", &[("day", 1), ("hour", 2)], 1).unwrap_err()), "bucket");
        assert_eq!(field(Query::parse(Some("mod%65l=x"), &["limit"]).unwrap_err()), "model", "the decoded name");
    }

    /// Malformed escapes are read as the `percent-encoding` crate reads them: literally. The old
    /// decoder refused `%ZZ` but took `%+5` for the byte 5.
    #[test]
    fn malformed_escapes_are_text() {
        let query = Query::parse(Some("model=%ZZ&provider=%+5&q=100%"), &["model", "provider", "q"]).unwrap();
        assert_eq!(query.get("model"), Some("%ZZ"));
        assert_eq!(query.get("provider"), Some("% 5"), "`+` is a space; `%` without two hex digits stays");
        assert_eq!(query.get("q"), Some("100%"));
        assert_eq!(query_value(Some("provider=%+5"), "provider").as_deref(), Some("% 5"));
        assert_eq!(query_value(Some("provider=a%2Bb"), "provider").as_deref(), Some("a+b"));
    }
}
