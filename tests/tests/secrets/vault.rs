//! `VaultSecretStore` and `Secrets` (both backends) on `bao server -dev`.

use aurora_handlers::secrets::{
    LocalSecretStore, SecretError, SecretStore, Secrets, VaultSecretStore,
};
use aurora_tests::openbao::TestOpenBao;

#[tokio::test]
async fn a_secret_round_trips_through_vault_by_version_and_is_gone_after_delete() {
    let bao = TestOpenBao::start().await;
    let store = VaultSecretStore::open(&bao.config()).expect("open");
    let first = store
        .put("acme", "integration/abc", b"first-value")
        .await
        .expect("put");
    let second = store
        .put("acme", "integration/abc", b"second-value")
        .await
        .expect("put");
    assert_eq!(first, "vault:kv/data/acme/integration/abc@1");
    assert_eq!(second, "vault:kv/data/acme/integration/abc@2");
    assert_eq!(store.get(&first).await.expect("v1"), b"first-value");
    assert_eq!(store.get(&second).await.expect("v2"), b"second-value");
    // Bytes that are not UTF-8 survive too.
    let binary = store
        .put("acme", "gcp/key", &[0, 159, 255])
        .await
        .expect("put");
    assert_eq!(store.get(&binary).await.expect("get"), [0, 159, 255]);
    assert_eq!(
        store
            .versions("acme", "integration/abc")
            .await
            .expect("versions"),
        [first.clone(), second.clone()]
    );
    assert_eq!(
        store.list().await.expect("list"),
        [
            ("acme".to_owned(), "gcp/key".to_owned()),
            ("acme".to_owned(), "integration/abc".to_owned())
        ]
    );

    store
        .delete("acme", "integration/abc")
        .await
        .expect("delete");
    for reference in [&first, &second] {
        assert!(
            matches!(store.get(reference).await, Err(SecretError::NotFound(_))),
            "{reference}"
        );
    }
    // Deleting what is not there is not an error.
    store
        .delete("acme", "integration/abc")
        .await
        .expect("delete again");
}

#[tokio::test]
async fn invalid_names_and_references_are_refused() {
    let bao = TestOpenBao::start().await;
    let store = VaultSecretStore::open(&bao.config()).expect("open");
    for bad in ["../x", "a/../../b", "/abs", "UPPER", "", "a//b"] {
        assert!(
            matches!(
                store.put("acme", bad, b"x").await,
                Err(SecretError::InvalidName(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        store.put("ac/me", "x", b"x").await,
        Err(SecretError::InvalidName(_))
    ));
    for bad in [
        "vault:kv/data/acme/../x@1",
        "vault:kv/data/acme/x@0",
        "vault:kv/data/acme/x@latest",
        "vault:kv/data/acme@1",
        "local:acme/x@1",
    ] {
        assert!(
            matches!(store.get(bad).await, Err(SecretError::InvalidReference(_))),
            "{bad:?}"
        );
    }
}

#[tokio::test]
async fn a_local_reference_still_resolves_after_writes_switch_to_vault() {
    let bao = TestOpenBao::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let before = Secrets::new(
        LocalSecretStore::open(dir.path(), None).expect("local"),
        None,
    );
    let local_ref = before
        .put("acme", "integration/one", b"old")
        .await
        .expect("put");
    assert!(local_ref.starts_with("local:acme/integration/one@"));

    let after = Secrets::new(
        LocalSecretStore::open(dir.path(), None).expect("local"),
        Some(VaultSecretStore::open(&bao.config()).expect("vault")),
    );
    let vault_ref = after
        .put("acme", "integration/two", b"new")
        .await
        .expect("put");
    assert_eq!(vault_ref, "vault:kv/data/acme/integration/two@1");
    assert_eq!(after.get(&local_ref).await.expect("local ref"), b"old");
    assert_eq!(after.get(&vault_ref).await.expect("vault ref"), b"new");

    // Back to local only: a vault reference names a backend that is not configured.
    assert!(matches!(
        before.get(&vault_ref).await,
        Err(SecretError::BackendNotConfigured(_))
    ));
}

#[tokio::test]
async fn a_stopped_vault_is_unavailable_for_writes_and_reads() {
    let mut bao = TestOpenBao::start().await;
    let store = VaultSecretStore::open(&bao.config()).expect("open");
    let reference = store.put("acme", "x", b"value").await.expect("put");
    bao.stop().await;
    let put = store.put("acme", "x", b"value-2").await;
    assert!(matches!(put, Err(SecretError::Unavailable(_))), "{put:?}");
    let get = store.get(&reference).await;
    assert!(matches!(get, Err(SecretError::Unavailable(_))), "{get:?}");
    // The message says what is wrong and never holds the secret.
    let text = format!("{:?} {}", put.expect_err("put"), get.expect_err("get"));
    assert!(!text.contains("value"), "{text}");
}
