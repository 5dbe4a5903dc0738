//! Webhook sources: for each tool that sends Aurora webhooks, how a delivery proves it is genuine
//! ([`Source::authenticate`], for most sources [`Source::verify`]), and what it means
//! ([`Source::parse`] → [`Signal`]s).
//!
//! The gateway runs both before it answers (a forged delivery is 401, a malformed one 400, and
//! nothing is stored for either); the ingest handler parses the stored raw delivery again to act
//! on it. Parsing is pure, so both see the same signals.
//!
//! Adding a source is one module here plus one line in [`SOURCES`] (see the README).

mod bigpanda;
mod bitbucket;
mod cloudbees;
mod cloudwatch;
mod common;
mod datadog;
mod dynatrace;
mod github;
mod grafana;
mod incidentio;
mod jenkins;
mod jira;
mod netdata;
mod newrelic;
mod opsgenie;
mod pagerduty;
mod sentry;
mod sns;
mod spinnaker;
mod splunk;

use std::sync::Arc;

use aurora_domain::intake::Signal;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use common::{severity_from, Refusal, AURORA_SIGNATURE};
pub use sns::{CertCache, CertificateError, SnsOrigins};

/// Every source Aurora accepts webhooks from.
pub static SOURCES: &[&dyn Source] = &[
    &grafana::Grafana,
    &pagerduty::PagerDuty,
    &datadog::Datadog,
    &sentry::Sentry,
    &newrelic::NewRelic,
    &opsgenie::OpsGenie,
    &github::GitHub,
    &cloudwatch::CloudWatch,
    &netdata::Netdata,
    &splunk::Splunk,
    &incidentio::IncidentIo,
    &dynatrace::Dynatrace,
    &bigpanda::BigPanda,
    &jenkins::JENKINS,
    &cloudbees::CLOUDBEES,
    &spinnaker::Spinnaker,
    &jira::Jira,
    &bitbucket::Bitbucket,
];

/// The source called `name` (as in `/webhooks/<name>/…`).
pub fn source(name: &str) -> Option<&'static dyn Source> {
    SOURCES
        .iter()
        .copied()
        .find(|s| s.descriptor().name == name)
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

    /// A header's value, trimmed, when it has one (absent, empty and blank are all `None`).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.header(name).map(str::trim).filter(|v| !v.is_empty())
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

impl Parsed {
    /// What most deliveries mean: one signal, under the source's delivery id (`None` when the
    /// source sends none, or this delivery came without one).
    pub fn one(delivery_id: Option<String>, signal: Signal) -> Self {
        Self {
            delivery_id,
            signals: vec![signal],
        }
    }
}

/// How a source proves a delivery came from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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
        /// Whether the bare `<hex>` is accepted too (upstream Aurora's CI snippets send that).
        bare_hex_too: bool,
    },
    /// Amazon SNS signs every message with a certificate of its own (fetched from an allowed
    /// origin); the subscription's topic is pinned on first use. No secret is involved.
    SnsSignature,
    /// Svix (incident.io): `webhook-signature: v1,<base64 hmac-sha256>` of
    /// `<webhook-id>.<webhook-timestamp>.<body>`, keyed with the source's `whsec_…` secret, the
    /// timestamp within five minutes. The source checks it in its own [`Source::verify`].
    Svix,
}

impl Auth {
    /// A source's own signature: HMAC-SHA256 of the body, hex, always behind `prefix`.
    pub const fn hmac_sha256(header: &'static str, prefix: &'static str) -> Self {
        Self::HmacSha256 {
            header,
            prefix,
            bare_hex_too: false,
        }
    }
}

/// Who makes the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretOrigin {
    /// Aurora generates it and shows it once; the user pastes it into the source.
    Aurora,
    /// The source generates it; the user gives it to Aurora when creating the integration.
    Source,
}

/// What the user must do in the source tool.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Setup {
    pub url: String,
    pub method: &'static str,
    /// Header to configure in the source, with its value (`None` when the source signs itself).
    pub header: Option<String>,
    pub header_value: Option<String>,
    pub steps: Vec<String>,
}

