//! Where knowledge-base files are kept: the local filesystem under the data dir by default, an
//! S3-compatible bucket when `AURORA_OBJECT_STORE_URL=s3://bucket/prefix` (credentials,
//! region and endpoint from the usual `AWS_*` variables).

use std::path::PathBuf;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;

use crate::Variables;

/// Which store, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectStoreConfig {
    /// Files under this directory.
    Local(PathBuf),
    /// `s3://bucket[/prefix]`, with object_store's `aws_*` options (endpoint, region, keys,
    /// `aws_allow_http`).
    Url {
        url: String,
        options: Vec<(String, String)>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot create the object directory {path}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("AURORA_OBJECT_STORE_URL={url:?} is not a URL")]
    NotAUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
    #[error("cannot open the object store {url}")]
    Open {
        url: String,
        #[source]
        source: object_store::Error,
    },
}

impl ObjectStoreConfig {
    /// `AURORA_OBJECT_STORE_URL` and the `AWS_*` variables (given as object_store's lower-case
    /// `aws_*` options) in `vars`, else `<data_dir>/objects`.
    pub fn from_vars(data_dir: &std::path::Path, vars: &Variables) -> Self {
        match vars.get("AURORA_OBJECT_STORE_URL") {
            Some(url) => Self::Url {
                url: url.trim().to_owned(),
                options: vars
                    .starting_with("AWS_")
                    .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
                    .collect(),
            },
            None => Self::Local(data_dir.join("objects")),
        }
    }

    /// Opens the store (the bucket is not contacted until the first request).
    pub fn open(&self) -> Result<Arc<dyn ObjectStore>, StorageError> {
        match self {
            Self::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| StorageError::Directory {
                    path: dir.clone(),
                    source,
                })?;
                let store =
                    LocalFileSystem::new_with_prefix(dir).map_err(|source| StorageError::Open {
                        url: dir.display().to_string(),
                        source,
                    })?;
                Ok(Arc::new(store))
            }
            Self::Url { url, options } => {
                let parsed = url::Url::parse(url).map_err(|source| StorageError::NotAUrl {
                    url: url.clone(),
                    source,
                })?;
                let (store, prefix) = object_store::parse_url_opts(&parsed, options.clone())
                    .map_err(|source| StorageError::Open {
                        url: url.clone(),
                        source,
                    })?;
                Ok(Arc::new(PrefixStore::new(store, prefix)))
            }
        }
    }
}
