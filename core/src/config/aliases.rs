//! Model aliases as the hot path reads them: an exact-name map plus globs (`*`, `?`) in
//! declaration order. An exact alias wins over any glob; among globs the first declared wins.

use std::collections::HashMap;

use crate::config::records::AliasRecord;

/// The aliases of one config snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AliasTable {
    exact: HashMap<String, String>,
    globs: Vec<(String, String)>,
}

impl AliasTable {
    /// Indexes records in their order; a later duplicate pattern never replaces an earlier one.
    pub fn build(records: &[AliasRecord]) -> Self {
        let mut table = AliasTable::default();
        for record in records {
            if is_glob(&record.pattern) {
                if !table.globs.iter().any(|(pattern, _)| pattern == &record.pattern) {
                    table.globs.push((record.pattern.clone(), record.target.clone()));
                }
            } else {
                table.exact.entry(record.pattern.clone()).or_insert_with(|| record.target.clone());
            }
        }
        table
    }

    /// The target a client's model name is aliased to, if any.
    pub fn alias_for(&self, model: &str) -> Option<&str> {
        if let Some(target) = self.exact.get(model) {
            return Some(target);
        }
        self.globs.iter().find(|(pattern, _)| glob_matches(pattern, model)).map(|(_, target)| target.as_str())
    }

    /// Exact name → target.
    pub fn exact(&self) -> &HashMap<String, String> {
        &self.exact
    }

    /// `(pattern, target)` of the glob aliases, in the order they are tried.
    pub fn globs(&self) -> &[(String, String)] {
        &self.globs
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.globs.is_empty()
    }
}

/// Whether a pattern has wildcards (`*` any run of characters, `?` exactly one).
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Matches `text` against a `*`/`?` glob, case-sensitively, in linear time.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // The last `*` seen and the text position it was tried from, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Why a pattern is refused, if it is: empty, too long, blanks or control characters, or glob
/// syntax other than `*` and `?` (character classes and braces are not supported).
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("the pattern is empty".into());
    }
    if pattern.len() > 256 {
        return Err("the pattern is longer than 256 characters".into());
    }
    if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the pattern contains blanks or control characters".into());
    }
    if let Some(c) = pattern.chars().find(|c| matches!(c, '[' | ']' | '{' | '}' | '\\')) {
        return Err(format!("'{c}' is not supported in patterns; only `*` (any run) and `?` (one character)"));
    }
    if pattern.contains("**") {
        return Err("`**` is not supported; a single `*` already matches any run, slashes included".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(pattern: &str, target: &str) -> AliasRecord {
        AliasRecord { pattern: pattern.into(), target: target.into(), source: "config".into() }
    }

    #[test]
    fn globs_match_runs_and_single_characters() {
        assert!(glob_matches("gpt-4*", "gpt-4"));
        assert!(glob_matches("gpt-4*", "gpt-4o-mini"));
        assert!(!glob_matches("gpt-4*", "gpt-3.5"));
        assert!(glob_matches("*/llama-*", "mycorp/llama-3-70b"));
        assert!(glob_matches("o?-mini", "o3-mini"));
        assert!(!glob_matches("o?-mini", "o-mini"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "axxbyybzc"));
        assert!(!glob_matches("a*b*c", "axxbyy"));
        assert!(!glob_matches("GPT-4*", "gpt-4o"), "case-sensitive");
    }

    #[test]
    fn exact_wins_then_the_first_declared_glob() {
        let table = AliasTable::build(&[
            alias("gpt-4*", "openai/gpt-4o"),
            alias("gpt-4o*", "combo/never"),
            alias("gpt-4o-mini", "groq/llama-3.1-8b-instant"),
            alias("gpt-4o-mini", "ignored/duplicate"),
        ]);
        assert_eq!(table.alias_for("gpt-4o-mini"), Some("groq/llama-3.1-8b-instant"));
        assert_eq!(table.alias_for("gpt-4o"), Some("openai/gpt-4o"));
        assert_eq!(table.alias_for("claude"), None);
        assert_eq!(table.globs().len(), 2);
        assert_eq!(table.exact().len(), 1);
    }

    #[test]
    fn pattern_syntax_is_checked() {
        assert!(check_pattern("gpt-4*").is_ok());
        assert!(check_pattern("openai/o?-mini").is_ok());
        for bad in ["", "gpt 4", "gpt-[45]", "{a,b}", "a**", "tab\there"] {
            assert!(check_pattern(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_pattern("gpt-[45]").unwrap_err().contains("only `*`"));
    }
}
