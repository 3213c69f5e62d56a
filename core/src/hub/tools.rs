//! Tools beyond plain functions. Responses `namespace` tools are flattened into functions every
//! provider can take (`namespace__name`, Codex's own convention) and the namespace is restored
//! on the calls returned to the client. Hosted tools (web search, code execution, Anthropic's
//! versioned tools, Gemini's built-ins) are kept verbatim in the client's format: only a provider
//! of that format can run them, so any other gets the request without them.

use serde::{Deserialize, Serialize};

use super::ToolDefinition;

/// Where a flattened function came from: a Responses `namespace` tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolNamespace {
    /// The namespace's name (`crm`, `mcp__docs__`).
    pub namespace: String,
    /// The namespace's description (the Responses API requires one; written back with it).
    pub description: String,
    /// The function's own name inside the namespace.
    pub name: String,
}

/// A tool the hub does not model as a function, verbatim in the client's format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostedTool {
    /// What the tool is called in `X-OmniRoute-Dropped-Tools`: its `type` (`web_search`,
    /// `web_search_20250305`), or for Gemini its field (`googleSearch`).
    pub kind: String,
    pub value: serde_json::Value,
}

/// The longest function name every provider format takes (OpenAI and Gemini allow 64).
const MAX_NAME: usize = 64;

/// The flat function name of `name` in `namespace`: Codex's `namespace__name` (stray underscores
/// around the joint trimmed, so `mcp__docs__` + `search` is `mcp__docs__search`), with any
/// character a provider refuses in a function name made `_`, at most 64 characters.
pub fn flat_name(namespace: &str, name: &str) -> String {
    let joined = format!("{}__{}", namespace.trim_end_matches('_'), name.trim_start_matches('_'));
    let clean: String =
        joined.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    fit(clean)
}

/// A name cut to [`MAX_NAME`]: the first 55 characters and a hash of the whole, so two long
/// names that share a beginning stay apart.
fn fit(name: String) -> String {
    if name.len() <= MAX_NAME {
        return name;
    }
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    // ASCII only (see `flat_name`), so any byte index is a character boundary.
    format!("{}_{hash:08x}", &name[..MAX_NAME - 9])
}

/// `base`, or `base_2`, `base_3`, … : the first not in `taken` (a plain function of the same
/// name, or another namespace that flattens the same way).
pub fn unique_name(base: String, taken: impl Fn(&str) -> bool) -> String {
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| {
            let suffix = format!("_{n}");
            let stem: String = base.chars().take(MAX_NAME - suffix.len()).collect();
            format!("{stem}{suffix}")
        })
        .find(|candidate| !taken(candidate))
        .unwrap_or(base)
}

/// The request's flattened functions: flat name → namespace and name, to restore the calls
/// returned to the client (only a Responses client ever has any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespaces {
    /// (flat name, namespace, name inside the namespace)
    entries: Vec<(String, String, String)>,
}

impl Namespaces {
    pub fn of(tools: &[ToolDefinition]) -> Self {
        let entries = tools
            .iter()
            .filter_map(|t| t.namespace.as_ref().map(|ns| (t.name.clone(), ns.namespace.clone(), ns.name.clone())))
            .collect();
        Namespaces { entries }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The namespace and the name a flat call name stands for, if it is a flattened function.
    pub fn split(&self, flat: &str) -> Option<(&str, &str)> {
        self.entries.iter().find(|(f, _, _)| f == flat).map(|(_, namespace, name)| (namespace.as_str(), name.as_str()))
    }

    /// The flat name the request gave `name` in `namespace`, if it offers that function.
    pub fn flat(&self, namespace: &str, name: &str) -> Option<&str> {
        self.entries.iter().find(|(_, ns, n)| ns == namespace && n == name).map(|(flat, _, _)| flat.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_names_follow_codex_and_fit_every_provider() {
        assert_eq!(flat_name("crm", "lookup"), "crm__lookup");
        assert_eq!(flat_name("mcp__docs__", "search"), "mcp__docs__search");
        assert_eq!(flat_name("my.server", "_get"), "my_server__get");
        let long = flat_name(&"n".repeat(50), &"f".repeat(50));
        assert_eq!(long.len(), 64);
        assert_ne!(long, flat_name(&"n".repeat(50), &format!("{}g", "f".repeat(49))));
    }

    #[test]
    fn taken_names_get_a_number() {
        let taken = ["crm__lookup", "crm__lookup_2"];
        assert_eq!(unique_name("crm__lookup".into(), |n| taken.contains(&n)), "crm__lookup_3");
        assert_eq!(unique_name("free".into(), |n| taken.contains(&n)), "free");
    }

    #[test]
    fn namespaces_map_both_ways() {
        let tool = |name: &str, namespace: Option<(&str, &str)>| ToolDefinition {
            name: name.into(),
            description: None,
            parameters: serde_json::json!({}),
            strict: None,
            namespace: namespace.map(|(ns, n)| ToolNamespace {
                namespace: ns.into(),
                description: String::new(),
                name: n.into(),
            }),
        };
        let names = Namespaces::of(&[tool("plain", None), tool("crm__lookup", Some(("crm", "lookup")))]);
        assert_eq!(names.split("crm__lookup"), Some(("crm", "lookup")));
        assert_eq!(names.split("plain"), None);
        assert_eq!(names.flat("crm", "lookup"), Some("crm__lookup"));
        assert!(Namespaces::default().is_empty());
    }
}
