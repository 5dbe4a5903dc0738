use super::*;

fn history() -> Vec<OrganizationEvent> {
    with(
        team(),
        vec![
            invitation_issued(1, "dee@acme.io", Role::Admin, 5),
            OrganizationEvent::MemberJoined {
                user_id: dee(),
                email: "dee@acme.io".to_owned(),
                role: Role::Admin,
                invitation_id: Some(uuid(101)),
                at: at(6),
            },
            invitation_issued(2, "eve@acme.io", Role::Viewer, 7),
            OrganizationEvent::InvitationRevoked {
                invitation_id: uuid(102),
                email: "eve@acme.io".to_owned(),
                by: ana(),
                at: at(8),
            },
            token_issued(1, bo()),
            token_issued(2, cy()),
            OrganizationEvent::RoleChanged {
                user_id: cy(),
                email: "cy@acme.io".to_owned(),
                from: Role::Viewer,
                to: Role::Editor,
                by: dee(),
                at: at(30),
            },
            OrganizationEvent::MemberRemoved {
                user_id: bo(),
                email: "bo@acme.io".to_owned(),
                by: ana(),
                at: at(40),
            },
            token_revoked(1, bo(), ana(), 40),
            access_denied(),
        ],
    )
}

#[test]
fn fold_reproduces_the_state_the_aggregate_builds() {
    let folded = fold(history());

    assert_eq!(folded, given(history()).state());
    assert!(folded.created);
    assert_eq!(folded.name, "Acme");
    assert_eq!(
        folded.members.keys().copied().collect::<Vec<_>>(),
        [ana(), cy(), dee()]
    );
    assert_eq!(folded.admin_count(), 2);
    assert_eq!(folded.role_of(cy()), Some(Role::Editor));
    assert_eq!(folded.role_of(bo()), None);
    assert_eq!(
        folded.invitations[&uuid(101)].status,
        InvitationStatus::Accepted
    );
    assert_eq!(
        folded.invitations[&uuid(102)].status,
        InvitationStatus::Revoked
    );
    assert!(folded.api_tokens[&uuid(201)].revoked);
    assert!(!folded.api_tokens[&uuid(202)].revoked);
}

#[test]
fn fold_of_a_prefix_shows_the_organization_as_it_was() {
    let events = history();
    let before_removal = fold(events[..events.len() - 3].to_vec());

    assert_eq!(before_removal.role_of(bo()), Some(Role::Editor));
    assert_eq!(before_removal.role_of(cy()), Some(Role::Editor));
    assert_eq!(fold(vec![]), OrganizationState::default());
}

#[test]
fn a_member_is_found_by_email_ignoring_case_and_blanks() {
    let state = fold(team());

    let (user, member) = state.member_by_email(" Bo@ACME.io ").unwrap();
    assert_eq!(user, bo());
    assert_eq!(member.role, Role::Editor);
    assert!(state.member_by_email("dee@acme.io").is_none());
}

#[test]
fn every_event_survives_a_round_trip_through_json_at_the_current_version() {
    assert_eq!(OrganizationEvent::current_version(), Some(1));
    for event in history() {
        let body = serde_json::to_value(&event).unwrap();
        let loaded =
            OrganizationEvent::upcast(body.clone(), OrganizationEvent::current_version()).unwrap();
        assert_eq!(loaded, event);
        let unversioned = OrganizationEvent::upcast(body, None).unwrap();
        assert_eq!(unversioned, event);
    }
}

#[test]
fn every_event_has_its_own_dotted_type_name_and_time() {
    let events = [
        (created(), "organization.created"),
        (
            invitation_issued(1, "dee@acme.io", Role::Viewer, 5),
            "organization.invitation_issued",
        ),
        (
            OrganizationEvent::InvitationRevoked {
                invitation_id: uuid(101),
                email: "dee@acme.io".to_owned(),
                by: ana(),
                at: at(8),
            },
            "organization.invitation_revoked",
        ),
        (
            joined(bo(), "bo@acme.io", Role::Editor, 1),
            "organization.member_joined",
        ),
        (
            OrganizationEvent::RoleChanged {
                user_id: cy(),
                email: "cy@acme.io".to_owned(),
                from: Role::Viewer,
                to: Role::Editor,
                by: ana(),
                at: at(30),
            },
            "organization.role_changed",
        ),
        (
            OrganizationEvent::MemberRemoved {
                user_id: bo(),
                email: "bo@acme.io".to_owned(),
                by: ana(),
                at: at(40),
            },
            "organization.member_removed",
        ),
        (token_issued(1, bo()), "organization.api_token_issued"),
        (
            token_revoked(1, bo(), ana(), 40),
            "organization.api_token_revoked",
        ),
        (access_denied(), "organization.access_denied"),
        (
            OrganizationEvent::ConsumerCredentialsIssued(NewConsumerCredentials {
                credential_id: uuid(301),
                name: "audit".into(),
                public_key: format!("U{}", "A".repeat(55)),
                expires_at: None,
                at: at(50),
            }),
            "organization.consumer_credentials_issued",
        ),
        (
            OrganizationEvent::ConsumerCredentialsRevoked {
                credential_id: uuid(301),
                name: "audit".into(),
                at: at(51),
            },
            "organization.consumer_credentials_revoked",
        ),
    ];
    for (event, name) in events {
        assert_eq!(event.event_type(), name);
        let body = serde_json::to_value(&event).unwrap();
        assert_eq!(
            Some(body["type"].as_str().unwrap()),
            name.strip_prefix("organization.")
        );
        assert_eq!(
            body["at"],
            serde_json::to_value(event.occurred_at()).unwrap()
        );
    }
}

#[test]
fn an_unknown_event_gives_a_serde_error() {
    let body = serde_json::json!({"type": "exploded", "at": "2025-03-01T12:00:00Z"});
    assert!(OrganizationEvent::upcast(body, Some(1)).is_err());
}

#[test]
fn commands_travel_as_snake_case_tagged_json() {
    let command = invite(1, "dee@acme.io", Role::Editor, ana(), 5);
    let body = serde_json::to_value(&command).unwrap();

    assert_eq!(body["type"], "invite");
    assert_eq!(body["role"], "editor");
    assert_eq!(
        serde_json::from_value::<OrganizationCommand>(body).unwrap(),
        command
    );
}

#[test]
fn the_state_round_trips_through_json() {
    let state = fold(history());
    let body = serde_json::to_value(&state).unwrap();

    assert_eq!(
        body["invitations"][uuid(102).to_string()]["status"],
        "revoked"
    );
    assert_eq!(
        serde_json::from_value::<OrganizationState>(body).unwrap(),
        state
    );
}
