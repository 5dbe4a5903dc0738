//! Several accounts of one kind — two Kubernetes clusters, two AWS accounts — each its own
//! connector: listed, each disconnectable on its own, the same one twice refused. A tool call
//! names one (`cluster`, `account`, listed in the tool's schema); naming none when several are
//! connected is a tool error listing them (a guess could run against the wrong one), naming one
//! that is not connected too; a kind with one account needs no name.

use aurora_tests::chat::{of_type, ChatSocket};
use aurora_tests::llm::{Script, Step};
use aurora_tests::providers::{kubeconfig, AWS_ROLE, KUBE_TOKEN};
use reqwest::Method;
use serde_json::{json, Value};

use super::cli::output;
use crate::chat::helpers::{chat, query};

const SECOND_ROLE: &str = "arn:aws:iam::210987654321:role/AuroraReadOnly";
const SECOND_EXTERNAL_ID: &str = "aurora-external-43";

fn kubectl(call: &str, arguments: Value) -> Step {
    Step::tool(call, "kubectl", arguments)
}

fn aws(call: &str, account: Option<&str>) -> Step {
    let mut arguments = json!({"provider": "aws", "command": "aws ec2 describe-instances"});
    if let Some(account) = account {
        arguments["account"] = json!(account);
    }
    Step::tool(call, "cloud_exec", arguments)
}

fn scripts() -> Vec<Script> {
    vec![
        Script::new(
            "which cluster",
            vec![
                kubectl("call_1", json!({"command": "kubectl get pods"})),
                kubectl(
                    "call_2",
                    json!({"command": "kubectl get pods", "cluster": "staging-cluster"}),
                ),
                kubectl(
                    "call_3",
                    json!({"command": "kubectl get pods", "cluster": "qa-cluster"}),
                ),
                aws("call_4", Some(SECOND_ROLE)),
                aws("call_5", None),
                Step::tool(
                    "call_6",
                    "cloud_exec",
                    json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
                ),
                Step::text(&["Looked."]),
            ],
        ),
        Script::new(
            "pods again",
            vec![
                kubectl("call_7", json!({"command": "kubectl get pods"})),
                Step::text(&["Looked again."]),
            ],
        ),
    ]
}

/// The tool-time AssumeRole requests' role ARNs (connecting checks with its own session name).
fn assumed_for_tools(c: &crate::chat::helpers::Chat) -> Vec<String> {
    c.providers
        .requests_to("/")
        .iter()
        .map(|r| r.form())
        .filter(|f| {
            f.get("RoleSessionName")
                .is_some_and(|n| n != "aurora-connect-check")
        })
        .filter_map(|f| f.get("RoleArn").cloned())
        .collect()
}

fn tool<'a>(request: &'a Value, name: &str) -> &'a Value {
    request["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .find(|t| t["function"]["name"] == name)
        .unwrap_or_else(|| panic!("{name} offered: {request}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clusters_and_two_aws_accounts_are_each_connected_named_and_disconnected_alone() {
    // The harness connected GCP, AWS (AWS_ROLE) and the `prod` context's cluster.
    let c = chat(scripts()).await;
    c.clis
        .script("kubectl", r#"grep current-context "$KUBECONFIG""#);
    c.clis.script("aws", "echo instances");
    c.providers
        .expect_external_id(SECOND_ROLE, SECOND_EXTERNAL_ID);
    let staging = c
        .app
        .post_json(
            "/api/connectors/kubernetes",
            Some(&c.admin),
            &json!({"settings": {"context": "staging"}, "credentials": {"kubeconfig": kubeconfig(KUBE_TOKEN)}}),
        )
        .await
        .expect_status(201);
    c.app
        .post_json(
            "/api/connectors/aws",
            Some(&c.admin),
            &json!({"settings": {"role_arn": SECOND_ROLE, "external_id": SECOND_EXTERNAL_ID, "region": "eu-west-1"}}),
        )
        .await
        .expect_status(201);
    // The same cluster again is the same account: refused.
    c.app
        .post_json(
            "/api/connectors/kubernetes",
            Some(&c.admin),
            &json!({"settings": {"context": "prod"}, "credentials": {"kubeconfig": kubeconfig(KUBE_TOKEN)}}),
        )
        .await
        .expect_error(409, "already_connected");
    let list = c
        .app
        .get_json("/api/connectors", Some(&c.admin))
        .await
        .expect_status(200);
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "kubernetes").count(),
        2,
        "{list}"
    );
    assert_eq!(kinds.iter().filter(|k| **k == "aws").count(), 2, "{list}");

    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("which cluster", "ask")).await;
    let frames = socket.until_end().await;
    assert_eq!(
        output(&frames, "call_1"),
        "several Kubernetes accounts are connected (prod-cluster, staging-cluster): name one with `cluster`"
    );
    assert!(
        output(&frames, "call_2").contains("current-context: staging"),
        "{frames:?}"
    );
    assert_eq!(
        output(&frames, "call_3"),
        "no Kubernetes account \"qa-cluster\" is connected; connected: prod-cluster, staging-cluster"
    );
    assert!(
        output(&frames, "call_4").contains("instances"),
        "{frames:?}"
    );
    assert_eq!(
        output(&frames, "call_5"),
        format!("several AWS accounts are connected ({AWS_ROLE}, {SECOND_ROLE}): name one with `account`")
    );
    // One GCP account: no name needed.
    assert!(
        output(&frames, "call_6").contains("checkout-1"),
        "{frames:?}"
    );
    let errors: Vec<&Value> = of_type(&frames, "tool_error");
    assert_eq!(errors.len(), 3, "{errors:?}");
    // Only the named role was assumed for a tool.
    assert_eq!(assumed_for_tools(&c), [SECOND_ROLE]);
    // The model was told the names.
    let first = &c.llm.requests()[0];
    assert_eq!(
        tool(first, "kubectl")["function"]["parameters"]["properties"]["cluster"]["enum"],
        json!(["prod-cluster", "staging-cluster"])
    );
    let account = tool(first, "cloud_exec")["function"]["parameters"]["properties"]["account"]
        ["description"]
        .as_str()
        .expect("cloud_exec takes an account")
        .to_owned();
    assert!(
        account.contains(&format!("aws: {AWS_ROLE}, {SECOND_ROLE}")) && !account.contains("gcloud"),
        "{account}"
    );

    // Disconnecting the staging cluster leaves the other one, which needs no name any more.
    let id = staging["id"].as_str().expect("an id");
    let gone = aurora_tests::Answer::of(
        c.app
            .request(
                Method::DELETE,
                &format!("/api/connectors/{id}"),
                Some(&c.admin),
            )
            .send()
            .await,
    )
    .await;
    assert_eq!(gone.status, 204);
    let asked_before = c.llm.requests().len();
    socket.send(query("pods again", "ask")).await;
    let frames = socket.until_end().await;
    assert!(
        output(&frames, "call_7").contains("current-context: prod"),
        "{frames:?}"
    );
    let again = &c.llm.requests()[asked_before];
    assert!(
        tool(again, "kubectl")["function"]["parameters"]["properties"]
            .get("cluster")
            .is_none(),
        "{again}"
    );
    c.app.stop().await;
}
