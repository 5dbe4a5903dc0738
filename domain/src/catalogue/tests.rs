use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::{catalogue, markdown, samples, EventType};

/// Where `aurora events catalogue` is committed.
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events.md");

fn by_name() -> BTreeMap<String, EventType> {
    let events = catalogue();
    let count = events.len();
    let by_name: BTreeMap<_, _> = events.into_iter().map(|e| (e.name.clone(), e)).collect();
    assert_eq!(by_name.len(), count, "two variants share an event type");
    by_name
}

fn validator(event: &EventType) -> jsonschema::Validator {
    jsonschema::options()
        .should_validate_formats(true)
        .build(&event.schema)
        .unwrap_or_else(|e| panic!("the schema of {} is not a valid schema: {e}", event.name))
}

fn errors(validator: &jsonschema::Validator, body: &Value) -> Vec<String> {
    validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_event_type_the_code_writes_is_in_the_catalogue_and_has_a_sample() {
    let catalogue = by_name();
    let mut sampled = BTreeSet::new();
    for (event_type, body) in samples::all() {
        let entry = catalogue
            .get(event_type)
            .unwrap_or_else(|| panic!("{event_type} (a sample's event_type()) has no schema"));
        assert_eq!(
            body["type"], entry.tag,
            "{event_type}: the body's tag is not the catalogue's"
        );
        sampled.insert(event_type.to_owned());
    }
    let unsampled: Vec<_> = catalogue.keys().filter(|n| !sampled.contains(*n)).collect();
    assert!(
        unsampled.is_empty(),
        "event types without a sample in catalogue/samples/: {unsampled:?}"
    );
}

#[test]
fn every_sample_is_valid_against_its_schema() {
    let catalogue = by_name();
    for (event_type, body) in samples::all() {
        let validator = validator(&catalogue[event_type]);
        let errors = errors(&validator, &body);
        assert!(errors.is_empty(), "{event_type}: {errors:?}\n{body:#}");
    }
}

#[test]
fn schemas_refuse_bodies_that_are_not_the_event() {
    let catalogue = by_name();
    let samples = samples::all();
    let opened = &samples
        .iter()
        .find(|(t, _)| *t == "incident.opened")
        .expect("a sample")
        .1;
    let validator = validator(&catalogue["incident.opened"]);
    let mut cases = Vec::new();
    for (field, value) in [
        ("type", Value::from("resolved")),
        ("severity", Value::from("P1")),
        ("at", Value::from("yesterday")),
        ("id", Value::from("not-a-uuid")),
        ("title", Value::Null),
    ] {
        let mut body = opened.clone();
        body[field] = value;
        cases.push((field, body));
    }
    let mut without_title = opened.clone();
    without_title
        .as_object_mut()
        .expect("an object")
        .remove("title");
    cases.push(("no title", without_title));
    for (case, body) in cases {
        assert!(!validator.is_valid(&body), "{case}: accepted {body}");
    }
    // Optional parts may be left out, as older events do.
    let mut without_why = opened.clone();
    without_why
        .as_object_mut()
        .expect("an object")
        .remove("why");
    assert!(validator.is_valid(&without_why));
}

#[test]
fn every_event_enum_of_the_domain_is_in_the_catalogue() {
    let mut implemented = BTreeSet::new();
    collect_event_enums(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path(),
        &mut implemented,
    );
    let catalogued: BTreeSet<String> = catalogue().iter().map(|e| e.rust_enum.to_owned()).collect();
    assert!(implemented.len() >= 11, "found {implemented:?}");
    assert_eq!(implemented, catalogued, "add the enum to catalogue()");
}

/// The `X` of every `impl DomainEvent for X` under `dir`.
fn collect_event_enums(dir: &Path, into: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("the source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            collect_event_enums(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            for rest in text
                .lines()
                .filter_map(|l| l.strip_prefix("impl DomainEvent for "))
            {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                into.insert(name);
            }
        }
    }
}

#[test]
fn every_event_type_says_what_happened() {
    let undescribed: Vec<_> = catalogue()
        .into_iter()
        .filter(|e| e.description.trim().is_empty())
        .map(|e| e.name)
        .collect();
    assert!(
        undescribed.is_empty(),
        "give these variants a doc comment (it is their description in the catalogue): \
         {undescribed:?}"
    );
}

#[test]
fn the_committed_catalogue_is_what_the_generator_prints() {
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == markdown(),
        "docs/events.md is not what the code describes; write it again with \
         `cargo run -p aurora-gateway --bin aurora -- events catalogue > docs/events.md`"
    );
}
