//! A command's way through the gate: allowed, refused, or held for the user's confirmation,
//! which the run waits for on the session's events and withdraws when it stops waiting.

use std::time::Duration;

use aurora_domain::chat::frames::ServerFrame;
use aurora_domain::chat::CONFIRMATION_TTL_SECS;
use aurora_domain::gate::{self, RunMode, Verdict};
use aurora_domain::{ChatCommand, ChatEvent, ChatMode, ConfirmationDecision, GateVerdict};
use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use uuid::Uuid;

use super::run_loop::{Run, Stop};
use crate::connectors::{account_argument, cli_env};

impl Run {
    /// The gate, the confirmation if it asks for one, then the command. `Ok(Err(_))` is a
    /// failure the model is told about; `Err(_)` stops the run.
    pub(super) async fn gated(
        &mut self,
        cli: gate::Cli,
        command: &str,
        account: Option<&str>,
        tool_call_id: &str,
        control: &mut async_nats::Subscriber,
    ) -> Result<Result<String, String>, Stop> {
        let policy = match self.agent.policy(&self.tenant).await {
            Ok(policy) => policy,
            Err(e) => {
                return Ok(Err(format!(
                    "the organisation's command policy is unusable: {e}"
                )))
            }
        };
        let mode = match (self.journal.is_some(), self.mode) {
            (true, _) => RunMode::Background,
            (false, ChatMode::Ask) => RunMode::Ask,
            (false, ChatMode::Agent) => RunMode::Agent,
        };
        let decision = gate::check(cli, command, mode, &policy);
        // Arguments with spaces or quotes are quoted, so what the user approves is what runs.
        let mut shown = if decision.argv.is_empty() {
            command.to_owned()
        } else {
            shown(&decision.argv)
        };
        // Which of several accounts it runs against is part of what is approved.
        if let Some(account) = account {
            let argument = account_argument(cli_env::kind_of(cli));
            shown.push_str(&format!("  ({argument} {account})"));
        }
        let verdict = match decision.verdict {
            Verdict::Allow => GateVerdict::Allowed,
            Verdict::Confirm => GateVerdict::ConfirmationRequired,
            Verdict::Refuse => GateVerdict::Refused,
        };
        self.record(ChatCommand::RecordGateDecision {
            tool_call_id: tool_call_id.to_owned(),
            command: shown.clone(),
            verdict,
            reason: decision.reason.clone(),
            at: Utc::now(),
        })
        .await?;
        match decision.verdict {
            Verdict::Refuse => {
                return Ok(Err(format!(
                    "{}: {}",
                    crate::agent::tools::REFUSED_BY_GATE,
                    decision.reason
                )))
            }
            Verdict::Confirm => {
                let confirmation_id = Uuid::new_v5(&self.answer, tool_call_id.as_bytes());
                let at = Utc::now();
                self.record(ChatCommand::AskConfirmation {
                    confirmation_id,
                    tool_call_id: Some(tool_call_id.to_owned()),
                    command: shown.clone(),
                    reason: decision.reason.clone(),
                    at,
                })
                .await?;
                let expires_at = at + TimeDelta::seconds(CONFIRMATION_TTL_SECS);
                self.send(ServerFrame::ExecutionConfirmation {
                    session_id: self.session,
                    confirmation_id,
                    command: shown.clone(),
                    reason: decision.reason.clone(),
                    expires_at,
                })
                .await;
                match self.answer_to(confirmation_id, expires_at, control).await? {
                    Some(ConfirmationDecision::Execute) => {}
                    Some(ConfirmationDecision::Cancel) => {
                        return Ok(Err("the user declined to run this command".into()))
                    }
                    None => {
                        return Ok(Err(
                            "nobody confirmed the command in time; the confirmation was withdrawn"
                                .into(),
                        ))
                    }
                }
            }
            Verdict::Allow => {}
        }
        let exec = self.exec(cli, account, decision.argv);
        tokio::select! {
            outcome = exec => Ok(outcome),
            // Dropping the command's future kills it.
            stop = self.until_stopped(control) => Err(stop),
        }
    }

    /// The user's answer to a confirmation, as the log holds it (`None`: none came in time). A
    /// confirmation this run stops waiting for (expired, or the run stopped) is withdrawn —
    /// answered `cancel` — so it can no longer be approved for nothing.
    async fn answer_to(
        &self,
        confirmation_id: Uuid,
        expires_at: DateTime<Utc>,
        control: &mut async_nats::Subscriber,
    ) -> Result<Option<ConfirmationDecision>, Stop> {
        let wait = (expires_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(self.agent.inner.config.confirmation_wait);
        let deadline = tokio::time::sleep(wait);
        tokio::pin!(deadline);
        let mut stopping = self.stopping.clone();
        let stop = loop {
            let message = tokio::select! {
                _ = &mut deadline => break None,
                _ = stopping.wait_for(|s| *s) => break Some(Stop::Shutdown),
                message = control.next() => message,
            };
            let Some(message) = message else {
                break Some(Stop::Store("the session's events stopped arriving".into()));
            };
            let event = serde_json::from_slice::<ChatEvent>(&message.payload);
            if let Ok(ChatEvent::ConfirmationAnswered {
                confirmation_id: answered,
                ..
            }) = &event
            {
                if *answered == confirmation_id {
                    let state = self.load().await?;
                    if let Some(answer) = state.confirmation(confirmation_id).and_then(|c| c.answer)
                    {
                        // A cancel answers it `cancel` beside `run_cancelled`: stop for that.
                        if let Some(stop) = self.stop_in(&state) {
                            break Some(stop);
                        }
                        return Ok(Some(answer.decision));
                    }
                }
            }
            if let Err(stop) = self.on_event(&message).await {
                break Some(stop);
            }
        };
        let withdraw = ChatCommand::AnswerConfirmation {
            confirmation_id,
            decision: ConfirmationDecision::Cancel,
            at: Utc::now().min(expires_at),
        };
        match self
            .agent
            .inner
            .sessions
            .execute(&self.tenant, self.session, withdraw)
            .await
        {
            Ok(Ok(())) => {}
            // Answered meanwhile (or the session is gone): the stored answer stands.
            Ok(Err(refusal)) => {
                tracing::info!(session = %self.session, %refusal, "confirmation not withdrawn")
            }
            Err(e) => {
                tracing::warn!(session = %self.session, error = %e, "confirmation not withdrawn")
            }
        }
        match stop {
            Some(stop) => Err(stop),
            None => Ok(None),
        }
    }
}

/// A command line as people read it: arguments that need it quoted.
fn shown(argv: &[String]) -> String {
    argv.iter()
        .map(|arg| {
            if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || "'\"\\".contains(c)) {
                shell_words::quote(arg).into_owned()
            } else {
                arg.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_command_is_shown_with_only_the_quotes_it_needs() {
        let argv: Vec<String> = [
            "gcloud",
            "--format=json",
            "logging",
            "read",
            "severity>=ERROR AND x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            shown(&argv),
            "gcloud --format=json logging read 'severity>=ERROR AND x'"
        );
    }
}
