//! Planning on real config (parsed, declared and stored in memory) and a manual clock:
//! aliases, combos and their order, nesting, the default model, health and sessions.

use std::sync::Arc;

use super::*;
use crate::config::{FileConfig, declare};
use crate::ports::ConfigStore;
use crate::ports::memory::{ManualClock, MemoryConfigStore};
use crate::routing::health::{BreakerProfiles, Failure};

const CONFIG: &str = r#"
[routing]
default_model = "b/fallback"

[[providers]]
id = "a"
format = "openai-chat"
base_url = "http://127.0.0.1:1/v1"
models = ["m1"]
  [[providers.accounts]]
  api_key = "ka"

[[providers]]
id = "b"
format = "anthropic"
base_url = "http://127.0.0.1:2/v1"
  [[providers.accounts]]
  api_key = "kb"

[[aliases]]
pattern = "smart-*"
target = "combo/pair"

[[aliases]]
pattern = "fast"
target = "a/m1"

[[combos]]
name = "pair"
strategy = "priority"
targets = ["a/m1", "b/m2"]
retries = 2
retry_delay_ms = 100
attempt_timeout_ms = 5000

[[combos]]
name = "outer"
targets = ["b/m3", "pair", "a/m1"]
"#;

fn setup() -> (ConfigSnapshot, Router, Arc<ManualClock>) {
    let file = FileConfig::parse(CONFIG).unwrap();
    let declared = declare(Some(&file), &|_| None).unwrap();
    let store = MemoryConfigStore::default();
    futures_executor::block_on(store.sync_declared(declared)).unwrap();
    let stored = futures_executor::block_on(store.load()).unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    (ConfigSnapshot::build(&stored), Router::new(clock.clone(), BreakerProfiles::default()), clock)
}

fn labels(targets: &[PlannedTarget]) -> Vec<String> {
    targets.iter().map(PlannedTarget::label).collect()
}

#[test]
fn models_aliases_combos_and_the_default() {
    let (snapshot, router, _) = setup();
    let options = GatewayOptions::default();
    let plan = |model: &str| plan(&snapshot, &router, &options, model, None).map(|t| labels(&t));
    assert_eq!(plan("a/m1").unwrap(), ["a/m1"]);
    assert_eq!(plan("m1").unwrap(), ["a/m1"], "a bare model a provider lists");
    assert_eq!(plan("fast").unwrap(), ["a/m1"], "exact alias");
    assert_eq!(plan("smart-v2").unwrap(), ["a/m1", "b/m2"], "glob alias to a combo");
    assert_eq!(plan("combo/pair").unwrap(), ["a/m1", "b/m2"]);
    assert_eq!(plan("models/a/m1").unwrap(), ["a/m1"], "Gemini's resource name for a gateway id");
    assert_eq!(plan("models/fast").unwrap_err().status(), 400, "`models/` alone is an unknown provider prefix");
    assert_eq!(plan("outer").unwrap(), ["b/m3", "a/m1", "b/m2"], "nested, each target once");
    assert_eq!(plan("nobody-serves-this").unwrap(), ["b/fallback"], "the global default");
    let unknown_prefix = plan("zzz/x").unwrap_err();
    assert_eq!(unknown_prefix.status(), 400, "an unknown provider prefix is not defaulted: {unknown_prefix}");
}

#[test]
fn combo_settings_shape_each_attempt() {
    let (snapshot, router, _) = setup();
    let options = GatewayOptions::default();
    let targets = plan(&snapshot, &router, &options, "pair", None).unwrap();
    let policy = &targets[0].policy;
    assert_eq!((policy.retries, policy.retry_delay), (2, Duration::from_millis(100)));
    assert_eq!(policy.first_byte_timeout, Duration::from_millis(5000), "capped by attempt_timeout_ms");
    assert_eq!(policy.total_timeout, Duration::from_millis(5000));
    let direct = plan(&snapshot, &router, &options, "a/m1", None).unwrap();
    assert_eq!(direct[0].policy.retries, 0, "outside a combo: no retries on the same target");
}

#[test]
fn an_open_breaker_moves_a_target_back_and_it_recovers_in_time() {
    let (snapshot, router, clock) = setup();
    let options = GatewayOptions::default();
    // The model's breaker on the provider's only account (account ids: `<provider>:<name>`).
    let account = snapshot.provider("a").unwrap().connections[0].id.clone();
    let key = HealthKey::deployment(account, "m1");
    for _ in 0..5 {
        router.health.on_failure(&key, crate::providers::AuthScheme::Bearer, Failure::Status(503));
    }
    let order = |router: &Router| labels(&plan(&snapshot, router, &options, "pair", None).unwrap());
    assert_eq!(order(&router), ["b/m2", "a/m1"], "the failing target goes last, still a fallback");
    clock.advance(BreakerProfiles::default().default.open_ms + 1);
    assert_eq!(order(&router), ["a/m1", "b/m2"], "half-open again: back in its place");
}

#[test]
fn a_session_moves_its_target_first() {
    let (snapshot, router, clock) = setup();
    let options = GatewayOptions::default();
    let now = crate::ports::Clock::now_unix_ms(clock.as_ref());
    router.sessions.served("s", "b/m2", "b:account-1", now);
    let session = router.sessions.get("s", now);
    let targets = plan(&snapshot, &router, &options, "pair", session.as_ref()).unwrap();
    assert_eq!(labels(&targets), ["b/m2", "a/m1"]);
}

#[test]
fn an_unreachable_endpoint_moves_its_targets_back() {
    let (snapshot, router, _) = setup();
    let options = GatewayOptions::default();
    let endpoint = HealthKey::endpoint_of("http://127.0.0.1:1/v1");
    for _ in 0..BreakerProfiles::default().endpoint.failure_threshold {
        router.health.on_failure(&endpoint, crate::providers::AuthScheme::Bearer, Failure::Connect);
    }
    assert_eq!(labels(&plan(&snapshot, &router, &options, "pair", None).unwrap()), ["b/m2", "a/m1"]);
}
