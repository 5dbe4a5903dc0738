//! Small value types shared by aggregates, events and read models.
//!
//! Each is a closed set of names. The JSON form, [`as_str`](Severity::as_str), [`Display`] and
//! `parse` all use the same lower-case word, so a read-model column, a query parameter and an event
//! body never disagree. `parse` ignores ASCII case and surrounding blanks, because these words come
//! from webhooks and query strings typed by people.
//!
//! Money is not here on purpose: it is always an `i64` of micro-units (`cost_micros`), never `f64`.

/// Why a word is not one of the names a value type allows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("unknown severity {0:?}: expected critical, high, medium, low, info or unknown")]
    UnknownSeverity(String),
    #[error("unknown priority {0:?}: expected P1, P2, P3, P4 or P5")]
    UnknownPriority(String),
    #[error("unknown incident status {0:?}: expected investigating, analyzed, resolved or merged")]
    UnknownIncidentStatus(String),
    #[error("unknown RCA status {0:?}: expected idle, running, summarizing, complete or error")]
    UnknownRcaStatus(String),
    #[error("unknown chat mode {0:?}: expected ask or agent")]
    UnknownChatMode(String),
    #[error("unknown confirmation decision {0:?}: expected execute or cancel")]
    UnknownConfirmationDecision(String),
    #[error("unknown tool call status {0:?}: expected started, succeeded or failed")]
    UnknownToolCallStatus(String),
    #[error("unknown gate verdict {0:?}: expected allowed, confirmation_required or refused")]
    UnknownGateVerdict(String),
    #[error("unknown message role {0:?}: expected user or assistant")]
    UnknownMessageRole(String),
    #[error("unknown role {0:?}: expected viewer, editor or admin")]
    UnknownRole(String),
    #[error("unknown conclusion {0:?}: expected confirmed, likely or inconclusive")]
    UnknownConclusion(String),
    #[error(
        "unknown suggestion type {0:?}: expected diagnostic, mitigation, remediate, prevent or fix"
    )]
    UnknownSuggestionKind(String),
    #[error("unknown risk {0:?}: expected safe, low, medium or high")]
    UnknownRisk(String),
    #[error("unknown tool step status {0:?}: expected succeeded, failed or refused")]
    UnknownStepStatus(String),
    #[error(
        "unknown investigation status {0:?}: expected requested, queued, running, completed, failed or cancelled"
    )]
    UnknownInvestigationStatus(String),
    #[error("unknown document status {0:?}: expected uploading, processing, ready or failed")]
    UnknownDocumentStatus(String),
    #[error("unknown document kind {0:?}: expected markdown, text or pdf")]
    UnknownDocumentKind(String),
}

/// Declares a closed set of lower-case names with `ALL`, `as_str`, `parse`, `Display`, `FromStr`
/// and serde, so the five spellings of one value cannot drift apart.
macro_rules! named_values {
    (
        $(#[$doc:meta])*
        $name:ident, $error:ident {
            $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable lower-case name (as stored in events and read models).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Reads a name, ignoring ASCII case and surrounding blanks.
            pub fn parse(value: &str) -> Result<Self, $crate::values::ValueError> {
                let trimmed = value.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|candidate| candidate.as_str().eq_ignore_ascii_case(trimmed))
                    .ok_or_else(|| $crate::values::ValueError::$error(value.to_owned()))
            }
        }

        // Written out rather than derived: the derive does not see a `rename` whose name comes
        // from a macro argument, and would name the variants instead of the words.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        // Written out for the same reason (the event catalogue's schemas).
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "enum": [$($text),+] })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::values::ValueError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }
    };
}

pub(crate) use named_values;

named_values!(
    /// How bad an incident is. Every source's own levels are normalised onto the first five;
    /// `unknown` when its source gave none.
    Severity, UnknownSeverity {
        Critical => "critical",
        High => "high",
        Medium => "medium",
        Low => "low",
        Info => "info",
        /// The source said nothing about it. The incident's investigation sets it from what it
        /// found (see `IncidentCommand::ConcludeRca`); a person may too.
        Unknown => "unknown",
    }
);

