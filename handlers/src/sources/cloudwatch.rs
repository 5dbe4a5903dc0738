//! AWS CloudWatch alarms, delivered by Amazon SNS: the alarm notifies an SNS topic, and an HTTPS
//! subscription of that topic posts to Aurora.
//!
//! Authentication is SNS's own message trust, not a secret (the integration still gets a
//! generated one, unused): [`super::sns`] checks the signature against a certificate from Amazon
//! SNS or a trusted origin, the message's freshness and the integration's pinned topic. The ingest
//! handler confirms the subscription (one GET of its `SubscribeURL`, on the same trusted origins)
//! and pins its topic on the integration.
//!
//! A `Notification` carries the CloudWatch alarm as a JSON string in `Message`: `ALARM` fires,
//! `OK` resolves, `INSUFFICIENT_DATA` is not acted on. Identity is account + region + alarm
//! name; the alert id adds the state change time, so each firing episode is its own alert.

use async_trait::async_trait;
use aurora_domain::intake::{FiringAlert, Signal};
use aurora_domain::Severity;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::common::non_blank;
use super::sns::{self, Envelope, Kind};
use super::{
    Auth, Confirmation, Delivery, Parsed, Refusal, Setup, Source, SourceDescriptor, VerifyContext,
};

pub struct CloudWatch;

/// Dimensions that name the service an alarm is about, most specific first.
const SERVICE_DIMENSIONS: &[&str] = &[
    "ServiceName",
    "Service",
    "FunctionName",
    "DBInstanceIdentifier",
    "ClusterName",
    "LoadBalancer",
];

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

/// One `:`-separated part of an ARN (`arn:partition:service:region:account:…`).
fn arn_part(arn: Option<&str>, index: usize) -> Option<&str> {
    arn.filter(|a| a.starts_with("arn:"))
        .and_then(|a| a.split(':').nth(index))
        .filter(|p| !p.is_empty())
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
                .find_map(|m| non_blank(m.namespace.as_deref()))
                .map(str::to_owned)
        })
}

/// An alarm has no severity of its own: critical or medium when its name or description says
/// critical or warning, else unknown (its investigation assesses it).
fn severity_of(name: &str, description: Option<&str>) -> Severity {
    let text = format!("{name} {}", description.unwrap_or_default()).to_ascii_lowercase();
    if text.contains("critical") {
        Severity::Critical
    } else if text.contains("warning") {
        Severity::Medium
    } else {
        Severity::Unknown
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
        let account = non_blank(alarm.aws_account_id.as_deref())
            .or_else(|| arn_part(arn, 4))
            .unwrap_or("unknown");
        let region = arn_part(arn, 3)
            .or_else(|| non_blank(alarm.region.as_deref()))
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
        let description = non_blank(alarm.alarm_description.as_deref());
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
                description: match (description, non_blank(alarm.new_state_reason.as_deref())) {
                    (Some(d), Some(r)) => Some(format!("{d}\n\n{r}")),
                    (d, r) => d.or(r).map(str::to_owned),
                },
                url: console_url(arn, name),
                fingerprint,
                placement: Default::default(),
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
    kept_headers: &[
        "x-amz-sns-message-type",
        "x-amz-sns-message-id",
        "x-amz-sns-topic-arn",
    ],
    ..SourceDescriptor::new(
        "cloudwatch",
        "AWS CloudWatch (SNS)",
        Auth::SnsSignature,
        "Amazon SNS → Topics → the topic your CloudWatch alarms notify → Create subscription (protocol HTTPS, raw message delivery off); then, in CloudWatch → Alarms → each alarm → Actions, notify that topic \"In alarm\" and \"OK\"",
    )
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
        sns::authenticate(delivery, ctx).await
    }

    fn parse(&self, delivery: &Delivery<'_>) -> Result<Parsed, Refusal> {
        let (kind, m) = Envelope::read(delivery.body)?;
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
        Ok(Parsed::one(Some(m.message_id), signal))
    }

    fn confirmation(&self, delivery: &Delivery<'_>) -> Option<Confirmation> {
        match Envelope::read(delivery.body).ok()? {
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
        Setup::without_header(
            url,
            vec![
                format!(
                    "In Amazon SNS: open the topic your CloudWatch alarms notify (or create one) → Create subscription → protocol {protocol}, endpoint {url}; leave raw message delivery off."
                ),
                "Aurora confirms the subscription by itself as soon as SNS asks, and from then on accepts messages from that topic only (pinned on first use), each checked against Amazon's signing certificate.".into(),
                "In CloudWatch: Alarms → each alarm → Edit → Actions: notify that topic \"In alarm\" (opens an incident) and \"OK\" (resolves it).".into(),
                "Nothing to paste: SNS signs its messages itself, so the secret Aurora generated for this integration is not used.".into(),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::common::tests_support::*;
    use crate::sources::sns::test_support::*;

    #[tokio::test]
    async fn authentication_is_the_sns_trust_check() {
        let h = headers(&[]);
        let ctx = context(Some(TOPIC));
        let body = signed(notification(&alarm("ALARM").to_string()), "2");
        assert_eq!(
            CloudWatch
                .authenticate(&delivery(&h, &body), b"unused", &ctx)
                .await,
            Ok(())
        );
        let tampered = body.replace("checkout-5xx-critical", "checkout-5xx-fine");
        refused_saying(
            CloudWatch
                .authenticate(&delivery(&h, &tampered), b"unused", &ctx)
                .await,
            "does not match",
        );
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

        // No naming dimension: the namespace; neither critical nor warning: unknown.
        a["AlarmDescription"] = serde_json::Value::Null;
        a["Trigger"]["Dimensions"] = serde_json::json!([{"name": "InstanceId", "value": "i-0abc"}]);
        a["Trigger"]["Namespace"] = "AWS/EC2".into();
        let parsed = parse(&notification(&a.to_string()).to_string());
        let [Signal::Firing(f)] = &parsed.signals[..] else {
            panic!("firing")
        };
        assert_eq!(
            (f.service.as_deref(), f.severity, f.description.is_some()),
            (Some("AWS/EC2"), Severity::Unknown, true)
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
