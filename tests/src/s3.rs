//! [`TestS3`]: moto's S3-compatible server (`moto_server`, PyPI `moto[server]`) on a free port
//! with one bucket; killed on drop.

use std::time::{Duration, Instant};

use aurora_handlers::knowledge::ObjectStoreConfig;

pub struct TestS3 {
    _child: tokio::process::Child,
    pub endpoint: String,
    pub bucket: String,
}

impl TestS3 {
    /// Starts the server and creates the bucket `aurora-test`.
    pub async fn start() -> Self {
        crate::init_logs();
        let port = aurora_nats::server::free_port().expect("a free port");
        let child = tokio::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("moto_server must start (make deps-moto): {e}"));
        let s3 = Self {
            _child: child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "aurora-test".to_owned(),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let made = http
                .put(format!("{}/{}", s3.endpoint, s3.bucket))
                .send()
                .await;
            if made.as_ref().is_ok_and(|r| r.status().is_success()) {
                return s3;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not serve: {made:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Aurora's store in this bucket under `prefix`, as `AURORA_OBJECT_STORE_URL` + `AWS_*`
    /// would configure it.
    pub fn config(&self, prefix: &str) -> ObjectStoreConfig {
        let option = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        ObjectStoreConfig::Url {
            url: format!("s3://{}/{prefix}", self.bucket),
            options: vec![
                option("aws_endpoint", &self.endpoint),
                option("aws_region", "us-east-1"),
                option("aws_access_key_id", "test"),
                option("aws_secret_access_key", "test"),
                option("aws_allow_http", "true"),
            ],
        }
    }

    /// The keys in the bucket (S3's ListObjectsV2, read from its XML).
    pub async fn keys(&self) -> Vec<String> {
        let body = reqwest::Client::new()
            .get(format!("{}/{}?list-type=2", self.endpoint, self.bucket))
            .send()
            .await
            .expect("list the bucket")
            .text()
            .await
            .expect("a listing");
        body.split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }
}
