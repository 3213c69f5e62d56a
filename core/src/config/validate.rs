//! Checks the routing part of a configuration before it is stored: combo names and targets,
//! nesting depth and cycles, weights, alias patterns and targets, per-provider routing fields
//! and the routing settings. Pure, so the start-up sync and the management API share it.

use std::collections::{HashMap, HashSet};

use crate::config::aliases::check_pattern;
use crate::config::policy::ComboStrategy;
use crate::config::records::{
    AliasRecord, BreakerSettings, ComboRecord, ComboTarget, DeclaredConfig, ProviderRecord, RoutingSettings,
    StoredConfig,
};
use crate::providers::find_catalog_provider;

/// Combos may contain combos this many levels deep (a combo of models is one level).
pub const MAX_COMBO_DEPTH: usize = 3;
/// The prefix that names a combo explicitly (`combo/<name>`); no provider may take its id.
pub const COMBO_PREFIX: &str = "combo/";
/// Same-target retries a combo may ask for.
pub const MAX_RETRIES: u32 = 10;

/// Every problem found, each naming the combo, alias, provider or setting at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid routing config: {}", .0.join("; "))]
pub struct ValidationError(pub Vec<String>);

/// What a target string names. Combo names never contain `/`, so this is purely syntactic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRef {
    /// `provider/model`: the model keeps any further slashes (`mycorp/meta-llama/Llama-3`).
    Model { provider: String, model: String },
    /// `combo/<name>` or a bare combo name.
    Combo(String),
}

impl TargetRef {
    pub fn parse(target: &str) -> Result<TargetRef, String> {
        if target.is_empty() {
            return Err("the target is empty".into());
        }
        if target.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("target '{target}' contains blanks or control characters"));
        }
        if let Some(name) = target.strip_prefix(COMBO_PREFIX) {
            if name.is_empty() {
                return Err(format!("target '{target}' names no combo after `{COMBO_PREFIX}`"));
            }
            return Ok(TargetRef::Combo(name.to_owned()));
        }
        match target.split_once('/') {
            Some((provider, model)) if !provider.is_empty() && !model.is_empty() => {
                Ok(TargetRef::Model { provider: provider.to_owned(), model: model.to_owned() })
            }
            Some(_) => Err(format!("target '{target}' must be `provider/model` with both parts")),
            None => Ok(TargetRef::Combo(target.to_owned())),
        }
    }
}

/// Pairs a combo's targets with its optional weights (one per target, default 1 each).
pub fn combo_targets(combo: &str, targets: &[String], weights: Option<&[u32]>) -> Result<Vec<ComboTarget>, String> {
    match weights {
        Some(weights) if weights.len() != targets.len() => Err(format!(
            "combo '{combo}': `weights` has {} entries but `targets` has {}; give one weight per target",
            weights.len(),
            targets.len()
        )),
        _ => Ok(targets
            .iter()
            .enumerate()
            .map(|(i, target)| ComboTarget {
                target: target.clone(),
                weight: weights.and_then(|w| w.get(i).copied()).unwrap_or(1),
            })
            .collect()),
    }
}

/// Checks what one source declares (catalog providers count as known prefixes).
pub fn validate_declared(declared: &DeclaredConfig) -> Result<(), ValidationError> {
    validate(&declared.providers, &declared.aliases, &declared.combos, declared.routing.as_ref())
}

/// Checks a whole stored config, e.g. the result of a management API write before saving it.
pub fn validate_stored(stored: &StoredConfig) -> Result<(), ValidationError> {
    validate(&stored.providers, &stored.aliases, &stored.combos, stored.routing.as_ref())
}

