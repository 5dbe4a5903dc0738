//! The correlation dry run decides as live correlation does — topology on the tenant's service
//! graph, titles by their embeddings — and sets word overlap's decisions beside them.

use aurora_domain::service::NodeType;
use aurora_domain::vector::cosine;
use aurora_tests::embeddings::embedder;
use aurora_tests::TestApp;
use serde_json::{json, Value};

use crate::graph::seed::graph;
use crate::intake::helpers::{deliver, grafana, incidents_until, integration, path_of};

const OPENING: &str = "High CPU usage on checkout-api";
const JOINING: &str = "checkout-api processor saturated";
const UPSTREAM: &str = "Card authorisations failing";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_scores_on_the_graph_and_sets_word_overlap_beside_embeddings() {
    let app = TestApp::launch().with_embeddings().spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    // checkout depends on payments: live correlation groups a payments alert with checkout's.
    graph(
        &app,
        &admin.tenant,
        &[
            ("checkout", NodeType::Workload),
            ("payments", NodeType::Workload),
        ],
        &[("checkout", "payments")],
    )
    .await;
    let created = integration(&app, &admin, "grafana", "Prod Grafana").await;
    let (path, secret) = (
        path_of(&created),
        created["secret"].as_str().expect("secret"),
    );
    let from = chrono::Utc::now() - chrono::Duration::seconds(1);
    for (i, (fingerprint, service, title)) in [
        ("fp-1", "checkout", OPENING),
        ("fp-2", "checkout", JOINING),
        ("fp-3", "payments", UPSTREAM),
    ]
    .into_iter()
    .enumerate()
    {
        deliver(
            &app,
            &path,
            Some(secret),
            &grafana(&[("firing", fingerprint, service, title)]),
        )
        .await
        .expect_status(202);
        incidents_until(&app, &admin, |items| {
            items.len() == 1 && items[0]["correlated_alert_count"].as_i64() == Some(i as i64)
        })
        .await;
    }
    let to = chrono::Utc::now() + chrono::Duration::seconds(1);
    let dry_run = |settings: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            app.post_json(
                "/api/correlation/dry-run",
                Some(admin),
                &json!({ "settings": settings, "from": from, "to": to }),
            )
            .await
            .expect_status(200)
        }
    };

    // Today's settings change nothing: the payments alert joins on the graph's edge here too
    // (on an empty graph it would stand alone), and titles are compared by embeddings.
    let same = dry_run(json!({})).await;
    assert_eq!(same["alerts"], 3, "{same}");
    assert_eq!(same["graph_edges"], 1, "{same}");
    assert_eq!(same["title_basis"], "embeddings");
    assert_eq!(same["incidents_would_be"], 1, "{same}");
    assert_eq!(same["changed"], json!([]), "{same}");
    assert_eq!(same["by_word_overlap"]["incidents_would_be"], 1, "{same}");
    assert_eq!(same["by_word_overlap"]["differing"], json!([]), "{same}");

    // On titles alone, with a threshold between the two methods' similarity of the checkout
    // titles: embeddings group them, word overlap (2 words shared of 7) does not.
    let v = embedder().embed(&[JOINING, OPENING]).await.expect("embeds");
    let by_embeddings = 0.7 * cosine(&v[0], &v[1]).clamp(0.0, 1.0) + 0.3;
    let by_words = 0.7 * (2.0 / 7.0) + 0.3;
    assert!(by_embeddings > by_words + 0.05, "{by_embeddings}");
    let titles_only = dry_run(json!({
        "topology_weight": 0.0, "time_weight": 0.0, "similarity_weight": 1.0,
        "threshold": (by_embeddings + by_words) / 2.0,
    }))
    .await;
    assert_eq!(titles_only["incidents_would_be"], 2, "{titles_only}");
    let compared = &titles_only["by_word_overlap"];
    assert_eq!(compared["incidents_would_be"], 3, "{titles_only}");
    let differing = compared["differing"].as_array().expect("differing");
    let ids: Vec<&str> = differing
        .iter()
        .filter_map(|d| d["alert_id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2, "{titles_only}");
    assert!(
        ids[0].contains("fp-1") && ids[1].contains("fp-2"),
        "{ids:?}"
    );
    let joining = &differing[1];
    assert_eq!(joining["title"], JOINING);
    assert_eq!(
        joining["grouped_with_by_embeddings"],
        json!([differing[0]["alert_id"]])
    );
    assert_eq!(joining["grouped_with_by_word_overlap"], json!([]));
    let said = |d: &Value, f: &str| d[f].as_str().unwrap_or_default().to_owned();
    assert!(
        said(joining, "decision_by_embeddings").contains("titles by embeddings"),
        "{joining}"
    );
    assert!(
        said(joining, "decision_by_word_overlap").contains("below threshold"),
        "{joining}"
    );
    // The changed alerts carry both decisions too.
    let changed = titles_only["changed"].as_array().expect("changed");
    assert!(!changed.is_empty(), "{titles_only}");
    assert!(changed
        .iter()
        .all(|c| c["decision_by_word_overlap"].is_string()));
    app.stop().await;
}
