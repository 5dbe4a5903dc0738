use super::*;
use crate::chat::ChatError;
use crate::values::{GateVerdict, ToolCallStatus};

fn start_call(tool_call_id: &str) -> ChatCommand {
    ChatCommand::StartToolCall {
        tool_call_id: tool_call_id.to_owned(),
        tool_name: "kubectl".to_owned(),
        input: json!({"command": "kubectl delete pod checkout-7"}),
        at: at(10),
    }
}

fn result(tool_call_id: &str) -> ChatCommand {
    ChatCommand::RecordToolResult {
        tool_call_id: tool_call_id.to_owned(),
        output: "pod \"checkout-7\" deleted".to_owned(),
        duration_ms: 840,
        at: at(12),
    }
}

fn result_recorded(tool_call_id: &str) -> ChatEvent {
    ChatEvent::ToolResultRecorded {
        tool_call_id: tool_call_id.to_owned(),
        output: "pod \"checkout-7\" deleted".to_owned(),
        duration_ms: 840,
        at: at(12),
    }
}

fn failure(tool_call_id: &str) -> ChatCommand {
    ChatCommand::RecordToolError {
        tool_call_id: tool_call_id.to_owned(),
        error: "timed out after 60 s".to_owned(),
        duration_ms: 60_000,
        at: at(70),
    }
}

fn failed(tool_call_id: &str) -> ChatEvent {
    ChatEvent::ToolCallFailed {
        tool_call_id: tool_call_id.to_owned(),
        error: "timed out after 60 s".to_owned(),
        duration_ms: 60_000,
        at: at(70),
    }
}

#[test]
fn starting_a_tool_call_records_its_name_and_input() {
    let state = given(vec![started()])
        .when(start_call("call-1"))
        .then(vec![tool_call_started("call-1", 10)]);

    let call = state.tool_call("call-1").unwrap();
    assert_eq!(call.tool_name, "kubectl");
    assert_eq!(call.input["command"], "kubectl delete pod checkout-7");
    assert_eq!(call.status, ToolCallStatus::Started);
    assert_eq!(call.started_at, at(10));
}

#[test]
fn starting_the_same_tool_call_twice_changes_nothing() {
    given(vec![started(), tool_call_started("call-1", 10)])
        .when(start_call("call-1"))
        .then_nothing();
}

#[test]
fn a_tool_result_marks_the_call_succeeded_with_its_output_and_duration() {
    let state = given(vec![started(), tool_call_started("call-1", 10)])
        .when(result("call-1"))
        .then(vec![result_recorded("call-1")]);

    let call = state.tool_call("call-1").unwrap();
    assert_eq!(call.status, ToolCallStatus::Succeeded);
    assert_eq!(call.output.as_deref(), Some("pod \"checkout-7\" deleted"));
    assert_eq!(call.error, None);
    assert_eq!(call.duration_ms, Some(840));
    assert_eq!(call.finished_at, Some(at(12)));
}

#[test]
fn a_tool_error_marks_the_call_failed_with_its_error_and_duration() {
    let state = given(vec![started(), tool_call_started("call-1", 10)])
        .when(failure("call-1"))
        .then(vec![failed("call-1")]);

    let call = state.tool_call("call-1").unwrap();
    assert_eq!(call.status, ToolCallStatus::Failed);
    assert_eq!(call.error.as_deref(), Some("timed out after 60 s"));
    assert_eq!(call.output, None);
    assert_eq!(call.duration_ms, Some(60_000));
}

#[test]
fn a_result_or_error_for_an_unknown_tool_call_is_refused() {
    let unknown = ChatError::UnknownToolCall {
        tool_call_id: "call-9".to_owned(),
    };
    given(vec![started(), tool_call_started("call-1", 10)])
        .when(result("call-9"))
        .then_error(unknown.clone());
    given(vec![started(), tool_call_started("call-1", 10)])
        .when(failure("call-9"))
        .then_error(unknown);
}

#[test]
fn a_result_or_error_for_a_finished_tool_call_is_refused() {
    let succeeded = vec![
        started(),
        tool_call_started("call-1", 10),
        result_recorded("call-1"),
    ];
    let failed_call = vec![started(), tool_call_started("call-1", 10), failed("call-1")];
    for (history, status) in [
        (succeeded, ToolCallStatus::Succeeded),
        (failed_call, ToolCallStatus::Failed),
    ] {
        let finished = ChatError::ToolCallAlreadyFinished {
            tool_call_id: "call-1".to_owned(),
            status,
        };
        given(history.clone())
            .when(result("call-1"))
            .then_error(finished.clone());
        given(history).when(failure("call-1")).then_error(finished);
    }
}

fn gate(tool_call_id: &str, verdict: GateVerdict) -> ChatCommand {
    ChatCommand::RecordGateDecision {
        tool_call_id: tool_call_id.to_owned(),
        command: "kubectl delete pod checkout-7".to_owned(),
        verdict,
        reason: "deletes a resource".to_owned(),
        at: at(11),
    }
}

fn gate_decided(tool_call_id: &str, verdict: GateVerdict) -> ChatEvent {
    ChatEvent::GateDecided {
        tool_call_id: tool_call_id.to_owned(),
        command: "kubectl delete pod checkout-7".to_owned(),
        verdict,
        reason: "deletes a resource".to_owned(),
        at: at(11),
    }
}

#[test]
fn a_gate_decision_is_recorded_for_a_running_tool_call() {
    let state = given(vec![started(), tool_call_started("call-1", 10)])
        .when(gate("call-1", GateVerdict::ConfirmationRequired))
        .then(vec![gate_decided(
            "call-1",
            GateVerdict::ConfirmationRequired,
        )]);

    assert_eq!(state.gate_decisions.len(), 1);
    assert_eq!(
        state.gate_decisions[0].verdict,
        GateVerdict::ConfirmationRequired
    );
    assert_eq!(state.gate_decisions[0].reason, "deletes a resource");
}

#[test]
fn a_second_gate_decision_for_the_same_call_changes_nothing() {
    given(vec![
        started(),
        tool_call_started("call-1", 10),
        gate_decided("call-1", GateVerdict::Refused),
    ])
    .when(gate("call-1", GateVerdict::Allowed))
    .then_nothing();
}

#[test]
fn a_gate_decision_for_an_unknown_tool_call_is_refused() {
    given(vec![started()])
        .when(gate("call-9", GateVerdict::Allowed))
        .then_error(ChatError::UnknownToolCall {
            tool_call_id: "call-9".to_owned(),
        });
}

#[test]
fn a_gate_decision_for_a_finished_tool_call_is_refused() {
    given(vec![
        started(),
        tool_call_started("call-1", 10),
        result_recorded("call-1"),
    ])
    .when(gate("call-1", GateVerdict::Allowed))
    .then_error(ChatError::ToolCallAlreadyFinished {
        tool_call_id: "call-1".to_owned(),
        status: ToolCallStatus::Succeeded,
    });
}
