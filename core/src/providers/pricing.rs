//! What an answer cost, from the pricing table (catalog prices, USD per million tokens).

use crate::hub::Usage;
use crate::providers::CatalogModel;

/// Cost in USD of `usage` at `model`'s prices; `None` when the model has no input or output
/// price. Cached input tokens (part of the input) are billed at the cached price when known.
pub fn cost_usd(model: &CatalogModel, usage: &Usage) -> Option<f64> {
    let input_price = model.input_price?;
    let output_price = model.output_price?;
    let cached = usage.cached_input_tokens.unwrap_or(0).min(usage.input_tokens);
    let fresh = usage.input_tokens - cached;
    let cached_price = model.cached_input_price.unwrap_or(input_price);
    let micro_dollars =
        fresh as f64 * input_price + cached as f64 * cached_price + usage.output_tokens as f64 * output_price;
    Some(micro_dollars / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(input: Option<f64>, output: Option<f64>, cached: Option<f64>) -> CatalogModel {
        CatalogModel {
            id: "m".into(),
            context: None,
            max_output: None,
            capabilities: Vec::new(),
            input_price: input,
            output_price: output,
            cached_input_price: cached,
        }
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
        let cost = cost_usd(&model(Some(1.25), Some(10.0), Some(0.125)), &usage).unwrap();
        assert!((cost - 5.8).abs() < 1e-9, "{cost}");
        // Without a cached price, cached tokens cost the input price.
        let cost = cost_usd(&model(Some(1.25), Some(10.0), None), &usage).unwrap();
        assert!((cost - 6.25).abs() < 1e-9, "{cost}");
        assert_eq!(cost_usd(&model(None, Some(1.0), None), &usage), None);
        let small = Usage { input_tokens: 12, output_tokens: 6, ..Default::default() };
        let cost = cost_usd(&model(Some(2.0), Some(8.0), None), &small).unwrap();
        assert!((cost - 0.000_072).abs() < 1e-12, "{cost}");
    }
}
