//! `streams.yaml`: the declared JetStream streams and durable consumers, and their idempotent
//! provisioning. A definition that changed is updated where JetStream allows it and reported as
//! refused (with the reason) where it does not; an invalid file is rejected with line and reason.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use serde::{Deserialize, Deserializer};

use crate::subjects::covers;
use declarations::Position;

mod declarations;

/// The embedded copy of `streams.yaml`, used when no file is given.
pub const DEFAULT_STREAMS_YAML: &str = include_str!("../../streams.yaml");

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamsFile {
    pub streams: Vec<StreamDef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub subjects: Vec<String>,
    pub retention: Retention,
    #[serde(default)]
    pub storage: Storage,
    #[serde(default = "one")]
    pub replicas: usize,
    #[serde(default, deserialize_with = "duration")]
    pub max_age: Duration,
    #[serde(default, deserialize_with = "duration")]
    pub duplicate_window: Duration,
    #[serde(default)]
    pub allow_direct: bool,
    #[serde(default)]
    pub allow_atomic: bool,
    /// The most consumers the stream takes, ephemeral ones included; unset (0): the server's
    /// default (1000 per stream since nats-server 2.15).
    #[serde(default)]
    pub max_consumers: i32,
    #[serde(default)]
    pub consumers: Vec<ConsumerDef>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub filter: String,
    #[serde(deserialize_with = "duration")]
    pub ack_wait: Duration,
    #[serde(default = "minus_one")]
    pub max_deliver: i64,
    #[serde(default = "thousand")]
    pub max_ack_pending: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Retention {
    Limits,
    Workqueue,
    Interest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    #[default]
    File,
    Memory,
}

fn one() -> usize {
    1
}
fn minus_one() -> i64 {
    -1
}
fn thousand() -> i64 {
    1000
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    // A visitor rather than an untagged enum, so errors keep the line they come from.
    struct DurationVisitor;
    impl serde::de::Visitor<'_> for DurationVisitor {
        type Value = Duration;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a duration such as 30s, 2m, 30d, or 0")
        }
        fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Duration, E> {
            if n == 0 {
                Ok(Duration::ZERO)
            } else {
                Err(E::custom(format!(
                    "duration {n} has no unit; write e.g. {n}s"
                )))
            }
        }
        fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Duration, E> {
            match u64::try_from(n) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::custom(format!("duration {n} is negative"))),
            }
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Duration, E> {
            parse_duration(text).map_err(E::custom)
        }
    }
    d.deserialize_any(DurationVisitor)
}

/// `500ms`, `30s`, `2m`, `1h`, `30d`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 30s"))?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: unit must be ms, s, m, h or d"
            ))
        }
    };
    Ok(Duration::from_secs(secs))
}

/// Why a streams file was refused.
#[derive(Debug, thiserror::Error)]
pub enum StreamsFileError {
    // The io::Error is the `source`, which an error chain prints after this.
    #[error("cannot read {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("streams file, line {line}, column {column}: {reason}")]
    Invalid {
        line: usize,
        column: usize,
        reason: String,
    },
}

