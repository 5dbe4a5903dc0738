//! `GET /api/incidents`: the incident list, newest first, filtered by status, severity, service
//! and source, searched in titles and summaries, paged by a keyset cursor. Every filter runs in
//! the database, so the next page ("Older") keeps them and a match far down the list is found.

use aurora_domain::{IncidentStatus, Severity};
use aurora_projections::queries::{self, IncidentFilter};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::super::auth::Caller;
use super::super::{integrations, page, ApiError, AppState};
use super::IncidentPage;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// investigating, analyzed, resolved or merged
    status: Option<String>,
    /// critical, high, medium, low or info
    severity: Option<String>,
    /// the incident's service or one of its affected services
    service: Option<String>,
    /// the source whose alert opened it (`grafana`, `pagerduty`, … as `GET
    /// /api/integrations/sources` lists them)
    source: Option<String>,
    /// text anywhere in the title or the summary, any case; at most 200 characters (spaces
    /// around it are ignored, and a blank one is no search)
    #[param(max_length = 200)]
    q: Option<String>,
    /// `next_cursor` of the previous page
    cursor: Option<String>,
    /// 1 to 200; default 50
    limit: Option<i64>,
}

/// What a search looks for: trimmed, not empty, at most [`Search::MAX_CHARS`] characters, no
/// control characters (PostgreSQL text cannot hold NUL, and none belongs in a title).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search(String);

impl Search {
    pub const MAX_CHARS: usize = 200;

    /// `None` for a blank search (the list unfiltered), as a cleared search box sends it.
    pub fn parse(text: &str) -> Result<Option<Self>, ApiError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let chars = text.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(ApiError::bad_request(
                "invalid_search",
                format!(
                    "q is {chars} characters long; at most {} are searched for",
                    Self::MAX_CHARS
                ),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "invalid_search",
                "q must not hold control characters",
            ));
        }
        Ok(Some(Self(text.to_owned())))
    }
}

/// Incidents of the caller's organisation, newest first.
#[utoipa::path(get, path = "/api/incidents", tag = "incidents", params(ListParams),
    responses((status = 200, body = IncidentPage, description = "a page of incidents"),
              (status = 400, body = super::super::responses::ErrorBody,
               description = "a filter is invalid: an unknown status, severity or source (`invalid_status`, `invalid_severity`, `unknown_source`), a service with control characters (`invalid_service`), a search too long or with control characters (`invalid_search`), a bad limit or cursor, or an unknown parameter")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<IncidentPage>, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let status = p
        .status
        .map(|s| IncidentStatus::parse(&s).map(|s| s.as_str().to_owned()))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_status", e.to_string()))?;
    let severity = p
        .severity
        .map(|s| Severity::parse(&s).map(|s| s.as_str().to_owned()))
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_severity", e.to_string()))?;
    let source = p
        .source
        .map(|s| integrations::known_source(&s).map(|s| s.descriptor().name.to_owned()))
        .transpose()?;
    if p.service
        .as_deref()
        .is_some_and(|s| s.chars().any(char::is_control))
    {
        // No service is named so, and PostgreSQL text cannot hold the NUL one might be.
        return Err(ApiError::bad_request(
            "invalid_service",
            "service must not hold control characters",
        ));
    }
    let search = p.q.as_deref().map(Search::parse).transpose()?.flatten();
    let limit = page::limit(p.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = p.cursor.as_deref().map(page::parse_cursor).transpose()?;
    let filter = IncidentFilter {
        status,
        severity,
        service: p.service,
        source,
        search: search.map(|s| s.0),
        after,
        limit,
    };
    let tenant = &caller.tenant;
    let mut tx = queries::scoped(&state.services.gateway_pool, tenant.as_str()).await?;
    let items = queries::list_incidents(&mut tx, tenant.as_str(), &filter).await?;
    tx.commit().await?;
    let next_cursor = page::next_cursor(&items, limit, |i| (i.started_at, i.id));
    Ok(Json(IncidentPage { items, next_cursor }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_search_is_trimmed_and_a_blank_one_is_no_search() {
        assert_eq!(
            Search::parse("  Checkout p99 ").unwrap(),
            Some(Search("Checkout p99".into()))
        );
        assert_eq!(Search::parse("   ").unwrap(), None);
        assert_eq!(Search::parse("").unwrap(), None);
    }

    #[test]
    fn a_search_longer_than_the_limit_or_with_control_characters_is_refused() {
        let long = "é".repeat(Search::MAX_CHARS);
        assert!(
            Search::parse(&long).unwrap().is_some(),
            "counted in characters"
        );
        for bad in [format!("{long}x"), "a\0b".into(), "tab\there".into()] {
            assert!(
                matches!(
                    Search::parse(&bad),
                    Err(ApiError::BadRequest {
                        code: "invalid_search",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }
}
