//! What an answer cost, from the pricing table: catalog prices (USD per million tokens) with
//! the operator's overrides (`/api/pricing`) applied.

use serde::{Deserialize, Serialize};

use crate::hub::Usage;
use crate::providers::CatalogModel;

/// One model's prices in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelPrice {
    pub input_price: f64,
    pub output_price: f64,
    /// Input tokens served from the provider's prompt cache; the input price when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_price: Option<f64>,
}

impl ModelPrice {
    /// A catalog model's prices, when it has both an input and an output price.
    pub fn of(model: &CatalogModel) -> Option<ModelPrice> {
        Some(ModelPrice {
            input_price: model.input_price?,
            output_price: model.output_price?,
            cached_input_price: model.cached_input_price,
        })
    }
}

/// Cost in USD of `usage` at `price`. Cached input tokens (part of the input) are billed at
/// the cached price when known.
pub fn cost_usd(price: &ModelPrice, usage: &Usage) -> f64 {
    let cached = usage.cached_input_tokens.unwrap_or(0).min(usage.input_tokens);
    let fresh = usage.input_tokens - cached;
    let cached_price = price.cached_input_price.unwrap_or(price.input_price);
    let micro_dollars = fresh as f64 * price.input_price
        + cached as f64 * cached_price
        + usage.output_tokens as f64 * price.output_price;
    micro_dollars / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(input: Option<f64>, output: Option<f64>, cached: Option<f64>) -> Option<ModelPrice> {
        ModelPrice::of(&CatalogModel {
            id: "m".into(),
            context: None,
            max_output: None,
            capabilities: Vec::new(),
            input_price: input,
            output_price: output,
            cached_input_price: cached,
        })
    }

    #[test]
    fn prices_are_per_million_tokens_with_cached_input_cheaper() {
        let usage = Usage {
            input_tokens: 1_000_000,
            output_tokens: 500_000,
            cached_input_tokens: Some(400_000),
            ..Default::default()
        };
        // 600k fresh × $1.25 + 400k cached × $0.125 + 500k out × $10 = 0.75 + 0.05 + 5.0
        let cost = cost_usd(&model(Some(1.25), Some(10.0), Some(0.125)).unwrap(), &usage);
        assert!((cost - 5.8).abs() < 1e-9, "{cost}");
        // Without a cached price, cached tokens cost the input price.
        let cost = cost_usd(&model(Some(1.25), Some(10.0), None).unwrap(), &usage);
        assert!((cost - 6.25).abs() < 1e-9, "{cost}");
        assert_eq!(model(None, Some(1.0), None), None, "a model without an input price has no price");
        let small = Usage { input_tokens: 12, output_tokens: 6, ..Default::default() };
        let cost = cost_usd(&model(Some(2.0), Some(8.0), None).unwrap(), &small);
        assert!((cost - 0.000_072).abs() < 1e-12, "{cost}");
    }
}