impl StreamsFile {
    /// The `streams.yaml` built into the binary, parsed once. It is compiled in, and a test
    /// holds that it parses, so failing to is a bug, not a condition to handle.
    pub fn shipped() -> &'static StreamsFile {
        static SHIPPED: LazyLock<StreamsFile> = LazyLock::new(|| {
            StreamsFile::parse(DEFAULT_STREAMS_YAML).expect("the built-in streams.yaml parses")
        });
        &SHIPPED
    }

    pub fn load(path: &Path) -> Result<Self, StreamsFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| StreamsFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, StreamsFileError> {
        let file: Self = serde_yaml::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            StreamsFileError::Invalid {
                line,
                column,
                reason: e.to_string(),
            }
        })?;
        file.validate(text)?;
        Ok(file)
    }

    /// Rules serde cannot express, reported at the line of the offending declaration.
    fn validate(&self, text: &str) -> Result<(), StreamsFileError> {
        let declared = declarations::scan(text);
        let invalid = |at: Position, reason: String| StreamsFileError::Invalid {
            line: at.line,
            column: at.column,
            reason,
        };
        // Where the first of each name was declared, to name it when a second one appears.
        let mut first_streams: HashMap<&str, Position> = HashMap::new();
        for (i, s) in self.streams.iter().enumerate() {
            let at_stream = declared.get(i);
            let at = at_stream.map_or_else(Position::default, |d| d.name);
            if let Some(first) = first_streams.insert(&s.name, at) {
                return Err(invalid(
                    at,
                    format!(
                        "stream {} is declared twice (first at line {})",
                        s.name, first.line
                    ),
                ));
            }
            if s.name.is_empty()
                || s.name
                    .contains(|c: char| c == '.' || c == '*' || c == '>' || c.is_whitespace())
            {
                return Err(invalid(at, format!("invalid stream name {:?}", s.name)));
            }
            if s.subjects.is_empty() {
                return Err(invalid(at, format!("stream {} has no subjects", s.name)));
            }
            let mut first_consumers: HashMap<&str, Position> = HashMap::new();
            for (j, c) in s.consumers.iter().enumerate() {
                let at_consumer = at_stream.and_then(|d| d.consumers.get(j));
                let at = at_consumer.map_or_else(Position::default, |d| d.name);
                if let Some(first) = first_consumers.insert(&c.name, at) {
                    return Err(invalid(
                        at,
                        format!(
                            "consumer {} of stream {} is declared twice (first at line {})",
                            c.name, s.name, first.line
                        ),
                    ));
                }
                if !s.subjects.iter().any(|subject| covers(subject, &c.filter)) {
                    return Err(invalid(
                        at_consumer.map_or_else(Position::default, |d| d.filter),
                        format!(
                            "consumer {} filters {:?}, which no subject of stream {} covers",
                            c.name, c.filter, s.name
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn stream(&self, name: &str) -> Option<&StreamDef> {
        self.streams.iter().find(|s| s.name == name)
    }
}

impl StreamDef {
    pub fn to_config(&self) -> stream::Config {
        stream::Config {
            name: self.name.clone(),
            description: self.description.clone(),
            subjects: self.subjects.clone(),
            retention: match self.retention {
                Retention::Limits => stream::RetentionPolicy::Limits,
                Retention::Workqueue => stream::RetentionPolicy::WorkQueue,
                Retention::Interest => stream::RetentionPolicy::Interest,
            },
            storage: match self.storage {
                Storage::File => stream::StorageType::File,
                Storage::Memory => stream::StorageType::Memory,
            },
            num_replicas: self.replicas,
            max_age: self.max_age,
            duplicate_window: self.duplicate_window,
            allow_direct: self.allow_direct,
            allow_atomic_publish: self.allow_atomic,
            max_consumers: self.max_consumers,
            ..Default::default()
        }
    }
}

impl ConsumerDef {
    pub fn to_config(&self) -> consumer::pull::Config {
        consumer::pull::Config {
            durable_name: Some(self.name.clone()),
            description: self.description.clone(),
            filter_subject: self.filter.clone(),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            max_deliver: self.max_deliver,
            max_ack_pending: self.max_ack_pending,
            ..Default::default()
        }
    }
}

/// What provisioning did to one stream or consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Unchanged,
    Updated {
        fields: Vec<String>,
    },
    /// The definition differs in a way JetStream cannot change in place.
    Refused {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `EVENTS` or `EVENTS/proj-incidents`.
    pub target: String,
    pub outcome: Outcome,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.outcome {
            Outcome::Created => write!(f, "{}: created", self.target),
            Outcome::Unchanged => write!(f, "{}: unchanged", self.target),
            Outcome::Updated { fields } => {
                write!(f, "{}: updated ({})", self.target, fields.join(", "))
            }
            Outcome::Refused { reason } => write!(f, "{}: NOT updated: {reason}", self.target),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("provisioning {target} failed")]
pub struct ApplyError {
    pub target: String,
    #[source]
    pub source: async_nats::Error,
}

/// Creates or updates every stream and consumer of `file`. Idempotent.
pub async fn apply(js: &jetstream::Context, file: &StreamsFile) -> Result<Vec<Report>, ApplyError> {
    let mut reports = Vec::new();
    for def in &file.streams {
        let fail = |source: async_nats::Error| ApplyError {
            target: def.name.clone(),
            source,
        };
        let wanted = def.to_config();
        let outcome = match js.get_stream(&def.name).await {
            Ok(mut existing) => {
                let current = existing
                    .info()
                    .await
                    .map_err(|e| fail(e.into()))?
                    .config
                    .clone();
                reconcile_stream(js, &current, wanted).await.map_err(fail)?
            }
            Err(e) if is_stream_not_found(&e) => {
                js.create_stream(wanted).await.map_err(|e| fail(e.into()))?;
                Outcome::Created
            }
            Err(e) => return Err(fail(e.into())),
        };
        reports.push(Report {
            target: def.name.clone(),
            outcome,
        });
        let stream = js.get_stream(&def.name).await.map_err(|e| fail(e.into()))?;
        for consumer in &def.consumers {
            let target = format!("{}/{}", def.name, consumer.name);
            let outcome = apply_consumer(&stream, consumer)
                .await
                .map_err(|source| ApplyError {
                    target: target.clone(),
                    source,
                })?;
            reports.push(Report { target, outcome });
        }
    }
    Ok(reports)
}

fn is_stream_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(e.kind(), jetstream::context::GetStreamErrorKind::JetStream(inner)
        if inner.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND)
}

/// Fields JetStream cannot change on an existing stream, and why.
fn immutable_differences(current: &stream::Config, wanted: &stream::Config) -> Vec<String> {
    let mut refused = Vec::new();
    if current.storage != wanted.storage {
        refused.push(format!(
            "storage cannot change from {:?} to {:?}",
            current.storage, wanted.storage
        ));
    }
    if current.retention != wanted.retention {
        refused.push(format!(
            "retention cannot change from {:?} to {:?}",
            current.retention, wanted.retention
        ));
    }
    if current.allow_atomic_publish && !wanted.allow_atomic_publish {
        refused.push("allow_atomic cannot be turned off once on".to_owned());
    }
    refused
}

fn changed_fields(current: &stream::Config, wanted: &stream::Config) -> Vec<String> {
    let mut fields = Vec::new();
    let mut check = |name: &str, differs: bool| {
        if differs {
            fields.push(name.to_owned());
        }
    };
    check("description", current.description != wanted.description);
    check("subjects", current.subjects != wanted.subjects);
    check("replicas", current.num_replicas != wanted.num_replicas);
    check("max_age", current.max_age != wanted.max_age);
    check(
        "duplicate_window",
        current.duplicate_window != wanted.duplicate_window,
    );
    check("allow_direct", current.allow_direct != wanted.allow_direct);
    check(
        "allow_atomic",
        current.allow_atomic_publish != wanted.allow_atomic_publish,
    );
    // Unset, the server fills in its default: not a difference.
    check(
        "max_consumers",
        wanted.max_consumers > 0 && current.max_consumers != wanted.max_consumers,
    );
    fields
}

async fn reconcile_stream(
    js: &jetstream::Context,
    current: &stream::Config,
    mut wanted: stream::Config,
) -> Result<Outcome, async_nats::Error> {
    let refused = immutable_differences(current, &wanted);
    if !refused.is_empty() {
        return Ok(Outcome::Refused {
            reason: format!(
                "{}; delete and recreate the stream to apply this",
                refused.join("; ")
            ),
        });
    }
    // The server fills a duplicate window when none is given; keep its value then.
    if wanted.duplicate_window.is_zero() {
        wanted.duplicate_window = current.duplicate_window;
    }
    let fields = changed_fields(current, &wanted);
    if fields.is_empty() {
        return Ok(Outcome::Unchanged);
    }
    match js.update_stream(wanted).await {
        Ok(_) => Ok(Outcome::Updated { fields }),
        Err(e) => Ok(Outcome::Refused {
            reason: format!("the server refused to update {}: {e}", fields.join(", ")),
        }),
    }
}

async fn apply_consumer(
    stream: &jetstream::stream::Stream,
    def: &ConsumerDef,
) -> Result<Outcome, async_nats::Error> {
    let wanted = def.to_config();
    let current = match stream.consumer_info(&def.name).await {
        Ok(info) => info.config,
        Err(e)
            if matches!(
                e.kind(),
                jetstream::context::ConsumerInfoErrorKind::NotFound
            ) =>
        {
            stream.create_consumer(wanted).await?;
            return Ok(Outcome::Created);
        }
        Err(e) => return Err(e.into()),
    };
    let mut fields = Vec::new();
    let mut check = |name: &str, differs: bool| {
        if differs {
            fields.push(name.to_owned());
        }
    };
    check("description", current.description != wanted.description);
    check("filter", current.filter_subject != wanted.filter_subject);
    check("ack_wait", current.ack_wait != wanted.ack_wait);
    check("max_deliver", current.max_deliver != wanted.max_deliver);
    check(
        "max_ack_pending",
        current.max_ack_pending != wanted.max_ack_pending,
    );
    if fields.is_empty() {
        return Ok(Outcome::Unchanged);
    }
    match stream.update_consumer(wanted).await {
        Ok(_) => Ok(Outcome::Updated { fields }),
        Err(e) => Ok(Outcome::Refused {
            reason: format!("the server refused to update {}: {e}", fields.join(", ")),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_streams_file_is_valid_and_declares_the_four_streams() {
        let file = StreamsFile::shipped();
        for name in ["INBOX", "CMD", "EVENTS", "DEAD_LETTERS"] {
            assert!(file.stream(name).is_some(), "{name} missing");
        }
        let events = file.stream("EVENTS").expect("EVENTS");
        assert!(events.allow_atomic && events.allow_direct);
        assert_eq!(events.max_age, Duration::ZERO);
        // Above nats-server's default of 1000, which a thousand open event streams would reach.
        assert!(events.max_consumers > 1000);
        assert_eq!(file.stream("INBOX").expect("INBOX").max_consumers, 0);
        assert_eq!(
            file.stream("INBOX").expect("INBOX").max_age,
            Duration::from_secs(30 * 86_400)
        );
    }

    #[test]
    fn an_unknown_field_is_rejected_with_its_line() {
        let text = "streams:\n  - name: A\n    subjects: [\"a.>\"]\n    retention: limits\n    colour: blue\n";
        match StreamsFile::parse(text) {
            Err(StreamsFileError::Invalid { line, reason, .. }) => {
                assert_eq!(line, 5);
                assert!(reason.contains("colour"), "{reason}");
            }
            other => panic!("expected an invalid-file error, got {other:?}"),
        }
    }

    #[test]
    fn a_bad_duration_names_the_unit_rule() {
        let text = "streams:\n  - name: A\n    subjects: [\"a.>\"]\n    retention: limits\n    max_age: 3 weeks\n";
        match StreamsFile::parse(text) {
            Err(StreamsFileError::Invalid { line, reason, .. }) => {
                assert_eq!(line, 5);
                assert!(reason.contains("invalid duration"), "{reason}");
            }
            other => panic!("expected an invalid-file error, got {other:?}"),
        }
    }

    #[test]
    fn a_consumer_filter_outside_its_stream_is_rejected_at_its_line() {
        let text = "streams:\n  - name: A\n    subjects: [\"a.>\"]\n    retention: limits\n    consumers:\n      - name: c\n        filter: \"b.>\"\n        ack_wait: 5s\n";
        match StreamsFile::parse(text) {
            Err(StreamsFileError::Invalid { line, reason, .. }) => {
                assert_eq!(line, 7);
                assert!(reason.contains("no subject of stream A covers"), "{reason}");
            }
            other => panic!("expected an invalid-file error, got {other:?}"),
        }
    }

    #[test]
    fn a_duplicate_stream_is_rejected_at_the_second_declaration_naming_the_first() {
        let text = "streams:\n  - name: A\n    subjects: [\"a.>\"]\n    retention: limits\n  - name: A\n    subjects: [\"b.>\"]\n    retention: limits\n";
        match StreamsFile::parse(text) {
            Err(StreamsFileError::Invalid { line, reason, .. }) => {
                assert_eq!(line, 5);
                assert!(
                    reason.contains("declared twice (first at line 2)"),
                    "{reason}"
                );
            }
            other => panic!("expected an invalid-file error, got {other:?}"),
        }
    }

    #[test]
    fn a_duplicate_consumer_is_rejected_at_the_second_declaration_naming_the_first() {
        // The first stream has a consumer called `c` too; only the second stream's pair counts.
        let text = "streams:\n  - name: A\n    subjects: [\"a.>\"]\n    retention: limits\n    consumers:\n      - name: c\n        filter: a.x\n        ack_wait: 5s\n  - name: B\n    subjects: [\"b.>\"]\n    retention: limits\n    consumers:\n      - name: c\n        filter: b.x\n        ack_wait: 5s\n      - name: c\n        filter: b.y\n        ack_wait: 5s\n";
        match StreamsFile::parse(text) {
            Err(StreamsFileError::Invalid { line, reason, .. }) => {
                assert_eq!(line, 16);
                assert!(
                    reason.contains("consumer c of stream B is declared twice (first at line 13)"),
                    "{reason}"
                );
            }
            other => panic!("expected an invalid-file error, got {other:?}"),
        }
    }

    #[test]
    fn an_unquoted_filter_outside_its_stream_is_rejected_at_its_line() {
        let text = "streams:\n  - name: A\n    subjects: [\"a.>\"]\n    retention: limits\n    consumers:\n      - name: c\n        ack_wait: 5s\n        filter: b.x\n";
        match StreamsFile::parse(text) {
            Err(StreamsFileError::Invalid { line, column, .. }) => {
                assert_eq!((line, column), (8, 9));
            }
            other => panic!("expected an invalid-file error, got {other:?}"),
        }
    }

    #[test]
    fn subject_patterns_cover_narrower_ones() {
        assert!(covers("evt.>", "evt.*.incident.*"));
        assert!(covers("inbox.>", "inbox.>"));
        assert!(!covers("evt.>", "cmd.>"));
        assert!(covers("a.*", "a.b"));
        assert!(!covers("a.*", "a.b.c"));
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
