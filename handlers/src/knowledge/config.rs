//! How the knowledge base is set up: where files go, how search blends its scores, what an
//! organisation may keep, and when the sweep gives up on a document — from the environment
//! (`AURORA_OBJECT_STORE_URL` + `AWS_*`, `AURORA_KB_ALPHA`, `AURORA_KB_MAX_DOCUMENTS`,
//! `AURORA_KB_MAX_BYTES`) or set directly by the builder and the tests.

use std::path::Path;
use std::time::Duration;

use aurora_domain::knowledge::{MAX_BYTES_PER_TENANT, MAX_DOCUMENTS_PER_TENANT, STUCK_AFTER_SECS};

use super::{KnowledgeBaseError, ObjectStoreConfig};
use crate::Variables;

/// How the knowledge base is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeConfig {
    pub objects: ObjectStoreConfig,
    /// The weight of vector scores in hybrid search (`AURORA_KB_ALPHA`, upstream's 0.5).
    pub alpha: f64,
    /// What one organisation may keep.
    pub limits: TenantLimits,
    /// A document in `processing` that made no progress for this long, or left in `uploading`
    /// this long, is failed by the sweep.
    pub stuck_after: Duration,
    /// How often the sweep looks.
    pub sweep_every: Duration,
}

/// What one organisation may keep (SPEC §9: 100 documents, 1 GiB). Every document not deleted
/// counts, failed ones too: their files may be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantLimits {
    /// `AURORA_KB_MAX_DOCUMENTS`, 100 by default.
    pub documents: u64,
    /// `AURORA_KB_MAX_BYTES`, 1 GiB by default.
    pub bytes: u64,
}

impl Default for TenantLimits {
    fn default() -> Self {
        Self {
            documents: MAX_DOCUMENTS_PER_TENANT,
            bytes: MAX_BYTES_PER_TENANT,
        }
    }
}

impl KnowledgeConfig {
    /// Files under `dir`, upstream's alpha, the default limits, the 3-minute sweep.
    pub fn local(dir: std::path::PathBuf) -> Self {
        Self {
            objects: ObjectStoreConfig::Local(dir),
            alpha: aurora_domain::knowledge::ranking::DEFAULT_ALPHA,
            limits: TenantLimits::default(),
            stuck_after: Duration::from_secs(STUCK_AFTER_SECS as u64),
            sweep_every: Duration::from_secs(30),
        }
    }

    /// [`Self::from_vars`] with the process's environment.
    pub fn from_env(data_dir: &Path) -> Result<Self, KnowledgeBaseError> {
        Self::from_vars(data_dir, &Variables::from_env())
    }

    /// The settings `vars` give: `AURORA_OBJECT_STORE_URL` (+ `AWS_*`) or `<data_dir>/objects`,
    /// `AURORA_KB_ALPHA`, `AURORA_KB_MAX_DOCUMENTS` and `AURORA_KB_MAX_BYTES`.
    pub fn from_vars(data_dir: &Path, vars: &Variables) -> Result<Self, KnowledgeBaseError> {
        let mut config = Self::local(data_dir.join("objects"));
        config.objects = ObjectStoreConfig::from_vars(data_dir, vars);
        if let Some(value) = vars.get("AURORA_KB_ALPHA") {
            config.alpha = value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|a| (0.0..=1.0).contains(a))
                .ok_or_else(|| KnowledgeBaseError::Alpha(value.to_owned()))?;
        }
        let count = |name: &'static str| -> Result<Option<u64>, KnowledgeBaseError> {
            vars.get(name)
                .map(|value| {
                    value
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| KnowledgeBaseError::Limit {
                            name,
                            value: value.to_owned(),
                        })
                })
                .transpose()
        };
        if let Some(documents) = count("AURORA_KB_MAX_DOCUMENTS")? {
            config.limits.documents = documents;
        }
        if let Some(bytes) = count("AURORA_KB_MAX_BYTES")? {
            config.limits.bytes = bytes;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_variables_files_stay_under_the_data_dir_with_upstreams_alpha_and_the_spec_limits() {
        let config = KnowledgeConfig::from_vars(
            Path::new("/data"),
            &Variables::from_iter([("HOME", "/root")]),
        )
        .expect("valid");
        assert_eq!(
            config,
            KnowledgeConfig::local(Path::new("/data").join("objects"))
        );
        assert_eq!(config.alpha, 0.5);
        assert_eq!(config.limits.documents, 100);
        assert_eq!(config.limits.bytes, 1024 * 1024 * 1024);
        assert_eq!(config.stuck_after, Duration::from_secs(180));
    }

    #[test]
    fn an_object_store_url_takes_the_aws_variables_as_options() {
        let config = KnowledgeConfig::from_vars(
            Path::new("/data"),
            &Variables::from_iter([
                ("AURORA_OBJECT_STORE_URL", "s3://runbooks/kb"),
                ("AWS_ENDPOINT", "http://127.0.0.1:9000"),
                ("AWS_REGION", "eu-west-1"),
                ("AWS_ALLOW_HTTP", "true"),
                ("AWS_SESSION_TOKEN", ""),
                ("AURORA_DATA_DIR", "/elsewhere"),
            ]),
        )
        .expect("valid");
        assert_eq!(
            config.objects,
            ObjectStoreConfig::Url {
                url: "s3://runbooks/kb".to_owned(),
                options: vec![
                    ("aws_allow_http".to_owned(), "true".to_owned()),
                    (
                        "aws_endpoint".to_owned(),
                        "http://127.0.0.1:9000".to_owned()
                    ),
                    ("aws_region".to_owned(), "eu-west-1".to_owned()),
                ],
            },
            "blank variables are unset; only AWS_* are options"
        );
    }

    #[test]
    fn alpha_and_the_limits_are_read_and_bad_values_named() {
        let config = KnowledgeConfig::from_vars(
            Path::new("/data"),
            &Variables::from_iter([
                ("AURORA_KB_ALPHA", "0.25"),
                ("AURORA_KB_MAX_DOCUMENTS", "7"),
                ("AURORA_KB_MAX_BYTES", " 1048576 "),
            ]),
        )
        .expect("valid");
        assert_eq!(config.alpha, 0.25);
        assert_eq!(
            config.limits,
            TenantLimits {
                documents: 7,
                bytes: 1024 * 1024
            }
        );
        for (name, value) in [
            ("AURORA_KB_ALPHA", "1.5"),
            ("AURORA_KB_ALPHA", "half"),
            ("AURORA_KB_MAX_DOCUMENTS", "0"),
            ("AURORA_KB_MAX_BYTES", "1GiB"),
        ] {
            let refused = KnowledgeConfig::from_vars(
                Path::new("/data"),
                &Variables::from_iter([(name, value)]),
            )
            .expect_err("refused");
            let message = refused.to_string();
            assert!(
                message.contains(name) && message.contains(value),
                "{message}"
            );
        }
    }
}
