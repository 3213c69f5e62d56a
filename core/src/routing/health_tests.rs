//! Unit tests of the resilience state, on a manual clock.

use super::*;
use crate::ports::memory::ManualClock;

const T0: u64 = 1_700_000_000_000;
const KEYED: AuthScheme = AuthScheme::Bearer;

fn setup() -> (Arc<ManualClock>, Health) {
    let clock = Arc::new(ManualClock::new(T0));
    (clock.clone(), Health::new(clock, BreakerProfiles::default()))
}

fn advance(clock: &ManualClock, ms: u64) {
    clock.advance(ms);
}

fn fail(health: &Health, key: &HealthKey, times: u32) {
    (0..times).for_each(|_| health.on_failure(key, KEYED, Failure::Status(503)));
}

fn open_rejection(until_ms: u64) -> Admission {
    Admission::Rejected { until_ms, reason: RejectReason::BreakerOpen }
}

#[test]
fn opens_after_threshold_failures_within_the_window() {
    let (clock, health) = setup();
    let key = HealthKey::model("openai", "gpt-4o");
    fail(&health, &key, 4);
    assert_eq!(health.admit(&key, KEYED), Admission::Allowed);
    advance(&clock, 1000);
    health.on_failure(&key, KEYED, Failure::Timeout);
    assert_eq!(health.state(&key), CircuitState::Open);
    assert_eq!(health.admit(&key, KEYED), open_rejection(T0 + 1000 + 30_000));
    advance(&clock, 29_999);
    assert_eq!(health.admit(&key, KEYED), open_rejection(T0 + 31_000));
}

#[test]
fn failures_spread_beyond_the_window_do_not_open() {
    let (clock, health) = setup();
    let key = HealthKey::account("acc-1");
    for _ in 0..20 {
        health.on_failure(&key, KEYED, Failure::Connect);
        advance(&clock, 15_000);
    }
    assert_eq!(health.admit(&key, KEYED), Admission::Allowed);
    assert_eq!(health.snapshot().keys[0].failures_in_window, 3);
    health.on_success(&key, KEYED, 10);
    fail(&health, &key, 2);
    assert_eq!(health.state(&key), CircuitState::Open, "successes do not clear the window");
}

#[test]
fn half_open_admits_exactly_the_probes_and_a_success_closes() {
    let (clock, health) = setup();
    health.set_profiles(BreakerProfiles {
        default: BreakerConfig { half_open_probes: 2, ..BreakerConfig::REMOTE },
        ..BreakerProfiles::default()
    });
    let key = HealthKey::model("anthropic", "claude");
    fail(&health, &key, 5);
    advance(&clock, 30_000);
    assert_eq!(health.state(&key), CircuitState::HalfOpen);
    assert_eq!(health.admit(&key, KEYED), Admission::Probe);
    advance(&clock, 10);
    assert_eq!(health.admit(&key, KEYED), Admission::Probe);
    assert_eq!(health.admit(&key, KEYED), open_rejection(T0 + 30_010 + 30_000));
    assert_eq!(health.snapshot().keys[0].probes_in_flight, 2);
    health.on_success(&key, KEYED, 120);
    assert_eq!(health.state(&key), CircuitState::Closed);
    assert_eq!(health.admit(&key, KEYED), Admission::Allowed);
    fail(&health, &key, 4);
    assert_eq!(health.state(&key), CircuitState::Closed, "the window restarted on closing");
}

#[test]
fn probe_failure_reopens_and_abandoned_probes_free_their_slot() {
    let (clock, health) = setup();
    let key = HealthKey::account("acc-1");
    fail(&health, &key, 5);
    advance(&clock, 30_000);
    assert_eq!(health.admit(&key, KEYED), Admission::Probe);
    health.on_failure(&key, KEYED, Failure::StreamBroken);
    assert_eq!(health.admit(&key, KEYED), open_rejection(T0 + 60_000));
    advance(&clock, 30_000);
    assert_eq!(health.admit(&key, KEYED), Admission::Probe);
    advance(&clock, 29_999);
    assert_eq!(health.admit(&key, KEYED), open_rejection(T0 + 90_000));
    advance(&clock, 1);
    assert_eq!(health.admit(&key, KEYED), Admission::Probe, "the unanswered probe was abandoned");
}

