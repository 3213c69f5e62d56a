//! The built-in provider catalog (`catalog.json`), parsed once on first use.
//! Each entry: id, wire format, base URL, auth scheme, headers, URL shape, known models and prices.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::{AuthScheme, WireFormat};

/// One provider the gateway knows how to call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogProvider {
    pub id: String,
    pub name: String,
    pub format: WireFormat,
    pub base_url: String,
    pub auth: AuthScheme,
    pub key_required: bool,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub chat_path: String,
    #[serde(default)]
    pub stream_chat_path: Option<String>,
    #[serde(default)]
    pub models_path: Option<String>,
    pub env: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub models: Vec<CatalogModel>,
}

/// A model a catalog provider is known to serve; prices are USD per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogModel {
    pub id: String,
    #[serde(default)]
    pub context: Option<u64>,
    #[serde(default)]
    pub max_output: Option<u64>,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub input_price: Option<f64>,
    #[serde(default)]
    pub output_price: Option<f64>,
    #[serde(default)]
    pub cached_input_price: Option<f64>,
}

impl CatalogModel {
    /// A model known by its id alone (configured, added over the API or discovered).
    pub fn named(id: &str) -> CatalogModel {
        CatalogModel {
            id: id.to_owned(),
            context: None,
            max_output: None,
            capabilities: Vec::new(),
            input_price: None,
            output_price: None,
            cached_input_price: None,
        }
    }
}

#[derive(Deserialize)]
struct CatalogFile {
    providers: Vec<CatalogProvider>,
}

/// Every built-in provider, in catalog order.
pub fn catalog() -> &'static [CatalogProvider] {
    static CATALOG: OnceLock<Vec<CatalogProvider>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The file is compiled in and covered by a unit test, so a parse failure cannot ship;
        // an empty catalog is still safer than a panic in a Worker isolate.
        serde_json::from_str::<CatalogFile>(include_str!("catalog.json")).map(|file| file.providers).unwrap_or_default()
    })
}

/// Finds a catalog provider by id or alias (case-insensitive).
pub fn find_catalog_provider(name: &str) -> Option<&'static CatalogProvider> {
    let name = name.to_ascii_lowercase();
    catalog().iter().find(|p| p.id == name || p.aliases.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalog_parses_with_the_required_providers() {
        serde_json::from_str::<CatalogFile>(include_str!("catalog.json")).unwrap();
        let ids: HashSet<&str> = catalog().iter().map(|p| p.id.as_str()).collect();
        assert!(ids.len() >= 25, "only {} providers", ids.len());
        for required in [
            "openai",
            "anthropic",
            "gemini",
            "openrouter",
            "groq",
            "deepseek",
            "mistral",
            "xai",
            "together",
            "fireworks",
            "nebius",
            "cerebras",
            "nvidia",
            "perplexity",
            "deepinfra",
            "huggingface",
            "moonshot",
            "dashscope",
            "siliconflow",
            "azure",
            "ollama",
            "lmstudio",
            "vllm",
            "llamacpp",
            "cohere",
        ] {
            assert!(ids.contains(required), "catalog lacks {required}");
        }
    }

    #[test]
    fn ids_and_aliases_are_unique_and_urls_clean() {
        let mut seen = HashSet::new();
        for p in catalog() {
            assert!(seen.insert(p.id.clone()), "duplicate {}", p.id);
            for a in &p.aliases {
                assert!(seen.insert(a.clone()), "duplicate alias {a}");
            }
            assert!(!p.base_url.ends_with('/'), "{} base_url ends with /", p.id);
            assert!(p.chat_path.starts_with('/'), "{} chat_path", p.id);
            assert!(p.env.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
        }
    }

    #[test]
    fn lookup_by_alias_is_case_insensitive() {
        assert_eq!(find_catalog_provider("OAI").map(|p| p.id.as_str()), Some("openai"));
        assert!(find_catalog_provider("no-such-provider").is_none());
    }
}
