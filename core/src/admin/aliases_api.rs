//! `/api/models/alias`: model aliases (a client model name, exact or a glob, → a target). GET
//! lists them, POST/PUT creates or replaces one, DELETE (`?alias=` or `/{alias}`) removes
//! one. The config file's aliases are shown but read-only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit, stored};
use crate::admin::json::{blame, created, invalid, ok, parse};
use crate::admin::query::query_value;
use crate::admin::targets::{check_target, refuse_declared};
use crate::config::aliases::check_pattern;
use crate::config::{API_SOURCE, AliasRecord, ConfigChange, StoredConfig};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};

/// An alias as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AliasView {
    /// The model name clients send: exact, or a glob of `*` and `?`.
    pub alias: String,
    /// Where it goes: `provider/model`, `combo/<name>` or a combo's name.
    pub model: String,
    /// `config` (the file: read-only here) or `api`.
    pub source: String,
}

impl AliasView {
    fn of(record: &AliasRecord) -> AliasView {
        AliasView { alias: record.pattern.clone(), model: record.target.clone(), source: record.source.clone() }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AliasList {
    /// `alias → model`, the seed's shape.
    pub aliases: BTreeMap<String, String>,
    /// In resolution order (an exact alias beats any glob; among globs the first wins).
    pub list: Vec<AliasView>,
}

/// A create or replace.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AliasInput {
    #[serde(alias = "pattern")]
    pub alias: String,
    #[serde(alias = "target")]
    pub model: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AliasDeleted {
    pub deleted: bool,
    pub alias: String,
}

/// `GET /api/models/alias`: as a map (`aliases`) and as a list with each alias's source.
pub async fn list(call: Call<'_>) -> Answer {
    let stored = stored(call.gateway).await?;
    let list: Vec<AliasView> = stored.aliases.iter().map(AliasView::of).collect();
    let aliases = list.iter().map(|a| (a.alias.clone(), a.model.clone())).collect();
    Ok(ok(&AliasList { aliases, list }))
}

/// `DELETE /api/models/alias?alias=...` (for aliases that are awkward in a path).
pub async fn delete_by_query(call: Call<'_>) -> Answer {
    let alias = query_value(call.query(), "alias").ok_or_else(|| invalid("alias", "is required (?alias=...)"))?;
    remove(call.gateway, call.ctx, &alias).await
}

/// `DELETE /api/models/alias/{alias}`.
pub async fn delete(call: Call<'_>) -> Answer {
    remove(call.gateway, call.ctx, &call.decoded_param("alias")).await
}

fn find<'a>(stored: &'a StoredConfig, alias: &str) -> Option<&'a AliasRecord> {
    stored.aliases.iter().find(|a| a.pattern == alias)
}

/// `POST`/`PUT /api/models/alias`: adds or changes one alias.
pub async fn set(mut call: Call<'_>) -> Answer {
    let gateway = call.gateway;
    let ctx = call.ctx;
    let input: AliasInput = parse(&call.body_bytes().await?)?;
    let alias = input.alias.trim().to_owned();
    let model = input.model.trim().to_owned();
    check_pattern(&alias).map_err(|e| invalid("alias", e))?;
    let stored = stored(gateway).await?;
    if stored.combos.iter().any(|c| c.name == alias) {
        return Err(invalid("alias", format!("'{alias}' is the name of a combo; an alias would hide it")));
    }
    check_target(&stored, &model).map_err(|e| invalid("model", e))?;
    let existing = find(&stored, &alias);
    if let Some(existing) = existing {
        refuse_declared(&existing.source, &format!("alias '{alias}'"))?;
    }
    let record = AliasRecord { pattern: alias.clone(), target: model, source: API_SOURCE.into() };
    let view = AliasView::of(&record);
    let change = Change {
        action: if existing.is_some() { "alias.update" } else { "alias.create" },
        target: alias,
        before: existing.and_then(|a| serde_json::to_value(AliasView::of(a)).ok()),
        after: serde_json::to_value(&view).ok(),
        changes: vec![ConfigChange::PutAlias(record)],
    };
    let replaced = existing.is_some();
    commit(gateway, ctx, change).await.map_err(blame("model"))?;
    Ok(if replaced { ok(&view) } else { created(&view) })
}

async fn remove(gateway: &Gateway, ctx: &RequestContext, alias: &str) -> Answer {
    let stored = stored(gateway).await?;
    let existing = find(&stored, alias).ok_or_else(|| GatewayError::NotFound(format!("alias '{alias}'")))?;
    refuse_declared(&existing.source, &format!("alias '{alias}'"))?;
    let change = Change {
        action: "alias.delete",
        target: alias.to_owned(),
        before: serde_json::to_value(AliasView::of(existing)).ok(),
        after: None,
        changes: vec![ConfigChange::DeleteAlias(alias.to_owned())],
    };
    commit(gateway, ctx, change).await.map_err(blame("alias"))?;
    Ok(ok(&AliasDeleted { deleted: true, alias: alias.to_owned() }))
}
