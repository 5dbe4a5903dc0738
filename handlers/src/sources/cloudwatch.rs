//! AWS CloudWatch alarms, delivered by Amazon SNS: the alarm notifies an SNS topic, and an HTTPS
//! subscription of that topic posts to Aurora.
//!
//! Authentication is SNS's own message signature, not a secret (the integration still gets a
//! generated one, unused):
//! - the signing certificate must come from Amazon SNS
//!   (`https://sns.<region>.amazonaws.com[.cn]/SimpleNotificationService-<hex>.pem`) or from an
//!   origin the operator trusts (`AURORA_SNS_CERT_ORIGINS`, see [`super::SnsOrigins`]); it is
//!   fetched once and cached ([`super::CertCache`]);
//! - the signature covers the canonical string of the message's fields (`SignatureVersion` 1 is
//!   SHA1withRSA, 2 SHA256withRSA, PKCS#1 v1.5);
//! - a message whose `Timestamp` is more than an hour away from its arrival is refused (replays);
//! - the topic is pinned on first use: a `SubscriptionConfirmation` is accepted while no topic is
//!   pinned or for the pinned one, everything else only from the pinned topic. The ingest handler
//!   confirms the subscription (one GET of its `SubscribeURL`, on the same trusted origins) and
//!   pins its topic on the integration.
//!
//! A `Notification` carries the CloudWatch alarm as a JSON string in `Message`: `ALARM` fires,
//! `OK` resolves, `INSUFFICIENT_DATA` is not acted on. Identity is account + region + alarm
//! name; the alert id adds the state change time, so each firing episode is its own alert.

use async_trait::async_trait;
use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ring::signature::{self as rsa_verify, UnparsedPublicKey, VerificationAlgorithm};
use serde::Deserialize;

use super::common::json;
use super::{
    Auth, Confirmation, Delivery, Parsed, Refusal, SecretOrigin, Setup, Source, SourceDescriptor,
    VerifyContext,
};

pub struct CloudWatch;

/// How far a message's `Timestamp` may be from its arrival.
const MAX_SKEW_SECS: i64 = 3600;
/// Dimensions that name the service an alarm is about, most specific first.
const SERVICE_DIMENSIONS: &[&str] = &[
    "ServiceName",
    "Service",
    "FunctionName",
    "DBInstanceIdentifier",
    "ClusterName",
    "LoadBalancer",
];

/// An SNS message as posted to an HTTP(S) subscription.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "TopicArn")]
    topic_arn: String,
    #[serde(rename = "Subject", default)]
    subject: Option<String>,
    #[serde(rename = "Message")]
    message: String,
    /// Kept as sent: it is part of the signed string.
    #[serde(rename = "Timestamp")]
    timestamp: String,
    #[serde(rename = "SignatureVersion", default)]
    signature_version: Option<String>,
    #[serde(rename = "Signature", default)]
    signature: Option<String>,
    #[serde(rename = "SigningCertURL", alias = "SigningCertUrl", default)]
    signing_cert_url: Option<String>,
    #[serde(rename = "SubscribeURL", default)]
    subscribe_url: Option<String>,
    #[serde(rename = "Token", default)]
    token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl Kind {
    fn of(text: &str) -> Option<Self> {
        match text {
            "Notification" => Some(Self::Notification),
            "SubscriptionConfirmation" => Some(Self::SubscriptionConfirmation),
            "UnsubscribeConfirmation" => Some(Self::UnsubscribeConfirmation),
            _ => None,
        }
    }
}

/// The CloudWatch alarm in a notification's `Message`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Alarm {
    alarm_name: String,
    #[serde(default)]
    alarm_description: Option<String>,
    #[serde(default, rename = "AWSAccountId")]
    aws_account_id: Option<String>,
    new_state_value: String,
    #[serde(default)]
    new_state_reason: Option<String>,
    #[serde(default)]
    state_change_time: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    alarm_arn: Option<String>,
    #[serde(default)]
    trigger: Option<Trigger>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trigger {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    dimensions: Option<Vec<Dimension>>,
    /// Metric math alarms name their metrics here instead.
    #[serde(default)]
    metrics: Option<Vec<MathMetric>>,
}

