//! `/api/pricing`: the effective price table (catalog prices per provider and model, with the
//! operator's overrides applied) and the overrides themselves: `PUT` replaces them, `PATCH` adds
//! or changes some, `DELETE` removes one (`/api/pricing/{provider}/{model}`) or all. Stored as the
//! `pricing` settings document; costs use them from the next request on.

use std::collections::BTreeMap;

use http::Response;
use serde::{Deserialize, Serialize};

use crate::admin::commit::{Change, commit};
use crate::admin::json::{invalid, ok, parse};
use crate::admin::query::Query;
use crate::body::Body;
use crate::config::ConfigChange;
use crate::config::settings::{PricingSettings, keys};
use crate::error::GatewayError;
use crate::gateway::call::{Answer, Call};
use crate::gateway::{Gateway, RequestContext};
use crate::percent::percent_decode;
use crate::providers::pricing::ModelPrice;
use crate::providers::{catalog, find_catalog_provider};

/// Highest price accepted, USD per million tokens.
const MAX_PRICE: f64 = 1_000_000.0;
const MAX_OVERRIDES: usize = 5_000;
const MAX_MODEL_LEN: usize = 200;

/// One row of the price table, or one override.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PriceEntry {
    /// Provider id (an alias is accepted on input and stored as the id).
    pub provider: String,
    /// The upstream model name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub model: String,
    /// USD per million input tokens.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1e6))]
    pub input_price: f64,
    /// USD per million output tokens.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1e6))]
    pub output_price: f64,
    /// USD per million input tokens read from the provider's prompt cache (default: the input price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1e6))]
    pub cached_input_price: Option<f64>,
    /// `catalog` or `override` in answers; ignored on input (so a table row can be sent back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl PriceEntry {
    fn new(provider: &str, model: &str, price: ModelPrice, source: &'static str) -> Self {
        PriceEntry {
            provider: provider.to_owned(),
            model: model.to_owned(),
            input_price: price.input_price,
            output_price: price.output_price,
            cached_input_price: price.cached_input_price,
            source: Some(source.to_owned()),
        }
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceTable {
    pub models: Vec<PriceEntry>,
    pub total: usize,
    /// How many rows come from overrides.
    pub overrides: usize,
}

/// `PUT`/`PATCH /api/pricing` body, and what writes answer.
#[derive(Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    #[cfg_attr(feature = "openapi", schema(max_items = 5000))]
    pub overrides: Vec<PriceEntry>,
}

/// `GET /api/pricing`: the price table in force (`?provider=` filters).
pub async fn table(call: Call<'_>) -> Answer {
    price_table(call.gateway, call.query())
}

/// `PUT /api/pricing`: the overrides, replaced as a whole.
pub async fn replace(mut call: Call<'_>) -> Answer {
    let input: Overrides = parse(&call.body_bytes().await?)?;
    write(call.gateway, call.ctx, checked(call.gateway, input)?, "pricing.replace").await
}

/// `PATCH /api/pricing`: the overrides sent are added or changed.
pub async fn update(mut call: Call<'_>) -> Answer {
    let input: Overrides = parse(&call.body_bytes().await?)?;
    let mut overrides = stored(call.gateway);
    overrides.extend(checked(call.gateway, input)?);
    write(call.gateway, call.ctx, overrides, "pricing.update").await
}

/// `DELETE /api/pricing`: every override goes; the built-in table remains.
pub async fn reset(call: Call<'_>) -> Answer {
    write(call.gateway, call.ctx, BTreeMap::new(), "pricing.reset").await
}

/// `DELETE /api/pricing/{provider}/{model}` (the model may hold `/`).
pub async fn delete(call: Call<'_>) -> Answer {
    let name = percent_decode(&format!("{}/{}", call.param("provider"), call.param("model"))).into_owned();
    let (provider, model) = name.split_once('/').unwrap_or((&name, ""));
    let key = format!("{}/{model}", canonical_provider(call.gateway, provider).unwrap_or_else(|| provider.into()));
    let mut overrides = stored(call.gateway);
    if overrides.remove(&key).is_none() {
        return Err(GatewayError::NotFound(format!("a price override for '{key}'")));
    }
    write(call.gateway, call.ctx, overrides, "pricing.delete").await
}

fn stored(gateway: &Gateway) -> BTreeMap<String, ModelPrice> {
    gateway.snapshot().setting::<PricingSettings>(keys::PRICING).overrides
}

