//! `/api/combos`: named, ordered target lists tried with a strategy. GET lists, POST creates,
//! GET/PUT/PATCH/DELETE `/api/combos/{id}` (the id is the name; PUT may rename), and
//! `POST /api/combos/{id}/test` ([`super::combo_test`]). The config file's combos are shown
//! but read-only.

use std::borrow::Cow;

use http::Response;
use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit, stored};
use crate::admin::json::{blame, created, invalid, ok, parse, parse_merged};
use crate::admin::targets::{check_target, refuse_declared};
use crate::body::Body;
use crate::config::policy::ComboStrategy;
use crate::config::validate::{MAX_RETRIES, check_combo_name};
use crate::config::{API_SOURCE, ComboRecord, ComboSettings, ComboTarget, ConfigChange, StoredConfig};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};

/// A combo as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ComboView {
    /// The name: what clients send as the model (`fast` or `combo/fast`).
    pub id: String,
    pub name: String,
    pub strategy: ComboStrategy,
    pub models: Vec<ComboModel>,
    pub config: ComboConfig,
    /// `config` (the file: read-only here) or `api`.
    pub source: String,
}

/// One target of a combo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ComboModel {
    /// `provider/model`, `combo/<name>` or a combo's name.
    pub model: String,
    /// Share under the `weighted` strategy.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// A target as a request may give it: a bare string or `{model, weight}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ComboModelInput {
    Name(String),
    Weighted(ComboModel),
}

/// Retries and timeouts (milliseconds); unset timeouts fall back to the provider's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ComboConfig {
    /// Extra attempts on the same target (at most 10).
    pub retries: u32,
    pub retry_delay_ms: u64,
    pub attempt_timeout_ms: Option<u64>,
    pub first_byte_ms: Option<u64>,
    pub idle_ms: Option<u64>,
    pub total_ms: Option<u64>,
}

impl From<ComboSettings> for ComboConfig {
    fn from(s: ComboSettings) -> Self {
        ComboConfig {
            retries: s.retries,
            retry_delay_ms: s.retry_delay_ms,
            attempt_timeout_ms: s.attempt_timeout_ms,
            first_byte_ms: s.first_byte_ms,
            idle_ms: s.idle_ms,
            total_ms: s.total_ms,
        }
    }
}

impl ComboConfig {
    fn settings(&self) -> Result<ComboSettings, GatewayError> {
        if self.retries > MAX_RETRIES {
            return Err(invalid("config.retries", format!("at most {MAX_RETRIES}")));
        }
        for (field, value) in [
            ("config.attemptTimeoutMs", self.attempt_timeout_ms),
            ("config.firstByteMs", self.first_byte_ms),
            ("config.idleMs", self.idle_ms),
            ("config.totalMs", self.total_ms),
        ] {
            if value == Some(0) {
                return Err(invalid(field, "must be greater than 0 (or null for the provider's)"));
            }
        }
        Ok(ComboSettings {
            retries: self.retries,
            retry_delay_ms: self.retry_delay_ms,
            attempt_timeout_ms: self.attempt_timeout_ms,
            first_byte_ms: self.first_byte_ms,
            idle_ms: self.idle_ms,
            total_ms: self.total_ms,
        })
    }
}