impl Severity {
    /// The levels a source or an investigation can assess (all but `unknown`).
    pub const ASSESSED: &'static [Self] = &[
        Self::Critical,
        Self::High,
        Self::Medium,
        Self::Low,
        Self::Info,
    ];

    pub fn is_known(self) -> bool {
        self != Self::Unknown
    }

    /// Maps a `P1`..`P5` priority (OpsGenie, PagerDuty, old Aurora events) onto a severity:
    /// P1 → critical, P2 → high, P3 → medium, P4 and P5 → low.
    pub fn from_priority(value: &str) -> Result<Self, ValueError> {
        match value.trim().to_ascii_uppercase().as_str() {
            "P1" => Ok(Self::Critical),
            "P2" => Ok(Self::High),
            "P3" => Ok(Self::Medium),
            "P4" | "P5" => Ok(Self::Low),
            _ => Err(ValueError::UnknownPriority(value.to_owned())),
        }
    }
}

named_values!(
    /// Where an incident is in its life: `investigating → analyzed → resolved`, or `merged`.
    /// Every incident starts out being investigated.
    #[derive(Default)]
    IncidentStatus, UnknownIncidentStatus {
        #[default]
        Investigating => "investigating",
        Analyzed => "analyzed",
        Resolved => "resolved",
        /// Folded into another incident; terminal.
        Merged => "merged",
    }
);

named_values!(
    /// Where the background root-cause analysis of an incident stands.
    #[derive(Default)]
    RcaStatus, UnknownRcaStatus {
        #[default]
        Idle => "idle",
        Running => "running",
        Summarizing => "summarizing",
        Complete => "complete",
        Error => "error",
    }
);

impl RcaStatus {
    /// Whether an RCA may move from `self` to `to`: idle → running → summarizing → complete, a
    /// running or summarizing RCA may fail, and a complete or failed one may be triggered again.
    pub fn can_move_to(self, to: Self) -> bool {
        use RcaStatus::*;
        matches!(
            (self, to),
            (Idle, Running)
                | (Running, Summarizing)
                | (Running, Error)
                | (Summarizing, Complete)
                | (Summarizing, Error)
                | (Complete, Running)
                | (Error, Running)
        )
    }

    /// Whether an investigation is under way (and so has something to cancel).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Running | Self::Summarizing)
    }
}

named_values!(
    /// How much the chat agent may do: `ask` runs read-only commands only, `agent` may change things
    /// (with confirmation for destructive ones). The default is the safe one, `ask`.
    #[derive(Default)]
    ChatMode, UnknownChatMode {
        #[default]
        Ask => "ask",
        Agent => "agent",
    }
);

named_values!(
    /// The user's answer to "run this command?".
    ConfirmationDecision, UnknownConfirmationDecision {
        Execute => "execute",
        Cancel => "cancel",
    }
);

named_values!(
    /// Where one tool call of the chat agent stands.
    ToolCallStatus, UnknownToolCallStatus {
        Started => "started",
        Succeeded => "succeeded",
        Failed => "failed",
    }
);

named_values!(
    /// What the command gate decided about one command the agent wanted to run.
    GateVerdict, UnknownGateVerdict {
        Allowed => "allowed",
        ConfirmationRequired => "confirmation_required",
        Refused => "refused",
    }
);

