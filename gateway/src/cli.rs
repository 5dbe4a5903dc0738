//! The `aurora` command line. Every flag can also be set by its environment variable
//! (DESIGN §8).

pub mod consumer_credentials;
pub mod dead_letters;
pub mod events;
pub mod secrets;
pub mod streams_file;

pub use secrets::SecretArgs;
pub use streams_file::StreamsFileArgs;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use aurora_nats::server::{NatsServer, Sync};
use aurora_nats::streams::{Outcome, StreamsFile};
use aurora_projections::Projector;
use aurora_telemetry::Metrics;
use clap::{Args, Parser, Subcommand};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::app::{self, Role};
use crate::cli::consumer_credentials::{write_private, ConsumerCredentialsArgs, AURORA_URL_FILE};
use crate::cli::dead_letters::DeadLettersCommand;
use crate::embedded::EmbeddedPostgres;
use crate::services::Services;

#[derive(Debug, Parser)]
#[command(
    name = "aurora",
    version,
    about = "Aurora: event-sourced incident response"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// What this process runs, as its traces name it (`aurora.role`).
    pub fn role(&self) -> &'static str {
        match &self.command {
            Command::Up(_) => "all",
            Command::Serve(args) => match args.role {
                Role::Gateway => "gateway",
                Role::Handlers => "handlers",
                Role::Projections => "projections",
            },
            Command::Streams { .. } => "streams",
            Command::Replay { .. } => "replay",
            Command::Audit { .. } => "audit",
            Command::DeadLetters { .. } => "dead-letters",
            Command::ConsumerCredentials(_) => "consumer-credentials",
            Command::Events { .. } => "events",
            Command::Secrets { .. } => "secrets",
            Command::Openapi => "openapi",
            Command::Migrate { .. } => "migrate",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process on embedded defaults (own nats-server and PostgreSQL
    /// under the data dir unless NATS_URL / DATABASE_URL are set).
    Up(UpArgs),
    /// Run one role against external NATS and PostgreSQL.
    Serve(ServeArgs),
    /// Manage JetStream streams.
    Streams {
        #[command(subcommand)]
        command: StreamsCommand,
    },
    /// Rebuild a projector's read models from sequence 0 and swap them in.
    Replay {
        /// incidents or sessions
        projector: String,
        #[command(flatten)]
        conn: Connections,
        #[command(flatten)]
        streams: StreamsFileArgs,
    },
    /// Check the read models against a fresh replay.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Messages the consumers gave up on: list, retry or drop them.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLettersCommand,
    },
    /// NATS credentials for a program outside Aurora that reads one organisation's events (its
    /// own durable consumer on EVENTS, filtered to the tenant; nothing else), or --revoke them.
    ConsumerCredentials(ConsumerCredentialsArgs),
    /// The events Aurora stores, for programs that read them.
    Events {
        #[command(subcommand)]
        command: crate::cli::events::EventsCommand,
    },
    /// Move secrets between the local store and Vault.
    Secrets {
        #[command(subcommand)]
        command: crate::cli::secrets::SecretsCommand,
    },
    /// Print the OpenAPI document of every route (the web UI's API types are generated from it).
    Openapi,
    /// Run the database migrations.
    Migrate {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StreamsCommand {
    /// Create or update every stream and consumer of the streams file (idempotent).
    // `--file` was this command's own flag before every command took `--streams-file`.
    #[command(mut_arg(streams_file::ARG_ID, |arg| arg.visible_alias("file")))]
    Apply {
        #[command(flatten)]
        streams: StreamsFileArgs,
        #[arg(long, env = "NATS_URL")]
        nats_url: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Replay every stream into a scratch schema and print every row that differs, then derive
    /// the knowledge base's chunks again from their files and print how they differ from the
    /// stored ones (exit 1 if anything differs).
    Verify {
        #[command(flatten)]
        conn: Connections,
        #[command(flatten)]
        streams: StreamsFileArgs,
        /// Where the knowledge base's files are, unless `AURORA_OBJECT_STORE_URL` says.
        #[arg(long, env = "AURORA_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct Connections {
    #[arg(long, env = "NATS_URL")]
    pub nats_url: String,
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[arg(long, env = "AURORA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[arg(long, env = "AURORA_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// fsync before every JetStream ack of the embedded server (slower; survives power loss).
    #[arg(long, env = "AURORA_NATS_SYNC_ALWAYS")]
    pub sync_always: bool,
    #[command(flatten)]
    pub streams: StreamsFileArgs,
    #[command(flatten)]
    pub api: crate::api::ApiConfig,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[arg(long, value_enum)]
    pub role: Role,
    #[arg(long, env = "AURORA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub conn: Connections,
    #[command(flatten)]
    pub streams: StreamsFileArgs,
    #[command(flatten)]
    pub api: crate::api::ApiConfig,
    /// Where the local secret store (and its generated key) lives.
    #[arg(long, env = "AURORA_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub secrets: SecretArgs,
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Up(args) => up(args).await,
        Command::Serve(args) => serve(args).await,
        Command::Streams {
            command: StreamsCommand::Apply { streams, nats_url },
        } => {
            let file = streams.load()?;
            let (_, reports) = aurora_nats::connect_and_provision(&nats_url, Some(&file)).await?;
            for r in &reports {
                println!("{r}");
            }
            // A refused change leaves that stream or consumer as it was: fail, so a script notices.
            let refused: Vec<&str> = reports
                .iter()
                .filter(|r| matches!(r.outcome, Outcome::Refused { .. }))
                .map(|r| r.target.as_str())
                .collect();
            if refused.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "error: not applied: {} (JetStream cannot make these changes in place; \
                     see \"NOT updated\" above); the rest of the file was applied",
                    refused.join(", ")
                );
                Ok(ExitCode::FAILURE)
            }
        }
        Command::Replay {
            projector,
            conn,
            streams,
        } => {
            let streams = streams.load()?;
            let projector = Projector::parse(&projector)?;
            let (client, pool) = connect(&conn.nats_url, &conn.database_url, &streams).await?;
            let js = async_nats::jetstream::new(client);
            let done = aurora_projections::replay::replay(&pool, &js, projector, true).await?;
            println!(
                "replayed {} events into {}; checkpoint {}",
                done.events,
                projector.name(),
                done.checkpoint
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command:
                AuditCommand::Verify {
                    conn,
                    streams,
                    data_dir,
                },
        } => {
            let streams = streams.load()?;
            let (client, pool) = connect(&conn.nats_url, &conn.database_url, &streams).await?;
            let js = async_nats::jetstream::new(client.clone());
            let rows = aurora_projections::audit::verify(&pool, &js).await?;
            for d in &rows {
                println!("{d}");
            }
            // The chunks are derived from the files, not from events: derived again, compared.
            let knowledge = aurora_handlers::knowledge::KnowledgeBase::open(
                aurora_nats::EventLog::new(client),
                aurora_handlers::knowledge::KnowledgeConfig::from_env(&data_dir)?,
                embedder()?,
            )?;
            let chunks = knowledge.verify_chunks(&pool).await?;
            for d in &chunks {
                println!("{d}");
            }
            if rows.is_empty() && chunks.is_empty() {
                println!("audit: the read models match a fresh replay of the event log, and the knowledge base's chunks their files");
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "audit: {} differing row(s), {} knowledge-base chunk difference(s)",
                    rows.len(),
                    chunks.len()
                );
                Ok(ExitCode::from(1))
            }
        }
        Command::DeadLetters { command } => {
            dead_letters::run(command, &mut std::io::stdout()).await
        }
        Command::Secrets { command } => secrets::run(command, &mut std::io::stdout()).await,
        Command::Events { command } => events::run(command, &mut std::io::stdout().lock()),
        Command::ConsumerCredentials(args) => {
            consumer_credentials::run(args, &mut std::io::stdout()).await
        }
        Command::Openapi => {
            println!("{}", crate::api::openapi().to_pretty_json()?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { database_url } => {
            let pool = pool(&database_url).await?;
            aurora_projections::migrate(&pool).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn pool(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(16)
        // No ping before every checkout (a round trip per query, 3 % of the process's CPU at
        // 1000 webhooks/s): a connection that died is found by its query's error and dropped.
        .test_before_acquire(false)
        .connect(url)
        .await
        .with_context(|| format!("Failed to connect to PostgreSQL at {}", redact(url)))
}

/// Connects to NATS (provisioning the streams of `streams`) and PostgreSQL (running migrations).
async fn connect(
    nats_url: &str,
    database_url: &str,
    streams: &StreamsFile,
) -> anyhow::Result<(async_nats::Client, PgPool)> {
    let (client, reports) = aurora_nats::connect_and_provision(nats_url, Some(streams)).await?;
    for r in &reports {
        match &r.outcome {
            Outcome::Unchanged => {}
            // The process runs on with the stream or consumer as it is, so the operator must
            // see that the streams file was not applied, and why.
            Outcome::Refused { reason } => tracing::warn!(
                "streams: JetStream refused to change {} as the streams file declares it: {reason}",
                r.target
            ),
            Outcome::Created | Outcome::Updated { .. } => tracing::info!("streams: {r}"),
        }
    }
    let pool = pool(database_url).await?;
    aurora_projections::migrate(&pool)
        .await
        .context("Failed to run migrations")?;
    Ok((client, pool))
}

/// The chat agent's settings from the environment; sessions work under `<data_dir>/agent`.
fn agent_config(data_dir: &std::path::Path) -> anyhow::Result<aurora_handlers::agent::AgentConfig> {
    Ok(aurora_handlers::agent::AgentConfig::from_env(
        data_dir.join("agent"),
    )?)
}

/// The embedder the environment asks for, loaded, and what it is said once.
fn embedder() -> anyhow::Result<Option<aurora_handlers::embeddings::Embedder>> {
    let config = aurora_handlers::embeddings::EmbeddingConfig::from_env();
    let embedder = aurora_handlers::embeddings::Embedder::load(&config)
        .context("Failed to load the embedding model")?;
    match &embedder {
        Some(embedder) => println!("Embeddings: {}", embedder.describe()),
        None => println!(
            "No embedding model (set AURORA_EMBEDDING_MODEL_DIR, or EMBEDDING_BASE_URL and \
             EMBEDDING_MODEL): knowledge-base search is keyword only and correlation compares \
             titles by word overlap."
        ),
    }
    Ok(embedder)
}

/// The secret stores: the local encrypted one under `data_dir` (DESIGN §6: the embedded
/// default), and Vault when `VAULT_ADDR` is set.
fn secrets(
    data_dir: &std::path::Path,
    args: &SecretArgs,
) -> anyhow::Result<aurora_handlers::secrets::Secrets> {
    let local =
        aurora_handlers::secrets::LocalSecretStore::open(data_dir, args.secret_key.as_deref())
            .with_context(|| {
                format!("Failed to open the secret store in {}", data_dir.display())
            })?;
    let vault = match args.vault() {
        Some(config) => Some(
            aurora_handlers::secrets::VaultSecretStore::open(&config).with_context(|| {
                format!("Failed to set up the Vault secret store at {}", config.addr)
            })?,
        ),
        None => None,
    };
    Ok(aurora_handlers::secrets::Secrets::new(local, vault))
}

fn secret_store(
    data_dir: &std::path::Path,
    args: &SecretArgs,
) -> anyhow::Result<std::sync::Arc<dyn aurora_handlers::secrets::SecretStore>> {
    Ok(std::sync::Arc::new(secrets(data_dir, args)?))
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

fn shutdown_on_ctrl_c() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    rx
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let streams = args.streams.load()?;
    let (client, pool) = connect(&args.conn.nats_url, &args.conn.database_url, &streams).await?;
    let listener = if args.role == Role::Gateway {
        Some(
            tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("Failed to bind {}", args.listen))?,
        )
    } else {
        None
    };
    let secrets = secret_store(&args.data_dir, &args.secrets)?;
    let agent = agent_config(&args.data_dir)?;
    app::run(
        Services::new(
            client,
            pool,
            secrets,
            aurora_handlers::connectors::ConnectorConfig::from_env(),
            Metrics::new(args.api.metrics_options()),
        ),
        app::Config {
            api: crate::api::ApiConfig {
                listen: Some(args.listen),
                ..args.api
            },
            agent,
            rca: aurora_handlers::rca::RcaConfig::from_env()?,
            graph: aurora_handlers::graph::GraphConfig::from_env()?,
            embedder: embedder()?,
            knowledge: aurora_handlers::knowledge::KnowledgeConfig::from_env(&args.data_dir)?,
        },
        vec![args.role],
        listener,
        shutdown_on_ctrl_c(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    // Before anything starts: a file that does not load stops `up` with nothing to clean up.
    let streams = args.streams.load()?;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("Failed to create {}", args.data_dir.display()))?;
    let data_dir = args.data_dir.canonicalize()?;
    let nats_server = match &args.nats_url {
        Some(_) => None,
        None => {
            let sync = if args.sync_always {
                Sync::Always
            } else {
                Sync::Interval
            };
            let port = aurora_nats::server::free_port()?;
            Some(NatsServer::start(&data_dir.join("nats"), port, sync).await?)
        }
    };
    let nats_url = args
        .nats_url
        .clone()
        .or_else(|| nats_server.as_ref().map(NatsServer::url))
        .context("no NATS")?;
    let postgres = match &args.database_url {
        Some(_) => None,
        None => Some(EmbeddedPostgres::start(&data_dir.join("postgres")).await?),
    };
    let database_url = args
        .database_url
        .clone()
        .or_else(|| postgres.as_ref().map(|p| p.url.clone()))
        .context("no database")?;
    let (client, pool) = connect(&nats_url, &database_url, &streams).await?;
    // The embedded server carries the external consumers' credentials (aurora consumer-credentials).
    let grants = nats_server
        .as_ref()
        .map(|server| server.enforce_grants(client.clone()));
    if let Some(server) = &nats_server {
        write_private(&data_dir.join("nats").join(AURORA_URL_FILE), &nats_url)?;
        println!(
            "NATS for external consumers: {}  (Aurora's own URL, with its password, is in {})",
            server.public_url(),
            data_dir.join("nats").join(AURORA_URL_FILE).display()
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("Failed to bind {}", args.listen))?;
    let shutdown = shutdown_on_ctrl_c();
    println!(
        "Aurora is up: http://{}  (data in {}; NATS {}; PostgreSQL {})",
        args.listen,
        data_dir.display(),
        redact(&nats_url),
        redact(&database_url)
    );
    let secrets = secret_store(&data_dir, &args.secrets)?;
    let agent = agent_config(&data_dir)?;
    if agent.llm.is_none() {
        println!(
            "No LLM configured: chat answers NO_MODEL until LLM_BASE_URL and LLM_MODEL are set."
        );
    }
    let result = app::run(
        Services::new(
            client,
            pool.clone(),
            secrets,
            aurora_handlers::connectors::ConnectorConfig::from_env(),
            Metrics::new(args.api.metrics_options()),
        ),
        app::Config {
            api: crate::api::ApiConfig {
                listen: Some(args.listen),
                ..args.api
            },
            agent,
            rca: aurora_handlers::rca::RcaConfig::from_env()?,
            graph: aurora_handlers::graph::GraphConfig::from_env()?,
            embedder: embedder()?,
            knowledge: aurora_handlers::knowledge::KnowledgeConfig::from_env(&data_dir)?,
        },
        Role::all(),
        Some(listener),
        shutdown,
    )
    .await;
    pool.close().await;
    drop(grants);
    if let Some(pg) = postgres {
        pg.stop().await;
    }
    if let Some(server) = nats_server {
        server.stop().await;
    }
    result?;
    println!("Aurora stopped cleanly");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    /// One way for every command that provisions, so none of them reverts an operator's file.
    #[test]
    fn every_command_that_provisions_takes_the_streams_file_the_same_way() {
        let cli = Cli::command();
        let provisioning: [&[&str]; 9] = [
            &["up"],
            &["serve"],
            &["replay"],
            &["audit", "verify"],
            &["dead-letters", "list"],
            &["dead-letters", "retry"],
            &["dead-letters", "drop"],
            &["consumer-credentials"],
            &["streams", "apply"],
        ];
        for path in provisioning {
            let command = path.iter().fold(&cli, |command, name| {
                command
                    .find_subcommand(name)
                    .unwrap_or_else(|| panic!("no subcommand {path:?}"))
            });
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_id() == streams_file::ARG_ID)
                .unwrap_or_else(|| panic!("aurora {} takes no --streams-file", path.join(" ")));
            assert_eq!(arg.get_long(), Some("streams-file"), "{path:?}");
            assert_eq!(
                arg.get_env(),
                Some(std::ffi::OsStr::new("AURORA_STREAMS_FILE")),
                "{path:?}"
            );
        }
    }

    #[test]
    fn streams_apply_still_takes_its_file_as_file() {
        let cli = Cli::try_parse_from([
            "aurora",
            "streams",
            "apply",
            "--file",
            "/etc/aurora/streams.yaml",
            "--nats-url",
            "nats://127.0.0.1:4222",
        ])
        .expect("parses");
        let Command::Streams {
            command: StreamsCommand::Apply { streams, .. },
        } = cli.command
        else {
            panic!("parsed as another command");
        };
        assert_eq!(
            streams.path,
            Some(PathBuf::from("/etc/aurora/streams.yaml"))
        );
    }

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://***@h:5432/db"
        );
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
