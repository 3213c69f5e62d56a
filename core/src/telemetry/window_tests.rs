//! Window tests on explicit clocks: slices roll, old data leaves the window, keys stay bounded.

use super::*;

const MIN: u64 = 60_000;
/// A minute boundary near late 2023.
const T0: u64 = 28_333_333 * MIN;

fn key(provider: &str, model: &str) -> StatsKey {
    StatsKey::new(provider, model)
}

fn ok(latency_ms: u64) -> Outcome {
    Outcome { latency_ms, ttft_ms: None, error: false }
}

fn failed(latency_ms: u64) -> Outcome {
    Outcome { latency_ms, ttft_ms: None, error: true }
}

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() <= 0.01 * expected + 1e-9)
}

fn one(window: &Window, now_ms: u64, window_ms: u64) -> KeySummary {
    let mut all = window.summary(now_ms, window_ms);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

#[test]
fn counts_errors_and_error_rate() {
    let window = Window::default();
    let k = key("openai", "gpt-4o");
    (0..6).for_each(|i| window.record(T0 + i * 1000, &k, &ok(100)));
    (0..2).for_each(|i| window.record(T0 + i * 1000, &k, &failed(50)));
    let s = one(&window, T0 + 10_000, MIN);
    assert_eq!((s.provider.as_str(), s.model.as_deref()), ("openai", Some("gpt-4o")));
    assert_eq!((s.count, s.errors), (8, 2));
    assert!((s.error_rate - 0.25).abs() < 1e-12);
    assert!(close(s.latency_ms.p50, 100.0), "{:?}", s.latency_ms);
    assert_eq!(s.latency_ms.p95, Some(100.0));
    assert_eq!(s.ttft_ms, Percentiles::default());
}

#[test]
fn percentiles_of_a_known_distribution() {
    let window = Window::default();
    let k = key("anthropic", "claude");
    // Latencies 1..=1000 ms and TTFT = latency / 4, spread over ten minutes in shuffled order.
    for i in 0..1000u64 {
        let latency = (i * 617) % 1000 + 1;
        let outcome = Outcome { latency_ms: latency, ttft_ms: Some(latency * 4), error: false };
        window.record(T0 + (i % 10) * MIN + i, &k, &outcome);
    }
    let s = one(&window, T0 + 10 * MIN - 1, 10 * MIN);
    assert_eq!(s.count, 1000);
    // Nearest ranks: the 500th, 950th and 990th of 1..=1000.
    assert!(close(s.latency_ms.p50, 500.0), "{:?}", s.latency_ms);
    assert!(close(s.latency_ms.p95, 950.0), "{:?}", s.latency_ms);
    assert!(close(s.latency_ms.p99, 990.0), "{:?}", s.latency_ms);
    assert!(close(s.ttft_ms.p50, 2000.0), "{:?}", s.ttft_ms);
    assert!(close(s.ttft_ms.p99, 3960.0), "{:?}", s.ttft_ms);
}

#[test]
fn slices_roll_and_the_window_excludes_old_data() {
    let window = Window::default();
    let k = key("p", "m");
    // One request per minute for five minutes, latency = 100 * (minute + 1).
    for minute in 0..5 {
        window.record(T0 + minute * MIN + 30_000, &k, &ok(100 * (minute + 1)));
    }
    let now = T0 + 4 * MIN + 45_000;
    assert_eq!(one(&window, now, MIN).count, 1, "the current slice only");
    assert_eq!(one(&window, now, MIN).latency_ms.p50, Some(500.0));
    assert_eq!(one(&window, now, MIN + 1).count, 2, "rounded up to whole slices");
    assert_eq!(one(&window, now, 3 * MIN).count, 3);
    assert_eq!(one(&window, now, 3 * MIN).latency_ms.p99, Some(500.0));
    assert!(close(one(&window, now, 3 * MIN).latency_ms.p50, 400.0));
    assert_eq!(one(&window, now, 0).count, 1, "at least one slice");
    assert_eq!(one(&window, now, u64::MAX).count, 5, "at most the retention");
    assert_eq!(window.summarize(now, u64::MAX).window_ms, 60 * MIN);
    assert_eq!(window.summarize(now, 90_000).window_ms, 2 * MIN);
    // An hour later only the last minutes remain; an hour after the last record nothing does.
    let later = T0 + 61 * MIN;
    assert_eq!(one(&window, later, 60 * MIN).count, 3);
    assert!(window.summary(T0 + 65 * MIN, 60 * MIN).is_empty());
    assert_eq!(window.key_count(), 0, "summaries drop keys with nothing retained");
}

#[test]
fn old_slices_are_dropped_as_time_advances() {
    let window = Window::new(WindowConfig { slice_ms: 1000, slices: 5, ..WindowConfig::default() });
    let k = key("p", "m");
    for second in 0..100 {
        window.record(T0 + second * 1000, &k, &ok(10));
        let state = window.lock();
        assert!(state.keys[&k].slices.len() <= 5);
    }
    assert_eq!(one(&window, T0 + 99_500, 5000).count, 5);
    // A record from before the retained slices is ignored; one inside them still counts.
    window.record(T0 + 90_000, &k, &ok(10));
    window.record(T0 + 96_000, &k, &ok(10));
    assert_eq!(one(&window, T0 + 99_500, 5000).count, 6);
}

#[test]
fn providers_merge_their_models() {
    let window = Window::default();
    (1..=3).for_each(|i| window.record(T0, &key("openai", "gpt-4o"), &ok(i * 100)));
    (4..=6).for_each(|i| window.record(T0, &key("openai", "gpt-4o-mini"), &failed(i * 100)));
    window.record(T0, &key("anthropic", "claude"), &ok(1000));
    let summary = window.summarize(T0 + 1, MIN);
    let models: Vec<_> = summary.models.iter().map(|s| (s.provider.as_str(), s.model.as_deref(), s.count)).collect();
    assert_eq!(
        models,
        [("anthropic", Some("claude"), 1), ("openai", Some("gpt-4o"), 3), ("openai", Some("gpt-4o-mini"), 3)]
    );
    let providers: Vec<_> = summary.providers.iter().map(|s| (s.provider.as_str(), s.model.clone())).collect();
    assert_eq!(providers, [("anthropic", None), ("openai", None)]);
    let openai = &summary.providers[1];
    assert_eq!((openai.count, openai.errors), (6, 3));
    assert!((openai.error_rate - 0.5).abs() < 1e-12);
    assert!(close(openai.latency_ms.p50, 300.0), "{:?}", openai.latency_ms);
    assert_eq!(openai.latency_ms.p99, Some(600.0));
    assert_eq!(window.provider_summary(T0 + 1, MIN), summary.providers);
}

#[test]
fn keys_are_bounded_and_the_least_recently_seen_goes() {
    let window = Window::new(WindowConfig { max_keys: 3, ..WindowConfig::default() });
    window.record(T0, &key("p", "a"), &ok(1));
    window.record(T0 + 1, &key("p", "b"), &ok(1));
    window.record(T0 + 2, &key("p", "c"), &ok(1));
    window.record(T0 + 3, &key("p", "a"), &ok(1));
    window.record(T0 + 4, &key("p", "d"), &ok(1));
    assert_eq!(window.key_count(), 3);
    let models: Vec<_> = window.summary(T0 + 5, MIN).into_iter().filter_map(|s| s.model).collect();
    assert_eq!(models, ["a", "c", "d"], "b was the least recently seen");
    // Keys with nothing retained go before any live one.
    window.record(T0 + 61 * MIN, &key("p", "e"), &ok(1));
    window.record(T0 + 61 * MIN, &key("p", "f"), &ok(1));
    assert_eq!(window.key_count(), 2);
}

#[test]
fn zero_config_is_raised() {
    let window = Window::new(WindowConfig { slice_ms: 0, slices: 0, max_keys: 0, ..WindowConfig::default() });
    assert_eq!((window.config().slice_ms, window.config().slices, window.config().max_keys), (1, 1, 1));
    window.record(5, &key("p", "m"), &ok(7));
    assert_eq!(one(&window, 5, 1000).count, 1);
    assert!(window.summary(6, 1000).is_empty());
    assert_eq!(WindowConfig::default().retention_ms(), 3_600_000);
}

#[test]
fn summary_serializes_as_the_endpoint_shows_it() {
    let window = Window::default();
    window.record(T0, &key("openai", "gpt-4o"), &Outcome { latency_ms: 200, ttft_ms: Some(50), error: false });
    let json = serde_json::to_value(window.summarize(T0 + 1000, MIN)).unwrap();
    let expected = serde_json::json!({
        "as_of_ms": T0 + 1000,
        "window_ms": MIN,
        "providers": [{
            "provider": "openai", "count": 1, "errors": 0, "error_rate": 0.0,
            "latency_ms": {"p50": 200.0, "p95": 200.0, "p99": 200.0},
            "ttft_ms": {"p50": 50.0, "p95": 50.0, "p99": 50.0}
        }],
        "models": [{
            "provider": "openai", "model": "gpt-4o", "count": 1, "errors": 0, "error_rate": 0.0,
            "latency_ms": {"p50": 200.0, "p95": 200.0, "p99": 200.0},
            "ttft_ms": {"p50": 50.0, "p95": 50.0, "p99": 50.0}
        }]
    });
    assert_eq!(json, expected);
    let back: Summary = serde_json::from_value(json).unwrap();
    assert_eq!(back.models[0].model.as_deref(), Some("gpt-4o"));
    assert_eq!(back.providers[0].model, None);
}
