//! What a model call is estimated to cost: a per-model table of US dollars per million input and
//! output tokens. The defaults are list prices of common models; `LLM_PRICES` adds to or replaces
//! them, e.g. `LLM_PRICES="my-model=0.50/1.50,gpt-4o=2.50/10"`.
//!
//! A model matches its own entry or, failing that, the longest entry it starts with, so a dated
//! snapshot (`gpt-4o-2024-08-06`) costs what `gpt-4o` costs. A model with no entry costs 0 and
//! is reported as unpriced.

use std::collections::BTreeMap;

/// Dollars per million tokens (input, output) of models priced out of the box.
const DEFAULTS: &[(&str, f64, f64)] = &[
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4.1", 2.00, 8.00),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("o3-mini", 1.10, 4.40),
    ("o4-mini", 1.10, 4.40),
    ("claude-3-5-sonnet", 3.00, 15.00),
    ("claude-3-5-haiku", 0.80, 4.00),
];

/// Prices in nano-dollars per token (= dollars per million tokens × 1000), exact integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub input_nanos_per_token: u64,
    pub output_nanos_per_token: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    prices: BTreeMap<String, Price>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("price entry {entry:?}: {reason} (expected model=<input $/M tokens>/<output $/M tokens>)")]
pub struct PriceError {
    pub entry: String,
    pub reason: String,
}

/// The estimate of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub micros: i64,
    /// Whether the model had a price; an unpriced call costs 0.
    pub priced: bool,
}

impl Default for PriceTable {
    fn default() -> Self {
        let prices = DEFAULTS
            .iter()
            .map(|&(model, input, output)| {
                (
                    model.to_owned(),
                    Price {
                        input_nanos_per_token: dollars_per_million_to_nanos(input),
                        output_nanos_per_token: dollars_per_million_to_nanos(output),
                    },
                )
            })
            .collect();
        Self { prices }
    }
}

fn dollars_per_million_to_nanos(dollars: f64) -> u64 {
    (dollars * 1000.0).round() as u64
}

impl PriceTable {
    /// This table with the entries of `spec` (`model=in/out`, comma separated) added or replaced.
    pub fn with(mut self, spec: &str) -> Result<Self, PriceError> {
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let fail = |reason: &str| PriceError {
                entry: entry.to_owned(),
                reason: reason.to_owned(),
            };
            let (model, prices) = entry.split_once('=').ok_or_else(|| fail("no `=`"))?;
            let (input, output) = prices
                .split_once('/')
                .ok_or_else(|| fail("no `/` between the input and output price"))?;
            let parse = |text: &str| -> Result<u64, PriceError> {
                let dollars: f64 = text
                    .trim()
                    .parse()
                    .map_err(|_| fail(&format!("{:?} is not a number", text.trim())))?;
                if !dollars.is_finite() || dollars < 0.0 {
                    return Err(fail("a price must be a non-negative number"));
                }
                Ok(dollars_per_million_to_nanos(dollars))
            };
            let model = model.trim();
            if model.is_empty() {
                return Err(fail("the model name is empty"));
            }
            self.prices.insert(
                model.to_owned(),
                Price {
                    input_nanos_per_token: parse(input)?,
                    output_nanos_per_token: parse(output)?,
                },
            );
        }
        Ok(self)
    }

    /// The price of `model`: its own entry, else the longest entry it starts with.
    pub fn price(&self, model: &str) -> Option<Price> {
        if let Some(price) = self.prices.get(model) {
            return Some(*price);
        }
        self.prices
            .iter()
            .filter(|(name, _)| model.starts_with(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, price)| *price)
    }

    /// The estimated cost of a call, in micro-dollars (rounded to the nearest).
    pub fn cost(&self, model: &str, input_tokens: u64, output_tokens: u64) -> Cost {
        let Some(price) = self.price(model) else {
            return Cost {
                micros: 0,
                priced: false,
            };
        };
        let nanos = u128::from(input_tokens) * u128::from(price.input_nanos_per_token)
            + u128::from(output_tokens) * u128::from(price.output_nanos_per_token);
        Cost {
            micros: i64::try_from((nanos + 500) / 1000).unwrap_or(i64::MAX),
            priced: true,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_default_model_costs_its_list_price() {
        let table = PriceTable::default();
        // 1M input tokens of gpt-4o = $2.50, 1M output = $10.
        assert_eq!(table.cost("gpt-4o", 1_000_000, 0).micros, 2_500_000);
        assert_eq!(table.cost("gpt-4o", 0, 1_000_000).micros, 10_000_000);
        // 1 000 in + 500 out of gpt-4o-mini = 0.15 + 0.30 thousandths of a dollar.
        assert_eq!(table.cost("gpt-4o-mini", 1_000, 500).micros, 450);
    }

    #[test]
    fn a_dated_snapshot_costs_what_its_longest_prefix_costs() {
        let table = PriceTable::default();
        assert_eq!(
            table.price("gpt-4o-mini-2024-07-18"),
            table.price("gpt-4o-mini")
        );
        assert_eq!(table.price("gpt-4o-2024-08-06"), table.price("gpt-4o"));
    }

    #[test]
    fn an_unknown_model_is_unpriced_and_free() {
        let cost = PriceTable::default().cost("llama-3-70b", 10_000, 10_000);
        assert_eq!(
            cost,
            Cost {
                micros: 0,
                priced: false
            }
        );
    }

    #[test]
    fn entries_from_the_environment_add_and_replace() {
        let table = PriceTable::default()
            .with("scripted=1/2, gpt-4o = 5/20")
            .unwrap();
        assert_eq!(
            table.cost("scripted", 1_000_000, 1_000_000).micros,
            3_000_000
        );
        assert_eq!(table.cost("gpt-4o", 1_000, 0).micros, 5_000);
    }

    #[test]
    fn bad_entries_are_refused_with_the_entry_named() {
        for (spec, reason) in [
            ("gpt-4o", "no `=`"),
            ("gpt-4o=2.5", "no `/`"),
            ("gpt-4o=x/1", "not a number"),
            ("gpt-4o=-1/1", "non-negative"),
            ("=1/1", "model name is empty"),
        ] {
            let error = PriceTable::default().with(spec).unwrap_err();
            assert_eq!(error.entry, spec);
            assert!(error.reason.contains(reason), "{spec}: {}", error.reason);
        }
    }
}