#[test]
fn cooldowns_reject_until_they_expire_and_keep_the_later_deadline() {
    let (clock, health) = setup();
    let key = HealthKey::account("acc-1");
    health.cool_down(&HealthKey::account("acc-1"), T0 + 5000, "rate limited", CoolKind::RateLimited);
    health.cool_down(&HealthKey::account("acc-1"), T0 + 2000, "rate limited", CoolKind::RateLimited);
    let cooling = |until_ms| Admission::Rejected { until_ms, reason: RejectReason::CoolingDown };
    assert_eq!(health.admit(&key, KEYED), cooling(T0 + 5000));
    let rows = [("acc-1".into(), T0 + 8000), ("acc-2".into(), T0 + 1000), ("old".into(), T0)];
    health.merge_shared(&rows, health.share_epoch());
    assert_eq!(health.cooldown_until(&HealthKey::account("acc-1")), Some(T0 + 8000));
    assert_eq!(health.cooldown_until(&HealthKey::account("acc-2")), Some(T0 + 1000));
    assert_eq!(health.cooldown_until(&HealthKey::account("old")), None);
    assert_eq!(health.shared_rows(), vec![("acc-1".into(), T0 + 5000)], "only its own: peers share theirs");
    assert_eq!(health.admit(&HealthKey::model("acc-1", "m"), KEYED), Admission::Allowed);
    fail(&health, &key, 5);
    assert_eq!(health.admit(&key, KEYED), open_rejection(T0 + 30_000), "the later of breaker and cooldown");
    advance(&clock, 8000);
    assert_eq!(health.cooldown_until(&HealthKey::account("acc-1")), None);
    advance(&clock, 22_000);
    health.cool_down(&HealthKey::account("acc-1"), T0 + 100_000, "rate limited", CoolKind::RateLimited);
    assert_eq!(health.admit(&key, KEYED), cooling(T0 + 100_000), "no probe is spent while cooling");
    health.reset(Some(&HealthKey::account("acc-2")));
    health.merge_shared(&[], health.share_epoch());
    assert_eq!(health.snapshot().keys[0].probes_in_flight, 0);
}

#[test]
fn estimates_move_with_each_outcome() {
    let (_, health) = setup();
    let key = HealthKey::model("groq", "llama");
    assert_eq!(health.estimate(&key), Estimate::default());
    health.on_success(&key, KEYED, 100);
    assert_eq!(health.estimate(&key), Estimate { latency_ms: Some(100.0), error_rate: 0.0, requests: 1 });
    health.on_success(&key, KEYED, 200);
    health.on_failure(&key, KEYED, Failure::Timeout);
    let estimate = health.estimate(&key);
    assert!((estimate.latency_ms.unwrap() - 130.0).abs() < 1e-9);
    assert!((estimate.error_rate - 0.3).abs() < 1e-9);
    assert_eq!(estimate.requests, 3);
}

#[test]
fn reset_forgets_one_key_or_everything() {
    let (_, health) = setup();
    let (a, b) = (HealthKey::account("a"), HealthKey::model("p", "org/m"));
    fail(&health, &a, 5);
    fail(&health, &b, 5);
    health.cool_down(&HealthKey::account("a"), T0 + 1000, "rate limited", CoolKind::RateLimited);
    health.cool_down(&HealthKey::account("c"), T0 + 1000, "rate limited", CoolKind::RateLimited);
    health.reset(Some(&a));
    assert_eq!(health.admit(&a, KEYED), Admission::Allowed);
    assert_eq!(health.state(&b), CircuitState::Open);
    let report = health.snapshot();
    let keys: Vec<String> = report.keys.iter().map(|k| k.key.to_string()).collect();
    assert_eq!(keys, ["account:c", "model:p/org/m"]);
    health.reset(None);
    assert!(health.snapshot().keys.is_empty());
}

#[test]
fn local_providers_use_the_lenient_profile() {
    let (clock, health) = setup();
    let (local, remote) = (HealthKey::model("ollama", "llama3"), HealthKey::model("openai", "gpt"));
    for _ in 0..3 {
        health.on_failure(&local, AuthScheme::None, Failure::Connect);
        health.on_failure(&remote, KEYED, Failure::Connect);
    }
    assert_eq!(health.admit(&local, AuthScheme::None), open_rejection(T0 + 5000));
    assert_eq!(health.admit(&remote, KEYED), Admission::Allowed);
    advance(&clock, 5000);
    assert_eq!(health.admit(&local, AuthScheme::None), Admission::Probe);
    assert_ne!(health.profiles().for_auth(AuthScheme::None), health.profiles().for_auth(AuthScheme::XApiKey));
}

#[test]
fn snapshot_serializes_every_key() {
    let (_, health) = setup();
    let key = HealthKey::model("openai", "gpt-4o");
    fail(&health, &key, 5);
    health.cool_down(&HealthKey::account("acc-1"), T0 + 1000, "rate limited", CoolKind::RateLimited);
    let json = serde_json::to_value(health.snapshot()).unwrap();
    assert_eq!(json["keys"][0]["key"], "account:acc-1");
    assert_eq!(json["keys"][0]["cooldown_until_ms"], T0 + 1000);
    assert_eq!(json["keys"][1]["state"], "open");
    assert_eq!(json["keys"][1]["open_until_ms"], T0 + 30_000);
    assert_eq!(json["keys"][1]["failures_in_window"], 5);
    assert_eq!(json["keys"][1]["last_failure"], "status 503");
    assert_eq!(json["keys"][1]["error_rate"].as_f64().map(|r| r > 0.8), Some(true));
    assert_eq!(json["profiles"]["local"]["open_ms"], 5000);
}

