//! Embeddings: the in-process all-MiniLM-L6-v2 against sentence-transformers' own vectors, and
//! correlation comparing titles by them.

mod correlation;
mod dry_run;
mod endpoint;
mod similar;

use aurora_domain::vector::cosine;
use aurora_tests::embeddings::embedder;
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    max_seq_length: usize,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    vector: Vec<f32>,
}

/// `tests/fixtures/embeddings/reference.json`, made by `reference.py` beside it with
/// sentence-transformers from the same model files.
fn reference() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/embeddings/reference.json"
    );
    serde_json::from_slice(&std::fs::read(path).expect("the reference vectors"))
        .expect("they parse")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_process_model_matches_sentence_transformers_to_1e_4_cosine() {
    let reference = reference();
    assert_eq!(reference.max_seq_length, 256);
    let texts: Vec<&str> = reference.cases.iter().map(|c| c.text.as_str()).collect();
    let batch = embedder().embed(&texts).await.expect("embeds");
    assert_eq!(batch.len(), reference.cases.len());
    for (case, mine) in reference.cases.iter().zip(&batch) {
        assert_eq!(mine.len(), 384, "{:?}", case.text);
        let agreement = cosine(mine, &case.vector);
        assert!(
            agreement >= 1.0 - 1e-4,
            "{:?}: cosine with sentence-transformers {agreement}",
            case.text
        );
        let norm = mine
            .iter()
            .map(|x| f64::from(*x).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "unit length, got {norm}");
    }
    // A text embeds the same alone as padded in a batch with longer ones.
    for (case, in_batch) in reference.cases.iter().zip(&batch).take(3) {
        let alone = embedder().embed(&[&case.text]).await.expect("embeds");
        assert!(cosine(&alone[0], in_batch) >= 1.0 - 1e-6, "{:?}", case.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn related_titles_are_closer_than_unrelated_ones() {
    let v = embedder()
        .embed(&[
            "High CPU usage on checkout-api",
            "checkout-api processor saturated",
            "TLS certificate expires in 3 days",
        ])
        .await
        .expect("embeds");
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2);
}
