//! The SNS message as posted to an HTTP(S) subscription: its fields and its three types.

use serde::Deserialize;

use crate::sources::common::json;
use crate::sources::Refusal;

/// An SNS message as posted to an HTTP(S) subscription.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    #[serde(rename = "MessageId")]
    pub(crate) message_id: String,
    #[serde(rename = "TopicArn")]
    pub(crate) topic_arn: String,
    #[serde(rename = "Subject", default)]
    pub(crate) subject: Option<String>,
    #[serde(rename = "Message")]
    pub(crate) message: String,
    /// Kept as sent: it is part of the signed string.
    #[serde(rename = "Timestamp")]
    pub(crate) timestamp: String,
    #[serde(rename = "SignatureVersion", default)]
    pub(crate) signature_version: Option<String>,
    #[serde(rename = "Signature", default)]
    pub(crate) signature: Option<String>,
    #[serde(rename = "SigningCertURL", alias = "SigningCertUrl", default)]
    pub(crate) signing_cert_url: Option<String>,
    #[serde(rename = "SubscribeURL", default)]
    pub(crate) subscribe_url: Option<String>,
    #[serde(rename = "Token", default)]
    pub(crate) token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl Kind {
    pub(crate) fn of(text: &str) -> Option<Self> {
        match text {
            "Notification" => Some(Self::Notification),
            "SubscriptionConfirmation" => Some(Self::SubscriptionConfirmation),
            "UnsubscribeConfirmation" => Some(Self::UnsubscribeConfirmation),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Notification => "Notification",
            Self::SubscriptionConfirmation => "SubscriptionConfirmation",
            Self::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

impl Envelope {
    /// Reads an SNS message; a malformed one is a bad request saying why.
    pub(crate) fn read(body: &[u8]) -> Result<(Kind, Self), Refusal> {
        let m: Self = json("Amazon SNS", body)?;
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
}
