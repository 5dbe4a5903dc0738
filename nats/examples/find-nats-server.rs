//! Exits 0 when a nats-server new enough for Aurora is found (used by `make deps-nats`).

fn main() -> std::process::ExitCode {
    match aurora_nats::server::find_binary() {
        Some(path) => {
            println!("{}", path.display());
            std::process::ExitCode::SUCCESS
        }
        None => std::process::ExitCode::FAILURE,
    }
}
