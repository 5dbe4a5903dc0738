//! Topic pinning: an integration takes messages from the one SNS topic it subscribed to first.

use super::envelope::Kind;
use crate::sources::Refusal;

/// Whether a message of `kind` from `topic` may come in, given the integration's pinned topic.
pub(crate) fn check_topic(kind: Kind, topic: &str, pinned: Option<&str>) -> Result<(), Refusal> {
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

#[cfg(test)]
mod tests {
    use crate::sources::sns::test_support::*;

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
}
