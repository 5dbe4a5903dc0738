//! What sources share: checking secrets and signatures in constant time, reading JSON with
//! errors that say where, severity names.

use std::collections::BTreeMap;

use aurora_domain::Severity;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;

use super::{Auth, Delivery, SecretOrigin, Setup, SourceDescriptor};

/// `X-Aurora-Signature: sha256=<hex hmac-sha256 of the body>`, keyed with the secret Aurora
/// generated: for tools with no signature scheme of their own that can compute one (a CI job's
/// notification step, a script). The bare `<hex>` is accepted too: upstream Aurora's Jenkins,
/// CloudBees, Spinnaker and BigPanda snippets send it so, and a setup moved over keeps working.
pub const AURORA_SIGNATURE: Auth = Auth::HmacSha256 {
    header: "x-aurora-signature",
    prefix: "sha256=",
    bare_hex_too: true,
};

/// `Authorization: Bearer <secret>`, the secret Aurora generated: for tools that can add a fixed
/// header but sign nothing.
pub const BEARER_SECRET: Auth = Auth::Secret {
    header: "authorization",
    prefix: "Bearer ",
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
        Auth::HmacSha256 {
            header,
            prefix,
            bare_hex_too,
        } => {
            let given = delivery.header(header).ok_or_else(|| {
                Refusal::Unauthorized(format!("the {header} signature header is missing"))
            })?;
            let prefix = if bare_hex_too {
                Prefix::Optional(prefix)
            } else {
                Prefix::Required(prefix)
            };
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

/// What stands before the hex of a signature.
#[derive(Debug, Clone, Copy)]
pub enum Prefix {
    /// `<prefix><hex>` only.
    Required(&'static str),
    /// `<prefix><hex>` or the bare `<hex>`.
    Optional(&'static str),
}

impl Prefix {
    /// The hex part of `candidate`, `None` when it does not have this shape.
    fn strip(self, candidate: &str) -> Option<&str> {
        match self {
            Self::Required(prefix) => candidate.strip_prefix(prefix),
            Self::Optional(prefix) => Some(candidate.strip_prefix(prefix).unwrap_or(candidate)),
        }
    }

    fn expected(self) -> String {
        match self {
            Self::Required(prefix) => format!("\"{prefix}<hex signature>\""),
            Self::Optional(prefix) => {
                format!("\"{prefix}<hex signature>\" or the bare \"<hex signature>\"")
            }
        }
    }
}

/// Checks `<prefix><hex hmac-sha256(body)>`; a header may carry several comma-separated
/// signatures (PagerDuty does, during a secret rotation): any one matching is enough. The
/// comparison is the MAC's own constant-time one.
pub fn verify_hmac(
    header: &str,
    given: &str,
    prefix: Prefix,
    body: &[u8],
    secret: &[u8],
) -> Result<(), Refusal> {
    let mut saw_one = false;
    for candidate in given.split(',').map(str::trim) {
        let Some(hex_sig) = prefix.strip(candidate) else {
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
        format!("the {header} header must be {}", prefix.expected())
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

/// Where a source that names each delivery's event in a header (GitHub, Bitbucket) puts that
/// name and the delivery's id.
pub struct EventHeaders {
    /// The event's header, as read (lower case) and as the source's docs spell it.
    pub event: (&'static str, &'static str),
    pub delivery: &'static str,
}

impl EventHeaders {
    /// The delivery's event (400 without it: nothing else says what the body is) and its id,
    /// when it has one.
    pub fn read<'d>(
        &self,
        title: &str,
        delivery: &'d Delivery<'_>,
    ) -> Result<(&'d str, Option<String>), Refusal> {
        let (header, spelled) = self.event;
        let event = delivery.value(header).ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                format!("the {spelled} header is required: it says what kind of {title} event the delivery is"),
            )
        })?;
        Ok((event, delivery.value(self.delivery).map(str::to_owned)))
    }
}

/// Checks a body is a JSON object, as every delivery of `source` is, even of an event Aurora does
/// not read.
pub fn json_object(source: &str, body: &[u8]) -> Result<(), Refusal> {
    json::<serde_json::Map<String, serde_json::Value>>(source, body).map(drop)
}

/// The values of the build parameters `params` named each of `names` in turn, whatever the
/// keys' case (`SERVICE`, `service`): the first one a source can read wins.
pub fn parameters<'a>(
    params: Option<&'a BTreeMap<String, serde_json::Value>>,
    names: &'a [&str],
) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
    names.iter().filter_map(move |n| {
        params?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v)
    })
}