/// Checks providers' routing fields, combos, aliases and routing settings together.
pub fn validate(
    providers: &[ProviderRecord],
    aliases: &[AliasRecord],
    combos: &[ComboRecord],
    routing: Option<&RoutingSettings>,
) -> Result<(), ValidationError> {
    let mut errors = Vec::new();
    let mut names = Names::default();
    for p in providers {
        names.providers.insert(p.id.to_ascii_lowercase());
        if let Some(entry) = p.catalog_id.as_deref().and_then(find_catalog_provider) {
            names.providers.extend(entry.aliases.iter().cloned());
        }
        check_provider(p, &mut errors);
    }
    for combo in combos {
        if let Err(e) = check_combo_name(&combo.name) {
            errors.push(e);
        } else if names.providers.contains(&combo.name) {
            errors.push(format!("combo '{}' has the name of a configured provider; rename it", combo.name));
        } else if names.combos.insert(combo.name.clone(), combo).is_some() {
            errors.push(format!("combo '{}' is declared twice", combo.name));
        }
    }
    for combo in combos {
        check_combo(combo, &names, &mut errors);
    }
    check_graph(combos, &names, &mut errors);
    let mut patterns = HashSet::new();
    for alias in aliases {
        let owner = format!("alias '{}'", alias.pattern);
        if let Err(e) = check_pattern(&alias.pattern) {
            errors.push(format!("{owner}: {e}"));
        }
        if !patterns.insert(alias.pattern.as_str()) {
            errors.push(format!("{owner} is declared twice"));
        }
        if names.combos.contains_key(alias.pattern.as_str()) {
            errors.push(format!("{owner} hides the combo of the same name; remove one of them"));
        }
        names.check_target(&owner, &alias.target, &mut errors);
    }
    if let Some(routing) = routing {
        check_routing(routing, &names, &mut errors);
    }
    if errors.is_empty() { Ok(()) } else { Err(ValidationError(errors)) }
}

#[derive(Default)]
struct Names<'a> {
    /// Configured provider ids and their catalog aliases, lowercase.
    providers: HashSet<String>,
    combos: HashMap<String, &'a ComboRecord>,
}

