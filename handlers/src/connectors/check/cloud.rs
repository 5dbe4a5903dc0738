//! The clouds checked over HTTP with the tenant's own credential: Tailscale, Scaleway, Azure,
//! OVHcloud. `None` for the others.

use aurora_domain::connector::ConnectorSettings;

use super::observability::expect;
use super::Call;
use crate::connectors::{ConnectError, ConnectorConfig, Credentials};

pub(super) async fn probe(
    config: &ConnectorConfig,
    call: &Call<'_>,
    settings: &ConnectorSettings,
    credentials: &Credentials,
) -> Option<Result<(), ConnectError>> {
    Some(match (settings, credentials) {
        // GET /api/v2/tailnet/{tailnet}/devices
        (ConnectorSettings::Tailscale { tailnet }, Credentials::Tailscale { api_key }) => call
            .json(
                "Tailscale",
                call.http
                    .get(call.url(&format!("/api/v2/tailnet/{tailnet}/devices")))
                    .bearer_auth(api_key),
            )
            .await
            .and_then(|a| expect(a["devices"].is_array(), "Tailscale", "no device list")),
        // GET /account/v3/projects/{project_id}
        (ConnectorSettings::Scaleway { project_id, .. }, Credentials::Scaleway { secret_key }) => {
            call.json(
                "Scaleway",
                call.http
                    .get(call.url(&format!("/account/v3/projects/{project_id}")))
                    .header("X-Auth-Token", secret_key),
            )
            .await
            .and_then(|a| {
                expect(
                    a["id"] == project_id.as_str(),
                    "Scaleway",
                    "the answer is not that project",
                )
            })
        }
        // The client-credentials grant of Microsoft's identity platform.
        (
            ConnectorSettings::Azure {
                tenant_id,
                client_id,
                ..
            },
            Credentials::Azure { client_secret },
        ) => call
            .json(
                "Azure",
                call.http
                    .post(call.url(&format!("/{tenant_id}/oauth2/v2.0/token")))
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id),
                        ("client_secret", client_secret),
                        ("scope", "https://management.azure.com/.default"),
                    ]),
            )
            .await
            .and_then(|a| expect(a["access_token"].is_string(), "Azure", "no access token")),
        // OAuth 2.0 client credentials, then GET /1.0/me with the token.
        (
            ConnectorSettings::Ovh { region },
            Credentials::Ovh {
                client_id,
                client_secret,
            },
        ) => ovh(config, call, *region, client_id, client_secret).await,
        _ => return None,
    })
}

async fn ovh(
    config: &ConnectorConfig,
    call: &Call<'_>,
    region: aurora_domain::connector::OvhRegion,
    client_id: &str,
    client_secret: &str,
) -> Result<(), ConnectError> {
    let token = call
        .json(
            "OVHcloud",
            call.http.post(config.ovh_token_url(region)).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", client_secret),
                ("scope", "all"),
            ]),
        )
        .await?;
    let Some(token) = token["access_token"].as_str() else {
        return Err(ConnectError::Unexpected {
            provider: "OVHcloud",
            reason: "the token endpoint gave no access_token".into(),
        });
    };
    let mut secrets = call.secrets.to_vec();
    secrets.push(token.to_owned());
    let call = Call {
        secrets: &secrets,
        ..*call
    };
    call.json(
        "OVHcloud",
        call.http.get(call.url("/1.0/me")).bearer_auth(token),
    )
    .await
    .and_then(|me| {
        expect(
            me["nichandle"].is_string(),
            "OVHcloud",
            "no account in the answer",
        )
    })
}