/// A create, a replace (PUT) or, merged into the current combo, a PATCH.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ComboInput {
    /// Required on create; on PUT a different name renames the combo.
    pub name: Option<String>,
    /// `priority` (default), `round-robin`, `weighted`, `random`, `least-used`,
    /// `cost-optimized`, `latency-aware`.
    pub strategy: Option<ComboStrategy>,
    /// The targets in order. `targets`, the config file's word, is accepted for it (answers say
    /// `models`, as they always have); errors name the list `models` either way.
    #[serde(alias = "targets")]
    pub models: Option<Vec<ComboModelInput>>,
    pub config: Option<ComboConfig>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComboList {
    pub combos: Vec<ComboView>,
    pub total: usize,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComboDeleted {
    pub deleted: bool,
    pub id: String,
}

impl ComboView {
    pub fn of(record: &ComboRecord) -> ComboView {
        ComboView {
            id: record.name.clone(),
            name: record.name.clone(),
            strategy: record.strategy,
            models: record.targets.iter().map(|t| ComboModel { model: t.target.clone(), weight: t.weight }).collect(),
            config: record.settings.into(),
            source: record.source.clone(),
        }
    }
}

impl ComboInput {
    /// The input that would recreate `record` (the base a PATCH is merged into).
    fn of(record: &ComboRecord) -> ComboInput {
        let view = ComboView::of(record);
        ComboInput {
            name: Some(view.name),
            strategy: Some(view.strategy),
            models: Some(view.models.into_iter().map(ComboModelInput::Weighted).collect()),
            config: Some(view.config),
        }
    }

    /// The record this input describes, each field checked against `stored`.
    fn record(self, stored: &StoredConfig, name: String) -> Result<ComboRecord, GatewayError> {
        check_combo_name(&name).map_err(|e| invalid("name", e))?;
        if stored.providers.iter().any(|p| p.id.eq_ignore_ascii_case(&name)) {
            return Err(invalid("name", format!("'{name}' is a provider's id; a combo may not take it")));
        }
        if stored.aliases.iter().any(|a| a.pattern == name) {
            return Err(invalid("name", format!("an alias '{name}' exists and would hide the combo")));
        }
        let models = self.models.ok_or_else(|| invalid("models", "is required"))?;
        if models.is_empty() {
            return Err(invalid("models", "needs at least one target"));
        }
        let mut targets = Vec::with_capacity(models.len());
        for (i, entry) in models.into_iter().enumerate() {
            let ComboModel { model, weight } = match entry {
                ComboModelInput::Name(model) => ComboModel { model, weight: 1 },
                ComboModelInput::Weighted(model) => model,
            };
            let model = model.trim().to_owned();
            if model == name || model.strip_prefix("combo/") == Some(name.as_str()) {
                return Err(invalid(&format!("models[{i}]"), "a combo cannot list itself"));
            }
            check_target(stored, &model).map_err(|e| invalid(&format!("models[{i}]"), e))?;
            targets.push(ComboTarget { target: model, weight });
        }
        let strategy = self.strategy.unwrap_or_default();
        if strategy == ComboStrategy::Weighted && targets.iter().all(|t| t.weight == 0) {
            return Err(invalid("models", "every weight is 0: the weighted strategy could pick nothing"));
        }
        let settings = self.config.unwrap_or_default().settings()?;
        Ok(ComboRecord { name, source: API_SOURCE.into(), strategy, targets, settings })
    }
}

fn find<'a>(stored: &'a StoredConfig, id: &str) -> Result<&'a ComboRecord, GatewayError> {
    stored.combos.iter().find(|c| c.name == id).ok_or_else(|| GatewayError::NotFound(format!("combo '{id}'")))
}

/// `GET /api/combos`.
pub async fn list(call: Call<'_>) -> Answer {
    let combos: Vec<ComboView> = stored(call.gateway).await?.combos.iter().map(ComboView::of).collect();
    Ok(ok(&ComboList { total: combos.len(), combos }))
}

/// `GET /api/combos/{id}`.
pub async fn get(call: Call<'_>) -> Answer {
    Ok(ok(&ComboView::of(find(&stored(call.gateway).await?, call.param("id"))?)))
}

/// `PUT /api/combos/{id}`: the whole combo.
pub async fn put(mut call: Call<'_>) -> Answer {
    let body = call.body_bytes().await?;
    replace(call.gateway, call.ctx, call.param("id"), &body, false).await
}

/// `PATCH /api/combos/{id}`: a merge patch of the combo.
pub async fn patch(mut call: Call<'_>) -> Answer {
    let body = call.body_bytes().await?;
    replace(call.gateway, call.ctx, call.param("id"), &body, true).await
}

/// `POST /api/combos/{id}/test`: each of its models, called once.
pub async fn test(call: Call<'_>) -> Answer {
    super::combo_test::test(call.gateway, call.ctx, call.param("id")).await
}

/// `POST /api/combos`.
pub async fn create(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let input: ComboInput = parse(&call.body_bytes().await?)?;
    let name = input.name.clone().map(|n| n.trim().to_owned()).ok_or_else(|| invalid("name", "is required"))?;
    let stored = stored(gateway).await?;
    if stored.combos.iter().any(|c| c.name == name) {
        return Err(GatewayError::Conflict(format!(
            "a combo named '{name}' exists; PUT /api/combos/{name} changes it"
        )));
    }
    let record = input.record(&stored, name)?;
    let view = ComboView::of(&record);
    let change = Change {
        action: "combo.create",
        target: record.name.clone(),
        before: None,
        after: serde_json::to_value(&view).ok(),
        changes: vec![ConfigChange::PutCombo(record)],
    };
    commit(gateway, ctx, change).await.map_err(blame("models"))?;
    Ok(created(&view))
}

