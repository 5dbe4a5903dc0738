//! The bodies the postmortem routes answer with, so /openapi.json describes them.

use aurora_domain::postmortem::Version;
use aurora_projections::queries::{PostmortemVersionRow, PostmortemVersionSummary};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::api::ApiError;

/// One version of an incident's postmortem, with its text.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemView {
    pub incident_id: Uuid,
    /// The newest version's number: what an edit is based on.
    pub latest_version: i32,
    #[serde(flatten)]
    pub version: PostmortemVersionRow,
}

/// Every version of an incident's postmortem, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostmortemVersions {
    pub incident_id: Uuid,
    pub latest_version: i32,
    pub versions: Vec<PostmortemVersionSummary>,
}

/// A person's text for the postmortem, written on version `base_version`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostmortemEdit {
    /// The whole postmortem, in Markdown (at most 200 000 characters).
    pub markdown: String,
    /// The version the text was written on; the edit is refused (409) when a newer one exists.
    pub base_version: u32,
}

/// A regeneration was asked for; the new version appears once written.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegenerationRequested {
    pub incident_id: Uuid,
    /// The request's id, recorded on the incident (`incident.postmortem_requested`) and on the
    /// version it makes.
    pub request_id: Uuid,
}

/// A version as the aggregate holds it, in the shape the read model answers.
pub fn row(version: &Version) -> Result<PostmortemVersionRow, ApiError> {
    let change = serde_json::to_value(&version.change)
        .map_err(|e| anyhow::Error::new(e).context("a postmortem change does not serialise"))?;
    Ok(PostmortemVersionRow {
        summary: PostmortemVersionSummary {
            version: number(version.version)?,
            change,
            by: version.by.clone(),
            at: version.at,
            chars: number(version.markdown.chars().count())?,
        },
        markdown: version.markdown.clone(),
    })
}

/// A version number or length as the read model stores it (Postgres `integer`).
fn number<N: TryInto<i32> + Copy + std::fmt::Display>(n: N) -> Result<i32, ApiError> {
    n.try_into()
        .map_err(|_| anyhow::anyhow!("{n} does not fit a postmortem's integer column").into())
}
