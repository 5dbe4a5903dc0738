//! The one way a query tool talks to a provider: a request with a timeout, an answer read up to
//! [`MAX_ANSWER_BYTES`], and a refusal turned into a [`QueryError`] naming the provider, the
//! status and the provider's own message (found where each provider documents it).

use std::time::Duration;

use reqwest::RequestBuilder;
use serde_json::Value;

use super::QueryError;
use aurora_domain::connector::ConnectorKind;

/// The most of an answer that is read: what the redaction scan takes in one go
/// ([`crate::redact::MAX_SCAN_BYTES`]), so nothing read is ever passed on unscanned.
pub const MAX_ANSWER_BYTES: usize = crate::redact::MAX_SCAN_BYTES;

/// The most of a provider's error message that is kept.
const MAX_MESSAGE_CHARS: usize = 500;

/// An HTTP client shared by every query tool. Cheap to clone.
#[derive(Clone)]
pub struct ProviderHttp {
    client: reqwest::Client,
}

/// What a provider answered (successfully).
pub struct Answer {
    pub text: String,
    /// The answer was longer than [`MAX_ANSWER_BYTES`]; `text` is its beginning.
    pub cut: bool,
}

impl ProviderHttp {
    pub fn new(timeout: Duration) -> Self {
        crate::tls::install_provider();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // A provider that redirects is misconfigured; following could send the key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("aurora/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { client }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request`; a status other than 2xx is [`QueryError::Status`].
    pub async fn send(
        &self,
        provider: ConnectorKind,
        request: RequestBuilder,
    ) -> Result<Answer, QueryError> {
        let mut response = request.send().await.map_err(|e| QueryError::Unreachable {
            provider,
            reason: reason(e),
        })?;
        let status = response.status();
        let mut body = Vec::new();
        let mut cut = false;
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| QueryError::Unreachable {
                    provider,
                    reason: reason(e),
                })?;
            let Some(chunk) = chunk else { break };
            let room = MAX_ANSWER_BYTES - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&body).into_owned();
        if !status.is_success() {
            return Err(QueryError::Status {
                provider,
                status: status.as_u16(),
                message: message_of(&text),
            });
        }
        Ok(Answer { text, cut })
    }

    /// Sends `request` and reads the answer as JSON.
    pub async fn json(
        &self,
        provider: ConnectorKind,
        request: RequestBuilder,
    ) -> Result<Value, QueryError> {
        let answer = self.send(provider, request).await?;
        serde_json::from_str(&answer.text).map_err(|e| QueryError::Unreadable {
            provider,
            detail: if answer.cut {
                format!("the answer is larger than {MAX_ANSWER_BYTES} bytes")
            } else {
                e.to_string()
            },
        })
    }
}

/// Why a request failed, without reqwest's URL (the model needs the kind, not our address book).
fn reason(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "it did not answer in time".into()
    } else if e.is_connect() {
        "the connection failed".into()
    } else {
        e.without_url().to_string()
    }
}

/// The message of an error answer, where the providers put it: Datadog `errors: [..]`, Sentry
/// `detail`, Elasticsearch `error.reason`, Prometheus/Loki `error`, Tailscale/OVH `message`,
/// Splunk `messages[].text`, GraphQL `errors[].message`; otherwise the text itself.
pub fn message_of(text: &str) -> String {
    let found = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| provider_message(&v));
    let message = found.unwrap_or_else(|| text.trim().to_owned());
    let message = if message.is_empty() {
        "(no message)".to_owned()
    } else {
        message
    };
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message,
    }
}

fn provider_message(v: &Value) -> Option<String> {
    let texts = |list: &Value, key: Option<&str>| -> Option<String> {
        let items: Vec<String> = list
            .as_array()?
            .iter()
            .filter_map(|item| match key {
                Some(key) => item[key].as_str(),
                None => item.as_str(),
            })
            .map(str::to_owned)
            .collect();
        (!items.is_empty()).then(|| items.join("; "))
    };
    texts(&v["errors"], None)
        .or_else(|| texts(&v["errors"], Some("message")))
        .or_else(|| texts(&v["messages"], Some("text")))
        .or_else(|| v["error"]["reason"].as_str().map(str::to_owned))
        .or_else(|| v["error"].as_str().map(str::to_owned))
        .or_else(|| v["detail"].as_str().map(str::to_owned))
        .or_else(|| v["message"].as_str().map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_providers_error_shape_gives_its_message() {
        let cases = [
            (r#"{"errors":["Forbidden"]}"#, "Forbidden"),
            (r#"{"errors":[{"message":"Invalid NRQL"}]}"#, "Invalid NRQL"),
            (
                r#"{"messages":[{"type":"FATAL","text":"Unknown search command 'serch'."}]}"#,
                "Unknown search command 'serch'.",
            ),
            (
                r#"{"error":{"type":"index_not_found_exception","reason":"no such index [logs]"},"status":404}"#,
                "no such index [logs]",
            ),
            (
                r#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#,
                "parse error at char 5",
            ),
            (
                r#"{"detail":"Authentication credentials were not provided."}"#,
                "Authentication credentials were not provided.",
            ),
            (
                r#"{"class":"Client::NotFound","message":"The requested object does not exist"}"#,
                "The requested object does not exist",
            ),
            ("<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
            ("", "(no message)"),
        ];
        for (body, message) in cases {
            assert_eq!(message_of(body), message, "{body}");
        }
    }

    #[test]
    fn a_long_message_is_cut() {
        let message = message_of(&"x".repeat(2000));
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
