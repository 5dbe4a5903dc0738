//! The embedded secret store: one file per secret version under `<data dir>/secrets`, encrypted
//! with ChaCha20-Poly1305 under a 256-bit key. The key comes from `AURORA_SECRET_KEY` (64 hex
//! characters) or, on first start, is generated into `<data dir>/secret.key` (mode 0600).
//!
//! Each file is `nonce (12 bytes) ‖ ciphertext`, with the reference as associated data: a file
//! copied to another name does not decrypt there.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use uuid::Uuid;

use super::{check_segment, SecretError, SecretStore};

const PREFIX: &str = "local:";

pub struct LocalSecretStore {
    root: PathBuf,
    cipher: ChaCha20Poly1305,
}

impl LocalSecretStore {
    /// A store under `data_dir/secrets`, with `key_hex` or the key file of `data_dir`.
    pub fn open(data_dir: &Path, key_hex: Option<&str>) -> Result<Self, SecretError> {
        let key = match key_hex {
            Some(hex) => decode_key(hex)?,
            None => key_file(&data_dir.join("secret.key"))?,
        };
        let root = data_dir.join("secrets");
        std::fs::create_dir_all(&root)?;
        Ok(Self {
            root,
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        })
    }

    fn path_of(&self, reference: &str) -> Result<PathBuf, SecretError> {
        let invalid = || SecretError::InvalidReference(reference.to_owned());
        let rest = reference.strip_prefix(PREFIX).ok_or_else(invalid)?;
        let (name, version) = rest.rsplit_once('@').ok_or_else(invalid)?;
        check_segment(name, true).map_err(|_| invalid())?;
        let version = Uuid::parse_str(version).map_err(|_| invalid())?;
        Ok(self
            .root
            .join(name)
            .join(format!("{}.enc", version.simple())))
    }
}

impl LocalSecretStore {
    /// Every `(tenant, name)` with a secret: the folders holding `<version>.enc` files.
    pub async fn list(&self) -> Result<Vec<(String, String)>, SecretError> {
        let root = self.root.clone();
        let mut found = tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            let mut folders = vec![root.clone()];
            while let Some(folder) = folders.pop() {
                let mut has_versions = false;
                for entry in std::fs::read_dir(&folder)? {
                    let path = entry?.path();
                    if path.is_dir() {
                        folders.push(path);
                    } else if path.extension().is_some_and(|e| e == "enc") {
                        has_versions = true;
                    }
                }
                let relative = folder.strip_prefix(&root).ok().and_then(Path::to_str);
                if let (true, Some((tenant, name))) =
                    (has_versions, relative.and_then(|r| r.split_once('/')))
                {
                    found.push((tenant.to_owned(), name.to_owned()));
                }
            }
            Ok::<_, std::io::Error>(found)
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
        found.sort();
        Ok(found)
    }

    /// The references of every version of `name` of `tenant`, oldest first (v7 ids sort by time).
    pub async fn versions(&self, tenant: &str, name: &str) -> Result<Vec<String>, SecretError> {
        check_segment(tenant, false)?;
        check_segment(name, true)?;
        let mut entries = match tokio::fs::read_dir(self.root.join(tenant).join(name)).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut versions = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            let file = entry.file_name();
            let id = file.to_str().and_then(|f| f.strip_suffix(".enc"));
            if let Some(id) = id.and_then(|id| Uuid::parse_str(id).ok()) {
                versions.push(id);
            }
        }
        versions.sort();
        Ok(versions
            .into_iter()
            .map(|v| format!("{PREFIX}{tenant}/{name}@{v}"))
            .collect())
    }
}

fn decode_key(text: &str) -> Result<[u8; 32], SecretError> {
    let bytes =
        hex::decode(text.trim()).map_err(|e| SecretError::InvalidKey(format!("not hex: {e}")))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| SecretError::InvalidKey(format!("{} bytes, need 32", b.len())))
}

