//! One tool call of a run: recorded, planned, refused if the run did not offer it, run (a command through the gate), its result
//! recorded and sent.

use std::path::PathBuf;
use std::time::Instant;

use aurora_domain::chat::frames::ServerFrame;
use aurora_domain::ChatCommand;
use chrono::Utc;
use serde_json::Value;

use super::offer::Offer;
use super::run_loop::{Run, Stop};
use crate::agent::llm::ToolCallRequest;
use crate::agent::query::{Account, QueryError, QueryTool};
use crate::agent::tools::{self, Planned};
use crate::connectors::{cli_env, LookupError};
use crate::exec::{self, ExecSpec};
use aurora_domain::gate::Cli;

impl Run {
    /// One tool call: recorded, gated if it is a command, run, its result recorded. The text is
    /// what the model is told. A stop during the call ends it (a running command is killed).
    #[tracing::instrument(skip_all, fields(tool = %call.name))]
    pub(super) async fn tool(
        &mut self,
        call: &ToolCallRequest,
        offer: &Offer,
        control: &mut async_nats::Subscriber,
    ) -> Result<String, Stop> {
        if let Some(journal) = self.journal.as_mut() {
            if let Some(told) = journal.tool(&call.name, &call.arguments).await {
                return Ok(told?);
            }
        }
        let input: Value = serde_json::from_str(&call.arguments)
            .unwrap_or_else(|_| Value::String(call.arguments.clone()));
        // The investigation's step and the session's call are separate subjects, appended at
        // once (a resumed run copes with either one missing: see `investigation::resume`).
        let journaled = async {
            match &self.journal {
                Some(journal) => journal.step_started(&call.id, &call.name, &input).await,
                None => Ok(()),
            }
        };
        let recorded = self.record(ChatCommand::StartToolCall {
            tool_call_id: call.id.clone(),
            tool_name: call.name.clone(),
            input: input.clone(),
            at: Utc::now(),
        });
        let (journaled, recorded) = tokio::join!(journaled, recorded);
        journaled?;
        recorded?;
        self.send(ServerFrame::ToolCall {
            session_id: self.session,
            tool_call_id: call.id.clone(),
            tool_name: call.name.clone(),
            input,
            status: "running".into(),
        })
        .await;
        let started = Instant::now();
        // A tool the run did not offer is refused before anything runs (or is gated).
        let planned = tools::plan(&call.name, &call.arguments).and_then(|planned| {
            match offer.refusal(&call.name, &planned) {
                Some(refusal) => Err(refusal),
                None => Ok(planned),
            }
        });
        let outcome = match planned {
            Err(e) => Ok(Err(e)),
            Ok(Planned::Read(tool)) => {
                let reader = self.agent.inner.reader.clone();
                let tenant = self.tenant.clone();
                let secrets = self.tenant_secrets().await;
                let read = async move {
                    let secrets = secrets?;
                    reader
                        .read(&tenant, &tool)
                        .await
                        .map(|output| exec::capped(crate::redact::redact(&output, &secrets)))
                        .map_err(|e| e.to_string())
                };
                tokio::select! {
                    output = read => Ok(output),
                    stop = self.until_stopped(control) => Err(stop),
                }
            }
            Ok(Planned::Query { tool, account }) => {
                tokio::select! {
                    output = self.query(&tool, account.as_deref()) => Ok(output),
                    stop = self.until_stopped(control) => Err(stop),
                }
            }
            Ok(Planned::Command {
                cli,
                command,
                account,
            }) => {
                self.gated(cli, &command, account.as_deref(), &call.id, control)
                    .await
            }
        };
        match outcome {
            Ok(outcome) => self.finish_tool(call, started, outcome).await,
            Err(stop) => {
                let why = match stop {
                    Stop::Shutdown => "stopped: Aurora restarted",
                    _ => "stopped: the run was cancelled",
                };
                // Best effort: a deleted session refuses it, a failing store cannot take it.
                let _ = self.finish_tool(call, started, Err(why.into())).await;
                Err(stop)
            }
        }
    }