/// What [`Source::authenticate`] may need besides the secret: SNS fetches its signing
/// certificates (from trusted origins only, cached) and checks the integration's pinned topic.
/// Cheap to clone: the client, the cache and the origins are shared.
#[derive(Clone)]
pub struct VerifyContext {
    pub http: reqwest::Client,
    pub certs: Arc<CertCache>,
    pub origins: Arc<SnsOrigins>,
    /// The topic the integration is pinned to (SNS), `None` until a subscription is confirmed.
    pub pinned_topic: Option<String>,
}

impl VerifyContext {
    /// A context trusting `origins` (besides Amazon SNS itself), with a fresh certificate cache.
    pub fn new(origins: SnsOrigins) -> Self {
        Self {
            http: sns::http_client(),
            certs: Arc::new(CertCache::default()),
            origins: Arc::new(origins),
            pinned_topic: None,
        }
    }

    /// The same client, cache and origins, for an integration pinned to `topic`.
    pub fn with_pinned_topic(&self, topic: Option<String>) -> Self {
        Self {
            pinned_topic: topic,
            ..self.clone()
        }
    }
}

/// A subscription a delivery asks to be confirmed (SNS `SubscriptionConfirmation`): the ingest
/// handler fetches `url` (it must be on the trusted origins) and pins `topic` on the integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub topic: String,
    pub url: String,
}

/// What a source is, as constants: one `const` of these per source, read by the intake, the
/// integrations API and the setup instructions. Behaviour lives in [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceDescriptor {
    /// As in the URL and in events: `grafana`.
    pub name: &'static str,
    /// As people write it: `Grafana`.
    pub title: &'static str,
    pub auth: Auth,
    pub secret_origin: SecretOrigin,
    /// Whether an incident opened by this source starts a root-cause analysis by default.
    pub rca_by_default: bool,
    /// Request headers the parser needs, kept with the raw delivery.
    pub kept_headers: &'static [&'static str],
    /// Where, in the source tool, the webhook is configured.
    pub where_to_configure: &'static str,
}

impl SourceDescriptor {
    /// A source that answers the rest as most do: Aurora makes the secret, an incident it opens
    /// starts a root-cause analysis, and its parser needs no request header. A source that
    /// answers otherwise states only that, over this:
    /// `SourceDescriptor { rca_by_default: false, ..SourceDescriptor::new(…) }`.
    pub const fn new(
        name: &'static str,
        title: &'static str,
        auth: Auth,
        where_to_configure: &'static str,
    ) -> Self {
        Self {
            name,
            title,
            auth,
            secret_origin: SecretOrigin::Aurora,
            rca_by_default: true,
            kept_headers: &[],
            where_to_configure,
        }
    }
}

#[async_trait::async_trait]
pub trait Source: Send + Sync + 'static {
    /// The source's constants.
    fn descriptor(&self) -> &'static SourceDescriptor;

    /// Checks the delivery's proof against the integration's secret.
    fn verify(&self, delivery: &Delivery<'_>, secret: &[u8]) -> Result<(), Refusal> {
        common::verify(self.descriptor().auth, delivery, secret)
    }

    /// What the intake runs: [`Source::verify`], unless the proof needs more than the secret
    /// (SNS: a certificate to fetch, a pinned topic).
    async fn authenticate(
        &self,
        delivery: &Delivery<'_>,
        secret: &[u8],
        _ctx: &VerifyContext,
    ) -> Result<(), Refusal> {
        self.verify(delivery, secret)
    }

    /// The subscription this delivery asks to confirm, if it is such a request.
    fn confirmation(&self, _delivery: &Delivery<'_>) -> Option<Confirmation> {
        None
    }

    /// What the delivery says (400 when it is not what this source sends).
    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal>;

    /// Instructions for the user: where to paste what.
    fn setup(&self, url: &str, secret: Option<&str>) -> Setup {
        common::setup(self.descriptor(), url, secret)
    }
}

#[cfg(test)]
mod tests;
