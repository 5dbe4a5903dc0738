//! Connectors end to end: connecting every kind against fake providers, bad credentials and
//! settings, provider refusals, roles, GCP projects and GCP through OAuth, several accounts of
//! one kind, disconnecting, the audit log; the credentials each CLI is given, AWS sessions
//! reused and renewed, and no secret leaking anywhere.

mod aws_session;
mod azure;
mod cli;
mod connect;
mod env_only;
mod gcp_oauth;
mod leaks;
mod lifecycle;
mod several;

use aurora_tests::providers::FakeProviders;
use aurora_tests::{Account, Answer, TestApp};
use serde_json::Value;

/// An app whose providers are all the fake, and the fake.
pub(crate) async fn app_with_providers() -> (TestApp, FakeProviders) {
    let fake = FakeProviders::start().await;
    let app = TestApp::launch().connectors(fake.config()).spawn().await;
    (app, fake)
}

pub(crate) async fn connect(app: &TestApp, who: &Account, kind: &str, body: &Value) -> Answer {
    app.post_json(&format!("/api/connectors/{kind}"), Some(who), body)
        .await
}
