//! Through the API: integration secrets go to Vault when it is configured; a Vault that is down
//! is a 503 with Retry-After and nothing recorded.

use aurora_tests::openbao::TestOpenBao;
use aurora_tests::{Answer, TestApp};
use serde_json::json;

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
    assert!(
        refs[0].starts_with(&format!("vault:kv/data/{}/integrations/", admin.tenant)),
        "{refs:?}"
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
