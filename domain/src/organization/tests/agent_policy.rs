use super::*;

fn set(allow: &[&str], deny: &[&str], by: Uuid) -> OrganizationCommand {
    OrganizationCommand::SetAgentPolicy {
        allow: allow.iter().map(|s| s.to_string()).collect(),
        deny: deny.iter().map(|s| s.to_string()).collect(),
        by,
        at: at(5),
    }
}

#[test]
fn an_admin_sets_the_agent_policy() {
    let state = given(team())
        .when(set(&["^kubectl "], &["secrets"], ana()))
        .then(vec![OrganizationEvent::AgentPolicySet {
            allow: vec!["^kubectl ".into()],
            deny: vec!["secrets".into()],
            by: ana(),
            at: at(5),
        }]);
    assert_eq!(state.agent_policy.allow, ["^kubectl "]);
    assert_eq!(state.agent_policy.deny, ["secrets"]);
}

#[test]
fn setting_the_same_policy_again_changes_nothing() {
    let mut events = team();
    events.push(OrganizationEvent::AgentPolicySet {
        allow: vec![],
        deny: vec!["secrets".into()],
        by: ana(),
        at: at(4),
    });
    given(events)
        .when(set(&[], &["secrets"], ana()))
        .then_nothing();
}

#[test]
fn only_an_admin_sets_the_agent_policy() {
    given(team())
        .when(set(&[], &["secrets"], bo()))
        .then_error(OrganizationError::NotAdmin { user: bo() });
    given(team())
        .when(set(&[], &["secrets"], dee()))
        .then_error(OrganizationError::NotMember { user: dee() });
}

#[test]
fn empty_long_or_too_many_patterns_are_refused() {
    given(team())
        .when(set(&[" "], &[], ana()))
        .then_error(OrganizationError::EmptyPolicyPattern);
    let long = "a".repeat(POLICY_PATTERN_MAX_CHARS + 1);
    given(team())
        .when(set(&[], &[long.as_str()], ana()))
        .then_error(OrganizationError::PolicyPatternTooLong {
            len: POLICY_PATTERN_MAX_CHARS + 1,
            max: POLICY_PATTERN_MAX_CHARS,
        });
    let many: Vec<&str> = std::iter::repeat_n("x", POLICY_PATTERNS_MAX + 1).collect();
    given(team()).when(set(&many, &[], ana())).then_error(
        OrganizationError::TooManyPolicyPatterns {
            count: POLICY_PATTERNS_MAX + 1,
            max: POLICY_PATTERNS_MAX,
        },
    );
}
