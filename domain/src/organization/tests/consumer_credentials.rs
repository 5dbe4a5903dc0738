use super::*;

/// A well-formed nkey user public key (`U` + 55 base32 characters).
fn key(n: u8) -> String {
    format!("U{}", char::from(b'A' + n).to_string().repeat(55))
}

fn issue(name: &str, expires_at: Option<DateTime<Utc>>) -> OrganizationCommand {
    OrganizationCommand::IssueConsumerCredentials(NewConsumerCredentials {
        credential_id: uuid(301),
        name: name.to_owned(),
        public_key: key(1),
        expires_at,
        at: at(10),
    })
}

fn issued(name: &str, expires_at: Option<DateTime<Utc>>) -> OrganizationEvent {
    OrganizationEvent::ConsumerCredentialsIssued(NewConsumerCredentials {
        credential_id: uuid(301),
        name: name.to_owned(),
        public_key: key(1),
        expires_at,
        at: at(10),
    })
}

#[test]
fn consumer_credentials_are_issued_with_only_their_public_key() {
    let state = given(team())
        .when(issue("audit", Some(in_days(30))))
        .then(vec![issued("audit", Some(in_days(30)))]);
    let credentials = &state.consumer_credentials["audit"];
    assert_eq!(credentials.credential_id, uuid(301));
    assert_eq!(credentials.public_key, key(1));
    assert!(credentials.is_usable_at(at(11)));
    assert!(!credentials.is_usable_at(in_days(30)));
}

#[test]
fn a_name_in_use_is_refused_until_revoked_or_expired() {
    given(with(team(), vec![issued("audit", None)]))
        .when(issue("audit", None))
        .then_error(OrganizationError::ConsumerCredentialsExist {
            name: "audit".into(),
        });
    // Expired at minute 5: the name is free again.
    let mut expired = issued("audit", Some(at(5)));
    if let OrganizationEvent::ConsumerCredentialsIssued(NewConsumerCredentials {
        at: when, ..
    }) = &mut expired
    {
        *when = at(1);
    }
    given(with(team(), vec![expired]))
        .when(issue("audit", None))
        .then(vec![issued("audit", None)]);
}

#[test]
fn a_consumer_name_is_one_lower_case_subject_token() {
    for bad in [
        "",
        "Audit",
        "a.b",
        "a b",
        "a>",
        "*",
        &"x".repeat(CONSUMER_NAME_MAX_CHARS + 1),
    ] {
        given(team())
            .when(issue(bad, None))
            .then_error(OrganizationError::InvalidConsumerName {
                name: bad.to_owned(),
                max: CONSUMER_NAME_MAX_CHARS,
            });
    }
    given(team())
        .when(issue(&"x".repeat(CONSUMER_NAME_MAX_CHARS), None))
        .then(vec![issued(&"x".repeat(CONSUMER_NAME_MAX_CHARS), None)]);
}

#[test]
fn a_consumer_key_must_be_an_nkey_user_public_key() {
    for bad in [
        "",
        "SUAAAA",
        &format!("A{}", "B".repeat(55)),
        &format!("U{}", "b".repeat(55)),
    ] {
        given(team())
            .when(OrganizationCommand::IssueConsumerCredentials(
                NewConsumerCredentials {
                    credential_id: uuid(301),
                    name: "audit".into(),
                    public_key: bad.to_owned(),
                    expires_at: None,
                    at: at(10),
                },
            ))
            .then_error(OrganizationError::InvalidConsumerKey {
                key: bad.to_owned(),
            });
    }
}

#[test]
fn consumer_credentials_must_expire_after_they_are_issued() {
    given(team())
        .when(issue("audit", Some(at(10))))
        .then_error(OrganizationError::InvalidExpiry);
}

#[test]
fn revoking_names_the_credential_and_frees_the_name() {
    let state = given(with(team(), vec![issued("audit", None)]))
        .when(OrganizationCommand::RevokeConsumerCredentials {
            name: "audit".into(),
            at: at(20),
        })
        .then(vec![OrganizationEvent::ConsumerCredentialsRevoked {
            credential_id: uuid(301),
            name: "audit".into(),
            at: at(20),
        }]);
    assert!(state.consumer_credentials.is_empty());
}

#[test]
fn revoking_unknown_credentials_is_refused() {
    given(team())
        .when(OrganizationCommand::RevokeConsumerCredentials {
            name: "audit".into(),
            at: at(20),
        })
        .then_error(OrganizationError::UnknownConsumerCredentials {
            name: "audit".into(),
        });
}
