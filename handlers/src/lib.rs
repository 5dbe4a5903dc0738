//! `aurora-handlers`: the work that turns durable inputs into commands on aggregates.
//!
//! - [`agent`]: the chat agent: the `chat` consumer of `CMD`, the LLM, the tools and the gate.
//! - [`exec`]: one CLI command run without a shell, its output capped and redacted ([`redact`]:
//!   secrets taken out of text before the agent or anyone reads it); used by the agent, the
//!   connectors' log-ins and checks, and the graph's discovery.
//! - [`sources`]: every webhook source (verify, parse, normalise), used by the gateway's intake
//!   and by [`ingest`].
//! - [`ingest`]: the consumer of `INBOX`: parse, correlate on the tenant's decision log, open or
//!   attach.
//! - [`graph`]: the service graph: nodes from alerts and changes, correlation's view of it.
//! - [`rca`]: root-cause analysis in the background: the `rca` consumer of the incidents'
//!   events, the tenants' start windows, the evidence pass, the sweep of runs that died.
//! - [`secrets`]: the secret store (local encrypted files by default).
//! - [`variables`]: what every settings reader (`from_vars`) reads, the environment or a test's.
//!
//! Depends on `aurora-domain`, `aurora-nats` and the read-only queries of
//! `aurora-projections`.

pub mod agent;
pub mod connectors;
pub mod dry_run;
pub mod embeddings;
pub mod exec;
pub mod graph;
pub mod ingest;
pub mod knowledge;
pub mod projected;
pub mod rca;
pub mod redact;
pub mod secrets;
pub mod similar;
pub mod sources;
pub mod tls;
pub mod variables;

pub use variables::Variables;
