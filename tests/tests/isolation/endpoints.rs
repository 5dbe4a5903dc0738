//! Every endpoint, aimed by tenant A at tenant B's things, gives A nothing of B; and the table
//! lists every route of the OpenAPI document.

use std::collections::BTreeSet;

use aurora_tests::{Answer, TestApp};
use uuid::Uuid;

use super::helpers::{call, two_tenants};
use super::table::Expect::{NotFound, NotFoundAsFilter, NothingOfB};
use super::table::ENDPOINTS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_table_lists_every_route_of_the_openapi_document() {
    let app = TestApp::spawn().await;
    let doc = app.get_json("/openapi.json", None).await.expect_status(200);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let tabled: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|e| (e.method.to_owned(), e.path.to_owned()))
        .collect();
    assert_eq!(
        documented, tabled,
        "every route needs a row in ENDPOINTS (tests/tests/isolation.rs) saying what another tenant gets"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_a_reaches_nothing_of_tenant_b_through_any_endpoint() {
    let app = TestApp::spawn().await;
    let (a, b) = two_tenants(&app).await;
    // What B holds and A did not send itself (an error may quote the id A asked for).
    let leaks = |answer: &Answer, sent: &str| -> Vec<String> {
        let text = answer.body.to_string();
        b.secrets
            .iter()
            .filter(|s| text.contains(s.as_str()) && !sent.contains(s.as_str()))
            .cloned()
            .collect()
    };
    // The time-travel view of B's incident, through A.
    let at = format!("/api/incidents/{}?at=2999-01-01T00:00:00Z", b.incident);
    let answer = call(&app, &a, "GET", &at, None).await;
    answer.expect_error(404, "not_found");
    assert!(leaks(&answer, &at).is_empty());
    for e in ENDPOINTS {
        let copied = match b.id(e.target) {
            Some(id) if matches!(e.expect, NotFoundAsFilter) => format!("{}?id={id}", e.path),
            Some(id) => e
                .path
                .replace("{id}", &id.to_string())
                .replace("{user_id}", &id.to_string())
                .replace("{integration_id}", &id.to_string())
                .replace("{connector}", &id.to_string())
                .replace("{project}", "shop-prod")
                .replace("{version}", "1")
                .replace("{source}", "grafana"),
            None => e.path.to_owned(),
        };
        // A body may name B's thing too (`{id}`), as a path does.
        let body = e.body.map(|body| match b.id(e.target) {
            Some(id) => body.replace("{id}", &id.to_string()),
            None => body.to_owned(),
        });
        let answer = call(&app, &a, e.method, &copied, body.as_deref()).await;
        let sent = format!("{copied} {}", body.as_deref().unwrap_or_default());
        let leaked = leaks(&answer, &sent);
        assert!(
            leaked.is_empty(),
            "{} {copied} leaks {leaked:?}: {}",
            e.method,
            answer.body
        );
        match e.expect {
            NotFoundAsFilter => {
                answer.expect_error(404, "not_found");
                let guessed = format!("{}?id={}", e.path, Uuid::now_v7());
                let guess = call(&app, &a, e.method, &guessed, None).await;
                assert_eq!(guess.status, answer.status, "{guessed}");
                assert_eq!(guess.body["error"]["code"], answer.body["error"]["code"]);
            }
            NotFound => {
                answer.expect_error(404, "not_found");
                // A guessed id answers the same: existence does not leak.
                let guessed = e
                    .path
                    .replace("{id}", &Uuid::now_v7().to_string())
                    .replace("{user_id}", &Uuid::now_v7().to_string())
                    .replace("{integration_id}", &Uuid::now_v7().to_string())
                    .replace("{connector}", &Uuid::now_v7().to_string())
                    .replace("{project}", "shop-prod")
                    .replace("{version}", "1")
                    .replace("{source}", "grafana");
                let guess = call(&app, &a, e.method, &guessed, e.body).await;
                assert_eq!(guess.status, answer.status, "{} {guessed}", e.method);
                assert_eq!(guess.body["error"]["code"], answer.body["error"]["code"]);
            }
            NothingOfB => assert_ne!(answer.status, 403, "{} {copied}: {}", e.method, answer.body),
        }
    }

    // Nothing A did touched B: B's incident has no comment from A, B's member and token stand.
    let incident = app
        .get_json(&format!("/api/incidents/{}", b.incident), Some(&b.admin))
        .await
        .expect_status(200);
    assert!(!incident.to_string().contains("hello from A"));
    assert!(!incident.to_string().contains("from A"));
    assert_eq!(incident["incident"]["status"], "investigating");
    let members = app
        .get_json("/api/members", Some(&b.admin))
        .await
        .expect_status(200);
    assert_eq!(members["items"].as_array().map(Vec::len), Some(2));
    let tokens = app
        .get_json("/api/tokens", Some(&b.admin))
        .await
        .expect_status(200);
    assert_eq!(tokens["items"][0]["revoked"], false);
    app.get_json("/api/auth/me", Some(&b.member))
        .await
        .expect_status(200);
    // B's session is still B's, with nothing of A's in it.
    let session = app
        .get_json(&format!("/chat_api/sessions/{}", b.session), Some(&b.admin))
        .await
        .expect_status(200);
    assert!(!session.to_string().contains("hello from A"));
    app.stop().await;
}
