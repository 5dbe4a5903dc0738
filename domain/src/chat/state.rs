//! A chat session as its events made it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::event::{ChatEvent, FirstQuestion, NewSession};
use crate::ids::SessionId;
use crate::usage::ModelUsage;
use crate::values::{ChatMode, ConfirmationDecision, GateVerdict, MessageRole, ToolCallStatus};

/// The session; the tenant is not here because the event store already scopes by it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatSessionState {
    /// `None` until the session is started.
    pub id: Option<SessionId>,
    /// The user id of whoever started it.
    pub owner: String,
    pub title: String,
    /// The mode of the latest query.
    pub mode: ChatMode,
    pub messages: Vec<ChatMessage>,
    pub tool_calls: Vec<ToolCall>,
    pub confirmations: Vec<Confirmation>,
    /// The command gate's decisions, one per tool call that wanted to run a command.
    #[serde(default)]
    pub gate_decisions: Vec<GateDecision>,
    /// When the user stopped a run, in order.
    pub cancelled_runs: Vec<DateTime<Utc>>,
    /// The user messages whose answer a cancel stopped (the newest user message at each cancel):
    /// a run knows it is cancelled by the log's order, not by comparing clocks.
    #[serde(default)]
    pub cancelled_questions: Vec<Uuid>,
    pub usage: Vec<ModelUsage>,
    pub total_input_tokens: u64,
    pub total_output_tokens: u64,
    pub total_cost_micros: i64,
    pub deleted: bool,
    pub started_at: Option<DateTime<Utc>>,
    /// Moved by every event, so sessions list most recently active first.
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChatMessage {
    pub message_id: Uuid,
    pub role: MessageRole,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolCall {
    pub tool_call_id: String,
    pub tool_name: String,
    /// The arguments the model gave the tool, as it sent them: free-form JSON, each tool takes
    /// its own.
    pub input: Value,
    pub status: ToolCallStatus,
    pub output: Option<String>,
    pub error: Option<String>,
    pub duration_ms: Option<u64>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateDecision {
    pub tool_call_id: String,
    pub command: String,
    pub verdict: GateVerdict,
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Confirmation {
    pub confirmation_id: Uuid,
    pub tool_call_id: Option<String>,
    pub command: String,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answer: Option<ConfirmationAnswer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfirmationAnswer {
    pub decision: ConfirmationDecision,
    pub at: DateTime<Utc>,
}

impl Confirmation {
    /// Still waiting for an answer at `now`: not answered, and not past `expires_at`.
    pub fn is_pending(&self, now: DateTime<Utc>) -> bool {
        self.answer.is_none() && now <= self.expires_at
    }
}

impl ChatSessionState {
    pub fn is_started(&self) -> bool {
        self.id.is_some()
    }

    /// The confirmations a user can still answer at `now` (what a reloaded page shows again).
    pub fn pending_confirmations(&self, now: DateTime<Utc>) -> Vec<&Confirmation> {
        self.confirmations
            .iter()
            .filter(|confirmation| confirmation.is_pending(now))
            .collect()
    }

    pub fn tool_call(&self, tool_call_id: &str) -> Option<&ToolCall> {
        self.tool_calls
            .iter()
            .find(|call| call.tool_call_id == tool_call_id)
    }

    pub fn confirmation(&self, confirmation_id: Uuid) -> Option<&Confirmation> {
        self.confirmations
            .iter()
            .find(|confirmation| confirmation.confirmation_id == confirmation_id)
    }

    /// The newest user message: the question a run answers now.
    pub fn last_question(&self) -> Option<Uuid> {
        self.messages
            .iter()
            .rev()
            .find(|message| message.role == MessageRole::User)
            .map(|message| message.message_id)
    }

    /// The question a run is answering: the newest message, when it is the user's and no cancel
    /// has stopped its answer yet.
    pub fn unanswered_question(&self) -> Option<Uuid> {
        self.messages
            .last()
            .filter(|message| message.role == MessageRole::User)
            .map(|message| message.message_id)
            .filter(|question| !self.cancelled_questions.contains(question))
    }

    /// Whether a cancel has anything to stop at `now`: a question still waiting for its answer,
    /// or a confirmation still waiting for the user (a run waits on it).
    pub fn run_in_progress(&self, now: DateTime<Utc>) -> bool {
        self.unanswered_question().is_some() || !self.pending_confirmations(now).is_empty()
    }

    pub fn has_message(&self, message_id: Uuid) -> bool {
        self.messages
            .iter()
            .any(|message| message.message_id == message_id)
    }

    /// Folds one event in. Events are facts: one that refers to something unknown (which the
    /// command side never emits) is recorded as far as it can be, never refused.
    pub(crate) fn apply(mut self, event: ChatEvent) -> Self {
        self.updated_at = Some(crate::DomainEvent::occurred_at(&event));
        match event {
            ChatEvent::Started(NewSession {
                id,
                owner,
                title,
                mode,
                at,
            }) => {
                self.id = Some(id);
                self.owner = owner;
                self.title = title;
                self.mode = mode;
                self.started_at = Some(at);
            }
            // A session opened with its first question: the two events it stands for.
            ChatEvent::Opened(FirstQuestion {
                id,
                owner,
                title,
                mode,
                message_id,
                text,
                at,
            }) => {
                return self
                    .apply(ChatEvent::Started(NewSession {
                        id,
                        owner,
                        title,
                        mode,
                        at,
                    }))
                    .apply(ChatEvent::UserMessagePosted {
                        message_id,
                        text,
                        mode,
                        at,
                    })
            }
            ChatEvent::UserMessagePosted {
                message_id,
                text,
                mode,
                at,
            } => {
                self.mode = mode;
                self.messages.push(ChatMessage {
                    message_id,
                    role: MessageRole::User,
                    text,
                    at,
                });
            }
            ChatEvent::AssistantMessageRecorded {
                message_id,
                text,
                at,
            } => self.messages.push(ChatMessage {
                message_id,
                role: MessageRole::Assistant,
                text,
                at,
            }),
            ChatEvent::ToolCallStarted {
                tool_call_id,
                tool_name,
                input,
                at,
            } => self.tool_calls.push(ToolCall {
                tool_call_id,
                tool_name,
                input,
                status: ToolCallStatus::Started,
                output: None,
                error: None,
                duration_ms: None,
                started_at: at,
                finished_at: None,
            }),
            ChatEvent::ToolResultRecorded {
                tool_call_id,
                output,
                duration_ms,
                at,
            } => {
                if let Some(call) = self.tool_call_mut(&tool_call_id) {
                    call.status = ToolCallStatus::Succeeded;
                    call.output = Some(output);
                    call.duration_ms = Some(duration_ms);
                    call.finished_at = Some(at);
                }
            }
            ChatEvent::ToolCallFailed {
                tool_call_id,
                error,
                duration_ms,
                at,
            } => {
                if let Some(call) = self.tool_call_mut(&tool_call_id) {
                    call.status = ToolCallStatus::Failed;
                    call.error = Some(error);
                    call.duration_ms = Some(duration_ms);
                    call.finished_at = Some(at);
                }
            }
            ChatEvent::GateDecided {
                tool_call_id,
                command,
                verdict,
                reason,
                at,
            } => self.gate_decisions.push(GateDecision {
                tool_call_id,
                command,
                verdict,
                reason,
                at,
            }),
            ChatEvent::ConfirmationRequested {
                confirmation_id,
                tool_call_id,
                command,
                reason,
                expires_at,
                at,
            } => self.confirmations.push(Confirmation {
                confirmation_id,
                tool_call_id,
                command,
                reason,
                requested_at: at,
                expires_at,
                answer: None,
            }),
            ChatEvent::ConfirmationAnswered {
                confirmation_id,
                decision,
                at,
            } => {
                let found = self
                    .confirmations
                    .iter_mut()
                    .find(|confirmation| confirmation.confirmation_id == confirmation_id);
                if let Some(confirmation) = found {
                    confirmation.answer = Some(ConfirmationAnswer { decision, at });
                }
            }
            ChatEvent::RunCancelled { at } => {
                self.cancelled_runs.push(at);
                if let Some(question) = self.last_question() {
                    self.cancelled_questions.push(question);
                }
            }
            ChatEvent::UsageRecorded(usage) => {
                self.total_input_tokens =
                    self.total_input_tokens.saturating_add(usage.input_tokens);
                self.total_output_tokens =
                    self.total_output_tokens.saturating_add(usage.output_tokens);
                self.total_cost_micros = self.total_cost_micros.saturating_add(usage.cost_micros);
                self.usage.push(usage);
            }
            ChatEvent::Renamed { title, .. } => self.title = title,
            ChatEvent::SessionDeleted { .. } => self.deleted = true,
        }
        self
    }

    fn tool_call_mut(&mut self, tool_call_id: &str) -> Option<&mut ToolCall> {
        self.tool_calls
            .iter_mut()
            .find(|call| call.tool_call_id == tool_call_id)
    }
}
