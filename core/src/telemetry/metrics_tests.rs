//! The rendered text is checked line by line against the exposition format, then its numbers.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

type Labels = Vec<(String, String)>;

#[derive(Debug)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

fn is_name(s: &str, colon: bool) -> bool {
    let mut chars = s.chars();
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':');
    chars.next().is_some_and(|c| !c.is_ascii_digit() && ok(c)) && chars.all(ok)
}

/// `{a="x",b="y"}` (already without the braces) with `\\`, `\"` and `\n` unescaped.
fn parse_labels(mut rest: &str) -> Labels {
    let mut labels = Vec::new();
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("label=\"value\"");
        assert!(is_name(name, false), "label name {name:?}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("unterminated label value") {
                (_, '\\') => match chars.next().expect("dangling escape").1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    c => panic!("bad escape \\{c}"),
                },
                (i, '"') => break i,
                (_, '\n') => panic!("raw newline in a label value"),
                (_, c) => value.push(c),
            }
        };
        labels.push((name.to_owned(), value));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    labels
}

fn parse_value(s: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        s => s.parse().unwrap_or_else(|_| panic!("bad value {s:?}")),
    }
}

/// Checks the format rules and returns the samples and the declared types.
fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    assert!(text.is_empty() || text.ends_with('\n'), "the last line ends with a newline");
    let mut types = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut finished = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut samples = Vec::new();
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        assert!(!line.is_empty(), "no blank lines");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP name text");
            assert!(is_name(name, true) && helps.insert(name.to_owned()), "one HELP per family: {line}");
            assert!(!types.contains_key(name), "HELP before TYPE: {line}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "{line}");
            assert!(types.insert(name.to_owned(), kind.to_owned()).is_none(), "one TYPE per family: {line}");
            if let Some(done) = current.replace(name.to_owned()) {
                finished.insert(done);
            }
        } else {
            assert!(!line.starts_with('#'), "unknown comment {line}");
            let (series, value) = line.rsplit_once(' ').expect("name{labels} value");
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, parse_labels(labels.strip_suffix('}').expect("closing brace"))),
                None => (series, Vec::new()),
            };
            assert!(is_name(name, true), "metric name {name:?}");
            let family = match types.get(name) {
                Some(kind) if kind != "histogram" => name.to_owned(),
                _ => ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| {
                        name.strip_suffix(suffix).filter(|base| types.get(*base).is_some_and(|k| k == "histogram"))
                    })
                    .unwrap_or_else(|| panic!("sample before its TYPE: {line}"))
                    .to_owned(),
            };
            assert_eq!(current.as_deref(), Some(family.as_str()), "families are contiguous: {line}");
            assert!(!finished.contains(&family));
            assert!(seen.insert((name.to_owned(), labels.clone())), "duplicate series: {line}");
            samples.push(Sample { name: name.to_owned(), labels, value: parse_value(value) });
        }
    }
    check_histograms(&samples, &types);
    (samples, types)
}

/// Buckets are cumulative and monotone in `le`, end at `+Inf`, which equals `_count`.
fn check_histograms(samples: &[Sample], types: &BTreeMap<String, String>) {
    for (family, _) in types.iter().filter(|(_, kind)| *kind == "histogram") {
        let mut buckets: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples.iter().filter(|s| s.name == format!("{family}_bucket")) {
            let le = s.labels.iter().find(|(k, _)| k == "le").expect("bucket has le");
            let rest: Labels = s.labels.iter().filter(|(k, _)| k != "le").cloned().collect();
            buckets.entry(rest).or_default().push((parse_value(&le.1), s.value));
        }
        for (labels, series) in &buckets {
            assert!(series.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{family}{labels:?}");
            let &(last_le, last) = series.last().unwrap();
            assert_eq!(last_le, f64::INFINITY);
            let find = |suffix: &str| {
                samples.iter().find(|s| s.name == format!("{family}{suffix}") && &s.labels == labels).map(|s| s.value)
            };
            assert_eq!(find("_count"), Some(last), "{family}{labels:?}");
            assert!(find("_sum").is_some());
        }
    }
}

fn total(samples: &[Sample], name: &str, filter: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && filter.iter().all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v)))
        .map(|s| s.value)
        .sum()
}

fn outcome(latency_ms: u64, ttft_ms: Option<u64>, error: bool) -> Outcome {
    Outcome { latency_ms, ttft_ms, error }
}

