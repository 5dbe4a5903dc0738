//! What a refused consumer request is told: JetStream's error shape, so a client shows it as it
//! shows JetStream's own, with Aurora's own numbers.

use std::time::Duration;

use serde::Serialize;

use super::churn::{CHANGE_BURST, CHANGE_INTERVAL};
use super::MAX_OWN_NAME_CHARS;

/// Why a request was not done. Its text is the `description` the client sees.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("Aurora answers consumer create and delete on stream EVENTS only")]
    UnknownSubject,
    #[error(
        "the request carries no credential identity (Aurora answers external credentials only)"
    )]
    NoIdentity,
    #[error("these credentials are revoked, expired or unknown")]
    UnknownCredential,
    #[error("the body is not a JetStream consumer create request: {0}")]
    BadBody(#[source] serde_json::Error),
    #[error("consumers are made on stream EVENTS only, not {stream:?}")]
    WrongStream { stream: String },
    #[error(
        "pull consumers only: deliver_subject and deliver_group (a push consumer) are refused"
    )]
    PushConsumer,
    #[error("a consumer of your own must be durable: set durable_name")]
    NotDurable,
    #[error("the consumer named in the subject ({subject:?}) is not the body's ({body:?})")]
    NameMismatch { subject: String, body: String },
    #[error(
        "consumer {name:?} is not yours to make: its name must be {prefix:?} followed by 1 to \
         {MAX_OWN_NAME_CHARS} letters, digits, - or _"
    )]
    NameOutsideGrant { name: String, prefix: String },
    #[error(
        "the filter in the subject ({subject:?}) must be the body's one filter_subject \
         (filter_subjects is refused)"
    )]
    FilterMismatch { subject: String },
    #[error(
        "filter {filter:?} reaches outside your tenant's events: it must be within {allowed:?}"
    )]
    FilterOutsideTenant { filter: String, allowed: String },
    #[error("at most {max} consumers of your own: delete one first")]
    TooMany { max: usize },
    #[error("consumer {name:?} is not one you made")]
    NotYours { name: String },
    #[error(
        "the consumer is made, but the NATS server has not yet let these credentials read it: \
         send the same request again"
    )]
    NotApplied,
    #[error("Aurora cannot do that right now; try again")]
    Unavailable,
    #[error(
        "too many changes to your consumers: {CHANGE_BURST} at once, then one every {} s (each \
         reloads the NATS server's config); try again in {}",
        CHANGE_INTERVAL.as_secs(),
        in_tenths(*retry_after)
    )]
    TooManyChanges { retry_after: Duration },
}

/// `2.4 s`: `wait` rounded up to a tenth of a second, so that trying again then is never early.
fn in_tenths(wait: Duration) -> String {
    let tenths = wait.as_millis().div_ceil(100).max(1);
    format!("{}.{} s", tenths / 10, tenths % 10)
}

impl Refusal {
    /// An HTTP-like status, as JetStream's errors carry.
    pub fn code(&self) -> u16 {
        match self {
            Self::UnknownSubject
            | Self::BadBody(_)
            | Self::WrongStream { .. }
            | Self::PushConsumer
            | Self::NotDurable
            | Self::NameMismatch { .. }
            | Self::FilterMismatch { .. } => 400,
            Self::NoIdentity
            | Self::UnknownCredential
            | Self::NameOutsideGrant { .. }
            | Self::FilterOutsideTenant { .. } => 403,
            Self::NotYours { .. } => 404,
            Self::TooMany { .. } => 409,
            Self::TooManyChanges { .. } => 429,
            Self::NotApplied | Self::Unavailable => 503,
        }
    }

    /// Aurora's own error numbers, above JetStream's (10001…), so a client can tell them apart.
    pub fn err_code(&self) -> u32 {
        match self {
            Self::UnknownSubject => 30001,
            Self::NoIdentity => 30002,
            Self::UnknownCredential => 30003,
            Self::BadBody(_) => 30004,
            Self::WrongStream { .. } => 30005,
            Self::PushConsumer => 30006,
            Self::NotDurable => 30007,
            Self::NameMismatch { .. } => 30008,
            Self::NameOutsideGrant { .. } => 30009,
            Self::FilterMismatch { .. } => 30010,
            Self::FilterOutsideTenant { .. } => 30011,
            Self::TooMany { .. } => 30012,
            Self::NotYours { .. } => 30013,
            Self::NotApplied => 30014,
            Self::Unavailable => 30015,
            Self::TooManyChanges { .. } => 30016,
        }
    }

    /// The answer, as JetStream shapes an error: `{"type", "error": {"code", "err_code",
    /// "description"}}`.
    pub fn to_json(&self, response_type: &str) -> Vec<u8> {
        let body = ErrorResponse {
            response_type,
            error: ErrorBody {
                code: self.code(),
                err_code: self.err_code(),
                description: self.to_string(),
            },
        };
        // Plain strings and numbers always serialise.
        #[allow(clippy::unwrap_used)]
        serde_json::to_vec(&body).unwrap()
    }
}

#[derive(Serialize)]
struct ErrorResponse<'a> {
    #[serde(rename = "type")]
    response_type: &'a str,
    error: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    code: u16,
    err_code: u32,
    description: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_refusal_reads_as_a_jetstream_error() {
        let answer: serde_json::Value = serde_json::from_slice(
            &Refusal::PushConsumer.to_json("io.nats.jetstream.api.v1.consumer_create_response"),
        )
        .unwrap();
        assert_eq!(
            answer["type"],
            "io.nats.jetstream.api.v1.consumer_create_response"
        );
        assert_eq!(answer["error"]["code"], 400);
        assert_eq!(answer["error"]["err_code"], 30006);
        assert!(answer["error"]["description"]
            .as_str()
            .unwrap()
            .contains("pull consumers only"));
        let parsed: async_nats::jetstream::Error =
            serde_json::from_value(answer["error"].clone()).unwrap();
        assert_eq!(parsed.code(), 400);
    }

    #[test]
    fn too_many_changes_says_the_limit_and_when_to_try_again_never_too_early() {
        let refusal = Refusal::TooManyChanges {
            retry_after: Duration::from_millis(2_301),
        };
        assert_eq!((refusal.code(), refusal.err_code()), (429, 30016));
        assert_eq!(
            refusal.to_string(),
            "too many changes to your consumers: 12 at once, then one every 3 s (each reloads the \
             NATS server's config); try again in 2.4 s"
        );
        assert_eq!(in_tenths(Duration::from_millis(3_000)), "3.0 s");
        assert_eq!(in_tenths(Duration::from_millis(1)), "0.1 s");
        assert_eq!(in_tenths(Duration::ZERO), "0.1 s");
    }
}
