//! One streamed model call: its text goes out chunk by chunk, its usage is recorded.

use aurora_domain::chat::estimate_tokens;
use aurora_domain::chat::frames::ServerFrame;
use aurora_domain::ChatCommand;
use chrono::Utc;
use futures::StreamExt;
use serde_json::Value;

use super::run_loop::{ModelCall, Run, Stop};
use crate::agent::llm::Turn;
use aurora_domain::usage::ModelUsage;

impl Run {
    /// One streamed model call; its text goes out chunk by chunk and its usage is recorded.
    #[tracing::instrument(skip_all, fields(model = %self.model))]
    pub(super) async fn call_model(
        &mut self,
        messages: &[Value],
        definitions: &[Value],
        control: &mut async_nats::Subscriber,
        said: &mut Vec<String>,
    ) -> Result<Turn, Stop> {
        let idle = self.agent.inner.config.llm_idle_timeout;
        let mut turn = Turn::default();
        let mut stopped = None;
        said.push(String::new());
        let opened = tokio::select! {
            opened = tokio::time::timeout(idle, self.llm.stream(&self.model, messages, definitions)) => Some(opened),
            stop = self.until_stopped(control) => { stopped = Some(stop); None }
        };
        match opened {
            None => {}
            Some(Err(_)) => {
                stopped = Some(Stop::Llm(format!(
                    "the model did not answer within {} s",
                    idle.as_secs()
                )))
            }
            Some(Ok(Err(e))) => stopped = Some(Stop::Llm(e.to_string())),
            Some(Ok(Ok(mut stream))) => loop {
                tokio::select! {
                    chunk = tokio::time::timeout(idle, stream.next()) => match chunk {
                        Err(_) => {
                            stopped = Some(Stop::Llm(format!("the model sent nothing for {} s", idle.as_secs())));
                            break;
                        }
                        Ok(None) => break,
                        Ok(Some(Err(e))) => { stopped = Some(Stop::Llm(e.to_string())); break }
                        Ok(Some(Ok(chunk))) => {
                            if let Some(error) = chunk.error.as_ref() {
                                stopped = Some(Stop::Llm(format!("the model endpoint reported an error: {error}")));
                                break;
                            }
                            if let Some(text) = turn.absorb(chunk) {
                                if let Some(last) = said.last_mut() {
                                    last.push_str(&text);
                                }
                                if let Some(journal) = self.journal.as_mut() {
                                    journal.think(&text).await?;
                                }
                                self.send(ServerFrame::Message {
                                    session_id: self.session,
                                    message_id: self.answer,
                                    text,
                                    is_chunk: true,
                                    is_complete: false,
                                })
                                .await;
                            }
                        }
                    },
                    stop = self.until_stopped(control) => { stopped = Some(stop); break }
                }
            },
        }
        // A call that produced anything is recorded, estimated when the server gave no usage.
        let (input, output) = match turn.usage {
            Some(usage) => (usage.prompt_tokens, usage.completion_tokens),
            None => {
                let sent = estimate_tokens(&Value::Array(messages.to_vec()).to_string()) as u64;
                let args: usize = turn.calls().iter().map(|c| c.arguments.len()).sum();
                (
                    sent,
                    estimate_tokens(&turn.text) as u64 + (args as u64).div_ceil(4),
                )
            }
        };
        if turn.usage.is_some() || !turn.text.is_empty() || !turn.tool_calls.is_empty() {
            let cost = self
                .agent
                .inner
                .config
                .prices
                .cost(&self.model, input, output);
            self.metrics().llm_call(
                &self.model,
                Some(self.tenant.as_str()),
                input,
                output,
                u64::try_from(cost.micros).unwrap_or(0),
            );
            if !cost.priced {
                tracing::warn!(model = %self.model, "no price for this model; its calls cost 0 (set LLM_PRICES)");
            }
            self.calls.push(ModelCall {
                input_tokens: input,
                output_tokens: output,
                cost_micros: cost.micros,
            });
            if let Some(journal) = self.journal.as_mut() {
                journal.end_of_text().await?;
            }
            // The session and the investigation are separate subjects: both appends are in
            // flight at once, so a step waits for one round trip, not two.
            let recorded = self.record(ChatCommand::RecordUsage(ModelUsage {
                model: self.model.clone(),
                input_tokens: input,
                output_tokens: output,
                cost_micros: cost.micros,
                at: Utc::now(),
            }));
            let journaled = async {
                match &self.journal {
                    Some(journal) => journal.usage(&self.model, input, output, cost.micros).await,
                    None => Ok(()),
                }
            };
            let (recorded, journaled) = tokio::join!(recorded, journaled);
            recorded?;
            journaled?;
        }
        match stopped {
            Some(stop) => Err(stop),
            None => Ok(turn),
        }
    }
}
