//! The SNS message signature: the canonical string of the signed fields, verified against the
//! signing certificate's RSA key (`SignatureVersion` 1 is SHA1withRSA, 2 SHA256withRSA, PKCS#1
//! v1.5), and the freshness of the message (replays).

use base64::Engine as _;
use chrono::{DateTime, Utc};
use ring::signature::{self as rsa_verify, UnparsedPublicKey, VerificationAlgorithm};

use super::envelope::{Envelope, Kind};
use crate::sources::{Refusal, VerifyContext};

/// How far a message's `Timestamp` may be from its arrival.
const MAX_SKEW_SECS: i64 = 3600;

/// The string SNS signs: `Key\nValue\n` for each signed field, in this order.
pub(crate) fn canonical(kind: Kind, m: &Envelope) -> Result<String, Refusal> {
    fn push(out: &mut String, key: &str, value: &str) {
        out.push_str(key);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    }
    let required = |value: &Option<String>, key: &str| {
        value
            .clone()
            .ok_or_else(|| Refusal::Unauthorized(format!("the SNS {} has no {key}", kind.name())))
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

/// Refuses a message sent more than an hour before (or after) it arrived.
pub(crate) fn check_fresh(timestamp: &str, received_at: DateTime<Utc>) -> Result<(), Refusal> {
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

/// A refusal of a message that is not (properly) signed.
pub(crate) fn unsigned(why: String) -> Refusal {
    Refusal::Unauthorized(format!("not a signed SNS message: {why}"))
}

/// Checks `m`'s signature with the key of its certificate (fetched from a trusted origin only).
pub(crate) async fn verify(kind: Kind, m: &Envelope, ctx: &VerifyContext) -> Result<(), Refusal> {
    let canonical = canonical(kind, m)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::sns::test_support::*;

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
}
