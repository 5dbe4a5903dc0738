//! What sources share: checking secrets and signatures in constant time, reading JSON with
//! errors that say where, severity names.

use aurora_domain::Severity;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;

use super::{Auth, Delivery, SecretOrigin, Setup, Source};

/// `X-Aurora-Signature: sha256=<hex hmac-sha256 of the body>`, keyed with the secret Aurora
/// generated: for tools with no signature scheme of their own that can compute one (a CI job's
/// notification step, a script).
pub const AURORA_SIGNATURE: Auth = Auth::HmacSha256 {
    header: "x-aurora-signature",
    prefix: "sha256=",
};

/// Why a delivery was refused at the door.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Missing or wrong proof: 401.
    #[error("{0}")]
    Unauthorized(String),
    /// Not what this source sends: 400.
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The proof cannot be checked now (a signing certificate could not be fetched): 503, the
    /// source retries.
    #[error("{0}")]
    Unavailable(String),
}

impl Refusal {
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
}

/// `a == b` in time that depends only on the lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn verify(auth: Auth, delivery: &Delivery<'_>, secret: &[u8]) -> Result<(), Refusal> {
    match auth {
        Auth::Secret { header, prefix } => {
            let given = delivery
                .header(header)
                .ok_or_else(|| Refusal::Unauthorized(format!("the {header} header is missing")))?;
            let given = given.strip_prefix(prefix).ok_or_else(|| {
                Refusal::Unauthorized(format!("the {header} header must be \"{prefix}<secret>\""))
            })?;
            if constant_time_eq(given.trim().as_bytes(), secret) {
                Ok(())
            } else {
                Err(Refusal::Unauthorized(format!(
                    "the secret in {header} is wrong"
                )))
            }
        }
        Auth::HmacSha256 { header, prefix } => {
            let given = delivery.header(header).ok_or_else(|| {
                Refusal::Unauthorized(format!("the {header} signature header is missing"))
            })?;
            verify_hmac(header, given, prefix, delivery.body, secret)
        }
        Auth::SnsSignature => Err(Refusal::Unauthorized(
            "SNS deliveries are checked asynchronously, by their message signature".into(),
        )),
        Auth::Svix => Err(Refusal::Unauthorized(
            "Svix-signed deliveries are checked by their source's own verification".into(),
        )),
    }
}

/// Checks `<prefix><hex hmac-sha256(body)>`; a header may carry several comma-separated
/// signatures (PagerDuty does, during a secret rotation): any one matching is enough.
pub fn verify_hmac(
    header: &str,
    given: &str,
    prefix: &str,
    body: &[u8],
    secret: &[u8],
) -> Result<(), Refusal> {
    let mut saw_one = false;
    for candidate in given.split(',').map(str::trim) {
        let Some(hex_sig) = candidate.strip_prefix(prefix) else {
            continue;
        };
        saw_one = true;
        let Ok(signature) = hex::decode(hex_sig) else {
            continue;
        };
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
            continue;
        };
        mac.update(body);
        if mac.verify_slice(&signature).is_ok() {
            return Ok(());
        }
    }
    Err(Refusal::Unauthorized(if saw_one {
        format!("the {header} signature does not match the body")
    } else {
        format!("the {header} header must be \"{prefix}<hex signature>\"")
    }))
}

/// Parses a JSON body, saying where it is wrong.
pub fn json<T: DeserializeOwned>(source: &str, body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_data() {
            "invalid_payload"
        } else {
            "invalid_json"
        };
        Refusal::bad(code, format!("not a {source} webhook payload: {e}"))
    })
}

