//! One streamed model call through async-openai, against any OpenAI-compatible endpoint.
//!
//! Requests and chunks are our own small types (async-openai's `byot`): servers that speak the
//! protocol loosely (vLLM, Ollama, proxies) still parse, and only the fields the agent uses are
//! read. A tool call arrives in deltas keyed by `index` — the id and name first, the arguments
//! in pieces — and is complete when the stream ends.

use std::pin::Pin;
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::Client;
use futures::Stream;
use serde::Deserialize;
use serde_json::{json, Value};

use super::LlmConfig;

pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<Chunk, LlmError>> + Send>>;

#[derive(Debug, Clone, thiserror::Error)]
#[error("the model endpoint failed: {0}")]
pub struct LlmError(pub String);

/// A client of the configured endpoint. Cheap to clone.
#[derive(Clone)]
pub struct Llm {
    client: Client<OpenAIConfig>,
    pub model: String,
}

impl Llm {
    pub fn new(config: &LlmConfig) -> Self {
        crate::tls::install_provider();
        let openai = OpenAIConfig::new()
            .with_api_base(config.base_url.trim_end_matches('/'))
            .with_api_key(config.api_key.clone());
        Self {
            client: Client::with_config(openai),
            model: config.model.clone(),
        }
    }

    /// Starts a streamed completion of `messages` with `tools` on `model`.
    pub async fn stream(
        &self,
        model: &str,
        messages: &[Value],
        tools: &[Value],
    ) -> Result<ChunkStream, LlmError> {
        let mut request = json!({
            "model": model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if !tools.is_empty() {
            request["tools"] = Value::Array(tools.to_vec());
        }
        let stream = self
            .client
            .chat()
            .create_stream_byot::<Value, Chunk>(request)
            .await
            .map_err(|e| LlmError(e.to_string()))?;
        Ok(Box::pin(futures::StreamExt::map(stream, |chunk| {
            chunk.map_err(|e| LlmError(e.to_string()))
        })))
    }

    /// One whole answer to `messages` (no tools), its chunks gathered into a [`Turn`]. `idle`
    /// bounds the wait for the answer to begin and between two chunks, as the agent's own calls
    /// are bounded.
    pub async fn complete(
        &self,
        model: &str,
        messages: &[Value],
        idle: Duration,
    ) -> Result<Turn, LlmError> {
        let mut stream = tokio::time::timeout(idle, self.stream(model, messages, &[]))
            .await
            .map_err(|_| {
                LlmError(format!(
                    "the model did not answer within {} s",
                    idle.as_secs()
                ))
            })??;
        let mut turn = Turn::default();
        loop {
            match tokio::time::timeout(idle, futures::StreamExt::next(&mut stream)).await {
                Err(_) => {
                    return Err(LlmError(format!(
                        "the model sent nothing for {} s",
                        idle.as_secs()
                    )))
                }
                Ok(None) => return Ok(turn),
                Ok(Some(Err(e))) => return Err(e),
                Ok(Some(Ok(chunk))) => {
                    if let Some(error) = &chunk.error {
                        return Err(LlmError(format!(
                            "the model endpoint reported an error: {error}"
                        )));
                    }
                    turn.absorb(chunk);
                }
            }
        }
    }
}

/// One `chat.completion.chunk`, as far as the agent reads it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub choices: Vec<ChoiceDelta>,
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Some servers report a failure inside the stream (`data: {"error": …}`).
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChoiceDelta {
    #[serde(default)]
    pub delta: Delta,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ToolCallDelta {
    #[serde(default)]
    pub index: usize,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolCallRequest {
    pub id: String,
    pub name: String,
    /// JSON text, as the model wrote it.
    pub arguments: String,
}

/// One model call, accumulated chunk by chunk.
#[derive(Debug, Clone, Default)]
pub struct Turn {
    pub text: String,
    /// By `index`, in the order the model started them.
    pub tool_calls: Vec<(usize, ToolCallRequest)>,
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
}

impl Turn {
    /// Takes one chunk in; returns the text it added (what streams to the user), if any.
    pub fn absorb(&mut self, chunk: Chunk) -> Option<String> {
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        let mut added = String::new();
        for choice in chunk.choices {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                self.text.push_str(&text);
                added.push_str(&text);
            }
            for delta in choice.delta.tool_calls.unwrap_or_default() {
                // The newest call at this index, unless the delta starts another one: a new id
                // there (servers that leave `index` out send whole calls, all at 0).
                let current = self
                    .tool_calls
                    .iter()
                    .rposition(|(i, _)| *i == delta.index)
                    .filter(|&at| {
                        let known = &self.tool_calls[at].1.id;
                        match delta.id.as_deref() {
                            Some(id) if !id.is_empty() && !known.is_empty() => id == known,
                            _ => true,
                        }
                    });
                let at = match current {
                    Some(at) => at,
                    None => {
                        self.tool_calls
                            .push((delta.index, ToolCallRequest::default()));
                        self.tool_calls.len() - 1
                    }
                };
                let call = &mut self.tool_calls[at].1;
                if let Some(id) = delta.id.filter(|id| !id.is_empty()) {
                    call.id = id;
                }
                if let Some(function) = delta.function {
                    if let Some(name) = function.name.filter(|n| !n.is_empty()) {
                        call.name = name;
                    }
                    if let Some(arguments) = function.arguments {
                        call.arguments.push_str(&arguments);
                    }
                }
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        (!added.is_empty()).then_some(added)
    }

    /// The tool calls the model asked for, in order.
    pub fn calls(&self) -> Vec<ToolCallRequest> {
        self.tool_calls.iter().map(|(_, c)| c.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn chunk(value: Value) -> Chunk {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn text_deltas_accumulate_and_are_returned() {
        let mut turn = Turn::default();
        assert_eq!(
            turn.absorb(chunk(
                json!({"choices":[{"delta":{"role":"assistant","content":"Check"}}]})
            )),
            Some("Check".into())
        );
        assert_eq!(
            turn.absorb(chunk(json!({"choices":[{"delta":{"content":"out"}}]}))),
            Some("out".into())
        );
        assert_eq!(
            turn.absorb(chunk(
                json!({"choices":[{"delta":{},"finish_reason":"stop"}]})
            )),
            None
        );
        assert_eq!(
            turn.absorb(chunk(json!({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}))),
            None
        );
        assert_eq!(turn.text, "Checkout");
        assert_eq!(turn.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            turn.usage,
            Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 3
            })
        );
    }

    #[test]
    fn tool_call_deltas_accumulate_by_index() {
        let mut turn = Turn::default();
        for c in [
            json!({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"kubectl","arguments":""}}]}}]}),
            json!({"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"recent_changes","arguments":"{}"}}]}}]}),
            json!({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"command\":"}}]}}]}),
            json!({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"get pods\"}"}}]}}]}),
            json!({"choices":[{"delta":{},"finish_reason":"tool_calls"}]}),
        ] {
            assert_eq!(turn.absorb(chunk(c)), None);
        }
        let calls = turn.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, "call_a");
        assert_eq!(calls[0].name, "kubectl");
        assert_eq!(calls[0].arguments, r#"{"command":"get pods"}"#);
        assert_eq!(calls[1].name, "recent_changes");
        assert_eq!(turn.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn whole_calls_without_an_index_stay_apart() {
        let mut turn = Turn::default();
        for c in [
            json!({"choices":[{"delta":{"tool_calls":[{"id":"call_a","function":{"name":"kubectl","arguments":"{\"command\":\"get pods\"}"}}]}}]}),
            json!({"choices":[{"delta":{"tool_calls":[{"id":"call_b","function":{"name":"recent_changes","arguments":"{}"}}]}}]}),
        ] {
            turn.absorb(chunk(c));
        }
        let calls = turn.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].arguments, r#"{"command":"get pods"}"#);
        assert_eq!(calls[1].name, "recent_changes");
        assert_eq!(calls[1].arguments, "{}");
    }

    #[test]
    fn an_error_inside_the_stream_is_read() {
        let chunk = chunk(json!({"error": {"message": "overloaded", "type": "server_error"}}));
        assert_eq!(chunk.error.unwrap()["message"], "overloaded");
    }

    #[test]
    fn a_loose_chunk_without_optional_fields_still_parses() {
        let mut turn = Turn::default();
        assert_eq!(turn.absorb(chunk(json!({"id":"x"}))), None);
        assert_eq!(
            turn.absorb(chunk(json!({"choices":[{"delta":{"content":null}}]}))),
            None
        );
        assert!(turn.text.is_empty());
    }
}
