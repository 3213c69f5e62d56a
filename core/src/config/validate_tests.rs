//! Unit tests of `validate.rs`: one per rule, each checking the message names the culprit.

use super::*;
use crate::config::records::{ComboSettings, TimeoutOverrides};

fn provider(id: &str) -> ProviderRecord {
    ProviderRecord {
        id: id.into(),
        source: "config".into(),
        catalog_id: find_catalog_provider(id).map(|e| e.id.clone()),
        name: None,
        format: None,
        base_url: Some("http://127.0.0.1:1".into()),
        auth: None,
        headers: Default::default(),
        chat_path: None,
        api_version: None,
        models: vec![],
        enabled: true,
        selection: Default::default(),
        sticky_window: None,
        timeouts: TimeoutOverrides::default(),
    }
}

fn combo(name: &str, targets: &[&str]) -> ComboRecord {
    ComboRecord {
        name: name.into(),
        source: "config".into(),
        strategy: ComboStrategy::Priority,
        targets: targets.iter().map(|t| ComboTarget { target: (*t).into(), weight: 1 }).collect(),
        settings: ComboSettings::default(),
    }
}

fn alias(pattern: &str, target: &str) -> AliasRecord {
    AliasRecord { pattern: pattern.into(), target: target.into(), source: "config".into() }
}

fn providers() -> Vec<ProviderRecord> {
    vec![provider("openai"), provider("mycorp")]
}

fn errors_of(combos: &[ComboRecord], aliases: &[AliasRecord]) -> String {
    validate(&providers(), aliases, combos, None).unwrap_err().to_string()
}

#[test]
fn a_sound_config_passes() {
    let combos = [
        combo("fast", &["mycorp/llama-3", "groq/llama-3.1-8b-instant"]),
        combo("smart", &["anthropic/claude-sonnet-4", "openai/gpt-4o", "combo/fast"]),
        combo("top", &["smart", "fast"]),
    ];
    let aliases = [alias("gpt-4*", "openai/gpt-4o"), alias("best", "combo/top"), alias("quick", "fast")];
    let routing = RoutingSettings { default_model: Some("fast".into()), ..Default::default() };
    validate(&providers(), &aliases, &combos, Some(&routing)).unwrap();
}

