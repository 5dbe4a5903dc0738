//! OVHcloud: `ovh_api_get`, one GET of the OVHcloud API (behind `FEATURE_FLAG_OVH_ENABLED`),
//! with an OAuth 2.0 access token of the account's service account (client-credentials grant
//! at the region's token endpoint, scope `all`) as `Authorization: Bearer`.

use serde_json::{json, Value};

use super::definition::{parameters, Definition};
use super::http::ProviderHttp;
use super::QueryError;
use crate::agent::tool_args::Args;
use aurora_domain::connector::ConnectorKind;

pub const GET: &str = "ovh_api_get";

/// A connected OVHcloud account. No `Debug`: it holds the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct OvhAccount {
    /// The region's API origin (`https://eu.api.ovh.com`, or `AURORA_OVH_BASE_URL`).
    pub api_url: String,
    /// The region's OAuth 2.0 token endpoint.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
}

/// `ovh_api_get`: one path of the API, read.
#[derive(Debug, Clone, PartialEq)]
pub struct GetQuery {
    pub path: String,
}

pub fn definition() -> Definition {
    Definition {
        name: GET,
        description: "Read one OVHcloud API path with GET (read-only), e.g. `/cloud/project` or `/cloud/project/{serviceName}/instance`.",
        parameters: parameters(
            json!({"path": {"type": "string", "description": "the API path after /1.0, starting with /; a query string is allowed"}}),
            false,
            &["path"],
        ),
    }
}

impl GetQuery {
    pub fn from_args(args: &Args<'_>) -> Result<Self, String> {
        let path = args.required("path")?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || "/-_.~?=&%:,".contains(c);
        if !path.starts_with('/')
            || path.contains("..")
            || path.contains("//")
            || !path.chars().all(allowed)
        {
            return Err(format!(
                "`path` {path:?} is not an API path (it starts with / and holds no `..`, `//` or spaces)"
            ));
        }
        Ok(Self { path })
    }

    pub async fn run(
        &self,
        http: &ProviderHttp,
        account: &OvhAccount,
    ) -> Result<Value, QueryError> {
        let token = http
            .json(
                ConnectorKind::Ovh,
                http.client().post(&account.token_url).form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", account.client_id.as_str()),
                    ("client_secret", account.client_secret.as_str()),
                    ("scope", "all"),
                ]),
            )
            .await?;
        let token = token["access_token"]
            .as_str()
            .ok_or_else(|| QueryError::Unreadable {
                provider: ConnectorKind::Ovh,
                detail: "the token endpoint gave no access_token".into(),
            })?;
        let url = format!("{}/1.0{}", account.api_url.trim_end_matches('/'), self.path);
        let request = http.client().get(url).bearer_auth(token);
        let answer = http.json(ConnectorKind::Ovh, request).await?;
        Ok(json!({"path": self.path, "result": answer}))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_api_paths_are_read() {
        let get = |path: &str| {
            GetQuery::from_args(&Args::parse(GET, &json!({"path": path}).to_string()).unwrap())
        };
        assert_eq!(get("/cloud/project").unwrap().path, "/cloud/project");
        assert!(get("/me/bill?date.from=2026-01-01").is_ok());
        for bad in [
            "cloud/project",
            "/../auth",
            "/me bill",
            "//evil.example.com/x",
            "/x#y",
        ] {
            assert!(get(bad).is_err(), "{bad}");
        }
    }
}
