use super::*;

#[test]
fn creating_an_organization_makes_the_founder_its_admin() {
    let state = given(vec![])
        .when(OrganizationCommand::Create {
            name: "  Acme ".to_owned(),
            founder_id: ana(),
            founder_email: " Ana@Acme.IO ".to_owned(),
            at: at(0),
        })
        .then(vec![created(), seeded_policy(ana(), 0)]);

    assert!(state.created);
    assert_eq!(state.name, "Acme");
    assert_eq!(state.created_at, Some(at(0)));
    assert_eq!(state.role_of(ana()), Some(Role::Admin));
    assert_eq!(state.members[&ana()].email, "ana@acme.io");
    assert_eq!(state.members[&ana()].joined_at, at(0));
    assert_eq!(state.admin_count(), 1);
}

#[test]
fn a_new_organization_starts_with_the_default_deny_template() {
    let state = given(vec![])
        .when(OrganizationCommand::Create {
            name: "Acme".to_owned(),
            founder_id: ana(),
            founder_email: "ana@acme.io".to_owned(),
            at: at(0),
        })
        .then(vec![created(), seeded_policy(ana(), 0)]);
    assert!(state.agent_policy.allow.is_empty());
    assert_eq!(state.agent_policy.deny.len(), 13);
    assert_eq!(
        state.agent_policy.deny,
        crate::gate::default_deny_patterns()
    );
    let firewall = crate::gate::DEFAULT_DENY_TEMPLATE
        .iter()
        .find(|rule| rule.description == "Network configuration changes")
        .expect("the template has a firewall rule");
    assert!(state
        .agent_policy
        .deny
        .iter()
        .any(|p| p == firewall.pattern));
    // An admin edits it like any other policy.
    given(vec![created(), seeded_policy(ana(), 0)])
        .when(OrganizationCommand::SetAgentPolicy {
            allow: Vec::new(),
            deny: vec![r"\brm\s+-rf\s+/".to_owned()],
            by: ana(),
            at: at(1),
        })
        .then(vec![OrganizationEvent::AgentPolicySet {
            allow: Vec::new(),
            deny: vec![r"\brm\s+-rf\s+/".to_owned()],
            by: ana(),
            at: at(1),
        }]);
}

#[test]
fn an_organization_cannot_be_created_twice() {
    given(vec![created()])
        .when(OrganizationCommand::Create {
            name: "Acme again".to_owned(),
            founder_id: bo(),
            founder_email: "bo@acme.io".to_owned(),
            at: at(1),
        })
        .then_error(OrganizationError::AlreadyCreated);
}

#[test]
fn an_organization_needs_a_name() {
    given(vec![])
        .when(OrganizationCommand::Create {
            name: "   ".to_owned(),
            founder_id: ana(),
            founder_email: "ana@acme.io".to_owned(),
            at: at(0),
        })
        .then_error(OrganizationError::EmptyName);
}

#[test]
fn an_organization_name_may_hold_at_most_two_hundred_characters() {
    let create = |name: String| OrganizationCommand::Create {
        name,
        founder_id: ana(),
        founder_email: "ana@acme.io".to_owned(),
        at: at(0),
    };
    given(vec![])
        .when(create("é".repeat(NAME_MAX_CHARS + 1)))
        .then_error(OrganizationError::NameTooLong {
            len: NAME_MAX_CHARS + 1,
            max: NAME_MAX_CHARS,
        });
    let longest = "é".repeat(NAME_MAX_CHARS);
    let state = given(vec![]).when(create(longest.clone())).then(vec![
        OrganizationEvent::Created {
            name: longest.clone(),
            founder_id: ana(),
            founder_email: "ana@acme.io".to_owned(),
            at: at(0),
        },
        seeded_policy(ana(), 0),
    ]);
    assert_eq!(state.name, longest);
}

#[test]
fn the_founder_needs_an_email_that_looks_like_one() {
    for email in [
        "",
        "ana",
        "ana@",
        "@acme.io",
        "ana@acme",
        "ana@@acme.io",
        "ana@b@acme.io",
        "ana@.io",
        "ana@acme.",
        "an a@acme.io",
    ] {
        given(vec![])
            .when(OrganizationCommand::Create {
                name: "Acme".to_owned(),
                founder_id: ana(),
                founder_email: email.to_owned(),
                at: at(0),
            })
            .then_error(OrganizationError::InvalidEmail {
                email: email.to_owned(),
            });
    }
}

#[test]
fn every_command_but_create_is_refused_before_the_organization_exists() {
    for command in every_command_but_create() {
        given(vec![])
            .when(command)
            .then_error(OrganizationError::NotCreated);
    }
}
