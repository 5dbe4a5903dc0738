//! `aurora secrets migrate --to vault|local`, run as the binary runs it (the command line parsed,
//! the command run), against a real OpenBao dev server and a local store: every secret copied,
//! the references made before still resolving, and a Vault that is down an error that names it,
//! with nothing lost.

use std::process::ExitCode;

use aurora_gateway::cli::secrets::run;
use aurora_gateway::cli::{Cli, Command};
use aurora_handlers::secrets::{LocalSecretStore, SecretStore, Secrets, VaultSecretStore};
use aurora_tests::openbao::TestOpenBao;
use clap::Parser as _;

/// The local store's key, given on the command line as `--secret-key`.
const KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

/// Parses `aurora secrets migrate --to <to> --data-dir <dir> …` and runs it: its result and
/// what it printed.
async fn aurora(
    to: &str,
    dir: &std::path::Path,
    bao: &TestOpenBao,
) -> (anyhow::Result<ExitCode>, String) {
    let dir = dir.display().to_string();
    let argv = [
        "aurora",
        "secrets",
        "migrate",
        "--to",
        to,
        "--data-dir",
        &dir,
        "--secret-key",
        KEY,
        "--vault-addr",
        &bao.addr,
        "--vault-token",
        &bao.token,
    ];
    let Command::Secrets { command } = Cli::try_parse_from(argv).expect("parses").command else {
        panic!("parsed as another command");
    };
    let mut out = Vec::new();
    let result = run(command, &mut out).await;
    (result, String::from_utf8(out).expect("UTF-8"))
}

fn local(dir: &std::path::Path) -> LocalSecretStore {
    LocalSecretStore::open(dir, Some(KEY)).expect("the local store")
}

#[tokio::test]
async fn migrate_copies_every_secret_each_way_and_every_reference_still_resolves() {
    let bao = TestOpenBao::start().await;
    let dir = tempfile::tempdir().expect("a data dir");
    let store = local(dir.path());
    let first = store
        .put("acme", "datadog/0190a1", b"dd-v1")
        .await
        .expect("put");
    let second = store
        .put("acme", "datadog/0190a1", b"dd-v2")
        .await
        .expect("put");
    let hook = store
        .put("globex", "grafana/0190b2", b"webhook")
        .await
        .expect("put");

    let (code, printed) = aurora("vault", dir.path(), &bao).await;
    assert_eq!(code.expect("runs"), ExitCode::SUCCESS);
    assert_eq!(
        printed,
        "migrated 2 secret(s), 3 version(s); 0 already there\n"
    );
    let vault = VaultSecretStore::open(&bao.config()).expect("vault");
    let copied = vault
        .versions("acme", "datadog/0190a1")
        .await
        .expect("versions");
    assert_eq!(
        copied,
        [
            "vault:kv/data/acme/datadog/0190a1@1",
            "vault:kv/data/acme/datadog/0190a1@2"
        ]
    );
    assert_eq!(vault.get(&copied[1]).await.expect("v2"), b"dd-v2");
    // Run again: nothing is copied twice.
    let (code, printed) = aurora("vault", dir.path(), &bao).await;
    assert_eq!(code.expect("runs"), ExitCode::SUCCESS);
    assert_eq!(
        printed,
        "migrated 0 secret(s), 0 version(s); 2 already there\n"
    );

    // Back: what only Vault holds reaches the local store.
    let only_vault = vault
        .put("acme", "splunk/0190c3", b"splunk-token")
        .await
        .expect("put");
    let (code, printed) = aurora("local", dir.path(), &bao).await;
    assert_eq!(code.expect("runs"), ExitCode::SUCCESS);
    assert_eq!(
        printed,
        "migrated 1 secret(s), 1 version(s); 2 already there\n"
    );
    let back = local(dir.path())
        .versions("acme", "splunk/0190c3")
        .await
        .expect("versions");
    assert_eq!(back.len(), 1);
    assert_eq!(
        local(dir.path()).get(&back[0]).await.expect("the copy"),
        b"splunk-token"
    );

    // Nothing was rewritten: every reference issued before resolves through both backends.
    let both = Secrets::new(local(dir.path()), Some(vault));
    for (reference, value) in [
        (&first, &b"dd-v1"[..]),
        (&second, b"dd-v2"),
        (&hook, b"webhook"),
        (&only_vault, b"splunk-token"),
    ] {
        assert_eq!(both.get(reference).await.expect(reference), value);
    }
}

#[tokio::test]
async fn a_vault_that_is_down_stops_migrate_with_an_error_naming_it_and_nothing_is_lost() {
    let mut bao = TestOpenBao::start().await;
    let dir = tempfile::tempdir().expect("a data dir");
    let store = local(dir.path());
    let reference = store
        .put("acme", "sentry/0190d4", b"sentry-token")
        .await
        .expect("put");
    bao.stop().await;

    for to in ["vault", "local"] {
        let (result, printed) = aurora(to, dir.path(), &bao).await;
        // `main` prints the error's chain after "error: " and exits 1.
        let error = format!("{:#}", result.expect_err("the migration fails"));
        assert!(
            error.starts_with(
                "the migration stopped (what was copied stays; run it again to go on): \
                 the Vault secret store is unavailable"
            ),
            "{to}: {error}"
        );
        assert!(!error.contains("sentry-token"), "{error}");
        assert_eq!(
            printed, "",
            "{to}: no report of a migration that did not happen"
        );
    }
    // The local secret is where it was, whole.
    assert_eq!(
        local(dir.path())
            .get(&reference)
            .await
            .expect("still there"),
        b"sentry-token"
    );
    assert_eq!(
        local(dir.path())
            .versions("acme", "sentry/0190d4")
            .await
            .expect("versions"),
        [reference]
    );
}
