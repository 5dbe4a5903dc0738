//! Tailscale: `tailscale_devices`, the tailnet's devices (`GET
//! /api/v2/tailnet/{tailnet}/devices`, the API key as `Authorization: Bearer`).

use serde_json::{json, Value};

use super::definition::{parameters, Definition};
use super::http::ProviderHttp;
use super::QueryError;
use aurora_domain::connector::ConnectorKind;

pub const DEVICES: &str = "tailscale_devices";

/// A connected tailnet.
/// No `Debug`: it holds the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TailscaleAccount {
    /// `https://api.tailscale.com` or `AURORA_TAILSCALE_BASE_URL`.
    pub api_url: String,
    /// The tailnet's name, or `-` for the key's own.
    pub tailnet: String,
    pub api_key: String,
}

pub fn definition() -> Definition {
    Definition {
        name: DEVICES,
        description: "List the devices of the Tailscale tailnet (read-only): names, addresses, OS, last seen, whether connected.",
        parameters: parameters(json!({}), false, &[]),
    }
}

pub async fn devices(http: &ProviderHttp, account: &TailscaleAccount) -> Result<Value, QueryError> {
    let mut url = reqwest::Url::parse(&account.api_url).map_err(|e| QueryError::Unreachable {
        provider: ConnectorKind::Tailscale,
        reason: format!("its URL does not parse: {e}"),
    })?;
    url.path_segments_mut()
        .map_err(|()| QueryError::Unreachable {
            provider: ConnectorKind::Tailscale,
            reason: "its URL cannot have a path".into(),
        })?
        .pop_if_empty()
        .extend(["api", "v2", "tailnet", &account.tailnet, "devices"]);
    let request = http.client().get(url).bearer_auth(&account.api_key);
    Ok(devices_of(
        &http.json(ConnectorKind::Tailscale, request).await?,
    ))
}

/// The devices of an answer, each cut to what an investigation reads.
pub fn devices_of(answer: &Value) -> Value {
    let devices: Vec<Value> = answer["devices"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|d| {
            json!({
                "name": d["name"], "hostname": d["hostname"], "addresses": d["addresses"],
                "os": d["os"], "client_version": d["clientVersion"], "last_seen": d["lastSeen"],
                "connected": d["connectedToControl"], "authorized": d["authorized"],
                "tags": d["tags"], "update_available": d["updateAvailable"],
            })
        })
        .collect();
    json!({"count": devices.len(), "devices": devices})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_keep_what_an_investigation_reads() {
        let answer = json!({"devices": [{"id": "1", "nodeId": "n1", "name": "db-1.tail1234.ts.net",
            "hostname": "db-1", "addresses": ["100.64.0.1"], "os": "linux", "clientVersion": "1.76.0",
            "lastSeen": "2026-12-04T09:59:00Z", "connectedToControl": false, "authorized": true,
            "tags": ["tag:db"], "updateAvailable": false, "machineKey": "mkey:abc"}]});
        let devices = devices_of(&answer);
        assert_eq!(devices["count"], 1);
        assert_eq!(devices["devices"][0]["hostname"], "db-1");
        assert_eq!(devices["devices"][0]["connected"], false);
        assert!(devices["devices"][0].get("machine_key").is_none());
    }
}
