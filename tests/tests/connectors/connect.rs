//! Connecting each kind: the provider is asked with its documented read, the settings and the
//! status come back, the credential is kept only in the secret store.

use aurora_domain::connector::ConnectorKind;
use aurora_tests::providers::{gcp_key, kubeconfig, GCP_KEY_PEM, GCP_UNKNOWN_KEY_PEM};
use serde_json::{json, Value};

use super::{app_with_providers, connect};

/// A good connect body of every kind but GCP, AWS and Kubernetes (tested on their own).
fn good_bodies() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "datadog",
            json!({"settings": {"site": "eu"}, "credentials": {"api_key": "dd-api-1111", "application_key": "dd-app-2222"}}),
            "/api/v1/validate",
        ),
        (
            "newrelic",
            json!({"settings": {"account_id": 4242, "region": "US"}, "credentials": {"api_key": "NRAK-GOOD1234"}}),
            "/graphql",
        ),
        (
            "splunk",
            json!({"settings": {"url": "https://splunk.acme.io:8089"}, "credentials": {"token": "splunk-token-3333"}}),
            "/services/server/info",
        ),
        (
            "sentry",
            json!({"settings": {"organization": "acme"}, "credentials": {"token": "sntrys-4444"}}),
            "/api/0/organizations/acme/",
        ),
        (
            "grafana",
            json!({"settings": {"url": "https://grafana.acme.io"}, "credentials": {"token": "glsa-5555"}}),
            "/api/org",
        ),
        (
            "elasticsearch",
            json!({"settings": {"url": "https://es.acme.io:9200"}, "credentials": {"api_key": "es-key-6666"}}),
            "/",
        ),
        (
            "tailscale",
            json!({"settings": {"tailnet": "acme.com"}, "credentials": {"api_key": "tskey-api-7777"}}),
            "/api/v2/tailnet/acme.com/devices",
        ),
        (
            "scaleway",
            json!({"settings": {"access_key": "SCWABCDEFGHIJKLMNOPQ", "project_id": "11111111-2222-3333-4444-555555555555", "region": "fr-par"}, "credentials": {"secret_key": "scw-secret-8888"}}),
            "/account/v3/projects/11111111-2222-3333-4444-555555555555",
        ),
        (
            "azure",
            json!({"settings": {"tenant_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "client_id": "11111111-2222-3333-4444-555555555555"}, "credentials": {"client_secret": "azure-secret-9999"}}),
            "/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/oauth2/v2.0/token",
        ),
        (
            "ovh",
            json!({"settings": {"region": "ca"}, "credentials": {"client_id": "ovh-client-1", "client_secret": "ovh-secret-0000"}}),
            "/1.0/me",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_connects_after_its_provider_accepts_the_credential() {
    let (app, fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    for (kind, body, path) in good_bodies() {
        let before = fake.calls_to(path);
        let view = connect(&app, &admin, kind, &body).await.expect_status(201);
        assert_eq!(fake.calls_to(path), before + 1, "{kind} asked {path}");
        assert_eq!(view["kind"], kind);
        assert_eq!(view["status"], "connected", "{view}");
        assert_eq!(view["last_check"]["ok"], true);
        assert_eq!(view["settings"]["kind"], kind);
        // The answer holds no credential and no reference to it.
        let text = view.to_string();
        for secret in body["credentials"]
            .as_object()
            .expect("credentials")
            .values()
        {
            assert!(
                !text.contains(secret.as_str().expect("text")),
                "{kind}: {text}"
            );
        }
        assert!(!text.contains("local:"), "{text}");
    }
    // Datadog's site is normalised, New Relic's region kept as given.
    let list = app
        .get_json("/api/connectors", Some(&admin))
        .await
        .expect_status(200);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), good_bodies().len());
    assert_eq!(
        items[0]["settings"],
        json!({"kind": "datadog", "site": "EU"})
    );
    // The credential the agent will use resolves from the secret store, on demand.
    let account = app
        .services()
        .connectors
        .account(&admin.tenant, ConnectorKind::Datadog, None)
        .await
        .expect("a lookup")
        .expect("connected");
    assert_eq!(account.base_url, fake.base_url);
    assert!(format!("{:?}", account.credentials).contains("redacted"));
    let secrets = account.credentials.expect("credentials").values();
    assert_eq!(
        secrets,
        vec!["dd-api-1111".to_owned(), "dd-app-2222".to_owned()]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datadog_connects_on_its_us3_site_with_both_keys() {
    let (app, fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let view = connect(
        &app,
        &admin,
        "datadog",
        &json!({"settings": {"site": "us3"}, "credentials": {"api_key": "dd-api-us3", "application_key": "dd-app-us3"}}),
    )
    .await
    .expect_status(201);
    assert_eq!(view["status"], "connected", "{view}");
    assert_eq!(view["settings"], json!({"kind": "datadog", "site": "US3"}));
    let validated = fake.requests_to("/api/v1/validate");
    assert_eq!(validated.len(), 1);
    assert_eq!(validated[0].header("dd-api-key"), Some("dd-api-us3"));
    assert_eq!(
        validated[0].header("dd-application-key"),
        Some("dd-app-us3")
    );
    // Without an override, US3's API is Datadog's US3 host.
    let account = app
        .services()
        .connectors
        .account(&admin.tenant, ConnectorKind::Datadog, None)
        .await
        .expect("a lookup")
        .expect("connected");
    assert_eq!(
        aurora_handlers::connectors::ConnectorConfig::default().base_url(&account.settings),
        "https://api.us3.datadoghq.com"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gcp_key_is_checked_by_its_token_and_brings_its_projects() {
    let (app, fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let view = connect(
        &app,
        &admin,
        "gcp",
        &json!({"credentials": {"service_account_key": gcp_key("shop-prod", GCP_KEY_PEM).to_string()}}),
    )
    .await
    .expect_status(201);
    assert_eq!(fake.calls_to("/token"), 1);
    assert_eq!(fake.calls_to("/v1/projects"), 1);
    assert_eq!(view["settings"]["project_id"], "shop-prod");
    assert_eq!(
        view["settings"]["client_email"],
        "aurora@shop-prod.iam.gserviceaccount.com"
    );
    let projects: Vec<&str> = view["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .map(|p| p["project"].as_str().expect("a project"))
        .collect();
    assert_eq!(projects, ["shop-prod", "shop-staging", "shop-data"]);
    assert!(!view.to_string().contains("PRIVATE KEY"));

    // A key Google does not know: 502 naming Google; a key that is not PEM: 400.
    let other = app.register("other@globex.io", "Globex").await;
    let refused = connect(
        &app,
        &other,
        "gcp",
        &json!({"credentials": {"service_account_key": gcp_key("globex-prod", GCP_UNKNOWN_KEY_PEM)}}),
    )
    .await;
    refused.expect_error(502, "provider_error");
    let message = refused.body["error"]["message"].as_str().expect("message");
    assert!(
        message.starts_with("Google refused the credential (HTTP 400)"),
        "{message}"
    );
    let not_pem = connect(
        &app,
        &other,
        "gcp",
        &json!({"credentials": {"service_account_key": gcp_key("globex-prod", "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n")}}),
    )
    .await;
    not_pem.expect_error(400, "invalid_credentials");
    assert!(not_pem.body["error"]["message"]
        .as_str()
        .expect("m")
        .contains("private_key is not PEM"));
    let not_json = connect(
        &app,
        &other,
        "gcp",
        &json!({"credentials": {"service_account_key": "{oops"}}),
    )
    .await;
    not_json.expect_error(400, "invalid_credentials");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_role_is_assumed_with_the_external_id_to_connect() {
    let (app, fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let arn = "arn:aws:iam::123456789012:role/AuroraReadOnly";
    fake.expect_external_id(arn, "aurora-acme-42");
    let wrong = connect(&app, &admin, "aws", &json!({"settings": {"role_arn": arn, "external_id": "aurora-wrong", "region": "eu-west-3"}})).await;
    wrong.expect_error(502, "provider_error");
    assert!(wrong.body["error"]["message"]
        .as_str()
        .expect("m")
        .contains("AWS STS refused the credential (HTTP 403): AccessDenied"));
    let bad_arn = connect(&app, &admin, "aws", &json!({"settings": {"role_arn": "arn:aws:iam::12:role/x", "external_id": "aurora-acme-42", "region": "eu-west-3"}})).await;
    bad_arn.expect_error(400, "invalid_settings");
    assert!(bad_arn.body["error"]["message"]
        .as_str()
        .expect("m")
        .starts_with("role_arn"));
    let with_keys = connect(&app, &admin, "aws", &json!({"settings": {"role_arn": arn, "external_id": "aurora-acme-42", "region": "eu-west-3"}, "credentials": {"key": "x"}})).await;
    with_keys.expect_error(400, "invalid_credentials");
    let view = connect(&app, &admin, "aws", &json!({"settings": {"role_arn": arn, "external_id": "aurora-acme-42", "region": "eu-west-3"}}))
        .await
        .expect_status(201);
    assert_eq!(view["settings"]["role_arn"], arn);
    let assume = fake
        .requests()
        .into_iter()
        .rfind(|r| r.path == "/" && r.method == "POST")
        .expect("an STS call");
    assert!(
        assume.body.contains("Action=AssumeRole")
            && assume.body.contains("ExternalId=aurora-acme-42"),
        "{}",
        assume.body
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_is_parsed_and_its_context_chosen() {
    let (app, _fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let unknown = connect(&app, &admin, "kubernetes", &json!({"settings": {"context": "dev"}, "credentials": {"kubeconfig": kubeconfig("kube-token-abcdef")}})).await;
    unknown.expect_error(400, "invalid_credentials");
    assert!(unknown.body["error"]["message"]
        .as_str()
        .expect("m")
        .contains("no context \"dev\""));
    let view = connect(&app, &admin, "kubernetes", &json!({"settings": {"context": "prod"}, "credentials": {"kubeconfig": kubeconfig("kube-token-abcdef")}}))
        .await
        .expect_status(201);
    assert_eq!(
        view["settings"],
        json!({"kind": "kubernetes", "context": "prod", "cluster": "prod-cluster", "server": "https://prod.k8s.example:6443"})
    );
    assert!(!view.to_string().contains("kube-token-abcdef"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_say_what_is_wrong_and_provider_refusals_name_the_provider_without_the_secret()
{
    let (app, fake) = app_with_providers().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let cases = [
        (
            "heroku",
            json!({}),
            400,
            "unknown_kind",
            "\"heroku\" is not a kind of connector",
        ),
        (
            "datadog",
            json!({"settings": {"site": "US9"}, "credentials": {"api_key": "a1234", "application_key": "b1234"}}),
            400,
            "invalid_settings",
            "\"US9\" is not a Datadog site; expected one of US1, US3, US5, EU",
        ),
        (
            "datadog",
            json!({"settings": {"site": "US1"}, "credentials": {"api_key": "a1234"}}),
            400,
            "invalid_credentials",
            "missing field `application_key`",
        ),
        (
            "datadog",
            json!({"settings": {"site": "US1"}}),
            400,
            "invalid_credentials",
            "needs \"credentials\"",
        ),
        (
            "newrelic",
            json!({"settings": {"account_id": 1, "region": "APAC"}, "credentials": {"api_key": "NRAK-1"}}),
            400,
            "invalid_settings",
            "not a New Relic region",
        ),
        (
            "grafana",
            json!({"settings": {"url": "grafana.acme.io"}, "credentials": {"token": "glsa-1"}}),
            400,
            "invalid_settings",
            "url \"grafana.acme.io\" is not valid",
        ),
        (
            "splunk",
            json!({"settings": {"url": "https://s.acme.io", "index": "main"}, "credentials": {"token": "t-1234"}}),
            400,
            "invalid_settings",
            "unknown field `index`",
        ),
        (
            "sentry",
            json!({"settings": {"organization": "acme"}, "credentials": {"token": "   "}}),
            400,
            "invalid_credentials",
            "empty value",
        ),
        (
            "datadog",
            json!({"settings": {"site": "US1"}, "credentials": {"api_key": "dd-bad-key-1", "application_key": "b1234"}}),
            502,
            "provider_error",
            "Datadog refused the credential (HTTP 403)",
        ),
        (
            "newrelic",
            json!({"settings": {"account_id": 7, "region": "EU"}, "credentials": {"api_key": "NRAK-bad-2"}}),
            502,
            "provider_error",
            "New Relic refused the credential",
        ),
        (
            "splunk",
            json!({"settings": {"url": "https://splunk.acme.io"}, "credentials": {"token": "splunk-bad-3"}}),
            502,
            "provider_error",
            "Splunk refused the credential (HTTP 401)",
        ),
        (
            "elasticsearch",
            json!({"settings": {"url": "https://es.acme.io"}, "credentials": {"api_key": "es-bad-4"}}),
            502,
            "provider_error",
            "Elasticsearch refused the credential (HTTP 401)",
        ),
        (
            "azure",
            json!({"settings": {"tenant_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "client_id": "11111111-2222-3333-4444-555555555555"}, "credentials": {"client_secret": "azure-bad-5"}}),
            502,
            "provider_error",
            "Azure refused the credential (HTTP 401)",
        ),
        (
            "sentry",
            json!({"settings": {"organization": "acme"}, "credentials": {"token": "sntrys-bad-6"}}),
            502,
            "provider_error",
            "Sentry refused the credential (HTTP 401)",
        ),
        (
            "grafana",
            json!({"settings": {"url": "https://grafana.acme.io"}, "credentials": {"token": "glsa-bad-7"}}),
            502,
            "provider_error",
            "Grafana refused the credential (HTTP 401)",
        ),
        (
            "tailscale",
            json!({"settings": {"tailnet": "acme.com"}, "credentials": {"api_key": "tskey-bad-8"}}),
            502,
            "provider_error",
            "Tailscale refused the credential (HTTP 401)",
        ),
        (
            "scaleway",
            json!({"settings": {"access_key": "SCWABCDEFGHIJKLMNOPQ", "project_id": "11111111-2222-3333-4444-555555555555", "region": "fr-par"}, "credentials": {"secret_key": "scw-bad-9"}}),
            502,
            "provider_error",
            "Scaleway refused the credential (HTTP 401)",
        ),
        (
            "ovh",
            json!({"settings": {"region": "EU"}, "credentials": {"client_id": "ovh-client-1", "client_secret": "ovh-bad-10"}}),
            502,
            "provider_error",
            "OVHcloud refused the credential (HTTP 401)",
        ),
    ];
    for (kind, body, status, code, says) in cases {
        let answer = connect(&app, &admin, kind, &body).await;
        answer.expect_error(status, code);
        let message = answer.body["error"]["message"].as_str().expect("a message");
        assert!(message.contains(says), "{kind}: {message}");
        // The providers quote the credential back; Aurora does not.
        for secret in [
            "dd-bad-key-1",
            "NRAK-bad-2",
            "splunk-bad-3",
            "es-bad-4",
            "azure-bad-5",
            "sntrys-bad-6",
            "glsa-bad-7",
            "tskey-bad-8",
            "scw-bad-9",
            "ovh-bad-10",
        ] {
            assert!(
                !message.contains(secret),
                "{kind} repeats {secret}: {message}"
            );
        }
    }
    // Each refusal came from its provider's own check.
    for path in [
        "/api/v1/validate",
        "/api/0/organizations/acme/",
        "/api/org",
        "/api/v2/tailnet/acme.com/devices",
        "/account/v3/projects/11111111-2222-3333-4444-555555555555",
        "/auth/oauth2/token",
    ] {
        assert!(fake.calls_to(path) >= 1, "{path} was asked");
    }
    let list = app
        .get_json("/api/connectors", Some(&admin))
        .await
        .expect_status(200);
    assert_eq!(list["items"], json!([]), "nothing refused was connected");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_provider_leaves_a_failing_connector_that_says_why() {
    let fake = aurora_tests::providers::FakeProviders::start().await;
    // Grafana's URL is the account's own: a port nobody listens on.
    let app = aurora_tests::TestApp::launch()
        .connectors(aurora_handlers::connectors::ConnectorConfig::default())
        .spawn()
        .await;
    drop(fake);
    let admin = app.register("admin@acme.io", "Acme").await;
    let view = connect(
        &app,
        &admin,
        "grafana",
        &json!({"settings": {"url": "http://127.0.0.1:9"}, "credentials": {"token": "glsa-1234"}}),
    )
    .await
    .expect_status(201);
    assert_eq!(view["status"], "failing");
    assert_eq!(view["last_check"]["ok"], false);
    assert_eq!(
        view["last_check"]["detail"],
        "Grafana could not be reached: connection refused or no route"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ovh_is_offered_only_behind_its_feature_flag() {
    let app = aurora_tests::TestApp::spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let answer = connect(&app, &admin, "ovh", &json!({"settings": {"region": "EU"}, "credentials": {"client_id": "a1", "client_secret": "b1"}})).await;
    answer.expect_error(404, "not_found");
    assert!(answer.body["error"]["message"]
        .as_str()
        .expect("m")
        .contains("OVHcloud connectors are not offered here"));
    app.stop().await;
}
