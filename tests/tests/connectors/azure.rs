//! Azure's CLI runs logged in with the organisation's service principal, as upstream does: `az
//! login --service-principal` in the command's private `AZURE_CONFIG_DIR`, then `az account set`
//! to the connected subscription, then the command. The fake `az` refuses commands until it is
//! logged in and accepts only the connected secret, read from a file: the secret is never on a
//! command line, in the environment, in the output or in the events.

use aurora_tests::chat::{of_type, ChatSocket};
use aurora_tests::llm::{Script, Step};
use serde_json::{json, Value};

use crate::chat::helpers::{chat, query, Chat};

const SECRET: &str = "azure-sp-secret-4e7b19d2c0";
const TENANT: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const SUBSCRIPTION: &str = "99999999-8888-7777-6666-555555555555";

/// What the fake prints once logged in: the login and subscription it got, the Azure
/// environment, and the secret file's content (planted: it must come out redacted).
const PRINT_LOGIN: &str = r#"echo "login: $(cat "$AZURE_CONFIG_DIR/login")"
echo "subscription: $(cat "$AZURE_CONFIG_DIR/subscription")"
env | grep '^AZURE_' | sort
echo "secret file: $(cat "$(dirname "$AZURE_CONFIG_DIR")/azure-client-secret")"
echo '[]'"#;

async fn with_azure() -> Chat {
    let c = chat(vec![Script::new(
        "azure machines",
        vec![
            Step::tool(
                "call_az",
                "cloud_exec",
                json!({"provider": "az", "command": "az vm list -o json"}),
            ),
            Step::text(&["Listed."]),
        ],
    )])
    .await;
    c.app
        .post_json(
            "/api/connectors/azure",
            Some(&c.admin),
            &json!({
                "settings": {"tenant_id": TENANT, "client_id": CLIENT, "subscription_id": SUBSCRIPTION},
                "credentials": {"client_secret": SECRET}
            }),
        )
        .await
        .expect_status(201);
    c
}

async fn ask(c: &Chat) -> Vec<Value> {
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("azure machines", "ask")).await;
    socket.until_end().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn az_runs_logged_in_with_the_service_principal_and_the_secret_shows_nowhere() {
    let c = with_azure().await;
    c.clis.az(SECRET, PRINT_LOGIN);
    let frames = ask(&c).await;
    let result = of_type(&frames, "tool_result");
    let output = result
        .first()
        .and_then(|r| r["output"].as_str())
        .unwrap_or_else(|| panic!("a result: {frames:?}"));

    assert!(
        output.contains(&format!(
            "login: login --service-principal --username {CLIENT} --password @"
        )) && output.contains(&format!("--tenant {TENANT} --output none")),
        "{output}"
    );
    assert!(
        output.contains(&format!(
            "subscription: account set --subscription {SUBSCRIPTION}"
        )),
        "{output}"
    );
    assert!(output.contains("secret file: [REDACTED"), "{output}");
    assert!(!output.contains("AZURE_CLIENT_SECRET"), "{output}");
    assert!(
        output.contains(&format!("AZURE_CLIENT_ID={CLIENT}")),
        "{output}"
    );
    assert!(!output.contains(SECRET), "{output}");

    // The login, the subscription, the command — in that order, none with the secret.
    let calls = c.clis.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(
        calls[0].starts_with("az login --service-principal"),
        "{calls:?}"
    );
    assert_eq!(
        calls[1],
        format!("az account set --subscription {SUBSCRIPTION}")
    );
    assert_eq!(calls[2], "az vm list -o json");
    assert!(calls.iter().all(|call| !call.contains(SECRET)), "{calls:?}");

    // The private directory (config and secret file) is gone.
    let config_dir = output
        .lines()
        .find_map(|l| l.strip_prefix("AZURE_CONFIG_DIR="))
        .expect("the config dir");
    assert!(!std::path::Path::new(config_dir).exists());
    let events = c
        .app
        .nats
        .log
        .read_subject(&format!("evt.{}.>", c.admin.tenant), 1)
        .await
        .expect("events");
    assert!(!events.is_empty());
    for event in &events {
        assert!(!event.data.to_string().contains(SECRET), "{}", event.data);
    }
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_az_refuses_fails_the_call_and_the_command_never_runs() {
    let c = with_azure().await;
    // The directory answers that this is not the principal's secret (it was rotated there).
    c.clis.az("azure-sp-secret-rotated", PRINT_LOGIN);
    let frames = ask(&c).await;
    let error = of_type(&frames, "tool_error");
    let said = error
        .first()
        .and_then(|e| e["error"].as_str())
        .unwrap_or_else(|| panic!("an error: {frames:?}"));
    assert!(
        said.starts_with("`az login --service-principal --username ")
            && said.ends_with("failed: AADSTS7000215: Invalid client secret provided."),
        "{said}"
    );
    assert!(!said.contains(SECRET), "{said}");
    let calls = c.clis.calls();
    assert_eq!(calls.len(), 1, "only the login ran: {calls:?}");
    c.app.stop().await;
}
