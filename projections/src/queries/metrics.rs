//! Incident metrics (SPEC §3) over a time range, from the `incidents` and `investigations` read
//! models. Both hold each figure's inputs as columns (opened, alert fired, resolved; requested,
//! started, ended, conclusion), are rebuilt by `aurora replay` and checked by `audit verify`, so
//! a third table fed by the same events would be a copy to keep in step, not a new fact.
//!
//! An incident counts where it opened (`started_at` in `[from, to)`); one merged into another is
//! a duplicate of it and counts only as `merged`. A run counts where it was requested.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;

/// The figures of one range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MetricsSummary {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub incidents: IncidentCounts,
    /// Mean time to detect: from the alert firing (the source's time) to the incident opening.
    pub mttd: Durations,
    /// Mean time to resolve: from the incident opening to its resolution (resolved ones only).
    pub mttr: Durations,
    /// Incidents opened per day (UTC), days without any left out, with their median times to
    /// detect and resolve: MTTD and MTTR over time.
    pub per_day: Vec<DayCount>,
    /// Incidents per source (the integration kind whose alert opened them), most first.
    pub per_source: Vec<GroupCount>,
    /// Incidents per service (the one that opened them), most first.
    pub per_service: Vec<GroupCount>,
    pub rca: RcaFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct IncidentCounts {
    /// Opened in the range (merged ones aside).
    pub opened: i64,
    /// Of those, resolved now.
    pub resolved: i64,
    /// Opened in the range and merged into another incident since.
    pub merged: i64,
}

/// A set of durations in seconds; the figures are null when there are none.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Durations {
    pub count: i64,
    pub mean_seconds: Option<f64>,
    pub median_seconds: Option<f64>,
    pub max_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DayCount {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub incidents: i64,
    /// The median time to detect of the day's incidents (as `mttd` counts it); null when none
    /// has an alert time.
    pub mttd_median_seconds: Option<f64>,
    /// The median time to resolve of the day's incidents resolved since (as `mttr` counts it);
    /// null when none is.
    pub mttr_median_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GroupCount {
    pub name: String,
    pub incidents: i64,
}

/// The root-cause analyses requested in the range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RcaFigures {
    pub runs: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Requested, queued or running now.
    pub in_progress: i64,
    /// From start to end, of the runs that ended by themselves (completed or failed).
    pub duration: Durations,
    /// How the completed runs concluded.
    pub conclusions: Conclusions,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Conclusions {
    pub confirmed: i64,
    pub likely: i64,
    pub inconclusive: i64,
}

#[derive(sqlx::FromRow)]
struct RunCounts {
    runs: i64,
    completed: i64,
    failed: i64,
    cancelled: i64,
    in_progress: i64,
}

/// The incidents of the range, as a `FROM … WHERE` every incident figure shares.
const INCIDENTS: &str =
    "FROM incidents WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3";
/// The runs of the range.
const RUNS: &str =
    "FROM investigations WHERE tenant_id = $1 AND requested_at >= $2 AND requested_at < $3";

/// Every figure of `[from, to)` for `tenant`.
pub async fn metrics_summary(
    conn: &mut PgConnection,
    tenant: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MetricsSummary, sqlx::Error> {
    let incidents: IncidentCounts = sqlx::query_as(&format!(
        "SELECT count(*) FILTER (WHERE status <> 'merged') AS opened,
                count(*) FILTER (WHERE status = 'resolved') AS resolved,
                count(*) FILTER (WHERE status = 'merged') AS merged
         {INCIDENTS}"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    // A source's clock may run ahead of ours: a negative detection time is no detection time.
    let mttd = durations(
        conn,
        &format!(
            "SELECT greatest(0, extract(epoch FROM started_at - alert_fired_at))::float8 AS seconds
             {INCIDENTS} AND status <> 'merged' AND alert_fired_at IS NOT NULL"
        ),
        tenant,
        from,
        to,
    )
    .await?;
    let mttr = durations(
        conn,
        &format!(
            "SELECT extract(epoch FROM resolved_at - started_at)::float8 AS seconds
             {INCIDENTS} AND status = 'resolved' AND resolved_at IS NOT NULL"
        ),
        tenant,
        from,
        to,
    )
    .await?;
    // The same durations as `mttd` and `mttr` above, per day: one pass over the range's rows.
    let per_day = sqlx::query_as(&format!(
        "SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS incidents,
                percentile_cont(0.5) WITHIN GROUP
                  (ORDER BY greatest(0, extract(epoch FROM started_at - alert_fired_at))::float8)
                  FILTER (WHERE alert_fired_at IS NOT NULL) AS mttd_median_seconds,
                percentile_cont(0.5) WITHIN GROUP
                  (ORDER BY extract(epoch FROM resolved_at - started_at)::float8)
                  FILTER (WHERE status = 'resolved' AND resolved_at IS NOT NULL)
                  AS mttr_median_seconds
         {INCIDENTS} AND status <> 'merged' GROUP BY day ORDER BY day"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let per_source = groups(conn, "source", tenant, from, to).await?;
    let per_service = groups(conn, "service", tenant, from, to).await?;
    let runs: RunCounts = sqlx::query_as(&format!(
        "SELECT count(*) AS runs,
                count(*) FILTER (WHERE status = 'completed') AS completed,
                count(*) FILTER (WHERE status = 'failed') AS failed,
                count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                count(*) FILTER (WHERE status IN ('requested', 'queued', 'running')) AS in_progress
         {RUNS}"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    let duration = durations(
        conn,
        &format!(
            "SELECT extract(epoch FROM ended_at - started_at)::float8 AS seconds
             {RUNS} AND status IN ('completed', 'failed')
               AND started_at IS NOT NULL AND ended_at IS NOT NULL"
        ),
        tenant,
        from,
        to,
    )
    .await?;
    let conclusions = sqlx::query_as(&format!(
        "SELECT count(*) FILTER (WHERE conclusion = 'confirmed') AS confirmed,
                count(*) FILTER (WHERE conclusion = 'likely') AS likely,
                count(*) FILTER (WHERE conclusion = 'inconclusive') AS inconclusive
         {RUNS} AND status = 'completed'"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await?;
    Ok(MetricsSummary {
        from,
        to,
        incidents,
        mttd,
        mttr,
        per_day,
        per_source,
        per_service,
        rca: RcaFigures {
            runs: runs.runs,
            completed: runs.completed,
            failed: runs.failed,
            cancelled: runs.cancelled,
            in_progress: runs.in_progress,
            duration,
            conclusions,
        },
    })
}

/// Count, mean, median and maximum of the `seconds` column `select` yields (bound to tenant,
/// from and to as `$1`, `$2`, `$3`).
async fn durations(
    conn: &mut PgConnection,
    select: &str,
    tenant: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Durations, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT count(seconds) AS count, avg(seconds) AS mean_seconds,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_seconds,
                max(seconds) AS max_seconds
         FROM ({select}) AS figures"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_one(&mut *conn)
    .await
}

/// Incidents of the range per value of `column` (`source` or `service`), most first.
async fn groups(
    conn: &mut PgConnection,
    column: &'static str,
    tenant: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<GroupCount>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {column} AS name, count(*) AS incidents
         {INCIDENTS} AND status <> 'merged' GROUP BY {column} ORDER BY incidents DESC, name"
    ))
    .bind(tenant)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await
}
