//! The server config's `accounts` block, rendered from the grants: Aurora's account, and the
//! external one with a user per active grant and the services it imports.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{api, Grant, Permissions, AURORA_ACCOUNT, AURORA_USER, EXTERNAL_ACCOUNT};

/// The JetStream services Aurora's account lends the external one: the subject in Aurora's
/// account, the name it is imported as, and how it answers.
const LENT_SERVICES: [(&str, &str, &str); 3] = [
    (
        "$JS.API.CONSUMER.INFO.EVENTS.*",
        "aurora.API.CONSUMER.INFO.EVENTS.*",
        "singleton",
    ),
    // A pull request is answered by as many messages as it asked for.
    (
        "$JS.API.CONSUMER.MSG.NEXT.EVENTS.*",
        "aurora.API.CONSUMER.MSG.NEXT.EVENTS.*",
        "stream",
    ),
    ("$JS.ACK.EVENTS.>", "$JS.ACK.EVENTS.>", "singleton"),
];

/// The services Aurora itself answers for the external account ([`api`]), under the same
/// subject in both accounts.
const SERVED_SERVICES: [&str; 2] = [api::CREATE_SUBJECTS, api::DELETE_SUBJECTS];

#[derive(Serialize)]
struct User<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nkey: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<Permissions>,
}

/// The server config's `accounts` block (JSON is valid nats-server config): Aurora's account with
/// JetStream and its own user, unrestricted, lending [`LENT_SERVICES`] and [`SERVED_SERVICES`] to
/// the external account, which holds one nkey user per grant still active at `now`. There is no
/// `no_auth_user`: a connection without credentials is refused.
pub fn accounts(aurora_password: &str, grants: &[Grant], now: DateTime<Utc>) -> String {
    let users: Vec<User<'_>> = grants
        .iter()
        .filter(|grant| grant.is_active_at(now))
        .map(|grant| User {
            user: None,
            password: None,
            nkey: Some(&grant.public_key),
            permissions: Some(grant.permissions()),
        })
        .collect();
    let export = |subject: &str, response: &str| {
        serde_json::json!({
            "service": subject,
            "response_type": response,
            "accounts": [EXTERNAL_ACCOUNT],
        })
    };
    let exports: Vec<serde_json::Value> = LENT_SERVICES
        .iter()
        .map(|(subject, _, response)| export(subject, response))
        .chain(
            SERVED_SERVICES
                .iter()
                .map(|subject| export(subject, "singleton")),
        )
        .collect();
    let imports: Vec<serde_json::Value> = LENT_SERVICES
        .iter()
        .map(|(subject, to, _)| {
            serde_json::json!({
                "service": { "account": AURORA_ACCOUNT, "subject": subject },
                "to": to,
            })
        })
        .chain(SERVED_SERVICES.iter().map(|subject| {
            // `share`: the server adds the requester's identity (its nkey) to each request.
            serde_json::json!({
                "service": { "account": AURORA_ACCOUNT, "subject": subject },
                "to": subject,
                "share": true,
            })
        }))
        .collect();
    let block = serde_json::json!({
        AURORA_ACCOUNT: {
            "jetstream": "enabled",
            "users": [User {
                user: Some(AURORA_USER),
                password: Some(aurora_password),
                nkey: None,
                permissions: None,
            }],
            "exports": exports,
        },
        EXTERNAL_ACCOUNT: { "users": users, "imports": imports },
    });
    // Serialising plain strings and vectors cannot fail.
    #[allow(clippy::unwrap_used)]
    let text = serde_json::to_string_pretty(&block).unwrap();
    format!("accounts: {text}\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::tests::grant;
    use super::super::API_PREFIX;
    use super::*;

    #[test]
    fn expired_grants_are_left_out_of_the_servers_config() {
        let now = Utc::now();
        let text = accounts(
            "pw",
            &[
                grant("t1", "live", Some(now + chrono::Duration::hours(1))),
                grant("t1", "old", Some(now - chrono::Duration::seconds(1))),
                grant("t2", "forever", None),
            ],
            now,
        );
        let block: serde_json::Value =
            serde_json::from_str(text.strip_prefix("accounts: ").unwrap()).unwrap();
        assert_eq!(block["AURORA"]["users"][0]["user"], "aurora");
        assert_eq!(block["AURORA"]["users"][0]["password"], "pw");
        assert_eq!(block["AURORA"]["jetstream"], "enabled");
        let keys: Vec<&str> = block["EXTERNAL"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["nkey"].as_str().unwrap())
            .collect();
        assert_eq!(keys, vec!["Ut1live", "Ut2forever"]);
        assert!(block["EXTERNAL"].get("jetstream").is_none());
    }

    #[test]
    fn aurora_serves_create_and_delete_knowing_who_asks() {
        let text = accounts("pw", &[], Utc::now());
        let block: serde_json::Value =
            serde_json::from_str(text.strip_prefix("accounts: ").unwrap()).unwrap();
        let imports = block["EXTERNAL"]["imports"].as_array().unwrap();
        assert_eq!(imports.len(), 5);
        let shared: Vec<&str> = imports
            .iter()
            .filter(|i| i["share"] == true)
            .map(|i| i["to"].as_str().unwrap())
            .collect();
        assert_eq!(
            shared,
            [
                "aurora.API.CONSUMER.CREATE.EVENTS.>",
                "aurora.API.CONSUMER.DELETE.EVENTS.*"
            ]
        );
        assert!(shared.iter().all(|s| s.starts_with(API_PREFIX)));
        assert_eq!(block["AURORA"]["exports"].as_array().unwrap().len(), 5);
    }
}
