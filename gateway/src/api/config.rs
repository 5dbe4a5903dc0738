//! What an operator can tune about the HTTP API (each a flag of `aurora up` / `aurora serve`
//! and an environment variable).

use std::time::Duration;

use aurora_handlers::sources::{SnsOrigins, VerifyContext};

/// Settings of the HTTP API.
#[derive(Debug, Clone, clap::Args)]
pub struct ApiConfig {
    /// Base URL users reach Aurora at. When it is `https://…`, cookies are `Secure` and responses
    /// carry HSTS.
    #[arg(long, env = "AURORA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The web UI's origin, the only one CORS lets call the API from a browser (none when unset).
    #[arg(long, env = "AURORA_FRONTEND_ORIGIN")]
    pub frontend_origin: Option<String>,
    /// Requests per minute one authenticated user may make.
    #[arg(long, env = "AURORA_RATE_LIMIT_PER_USER", default_value_t = 600)]
    pub rate_limit_per_user: u32,
    /// Requests per minute one IP address may make without authenticating.
    #[arg(long, env = "AURORA_RATE_LIMIT_PER_IP", default_value_t = 300)]
    pub rate_limit_per_ip: u32,
    /// Login and registration attempts per minute from one IP address.
    #[arg(long, env = "AURORA_RATE_LIMIT_LOGIN", default_value_t = 10)]
    pub rate_limit_login: u32,
    /// Chat queries per minute one user may send (SPEC: 5).
    #[arg(long, env = "AURORA_CHAT_QUERIES_PER_MINUTE", default_value_t = 5)]
    pub chat_queries_per_minute: u32,
    /// Seconds a request may take before it is answered 504.
    #[arg(long, env = "AURORA_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "AURORA_BODY_LIMIT", default_value_t = 1024 * 1024)]
    pub body_limit: usize,
    /// Address the gateway listens on (set by `aurora up` / `serve`, for default URLs).
    #[arg(skip)]
    pub listen: Option<std::net::SocketAddr>,
    /// Hours a login session lasts.
    #[arg(long, env = "AURORA_SESSION_HOURS", default_value_t = 24 * 7)]
    pub session_hours: i64,
    /// Origins trusted, besides Amazon SNS itself, to serve SNS signing certificates and
    /// subscription confirmations: comma-separated `scheme://host[:port]` (plain `http` only on
    /// 127.0.0.1 or localhost — a local stand-in, tests).
    #[arg(long, env = "AURORA_SNS_CERT_ORIGINS", value_delimiter = ',', value_parser = sns_origin)]
    pub sns_cert_origins: Vec<String>,
    /// Seconds an event stream (Server-Sent Events) may stay silent before a comment line keeps
    /// the connection open.
    #[arg(long, env = "AURORA_SSE_HEARTBEAT_SECS", default_value_t = 15)]
    pub sse_heartbeat_secs: u64,
    /// Events an event stream holds for a client that is behind.
    #[arg(long, env = "AURORA_SSE_BUFFER", default_value_t = 256)]
    pub sse_buffer: usize,
    /// Seconds an event stream waits for a client that stopped reading (its buffer full) before
    /// it drops it; the client reconnects with `Last-Event-ID` and misses nothing.
    #[arg(long, env = "AURORA_SSE_SLOW_CLIENT_SECS", default_value_t = 10)]
    pub sse_slow_client_secs: u64,
    /// Serve `/metrics` on this address instead of the gateway's port (and from every role:
    /// the handlers and projections roles have no HTTP server otherwise).
    #[arg(long, env = "AURORA_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Label per-tenant series with the tenant id (off by default: a series per tenant).
    #[arg(long, env = "AURORA_METRICS_TENANT_LABELS")]
    pub metrics_tenant_labels: bool,
}

/// One trusted SNS origin, checked when the command line is read.
fn sns_origin(origin: &str) -> Result<String, String> {
    if origin.trim().is_empty() {
        return Ok(String::new());
    }
    SnsOrigins::parse_origin(origin).map(|url| url.origin().ascii_serialization())
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            frontend_origin: None,
            rate_limit_per_user: 600,
            rate_limit_per_ip: 300,
            rate_limit_login: 10,
            chat_queries_per_minute: 5,
            request_timeout_secs: 30,
            body_limit: 1024 * 1024,
            session_hours: 24 * 7,
            listen: None,
            sns_cert_origins: Vec::new(),
            sse_heartbeat_secs: 15,
            sse_buffer: 256,
            sse_slow_client_secs: 10,
            metrics_listen: None,
            metrics_tenant_labels: false,
        }
    }
}

impl ApiConfig {
    /// Base of the URLs shown to users (webhook URLs): `AURORA_PUBLIC_URL`, else the listen
    /// address the gateway was started with.
    pub fn public_base(&self) -> String {
        self.public_url
            .clone()
            .or_else(|| self.listen.map(|a| format!("http://{a}")))
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
    }

    /// Served over TLS (as users reach it): secure cookies and HSTS.
    pub fn tls(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// How the metrics are labelled.
    pub fn metrics_options(&self) -> aurora_telemetry::MetricsOptions {
        aurora_telemetry::MetricsOptions {
            tenant_labels: self.metrics_tenant_labels,
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// What checking SNS signatures and confirming subscriptions needs: an HTTP client, a
    /// certificate cache, Amazon SNS and the trusted origins (an origin that does not parse is
    /// left out, loudly).
    pub fn sns_verify_context(&self) -> VerifyContext {
        let origins = SnsOrigins::new(&self.sns_cert_origins).unwrap_or_else(|e| {
            tracing::error!(error = %e, "AURORA_SNS_CERT_ORIGINS is ignored; only Amazon SNS is trusted");
            SnsOrigins::aws_only()
        });
        VerifyContext::new(origins)
    }
}
