//! Spans over OTLP/HTTP with protobuf bodies: the exporter the span processor
//! ([`batch`](super::batch)) hands each batch to.
//!
//! The request's body is written by [`otlp_request`](super::otlp_request).
//!
//! Configured by the OpenTelemetry exporter variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as
//! it is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`; `OTEL_EXPORTER_OTLP_HEADERS` and
//! `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (`key=value,…`, values percent-encoded, the traces
//! variable winning per key); `OTEL_EXPORTER_OTLP_TIMEOUT` / `…_TRACES_TIMEOUT` in milliseconds
//! (default 10 s). Bodies are not compressed, and the protocol is `http/protobuf`: other values
//! of `…_COMPRESSION` and `…_PROTOCOL` are refused at start-up rather than ignored.

use std::time::Duration;

use reqwest_blocking::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use super::otlp_request::{Batch, EncodedResource};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the exporter could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("neither OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT is set")]
    NoEndpoint,
    /// `key` names the entry (its value may be a secret, so it is not quoted).
    #[error("{variable}: the header {key:?} is not `key=value` with a valid name and a percent-encoded value")]
    Header { variable: &'static str, key: String },
    #[error("{variable}={value:?} is not a timeout in milliseconds")]
    Timeout {
        variable: &'static str,
        value: String,
    },
    #[error("{variable}={value:?}: Aurora exports uncompressed OTLP/HTTP (`none`)")]
    Compression {
        variable: &'static str,
        value: String,
    },
    #[error("{variable}={value:?}: Aurora exports OTLP over HTTP with protobuf (`http/protobuf`)")]
    Protocol {
        variable: &'static str,
        value: String,
    },
    #[error("the HTTP client does not start: {0}")]
    Client(#[from] reqwest_blocking::Error),
    #[error("the HTTP client's start-up panicked")]
    ClientPanicked,
    #[error("{variable}={value:?} is not a whole number")]
    Number {
        variable: &'static str,
        value: String,
    },
}

/// Why a batch was not exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{endpoint}: {source}")]
    Unreachable {
        endpoint: String,
        source: reqwest_blocking::Error,
    },
    #[error("{endpoint} answered {status}: {body}")]
    Refused {
        endpoint: String,
        status: reqwest_blocking::StatusCode,
        /// The start of the answer's body.
        body: String,
    },
}

/// Where and how spans are sent, read from the environment ([`Config::from_env`]).
#[derive(Debug, PartialEq)]
pub struct Config {
    pub endpoint: String,
    pub headers: HeaderMap,
    pub timeout: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// The configuration `var` describes (`var` answers a variable's value, `None` when unset).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        for variable in [
            "OTEL_EXPORTER_OTLP_COMPRESSION",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        ] {
            if let Some(value) = var(variable).filter(|v| v.trim() != "none") {
                return Err(ConfigError::Compression { variable, value });
            }
        }
        for variable in [
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        ] {
            if let Some(value) = var(variable).filter(|v| v.trim() != "http/protobuf") {
                return Err(ConfigError::Protocol { variable, value });
            }
        }
        let endpoint = match var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some(endpoint) => endpoint,
            None => {
                let base = var("OTEL_EXPORTER_OTLP_ENDPOINT").ok_or(ConfigError::NoEndpoint)?;
                format!("{}/v1/traces", base.trim_end_matches('/'))
            }
        };
        let mut headers = HeaderMap::new();
        for variable in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        ] {
            let Some(text) = var(variable) else { continue };
            let parsed =
                parse_headers(&text).map_err(|key| ConfigError::Header { variable, key })?;
            // The traces variable's value replaces the general one's for the same key.
            for (name, value) in parsed {
                headers.insert(name, value);
            }
        }
        let mut timeout = DEFAULT_TIMEOUT;
        for variable in [
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        ] {
            if let Some(value) = var(variable) {
                let millis: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError::Timeout { variable, value })?;
                timeout = Duration::from_millis(millis);
            }
        }
        Ok(Self {
            endpoint,
            headers,
            timeout,
        })
    }
}

/// `key=value,…` with percent-encoded values (the exporter specification's format); the key of
/// the entry that is not one is the error.
fn parse_headers(text: &str) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    text.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let invalid = || {
                entry
                    .split('=')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            let (key, value) = entry.split_once('=').ok_or_else(invalid)?;
            let value = percent_encoding::percent_decode_str(value.trim())
                .decode_utf8()
                .map_err(|_| invalid())?;
            Ok((
                HeaderName::try_from(key.trim()).map_err(|_| invalid())?,
                HeaderValue::try_from(value.as_ref()).map_err(|_| invalid())?,
            ))
        })
        .collect()
}

/// Sends each batch as one `ExportTraceServiceRequest` (see the module's documentation).
#[derive(Debug)]
pub struct OtlpExporter {
    client: reqwest_blocking::blocking::Client,
    endpoint: String,
}

impl OtlpExporter {
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let mut headers = config.headers;
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-protobuf"),
        );
        aurora_handlers::tls::install_provider();
        let timeout = config.timeout;
        // The blocking client starts a runtime of its own, which must not be done (nor waited
        // for) on an async runtime's thread, where start-up runs: so on a thread of its own.
        let client = std::thread::spawn(move || {
            reqwest_blocking::blocking::Client::builder()
                .timeout(timeout)
                .default_headers(headers)
                .build()
        })
        .join()
        .map_err(|_| ConfigError::ClientPanicked)??;
        Ok(Self {
            client,
            endpoint: config.endpoint,
        })
    }

    /// Posts `batch` as `resource`'s spans, waiting for the answer (on the processor's thread).
    pub fn send(&self, resource: &EncodedResource, batch: &Batch) -> Result<(), ExportError> {
        let answer = self
            .client
            .post(&self.endpoint)
            .body(batch.request(resource))
            .send()
            .map_err(|source| ExportError::Unreachable {
                endpoint: self.endpoint.clone(),
                source,
            })?;
        let status = answer.status();
        if !status.is_success() {
            let text = answer.text().unwrap_or_default();
            return Err(ExportError::Refused {
                endpoint: self.endpoint.clone(),
                status,
                body: text.chars().take(200).collect(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "otlp_tests.rs"]
pub(crate) mod tests;
