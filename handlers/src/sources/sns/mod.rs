//! Amazon SNS message trust, for sources delivered through SNS (CloudWatch): the message
//! ([`envelope`]), where signing certificates may come from ([`SnsOrigins`]), fetching and caching
//! them ([`CertCache`]), the signature and freshness ([`signature`]), topic pinning ([`topic`]),
//! and confirming a subscription on a trusted origin.

mod certificates;
mod envelope;
mod origins;
mod signature;
#[cfg(test)]
pub(crate) mod test_support;
mod topic;

use std::time::Duration;

pub use certificates::{CertCache, CertificateError};
pub(crate) use envelope::{Envelope, Kind};
pub use origins::SnsOrigins;

use super::{Delivery, Refusal, VerifyContext};

/// Whether `delivery` is a genuine SNS message for this integration: well formed, from its pinned
/// topic, fresh, confirming a subscription on a trusted origin only, and signed with a
/// certificate from a trusted origin.
pub(crate) async fn authenticate(
    delivery: &Delivery<'_>,
    ctx: &VerifyContext,
) -> Result<(), Refusal> {
    let (kind, m) =
        Envelope::read(delivery.body).map_err(|e| signature::unsigned(e.to_string()))?;
    topic::check_topic(kind, &m.topic_arn, ctx.pinned_topic.as_deref())?;
    signature::check_fresh(&m.timestamp, delivery.received_at)?;
    if kind == Kind::SubscriptionConfirmation {
        let url = m.subscribe_url.as_deref().unwrap_or_default();
        ctx.origins
            .subscribe_url(url)
            .map_err(Refusal::Unauthorized)?;
    }
    signature::verify(kind, &m, ctx).await
}

/// The HTTP client for SNS: short time limits, and no redirects (a redirect could leave the
/// trusted origins).
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent("aurora-sns")
        .build()
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "the SNS HTTP client cannot be configured; using defaults");
            reqwest::Client::new()
        })
}

/// Why an SNS subscription was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmationError {
    /// The `SubscribeURL` is not one Aurora may call.
    #[error("{0}")]
    Url(String),
    #[error("the subscription confirmation on {origin} failed: {source}")]
    Request {
        origin: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{origin} answered the subscription confirmation with {status}")]
    Refused {
        origin: String,
        status: reqwest::StatusCode,
    },
}

impl VerifyContext {
    /// Confirms an SNS subscription: one GET of its `SubscribeURL`, which must be on Amazon SNS
    /// or a trusted origin. Confirming twice is harmless.
    pub async fn confirm_subscription(&self, subscribe_url: &str) -> Result<(), ConfirmationError> {
        let url = self
            .origins
            .subscribe_url(subscribe_url)
            .map_err(ConfirmationError::Url)?;
        let origin = url.origin().ascii_serialization();
        let response = match self.http.get(url).send().await {
            Ok(response) => response,
            Err(source) => return Err(ConfirmationError::Request { origin, source }),
        };
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(ConfirmationError::Refused { origin, status })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sources::sns::test_support::*;

    #[tokio::test]
    async fn a_subscription_url_off_the_origins_is_refused_at_the_door() {
        let mut fields = confirmation_of("SubscriptionConfirmation");
        fields["SubscribeURL"] = "https://evil.example.com/?Action=ConfirmSubscription".into();
        refused_saying(check(&signed(fields, "2"), None).await, "SubscribeURL");
    }

    #[tokio::test]
    async fn malformed_bodies_are_refused_as_unsigned() {
        for body in ["not json", "{}", r#"{"Type":"Notification"}"#, "[]"] {
            refused_saying(check(body, Some(TOPIC)).await, "not a signed SNS message");
        }
        let mut fields = notification("{}");
        fields["Type"] = "Surprise".into();
        refused_saying(check(&fields.to_string(), Some(TOPIC)).await, "Surprise");
    }
}
