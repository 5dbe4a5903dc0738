//! The organisation's command policy: what it denies is refused; new organisations start from the
//! default deny template.

use aurora_tests::chat::{of_type, ChatSocket};
use aurora_tests::llm::{Script, Step};
use aurora_tests::Account;
use serde_json::{json, Value};

use super::helpers::{chat, query};

#[tokio::test]
async fn the_organisation_policy_refuses_what_it_denies() {
    let c = chat(vec![Script::new(
        "list instances",
        vec![
            Step::tool(
                "call_1",
                "cloud_exec",
                json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
            ),
            Step::text(&["Denied."]),
        ],
    )])
    .await;
    let put = |body: Value, who: &Account| {
        c.app
            .request(reqwest::Method::PUT, "/api/agent/policy", Some(who))
            .json(&body)
            .send()
    };
    let invalid = put(json!({"deny": ["(unclosed"]}), &c.admin)
        .await
        .expect("a response");
    assert_eq!(invalid.status(), 422);
    let bo = c
        .app
        .invite_and_register(&c.admin, "bo@acme.io", "editor")
        .await;
    let forbidden = put(json!({"deny": ["x"]}), &bo).await.expect("a response");
    assert_eq!(forbidden.status(), 403);
    let set = put(json!({"deny": ["compute instances"]}), &c.admin)
        .await
        .expect("a response");
    assert_eq!(set.status(), 200);
    let policy = c
        .app
        .get_json("/api/agent/policy", Some(&bo))
        .await
        .expect_status(200);
    assert_eq!(policy["deny"], json!(["compute instances"]));

    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("list instances", "ask")).await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "tool_error")[0];
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("compute instances"),
        "{error}"
    );
    assert!(c.clis.calls().is_empty());
}

#[tokio::test]
async fn a_new_organisation_starts_with_the_default_deny_template_its_admin_can_edit() {
    let c = chat(vec![
        Script::new(
            "flush the firewall",
            vec![
                Step::tool(
                    "call_1",
                    "cloud_exec",
                    json!({"provider": "gcloud", "command": "gcloud compute ssh vm1 --command 'iptables -F'"}),
                ),
                Step::text(&["Refused."]),
            ],
        ),
        Script::new(
            "list instances",
            vec![
                Step::tool(
                    "call_1",
                    "cloud_exec",
                    json!({"provider": "gcloud", "command": "gcloud compute instances list"}),
                ),
                Step::text(&["Listed."]),
            ],
        ),
    ])
    .await;
    let policy = c
        .app
        .get_json("/api/agent/policy", Some(&c.admin))
        .await
        .expect_status(200);
    let template: Vec<&str> = aurora_domain::gate::DEFAULT_DENY_TEMPLATE
        .iter()
        .map(|rule| rule.pattern)
        .collect();
    assert_eq!(policy["deny"], json!(template));
    assert_eq!(policy["allow"], json!([]));

    // A command matching a rule of the template is refused, even in agent mode.
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("flush the firewall", "agent")).await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "tool_error")[0];
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Network configuration changes"),
        "{error}"
    );
    assert!(c.clis.calls().is_empty());

    // The admin edits it: upstream's look-behind rule is accepted as it is, a broken one is not.
    let edited = json!({"deny": [r"(?<!\bkubectl\s)\b(eval|exec)\b", "compute instances"]});
    let set = c
        .app
        .request(reqwest::Method::PUT, "/api/agent/policy", Some(&c.admin))
        .json(&edited)
        .send()
        .await
        .expect("a response");
    assert_eq!(set.status(), 200);
    let broken = c
        .app
        .request(reqwest::Method::PUT, "/api/agent/policy", Some(&c.admin))
        .json(&json!({"deny": [r"(?<!unclosed"]}))
        .send()
        .await
        .expect("a response");
    assert_eq!(broken.status(), 422);
    let policy = c
        .app
        .get_json("/api/agent/policy", Some(&c.admin))
        .await
        .expect_status(200);
    assert_eq!(policy["deny"], edited["deny"]);
    let mut socket = ChatSocket::open(&c.app, &c.admin, None).await;
    socket.send(query("list instances", "ask")).await;
    let frames = socket.until_end().await;
    let error = of_type(&frames, "tool_error")[0];
    assert!(
        error["error"]
            .as_str()
            .unwrap_or_default()
            .contains("compute instances"),
        "{error}"
    );
    assert!(c.clis.calls().is_empty());
}