#[test]
fn targets_parse_by_shape() {
    assert_eq!(
        TargetRef::parse("mycorp/meta-llama/Llama-3").unwrap(),
        TargetRef::Model { provider: "mycorp".into(), model: "meta-llama/Llama-3".into() }
    );
    assert_eq!(TargetRef::parse("combo/fast").unwrap(), TargetRef::Combo("fast".into()));
    assert_eq!(TargetRef::parse("fast").unwrap(), TargetRef::Combo("fast".into()));
    for bad in ["", "combo/", "/gpt-4o", "openai/", "open ai/gpt"] {
        assert!(TargetRef::parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn combo_names_are_unique_well_formed_and_not_provider_ids() {
    let err = errors_of(&[combo("fast", &["openai/gpt-4o"]), combo("fast", &["openai/gpt-4o-mini"])], &[]);
    assert!(err.contains("combo 'fast' is declared twice"), "{err}");
    let err = errors_of(&[combo("openai", &["mycorp/x"])], &[]);
    assert!(err.contains("combo 'openai' has the name of a configured provider"), "{err}");
    let err = errors_of(&[combo("oai", &["mycorp/x"])], &[]);
    assert!(err.contains("combo 'oai' has the name of a configured provider"), "catalog aliases count: {err}");
    let err = errors_of(&[combo("Fast Lane", &["mycorp/x"])], &[]);
    assert!(err.contains("combo name 'Fast Lane' must be"), "{err}");
}

#[test]
fn combo_targets_need_a_known_provider_or_an_existing_combo() {
    let err = errors_of(&[combo("c", &["nope/gpt-4o"])], &[]);
    assert!(err.contains("combo 'c': target 'nope/gpt-4o' names unknown provider 'nope'"), "{err}");
    let err = errors_of(&[combo("c", &["combo/ghost"])], &[]);
    assert!(err.contains("names unknown combo 'ghost'"), "{err}");
    let err = errors_of(&[combo("c", &["gpt-4o"])], &[]);
    assert!(err.contains("'gpt-4o' is neither `provider/model` nor the name of a combo"), "{err}");
    let err = errors_of(&[combo("c", &[])], &[]);
    assert!(err.contains("combo 'c' has no targets"), "{err}");
    // Catalog providers are known even when not configured (their key may come from the API).
    validate(&providers(), &[], &[combo("c", &["deepseek/deepseek-chat"])], None).unwrap();
}

#[test]
fn cycles_are_rejected_and_named() {
    let err = errors_of(&[combo("a", &["combo/b"]), combo("b", &["a", "openai/gpt-4o"])], &[]);
    assert!(err.contains("combos form a cycle: a → b → a"), "{err}");
    let err = errors_of(&[combo("self", &["self"])], &[]);
    assert!(err.contains("combos form a cycle: self → self"), "{err}");
    let err = errors_of(&[combo("x", &["y"]), combo("y", &["z"]), combo("z", &["x"])], &[]);
    assert!(err.contains("x → y → z → x"), "{err}");
    assert_eq!(err.matches("cycle").count(), 1, "one cycle, one message: {err}");
}

#[test]
fn nesting_is_limited_to_three_levels() {
    let three = [combo("l1", &["openai/gpt-4o"]), combo("l2", &["l1"]), combo("l3", &["l2"])];
    validate(&providers(), &[], &three, None).unwrap();
    let mut four = three.to_vec();
    four.push(combo("l4", &["l3", "openai/gpt-4o"]));
    let err = errors_of(&four, &[]);
    assert!(err.contains("combo 'l4' nests combos 4 levels deep (l4 → l3 → l2 → l1); at most 3"), "{err}");
}

#[test]
fn weights_match_targets_and_are_not_all_zero() {
    let targets = vec!["openai/gpt-4o".to_string(), "mycorp/x".to_string()];
    let err = combo_targets("w", &targets, Some(&[3])).unwrap_err();
    assert!(err.contains("combo 'w': `weights` has 1 entries but `targets` has 2"), "{err}");
    let paired = combo_targets("w", &targets, Some(&[3, 1])).unwrap();
    assert_eq!(paired.iter().map(|t| t.weight).collect::<Vec<_>>(), [3, 1]);
    assert!(combo_targets("w", &targets, None).unwrap().iter().all(|t| t.weight == 1));
    let mut zero = combo("w", &["openai/gpt-4o"]);
    zero.strategy = ComboStrategy::Weighted;
    zero.targets[0].weight = 0;
    assert!(errors_of(&[zero], &[]).contains("every weight is 0"));
}

#[test]
fn combo_settings_are_bounded() {
    let mut c = combo("c", &["openai/gpt-4o"]);
    c.settings.retries = 11;
    c.settings.idle_ms = Some(0);
    let err = errors_of(&[c], &[]);
    assert!(err.contains("retries is 11, at most 10"), "{err}");
    assert!(err.contains("combo 'c': idle_ms must be greater than 0"), "{err}");
}

#[test]
fn aliases_need_sane_patterns_and_valid_targets() {
    let combos = [combo("fast", &["openai/gpt-4o-mini"])];
    let err = errors_of(&combos, &[alias("gpt-[45]", "openai/gpt-4o")]);
    assert!(err.contains("alias 'gpt-[45]': '[' is not supported"), "{err}");
    let err = errors_of(&combos, &[alias("gpt-4*", "nope/gpt-4o")]);
    assert!(err.contains("alias 'gpt-4*': target 'nope/gpt-4o' names unknown provider"), "{err}");
    let err = errors_of(&combos, &[alias("x", "combo/slow")]);
    assert!(err.contains("alias 'x': target 'combo/slow' names unknown combo 'slow'"), "{err}");
    let err = errors_of(&combos, &[alias("x", "fast"), alias("x", "openai/gpt-4o")]);
    assert!(err.contains("alias 'x' is declared twice"), "{err}");
    let err = errors_of(&combos, &[alias("fast", "openai/gpt-4o")]);
    assert!(err.contains("alias 'fast' hides the combo"), "{err}");
}

#[test]
fn routing_settings_are_checked() {
    let bad = RoutingSettings {
        default_model: Some("nowhere".into()),
        retryable_statuses: vec![429, 200],
        breaker: BreakerSettings { failure_threshold: 0, ..Default::default() },
        local_breaker: BreakerSettings { half_open_probes: 0, ..BreakerSettings::local_default() },
        ..Default::default()
    };
    let err = validate(&providers(), &[], &[], Some(&bad)).unwrap_err().to_string();
    assert!(err.contains("[routing] default_model: target 'nowhere' is neither"), "{err}");
    assert!(err.contains("retryable_statuses: 200 is not an HTTP error status"), "{err}");
    assert!(err.contains("[resilience] failure_threshold must be at least 1"), "{err}");
    assert!(err.contains("[resilience.local] half_open_probes must be at least 1"), "{err}");
}

#[test]
fn provider_routing_fields_are_checked() {
    let mut p = provider("mycorp");
    p.sticky_window = Some(0);
    p.timeouts.first_byte_ms = Some(0);
    let err = validate(&[p, provider("combo")], &[], &[], None).unwrap_err().to_string();
    assert!(err.contains("provider 'mycorp': sticky_window must be at least 1"), "{err}");
    assert!(err.contains("provider 'mycorp': timeouts.first_byte_ms must be greater than 0"), "{err}");
    assert!(err.contains("provider id 'combo' is reserved"), "{err}");
}

#[test]
fn declared_and_stored_configs_are_validated_alike() {
    let declared = DeclaredConfig {
        source: "config".into(),
        providers: providers(),
        combos: vec![combo("a", &["a"])],
        ..Default::default()
    };
    assert!(validate_declared(&declared).is_err());
    let stored = StoredConfig { providers: providers(), combos: declared.combos.clone(), ..Default::default() };
    assert_eq!(validate_stored(&stored), validate_declared(&declared));
}