/// Maps a tool's severity or priority name onto Aurora's five levels.
pub fn severity_from(text: &str) -> Severity {
    match text.trim().to_ascii_lowercase().as_str() {
        "critical" | "crit" | "fatal" | "emergency" | "disaster" | "p1" | "sev1" | "sev-1"
        | "sev0" | "page" => Severity::Critical,
        "high" | "error" | "err" | "major" | "p2" | "sev2" | "sev-2" | "alert" => Severity::High,
        "warning" | "warn" | "medium" | "moderate" | "average" | "p3" | "sev3" | "sev-3" => {
            Severity::Medium
        }
        "low" | "minor" | "p4" | "p5" | "sev4" | "sev-4" | "sev5" => Severity::Low,
        "info" | "informational" | "information" | "notice" | "debug" | "ok" | "none" => {
            Severity::Info
        }
        _ => Severity::Medium,
    }
}

pub fn setup<S: Source + ?Sized>(source: &S, url: &str, secret: Option<&str>) -> Setup {
    let shown = secret.unwrap_or("<the secret shown when the integration was created>");
    let (header, header_value, how) = match source.auth() {
        Auth::Secret { header, prefix } => (
            Some(header.to_owned()),
            Some(format!("{prefix}{shown}")),
            format!("Add the header {header}: {prefix}<secret> to every request."),
        ),
        Auth::HmacSha256 { header, .. } => (
            None,
            None,
            match source.secret_origin() {
                SecretOrigin::Source => format!(
                    "{} signs every delivery ({header}); give Aurora the signing secret it shows you (PATCH with \"secret\" to change it).",
                    source.title()
                ),
                SecretOrigin::Aurora => format!(
                    "Set the webhook secret to the one Aurora generated; {} signs every delivery with it ({header}).",
                    source.title()
                ),
            },
        ),
        Auth::Svix => (
            None,
            None,
            format!(
                "{} signs every delivery itself (Svix: webhook-id, webhook-timestamp, webhook-signature); give Aurora the endpoint's signing secret (whsec_…) it shows you (PATCH with \"secret\" to change it).",
                source.title()
            ),
        ),
        Auth::SnsSignature => (
            None,
            None,
            "Amazon SNS signs every message itself; Aurora checks the signature, confirms the subscription and accepts only that topic from then on. The generated secret is not used.".to_owned(),
        ),
    };
    Setup {
        url: url.to_owned(),
        method: "POST",
        header,
        header_value,
        steps: vec![
            format!("In {}: {}.", source.title(), source.where_to_configure()),
            format!("Set the URL to {url} (method POST, JSON body)."),
            how,
        ],
    }
}

/// Building deliveries in source tests.
#[cfg(test)]
pub mod tests_support {
    use super::Delivery;
    use chrono::{TimeZone, Utc};

    pub fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                http::HeaderValue::from_str(v).expect("header value"),
            );
        }
        map
    }

    pub fn delivery<'a>(headers: &'a http::HeaderMap, body: &'a str) -> Delivery<'a> {
        Delivery {
            headers,
            body: body.as_bytes(),
            received_at: Utc
                .with_ymd_and_hms(2026, 11, 23, 10, 0, 30)
                .single()
                .expect("time"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_map_onto_five_levels() {
        assert_eq!(severity_from("CRITICAL"), Severity::Critical);
        assert_eq!(severity_from("P2"), Severity::High);
        assert_eq!(severity_from("warning"), Severity::Medium);
        assert_eq!(severity_from("P5"), Severity::Low);
        assert_eq!(severity_from("info"), Severity::Info);
        assert_eq!(severity_from("whatever"), Severity::Medium);
    }

    #[test]
    fn an_hmac_matches_only_its_body_and_secret() {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"k").expect("key");
        mac.update(b"body");
        let sig = hex::encode(mac.finalize().into_bytes());
        assert!(verify_hmac("X-Sig", &format!("sha256={sig}"), "sha256=", b"body", b"k").is_ok());
        assert!(verify_hmac("X-Sig", &format!("v1=00, v1={sig}"), "v1=", b"body", b"k").is_ok());
        assert!(verify_hmac("X-Sig", &format!("sha256={sig}"), "sha256=", b"bodY", b"k").is_err());
        assert!(verify_hmac("X-Sig", &format!("sha256={sig}"), "sha256=", b"body", b"K").is_err());
        assert!(verify_hmac("X-Sig", &sig, "sha256=", b"body", b"k").is_err());
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