/// `text` trimmed, when anything is left: to every source a blank field is an absent one.
pub fn non_blank(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// [`non_blank`], owned.
pub fn non_blank_owned(text: Option<&str>) -> Option<String> {
    non_blank(text).map(str::to_owned)
}

/// A number, or a number written as a string, as templated payloads send it depending on
/// their quoting.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum Loose {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Loose {
    /// As text (`None` when blank).
    pub fn text(&self) -> Option<String> {
        match self {
            Self::Int(i) => Some(i.to_string()),
            Self::Float(f) => Some(f.to_string()),
            Self::Text(t) => non_blank_owned(Some(t)),
        }
    }

    /// As a whole number (epoch seconds or milliseconds): a fraction is dropped, which is all
    /// sources give (and milliseconds since the epoch fit an f64 exactly).
    pub fn whole(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            #[allow(clippy::cast_possible_truncation)]
            Self::Float(f) if f.is_finite() => Some(*f as i64),
            Self::Float(_) => None,
            Self::Text(t) => t.trim().parse().ok(),
        }
    }
}

/// Maps a tool's severity or priority name onto Aurora's five levels (`unknown` when the tool
/// says so; a word it does not know is medium, the middle).
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
        "unknown" | "" => Severity::Unknown,
        _ => Severity::Medium,
    }
}

impl Setup {
    /// A POST to `url` with no header for the user to add (the sender signs each body itself, or
    /// the source proves itself): `steps` say the rest.
    pub fn without_header(url: &str, steps: Vec<String>) -> Self {
        Self {
            url: url.to_owned(),
            method: "POST",
            header: None,
            header_value: None,
            steps,
        }
    }
}

/// The integration's secret as setup steps name it: itself when it is shown now, else where it
/// was shown.
pub fn the_secret(secret: Option<&str>) -> String {
    secret.map_or_else(
        || "the secret shown when the integration was created".to_owned(),
        |s| format!("the secret {s}"),
    )
}

pub fn setup(source: &SourceDescriptor, url: &str, secret: Option<&str>) -> Setup {
    let shown = secret.unwrap_or("<the secret shown when the integration was created>");
    let (header, header_value, how) = match source.auth {
        Auth::Secret { header, prefix } => (
            Some(header.to_owned()),
            Some(format!("{prefix}{shown}")),
            format!("Add the header {header}: {prefix}<secret> to every request."),
        ),
        Auth::HmacSha256 { header, .. } => (
            None,
            None,
            match source.secret_origin {
                SecretOrigin::Source => format!(
                    "{} signs every delivery ({header}); give Aurora the signing secret it shows you (PATCH with \"secret\" to change it).",
                    source.title
                ),
                SecretOrigin::Aurora => format!(
                    "Set the webhook secret to the one Aurora generated; {} signs every delivery with it ({header}).",
                    source.title
                ),
            },
        ),
        Auth::Svix => (
            None,
            None,
            format!(
                "{} signs every delivery itself (Svix: webhook-id, webhook-timestamp, webhook-signature); give Aurora the endpoint's signing secret (whsec_…) it shows you (PATCH with \"secret\" to change it).",
                source.title
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
            format!("In {}: {}.", source.title, source.where_to_configure),
            format!("Set the URL to {url} (method POST, JSON body)."),
            how,
        ],
    }
}

/// Building deliveries in source tests, and the checks every source's tests run.
#[cfg(test)]
pub mod tests_support;

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
        assert_eq!(severity_from("Unknown"), Severity::Unknown);
    }

    #[test]
    fn an_hmac_matches_only_its_body_and_secret() {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"k").expect("key");
        mac.update(b"body");
        let sig = hex::encode(mac.finalize().into_bytes());
        let sha = Prefix::Required("sha256=");
        let v1 = Prefix::Required("v1=");
        assert!(verify_hmac("X-Sig", &format!("sha256={sig}"), sha, b"body", b"k").is_ok());
        assert!(verify_hmac("X-Sig", &format!("v1=00, v1={sig}"), v1, b"body", b"k").is_ok());
        assert!(verify_hmac("X-Sig", &format!("sha256={sig}"), sha, b"bodY", b"k").is_err());
        assert!(verify_hmac("X-Sig", &format!("sha256={sig}"), sha, b"body", b"K").is_err());
        assert!(verify_hmac("X-Sig", &sig, sha, b"body", b"k").is_err());
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }

    /// Upstream's published HMAC-SHA256 vector (its test_webhook_signature.py anchors on it too),
    /// so signer and verifier cannot drift in the same direction unnoticed.
    #[test]
    fn the_aurora_signature_is_accepted_with_or_without_its_prefix() {
        let body = b"The quick brown fox jumps over the lazy dog";
        let known = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";
        let either = Prefix::Optional("sha256=");
        assert!(verify_hmac("X-Sig", known, either, body, b"key").is_ok());
        assert!(verify_hmac("X-Sig", &format!("sha256={known}"), either, body, b"key").is_ok());
        assert!(verify_hmac("X-Sig", known, either, body, b"not-the-key").is_err());
        assert!(verify_hmac("X-Sig", known, either, b"the quick", b"key").is_err());
        let flipped = format!("0{}", &known[1..]);
        assert!(verify_hmac("X-Sig", &flipped, either, body, b"key").is_err());
        assert!(verify_hmac("X-Sig", &known.to_uppercase(), either, body, b"key").is_ok());
        assert!(verify_hmac("X-Sig", "sha1=00", either, body, b"key").is_err());
        assert!(verify_hmac("X-Sig", "", either, body, b"key").is_err());
    }
}
