//! The `aurora` binary: parse the command line, start logging, hand over to the library.

use clap::Parser;

// Aurora allocates many small short-lived objects per event; mimalloc measurably beats glibc
// malloc there (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = aurora_gateway::cli::Cli::parse();
    aurora_gateway::telemetry::init();
    match aurora_gateway::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