#[test]
fn rendered_text_follows_the_format_and_adds_up() {
    let metrics = Metrics::default();
    for i in 0..20u64 {
        metrics.observe_request("openai", "gpt-4o", 200, &outcome(100 * i, Some(10 * i), false), None);
    }
    metrics.observe_request("openai", "gpt-4o", 429, &outcome(30, None, true), None);
    metrics.observe_request("openai", "gpt-4o-mini", 0, &outcome(400_000, None, true), Some("timeout"));
    metrics.observe_request("anthropic", "claude", 529, &outcome(50, None, true), Some("overloaded"));
    metrics.observe_tokens("openai", "gpt-4o", 1000, 250);
    metrics.observe_tokens("openai", "gpt-4o", 24, 6);
    metrics.observe_cost("openai", "gpt-4o", 0.25);
    metrics.observe_cost("openai", "gpt-4o", 0.5);
    metrics.observe_cost("openai", "gpt-4o", -1.0);
    metrics.observe_cost("openai", "gpt-4o", f64::NAN);
    (0..3).for_each(|_| metrics.cache_hit(CacheHitKind::Exact));
    metrics.cache_hit(CacheHitKind::Semantic);
    metrics.cache_miss();
    metrics.gateway_error("rate_limited");
    metrics.gateway_error("rate_limited");
    metrics.gateway_error("unauthorized");
    let gauges = [
        Gauge::BreakerOpen { key: "openai/gpt-4o", open: true },
        Gauge::BreakerOpen { key: "anthropic", open: false },
        Gauge::UsageBufferRows(17),
        Gauge::UsageDroppedRows(2),
        Gauge::CacheEntries(4),
        Gauge::CacheBytes(4096),
        Gauge::SemanticEntries(3),
        Gauge::EmbeddingFailures(1),
        Gauge::IdempotencyKeys(5),
    ];
    let text = metrics.render(&gauges);
    let (samples, types) = parse(&text);

    assert_eq!(types["omniroute_requests_total"], "counter");
    assert_eq!(types["omniroute_request_duration_seconds"], "histogram");
    assert_eq!(types["omniroute_breaker_open"], "gauge");
    assert_eq!(total(&samples, "omniroute_requests_total", &[]), 23.0);
    assert_eq!(total(&samples, "omniroute_requests_total", &[("model", "gpt-4o"), ("status", "200")]), 20.0);
    assert_eq!(total(&samples, "omniroute_requests_total", &[("status", "0")]), 1.0);
    assert_eq!(total(&samples, "omniroute_errors_total", &[]), 3.0);
    assert_eq!(total(&samples, "omniroute_errors_total", &[("provider", "openai"), ("code", "429")]), 1.0);
    assert_eq!(total(&samples, "omniroute_errors_total", &[("code", "timeout")]), 1.0);
    assert_eq!(total(&samples, "omniroute_tokens_total", &[("direction", "input")]), 1024.0);
    assert_eq!(total(&samples, "omniroute_tokens_total", &[("direction", "output")]), 256.0);
    assert_eq!(total(&samples, "omniroute_cost_usd_total", &[]), 0.75);
    assert_eq!(total(&samples, "omniroute_cache_hits_total", &[("type", "exact")]), 3.0);
    assert_eq!(total(&samples, "omniroute_cache_hits_total", &[("type", "semantic")]), 1.0);
    assert_eq!(total(&samples, "omniroute_gateway_errors_total", &[("code", "rate_limited")]), 2.0);
    assert_eq!(total(&samples, "omniroute_gateway_errors_total", &[("code", "unauthorized")]), 1.0);
    assert_eq!(types["omniroute_usage_dropped_rows_total"], "counter");
    assert_eq!(types["omniroute_cache_memory_entries"], "gauge");
    for (name, value) in [
        ("omniroute_usage_dropped_rows_total", 2.0),
        ("omniroute_cache_memory_entries", 4.0),
        ("omniroute_cache_memory_bytes", 4096.0),
        ("omniroute_semantic_cache_entries", 3.0),
        ("omniroute_semantic_embedding_failures_total", 1.0),
        ("omniroute_idempotency_active_keys", 5.0),
    ] {
        assert_eq!(total(&samples, name, &[]), value, "{name}");
    }
    assert_eq!(total(&samples, "omniroute_cache_misses_total", &[]), 1.0);
    assert_eq!(total(&samples, "omniroute_request_duration_seconds_count", &[]), 23.0);
    // 0.1 s * (0 + 1 + … + 19) = 19 s, plus 30 ms, 400 s and 50 ms.
    let sum = total(&samples, "omniroute_request_duration_seconds_sum", &[]);
    assert!((sum - 419.08).abs() < 1e-9, "{sum}");
    assert_eq!(total(&samples, "omniroute_time_to_first_token_seconds_count", &[]), 20.0);
    // `le` is inclusive: 0, 30 and 100 ms fall in le="0.1"; 400 s only in +Inf.
    let gpt = [("provider", "openai"), ("model", "gpt-4o")];
    assert_eq!(total(&samples, "omniroute_request_duration_seconds_bucket", &[gpt[0], gpt[1], ("le", "0.1")]), 3.0);
    assert_eq!(
        total(&samples, "omniroute_request_duration_seconds_bucket", &[("model", "gpt-4o-mini"), ("le", "300")]),
        0.0
    );
    assert_eq!(
        total(&samples, "omniroute_request_duration_seconds_bucket", &[("model", "gpt-4o-mini"), ("le", "+Inf")]),
        1.0
    );
    assert_eq!(total(&samples, "omniroute_breaker_open", &[("key", "openai/gpt-4o")]), 1.0);
    assert_eq!(total(&samples, "omniroute_breaker_open", &[("key", "anthropic")]), 0.0);
    assert_eq!(total(&samples, "omniroute_usage_buffer_rows", &[]), 17.0);
    assert!(
        text.contains(
            "omniroute_request_duration_seconds_bucket{provider=\"openai\",model=\"gpt-4o\",le=\"0.05\"} 2\n"
        )
    );
    assert!(text.contains("# TYPE omniroute_time_to_first_token_seconds histogram\n"));
}

