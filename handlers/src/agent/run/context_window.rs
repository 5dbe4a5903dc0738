//! What of the conversation a model call is sent: the system prompt, as much history as fits
//! the model's context window, and the question.

use aurora_domain::chat::{estimate_tokens, ChatSessionState};
use aurora_domain::values::MessageRole;
use aurora_domain::ChatMode;
use serde_json::{json, Value};
use uuid::Uuid;

/// Room kept in the context window for the answer.
const ANSWER_RESERVE_TOKENS: usize = 4_096;
/// What a message costs beyond its text (role, separators), in tokens.
const MESSAGE_OVERHEAD_TOKENS: usize = 4;

const SYSTEM_PROMPT: &str = "You are Aurora, an incident-response engineer's assistant. \
Investigate with the tools you have: read before you conclude, cite what you saw, and say plainly \
what you could not check. Commands run without a shell (no pipes, redirections or `;`). In ask \
mode only read-only commands run; in agent mode a destructive command waits for the user's \
confirmation.";

/// Tokens the messages of one call may hold: the window (`context_tokens`) less the tools and
/// the answer.
pub(super) fn budget(context_tokens: usize, definitions: &[Value]) -> usize {
    context_tokens
        .saturating_sub(ANSWER_RESERVE_TOKENS)
        .saturating_sub(estimate_tokens(
            &Value::Array(definitions.to_vec()).to_string(),
        ))
}

/// The chat's system prompt for `mode`, with the query's `hints`.
pub(super) fn system_prompt(mode: ChatMode, hints: &str) -> String {
    let mode = match mode {
        ChatMode::Ask => "This conversation is in ask mode.",
        ChatMode::Agent => "This conversation is in agent mode.",
    };
    format!("{SYSTEM_PROMPT} {mode}{hints}")
}

/// The `system` prompt, as much of the conversation before `question` as fits `budget` tokens
/// (newest kept), and the question.
pub(super) fn context(
    state: &ChatSessionState,
    question: Uuid,
    system: String,
    budget: usize,
) -> Vec<Value> {
    let position = state
        .messages
        .iter()
        .position(|m| m.message_id == question)
        .unwrap_or(state.messages.len());
    let question = state
        .messages
        .get(position)
        .map(|m| m.text.clone())
        .unwrap_or_default();
    let mut budget = budget
        .saturating_sub(estimate_tokens(&system))
        .saturating_sub(estimate_tokens(&question));
    let mut history = Vec::new();
    for message in state.messages[..position].iter().rev() {
        let cost = estimate_tokens(&message.text) + MESSAGE_OVERHEAD_TOKENS;
        if cost > budget {
            break;
        }
        budget -= cost;
        let role = match message.role {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
        };
        history.push(json!({"role": role, "content": message.text}));
    }
    history.reverse();
    let mut messages = vec![json!({"role": "system", "content": system})];
    messages.extend(history);
    messages.push(json!({"role": "user", "content": question}));
    messages
}

/// Fits a run's messages into `budget` tokens: the oldest tool outputs are shortened first,
/// then the oldest history is dropped; the system prompt and the question always stay.
pub(super) fn fit(messages: &mut Vec<Value>, budget: usize) {
    let size = |messages: &[Value]| -> usize {
        messages
            .iter()
            .map(|m| estimate_tokens(&m.to_string()) + MESSAGE_OVERHEAD_TOKENS)
            .sum()
    };
    let mut total = size(messages);
    let mut i = 0;
    while total > budget && i < messages.len() {
        if messages[i]["role"] == "tool" {
            let before = estimate_tokens(&messages[i].to_string());
            messages[i]["content"] = json!("[output left out to fit the model's context window]");
            total = total - before + estimate_tokens(&messages[i].to_string());
        }
        i += 1;
    }
    // Then whole history messages, oldest first (never the system prompt at 0, nor anything of
    // the current question, which starts at its user message).
    let question = messages
        .iter()
        .rposition(|m| m["role"] == "user")
        .unwrap_or(messages.len());
    let mut drop = 0;
    while total > budget && 1 + drop < question {
        total -= estimate_tokens(&messages[1 + drop].to_string()) + MESSAGE_OVERHEAD_TOKENS;
        drop += 1;
    }
    messages.drain(1..1 + drop);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn fitting_shortens_old_tool_outputs_before_dropping_history() {
        let big = "x".repeat(40_000);
        let mut messages = vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": "earlier question"}),
            json!({"role": "assistant", "content": "earlier answer"}),
            json!({"role": "user", "content": "why?"}),
            json!({"role": "assistant", "content": null, "tool_calls": []}),
            json!({"role": "tool", "tool_call_id": "a", "content": big}),
            json!({"role": "tool", "tool_call_id": "b", "content": "small"}),
        ];
        fit(&mut messages, 1_000);
        assert_eq!(
            messages.len(),
            7,
            "history kept once the output was shortened"
        );
        assert!(messages[5]["content"]
            .as_str()
            .unwrap()
            .contains("left out"));
        assert_eq!(messages[6]["content"], "small");
    }

    #[test]
    fn fitting_drops_the_oldest_history_but_never_the_question() {
        let long = "y".repeat(8_000);
        let mut messages = vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": long}),
            json!({"role": "assistant", "content": long}),
            json!({"role": "user", "content": "the question"}),
        ];
        fit(&mut messages, 2_500);
        assert_eq!(messages[0]["role"], "system");
        assert_eq!(messages.last().unwrap()["content"], "the question");
        assert_eq!(messages.len(), 3, "only the oldest message went");
        let mut tiny = vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": "the question"}),
        ];
        fit(&mut tiny, 1);
        assert_eq!(tiny.len(), 2);
    }
}
