//! Credentials reach the CLIs only at execution: a chat whose scripted model runs aws, gcloud and
//! kubectl, each a fake that prints the credential-related environment it got and the mode of
//! its credential file; the files are gone afterwards, secrets never reach the output, and a
//! tenant without accounts gets "not connected" and is offered no CLI; a CLI the query's
//! preference left out is refused if the model calls it anyway.

use aurora_tests::chat::{of_type, ChatSocket};
use aurora_tests::llm::{Script, Step};
use aurora_tests::providers::{AURORA_AWS_KEY_ID, AURORA_AWS_SECRET, KUBE_TOKEN};
use serde_json::{json, Value};

use crate::chat::helpers::{chat, query};

/// A fake CLI's body: the environment a credential can come through, and its files' modes.
const PRINT_CREDENTIALS: &str = r#"env | grep -E '^(CLOUDSDK_|AWS_|KUBECONFIG|AZURE_|SCW_|TS_|OVH_)' | sort
[ -n "$AWS_ACCESS_KEY_ID" ] && echo "access key number ${AWS_ACCESS_KEY_ID#ASIAFAKE}"
for f in "$CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE" "$KUBECONFIG"; do
  if [ -n "$f" ]; then echo "file $f mode $(stat -c %a "$f")"; cat "$f"; echo; fi
done"#;

fn script() -> Script {
    Script::new(
        "look everywhere",
        vec![
            Step::tool(
                "call_aws",
                "cloud_exec",
                json!({"provider": "aws", "command": "aws ec2 describe-instances"}),
            ),
            Step::tool(
                "call_gcp",
                "cloud_exec",
                json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
            ),
            Step::tool(
                "call_k8s",
                "kubectl",
                json!({"command": "kubectl get pods"}),
            ),
            Step::text(&["Looked."]),
        ],
    )
}

pub(crate) fn output<'a>(frames: &'a [Value], call: &str) -> &'a str {
    frames
        .iter()
        .find(|f| {
            f["tool_call_id"] == call && (f["type"] == "tool_result" || f["type"] == "tool_error")
        })
        .and_then(|f| f["output"].as_str().or(f["error"].as_str()))
        .unwrap_or_else(|| panic!("no result of {call}: {frames:?}"))
}

