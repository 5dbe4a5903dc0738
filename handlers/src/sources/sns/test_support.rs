//! Signed SNS messages for tests: the fixture key and certificates, messages of each type, and
//! the trust check run on them.

use std::sync::OnceLock;

use base64::Engine as _;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};

use super::signature::canonical;
use super::{Envelope, Kind, SnsOrigins};
use crate::sources::common::tests_support::{delivery, headers};
use crate::sources::{Refusal, VerifyContext};

pub(crate) const KEY: &str = include_str!("../../../../tests/fixtures/sns/key.pem");
pub(crate) const CERT: &str = include_str!("../../../../tests/fixtures/sns/cert.pem");
pub(crate) const OTHER_CERT: &str = include_str!("../../../../tests/fixtures/sns/other-cert.pem");
pub(crate) const CERT_URL: &str =
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem";
pub(crate) const OTHER_CERT_URL: &str =
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-fedcba9876543210fedcba9876543210.pem";
pub(crate) const TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:cloudwatch-alarms";
pub(crate) const SUBSCRIBE_URL: &str = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:eu-west-1:123456789012:cloudwatch-alarms&Token=2336412f37fb687f5d51e6e2425f004aed";
/// A few seconds before `tests_support::delivery`'s arrival time.
pub(crate) const SENT: &str = "2026-11-23T10:00:27.315Z";

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
pub(crate) fn signed(mut fields: serde_json::Value, version: &str) -> String {
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

pub(crate) fn alarm(state: &str) -> serde_json::Value {
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

pub(crate) fn notification(message: &str) -> serde_json::Value {
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

pub(crate) fn confirmation_of(kind: &str) -> serde_json::Value {
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

pub(crate) fn context(pinned: Option<&str>) -> VerifyContext {
    let ctx = VerifyContext::new(SnsOrigins::aws_only());
    ctx.certs
        .insert_pem(CERT_URL, CERT.as_bytes())
        .expect("the fixture certificate");
    ctx.certs
        .insert_pem(OTHER_CERT_URL, OTHER_CERT.as_bytes())
        .expect("the other certificate");
    ctx.with_pinned_topic(pinned.map(str::to_owned))
}

/// The SNS trust check of `body` for an integration pinned to `pinned`.
pub(crate) async fn check(body: &str, pinned: Option<&str>) -> Result<(), Refusal> {
    let h = headers(&[("x-amz-sns-message-type", "Notification")]);
    super::authenticate(&delivery(&h, body), &context(pinned)).await
}

pub(crate) fn refused_saying(result: Result<(), Refusal>, words: &str) {
    match result {
        Err(Refusal::Unauthorized(message)) => {
            assert!(message.contains(words), "{message:?} should say {words:?}")
        }
        other => panic!("expected 401 saying {words:?}, got {other:?}"),
    }
}
