//! A tenant's correlation settings: the switches, the window, the weights and the limits.
//!
//! The defaults are upstream Aurora's. Settings come from outside (configuration, a tenant's own
//! choices), so [`CorrelationSettings::validate`] refuses values the scoring cannot make sense of;
//! check them once where they are stored or loaded, then [`super::decide`] trusts them.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

/// The longest time window, in seconds (one day).
pub const MAX_WINDOW_SECS: u32 = 86_400;
/// The most candidate incidents one alert is scored against.
pub const MAX_CANDIDATES: u32 = 100;
/// The largest group size a tenant may allow.
pub const MAX_GROUP_SIZE: u32 = 10_000;
/// How far the three weights may add up away from exactly 1.
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;

/// How alerts are correlated with open incidents.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelationSettings {
    /// When off, every alert opens a new incident and nothing is scored.
    pub enabled: bool,
    /// When on, everything is scored and the decision explained, but every alert opens a new
    /// incident.
    pub shadow_mode: bool,
    /// Only incidents updated at most this many seconds before the alert are candidates, and the
    /// time score falls to 0 over this window.
    pub window_secs: u32,
    /// The weighted score the best candidate needs (inclusive) to be correlated with.
    pub threshold: f64,
    pub topology_weight: f64,
    pub time_weight: f64,
    pub similarity_weight: f64,
    /// The newest this many candidates are scored; older ones are not looked at.
    pub max_candidates: u32,
    /// An incident already holding this many correlated alerts takes no more.
    pub max_group_size: u32,
}

impl Default for CorrelationSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            shadow_mode: false,
            window_secs: 300,
            threshold: 0.6,
            topology_weight: 0.5,
            time_weight: 0.3,
            similarity_weight: 0.2,
            max_candidates: 20,
            max_group_size: 50,
        }
    }
}

/// Why correlation settings were refused. Each message names the field and the value given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    #[error("{field} must be a number from 0 to 1, got {value}")]
    WeightOutOfRange { field: &'static str, value: f64 },
    #[error(
        "topology_weight, time_weight and similarity_weight must add up to 1, they add up to {sum}"
    )]
    WeightsDoNotSumToOne { sum: f64 },
    #[error("threshold must be a number from 0 to 1, got {value}")]
    ThresholdOutOfRange { value: f64 },
    #[error("window_secs must be from 1 to {MAX_WINDOW_SECS}, got {value}")]
    WindowOutOfRange { value: u32 },
    #[error("max_candidates must be from 1 to {MAX_CANDIDATES}, got {value}")]
    MaxCandidatesOutOfRange { value: u32 },
    #[error("max_group_size must be from 1 to {MAX_GROUP_SIZE}, got {value}")]
    MaxGroupSizeOutOfRange { value: u32 },
}

impl CorrelationSettings {
    /// Refuses settings the scoring cannot make sense of; the first problem found is reported.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let weights = [
            ("topology_weight", self.topology_weight),
            ("time_weight", self.time_weight),
            ("similarity_weight", self.similarity_weight),
        ];
        for (field, value) in weights {
            // `contains` is false for NaN, and infinities are outside the range.
            if !(0.0..=1.0).contains(&value) {
                return Err(SettingsError::WeightOutOfRange { field, value });
            }
        }
        let sum = self.topology_weight + self.time_weight + self.similarity_weight;
        if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
            return Err(SettingsError::WeightsDoNotSumToOne { sum });
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(SettingsError::ThresholdOutOfRange {
                value: self.threshold,
            });
        }
        if !(1..=MAX_WINDOW_SECS).contains(&self.window_secs) {
            return Err(SettingsError::WindowOutOfRange {
                value: self.window_secs,
            });
        }
        if !(1..=MAX_CANDIDATES).contains(&self.max_candidates) {
            return Err(SettingsError::MaxCandidatesOutOfRange {
                value: self.max_candidates,
            });
        }
        if !(1..=MAX_GROUP_SIZE).contains(&self.max_group_size) {
            return Err(SettingsError::MaxGroupSizeOutOfRange {
                value: self.max_group_size,
            });
        }
        Ok(())
    }

    /// The time window as a duration.
    pub fn window(&self) -> TimeDelta {
        TimeDelta::seconds(i64::from(self.window_secs))
    }
}
