//! Svix's signature, as incident.io sends it: `webhook-signature: v1,<base64 hmac-sha256>` of
//! `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 part of `whsec_<base64>`,
//! and the timestamp within five minutes of the delivery's arrival.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::sources::common::constant_time_eq;
use crate::sources::{Delivery, Refusal};

pub(super) const ID_HEADER: &str = "webhook-id";

pub(super) const TIMESTAMP_HEADER: &str = "webhook-timestamp";

pub(super) const SIGNATURE_HEADER: &str = "webhook-signature";

const SECRET_PREFIX: &str = "whsec_";

/// How far the signed timestamp may be from the delivery's arrival, either way.
const TOLERANCE_SECONDS: i64 = 5 * 60;

fn unauthorized(message: impl Into<String>) -> Refusal {
    Refusal::Unauthorized(message.into())
}

/// The HMAC key: the base64 after `whsec_` (Svix's own libraries accept it without the prefix).
fn signing_key(secret: &[u8]) -> Result<Vec<u8>, Refusal> {
    let bad = || {
        unauthorized(
            "the integration's secret is not an incident.io signing secret (\"whsec_<base64>\"); update it with the one the webhook endpoint shows",
        )
    };
    let text = std::str::from_utf8(secret).map_err(|_| bad())?.trim();
    let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .filter(|key| !key.is_empty())
        .ok_or_else(bad)
}

/// Svix's check: the timestamp within the tolerance, then any `v1` signature matching.
pub(super) fn verify_svix(delivery: &Delivery<'_>, secret: &[u8]) -> Result<(), Refusal> {
    let header = |name: &str| {
        delivery
            .value(name)
            .ok_or_else(|| unauthorized(format!("the {name} header is missing")))
    };
    let id = header(ID_HEADER)?;
    let timestamp = header(TIMESTAMP_HEADER)?;
    let signatures = header(SIGNATURE_HEADER)?;
    let sent: i64 = timestamp.parse().map_err(|_| {
        unauthorized(format!(
            "the {TIMESTAMP_HEADER} header must be unix seconds, not {timestamp:?}"
        ))
    })?;
    let skew = delivery.received_at.timestamp().saturating_sub(sent);
    if skew.saturating_abs() > TOLERANCE_SECONDS {
        return Err(unauthorized(format!(
            "the {TIMESTAMP_HEADER} is {}s {} the delivery's arrival: outside the 5-minute tolerance (a replayed delivery, or a clock far off)",
            skew.saturating_abs(),
            if skew > 0 { "before" } else { "after" }
        )));
    }
    let key = signing_key(secret)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .map_err(|_| unauthorized("the signing secret cannot key an HMAC"))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(delivery.body);
    let expected = mac.finalize().into_bytes();
    let mut saw_v1 = false;
    for candidate in signatures.split_whitespace() {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            continue;
        };
        saw_v1 = true;
        let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            continue;
        };
        if constant_time_eq(&signature, &expected) {
            return Ok(());
        }
    }
    Err(unauthorized(if saw_v1 {
        format!("the {SIGNATURE_HEADER} does not match the delivery (id, timestamp and body)")
    } else {
        format!("the {SIGNATURE_HEADER} header must be \"v1,<base64 signature>\"")
    }))
}