#[test]
fn keys_parse_and_profiles_patch() {
    for text in ["account:abc", "model:openrouter/meta-llama/llama-3"] {
        assert_eq!(text.parse::<HealthKey>().unwrap().to_string(), text);
    }
    for bad in ["account:", "model:x", "model:/m", "nope"] {
        assert!(bad.parse::<HealthKey>().is_err(), "{bad}");
    }
    let patched = BreakerProfiles::default().patched(&serde_json::json!({"local": {"open_ms": 1}})).unwrap();
    assert_eq!(patched.local, BreakerConfig { open_ms: 1, ..BreakerConfig::LOCAL });
    assert_eq!(patched.default, BreakerConfig::REMOTE);
    assert!(BreakerProfiles::default().patched(&serde_json::json!({"local": {"open_mss": 1}})).is_err());
    assert!(BreakerProfiles::default().patched(&serde_json::json!({"default": null})).is_ok());
}

#[test]
fn an_endpoint_key_is_the_origin_of_the_base_url() {
    let key = HealthKey::endpoint_of("https://API.example.com:8443/v1/openai?x=1");
    assert_eq!(key, HealthKey::Endpoint("https://api.example.com:8443".into()));
    assert_eq!(key.to_string(), "endpoint:https://api.example.com:8443");
    assert_eq!("endpoint:https://api.example.com:8443/v1".parse::<HealthKey>(), Ok(key.clone()));
    assert_eq!(key.scope(), KeyScope::Endpoint);
    assert_eq!(HealthKey::endpoint_of("http://127.0.0.1:11434"), HealthKey::Endpoint("http://127.0.0.1:11434".into()));
}

#[test]
fn an_endpoint_breaker_has_its_own_settings() {
    let (_clock, health) = setup();
    let endpoint = HealthKey::endpoint_of("http://127.0.0.1:9");
    fail(&health, &endpoint, BreakerConfig::ENDPOINT.failure_threshold);
    assert_eq!(health.state(&endpoint), CircuitState::Open, "three refused connections open it");
    let account = HealthKey::account("acc-1");
    fail(&health, &account, BreakerConfig::ENDPOINT.failure_threshold);
    assert_eq!(health.state(&account), CircuitState::Closed, "the model/account breaker needs five");
    assert!(matches!(health.peek(&endpoint, KEYED), Admission::Rejected { reason: RejectReason::BreakerOpen, .. }));
}

#[test]
fn timeouts_count_against_the_endpoint_only_across_models() {
    let (_clock, health) = setup();
    let endpoint = HealthKey::endpoint_of("https://slow.example.com/v1");
    for _ in 0..5 {
        assert!(!health.endpoint_timeout(&endpoint, KEYED, "slow-model"), "one slow model is its own business");
    }
    assert_eq!(health.state(&endpoint), CircuitState::Closed);
    assert!(health.endpoint_timeout(&endpoint, KEYED, "other-model"), "a second model timing out is the endpoint's");
    assert!(health.endpoint_timeout(&endpoint, KEYED, "slow-model"));
    assert!(health.endpoint_timeout(&endpoint, KEYED, "other-model"));
    assert_eq!(health.state(&endpoint), CircuitState::Open);
}

#[test]
fn an_account_out_is_told_apart_from_a_rate_limit_and_resets_by_scope() {
    let (_clock, health) = setup();
    let account = HealthKey::account("acc-1");
    let model = HealthKey::deployment("acc-2", "m");
    health.cool_down(&account, T0 + 300_000, "account: status 401", CoolKind::AccountOut);
    health.cool_down(&model, T0 + 5_000, "rate limited (429)", CoolKind::RateLimited);
    assert_eq!(
        health.admit(&account, KEYED),
        Admission::Rejected { until_ms: T0 + 300_000, reason: RejectReason::AccountOut }
    );
    assert_eq!(health.cooldown_reason(&account).as_deref(), Some("account: status 401"));
    assert_eq!(
        health.admit(&model, KEYED),
        Admission::Rejected { until_ms: T0 + 5_000, reason: RejectReason::CoolingDown }
    );
    health.reset_scope(KeyScope::Model);
    assert_eq!(health.admit(&model, KEYED), Admission::Allowed, "the model scope is reset");
    assert_ne!(health.admit(&account, KEYED), Admission::Allowed, "the account scope is not");
}