#[derive(Debug, Deserialize)]
struct Dimension {
    #[serde(alias = "Name")]
    name: String,
    #[serde(alias = "Value")]
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MathMetric {
    #[serde(default)]
    metric_stat: Option<MetricStat>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MetricStat {
    #[serde(default)]
    metric: Option<Trigger>,
}

/// The string SNS signs: `Key\nValue\n` for each signed field, in this order.
fn canonical(kind: Kind, m: &Envelope) -> Result<String, Refusal> {
    fn push(out: &mut String, key: &str, value: &str) {
        out.push_str(key);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    }
    let required = |value: &Option<String>, key: &str| {
        value.clone().ok_or_else(|| {
            Refusal::Unauthorized(format!("the SNS {} has no {key}", kind_name(kind)))
        })
    };
    let mut out = String::with_capacity(m.message.len() + 256);
    push(&mut out, "Message", &m.message);
    push(&mut out, "MessageId", &m.message_id);
    match kind {
        Kind::Notification => {
            if let Some(subject) = &m.subject {
                push(&mut out, "Subject", subject);
            }
        }
        Kind::SubscriptionConfirmation | Kind::UnsubscribeConfirmation => {
            push(
                &mut out,
                "SubscribeURL",
                &required(&m.subscribe_url, "SubscribeURL")?,
            );
        }
    }
    push(&mut out, "Timestamp", &m.timestamp);
    if kind != Kind::Notification {
        push(&mut out, "Token", &required(&m.token, "Token")?);
    }
    push(&mut out, "TopicArn", &m.topic_arn);
    push(&mut out, "Type", &m.kind);
    Ok(out)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Notification => "Notification",
        Kind::SubscriptionConfirmation => "SubscriptionConfirmation",
        Kind::UnsubscribeConfirmation => "UnsubscribeConfirmation",
    }
}

/// Whether a message of `kind` from `topic` may come in, given the integration's pinned topic.
fn check_topic(kind: Kind, topic: &str, pinned: Option<&str>) -> Result<(), Refusal> {
    if !(topic.starts_with("arn:") && topic.contains(":sns:")) {
        return Err(Refusal::Unauthorized(format!(
            "{topic:?} is not an SNS topic ARN"
        )));
    }
    match (kind, pinned) {
        (_, Some(pinned)) if pinned == topic => Ok(()),
        (Kind::SubscriptionConfirmation, None) => Ok(()),
        (Kind::SubscriptionConfirmation, Some(pinned)) => Err(Refusal::Unauthorized(format!(
            "this integration is pinned to the SNS topic {pinned}; a subscription of {topic} is refused"
        ))),
        (_, None) => Err(Refusal::Unauthorized(
            "no SNS topic is pinned to this integration yet: confirm the subscription first".into(),
        )),
        (_, Some(pinned)) => Err(Refusal::Unauthorized(format!(
            "this integration accepts messages from the SNS topic {pinned} only, not {topic}"
        ))),
    }
}

/// Refuses a message sent more than an hour before (or after) it arrived.
fn check_fresh(timestamp: &str, received_at: DateTime<Utc>) -> Result<(), Refusal> {
    let sent = DateTime::parse_from_rfc3339(timestamp).map_err(|_| {
        Refusal::Unauthorized(format!("the SNS Timestamp {timestamp:?} is not a time"))
    })?;
    let skew = (received_at - sent.with_timezone(&Utc)).num_seconds();
    if skew.abs() > MAX_SKEW_SECS {
        return Err(Refusal::Unauthorized(format!(
            "the SNS message was sent at {timestamp}, more than an hour from its arrival (a replay?)"
        )));
    }
    Ok(())
}

/// One `:`-separated part of an ARN (`arn:partition:service:region:account:…`).
fn arn_part(arn: Option<&str>, index: usize) -> Option<&str> {
    arn.filter(|a| a.starts_with("arn:"))
        .and_then(|a| a.split(':').nth(index))
        .filter(|p| !p.is_empty())
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// `2026-11-23T10:00:00.000+0000` (CloudWatch's format) or RFC 3339.
fn cloudwatch_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The service an alarm is about: a dimension that names one, else the metric's namespace.
fn service_of(trigger: &Trigger) -> Option<String> {
    let mut metrics: Vec<&Trigger> = vec![trigger];
    metrics.extend(
        trigger
            .metrics
            .iter()
            .flatten()
            .filter_map(|m| m.metric_stat.as_ref()?.metric.as_ref()),
    );
    let dimensions = || {
        metrics
            .iter()
            .flat_map(|m| m.dimensions.iter().flatten())
            .filter(|d| !d.value.trim().is_empty())
    };
    SERVICE_DIMENSIONS
        .iter()
        .find_map(|wanted| {
            dimensions()
                .find(|d| d.name.eq_ignore_ascii_case(wanted))
                .map(|d| d.value.trim().to_owned())
        })
        .or_else(|| {
            metrics
                .iter()
                .find_map(|m| non_empty(m.namespace.as_deref()))
                .map(str::to_owned)
        })
}

/// High, unless the alarm's name or description says critical or warning.
fn severity_of(name: &str, description: Option<&str>) -> Severity {
    let text = format!("{name} {}", description.unwrap_or_default()).to_ascii_lowercase();
    if text.contains("critical") {
        Severity::Critical
    } else if text.contains("warning") {
        Severity::Medium
    } else {
        Severity::High
    }
}

/// Percent-encodes everything but unreserved characters.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The alarm in the AWS console, when its ARN says where.
fn console_url(arn: Option<&str>, name: &str) -> Option<String> {
    let region = arn_part(arn, 3)?;
    let host = match arn_part(arn, 1)? {
        "aws" => format!("{region}.console.aws.amazon.com"),
        "aws-cn" => format!("{region}.console.amazonaws.cn"),
        _ => return None,
    };
    Some(format!(
        "https://{host}/cloudwatch/home?region={region}#alarmsV2:alarm/{}",
        url_encode(name)
    ))
}

impl CloudWatch {
    fn envelope(body: &[u8]) -> Result<(Kind, Envelope), Refusal> {
        let m: Envelope = json("Amazon SNS", body)?;
        let kind = Kind::of(&m.kind).ok_or_else(|| {
            Refusal::bad(
                "invalid_payload",
                format!(
                    "SNS message Type {:?} is not one of Notification, SubscriptionConfirmation, UnsubscribeConfirmation",
                    m.kind
                ),
            )
        })?;
        if m.message_id.trim().is_empty() {
            return Err(Refusal::bad(
                "invalid_payload",
                "the SNS message has an empty MessageId",
            ));
        }
        Ok((kind, m))
    }

    fn notification(m: &Envelope, received_at: DateTime<Utc>) -> Signal {
        let not_an_alarm = |why: String| Signal::Ignored {
            reason: format!(
                "an SNS notification from {} that is not a CloudWatch alarm ({why})",
                m.topic_arn
            ),
        };
        let value: serde_json::Value = match serde_json::from_str(&m.message) {
            Ok(value) => value,
            Err(_) => return not_an_alarm("its Message is not JSON".into()),
        };
        if value.get("AlarmName").is_none() || value.get("NewStateValue").is_none() {
            return not_an_alarm("its Message has no AlarmName and NewStateValue".into());
        }
        let alarm: Alarm = match serde_json::from_value(value) {
            Ok(alarm) => alarm,
            Err(e) => return not_an_alarm(e.to_string()),
        };
        let arn = alarm.alarm_arn.as_deref();
        let account = non_empty(alarm.aws_account_id.as_deref())
            .or_else(|| arn_part(arn, 4))
            .unwrap_or("unknown");
        let region = arn_part(arn, 3)
            .or_else(|| non_empty(alarm.region.as_deref()))
            .unwrap_or("unknown");
        let name = alarm.alarm_name.trim();
        let fingerprint = format!("cloudwatch:{account}:{region}:{name}");
        let changed_at = alarm
            .state_change_time
            .as_deref()
            .and_then(cloudwatch_time)
            .or_else(|| cloudwatch_time(&m.timestamp))
            .unwrap_or(received_at);
        let alert_id = format!("{fingerprint}@{}", changed_at.timestamp());
        let description = non_empty(alarm.alarm_description.as_deref());
        match alarm.new_state_value.as_str() {
            "ALARM" => Signal::Firing(FiringAlert {
                alert_id,
                title: if name.is_empty() {
                    description.unwrap_or("CloudWatch alarm").to_owned()
                } else {
                    name.to_owned()
                },
                service: alarm.trigger.as_ref().and_then(service_of),
                environment: None,
                severity: severity_of(name, description),
                fired_at: changed_at,
                description: match (description, non_empty(alarm.new_state_reason.as_deref())) {
                    (Some(d), Some(r)) => Some(format!("{d}\n\n{r}")),
                    (d, r) => d.or(r).map(str::to_owned),
                },
                url: console_url(arn, name),
                fingerprint,
            }),
            "OK" => Signal::Resolved {
                fingerprint,
                source_alert_id: alert_id,
                at: changed_at,
            },
            "INSUFFICIENT_DATA" => Signal::Ignored {
                reason: format!("CloudWatch alarm {name:?} has insufficient data: not acted on"),
            },
            other => Signal::Ignored {
                reason: format!("CloudWatch alarm state {other:?} is not acted on"),
            },
        }
    }
}

const DESCRIPTOR: SourceDescriptor = SourceDescriptor {
    name: "cloudwatch",
    title: "AWS CloudWatch (SNS)",
    auth: Auth::SnsSignature,
    secret_origin: SecretOrigin::Aurora,
    rca_by_default: true,
    kept_headers: &[
        "x-amz-sns-message-type",
        "x-amz-sns-message-id",
        "x-amz-sns-topic-arn",
    ],
    where_to_configure: "Amazon SNS → Topics → the topic your CloudWatch alarms notify → Create subscription (protocol HTTPS, raw message delivery off); then, in CloudWatch → Alarms → each alarm → Actions, notify that topic \"In alarm\" and \"OK\"",
};

#[async_trait]
impl Source for CloudWatch {
    fn descriptor(&self) -> &'static SourceDescriptor {
        &DESCRIPTOR
    }

    fn verify(&self, _delivery: &Delivery<'_>, _secret: &[u8]) -> Result<(), Refusal> {
        Err(Refusal::Unauthorized(
            "SNS deliveries are checked asynchronously, by their message signature (Source::authenticate)".into(),
        ))
    }

    async fn authenticate(
        &self,
        delivery: &Delivery<'_>,
        _secret: &[u8],
        ctx: &VerifyContext,
    ) -> Result<(), Refusal> {
        let unsigned =
            |why: String| Refusal::Unauthorized(format!("not a signed SNS message: {why}"));
        let (kind, m) = Self::envelope(delivery.body).map_err(|e| unsigned(e.to_string()))?;
        check_topic(kind, &m.topic_arn, ctx.pinned_topic.as_deref())?;
        check_fresh(&m.timestamp, delivery.received_at)?;
        if kind == Kind::SubscriptionConfirmation {
            let url = m.subscribe_url.as_deref().unwrap_or_default();
            ctx.origins
                .subscribe_url(url)
                .map_err(Refusal::Unauthorized)?;
        }
        let canonical = canonical(kind, &m)?;
        let algorithm: &'static dyn VerificationAlgorithm = match m.signature_version.as_deref() {
            Some("1") => &rsa_verify::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Some("2") => &rsa_verify::RSA_PKCS1_2048_8192_SHA256,
            other => {
                return Err(unsigned(format!(
                    "SignatureVersion {other:?} is not 1 or 2"
                )))
            }
        };
        let signature = m
            .signature
            .as_deref()
            .ok_or_else(|| unsigned("no Signature".into()))
            .and_then(|s| {
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|_| unsigned("the Signature is not base64".into()))
            })?;
        let cert_url = m
            .signing_cert_url
            .as_deref()
            .ok_or_else(|| unsigned("no SigningCertURL".into()))?;
        let cert_url = ctx
            .origins
            .cert_url(cert_url)
            .map_err(Refusal::Unauthorized)?;
        let key = ctx.certs.key(&ctx.http, &cert_url).await?;
        UnparsedPublicKey::new(algorithm, &*key)
            .verify(canonical.as_bytes(), &signature)
            .map_err(|_| {
                Refusal::Unauthorized(
                    "the SNS signature does not match the message and its certificate".into(),
                )
            })
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let (kind, m) = Self::envelope(delivery.body)?;
        let signal = match kind {
            Kind::Notification => Self::notification(&m, delivery.received_at),
            Kind::SubscriptionConfirmation => Signal::Ignored {
                reason: format!(
                    "an SNS subscription confirmation for {} (the ingest handler confirms it and pins the topic)",
                    m.topic_arn
                ),
            },
            Kind::UnsubscribeConfirmation => Signal::Ignored {
                reason: format!("the SNS subscription to {} was ended", m.topic_arn),
            },
        };
        Ok(Parsed {
            delivery_id: Some(m.message_id),
            signals: vec![signal],
        })
    }

    fn confirmation(&self, delivery: &Delivery<'_>) -> Option<Confirmation> {
        match Self::envelope(delivery.body).ok()? {
            (Kind::SubscriptionConfirmation, m) => Some(Confirmation {
                topic: m.topic_arn,
                url: m.subscribe_url?,
            }),
            _ => None,
        }
    }

    fn setup(&self, url: &str, _secret: Option<&str>) -> Setup {
        let protocol = if url.starts_with("https://") {
            "HTTPS"
        } else {
            "HTTP"
        };
        Setup {
            url: url.to_owned(),
            method: "POST",
            header: None,
            header_value: None,
            steps: vec![
                format!(
                    "In Amazon SNS: open the topic your CloudWatch alarms notify (or create one) → Create subscription → protocol {protocol}, endpoint {url}; leave raw message delivery off."
                ),
                "Aurora confirms the subscription by itself as soon as SNS asks, and from then on accepts messages from that topic only (pinned on first use), each checked against Amazon's signing certificate.".into(),
                "In CloudWatch: Alarms → each alarm → Edit → Actions: notify that topic \"In alarm\" (opens an incident) and \"OK\" (resolves it).".into(),
                "Nothing to paste: SNS signs its messages itself, so the secret Aurora generated for this integration is not used.".into(),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;
    use crate::sources::sns::SnsOrigins;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use std::sync::OnceLock;

    const KEY: &str = include_str!("../../../tests/fixtures/sns/key.pem");
    const CERT: &str = include_str!("../../../tests/fixtures/sns/cert.pem");
    const OTHER_CERT: &str = include_str!("../../../tests/fixtures/sns/other-cert.pem");
    const CERT_URL: &str =
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";
    const OTHER_CERT_URL: &str =
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-fedcba9876543210fedcba9876543210.pem";
    const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:cloudwatch-alarms";
    const SUBSCRIBE_URL: &str = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:cloudwatch-alarms&Token=2336412f37fb687f5d51e6e2425f004aed";
    /// A few seconds before `tests_support::delivery`'s arrival time.
    const SENT: &str = "2026-11-23T10:00:27.315Z";

    fn key() -> &'static rsa::RsaPrivateKey {
        static KEY_PAIR: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
        KEY_PAIR.get_or_init(|| rsa::RsaPrivateKey::from_pkcs8_pem(KEY).expect("the fixture key"))
    }

    fn sign(version: &str, text: &str) -> String {
        let signature = match version {
            "1" => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key().clone())
                .sign(text.as_bytes())
                .to_vec(),
            _ => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key().clone())
                .sign(text.as_bytes())
                .to_vec(),
        };
        base64::engine::general_purpose::STANDARD.encode(signature)
    }

    /// An SNS message of `fields` (without signature), signed as SNS does with `version`.
    fn signed(mut fields: serde_json::Value, version: &str) -> String {
        let m: Envelope = serde_json::from_value(fields.clone()).expect("an envelope");
        let kind = Kind::of(&m.kind).expect("a known type");
        let text = canonical(kind, &m).expect("canonical");
        fields["SignatureVersion"] = version.into();
        fields["Signature"] = sign(version, &text).into();
        if fields.get("SigningCertURL").is_none() {
            fields["SigningCertURL"] = CERT_URL.into();
        }
        fields.to_string()
    }

    fn alarm(state: &str) -> serde_json::Value {
        serde_json::json!({
            "AlarmName": "checkout-5xx-critical",
            "AlarmDescription": "Checkout load balancer returns 5xx",
            "AWSAccountId": "123456789012",
            "AlarmConfigurationUpdatedTimestamp": "2026-11-01T08:00:00.000+0000",
            "NewStateValue": state,
            "NewStateReason": "Threshold Crossed: 1 datapoint [42.0 (23/11/26 09:59:00)] was greater than the threshold (10.0).",
            "StateChangeTime": "2026-11-23T10:00:25.117+0000",
            "Region": "EU (Ireland)",
            "AlarmArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:checkout-5xx-critical",
            "OldStateValue": if state == "ALARM" { "OK" } else { "ALARM" },
            "OKActions": [TOPIC],
            "AlarmActions": [TOPIC],
            "InsufficientDataActions": [],
            "Trigger": {
                "MetricName": "HTTPCode_Target_5XX_Count",
                "Namespace": "AWS/ApplicationELB",
                "StatisticType": "Statistic",
                "Statistic": "SUM",
                "Unit": null,
                "Dimensions": [
                    {"value": "app/checkout-alb/50dc6c495c0c9188", "name": "LoadBalancer"},
                    {"value": "targetgroup/checkout/73e2d6bc24d8a067", "name": "TargetGroup"}
                ],
                "Period": 60,
                "EvaluationPeriods": 1,
                "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 10.0,
                "TreatMissingData": "missing",
                "EvaluateLowSampleCountPercentile": ""
            }
        })
    }

    fn notification(message: &str) -> serde_json::Value {
        serde_json::json!({
            "Type": "Notification",
            "MessageId": "b1c5e5f4-7f3a-5a4e-9d0b-3c1f0e6a7d21",
            "TopicArn": TOPIC,
            "Subject": "ALARM: \"checkout-5xx-critical\" in EU (Ireland)",
            "Message": message,
            "Timestamp": SENT,
            "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:123456789012:cloudwatch-alarms:0b5c7d2e",
        })
    }

    fn confirmation_of(kind: &str) -> serde_json::Value {
        serde_json::json!({
            "Type": kind,
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37fb687f5d51e6e2425f004aed",
            "TopicArn": TOPIC,
            "Message": format!("You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message."),
            "SubscribeURL": SUBSCRIBE_URL,
            "Timestamp": SENT,
        })
    }

    fn context(pinned: Option<&str>) -> VerifyContext {
        let ctx = VerifyContext::new(SnsOrigins::aws_only());
        ctx.certs
            .insert_pem(CERT_URL, CERT.as_bytes())
            .expect("the fixture certificate");
        ctx.certs
            .insert_pem(OTHER_CERT_URL, OTHER_CERT.as_bytes())
            .expect("the other certificate");
        ctx.with_pinned_topic(pinned.map(str::to_owned))
    }

    async fn check(body: &str, pinned: Option<&str>) -> Result<(), Refusal> {
        let h = headers(&[("x-amz-sns-message-type", "Notification")]);
        CloudWatch
            .authenticate(&delivery(&h, body), b"unused", &context(pinned))
            .await
    }

    fn refused_saying(result: Result<(), Refusal>, words: &str) {
        match result {
            Err(Refusal::Unauthorized(message)) => {
                assert!(message.contains(words), "{message:?} should say {words:?}")
            }
            other => panic!("expected 401 saying {words:?}, got {other:?}"),
        }
    }

    #[test]
    fn canonical_strings_follow_the_message_type() {
        let alarm_json = r#"{"AlarmName":"x"}"#;
        let mut fields = notification(alarm_json);
        let m: Envelope = serde_json::from_value(fields.clone()).expect("envelope");
        assert_eq!(
            canonical(Kind::Notification, &m).expect("canonical"),
            format!(
                "Message\n{alarm_json}\nMessageId\nb1c5e5f4-7f3a-5a4e-9d0b-3c1f0e6a7d21\nSubject\nALARM: \"checkout-5xx-critical\" in EU (Ireland)\nTimestamp\n{SENT}\nTopicArn\n{TOPIC}\nType\nNotification\n"
            )
        );
        // Without a Subject (or a null one), the key is left out.
        fields["Subject"] = serde_json::Value::Null;
        let m: Envelope = serde_json::from_value(fields).expect("envelope");
        assert_eq!(
            canonical(Kind::Notification, &m).expect("canonical"),
            format!(
                "Message\n{alarm_json}\nMessageId\nb1c5e5f4-7f3a-5a4e-9d0b-3c1f0e6a7d21\nTimestamp\n{SENT}\nTopicArn\n{TOPIC}\nType\nNotification\n"
            )
        );
        for kind in ["SubscriptionConfirmation", "UnsubscribeConfirmation"] {
            let m: Envelope = serde_json::from_value(confirmation_of(kind)).expect("envelope");
            let text = canonical(Kind::of(kind).expect("kind"), &m).expect("canonical");
            assert_eq!(
                text,
                format!(
                    "Message\n{}\nMessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\nSubscribeURL\n{SUBSCRIBE_URL}\nTimestamp\n{SENT}\nToken\n2336412f37fb687f5d51e6e2425f004aed\nTopicArn\n{TOPIC}\nType\n{kind}\n",
                    m.message
                )
            );
        }
        let mut no_token = confirmation_of("SubscriptionConfirmation");
        no_token.as_object_mut().expect("object").remove("Token");
        let m: Envelope = serde_json::from_value(no_token).expect("envelope");
        assert!(canonical(Kind::SubscriptionConfirmation, &m).is_err());
    }

    #[tokio::test]
    async fn good_signatures_of_both_versions_get_in() {
        for version in ["1", "2"] {
            let body = signed(notification(&alarm("ALARM").to_string()), version);
            assert_eq!(check(&body, Some(TOPIC)).await, Ok(()), "version {version}");
            let body = signed(confirmation_of("SubscriptionConfirmation"), version);
            assert_eq!(check(&body, None).await, Ok(()), "version {version}");
            assert_eq!(check(&body, Some(TOPIC)).await, Ok(()), "version {version}");
            let body = signed(confirmation_of("UnsubscribeConfirmation"), version);
            assert_eq!(check(&body, Some(TOPIC)).await, Ok(()), "version {version}");
        }
    }

    #[tokio::test]
    async fn a_tampered_message_or_a_wrong_signature_is_refused() {
        let body = signed(notification(&alarm("ALARM").to_string()), "2");
        let tampered = body.replace("checkout-5xx-critical", "checkout-5xx-fine");
        refused_saying(check(&tampered, Some(TOPIC)).await, "does not match");
        // A v2 signature claimed as v1 (and the reverse) does not verify.
        let v1_claimed = body.replace(r#""SignatureVersion":"2""#, r#""SignatureVersion":"1""#);
        assert_ne!(v1_claimed, body);
        refused_saying(check(&v1_claimed, Some(TOPIC)).await, "does not match");
        let mut fields: serde_json::Value = serde_json::from_str(&body).expect("json");
        fields["SignatureVersion"] = "3".into();
        refused_saying(
            check(&fields.to_string(), Some(TOPIC)).await,
            "SignatureVersion",
        );
        fields["SignatureVersion"] = "2".into();
        fields["Signature"] = "!!not base64!!".into();
        refused_saying(check(&fields.to_string(), Some(TOPIC)).await, "base64");
        fields.as_object_mut().expect("object").remove("Signature");
        refused_saying(
            check(&fields.to_string(), Some(TOPIC)).await,
            "no Signature",
        );
        // Signed by our key, but the certificate named is another one.
        let mut fields = notification(&alarm("ALARM").to_string());
        fields["SigningCertURL"] = OTHER_CERT_URL.into();
        refused_saying(
            check(&signed(fields, "2"), Some(TOPIC)).await,
            "does not match",
        );
    }

    #[tokio::test]
    async fn certificates_come_only_from_sns_or_a_trusted_origin() {
        for (url, words) in [
            ("https://evil.example.com/SimpleNotificationService-0123abcd.pem", "neither"),
            ("https://sns.eu-west-1.amazonaws.com.evil.io/SimpleNotificationService-0123abcd.pem", "neither"),
            ("https://sns.eu-west-1.amazonaws.com@evil.io/SimpleNotificationService-0123abcd.pem", "not a plain URL"),
            ("http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem", "neither"),
            ("https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-0123abcd.pem", "neither"),
            ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.txt", "not an SNS certificate"),
            ("https://sns.eu-west-1.amazonaws.com/evil.pem", "not an SNS certificate"),
            ("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123abcd.pem?x=1", "query"),
            ("not a url", "not a URL"),
        ] {
            let mut fields = notification(&alarm("ALARM").to_string());
            fields["SigningCertURL"] = url.into();
            refused_saying(check(&signed(fields, "2"), Some(TOPIC)).await, words);
        }
        let origins = SnsOrigins::aws_only();
        assert!(origins
            .cert_url("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-99ab.pem")
            .is_ok());
        assert!(origins.cert_url(CERT_URL).is_ok());
        assert!(origins
            .cert_url("http://127.0.0.1:9999/SimpleNotificationService-99ab.pem")
            .is_err());

        // Extra origins: loopback over http, anything over https; then any .pem path.
        let origins = SnsOrigins::new(&["http://127.0.0.1:9999", " https://certs.internal "])
            .expect("origins");
        assert!(origins
            .cert_url("http://127.0.0.1:9999/sns/cert.pem")
            .is_ok());
        assert!(origins.cert_url("https://certs.internal/a.pem").is_ok());
        for off in [
            "http://127.0.0.1:9998/cert.pem",
            "https://127.0.0.1:9999/cert.pem",
            "http://127.0.0.1:9999/cert.txt",
            "http://certs.internal/a.pem",
        ] {
            assert!(origins.cert_url(off).is_err(), "{off}");
        }
        assert!(origins
            .subscribe_url("http://127.0.0.1:9999/confirm?Token=x")
            .is_ok());
        assert!(origins.subscribe_url(SUBSCRIBE_URL).is_ok());
        assert!(origins
            .subscribe_url("https://evil.example.com/?Action=ConfirmSubscription")
            .is_err());
        for bad in [
            "http://sns.example.com",
            "http://10.0.0.1:80",
            "ftp://127.0.0.1",
            "https://host/path",
            "http://localhost:1/?q",
            "nonsense",
        ] {
            assert!(SnsOrigins::new(&[bad]).is_err(), "{bad}");
        }
        assert!(SnsOrigins::new(&["http://localhost:8080", "http://[::1]:1"]).is_ok());
    }

    #[tokio::test]
    async fn a_subscription_url_off_the_origins_is_refused_at_the_door() {
        let mut fields = confirmation_of("SubscriptionConfirmation");
        fields["SubscribeURL"] = "https://evil.example.com/?Action=ConfirmSubscription".into();
        refused_saying(check(&signed(fields, "2"), None).await, "SubscribeURL");
    }

    #[tokio::test]
    async fn a_stale_or_future_timestamp_is_refused() {
        for timestamp in ["2026-11-23T08:59:00.000Z", "2026-11-23T11:30:00.000Z"] {
            let mut fields = notification(&alarm("ALARM").to_string());
            fields["Timestamp"] = timestamp.into();
            refused_saying(
                check(&signed(fields, "2"), Some(TOPIC)).await,
                "more than an hour",
            );
        }
        let mut fields = notification(&alarm("ALARM").to_string());
        fields["Timestamp"] = "yesterday".into();
        refused_saying(check(&signed(fields, "2"), Some(TOPIC)).await, "not a time");
    }

    #[tokio::test]
    async fn the_topic_is_pinned_by_the_first_subscription() {
        let other = "arn:aws:sns:eu-west-1:666666666666:evil";
        let alarm_body = signed(notification(&alarm("ALARM").to_string()), "2");
        refused_saying(
            check(&alarm_body, None).await,
            "confirm the subscription first",
        );
        let mut fields = notification(&alarm("ALARM").to_string());
        fields["TopicArn"] = other.into();
        let from_other = signed(fields, "2");
        refused_saying(check(&from_other, Some(TOPIC)).await, "only, not");
        let mut fields = confirmation_of("SubscriptionConfirmation");
        fields["TopicArn"] = other.into();
        let subscribe_other = signed(fields, "2");
        assert_eq!(check(&subscribe_other, None).await, Ok(()));
        refused_saying(check(&subscribe_other, Some(TOPIC)).await, "pinned to");
        let unsubscribe = signed(confirmation_of("UnsubscribeConfirmation"), "2");
        refused_saying(
            check(&unsubscribe, None).await,
            "confirm the subscription first",
        );
        let mut fields = notification(&alarm("ALARM").to_string());
        fields["TopicArn"] = "not-an-arn".into();
        refused_saying(
            check(&signed(fields, "2"), Some(TOPIC)).await,
            "not an SNS topic",
        );
    }

    #[tokio::test]
    async fn malformed_bodies_are_refused_as_unsigned() {
        for body in ["not json", "{}", r#"{"Type":"Notification"}"#, "[]"] {
            refused_saying(check(body, Some(TOPIC)).await, "not a signed SNS message");
        }
        let mut fields = notification("{}");
        fields["Type"] = "Surprise".into();
        refused_saying(check(&fields.to_string(), Some(TOPIC)).await, "Surprise");
    }

    #[test]
    fn the_sync_verify_says_sns_is_checked_asynchronously() {
        let h = headers(&[]);
        refused_saying(
            CloudWatch.verify(&delivery(&h, "{}"), b"secret"),
            "asynchronously",
        );
    }

    fn parse(body: &str) -> Parsed {
        let h = headers(&[]);
        CloudWatch.parse(&delivery(&h, body)).expect("parses")
    }

    #[test]
    fn an_alarm_fires_with_its_account_region_and_name() {
        let parsed = parse(&signed(notification(&alarm("ALARM").to_string()), "2"));
        assert_eq!(
            parsed.delivery_id.as_deref(),
            Some("b1c5e5f4-7f3a-5a4e-9d0b-3c1f0e6a7d21")
        );
        let [Signal::Firing(a)] = &parsed.signals[..] else {
            panic!("one firing alert: {:?}", parsed.signals)
        };
        assert_eq!(
            a.fingerprint,
            "cloudwatch:123456789012:eu-west-1:checkout-5xx-critical"
        );
        assert_eq!(
            a.alert_id,
            format!(
                "cloudwatch:123456789012:eu-west-1:checkout-5xx-critical@{}",
                cloudwatch_time("2026-11-23T10:00:25.117+0000")
                    .expect("time")
                    .timestamp()
            )
        );
        assert_eq!(a.title, "checkout-5xx-critical");
        assert_eq!(
            a.service.as_deref(),
            Some("app/checkout-alb/50dc6c495c0c9188")
        );
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.fired_at.to_rfc3339(), "2026-11-23T10:00:25.117+00:00");
        let description = a.description.as_deref().expect("description");
        assert!(description.starts_with("Checkout load balancer returns 5xx"));
        assert!(description.contains("Threshold Crossed"));
        assert_eq!(
            a.url.as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/checkout-5xx-critical")
        );
    }

    #[test]
    fn service_and_severity_come_from_dimensions_and_words() {
        let mut a = alarm("ALARM");
        a["AlarmName"] = "orders-lambda-errors".into();
        a["AlarmDescription"] = "Warning: errors in orders".into();
        a["Trigger"]["Namespace"] = "AWS/Lambda".into();
        a["Trigger"]["Dimensions"] = serde_json::json!([{"name": "Resource", "value": "x"}, {"name": "FunctionName", "value": "orders"}]);
        let parsed = parse(&notification(&a.to_string()).to_string());
        let [Signal::Firing(f)] = &parsed.signals[..] else {
            panic!("firing")
        };
        assert_eq!(
            (f.service.as_deref(), f.severity),
            (Some("orders"), Severity::Medium)
        );

        // No naming dimension: the namespace; neither critical nor warning: high.
        a["AlarmDescription"] = serde_json::Value::Null;
        a["Trigger"]["Dimensions"] = serde_json::json!([{"name": "InstanceId", "value": "i-0abc"}]);
        a["Trigger"]["Namespace"] = "AWS/EC2".into();
        let parsed = parse(&notification(&a.to_string()).to_string());
        let [Signal::Firing(f)] = &parsed.signals[..] else {
            panic!("firing")
        };
        assert_eq!(
            (f.service.as_deref(), f.severity, f.description.is_some()),
            (Some("AWS/EC2"), Severity::High, true)
        );

        // Metric math alarms name their metrics under Metrics; no name at all: the description.
        a["AlarmName"] = "".into();
        a["AlarmDescription"] = "Payments error ratio".into();
        a["Trigger"] = serde_json::json!({"Metrics": [
            {"Id": "e1", "Expression": "m1/m2"},
            {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Payments", "MetricName": "Errors",
              "Dimensions": [{"name": "ServiceName", "value": "payments-api"}]}, "Period": 60, "Stat": "Sum"}}
        ]});
        let parsed = parse(&notification(&a.to_string()).to_string());
        let [Signal::Firing(f)] = &parsed.signals[..] else {
            panic!("firing")
        };
        assert_eq!(
            (f.title.as_str(), f.service.as_deref()),
            ("Payments error ratio", Some("payments-api"))
        );
    }

    #[test]
    fn ok_resolves_the_same_fingerprint_and_insufficient_data_is_ignored() {
        let parsed = parse(&notification(&alarm("OK").to_string()).to_string());
        match &parsed.signals[..] {
            [Signal::Resolved {
                fingerprint, at, ..
            }] => {
                assert_eq!(
                    fingerprint,
                    "cloudwatch:123456789012:eu-west-1:checkout-5xx-critical"
                );
                assert_eq!(at.to_rfc3339(), "2026-11-23T10:00:25.117+00:00");
            }
            other => panic!("resolved expected: {other:?}"),
        }
        for state in ["INSUFFICIENT_DATA", "SOMETHING_NEW"] {
            let parsed = parse(&notification(&alarm(state).to_string()).to_string());
            assert!(
                matches!(&parsed.signals[..], [Signal::Ignored { reason }] if reason.contains(state) || reason.contains("insufficient")),
                "{state}: {:?}",
                parsed.signals
            );
        }
        // Without an ARN, the account and region fields make the identity.
        let mut a = alarm("OK");
        a.as_object_mut().expect("object").remove("AlarmArn");
        let parsed = parse(&notification(&a.to_string()).to_string());
        assert!(
            matches!(&parsed.signals[..], [Signal::Resolved { fingerprint, .. }]
            if fingerprint == "cloudwatch:123456789012:EU (Ireland):checkout-5xx-critical")
        );
    }

    #[test]
    fn other_messages_on_the_topic_are_ignored_saying_why() {
        for message in [
            "plain text from someone publishing to the topic",
            r#"{"version":"0","detail-type":"EC2 Instance State-change Notification"}"#,
            r#"{"AlarmName": 7, "NewStateValue": "ALARM"}"#,
        ] {
            let parsed = parse(&notification(message).to_string());
            assert!(
                matches!(&parsed.signals[..], [Signal::Ignored { reason }] if reason.contains("not a CloudWatch alarm")),
                "{message}: {:?}",
                parsed.signals
            );
        }
    }

    #[test]
    fn confirmations_are_ignored_signals_and_the_subscription_is_named() {
        let h = headers(&[]);
        let body = confirmation_of("SubscriptionConfirmation").to_string();
        let parsed = parse(&body);
        assert_eq!(
            parsed.delivery_id.as_deref(),
            Some("165545c9-2a5c-472c-8df2-7ff2be2b3b1b")
        );
        assert!(matches!(&parsed.signals[..], [Signal::Ignored { .. }]));
        assert_eq!(
            CloudWatch.confirmation(&delivery(&h, &body)),
            Some(Confirmation {
                topic: TOPIC.into(),
                url: SUBSCRIBE_URL.into()
            })
        );
        let body = confirmation_of("UnsubscribeConfirmation").to_string();
        assert!(matches!(
            &parse(&body).signals[..],
            [Signal::Ignored { .. }]
        ));
        assert_eq!(CloudWatch.confirmation(&delivery(&h, &body)), None);
        let body = notification("{}").to_string();
        assert_eq!(CloudWatch.confirmation(&delivery(&h, &body)), None);
    }

    #[test]
    fn malformed_envelopes_are_refused_saying_why() {
        let h = headers(&[]);
        let mut unknown = notification("{}");
        unknown["Type"] = "Surprise".into();
        let mut no_id = notification("{}");
        no_id["MessageId"] = "".into();
        refuses_malformed(
            &CloudWatch,
            &h,
            "",
            &[
                ("not json".to_owned(), "invalid_json"),
                ("{}".to_owned(), "invalid_payload"),
                (
                    r#"{"Type":"Notification","MessageId":"1"}"#.to_owned(),
                    "invalid_payload",
                ),
                (r#"{"Type":1}"#.to_owned(), "invalid_payload"),
                (unknown.to_string(), "invalid_payload"),
                (no_id.to_string(), "invalid_payload"),
            ],
        );
    }

    #[test]
    fn setup_says_the_secret_is_not_used() {
        let setup = CloudWatch.setup("https://aurora.example.com/webhooks/cloudwatch/1", None);
        assert_eq!((setup.header, setup.header_value), (None, None));
        let steps = setup.steps.join(" ");
        assert!(steps.contains("protocol HTTPS") && steps.contains("not used"));
        assert_eq!(
            serde_json::to_value(CloudWatch.descriptor().auth).expect("json")["kind"],
            "sns_signature"
        );
    }
}
