//! The observability tools' cheapest authenticated reads, as their APIs document them.

use aurora_domain::connector::ConnectorSettings;

use super::Call;
use crate::connectors::{ConnectError, Credentials};

pub(super) async fn probe(
    call: &Call<'_>,
    settings: &ConnectorSettings,
    credentials: &Credentials,
) -> Result<(), ConnectError> {
    match (settings, credentials) {
        // GET /api/v1/validate: {"valid": true} for a good API key.
        (
            ConnectorSettings::Datadog { .. },
            Credentials::Datadog {
                api_key,
                application_key,
            },
        ) => {
            let answer = call
                .json(
                    "Datadog",
                    call.http
                        .get(call.url("/api/v1/validate"))
                        .header("DD-API-KEY", api_key)
                        .header("DD-APPLICATION-KEY", application_key),
                )
                .await?;
            expect(answer["valid"] == true, "Datadog", "the key is not valid")
        }
        // NerdGraph: the account's name; errors come back in `errors` with a 200.
        (ConnectorSettings::Newrelic { account_id, .. }, Credentials::Newrelic { api_key }) => {
            let query = format!("{{ actor {{ account(id: {account_id}) {{ id name }} }} }}");
            let answer = call
                .json(
                    "New Relic",
                    call.http
                        .post(call.url("/graphql"))
                        .header("API-Key", api_key)
                        .json(&serde_json::json!({ "query": query })),
                )
                .await?;
            if let Some(errors) = answer["errors"].as_array().filter(|e| !e.is_empty()) {
                let said = errors
                    .iter()
                    .filter_map(|e| e["message"].as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(ConnectError::Refused {
                    provider: "New Relic",
                    status: 200,
                    detail: call.excerpt(&said),
                });
            }
            expect(
                answer["data"]["actor"]["account"]["id"].as_u64() == Some(*account_id),
                "New Relic",
                "the key cannot read that account",
            )
        }
        // GET /services/server/info (JSON with output_mode=json).
        (ConnectorSettings::Splunk { .. }, Credentials::Splunk { token }) => call
            .json(
                "Splunk",
                call.http
                    .get(call.url("/services/server/info?output_mode=json"))
                    .bearer_auth(token),
            )
            .await
            .map(drop),
        // GET /api/0/organizations/{org}/
        (ConnectorSettings::Sentry { organization }, Credentials::Sentry { token }) => {
            let answer = call
                .json(
                    "Sentry",
                    call.http
                        .get(call.url(&format!("/api/0/organizations/{organization}/")))
                        .bearer_auth(token),
                )
                .await?;
            expect(
                answer["slug"] == organization.as_str(),
                "Sentry",
                "the answer is not that organization",
            )
        }
        // GET /api/org: the service account's organisation.
        (ConnectorSettings::Grafana { .. }, Credentials::Grafana { token }) => call
            .json(
                "Grafana",
                call.http.get(call.url("/api/org")).bearer_auth(token),
            )
            .await
            .map(drop),
        // GET /: the cluster's name and version.
        (ConnectorSettings::Elasticsearch { .. }, Credentials::Elasticsearch { api_key }) => {
            let answer = call
                .json(
                    "Elasticsearch",
                    call.http
                        .get(call.url("/"))
                        .header("Authorization", format!("ApiKey {api_key}")),
                )
                .await?;
            expect(
                answer["version"]["number"].is_string(),
                "Elasticsearch",
                "the answer is not a cluster's",
            )
        }
        (settings, credentials) => Err(ConnectError::Malformed(format!(
            "{:?} credentials do not go with {} settings",
            credentials.kind(),
            settings.kind()
        ))),
    }
}

pub(super) fn expect(ok: bool, provider: &'static str, reason: &str) -> Result<(), ConnectError> {
    if ok {
        Ok(())
    } else {
        Err(ConnectError::Unexpected {
            provider,
            reason: reason.to_owned(),
        })
    }
}
