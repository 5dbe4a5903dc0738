//! Webhook sources: for each tool that sends Aurora webhooks, how a delivery proves it is genuine
//! ([`Source::verify`]), and what it means ([`Source::parse`] → [`Signal`]s).
//!
//! The gateway runs both before it answers (a forged delivery is 401, a malformed one 400, and
//! nothing is stored for either); the ingest handler parses the stored raw delivery again to act
//! on it. Parsing is pure, so both see the same signals.
//!
//! Adding a source is one module here plus one line in [`SOURCES`] (see the README).

mod common;
mod datadog;
mod github;
mod grafana;
mod newrelic;
mod opsgenie;
mod pagerduty;
mod sentry;

use aurora_domain::intake::Signal;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use common::{severity_from, Refusal};

/// Every source Aurora accepts webhooks from.
pub static SOURCES: &[&dyn Source] = &[
    &grafana::Grafana,
    &pagerduty::PagerDuty,
    &datadog::Datadog,
    &sentry::Sentry,
    &newrelic::NewRelic,
    &opsgenie::OpsGenie,
    &github::GitHub,
];

/// The source called `name` (as in `/webhooks/<name>/…`).
pub fn source(name: &str) -> Option<&'static dyn Source> {
    SOURCES.iter().copied().find(|s| s.name() == name)
}

/// One delivery as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
    pub received_at: DateTime<Utc>,
}

impl Delivery<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a delivery means.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The source's own id of this delivery, when it sends one (JetStream deduplicates on it;
    /// otherwise on a hash of the body).
    pub delivery_id: Option<String>,
    pub signals: Vec<Signal>,
}

/// How a source proves a delivery came from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Auth {
    /// The secret itself in a header: `<header>: <prefix><secret>`.
    Secret {
        header: &'static str,
        prefix: &'static str,
    },
    /// HMAC-SHA256 of the raw body with the secret, hex, in `<header>: <prefix><hex>`.
    HmacSha256 {
        header: &'static str,
        prefix: &'static str,
    },
}

/// Who makes the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretOrigin {
    /// Aurora generates it and shows it once; the user pastes it into the source.
    Aurora,
    /// The source generates it; the user gives it to Aurora when creating the integration.
    Source,
}

/// What the user must do in the source tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setup {
    pub url: String,
    pub method: &'static str,
    /// Header to configure in the source, with its value (`None` when the source signs itself).
    pub header: Option<String>,
    pub header_value: Option<String>,
    pub steps: Vec<String>,
}

pub trait Source: Send + Sync + 'static {
    /// As in the URL and in events: `grafana`.
    fn name(&self) -> &'static str;
    /// As people write it: `Grafana`.
    fn title(&self) -> &'static str;
    fn auth(&self) -> Auth;
    fn secret_origin(&self) -> SecretOrigin {
        SecretOrigin::Aurora
    }
    /// Whether an incident opened by this source starts a root-cause analysis by default.
    fn rca_by_default(&self) -> bool;
    /// Request headers the parser needs, kept with the raw delivery.
    fn kept_headers(&self) -> &'static [&'static str] {
        &[]
    }
    /// Where, in the source tool, the webhook is configured.
    fn where_to_configure(&self) -> &'static str;

    /// Checks the delivery's proof against the integration's secret.
    fn verify(&self, delivery: &Delivery<'_>, secret: &[u8]) -> Result<(), Refusal> {
        common::verify(self.auth(), delivery, secret)
    }

    /// What the delivery says (400 when it is not what this source sends).
    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal>;

    /// Instructions for the user: where to paste what.
    fn setup(&self, url: &str, secret: Option<&str>) -> Setup {
        common::setup(self, url, secret)
    }
}
