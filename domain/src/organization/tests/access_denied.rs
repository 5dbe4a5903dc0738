use super::*;

#[test]
fn a_denied_access_is_recorded_and_changes_nothing_else() {
    let before = given(team()).state();
    let after = given(team())
        .when(record_access_denied("incident.resolve"))
        .then(vec![access_denied()]);

    assert_eq!(after, before);
}

#[test]
fn a_denied_access_by_an_unknown_caller_is_recorded_too() {
    let denied = OrganizationEvent::AccessDenied(Denial {
        user_id: None,
        action: "organization.read".to_owned(),
        method: "GET".to_owned(),
        path: "/api/organization".to_owned(),
        role: None,
        at: at(60),
    });
    given(team())
        .when(OrganizationCommand::RecordAccessDenied(Denial {
            user_id: None,
            action: "organization.read".to_owned(),
            method: "GET".to_owned(),
            path: "/api/organization".to_owned(),
            role: None,
            at: at(60),
        }))
        .then(vec![denied]);
}

#[test]
fn a_denied_access_must_name_its_action() {
    given(team())
        .when(record_access_denied("  "))
        .then_error(OrganizationError::EmptyAction);
}
