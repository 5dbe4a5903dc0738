//! `migrate`: every secret copied both ways; references of either kind still resolve.

use aurora_handlers::secrets::migrate::{migrate, Direction, Migrated};
use aurora_handlers::secrets::{LocalSecretStore, SecretStore, Secrets, VaultSecretStore};
use aurora_tests::openbao::TestOpenBao;

#[tokio::test]
async fn every_secret_is_copied_both_ways_and_old_references_still_resolve() {
    let bao = TestOpenBao::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let local = LocalSecretStore::open(dir.path(), None).expect("local");
    let old = local
        .put("acme", "integrations/a", b"a1")
        .await
        .expect("put");
    local
        .put("acme", "integrations/a", b"a2")
        .await
        .expect("put");
    local.put("beta", "gcp/key", b"k").await.expect("put");
    let vault = VaultSecretStore::open(&bao.config()).expect("vault");

    let done = migrate(&local, &vault, Direction::ToVault)
        .await
        .expect("to vault");
    assert_eq!(
        done,
        Migrated {
            secrets: 2,
            versions: 3,
            skipped: 0
        }
    );
    let a = vault
        .versions("acme", "integrations/a")
        .await
        .expect("versions");
    assert_eq!(vault.get(&a[0]).await.expect("v1"), b"a1");
    assert_eq!(vault.get(&a[1]).await.expect("v2"), b"a2");
    // A rerun copies nothing twice.
    let again = migrate(&local, &vault, Direction::ToVault)
        .await
        .expect("again");
    assert_eq!(
        again,
        Migrated {
            secrets: 0,
            versions: 0,
            skipped: 2
        }
    );

    // A run that stopped partway (one version of three in Vault) is finished by the next.
    for value in [b"d1", b"d2", b"d3"] {
        local
            .put("delta", "connectors/d", value)
            .await
            .expect("put");
    }
    vault
        .put("delta", "connectors/d", b"d1")
        .await
        .expect("put");
    let finished = migrate(&local, &vault, Direction::ToVault)
        .await
        .expect("the rest");
    assert_eq!(
        finished,
        Migrated {
            secrets: 1,
            versions: 2,
            skipped: 2
        }
    );
    let d = vault
        .versions("delta", "connectors/d")
        .await
        .expect("versions");
    let mut values = Vec::new();
    for reference in &d {
        values.push(vault.get(reference).await.expect("a version"));
    }
    assert_eq!(values, [b"d1".to_vec(), b"d2".to_vec(), b"d3".to_vec()]);

    // Back: a secret only Vault holds reaches the local store.
    let only_vault = vault.put("gamma", "splunk/token", b"t").await.expect("put");
    let back = migrate(&local, &vault, Direction::ToLocal)
        .await
        .expect("to local");
    assert_eq!(
        back,
        Migrated {
            secrets: 1,
            versions: 1,
            skipped: 3
        }
    );
    let copied = local
        .versions("gamma", "splunk/token")
        .await
        .expect("versions");
    assert_eq!(local.get(&copied[0]).await.expect("copy"), b"t");

    // Nothing rewritten: both kinds of reference resolve through the dual store.
    let both = Secrets::new(
        LocalSecretStore::open(dir.path(), None).expect("local"),
        Some(vault),
    );
    assert_eq!(both.get(&old).await.expect("local ref"), b"a1");
    assert_eq!(both.get(&only_vault).await.expect("vault ref"), b"t");
}
