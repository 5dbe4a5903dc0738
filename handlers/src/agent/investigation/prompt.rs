//! What a background investigation tells the model: the RCA prompt in sections, and the tools
//! it records its results with (a finding, a suggestion, the conclusion). Results come as tool
//! calls rather than parsed prose, so each is validated and recorded as its own event.

use aurora_domain::investigation::{Conclusion, Risk, SuggestionKind};
use aurora_domain::Severity;
use serde::Deserialize;
use serde_json::{json, Value};

pub const RECORD_FINDING: &str = "record_finding";
pub const SUGGEST: &str = "suggest";
pub const CONCLUDE: &str = "conclude";

/// The system prompt of a background investigation.
pub fn system_prompt() -> String {
    let gate = |c: Conclusion| format!("- {}: {}.", c.as_str().to_uppercase(), c.requirement());
    format!(
        "## Role\n\
You are Aurora's incident investigator. An incident just opened; nobody is watching this run, so \
work on your own and finish with a conclusion.\n\n\
## How to investigate\n\
Start from the alert and what correlated with it. Look at what changed in the hour before \
(`recent_changes`), at the service's other incidents (`incident_lookup`), at the whole alert \
(`get_alert_field`), and at the systems themselves with read-only `kubectl` and `cloud_exec` \
commands. Form a hypothesis, then test it with a command whose output could prove it wrong. \
Commands run without a shell and only read: anything that changes a system is refused.\n\n\
## Evidence standard\n\
A claim is evidence only when a tool output you received shows it. Record each finding with \
`{RECORD_FINDING}`, citing the ids of the tool calls whose output shows it. Never cite a call that \
failed or that you did not make.\n\n\
## Conclusion gate\n\
End with `{CONCLUDE}`, choosing the conclusion your evidence supports:\n{}\n{}\n{}\n\
A stronger conclusion than the evidence supports is recorded as the one it does support. Saying \
INCONCLUSIVE and what is missing is a good result; inventing a cause is the worst one.\n\n\
## Severity\n\
With the conclusion, give the incident's severity by the operational impact you found, not by the \
alert's words: critical (outage, data loss or a security breach affecting customers), high \
(degraded service or a partial outage), medium (minor degradation or nothing customer-facing), low \
(no actual impact), info (a test or a notice). Leave it out when you found nothing about impact. \
It is used only when the alert's source gave none.\n\n\
## Remediation\n\
Propose next steps with `{SUGGEST}`: its type (diagnostic, mitigation, remediate, prevent, fix), \
its risk (safe, low, medium, high) and the exact command or diff when there is one. Suggestions \
are for a person to carry out; you run none of them.",
        gate(Conclusion::Confirmed),
        gate(Conclusion::Likely),
        gate(Conclusion::Inconclusive),
    )
}

/// The tools a background investigation has besides the agent's own.
pub fn definitions() -> Vec<Value> {
    let kinds: Vec<&str> = SuggestionKind::ALL.iter().map(|k| k.as_str()).collect();
    let risks: Vec<&str> = Risk::ALL.iter().map(|r| r.as_str()).collect();
    let conclusions: Vec<&str> = Conclusion::ALL.iter().map(|c| c.as_str()).collect();
    let severities: Vec<&str> = Severity::ASSESSED.iter().map(|s| s.as_str()).collect();
    vec![
        function(
            RECORD_FINDING,
            "Record one finding of the investigation, citing the tool calls whose output shows it.",
            json!({
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "citations": {"type": "array", "items": {"type": "string"}, "description": "ids of earlier tool calls of this run"}
                },
                "required": ["text"]
            }),
        ),
        function(
            SUGGEST,
            "Propose one next step for a person to take.",
            json!({
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": kinds},
                    "risk": {"type": "string", "enum": risks},
                    "title": {"type": "string"},
                    "action": {"type": "string", "description": "the command or diff, if any"}
                },
                "required": ["type", "risk", "title"]
            }),
        ),
        function(
            CONCLUDE,
            "End the investigation with its conclusion and a summary of the root cause.",
            json!({
                "type": "object",
                "properties": {
                    "conclusion": {"type": "string", "enum": conclusions},
                    "summary": {"type": "string"},
                    "severity": {"type": "string", "enum": severities, "description": "the incident's severity by the impact found; omit if none was found"}
                },
                "required": ["conclusion", "summary"]
            }),
        ),
    ]
}

