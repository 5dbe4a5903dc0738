//! What the gateway puts on `CMD` (`cmd.<tenant>.graph.<request>`) when a person asks for a
//! discovery now (`POST /api/graph/discover`); the handlers' `discovery` consumer runs it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The aggregate-type token of discovery requests on `CMD`.
pub const DISCOVERY_SUBJECT_TYPE: &str = "graph";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryRequest {
    pub request_id: Uuid,
    pub requested_by: String,
    pub at: DateTime<Utc>,
}