/// Reads the key file, or creates it with a fresh random key. Processes starting at once on a
/// new data dir agree on one key: the file appears whole or not at all (a hard link of a
/// finished file of the process's own), and a process that finds it made meanwhile reads it.
fn key_file(path: &Path) -> Result<[u8; 32], SecretError> {
    match std::fs::read_to_string(path) {
        Ok(text) => decode_key(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| SecretError::InvalidKey(format!("no randomness: {e}")))?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let own = path.with_extension(format!("{}.tmp", Uuid::new_v4().simple()));
            write_synced(&own, hex::encode(key).as_bytes())?;
            let linked = std::fs::hard_link(&own, path);
            std::fs::remove_file(&own)?;
            match linked {
                Ok(()) => Ok(key),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    decode_key(&std::fs::read_to_string(path)?)
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Writes a file only its owner can read, whole: a temporary file renamed into place.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), std::io::Error> {
    let tmp = path.with_extension("tmp");
    write_synced(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

/// Writes `contents` to a new or emptied file only its owner can read, and syncs it.
fn write_synced(path: &Path, contents: &[u8]) -> Result<(), std::io::Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[async_trait]
impl SecretStore for LocalSecretStore {
    async fn put(&self, tenant: &str, name: &str, value: &[u8]) -> Result<String, SecretError> {
        check_segment(tenant, false)?;
        check_segment(name, true)?;
        let reference = format!("{PREFIX}{tenant}/{name}@{}", Uuid::now_v7());
        let path = self.path_of(&reference)?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)
            .map_err(|e| SecretError::InvalidKey(format!("no randomness: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: value,
                    aad: reference.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Undecryptable(reference.clone()))?;
        let mut contents = nonce.to_vec();
        contents.extend_from_slice(&sealed);
        let dir = path.parent().map(Path::to_path_buf);
        tokio::task::spawn_blocking(move || {
            if let Some(dir) = dir {
                std::fs::create_dir_all(dir)?;
            }
            write_private(&path, &contents)
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
        Ok(reference)
    }

    async fn get(&self, reference: &str) -> Result<Vec<u8>, SecretError> {
        let path = self.path_of(reference)?;
        let contents = match tokio::fs::read(&path).await {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SecretError::NotFound(reference.to_owned()))
            }
            Err(e) => return Err(e.into()),
        };
        if contents.len() < 12 {
            return Err(SecretError::Undecryptable(reference.to_owned()));
        }
        let (nonce, sealed) = contents.split_at(12);
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| SecretError::Undecryptable(reference.to_owned()))?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: reference.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Undecryptable(reference.to_owned()))
    }

    async fn delete(&self, tenant: &str, name: &str) -> Result<(), SecretError> {
        check_segment(tenant, false)?;
        check_segment(name, true)?;
        match tokio::fs::remove_dir_all(self.root.join(tenant).join(name)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn processes_starting_at_once_on_a_new_data_dir_agree_on_one_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().expect("a temp dir");
            let openers: Vec<_> = (0..8)
                .map(|_| {
                    let dir = dir.path().to_owned();
                    std::thread::spawn(move || LocalSecretStore::open(&dir, None))
                })
                .collect();
            let stores: Vec<LocalSecretStore> = openers
                .into_iter()
                .map(|t| t.join().expect("no panic").expect("every one opens"))
                .collect();
            let reference = stores[0]
                .put("acme", "datadog", b"api-key")
                .await
                .expect("stored");
            for store in &stores {
                assert_eq!(
                    store.get(&reference).await.expect("the same key reads it"),
                    b"api-key"
                );
            }
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .expect("the dir")
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.ends_with(".tmp"))
                .collect();
            assert!(left.is_empty(), "no temporary key files left: {left:?}");
        }
    }

    #[tokio::test]
    async fn a_secret_round_trips_and_is_not_stored_in_the_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalSecretStore::open(dir.path(), None).expect("open");
        let reference = store
            .put("acme", "integrations/abc", b"s3cret-value")
            .await
            .expect("put");
        assert!(reference.starts_with("local:acme/integrations/abc@"));
        assert_eq!(store.get(&reference).await.expect("get"), b"s3cret-value");
        let path = store.path_of(&reference).expect("path");
        let raw = std::fs::read(path).expect("file");
        assert!(!raw.windows(12).any(|w| w == b"s3cret-value"));
        // The generated key survives a restart.
        let again = LocalSecretStore::open(dir.path(), None).expect("reopen");
        assert_eq!(again.get(&reference).await.expect("get"), b"s3cret-value");
        let mode = std::fs::metadata(dir.path().join("secret.key"))
            .expect("key file")
            .permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
    }

    #[tokio::test]
    async fn another_key_or_a_moved_file_does_not_decrypt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalSecretStore::open(dir.path(), Some(&"11".repeat(32))).expect("open");
        let a = store.put("acme", "a", b"one").await.expect("put");
        let b = store.put("acme", "b", b"two").await.expect("put");
        let other = LocalSecretStore::open(dir.path(), Some(&"22".repeat(32))).expect("open");
        assert!(matches!(
            other.get(&a).await,
            Err(SecretError::Undecryptable(_))
        ));
        std::fs::copy(
            store.path_of(&a).expect("path"),
            store.path_of(&b).expect("path"),
        )
        .expect("copy");
        assert!(matches!(
            store.get(&b).await,
            Err(SecretError::Undecryptable(_))
        ));
    }

    #[tokio::test]
    async fn names_cannot_escape_the_store_and_deleted_secrets_are_gone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalSecretStore::open(dir.path(), None).expect("open");
        for bad in ["../x", "a/../../b", "/abs", "UPPER", ""] {
            assert!(store.put("acme", bad, b"x").await.is_err(), "{bad:?}");
        }
        assert!(store.put("../acme", "x", b"x").await.is_err());
        assert!(matches!(
            store
                .get("local:acme/../../etc/passwd@0190a0b0-0000-7000-8000-000000000000")
                .await,
            Err(SecretError::InvalidReference(_))
        ));
        let reference = store.put("acme", "gone", b"x").await.expect("put");
        store.delete("acme", "gone").await.expect("delete");
        assert!(matches!(
            store.get(&reference).await,
            Err(SecretError::NotFound(_))
        ));
        assert!(matches!(
            LocalSecretStore::open(dir.path(), Some("abc")),
            Err(SecretError::InvalidKey(_))
        ));
    }
}
