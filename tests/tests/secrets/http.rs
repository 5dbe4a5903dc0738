//! Through the API: integration secrets and connector credentials go to Vault when it is
//! configured, at `<tenant>/<kind>/<id>`, and those stored under earlier names keep resolving
//! and are deleted with their connector or integration; a Vault that is down is a 503 with
//! Retry-After and nothing recorded.

use aurora_domain::connector::{ConnectorCommand, ConnectorKind, ConnectorSettings, DatadogSite};
use aurora_domain::integration::{IntegrationCommand, IntegrationSettings, NewIntegration};
use aurora_handlers::connectors::Credentials;
use aurora_handlers::secrets::{SecretError, VaultSecretStore};
use aurora_nats::envelope::Context;
use aurora_projections::Projector;
use aurora_tests::openbao::TestOpenBao;
use aurora_tests::{wait_for_projection, Account, Answer, TestApp};
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

async fn secret_refs(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT secret_ref FROM integrations ORDER BY created_at")
        .fetch_all(&app.db.pool)
        .await
        .expect("integrations")
}

#[tokio::test]
async fn a_disconnect_while_vault_is_down_answers_503_and_leaves_the_account_connected() {
    let mut bao = TestOpenBao::start().await;
    let app = TestApp::launch().vault(bao.config()).spawn().await;
    let admin = app.register("vault-admin@example.com", "Vault Org").await;
    let connected = app
        .post_json(
            "/api/connectors/kubernetes",
            Some(&admin),
            &json!({"credentials": {"kubeconfig": aurora_tests::providers::kubeconfig("a-token")}}),
        )
        .await
        .expect_status(201);
    let id = connected["id"].as_str().expect("id").to_owned();

    bao.stop().await;
    let refused = Answer::of(
        app.request(
            reqwest::Method::DELETE,
            &format!("/api/connectors/{id}"),
            Some(&admin),
        )
        .send()
        .await,
    )
    .await;
    refused.expect_error(503, "unavailable");
    assert!(refused.headers.get("retry-after").is_some());
    // Nothing was recorded: the account is still connected, its credential still in Vault.
    let detail = app
        .get_json(&format!("/api/connectors/{id}"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(detail["status"], connected["status"], "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_that_is_down_answers_503_with_retry_after_and_records_nothing() {
    let mut bao = TestOpenBao::start().await;
    let app = TestApp::launch().vault(bao.config()).spawn().await;
    let admin = app.register("vault-admin@example.com", "Vault Org").await;
    let created = app
        .post_json(
            "/api/integrations",
            Some(&admin),
            &json!({ "source": "grafana", "name": "prod" }),
        )
        .await
        .expect_status(201);
    let id = created["id"].as_str().expect("id").to_owned();
    // The create answers once the read model has the integration.
    let refs = secret_refs(&app).await;
    assert_eq!(refs.len(), 1);
    // `<mount>/data/<tenant>/<kind>/<name>`: the source, the integration's id.
    let simple = uuid::Uuid::parse_str(&id).expect("a UUID").simple();
    assert_eq!(
        refs,
        [format!("vault:kv/data/{}/grafana/{simple}@1", admin.tenant)]
    );

    bao.stop().await;
    let rotated = app
        .post_json(
            &format!("/api/integrations/{id}/rotate-secret"),
            Some(&admin),
            &json!({}),
        )
        .await;
    rotated.expect_error(503, "unavailable");
    assert!(rotated.headers.get("retry-after").is_some());
    let again = app
        .post_json(
            "/api/integrations",
            Some(&admin),
            &json!({ "source": "grafana", "name": "second" }),
        )
        .await;
    again.expect_error(503, "unavailable");
    // Nothing was recorded: the one integration keeps its one reference.
    let detail = app
        .get_json(&format!("/api/integrations/{id}"), Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(detail["id"], id.as_str());
    let list = app
        .get_json("/api/integrations", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(secret_refs(&app).await, refs);
}

async fn delete(app: &TestApp, who: &Account, path: &str) -> u16 {
    Answer::of(
        app.request(reqwest::Method::DELETE, path, Some(who))
            .send()
            .await,
    )
    .await
    .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_written_under_their_kind_and_earlier_names_still_resolve_and_are_deleted() {
    let bao = TestOpenBao::start().await;
    let app = TestApp::launch().vault(bao.config()).spawn().await;
    let admin = app.register("kinds@example.com", "Kinds Org").await;
    let tenant = admin.tenant.clone();
    let services = app.services();
    let vault = VaultSecretStore::open(&bao.config()).expect("vault");

    // A connector's credential: `<tenant>/<provider>/<connector id>`.
    let connected = app
        .post_json(
            "/api/connectors/kubernetes",
            Some(&admin),
            &json!({"credentials": {"kubeconfig": aurora_tests::providers::kubeconfig("kind-token")}}),
        )
        .await
        .expect_status(201);
    let cluster = Uuid::parse_str(connected["id"].as_str().expect("id")).expect("a UUID");
    let account = services
        .connectors
        .account(&tenant, ConnectorKind::Kubernetes, None)
        .await
        .expect("a lookup")
        .expect("connected");
    assert_eq!(
        account.state.secret_ref.as_deref(),
        Some(format!("vault:kv/data/{tenant}/kubernetes/{}@1", cluster.simple()).as_str())
    );
    // An integration's webhook secret: `<tenant>/<source>/<integration id>`, each rotation a
    // version of it.
    let created = app
        .post_json(
            "/api/integrations",
            Some(&admin),
            &json!({ "source": "grafana", "name": "prod" }),
        )
        .await
        .expect_status(201);
    let hook = Uuid::parse_str(created["id"].as_str().expect("id")).expect("a UUID");
    app.post_json(
        &format!("/api/integrations/{hook}/rotate-secret"),
        Some(&admin),
        &json!({}),
    )
    .await
    .expect_status(200);
    assert_eq!(
        secret_refs(&app).await,
        [format!(
            "vault:kv/data/{tenant}/grafana/{}@2",
            hook.simple()
        )]
    );
    let names = vault.list().await.expect("the mount's secrets");
    assert!(
        names.contains(&(
            tenant.to_string(),
            format!("kubernetes/{}", cluster.simple())
        )) && names.contains(&(tenant.to_string(), format!("grafana/{}", hook.simple()))),
        "{names:?}"
    );

    // Secrets stored before the kind was in the name, their references in the events as then.
    let old_connector = Uuid::now_v7();
    let credential = serde_json::to_vec(&Credentials::Datadog {
        api_key: "dd-api-before".into(),
        application_key: "dd-app-before".into(),
    })
    .expect("JSON");
    let old_connector_ref = services
        .secrets
        .put(
            tenant.as_str(),
            &format!("connectors/{}", old_connector.simple()),
            &credential,
        )
        .await
        .expect("put");
    let executed = services
        .connector_store
        .execute(
            &tenant,
            old_connector,
            ConnectorCommand::Connect {
                id: old_connector,
                settings: ConnectorSettings::Datadog {
                    site: DatadogSite::Us1,
                },
                secret_ref: Some(old_connector_ref.clone()),
                projects: vec![],
                by: admin.user_id,
                at: Utc::now(),
            },
            Context::new_root(),
        )
        .await
        .expect("stored")
        .expect("connected");
    wait_for_projection(
        &app.db.pool,
        Projector::Connectors,
        executed.stream_sequence,
    )
    .await;
    let old_hook = Uuid::now_v7();
    let old_hook_ref = services
        .secrets
        .put(
            tenant.as_str(),
            &format!("integrations/{}", old_hook.simple()),
            b"webhook-secret-before",
        )
        .await
        .expect("put");
    let executed = services
        .integrations
        .execute(
            &tenant,
            old_hook,
            IntegrationCommand::Create(NewIntegration {
                id: old_hook,
                source: "grafana".into(),
                name: "before".into(),
                settings: IntegrationSettings::default(),
                secret_ref: old_hook_ref.clone(),
                by: admin.user_id,
                at: Utc::now(),
            }),
            Context::new_root(),
        )
        .await
        .expect("stored")
        .expect("created");
    wait_for_projection(
        &app.db.pool,
        Projector::Integrations,
        executed.stream_sequence,
    )
    .await;

    // They resolve as they are: the agent's lookup reads the connector's credential.
    let before = app
        .services()
        .connectors
        .account(&tenant, ConnectorKind::Datadog, None)
        .await
        .expect("a lookup")
        .expect("connected");
    assert_eq!(
        before.credentials.expect("a credential").values(),
        ["dd-api-before", "dd-app-before"]
    );
    assert_eq!(
        services.secrets.get(&old_hook_ref).await.expect("resolves"),
        b"webhook-secret-before"
    );

    // And a disconnect or a delete removes them as it removes the new ones.
    for path in [
        format!("/api/connectors/{old_connector}"),
        format!("/api/connectors/{cluster}"),
        format!("/api/integrations/{old_hook}"),
        format!("/api/integrations/{hook}"),
    ] {
        assert_eq!(delete(&app, &admin, &path).await, 204, "{path}");
    }
    for reference in [
        old_connector_ref,
        old_hook_ref,
        account.state.secret_ref.clone().expect("a reference"),
        format!("vault:kv/data/{tenant}/grafana/{}@2", hook.simple()),
    ] {
        assert!(
            matches!(
                services.secrets.get(&reference).await,
                Err(SecretError::NotFound(_))
            ),
            "{reference} is deleted"
        );
    }
    let left = vault.list().await.expect("the mount's secrets");
    assert!(left.is_empty(), "{left:?}");
    app.stop().await;
}
