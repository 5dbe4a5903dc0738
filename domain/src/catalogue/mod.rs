//! The event catalogue: every event type Aurora stores, with the JSON Schema of its body, made
//! from the event enums themselves (their serde attributes and doc comments, through
//! `schemars`), so it describes exactly what is written. `aurora events catalogue` prints it;
//! `docs/events.md` is that print, and a test fails when the two differ.
//!
//! Each schema describes the body as Aurora writes it (schemars' serialize contract: a field left
//! out when empty is not required) and stands alone: the definitions it refers to come with it.

use std::collections::BTreeSet;

use esrs::Aggregate as _;
use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use crate::event::DomainEvent;
use crate::{
    change, chat, connector, correlation, incident, integration, investigation, knowledge,
    organization, postmortem, service,
};

#[cfg(test)]
mod samples;
#[cfg(test)]
mod tests;

/// The name of the correlator's decision log among aggregates (`evt.<tenant>.correlator.<id>`).
pub const CORRELATOR: &str = "correlator";

/// One event type: what a consumer sees in the headers and the body of its messages.
#[derive(Debug, Clone, PartialEq)]
pub struct EventType {
    /// The stored name, e.g. `incident.opened` ([`DomainEvent::event_type`]).
    pub name: String,
    /// The aggregate type, the third token of the subject.
    pub aggregate: &'static str,
    /// The enum it is a variant of, e.g. `IncidentEvent`.
    pub rust_enum: &'static str,
    /// The value of the body's `type` field, e.g. `opened`.
    pub tag: String,
    /// The variant's doc comment.
    pub description: String,
    /// A JSON Schema (2020-12) of the body, with the definitions it refers to.
    pub schema: Value,
}

impl EventType {
    /// The CloudEvents `ce-type` header.
    pub fn cloudevents_type(&self) -> String {
        format!("aurora.{}", self.name)
    }

    /// The subjects its messages are published on.
    pub fn subject(&self) -> String {
        format!("evt.<tenant>.{}.<id>", self.aggregate)
    }
}

/// Every event type, by aggregate, each enum's variants in declaration order.
pub fn catalogue() -> Vec<EventType> {
    [
        family::<organization::OrganizationEvent>(organization::Organization::NAME),
        family::<incident::IncidentEvent>(incident::Incident::NAME),
        family::<investigation::InvestigationEvent>(investigation::Investigation::NAME),
        family::<postmortem::PostmortemEvent>(postmortem::Postmortem::NAME),
        family::<chat::ChatEvent>(chat::ChatSession::NAME),
        family::<correlation::CorrelatorEvent>(CORRELATOR),
        family::<integration::IntegrationEvent>(integration::Integration::NAME),
        family::<change::ChangeRecordEvent>(change::Change::NAME),
        family::<connector::ConnectorEvent>(connector::Connector::NAME),
        family::<service::ServiceEvent>(service::Service::NAME),
        family::<knowledge::KnowledgeEvent>(knowledge::KnowledgeDocument::NAME),
    ]
    .concat()
}

/// The event types of `E`, one per `oneOf` branch of its schema (one per variant: the enums are
/// internally tagged by `type`).
fn family<E: DomainEvent>(aggregate: &'static str) -> Vec<EventType> {
    let root = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<E>()
        .to_value();
    let rust_enum = std::any::type_name::<E>()
        .rsplit("::")
        .next()
        .unwrap_or_default();
    let definitions = root.get("$defs").and_then(Value::as_object);
    let variants = root.get("oneOf").and_then(Value::as_array);
    variants
        .into_iter()
        .flatten()
        .map(|variant| {
            let tag = variant
                .pointer("/properties/type/const")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let name = format!("{aggregate}.{tag}");
            let description = variant
                .get("description")
                .and_then(Value::as_str)
                .map(plain_links)
                .unwrap_or_default();
            let mut schema = Map::new();
            schema.insert("$schema".into(), root["$schema"].clone());
            schema.insert("title".into(), json!(format!("aurora.{name}")));
            schema.extend(variant.as_object().cloned().unwrap_or_default());
            let used = referenced(variant, definitions);
            if !used.is_empty() {
                schema.insert("$defs".into(), Value::Object(used));
            }
            EventType {
                name,
                aggregate,
                rust_enum,
                tag,
                description,
                schema: plain_descriptions(Value::Object(schema)),
            }
        })
        .collect()
}

/// The definitions `schema` refers to, directly or through one another.
fn referenced(schema: &Value, definitions: Option<&Map<String, Value>>) -> Map<String, Value> {
    let Some(definitions) = definitions else {
        return Map::new();
    };
    let mut seen = BTreeSet::new();
    let mut pending = Vec::new();
    refs(schema, &mut pending);
    while let Some(name) = pending.pop() {
        if seen.insert(name.clone()) {
            if let Some(definition) = definitions.get(&name) {
                refs(definition, &mut pending);
            }
        }
    }
    seen.into_iter()
        .filter_map(|name| {
            let definition = definitions.get(&name)?.clone();
            Some((name, definition))
        })
        .collect()
}

