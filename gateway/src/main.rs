//! The `aurora` binary: parse the command line, start logging, hand over to the library.

use clap::Parser;

// Aurora allocates many small short-lived objects per event; mimalloc measurably beats glibc
// malloc there (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = aurora_gateway::cli::Cli::parse();
    let telemetry = aurora_gateway::telemetry::init(cli.role());
    let code = match aurora_gateway::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    };
    // Off the runtime's workers: the exporter's last export blocks until it is sent.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    code
}