/// The path a fake printed for its credential file.
fn file_of(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix("file "))
        .and_then(|l| l.split(" mode ").next())
        .expect("a credential file")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cli_gets_the_tenants_credentials_only_while_it_runs() {
    let c = chat(vec![script()]).await;
    for cli in ["aws", "gcloud", "kubectl"] {
        c.clis.script(cli, PRINT_CREDENTIALS);
    }
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("look everywhere", "ask")).await;
    let frames = socket.until_end().await;

    // AWS: the assumed role's temporary keys (fresh from STS), never Aurora's own.
    let aws = output(&frames, "call_aws");
    let sessions = c.providers.sts_sessions();
    let (key_id, secret, token) = sessions.last().expect("the role was assumed");
    // The key id is redacted like every secret-named variable; its number says which session.
    let number = key_id.trim_start_matches("ASIAFAKE");
    assert!(
        aws.contains(&format!("access key number {number}")),
        "{aws}"
    );
    assert!(aws.contains("AWS_ACCESS_KEY_ID=[REDACTED]"), "{aws}");
    assert!(aws.contains("AWS_REGION=eu-west-3"), "{aws}");
    assert!(
        aws.contains("AWS_SECRET_ACCESS_KEY=") && aws.contains("AWS_SESSION_TOKEN="),
        "{aws}"
    );
    for never in [
        secret.as_str(),
        token.as_str(),
        AURORA_AWS_KEY_ID,
        AURORA_AWS_SECRET,
    ] {
        assert!(!aws.contains(never), "{never} in {aws}");
    }

    // GCP: the key file (0600) and the project; the private key itself is redacted.
    let gcp = output(&frames, "call_gcp");
    assert!(gcp.contains("CLOUDSDK_CORE_PROJECT=shop-prod"), "{gcp}");
    assert!(
        gcp.contains("CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE="),
        "{gcp}"
    );
    assert!(gcp.contains(" mode 600"), "{gcp}");
    assert!(
        gcp.contains("aurora@shop-prod.iam.gserviceaccount.com"),
        "{gcp}"
    );
    assert!(!gcp.contains("MII"), "the private key is redacted: {gcp}");
    let key_file = file_of(gcp);
    assert!(
        !std::path::Path::new(&key_file).exists(),
        "{key_file} is removed after the command"
    );

    // Kubernetes: a kubeconfig with the chosen context (0600), its token redacted.
    let k8s = output(&frames, "call_k8s");
    assert!(
        k8s.contains(" mode 600") && k8s.contains("current-context: prod"),
        "{k8s}"
    );
    assert!(!k8s.contains(KUBE_TOKEN), "{k8s}");
    assert!(!std::path::Path::new(&file_of(k8s)).exists());

    // The model was offered exactly the connected CLIs.
    let offered = &c.llm.requests()[0]["tools"];
    let names: Vec<&str> = offered
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        names.contains(&"cloud_exec") && names.contains(&"kubectl"),
        "{names:?}"
    );
    assert_eq!(
        offered[0]["function"]["parameters"]["properties"]["provider"]["enum"],
        json!(["gcloud", "aws"])
    );
    // And nothing of it is in the session's events.
    let events = c
        .app
        .nats
        .log
        .read_subject(&format!("evt.{}.session.>", c.admin.tenant), 1)
        .await
        .expect("events");
    let text =
        serde_json::to_string(&events.iter().map(|e| &e.data).collect::<Vec<_>>()).expect("json");
    for never in [secret.as_str(), token.as_str(), KUBE_TOKEN] {
        assert!(!text.contains(never), "{never} in the events");
    }
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_is_offered_no_cli_and_its_commands_are_not_connected() {
    let c = chat(vec![script()]).await;
    for cli in ["aws", "gcloud", "kubectl"] {
        c.clis.script(cli, PRINT_CREDENTIALS);
    }
    let other = c.app.register("eve@globex.io", "Globex").await;
    let mut socket = ChatSocket::open(&c.app, &other, None).await;
    socket.send(query("look everywhere", "ask")).await;
    let frames = socket.until_end().await;
    let errors = of_type(&frames, "tool_error");
    let said: Vec<&str> = errors.iter().filter_map(|e| e["error"].as_str()).collect();
    assert_eq!(
        said,
        [
            "AWS is not connected: an admin connects it under Connectors first",
            "Google Cloud is not connected: an admin connects it under Connectors first",
            "Kubernetes is not connected: an admin connects it under Connectors first",
        ]
    );
    assert!(
        c.clis.calls().is_empty(),
        "no CLI ran: {:?}",
        c.clis.calls()
    );
    let names: Vec<String> = c.llm.requests()[0]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
        .collect();
    assert!(
        !names.contains(&"cloud_exec".to_owned()) && !names.contains(&"kubectl".to_owned()),
        "{names:?}"
    );
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preference_narrows_the_clouds_and_a_disabled_project_is_refused() {
    let c = chat(vec![Script::new(
        "staging instances",
        vec![
            Step::tool("call_1", "cloud_exec", json!({"provider": "gcloud", "command": "gcloud compute instances list --project shop-staging"})),
            Step::text(&["Refused."]),
        ],
    )])
    .await;
    let gcp = c
        .app
        .get_json("/api/connectors", Some(&c.admin))
        .await
        .expect_status(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["kind"] == "gcp")
        .expect("GCP connected")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let disabled = aurora_tests::Answer::of(
        c.app
            .request(
                reqwest::Method::PUT,
                &format!("/api/connectors/{gcp}/projects/shop-staging"),
                Some(&c.admin),
            )
            .json(&json!({"enabled": false}))
            .send()
            .await,
    )
    .await;
    assert_eq!(disabled.status, 200);
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let mut asked = query("staging instances", "ask");
    asked["provider_preference"] = json!(["gcp"]);
    socket.send(asked).await;
    let frames = socket.until_end().await;
    assert_eq!(
        output(&frames, "call_1"),
        "GCP_PROJECT_DISABLED: the project shop-staging is disabled for Aurora"
    );
    assert!(c.clis.calls().is_empty());
    let enum_ = &c.llm.requests()[0]["tools"][0]["function"]["parameters"]["properties"]
        ["provider"]["enum"];
    assert_eq!(enum_, &json!(["gcloud"]));
    c.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_the_preference_left_out_is_refused_and_does_not_run() {
    let c = chat(vec![script()]).await;
    for cli in ["aws", "gcloud", "kubectl"] {
        c.clis.script(cli, PRINT_CREDENTIALS);
    }
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    let mut asked = query("look everywhere", "ask");
    asked["provider_preference"] = json!(["gcp"]);
    socket.send(asked).await;
    let frames = socket.until_end().await;
    // AWS is connected but not preferred: not offered, and refused when called anyway.
    let enum_ = &c.llm.requests()[0]["tools"][0]["function"]["parameters"]["properties"]
        ["provider"]["enum"];
    assert_eq!(enum_, &json!(["gcloud"]));
    assert_eq!(
        output(&frames, "call_aws"),
        "cloud_exec for AWS was not offered to this run: the question asked for gcp"
    );
    assert!(of_type(&frames, "tool_error")
        .iter()
        .all(|e| e["tool_call_id"] == "call_aws"));
    // The offered ones ran; aws never did.
    let calls = c.clis.calls();
    assert!(calls.iter().all(|c| !c.starts_with("aws")), "{calls:?}");
    assert!(calls.iter().any(|c| c.starts_with("gcloud")), "{calls:?}");
    assert!(calls.iter().any(|c| c.starts_with("kubectl")), "{calls:?}");
    assert!(output(&frames, "call_gcp").contains("CLOUDSDK_CORE_PROJECT="));
    c.app.stop().await;
}
