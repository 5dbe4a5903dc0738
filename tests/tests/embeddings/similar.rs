//! `GET /api/incidents/{id}/similar` with the embedding model: earlier incidents by the cosine of
//! the embeddings of their titles and summaries, with the service, best first, resolved only on
//! request. (Without a model: `similar`.)

use aurora_domain::vector::cosine;
use aurora_domain::{Incident, IncidentCommand, IncidentId, IncidentStatus};
use aurora_nats::envelope::Context;
use aurora_nats::AggregateStore;
use aurora_projections::Projector;
use aurora_tests::embeddings::embedder;
use aurora_tests::{wait_for_projection, Account, TestApp};
use chrono::{Duration, Utc};
use serde_json::Value;

use crate::fixtures::open;

/// An earlier incident: title, service, summary, resolved, how many hours ago it started.
struct Past {
    title: &'static str,
    service: &'static str,
    summary: Option<&'static str>,
    resolved: bool,
    hours_ago: i64,
}

const CRASH: Past = Past {
    title: "Checkout pods crash-loop after deploy",
    service: "checkout",
    summary: Some("The 2.3 deploy set a wrong DATABASE_URL, so the pods crashed at start."),
    resolved: true,
    hours_ago: 72,
};
const LATENCY: Past = Past {
    title: "Payment API latency above two seconds",
    service: "payments",
    summary: Some("A slow query on the ledger table."),
    resolved: true,
    hours_ago: 48,
};
const DISK: Past = Past {
    title: "Disk almost full on the logging node",
    service: "logging",
    summary: None,
    resolved: false,
    hours_ago: 24,
};
const NOW: &str = "Checkout pods crash-looping again";

/// The three past incidents and the new one; their ids in that order.
async fn history(app: &TestApp, account: &Account) -> Vec<IncidentId> {
    let store = AggregateStore::<Incident>::new(app.nats.log.clone());
    let run = |id: IncidentId, command: IncidentCommand| {
        let store = store.clone();
        let tenant = account.tenant.clone();
        async move {
            store
                .execute(&tenant, id.0, command, Context::new_root())
                .await
                .expect("the store")
                .expect("accepted")
        }
    };
    let mut ids = Vec::new();
    let mut last = 0;
    for past in [CRASH, LATENCY, DISK] {
        let id = IncidentId::new();
        let at = Utc::now() - Duration::hours(past.hours_ago);
        last = run(id, open(id, past.title, past.service, at))
            .await
            .stream_sequence;
        if past.summary.is_some() || past.resolved {
            let update = IncidentCommand::Update {
                severity: None,
                summary: past.summary.map(str::to_owned),
                status: past.resolved.then_some(IncidentStatus::Resolved),
                reason: past.resolved.then(|| "fixed".to_owned()),
                by: "ops".to_owned(),
                at: at + Duration::hours(1),
            };
            last = run(id, update).await.stream_sequence;
        }
        ids.push(id);
    }
    let id = IncidentId::new();
    last = last.max(
        run(id, open(id, NOW, "checkout", Utc::now()))
            .await
            .stream_sequence,
    );
    ids.push(id);
    wait_for_projection(&app.db.pool, Projector::Incidents, last).await;
    ids
}

fn text(past: &Past) -> String {
    match past.summary {
        Some(summary) => format!("{}\n{summary}", past.title),
        None => past.title.to_owned(),
    }
}

fn ids_of(answer: &Value) -> Vec<String> {
    answer["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["incident"]["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earlier_incidents_are_ranked_by_the_embeddings_of_their_title_and_summary() {
    let app = TestApp::launch().with_embeddings().spawn().await;
    let ops = app.register("ops@acme.io", "Acme").await;
    let ids = history(&app, &ops).await;
    let path = format!("/api/incidents/{}/similar", ids[3].0);

    let answer = app.get_json(&path, Some(&ops)).await.expect_status(200);
    assert_eq!(answer["basis"], "embedding");
    assert_eq!(answer["compared"], 3);
    let items = answer["items"].as_array().expect("items");
    assert_eq!(
        items[0]["incident"]["id"],
        ids[0].0.to_string(),
        "{answer:#}"
    );
    assert_eq!(items[0]["incident"]["title"], CRASH.title);
    assert_eq!(
        items[0]["incident"]["summary"],
        CRASH.summary.expect("a summary")
    );
    assert_eq!(items[0]["incident"]["status"], "resolved");
    // Each text part is the cosine of the two texts' embeddings, the score 0.7 × it + 0.3 × the
    // service; best first, none under 0.6.
    let pasts = [CRASH, LATENCY, DISK];
    let mut previous = f64::INFINITY;
    for item in items {
        let index = ids
            .iter()
            .position(|id| item["incident"]["id"] == id.0.to_string())
            .expect("one of the earlier incidents");
        assert!(index < 3, "never the incident itself");
        let v = embedder()
            .embed(&[NOW, &text(&pasts[index])])
            .await
            .expect("embeds");
        let similarity = &item["similarity"];
        let title = similarity["title"].as_f64().expect("a text part");
        assert!((title - cosine(&v[0], &v[1])).abs() < 1e-4, "{item:#}");
        let service = if pasts[index].service == "checkout" {
            1.0
        } else {
            0.0
        };
        assert_eq!(similarity["service"], service);
        let score = similarity["score"].as_f64().expect("a score");
        assert!(
            (score - (0.7 * title + 0.3 * service)).abs() < 1e-9,
            "{item:#}"
        );
        assert!(score >= 0.6 && score <= previous, "{answer:#}");
        previous = score;
    }
    // Word overlap alone would not have called it similar: the text carries it.
    let words = aurora_domain::incident::similar::word_overlap(NOW, CRASH.title);
    assert!(0.7 * words + 0.3 < items[0]["similarity"]["score"].as_f64().expect("score"));

    // Resolved only: the open disk incident is never listed; one at most when asked for one.
    let resolved = app
        .get_json(&format!("{path}?resolved=true&limit=1"), Some(&ops))
        .await
        .expect_status(200);
    assert_eq!(ids_of(&resolved), vec![ids[0].0.to_string()]);

    // Only earlier incidents: the crash, the oldest, has none before it; the latency incident
    // only the crash (the disk incident and the new one came later).
    let oldest = app
        .get_json(&format!("/api/incidents/{}/similar", ids[0].0), Some(&ops))
        .await
        .expect_status(200);
    assert_eq!(oldest["compared"], 0, "{oldest:#}");
    assert_eq!(ids_of(&oldest), Vec::<String>::new());
    let latency = app
        .get_json(&format!("/api/incidents/{}/similar", ids[1].0), Some(&ops))
        .await
        .expect_status(200);
    assert_eq!(latency["compared"], 1, "{latency:#}");
    app.stop().await;
}
