//! `GET /api/db-backups/exportAll`'s archive: a `.tar.gz` with the database (`omniroute.sqlite`),
//! the effective config as TOML with every secret masked (`config.toml`) and a manifest
//! (`manifest.json`). The tar is written here (ustar headers, regular files only); gzip is
//! flate2's pure-Rust deflate, so this builds for wasm32 too.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Value, json};

use crate::config::StoredConfig;

/// What replaces a secret in the exported config.
pub const MASKED: &str = "********";

/// Object keys whose values are secrets wherever they appear (lower case, `_`/`-` dropped).
fn is_secret_key(key: &str) -> bool {
    let key: String = key.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    ["key", "apikey", "token", "secret", "password", "passwordhash", "hash", "authorization", "cookie", "credential"]
        .iter()
        .any(|s| key == *s || key.ends_with(s))
}

/// Masks secrets in place: values under secret-looking keys, every header value (headers carry
/// credentials), and the user part of any URL.
fn mask(value: &mut Value, key: Option<&str>) {
    match value {
        Value::Object(map) => {
            let headers = key.is_some_and(|k| k.eq_ignore_ascii_case("headers"));
            for (k, v) in map.iter_mut() {
                if headers || (is_secret_key(k) && !v.is_null() && !v.is_boolean()) {
                    *v = Value::String(MASKED.into());
                } else {
                    mask(v, Some(k));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask(v, key)),
        Value::String(text) => {
            let Ok(mut url) = url::Url::parse(text) else { return };
            let mut masked = false;
            if !url.username().is_empty() || url.password().is_some() {
                let _ = url.set_username("");
                let _ = url.set_password(None);
                masked = true;
            }
            // `?key=…`, `?access_token=…`: credentials in the query.
            if url.query_pairs().any(|(name, _)| is_secret_key(&name)) {
                let pairs: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(n, v)| {
                        let v = if is_secret_key(&n) { MASKED.to_owned() } else { v.into_owned() };
                        (n.into_owned(), v)
                    })
                    .collect();
                url.query_pairs_mut().clear().extend_pairs(pairs);
                masked = true;
            }
            if masked {
                *text = format!("{url} (credentials masked)");
            }
        }
        _ => {}
    }
}

/// JSON → TOML: objects become tables, `null`s are left out (TOML has none).
fn to_toml(value: Value) -> Option<toml::Value> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => toml::Value::String(s),
        Value::Array(items) => toml::Value::Array(items.into_iter().filter_map(to_toml).collect()),
        Value::Object(map) => {
            toml::Value::Table(map.into_iter().filter_map(|(k, v)| to_toml(v).map(|v| (k, v))).collect())
        }
    })
}

/// The stored config as TOML, secrets masked: providers, accounts (keys masked), aliases,
/// combos, routing, gateway API keys (names, prefixes and policies; never their hashes) and the
/// settings documents. Admin sessions are left out.
pub fn effective_config_toml(stored: &StoredConfig) -> String {
    let mut doc = json!({
        "version": stored.version,
        "providers": stored.providers,
        "accounts": stored.connections,
        "aliases": stored.aliases,
        "combos": stored.combos,
        "routing": stored.routing,
        "api_keys": stored.api_keys,
        "settings": stored.settings,
    });
    mask(&mut doc, None);
    let body = match to_toml(doc).map(|v| toml::to_string(&v)) {
        Some(Ok(text)) => text,
        Some(Err(e)) => format!("# the config could not be written as TOML: {e}\n"),
        None => String::new(),
    };
    format!(
        "# omniroute: the effective configuration when this archive was made. Secrets (provider keys,\n# credential headers, key hashes, passwords, proxy credentials) are masked as \"{MASKED}\".\n{body}"
    )
}

/// A manifest and the files, as a gzip-compressed tar.
pub fn tar_gz(files: &[(&str, &[u8])], mtime_secs: u64) -> std::io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for (name, data) in files {
        gz.write_all(&ustar_header(name, data.len() as u64, mtime_secs))?;
        gz.write_all(data)?;
        let pad = (512 - data.len() % 512) % 512;
        gz.write_all(&vec![0u8; pad])?;
    }
    // Two zero blocks end the archive.
    gz.write_all(&[0u8; 1024])?;
    gz.finish()
}

/// A ustar header for a regular file of mode 0600.
fn ustar_header(name: &str, size: u64, mtime_secs: u64) -> [u8; 512] {
    let mut h = [0u8; 512];
    let put = |h: &mut [u8; 512], at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    let name = name.as_bytes();
    put(&mut h, 0, &name[..name.len().min(100)]);
    put(&mut h, 100, b"0000600\0");
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, format!("{mtime_secs:011o}\0").as_bytes());
    put(&mut h, 148, b"        ");
    h[156] = b'0';
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

/// The manifest: what the archive holds and where it came from.
pub fn manifest(created_ms: u64, schema_version: i64, config_version: u64, database_bytes: usize) -> Vec<u8> {
    let mut files = BTreeMap::new();
    files.insert("omniroute.sqlite", json!({ "bytes": database_bytes, "what": "the database (SQLite)" }));
    files.insert("config.toml", json!({ "what": "the effective configuration, secrets masked" }));
    let manifest = json!({
        "format": "omniroute-export/1",
        "createdAt": crate::admin::json::timestamp(created_ms),
        "gatewayVersion": env!("CARGO_PKG_VERSION"),
        "schemaVersion": schema_version,
        "configVersion": config_version,
        "files": files,
    });
    serde_json::to_vec_pretty(&manifest).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_wherever_they_sit() {
        let mut doc = json!({
            "accounts": [{"api_key": "sk-live-123", "name": "main", "enabled": true}],
            "providers": [{"headers": {"x-custom-auth": "tok-9"}, "base_url": "https://api.example.com/v1"},
                          {"base_url": "https://other.example.com/v1?key=qk-55&region=eu"}],
            "settings": {"proxy": {"url": "http://user:pw@proxy:8080", "enabled": true}, "admin_auth": {"password_hash": "$argon2id$x"}},
            "api_keys": [{"hash": "abc", "prefix": "sk-or-ab"}],
        });
        mask(&mut doc, None);
        let text = doc.to_string();
        for secret in ["sk-live-123", "tok-9", "user:pw", "$argon2id$x", "\"abc\"", "qk-55"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("https://api.example.com/v1"));
        assert!(text.contains("region=eu"), "other query parameters stay");
        assert!(text.contains("sk-or-ab"), "a key's public prefix stays");
    }

    #[test]
    fn the_tar_has_valid_headers() {
        let out = tar_gz(&[("a.txt", b"hello"), ("b.bin", &[1u8; 600])], 1_700_000_000).unwrap();
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&out[..]), &mut tar).unwrap();
        assert_eq!(tar.len(), 512 + 512 + 512 + 1024 + 1024);
        assert_eq!(&tar[0..5], b"a.txt");
        assert_eq!(&tar[512..517], b"hello");
        let header = &tar[..512];
        let stored: u32 = u32::from_str_radix(std::str::from_utf8(&header[148..154]).unwrap(), 8).unwrap();
        let mut copy = header.to_vec();
        copy[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, copy.iter().map(|&b| u32::from(b)).sum::<u32>());
    }
}