/// PUT (the body is the whole combo) or PATCH (merged into it).
async fn replace(
    gateway: &Gateway,
    ctx: &RequestContext,
    id: &str,
    body: &[u8],
    merge: bool,
) -> Result<Response<Body>, GatewayError> {
    let stored = stored(gateway).await?;
    let current = find(&stored, id)?;
    refuse_declared(&current.source, &format!("combo '{id}'"))?;
    let input: ComboInput =
        if merge { parse_merged(&ComboInput::of(current), &patch_in_api_words(body))? } else { parse(body)? };
    let name = input.name.clone().map(|n| n.trim().to_owned()).unwrap_or_else(|| id.to_owned());
    let renamed = name != id;
    if renamed && stored.combos.iter().any(|c| c.name == name) {
        return Err(GatewayError::Conflict(format!("a combo named '{name}' exists")));
    }
    let record = input.record(&stored, name)?;
    let view = ComboView::of(&record);
    let mut changes = Vec::new();
    if renamed {
        changes.push(ConfigChange::DeleteCombo(id.to_owned()));
    }
    changes.push(ConfigChange::PutCombo(record));
    let change = Change {
        action: if renamed { "combo.rename" } else { "combo.update" },
        target: id.to_owned(),
        before: serde_json::to_value(ComboView::of(current)).ok(),
        after: serde_json::to_value(&view).ok(),
        changes,
    };
    // A rename breaks whatever still names the old one.
    commit(gateway, ctx, change).await.map_err(blame(if renamed { "name" } else { "models" }))?;
    Ok(ok(&view))
}

/// A merge patch that names the list `targets`, renamed `models`: the current combo it is merged
/// into says `models`, and an object holding both would be refused as a duplicate field. A patch
/// that gives both is left as it is, to be refused so.
fn patch_in_api_words(body: &[u8]) -> Cow<'_, [u8]> {
    let Ok(serde_json::Value::Object(mut patch)) = serde_json::from_slice(body) else { return Cow::Borrowed(body) };
    if patch.contains_key("models") {
        return Cow::Borrowed(body);
    }
    let Some(targets) = patch.remove("targets") else { return Cow::Borrowed(body) };
    patch.insert("models".into(), targets);
    serde_json::to_vec(&patch).map_or(Cow::Borrowed(body), Cow::Owned)
}

/// `DELETE /api/combos/{id}`.
pub async fn delete(call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let id = call.param("id");
    let stored = stored(gateway).await?;
    let current = find(&stored, id)?;
    refuse_declared(&current.source, &format!("combo '{id}'"))?;
    let change = Change {
        action: "combo.delete",
        target: id.to_owned(),
        before: serde_json::to_value(ComboView::of(current)).ok(),
        after: None,
        changes: vec![ConfigChange::DeleteCombo(id.to_owned())],
    };
    // Refused while an alias, another combo or the default model still names it.
    commit(gateway, ctx, change).await.map_err(|e| match e {
        GatewayError::InvalidRequest(message) => GatewayError::Conflict(message),
        other => other,
    })?;
    Ok(ok(&ComboDeleted { deleted: true, id: id.to_owned() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_may_name_the_list_targets() {
        let renamed = patch_in_api_words(br#"{"targets": ["a/b"], "strategy": "random"}"#);
        let value: serde_json::Value = serde_json::from_slice(&renamed).unwrap();
        assert_eq!(value, serde_json::json!({"models": ["a/b"], "strategy": "random"}));
        for kept in [&br#"{"strategy": "random"}"#[..], br#"{"models": [], "targets": []}"#, b"not json", b"[1]"] {
            assert_eq!(&*patch_in_api_words(kept), kept);
        }
        let input: ComboInput = serde_json::from_str(r#"{"name": "c", "targets": ["a/b"]}"#).unwrap();
        assert_eq!(input.models.map(|m| m.len()), Some(1), "`targets` reads as `models`");
    }
}
