//! Which stored values besides account keys are secrets, and how they sit sealed in their
//! columns: provider headers that carry a credential (`Authorization`, `x-api-key`, …) and
//! whole settings documents that hold one (the outbound proxy's password). A sealed value is
//! `sealed:` + [`SecretBox::seal`]; rows written before sealing existed are sealed at start.

use std::collections::BTreeMap;

use crate::sql::{Connection, Value};
use omniroute_core::config::settings::keys;
use omniroute_core::ports::StoreError;

use crate::config_store::{json_text, store_err};
use crate::secrets::SecretBox;

/// What starts a sealed value (never the start of a real header value or JSON document).
const MARK: &str = "sealed:";

/// Settings documents stored sealed whole.
const SEALED_SETTINGS: [&str; 1] = [keys::PROXY];

/// A header whose value is a credential, by its name.
fn secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["authorization", "cookie"].contains(&name.as_str())
        || ["key", "token", "secret", "password", "auth", "signature"].iter().any(|word| name.contains(word))
}

fn sealed(secrets: &SecretBox, plaintext: &str) -> Result<String, StoreError> {
    Ok(format!("{MARK}{}", secrets.seal(plaintext).map_err(|e| StoreError(e.to_string()))?))
}

/// The headers as stored: credential values sealed.
pub(crate) fn seal_headers(
    secrets: &SecretBox,
    headers: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, StoreError> {
    headers
        .iter()
        .map(|(name, value)| {
            let stored =
                if secret_header(name) && !value.starts_with(MARK) { sealed(secrets, value)? } else { value.clone() };
            Ok((name.clone(), stored))
        })
        .collect()
}

/// The headers as used: sealed values opened. One that cannot be opened (another secret key)
/// is left out, with an error logged: the row stays, the header is not sent.
pub(crate) fn open_headers(
    secrets: &SecretBox,
    headers: BTreeMap<String, String>,
    provider: &str,
) -> BTreeMap<String, String> {
    headers
        .into_iter()
        .filter_map(|(name, value)| match value.strip_prefix(MARK) {
            None => Some((name, value)),
            Some(sealed) => match secrets.open(sealed) {
                Ok(plain) => Some((name, plain)),
                Err(e) => {
                    tracing::error!(provider = %provider, header = %name, error = %e, "cannot decrypt a provider header; it is not sent");
                    None
                }
            },
        })
        .collect()
}

/// A settings document's column text: sealed when its key holds a secret.
pub(crate) fn setting_text(secrets: &SecretBox, key: &str, json: String) -> Result<String, StoreError> {
    if SEALED_SETTINGS.contains(&key) { sealed(secrets, &json) } else { Ok(json) }
}

/// A settings document's JSON from its column text; `None` (logged) when it cannot be opened.
pub(crate) fn setting_json(secrets: &SecretBox, key: &str, text: String) -> Option<String> {
    let Some(sealed) = text.strip_prefix(MARK) else { return Some(text) };
    match secrets.open(sealed) {
        Ok(json) => Some(json),
        Err(e) => {
            tracing::error!(setting = %key, error = %e, "cannot decrypt a stored setting; using its default");
            None
        }
    }
}

/// Seals what an older version stored in clear, inside the caller's transaction.
pub(crate) async fn seal_plaintext(tx: &Connection, secrets: &SecretBox) -> Result<(), StoreError> {
    let read = store_err("reading rows to seal");
    let mut rows = tx.query("SELECT id, headers FROM providers", ()).await.map_err(&read)?;
    let mut providers = Vec::new();
    while let Some(row) = rows.next().await.map_err(&read)? {
        let headers: BTreeMap<String, String> =
            serde_json::from_str(&row.get::<Option<String>>(1).map_err(&read)?.unwrap_or_default()).unwrap_or_default();
        if headers.iter().any(|(name, value)| secret_header(name) && !value.starts_with(MARK)) {
            providers.push((row.get::<String>(0).map_err(&read)?, seal_headers(secrets, &headers)?));
        }
    }
    for (id, headers) in providers {
        tx.execute(
            "UPDATE providers SET headers = ?1 WHERE id = ?2",
            vec![Value::Text(json_text(&headers)?), Value::Text(id)],
        )
        .await
        .map_err(store_err("sealing provider headers"))?;
    }
    for key in SEALED_SETTINGS {
        let mut rows = tx
            .query("SELECT value FROM settings WHERE key = ?1", vec![Value::Text(key.into())])
            .await
            .map_err(&read)?;
        let Some(row) = rows.next().await.map_err(&read)? else { continue };
        let text = row.get::<String>(0).map_err(&read)?;
        if !text.starts_with(MARK) {
            tx.execute(
                "UPDATE settings SET value = ?1 WHERE key = ?2",
                vec![Value::Text(sealed(secrets, &text)?), Value::Text(key.into())],
            )
            .await
            .map_err(store_err("sealing a setting"))?;
        }
    }
    Ok(())
}