named_values!(
    /// Who wrote a chat message.
    MessageRole, UnknownMessageRole {
        User => "user",
        Assistant => "assistant",
    }
);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::fmt;
    use std::str::FromStr;

    use serde::{Deserialize, Serialize};

    use super::*;

    #[test]
    fn severity_parses_its_names_in_any_case() {
        assert_eq!(Severity::parse("critical"), Ok(Severity::Critical));
        assert_eq!(Severity::parse("HIGH"), Ok(Severity::High));
        assert_eq!(Severity::parse(" Medium "), Ok(Severity::Medium));
        assert_eq!(Severity::parse("low"), Ok(Severity::Low));
        assert_eq!(Severity::parse("Info"), Ok(Severity::Info));
        assert_eq!(Severity::parse("unknown"), Ok(Severity::Unknown));
        assert!(!Severity::Unknown.is_known());
        assert!(Severity::ASSESSED.iter().all(|s| s.is_known()));
        assert_eq!(
            Severity::parse("sev1"),
            Err(ValueError::UnknownSeverity("sev1".to_owned()))
        );
    }

    #[test]
    fn priorities_map_onto_severities() {
        assert_eq!(Severity::from_priority("P1"), Ok(Severity::Critical));
        assert_eq!(Severity::from_priority("P2"), Ok(Severity::High));
        assert_eq!(Severity::from_priority("p3"), Ok(Severity::Medium));
        assert_eq!(Severity::from_priority("P4"), Ok(Severity::Low));
        assert_eq!(Severity::from_priority("P5"), Ok(Severity::Low));
        assert_eq!(
            Severity::from_priority("P6"),
            Err(ValueError::UnknownPriority("P6".to_owned()))
        );
    }

    #[test]
    fn every_value_round_trips_through_its_name_display_and_json() {
        fn check<T>(all: &[T])
        where
            T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr + Serialize,
            T: for<'de> Deserialize<'de>,
            <T as FromStr>::Err: fmt::Debug,
        {
            for value in all {
                let name = value.to_string();
                assert_eq!(name, name.to_lowercase());
                assert_eq!(name.parse::<T>().unwrap(), *value);
                let json = serde_json::to_value(value).unwrap();
                assert_eq!(json, serde_json::Value::String(name));
                assert_eq!(serde_json::from_value::<T>(json).unwrap(), *value);
            }
        }
        check(Severity::ALL);
        check(IncidentStatus::ALL);
        check(RcaStatus::ALL);
        check(ChatMode::ALL);
        check(ConfirmationDecision::ALL);
        check(ToolCallStatus::ALL);
        check(GateVerdict::ALL);
        check(MessageRole::ALL);
    }

    #[test]
    fn unknown_names_are_refused_with_a_named_error() {
        assert!(matches!(
            IncidentStatus::parse("closed"),
            Err(ValueError::UnknownIncidentStatus(_))
        ));
        assert!(matches!(
            RcaStatus::parse("done"),
            Err(ValueError::UnknownRcaStatus(_))
        ));
        assert!(matches!(
            ChatMode::parse("auto"),
            Err(ValueError::UnknownChatMode(_))
        ));
        assert!(matches!(
            ConfirmationDecision::parse("yes"),
            Err(ValueError::UnknownConfirmationDecision(_))
        ));
        assert!(matches!(
            ToolCallStatus::parse("running"),
            Err(ValueError::UnknownToolCallStatus(_))
        ));
        assert!(matches!(
            MessageRole::parse("system"),
            Err(ValueError::UnknownMessageRole(_))
        ));
    }

    #[test]
    fn new_incidents_investigate_with_an_idle_rca_and_chats_start_read_only() {
        assert_eq!(IncidentStatus::default(), IncidentStatus::Investigating);
        assert_eq!(RcaStatus::default(), RcaStatus::Idle);
        assert_eq!(ChatMode::default(), ChatMode::Ask);
    }

    #[test]
    fn only_running_and_summarizing_rcas_are_active() {
        let active: Vec<RcaStatus> = RcaStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_active())
            .collect();
        assert_eq!(active, [RcaStatus::Running, RcaStatus::Summarizing]);
    }

    #[test]
    fn the_rca_transition_table_is_exactly_the_documented_one() {
        use RcaStatus::*;
        let allowed = [
            (Idle, Running),
            (Running, Summarizing),
            (Running, Error),
            (Summarizing, Complete),
            (Summarizing, Error),
            (Complete, Running),
            (Error, Running),
        ];
        for &from in RcaStatus::ALL {
            for &to in RcaStatus::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }
}