fn function(name: &str, description: &str, parameters: Value) -> Value {
    json!({
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters}
    })
}

/// A call of one of [`definitions`], read.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    Finding {
        text: String,
        citations: Vec<String>,
    },
    Suggestion {
        kind: SuggestionKind,
        risk: Risk,
        title: String,
        action: Option<String>,
    },
    Conclusion {
        conclusion: Conclusion,
        summary: String,
        severity: Option<Severity>,
    },
}

#[derive(Deserialize)]
struct FindingArgs {
    text: String,
    #[serde(default)]
    citations: Vec<String>,
}

#[derive(Deserialize)]
struct SuggestionArgs {
    #[serde(rename = "type")]
    kind: String,
    risk: String,
    title: String,
    action: Option<String>,
}

#[derive(Deserialize)]
struct ConclusionArgs {
    conclusion: String,
    summary: String,
    severity: Option<String>,
}

/// Reads a call of an investigation tool; `None` when `name` is not one, `Some(Err)` with what
/// the model is told when its arguments are wrong.
pub fn read(name: &str, arguments: &str) -> Option<Result<Recorded, String>> {
    let arguments = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    let bad = |e: serde_json::Error| format!("invalid arguments for {name}: {e}");
    Some(match name {
        RECORD_FINDING => serde_json::from_str::<FindingArgs>(arguments)
            .map_err(bad)
            .map(|a| Recorded::Finding {
                text: a.text,
                citations: a.citations,
            }),
        SUGGEST => serde_json::from_str::<SuggestionArgs>(arguments)
            .map_err(bad)
            .and_then(|a| {
                Ok(Recorded::Suggestion {
                    kind: SuggestionKind::parse(&a.kind).map_err(|e| e.to_string())?,
                    risk: Risk::parse(&a.risk).map_err(|e| e.to_string())?,
                    title: a.title,
                    action: a.action,
                })
            }),
        CONCLUDE => serde_json::from_str::<ConclusionArgs>(arguments)
            .map_err(bad)
            .and_then(|a| {
                // An unreadable severity is no assessment, not a reason to refuse the conclusion.
                let severity = a
                    .severity
                    .as_deref()
                    .and_then(|s| Severity::parse(s).ok())
                    .filter(|s| s.is_known());
                Ok(Recorded::Conclusion {
                    conclusion: Conclusion::parse(&a.conclusion).map_err(|e| e.to_string())?,
                    summary: a.summary,
                    severity,
                })
            }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_has_every_section_and_the_gate() {
        let prompt = system_prompt();
        for section in [
            "## Role",
            "## How to investigate",
            "## Evidence standard",
            "## Conclusion gate",
            "## Severity",
            "## Remediation",
        ] {
            assert!(prompt.contains(section), "{section} missing");
        }
        assert!(prompt.contains("CONFIRMED: at least one finding that cites"));
        assert!(prompt.contains("INCONCLUSIVE"));
    }

    #[test]
    fn investigation_tools_are_read_and_checked() {
        assert_eq!(
            read(
                CONCLUDE,
                r#"{"conclusion":"LIKELY","summary":"pool exhausted"}"#
            ),
            Some(Ok(Recorded::Conclusion {
                conclusion: Conclusion::Likely,
                summary: "pool exhausted".into(),
                severity: None,
            }))
        );
        for (given, severity) in [
            (r#""HIGH""#, Some(Severity::High)),
            (r#""unknown""#, None),
            (r#""sev-whatever""#, None),
        ] {
            assert_eq!(
                read(
                    CONCLUDE,
                    &format!(r#"{{"conclusion":"likely","summary":"s","severity":{given}}}"#)
                ),
                Some(Ok(Recorded::Conclusion {
                    conclusion: Conclusion::Likely,
                    summary: "s".into(),
                    severity,
                })),
                "{given}"
            );
        }
        assert!(matches!(
            read(SUGGEST, r#"{"type":"reboot","risk":"low","title":"x"}"#),
            Some(Err(e)) if e.contains("reboot")
        ));
        assert!(matches!(read(RECORD_FINDING, "{"), Some(Err(_))));
        assert_eq!(read("kubectl", "{}"), None);
    }
}
