//! AWS: the tenant's role is assumed with STS AssumeRole and the tenant's external id, signed
//! (Signature Version 4) with Aurora's own keys; the CLI only ever sees the temporary
//! credentials, which are cached per connector until shortly before they expire.

use aurora_domain::connector::ConnectorSettings;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::expiring::Expires;
use super::{ConnectError, ConnectorConfig};

/// How long an assumed session lasts (STS's default).
const DURATION_SECS: u32 = 3600;

/// Temporary credentials of an assumed role.
#[derive(Clone)]
pub struct AwsSession {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: DateTime<Utc>,
}

impl std::fmt::Debug for AwsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSession")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResponse {
    assume_role_result: AssumeRoleResult,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleResult {
    credentials: StsCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    expiration: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorResponse {
    error: StsError,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsError {
    code: String,
    message: Option<String>,
}

/// Assumes the role of `settings` (an AWS connector's) as session `session_name`.
pub async fn assume(
    config: &ConnectorConfig,
    settings: &ConnectorSettings,
    session_name: &str,
) -> Result<AwsSession, ConnectError> {
    let ConnectorSettings::Aws {
        role_arn,
        external_id,
        region,
    } = settings
    else {
        return Err(ConnectError::Malformed("not an AWS connector".into()));
    };
    let identity = config.aws.as_ref().ok_or(ConnectError::NoAwsIdentity)?;
    let base = config.base_url(settings);
    let url = url::Url::parse(&format!("{base}/")).map_err(|e| ConnectError::Unexpected {
        provider: "AWS STS",
        reason: format!("the STS URL {base:?} does not parse: {e}"),
    })?;
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => String::new(),
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "AssumeRole")
        .append_pair("Version", "2011-06-15")
        .append_pair("RoleArn", role_arn)
        .append_pair("RoleSessionName", session_name)
        .append_pair("ExternalId", external_id)
        .append_pair("DurationSeconds", &DURATION_SECS.to_string())
        .finish();
    let now = Utc::now();
    let signed = sign(&Signing {
        access_key_id: &identity.access_key_id,
        secret_access_key: &identity.secret_access_key,
        session_token: identity.session_token.as_deref(),
        region,
        host: &host,
        body: &body,
        now,
    });
    let mut request = config
        .http()
        .post(url)
        .header("Content-Type", CONTENT_TYPE)
        .header("X-Amz-Date", &signed.amz_date)
        .header("Authorization", signed.authorization);
    if let Some(token) = &identity.session_token {
        request = request.header("X-Amz-Security-Token", token);
    }
    let response = request
        .body(body)
        .send()
        .await
        .map_err(|source| ConnectError::Unreachable {
            provider: "AWS STS",
            source,
        })?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|source| ConnectError::Unreachable {
            provider: "AWS STS",
            source,
        })?;
    if !status.is_success() {
        let detail = quick_xml::de::from_str::<ErrorResponse>(&text)
            .map(|e| format!("{}: {}", e.error.code, e.error.message.unwrap_or_default()))
            .unwrap_or_default();
        return Err(ConnectError::Refused {
            provider: "AWS STS",
            status: status.as_u16(),
            detail: super::redact_all(&detail, &[&identity.secret_access_key]),
        });
    }
    let answer: AssumeRoleResponse =
        quick_xml::de::from_str(&text).map_err(|e| ConnectError::Unexpected {
            provider: "AWS STS",
            reason: format!("the AssumeRole answer does not read: {e}"),
        })?;
    let c = answer.assume_role_result.credentials;
    Ok(AwsSession {
        access_key_id: c.access_key_id,
        secret_access_key: c.secret_access_key,
        session_token: c.session_token,
        expiration: c.expiration,
    })
}

const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

struct Signing<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: Option<&'a str>,
    region: &'a str,
    host: &'a str,
    body: &'a str,
    now: DateTime<Utc>,
}

struct Signed {
    amz_date: String,
    authorization: String,
}

fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Signature Version 4 of a POST to STS's root with a form body.
fn sign(s: &Signing<'_>) -> Signed {
    let amz_date = s.now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = s.now.format("%Y%m%d").to_string();
    let mut headers = vec![
        ("content-type", CONTENT_TYPE.to_owned()),
        ("host", s.host.to_owned()),
        ("x-amz-date", amz_date.clone()),
    ];
    if let Some(token) = s.session_token {
        headers.push(("x-amz-security-token", token.to_owned()));
    }
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{}\n", value.trim()))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "POST\n/\n\n{canonical_headers}\n{signed_headers}\n{}",
        hex_sha256(s.body.as_bytes())
    );
    let scope = format!("{date}/{}/sts/aws4_request", s.region);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical_request.as_bytes())
    );
    let key = ["sts", "aws4_request"].iter().fold(
        hmac(
            &hmac(format!("AWS4{}", s.secret_access_key).as_bytes(), &date),
            s.region,
        ),
        |key, part| hmac(&key, part),
    );
    let signature = hex::encode(hmac(&key, &string_to_sign));
    Signed {
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            s.access_key_id
        ),
        amz_date,
    }
}

impl Expires for AwsSession {
    fn expires_at(&self) -> DateTime<Utc> {
        self.expiration
    }

    fn secrets(&self) -> Vec<String> {
        vec![self.secret_access_key.clone(), self.session_token.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signing steps of AWS's documented SigV4 example (IAM ListUsers, 2015-08-30, the
    /// example keys), adapted to the same algorithm: the derived key and signature of a known
    /// input must not change.
    #[test]
    fn the_signing_key_follows_the_documented_derivation() {
        // AWS's published example of the key derivation (secret, 20120215, us-east-1, iam):
        let key = ["iam", "aws4_request"].iter().fold(
            hmac(
                &hmac(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215"),
                "us-east-1",
            ),
            |key, part| hmac(&key, part),
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn a_request_is_signed_for_sts_in_its_region() {
        let now = DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let signed = sign(&Signing {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "secret",
            session_token: None,
            region: "eu-west-3",
            host: "sts.eu-west-3.amazonaws.com",
            body: "Action=AssumeRole",
            now,
        });
        assert_eq!(signed.amz_date, "20261204T100000Z");
        assert!(signed.authorization.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261204/eu-west-3/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="
        ));
    }

    #[test]
    fn the_assume_role_answer_reads() {
        let xml = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI</SecretAccessKey>
      <SessionToken>FwoGZXIvYXdzEXAMPLE</SessionToken>
      <Expiration>2026-12-04T11:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#;
        let answer: AssumeRoleResponse = quick_xml::de::from_str(xml).expect("it reads");
        assert_eq!(
            answer.assume_role_result.credentials.access_key_id,
            "ASIAEXAMPLE"
        );
        let error: ErrorResponse = quick_xml::de::from_str(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message></Error></ErrorResponse>",
        )
        .expect("it reads");
        assert_eq!(error.error.code, "AccessDenied");
    }
}