impl Names<'_> {
    fn check_target(&self, owner: &str, target: &str, errors: &mut Vec<String>) {
        match TargetRef::parse(target) {
            Err(e) => errors.push(format!("{owner}: {e}")),
            Ok(TargetRef::Model { provider, .. }) => {
                let known = self.providers.contains(&provider.to_ascii_lowercase())
                    || find_catalog_provider(&provider).is_some();
                if !known {
                    errors.push(format!(
                        "{owner}: target '{target}' names unknown provider '{provider}' (not configured and not in the catalog)"
                    ));
                }
            }
            Ok(TargetRef::Combo(name)) if !self.combos.contains_key(name.as_str()) => {
                errors.push(if target.starts_with(COMBO_PREFIX) {
                    format!("{owner}: target '{target}' names unknown combo '{name}'")
                } else {
                    format!("{owner}: target '{target}' is neither `provider/model` nor the name of a combo")
                });
            }
            Ok(TargetRef::Combo(_)) => {}
        }
    }

    /// The combos a combo lists directly (known ones only; unknown ones are reported apart).
    fn children(&self, combo: &ComboRecord) -> Vec<&str> {
        combo
            .targets
            .iter()
            .filter_map(|t| match TargetRef::parse(&t.target) {
                Ok(TargetRef::Combo(name)) => self.combos.get_key_value(name.as_str()).map(|(k, _)| k.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn check_provider(p: &ProviderRecord, errors: &mut Vec<String>) {
    if p.id.eq_ignore_ascii_case(COMBO_PREFIX.trim_end_matches('/')) {
        errors.push("provider id 'combo' is reserved for `combo/<name>` model names; rename the provider".into());
    }
    if p.sticky_window == Some(0) {
        errors.push(format!("provider '{}': sticky_window must be at least 1", p.id));
    }
    let t = &p.timeouts;
    for (field, value) in [
        ("connect_ms", t.connect_ms),
        ("first_byte_ms", t.first_byte_ms),
        ("idle_ms", t.idle_ms),
        ("total_ms", t.total_ms),
    ] {
        if value == Some(0) {
            errors.push(format!("provider '{}': timeouts.{field} must be greater than 0", p.id));
        }
    }
}

pub fn check_combo_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(()) } else { Err(format!("combo name '{name}' must be 1-64 characters of a-z, 0-9, '-', '_' or '.'")) }
}

fn check_combo(combo: &ComboRecord, names: &Names<'_>, errors: &mut Vec<String>) {
    let owner = format!("combo '{}'", combo.name);
    if combo.targets.is_empty() {
        errors.push(format!("{owner} has no targets"));
    }
    for target in &combo.targets {
        names.check_target(&owner, &target.target, errors);
    }
    if combo.strategy == ComboStrategy::Weighted
        && !combo.targets.is_empty()
        && combo.targets.iter().all(|t| t.weight == 0)
    {
        errors.push(format!("{owner}: every weight is 0, so the weighted strategy can pick nothing"));
    }
    let s = &combo.settings;
    if s.retries > MAX_RETRIES {
        errors.push(format!("{owner}: retries is {}, at most {MAX_RETRIES}", s.retries));
    }
    for (field, value) in [
        ("attempt_timeout_ms", s.attempt_timeout_ms),
        ("first_byte_ms", s.first_byte_ms),
        ("idle_ms", s.idle_ms),
        ("total_ms", s.total_ms),
    ] {
        if value == Some(0) {
            errors.push(format!("{owner}: {field} must be greater than 0"));
        }
    }
}

/// Rejects cycles (naming them: `a → b → a`) and, when there are none, nesting deeper than
/// [`MAX_COMBO_DEPTH`] (naming the deepest chain).
fn check_graph(combos: &[ComboRecord], names: &Names<'_>, errors: &mut Vec<String>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        names: &'a Names<'_>,
        marks: &mut HashMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        marks.insert(name, Mark::Visiting);
        stack.push(name);
        if let Some(combo) = names.combos.get(name) {
            for child in names.children(combo) {
                match marks.get(child) {
                    Some(Mark::Visiting) => {
                        let start = stack.iter().position(|n| *n == child).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack[start..].to_vec();
                        cycle.push(child);
                        cycles.push(format!("combos form a cycle: {}", cycle.join(" → ")));
                    }
                    Some(Mark::Done) => {}
                    None => visit(child, names, marks, stack, cycles),
                }
            }
        }
        stack.pop();
        marks.insert(name, Mark::Done);
    }

    let mut marks = HashMap::new();
    let mut cycles = Vec::new();
    for combo in combos {
        if let Some((name, _)) = names.combos.get_key_value(combo.name.as_str())
            && !marks.contains_key(name.as_str())
        {
            visit(name, names, &mut marks, &mut Vec::new(), &mut cycles);
        }
    }
    if !cycles.is_empty() {
        errors.extend(cycles);
        return;
    }
    // Acyclic: the longest chain below each combo, memoised.
    fn chain<'a>(name: &'a str, names: &'a Names<'_>, memo: &mut HashMap<&'a str, Vec<&'a str>>) -> Vec<&'a str> {
        if let Some(known) = memo.get(name) {
            return known.clone();
        }
        let mut longest: Vec<&str> = Vec::new();
        if let Some(combo) = names.combos.get(name) {
            for child in names.children(combo) {
                let below = chain(child, names, memo);
                if below.len() > longest.len() {
                    longest = below;
                }
            }
        }
        longest.insert(0, name);
        memo.insert(name, longest.clone());
        longest
    }
    let mut memo = HashMap::new();
    let deepest = combos
        .iter()
        .filter_map(|c| names.combos.get_key_value(c.name.as_str()).map(|(k, _)| chain(k, names, &mut memo)))
        .fold(Vec::new(), |best, c| if c.len() > best.len() { c } else { best });
    if deepest.len() > MAX_COMBO_DEPTH {
        errors.push(format!(
            "combo '{}' nests combos {} levels deep ({}); at most {MAX_COMBO_DEPTH} are allowed",
            deepest[0],
            deepest.len(),
            deepest.join(" → ")
        ));
    }
}

fn check_routing(routing: &RoutingSettings, names: &Names<'_>, errors: &mut Vec<String>) {
    if let Some(target) = &routing.default_model {
        names.check_target("[routing] default_model", target, errors);
    }
    for status in &routing.retryable_statuses {
        if !(400..=599).contains(status) {
            errors.push(format!("[routing] retryable_statuses: {status} is not an HTTP error status (400-599)"));
        }
    }
    let breakers = [
        ("[resilience]", &routing.breaker),
        ("[resilience.local]", &routing.local_breaker),
        ("[resilience.endpoint]", &routing.endpoint_breaker),
    ];
    for (section, breaker) in breakers {
        check_breaker(section, breaker, errors);
    }
}

fn check_breaker(section: &str, b: &BreakerSettings, errors: &mut Vec<String>) {
    if b.failure_threshold == 0 {
        errors.push(format!("{section} failure_threshold must be at least 1"));
    }
    if b.half_open_probes == 0 {
        errors.push(format!("{section} half_open_probes must be at least 1"));
    }
    if b.window_ms == 0 {
        errors.push(format!("{section} window_ms must be greater than 0"));
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
