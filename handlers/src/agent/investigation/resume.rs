//! Continuing an investigation whose worker stopped, from what it recorded: the model is sent
//! the question, then every tool call of the run with its recorded result (so it runs none of
//! them again), then a note of what it had recorded on the investigation — its findings,
//! suggestions and last thoughts — and that it was interrupted.
//!
//! A tool call the worker had started but not finished is not run again (it may have had an
//! effect, or be what killed the worker): it is recorded as [`INTERRUPTED`] and the model told so.

use aurora_domain::chat::ChatSessionState;
use aurora_domain::investigation::InvestigationState;
use aurora_domain::values::ToolCallStatus;
use serde_json::{json, Value};

/// What an interrupted tool call's result says.
pub const INTERRUPTED: &str =
    "interrupted: the worker running this step stopped before it finished; it was not run again";
/// How much of the run's last thoughts the note repeats, in characters.
const THOUGHTS_KEPT: usize = 4_000;

/// Ids of the session's tool calls that started and never finished.
pub fn unfinished(session: &ChatSessionState) -> Vec<String> {
    session
        .tool_calls
        .iter()
        .filter(|c| c.status == ToolCallStatus::Started)
        .map(|c| c.tool_call_id.clone())
        .collect()
}

/// Whether the run had done anything before (a fresh run has neither a tool call nor a
/// recorded step, thought or finding).
pub fn has_history(session: &ChatSessionState, investigation: &InvestigationState) -> bool {
    !session.tool_calls.is_empty()
        || !investigation.thoughts.is_empty()
        || !investigation.findings.is_empty()
        || !investigation.suggestions.is_empty()
}

/// The messages that follow the question when a run is continued: its tool calls with their
/// results, then the note. Empty for a run with no history.
pub fn messages(session: &ChatSessionState, investigation: &InvestigationState) -> Vec<Value> {
    if !has_history(session, investigation) {
        return Vec::new();
    }
    let mut messages = Vec::new();
    // One call per assistant turn: the session does not keep which calls a turn made together,
    // and a turn of one call is as valid to the model.
    for call in &session.tool_calls {
        messages.push(json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{
                "id": call.tool_call_id,
                "type": "function",
                "function": {"name": call.tool_name, "arguments": call.input.to_string()},
            }],
        }));
        let result = match (&call.output, &call.error) {
            (Some(output), _) => crate::agent::tools::for_model(output),
            (None, Some(error)) => crate::agent::tools::for_model(&format!("error: {error}")),
            (None, None) => INTERRUPTED.to_owned(),
        };
        messages
            .push(json!({"role": "tool", "tool_call_id": call.tool_call_id, "content": result}));
    }
    messages.push(json!({"role": "user", "content": note(investigation)}));
    messages
}

/// What the model is told it had done before the interruption.
fn note(investigation: &InvestigationState) -> String {
    let mut note = String::from(
        "This investigation was interrupted (the process running it stopped) and is resumed \
here. The tool calls above are the ones you made, with their results; do not repeat them. ",
    );
    if investigation.findings.is_empty() {
        note.push_str("You had recorded no finding.");
    } else {
        note.push_str("Findings you had recorded:");
        for f in &investigation.findings {
            note.push_str(&format!(
                "\n- #{} {} (cites: {})",
                f.finding_id,
                f.text,
                f.citations.join(", ")
            ));
        }
    }
    if !investigation.suggestions.is_empty() {
        note.push_str("\nSuggestions you had made:");
        for s in &investigation.suggestions {
            note.push_str(&format!("\n- [{} / {}] {}", s.kind, s.risk, s.title));
        }
    }
    let thoughts = investigation.thoughts.join(" ");
    if !thoughts.is_empty() {
        let skip = thoughts.chars().count().saturating_sub(THOUGHTS_KEPT);
        let tail: String = thoughts.chars().skip(skip).collect();
        note.push_str(&format!("\nWhat you had said last: {tail}"));
    }
    note.push_str("\nContinue the investigation from here and conclude.");
    note
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aurora_domain::chat::ToolCall;
    use aurora_domain::investigation::Finding;
    use chrono::Utc;

    use super::*;

    fn call(id: &str, output: Option<&str>, error: Option<&str>) -> ToolCall {
        ToolCall {
            tool_call_id: id.into(),
            tool_name: "kubectl".into(),
            input: json!({"command": format!("kubectl get {id}")}),
            status: match (output, error) {
                (Some(_), _) => ToolCallStatus::Succeeded,
                (None, Some(_)) => ToolCallStatus::Failed,
                (None, None) => ToolCallStatus::Started,
            },
            output: output.map(str::to_owned),
            error: error.map(str::to_owned),
            duration_ms: None,
            started_at: Utc::now(),
            finished_at: None,
        }
    }

    #[test]
    fn a_fresh_run_has_nothing_to_resume_from() {
        let session = ChatSessionState::default();
        let investigation = InvestigationState::default();
        assert!(messages(&session, &investigation).is_empty());
        assert!(unfinished(&session).is_empty());
    }

    #[test]
    fn a_resumed_run_is_given_its_calls_their_results_and_what_it_recorded() {
        let session = ChatSessionState {
            tool_calls: vec![
                call("pods", Some("checkout-7 CrashLoopBackOff"), None),
                call("logs", None, Some("the command failed")),
                call("slow", None, None),
            ],
            ..Default::default()
        };
        let investigation = InvestigationState {
            thoughts: vec!["The pods crash-loop since the deploy.".into()],
            findings: vec![Finding {
                finding_id: 1,
                text: "checkout-7 crash-loops".into(),
                citations: vec!["pods".into()],
            }],
            ..Default::default()
        };
        assert_eq!(unfinished(&session), vec!["slow".to_owned()]);
        let messages = messages(&session, &investigation);
        assert_eq!(messages.len(), 7, "three calls with results, then the note");
        assert_eq!(messages[0]["tool_calls"][0]["id"], "pods");
        assert_eq!(
            messages[0]["tool_calls"][0]["function"]["arguments"],
            r#"{"command":"kubectl get pods"}"#
        );
        assert!(messages[1]["content"]
            .as_str()
            .unwrap()
            .contains("CrashLoopBackOff"));
        assert!(messages[3]["content"]
            .as_str()
            .unwrap()
            .starts_with("error: the command failed"));
        assert_eq!(messages[5]["content"], INTERRUPTED);
        let note = messages[6]["content"].as_str().unwrap();
        assert_eq!(messages[6]["role"], "user");
        assert!(
            note.contains("#1 checkout-7 crash-loops (cites: pods)"),
            "{note}"
        );
        assert!(note.contains("crash-loop since the deploy"), "{note}");
    }
}