    async fn finish_tool(
        &mut self,
        call: &ToolCallRequest,
        started: Instant,
        outcome: Result<String, String>,
    ) -> Result<String, Stop> {
        let duration_ms = started.elapsed().as_millis() as u64;
        self.metrics().tool_call(
            tools::known_name(&call.name).unwrap_or("unknown"),
            outcome.is_ok(),
            Some(self.tenant.as_str()),
        );
        let journaled = async {
            match &self.journal {
                Some(journal) => journal.step_finished(&call.id, &outcome, duration_ms).await,
                None => Ok(()),
            }
        };
        let command = match &outcome {
            Ok(output) => ChatCommand::RecordToolResult {
                tool_call_id: call.id.clone(),
                output: output.clone(),
                duration_ms,
                at: Utc::now(),
            },
            Err(error) => ChatCommand::RecordToolError {
                tool_call_id: call.id.clone(),
                error: error.clone(),
                duration_ms,
                at: Utc::now(),
            },
        };
        let (journaled, recorded) = tokio::join!(journaled, self.record(command));
        journaled?;
        recorded?;
        match outcome {
            Ok(output) => {
                let for_model = tools::for_model(&output);
                self.send(ServerFrame::ToolResult {
                    session_id: self.session,
                    tool_call_id: call.id.clone(),
                    tool_name: call.name.clone(),
                    output,
                    duration_ms,
                })
                .await;
                Ok(for_model)
            }
            Err(error) => {
                let for_model = tools::for_model(&format!("error: {error}"));
                self.send(ServerFrame::ToolError {
                    session_id: self.session,
                    tool_call_id: call.id.clone(),
                    tool_name: call.name.clone(),
                    error,
                    duration_ms,
                })
                .await;
                Ok(for_model)
            }
        }
    }

    /// A query of the tenant's account of the tool's kind (the one named, or the only one),
    /// looked up now (so a disconnected account is refused at once), its output or error
    /// redacted with the account's secrets.
    async fn query(&self, tool: &QueryTool, account: Option<&str>) -> Result<String, String> {
        let kind = tool.kind();
        let connected = self
            .agent
            .inner
            .connectors
            .account(&self.tenant, kind, account)
            .await
            .map_err(|source| match source {
                LookupError::Ambiguous { .. } | LookupError::UnknownAccount { .. } => {
                    source.to_string()
                }
                source => QueryError::Lookup { kind, source }.to_string(),
            })?;
        let config = self.agent.inner.connectors.config();
        let Some((connected, account)) =
            connected.and_then(|c| Account::of(&c, config).map(|account| (c, account)))
        else {
            return Err(QueryError::NotConnected(kind).to_string());
        };
        let mut secrets = connected
            .credentials
            .as_ref()
            .map(|c| c.values())
            .unwrap_or_default();
        secrets.extend(self.tenant_secrets().await?);
        self.agent
            .inner
            .queries
            .answer(tool, &account, &secrets)
            .await
    }

    /// Runs a command with the credentials of the tenant's `account` of `cli` (none named: the
    /// only one), which exist only while it runs.
    pub(super) async fn exec(
        &self,
        cli: Cli,
        account: Option<&str>,
        argv: Vec<String>,
    ) -> Result<String, String> {
        let config = &self.agent.inner.config;
        let work_dir = self.work_dir();
        let credentials = cli_env::prepare(
            &self.agent.inner.connectors,
            &self.tenant,
            cli,
            account,
            &argv,
            &work_dir,
        )
        .await
        .map_err(|e| e.to_string())?;
        let mut secrets = credentials.secrets.clone();
        secrets.extend(self.tenant_secrets().await?);
        let mut env = Vec::new();
        if let Some(path) = &config.tool_path {
            env.push(("PATH".to_owned(), path.clone()));
        }
        env.extend(credentials.env.iter().cloned());
        cli_env::log_in(&credentials, &env, &work_dir, config.tool_timeout)
            .await
            .map_err(|e| e.to_string())?;
        let spec = ExecSpec {
            argv,
            env,
            cwd: work_dir,
            timeout: config.tool_timeout,
            secrets,
            output_cap: exec::OUTPUT_CAP,
        };
        match exec::run(spec).await {
            Ok(output) if output.success() => Ok(output.combined()),
            Ok(output) => Err(format!(
                "the command failed (exit code {}):\n{}",
                output
                    .exit_code
                    .map_or_else(|| "none".to_owned(), |c| c.to_string()),
                output.combined()
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Every secret of the organisation's connected accounts: a tool's output is redacted of
    /// all of them (a CLI or a provider may repeat a secret it was not given). Without them
    /// nothing can be said to be safe, so a failed lookup fails the call.
    async fn tenant_secrets(&self) -> Result<Vec<String>, String> {
        self.agent
            .inner
            .connectors
            .secret_values(&self.tenant)
            .await
            .map_err(|e| {
                format!("the organisation's secrets could not be read to redact the output: {e}")
            })
    }

    fn work_dir(&self) -> PathBuf {
        self.agent
            .inner
            .config
            .work_dir
            .join(self.tenant.as_str())
            .join(self.session.to_string())
    }
}
