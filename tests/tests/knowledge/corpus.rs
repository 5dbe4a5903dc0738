//! Retrieval quality on a committed corpus (`tests/fixtures/knowledge/`): 17 runbooks written
//! for this project and 33 questions, each with the runbook that answers it. The top-3 hit rate
//! of keyword, vector and hybrid search side by side.

use aurora_tests::TestApp;
use serde::Deserialize;
use serde_json::json;

use super::{search, settled};

#[derive(Deserialize)]
struct Question {
    question: String,
    expected: String,
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/knowledge");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_search_finds_the_right_runbook_in_its_top_three() {
    let app = TestApp::launch().with_embeddings().spawn().await;
    let admin = app.register("admin@acme.io", "Acme").await;
    let mut ids = Vec::new();
    let mut runbooks: Vec<_> = std::fs::read_dir(format!("{FIXTURES}/runbooks"))
        .expect("the runbooks")
        .map(|e| e.expect("an entry").path())
        .collect();
    runbooks.sort();
    assert!(runbooks.len() >= 15);
    for path in &runbooks {
        let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
        let bytes = std::fs::read(path).expect("a runbook");
        let body = app
            .upload(Some(&admin), name, &bytes)
            .await
            .expect_status(202);
        ids.push(body["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        assert_eq!(settled(&app, &admin, id).await["status"], "ready");
    }
    let questions: Vec<Question> = serde_json::from_slice(
        &std::fs::read(format!("{FIXTURES}/questions.json")).expect("the questions"),
    )
    .expect("they parse");
    assert!(questions.len() >= 30);
    let mut rates = Vec::new();
    for mode in ["keyword", "vector", "hybrid"] {
        let mut hits = 0;
        for q in &questions {
            let found = search(
                &app,
                &admin,
                json!({"query": q.question, "limit": 3, "mode": mode}),
            )
            .await;
            let top: Vec<&str> = found["hits"]
                .as_array()
                .expect("hits")
                .iter()
                .filter_map(|h| h["document"].as_str())
                .collect();
            if top.contains(&q.expected.as_str()) {
                hits += 1;
            } else {
                eprintln!(
                    "{mode}: {:?} not in the top 3 for {:?}: {top:?}",
                    q.expected, q.question
                );
            }
        }
        let rate = f64::from(hits) / questions.len() as f64;
        eprintln!(
            "top-3 hit rate, {mode}: {hits}/{} = {rate:.3}",
            questions.len()
        );
        rates.push(rate);
    }
    let (keyword, vector, hybrid) = (rates[0], rates[1], rates[2]);
    println!("top-3 hit rate: keyword {keyword:.3}, vector {vector:.3}, hybrid {hybrid:.3}");
    assert!(hybrid >= 0.9, "hybrid {hybrid}");
    assert!(hybrid >= keyword, "hybrid {hybrid} < keyword {keyword}");
    assert!(hybrid >= vector, "hybrid {hybrid} < vector {vector}");
    app.stop().await;
}