#[test]
fn labels_are_escaped() {
    let metrics = Metrics::default();
    let nasty = "a\"b\\c\nd}e,f=g";
    metrics.observe_request(nasty, "m", 500, &outcome(1, None, true), Some("x\"y"));
    let text = metrics.render(&[Gauge::BreakerOpen { key: "k\n\"", open: true }]);
    assert!(text.contains(r#"provider="a\"b\\c\nd}e,f=g""#), "{text}");
    assert!(text.contains(r#"code="x\"y""#));
    assert!(text.contains("omniroute_breaker_open{key=\"k\\n\\\"\"} 1\n"));
    let (samples, _) = parse(&text);
    assert_eq!(total(&samples, "omniroute_requests_total", &[("provider", nasty), ("status", "500")]), 1.0);
    assert_eq!(total(&samples, "omniroute_errors_total", &[("provider", nasty), ("code", "x\"y")]), 1.0);
    assert_eq!(total(&samples, "omniroute_breaker_open", &[("key", "k\n\"")]), 1.0);
}

#[test]
fn empty_metrics_render_and_gauges_are_optional() {
    let metrics = Metrics::default();
    let text = metrics.render(&[]);
    let (samples, types) = parse(&text);
    assert!(!types.contains_key("omniroute_breaker_open") && !types.contains_key("omniroute_usage_buffer_rows"));
    assert_eq!(samples.len(), 3, "only the cache counters: {text}");
    let text = metrics.render(&[Gauge::UsageBufferRows(3), Gauge::UsageBufferRows(5)]);
    let (samples, _) = parse(&text);
    assert_eq!(total(&samples, "omniroute_usage_buffer_rows", &[]), 5.0, "the last value wins");
}

#[test]
fn label_pairs_are_capped() {
    let metrics = Metrics::new(2);
    for model in ["a", "b", "c", "d", "a"] {
        metrics.observe_request("p", model, 200, &outcome(1, None, false), None);
    }
    for code in ["x", "y", "z"] {
        metrics.observe_request("p", "a", 500, &outcome(1, None, true), Some(code));
    }
    let (samples, _) = parse(&metrics.render(&[]));
    let models: BTreeSet<_> = samples
        .iter()
        .filter(|s| s.name == "omniroute_requests_total")
        .flat_map(|s| s.labels.iter().filter(|(k, _)| k == "model").map(|(_, v)| v.clone()))
        .collect();
    assert_eq!(models, BTreeSet::from(["a", "b", "other"].map(String::from)));
    assert_eq!(total(&samples, "omniroute_requests_total", &[("model", "a")]), 5.0);
    assert_eq!(total(&samples, "omniroute_requests_total", &[("model", OVERFLOW_LABEL)]), 2.0);
    assert_eq!(total(&samples, "omniroute_errors_total", &[("code", "other")]), 1.0);
    assert_eq!(total(&samples, "omniroute_errors_total", &[]), 3.0);
}

#[test]
fn shared_across_threads() {
    let metrics = Metrics::default();
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let metrics = &metrics;
            scope.spawn(move || {
                for i in 0..250 {
                    metrics.observe_request("p", "m", 200, &outcome(t * 1000 + i, None, false), None);
                    metrics.observe_tokens("p", "m", 1, 2);
                }
            });
        }
    });
    let (samples, _) = parse(&metrics.render(&[]));
    assert_eq!(total(&samples, "omniroute_requests_total", &[]), 1000.0);
    assert_eq!(total(&samples, "omniroute_tokens_total", &[("direction", "output")]), 2000.0);
    assert_eq!(total(&samples, "omniroute_request_duration_seconds_count", &[]), 1000.0);
}

#[test]
fn the_checker_rejects_malformed_text() {
    let bad = [
        "x_total 1\n",
        "# TYPE x counter\nx{a=\"b} 1\n",
        "# TYPE x counter\nx{a=\"\\t\"} 1\n",
        "# TYPE x counter\nx 1\nx 2\n",
        "# TYPE x counter\n# TYPE y counter\ny 1\nx 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
        "# TYPE x counter\nx one\n",
    ];
    for text in bad {
        assert!(std::panic::catch_unwind(|| parse(text)).is_err(), "accepted {text:?}");
    }
    let good = "# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3.5\nh_count 2\n";
    assert_eq!(parse(good).0.len(), 4);
}