/// Pushes the names of the `#/$defs/…` references in `schema`.
fn refs(schema: &Value, into: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(name) = target.strip_prefix("#/$defs/") {
                            into.push(name.to_owned());
                        }
                    }
                    _ => refs(value, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, into)),
        _ => {}
    }
}

/// The catalogue as JSON: `ce-type` → aggregate, subject, description and schema.
pub fn json() -> Value {
    Value::Object(
        catalogue()
            .into_iter()
            .map(|event| {
                let entry = json!({
                    "aggregate": event.aggregate,
                    "subject": event.subject(),
                    "description": event.description,
                    "schema": event.schema,
                });
                (event.cloudevents_type(), entry)
            })
            .collect(),
    )
}

/// The catalogue as the Markdown of `docs/events.md`.
pub fn markdown() -> String {
    let events = catalogue();
    let mut out = String::from(MARKDOWN_HEAD);
    out.push_str("| `ce-type` | Subject | What happened |\n| --- | --- | --- |\n");
    for event in &events {
        out.push_str(&format!(
            "| [`{}`](#{}) | `{}` | {} |\n",
            event.cloudevents_type(),
            anchor(&event.cloudevents_type()),
            event.subject(),
            first_sentence(&event.description).replace('|', "\\|"),
        ));
    }
    let mut aggregate = "";
    for event in &events {
        if event.aggregate != aggregate {
            aggregate = event.aggregate;
            out.push_str(&format!(
                "\n## {aggregate}\n\nSubject `{}`; the body is the JSON of a `{}` (Rust), \
                 tagged by `type`.\n",
                event.subject(),
                event.rust_enum,
            ));
        }
        out.push_str(&format!("\n### {}\n\n", event.cloudevents_type()));
        if !event.description.is_empty() {
            out.push_str(&event.description);
            out.push_str("\n\n");
        }
        let schema = serde_json::to_string_pretty(&event.schema).unwrap_or_default();
        out.push_str(&format!(
            "<details><summary>JSON Schema</summary>\n\n```json\n{schema}\n```\n\n</details>\n"
        ));
    }
    out
}

const MARKDOWN_HEAD: &str = "\
# Aurora's events

<!-- Written by `aurora events catalogue > docs/events.md`; a test fails when it differs. -->

Every fact Aurora records is one message on the NATS JetStream stream `EVENTS`, on the subject
`evt.<tenant>.<aggregate>.<id>` (the tenant is the organisation's id, the id the aggregate's).
The body is the event as JSON, with its kind in the field `type`; the headers are CloudEvents
1.0 attributes in binary mode: `ce-type` (`aurora.<event type>`, below), `ce-id`, `ce-source`,
`ce-subject` (the aggregate id), `ce-time`, `ce-datacontenttype` (`application/json`), and
`ce-causationid` / `ce-correlationid`, `traceparent`, `Aurora-Aggregate-Sequence` (the event's
1-based position in its aggregate) and `Aurora-Event-Version` (the body's schema version).

Each schema below (JSON Schema 2020-12) is generated from the event's Rust type, so it is the
body Aurora writes today; `aurora events catalogue --json` prints them all as one JSON object
keyed by `ce-type`. They describe the current version of each body (`Aurora-Event-Version`):
events stored by an older Aurora may lack a field added since, and a consumer should ignore
fields it does not know (a later Aurora may add some).

";

/// A doc comment's rustdoc links (``[`super::Type::item`]``) as plain code without the module
/// path (``Type::item``): they lead nowhere here.
fn plain_links(doc: &str) -> String {
    static LINK: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\[`(?:(?:super|crate|self)::)*([^`\]]+)`\]").expect("a valid pattern")
    });
    LINK.replace_all(doc, "`$1`").into_owned()
}

/// `schema` with [`plain_links`] in every description.
fn plain_descriptions(schema: Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("description", Value::String(text)) => {
                        let text = plain_links(&text);
                        (key, Value::String(text))
                    }
                    (_, value) => (key, plain_descriptions(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(plain_descriptions).collect()),
        other => other,
    }
}

/// The first sentence of a description (up to its first `. `) on one line, for the table.
fn first_sentence(description: &str) -> String {
    let text = description.replace('\n', " ");
    match text.find(". ") {
        Some(end) => text[..=end].to_owned(),
        None => text,
    }
}

/// GitHub's anchor of a heading: lower-case, punctuation other than `-` and `_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .flat_map(char::to_lowercase)
        .collect()
}
