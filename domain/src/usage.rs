//! What one model call cost: the record chat sessions and investigations both keep, as asked for
//! (`RecordUsage`), as stored (`UsageRecorded`) and as a session lists it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, utoipa::ToSchema,
)]
#[schemars(inline)]
pub struct ModelUsage {
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Estimated cost in micro-units of the account currency.
    pub cost_micros: i64,
    pub at: DateTime<Utc>,
}
