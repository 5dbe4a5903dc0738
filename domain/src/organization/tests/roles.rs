use super::*;
use crate::values::ValueError;

#[test]
fn roles_are_ordered_viewer_editor_admin() {
    assert!(Role::Viewer < Role::Editor);
    assert!(Role::Editor < Role::Admin);
    assert_eq!(Role::ALL, [Role::Viewer, Role::Editor, Role::Admin]);
}

#[test]
fn a_role_is_at_least_itself_and_every_role_below_it() {
    for &role in Role::ALL {
        for &other in Role::ALL {
            assert_eq!(role.at_least(other), role >= other, "{role} vs {other}");
        }
    }
    assert!(Role::Admin.at_least(Role::Viewer));
    assert!(Role::Editor.at_least(Role::Editor));
    assert!(!Role::Viewer.at_least(Role::Editor));
}

#[test]
fn a_role_round_trips_through_its_name_display_and_json() {
    for &role in Role::ALL {
        let name = role.to_string();
        assert_eq!(name, role.as_str());
        assert_eq!(Role::parse(&name), Ok(role));
        assert_eq!(name.parse::<Role>(), Ok(role));
        let json = serde_json::to_value(role).unwrap();
        assert_eq!(json, serde_json::Value::String(name));
        assert_eq!(serde_json::from_value::<Role>(json).unwrap(), role);
    }
    assert_eq!(Role::Admin.as_str(), "admin");
}

#[test]
fn a_role_parses_in_any_case_and_unknown_names_are_refused() {
    assert_eq!(Role::parse(" Editor "), Ok(Role::Editor));
    assert_eq!(Role::parse("ADMIN"), Ok(Role::Admin));
    assert_eq!(
        Role::parse("owner"),
        Err(ValueError::UnknownRole("owner".to_owned()))
    );
}
