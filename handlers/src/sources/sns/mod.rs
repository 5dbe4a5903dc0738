//! Amazon SNS message trust, for sources delivered through SNS (CloudWatch): where signing
//! certificates may come from ([`SnsOrigins`]), fetching and caching them ([`CertCache`]), and
//! confirming a subscription on a trusted origin.

mod certificates;
mod origins;

use std::time::Duration;

pub use certificates::CertCache;
pub use origins::SnsOrigins;

use super::VerifyContext;

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

impl VerifyContext {
    /// Confirms an SNS subscription: one GET of its `SubscribeURL`, which must be on Amazon SNS
    /// or a trusted origin. Confirming twice is harmless.
    pub async fn confirm_subscription(&self, subscribe_url: &str) -> Result<(), String> {
        let url = self.origins.subscribe_url(subscribe_url)?;
        let origin = url.origin().ascii_serialization();
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("the subscription confirmation on {origin} failed: {e}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "{origin} answered the subscription confirmation with {status}"
            ))
        }
    }
}