/// A configured or catalog provider's id, by id or alias.
fn canonical_provider(gateway: &Gateway, name: &str) -> Option<String> {
    let snapshot = gateway.snapshot();
    snapshot.provider(name).map(|p| p.id.clone()).or_else(|| find_catalog_provider(name).map(|p| p.id.clone()))
}

/// `GET /api/pricing[?provider=]`: configured providers' models, then the catalog's other
/// providers, each priced model once, overrides winning.
fn price_table(gateway: &Gateway, query: Option<&str>) -> Answer {
    let query = Query::parse(query, &["provider"])?;
    let snapshot = gateway.snapshot();
    let mut rows: BTreeMap<(String, String), PriceEntry> = BTreeMap::new();
    let mut add = |provider: &str, model: &str, price: ModelPrice, source| {
        rows.insert((provider.to_owned(), model.to_owned()), PriceEntry::new(provider, model, price, source));
    };
    for provider in snapshot.providers() {
        for model in &provider.models {
            if let Some(price) = ModelPrice::of(model) {
                add(&provider.id, &model.id, price, "catalog");
            }
        }
    }
    for provider in catalog().iter().filter(|p| snapshot.provider(&p.id).is_none()) {
        for model in &provider.models {
            if let Some(price) = ModelPrice::of(model) {
                add(&provider.id, &model.id, price, "catalog");
            }
        }
    }
    for (key, price) in stored(gateway) {
        if let Some((provider, model)) = key.split_once('/') {
            add(provider, model, price, "override");
        }
    }
    let wanted = query.get("provider").map(|p| canonical_provider(gateway, p).unwrap_or_else(|| p.to_owned()));
    let models: Vec<PriceEntry> =
        rows.into_values().filter(|row| wanted.as_deref().is_none_or(|p| row.provider == p)).collect();
    let overrides = models.iter().filter(|m| m.source.as_deref() == Some("override")).count();
    Ok(ok(&PriceTable { total: models.len(), overrides, models }))
}

/// Validates each entry, naming the field (`overrides[2].inputPrice`).
fn checked(gateway: &Gateway, input: Overrides) -> Result<BTreeMap<String, ModelPrice>, GatewayError> {
    if input.overrides.len() > MAX_OVERRIDES {
        return Err(invalid("overrides", format!("at most {MAX_OVERRIDES} entries")));
    }
    let mut out = BTreeMap::new();
    for (i, entry) in input.overrides.into_iter().enumerate() {
        let field = |name: &str| format!("overrides[{i}].{name}");
        let provider = canonical_provider(gateway, entry.provider.trim())
            .ok_or_else(|| invalid(&field("provider"), "is not a configured or catalog provider"))?;
        let model = entry.model.trim();
        if model.is_empty() || model.len() > MAX_MODEL_LEN || model.chars().any(char::is_control) {
            return Err(invalid(&field("model"), format!("must be 1 to {MAX_MODEL_LEN} printable characters")));
        }
        let prices = [
            ("inputPrice", Some(entry.input_price)),
            ("outputPrice", Some(entry.output_price)),
            ("cachedInputPrice", entry.cached_input_price),
        ];
        for (name, price) in prices {
            if let Some(price) = price
                && !(price.is_finite() && (0.0..=MAX_PRICE).contains(&price))
            {
                return Err(invalid(&field(name), "must be USD per million tokens, from 0 to 1000000"));
            }
        }
        let price = ModelPrice {
            input_price: entry.input_price,
            output_price: entry.output_price,
            cached_input_price: entry.cached_input_price,
        };
        out.insert(format!("{provider}/{model}"), price);
    }
    Ok(out)
}

async fn write(
    gateway: &Gateway,
    ctx: &RequestContext,
    overrides: BTreeMap<String, ModelPrice>,
    action: &'static str,
) -> Result<Response<Body>, GatewayError> {
    let before = serde_json::to_value(PricingSettings { overrides: stored(gateway) }).ok();
    let value = serde_json::to_value(PricingSettings { overrides: overrides.clone() })
        .map_err(|e| GatewayError::internal("cannot encode price overrides", e))?;
    let changes = vec![ConfigChange::PutSetting { key: keys::PRICING.into(), value: value.clone() }];
    commit(gateway, ctx, Change { action, target: keys::PRICING.into(), before, after: Some(value), changes }).await?;
    let overrides = overrides
        .into_iter()
        .filter_map(|(key, price)| {
            let (provider, model) = key.split_once('/')?;
            Some(PriceEntry::new(provider, model, price, "override"))
        })
        .collect();
    Ok(ok(&Overrides { overrides }))
}
