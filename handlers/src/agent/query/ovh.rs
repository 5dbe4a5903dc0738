//! OVHcloud: `ovh_api_get`, one GET of the OVHcloud API (behind `FEATURE_FLAG_OVH_ENABLED`).
//!
//! Signed as OVHcloud documents it for an application key, secret and consumer key: headers
//! `X-Ovh-Application`, `X-Ovh-Consumer`, `X-Ovh-Timestamp` (the API's own time, from `GET
//! /auth/time`) and `X-Ovh-Signature` = `"$1$" + sha1_hex(secret+consumer+METHOD+url+body+timestamp)`.

use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use super::http::ProviderHttp;
use super::tool::{parameters, Definition};
use super::{Provider, QueryError};
use crate::agent::tool_args::Args;

pub const GET: &str = "ovh_api_get";

/// A connected OVHcloud account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvhAccount {
    /// The region's API root with its version, e.g. `https://eu.api.ovh.com/1.0` (or
    /// `AURORA_OVH_BASE_URL`).
    pub api_url: String,
    pub application_key: String,
    pub application_secret: String,
    pub consumer_key: String,
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
        let root = account.api_url.trim_end_matches('/');
        let url = format!("{root}{}", self.path);
        let time = http
            .json(
                Provider::Ovh,
                http.client().get(format!("{root}/auth/time")),
            )
            .await?;
        let timestamp = time.as_i64().ok_or_else(|| QueryError::Unreadable {
            provider: Provider::Ovh,
            detail: "/auth/time is not a number".into(),
        })?;
        let signed = signature(
            &account.application_secret,
            &account.consumer_key,
            "GET",
            &url,
            "",
            timestamp,
        );
        let request = http
            .client()
            .get(&url)
            .header("X-Ovh-Application", &account.application_key)
            .header("X-Ovh-Consumer", &account.consumer_key)
            .header("X-Ovh-Timestamp", timestamp.to_string())
            .header("X-Ovh-Signature", signed);
        let answer = http.json(Provider::Ovh, request).await?;
        Ok(json!({"path": self.path, "result": answer}))
    }
}

/// OVHcloud's request signature.
pub fn signature(
    application_secret: &str,
    consumer_key: &str,
    method: &str,
    url: &str,
    body: &str,
    timestamp: i64,
) -> String {
    let signed = format!("{application_secret}+{consumer_key}+{method}+{url}+{body}+{timestamp}");
    format!("$1${}", hex::encode(Sha1::digest(signed.as_bytes())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_signature_is_sha1_of_the_documented_string() {
        // sha1("AS+CK+GET+https://eu.api.ovh.com/1.0/me++1700000000"), computed with Python's hashlib.
        assert_eq!(
            signature(
                "AS",
                "CK",
                "GET",
                "https://eu.api.ovh.com/1.0/me",
                "",
                1_700_000_000
            ),
            "$1$2bb81c13bcb1eea93ff50b12bd571dc7699f3913"
        );
    }

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
