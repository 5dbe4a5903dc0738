//! A connector's life: who may connect, what members see, GCP projects, disconnecting (the
//! credential deleted, tools told "not connected"), the audit log, and a clean replay.

use aurora_domain::connector::ConnectorKind;
use aurora_tests::providers::{gcp_key, GCP_KEY_PEM};
use aurora_tests::{audit_is_clean, Answer};
use reqwest::Method;
use serde_json::{json, Value};

use super::{app_with_providers, connect};

fn datadog() -> Value {
    json!({"settings": {"site": "US5"}, "credentials": {"api_key": "dd-api-life-1", "application_key": "dd-app-life-2"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_connect_and_disconnect_while_editors_and_viewers_see_status_only() {
    let (app, _fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let editor = app
        .invite_and_register(&admin, "ed@acme.io", "editor")
        .await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    for who in [&editor, &viewer] {
        connect(&app, who, "datadog", &datadog())
            .await
            .expect_error(403, "forbidden");
    }
    let view = connect(&app, &admin, "datadog", &datadog())
        .await
        .expect_status(201);
    let id = view["id"].as_str().expect("an id").to_owned();
    connect(&app, &admin, "datadog", &datadog())
        .await
        .expect_error(409, "already_connected");
    for who in [&editor, &viewer] {
        let list = app
            .get_json("/api/connectors", Some(who))
            .await
            .expect_status(200);
        assert_eq!(list["items"][0]["id"], id.as_str());
        assert_eq!(list["items"][0]["status"], "connected");
        let one = app
            .get_json(&format!("/api/connectors/{id}"), Some(who))
            .await
            .expect_status(200);
        assert_eq!(one["settings"]["site"], "US5");
        let refused = Answer::of(
            app.request(Method::DELETE, &format!("/api/connectors/{id}"), Some(who))
                .send()
                .await,
        )
        .await;
        refused.expect_error(403, "forbidden");
    }
    app.get_json("/api/connectors/not-a-uuid", Some(&admin))
        .await
        .expect_error(400, "invalid_id");
    app.get_json(
        &format!("/api/connectors/{}", uuid::Uuid::now_v7()),
        Some(&admin),
    )
    .await
    .expect_error(404, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_deletes_the_credential_and_tools_find_nothing_connected() {
    let (app, _fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let view = connect(&app, &admin, "datadog", &datadog())
        .await
        .expect_status(201);
    let id = view["id"].as_str().expect("an id").to_owned();
    let connectors = app.services().connectors;
    let account = connectors
        .account(&admin.tenant, ConnectorKind::Datadog, None)
        .await
        .expect("lookup")
        .expect("connected");
    let reference = account.state.secret_ref.clone().expect("a reference");
    let services = app.services();
    assert!(services.secrets.get(&reference).await.is_ok());

    let gone = Answer::of(
        app.request(
            Method::DELETE,
            &format!("/api/connectors/{id}"),
            Some(&admin),
        )
        .send()
        .await,
    )
    .await;
    assert_eq!(gone.status, 204);
    assert!(
        matches!(
            services.secrets.get(&reference).await,
            Err(aurora_handlers::secrets::SecretError::NotFound(_))
        ),
        "the credential is deleted from the store"
    );
    assert!(connectors
        .account(&admin.tenant, ConnectorKind::Datadog, None)
        .await
        .expect("lookup")
        .is_none());
    app.get_json(&format!("/api/connectors/{id}"), Some(&admin))
        .await
        .expect_error(404, "not_found");
    let list = app
        .get_json("/api/connectors", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"], json!([]));
    let again = Answer::of(
        app.request(
            Method::DELETE,
            &format!("/api/connectors/{id}"),
            Some(&admin),
        )
        .send()
        .await,
    )
    .await;
    again.expect_error(404, "not_found");
    // Connecting again makes a new connector.
    let second = connect(&app, &admin, "datadog", &datadog())
        .await
        .expect_status(201);
    assert_ne!(second["id"], id.as_str());

    // The audit log has both connects and the disconnect, by the admin.
    let audit = app
        .get_json("/api/audit-log", Some(&admin))
        .await
        .expect_status(200);
    let described: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| {
            e["event_type"]
                .as_str()
                .is_some_and(|t| t.starts_with("connector."))
        })
        .map(|e| e["description"].as_str().expect("a description"))
        .collect();
    assert_eq!(
        described,
        [
            format!(
                "connected Datadog (connector {})",
                second["id"].as_str().expect("id")
            ),
            format!("disconnected Datadog (connector {id})"),
            format!("connected Datadog (connector {id})"),
        ]
    );
    assert!(!audit.to_string().contains("dd-api-life-1"));
    audit_is_clean(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcp_projects_are_enabled_disabled_and_one_is_the_root() {
    let (app, _fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let viewer = app
        .invite_and_register(&admin, "vi@acme.io", "viewer")
        .await;
    let view = connect(
        &app,
        &admin,
        "gcp",
        &json!({"credentials": {"service_account_key": gcp_key("shop-prod", GCP_KEY_PEM)}}),
    )
    .await
    .expect_status(201);
    let id = view["id"].as_str().expect("id").to_owned();
    let put = |path: String, who, body: Value| {
        let app = &app;
        async move {
            Answer::of(
                app.request(Method::PUT, &path, Some(who))
                    .json(&body)
                    .send()
                    .await,
            )
            .await
        }
    };
    let projects = format!("/api/connectors/{id}/projects");
    let list = app
        .get_json(&projects, Some(&viewer))
        .await
        .expect_status(200);
    assert_eq!(list["root_project"], Value::Null);
    assert_eq!(
        list["projects"][1],
        json!({"project": "shop-staging", "enabled": true})
    );

    put(
        format!("{projects}/shop-staging"),
        &viewer,
        json!({"enabled": false}),
    )
    .await
    .expect_error(403, "forbidden");
    let root = put(
        format!("/api/connectors/{id}/root-project"),
        &admin,
        json!({"project": "shop-staging"}),
    )
    .await
    .expect_status(200);
    assert_eq!(root["root_project"], "shop-staging");
    let disabled = put(
        format!("{projects}/shop-staging"),
        &admin,
        json!({"enabled": false}),
    )
    .await
    .expect_status(200);
    assert_eq!(
        disabled["projects"][1],
        json!({"project": "shop-staging", "enabled": false})
    );
    assert_eq!(
        disabled["root_project"],
        Value::Null,
        "a disabled project is no longer the root"
    );
    put(
        format!("/api/connectors/{id}/root-project"),
        &admin,
        json!({"project": "shop-staging"}),
    )
    .await
    .expect_error(422, "GCP_PROJECT_DISABLED");
    put(
        format!("{projects}/someone-elses"),
        &admin,
        json!({"enabled": true}),
    )
    .await
    .expect_error(404, "not_found");
    put(
        format!("{projects}/shop-data"),
        &admin,
        json!({"enabled": "yes"}),
    )
    .await
    .expect_error(400, "invalid_body");

    // The agent's project: asked → root → the key's; a disabled one refused.
    let account = app
        .services()
        .connectors
        .account(&admin.tenant, ConnectorKind::Gcp, None)
        .await
        .expect("lookup")
        .expect("connected");
    assert_eq!(account.state.project_for(None), Ok("shop-prod".into()));
    assert!(account.state.project_for(Some("shop-staging")).is_err());

    // Projects are GCP's only.
    let datadog = connect(&app, &admin, "datadog", &datadog())
        .await
        .expect_status(201);
    app.get_json(
        &format!(
            "/api/connectors/{}/projects",
            datadog["id"].as_str().expect("id")
        ),
        Some(&admin),
    )
    .await
    .expect_error(422, "not_gcp");
    audit_is_clean(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_are_kept_until_the_projector_announces_a_change_of_the_tenants_connectors() {
    let (app, _fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    connect(&app, &admin, "datadog", &datadog())
        .await
        .expect_status(201);
    let connectors = app.services().connectors;
    let mut waited = 0;
    while !connectors.caching() {
        assert!(waited < 200, "the lookups never subscribed to the notices");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    let lookup = || async {
        connectors
            .account(&admin.tenant, ConnectorKind::Datadog, None)
            .await
            .expect("lookup")
            .is_some()
    };
    assert!(lookup().await);

    // Behind the cache's back (no event, so no notice): the row says disconnected. The kept
    // rows answer, so the lookup asked no database.
    sqlx::query("UPDATE connectors SET status = 'disconnected' WHERE tenant_id = $1")
        .bind(admin.tenant.as_str())
        .execute(&app.db.pool)
        .await
        .expect("the row changed");
    assert!(lookup().await, "kept");
    assert_eq!(
        connectors
            .secret_values(&admin.tenant)
            .await
            .expect("the secrets")
            .len(),
        2,
        "kept too"
    );
    // Another tenant's notice leaves them; this tenant's drops them, and the row is read again.
    let nats = &app.nats.client;
    nats.publish(
        aurora_nats::subjects::projected("someone-else", "connectors"),
        Default::default(),
    )
    .await
    .expect("published");
    nats.flush().await.expect("flushed");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(lookup().await, "another tenant's notice dropped the rows");
    nats.publish(
        aurora_nats::subjects::projected(admin.tenant.as_str(), "connectors"),
        Default::default(),
    )
    .await
    .expect("published");
    nats.flush().await.expect("flushed");
    let mut waited = 0;
    while lookup().await {
        assert!(waited < 200, "the notice did not drop the kept rows");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    assert!(connectors
        .secret_values(&admin.tenant)
        .await
        .expect("the secrets")
        .is_empty());
    app.stop().await;
}
