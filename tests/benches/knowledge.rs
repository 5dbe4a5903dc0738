//! `make bench`: the knowledge base and embeddings (issue 18), written to `BENCHMARKS.md`
//! (section `knowledge`).
//!
//! - **Embeddings per second** with the in-process all-MiniLM-L6-v2, one text per call and 32 per
//!   call, through `Embedder::embed` (off the async workers); the ceiling of the same run is the
//!   model itself called directly (`MiniLm::embed`, 32 per call, on this thread).
//! - **Search** over 10 000 chunks of one tenant (100 documents of 100 chunks, made from the
//!   committed runbooks' real chunks and vectors, each document a numbered copy), the committed
//!   questions asked in turn: hybrid, keyword and vector, p50/p99, as the route runs it
//!   (`KnowledgeBase::search`, limit 5); the ceiling is one chunk read by primary key in the
//!   same kind of tenant-scoped transaction.
//! - **Correlation's decision** for one alert against 50 open incidents with titles compared by
//!   their embeddings (the new title embedded, the incidents' cached, as live) and by word
//!   overlap, p50/p99.
//!
//! `BENCH_KB_QUERIES` (default 300), `BENCH_KB_TEXTS` (default 256).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use aurora_domain::correlation::{CorrelatorSnapshot, PendingAlert, ServiceGraph};
use aurora_domain::knowledge::chunking;
use aurora_domain::TenantId;
use aurora_handlers::embeddings::{Embedder, MiniLm};
use aurora_handlers::knowledge::process::to_bytes;
use aurora_handlers::knowledge::{KnowledgeBase, KnowledgeConfig, SearchMode};
use aurora_projections::queries;
use aurora_tests::bench::{env_usize, ms, p50_p99};
use aurora_tests::embeddings::{embedder, model_dir};
use aurora_tests::TestApp;
use chrono::{TimeDelta, Utc};
use sqlx::PgPool;
use uuid::Uuid;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/knowledge");
const DOCUMENTS: usize = 100;
const CHUNKS_PER_DOCUMENT: usize = 100;
const BATCH: usize = 32;

/// `n` distinct alert-title-like texts.
fn texts(n: usize) -> Vec<String> {
    let what = [
        "latency high",
        "error rate above 5%",
        "pods restarting",
        "disk 90% full",
        "queue backlog growing",
        "certificate expiring",
    ];
    (0..n)
        .map(|i| {
            format!(
                "{} on service-{i} in eu-west-{}",
                what[i % what.len()],
                i % 3
            )
        })
        .collect()
}

struct Rates {
    single: f64,
    batch: f64,
    raw_batch: f64,
}

async fn rates(model: &Embedder, n: usize) -> Rates {
    let all = texts(n);
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    model.embed(&refs[..BATCH]).await.expect("warm up");
    let started = Instant::now();
    for text in &refs {
        model.embed(&[text]).await.expect("embeds");
    }
    let single = n as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for batch in refs.chunks(BATCH) {
        model.embed(batch).await.expect("embeds");
    }
    let batch = n as f64 / started.elapsed().as_secs_f64();
    let raw = MiniLm::load(&model_dir()).expect("the model loads");
    let started = Instant::now();
    for batch in refs.chunks(BATCH) {
        raw.embed(batch).expect("embeds");
    }
    let raw_batch = n as f64 / started.elapsed().as_secs_f64();
    Rates {
        single,
        batch,
        raw_batch,
    }
}

/// The runbooks' chunks with their vectors.
async fn corpus_chunks(model: &Embedder) -> Vec<(chunking::Chunk, Vec<u8>)> {
    let mut paths: Vec<_> = std::fs::read_dir(format!("{FIXTURES}/runbooks"))
        .expect("the runbooks")
        .map(|e| e.expect("an entry").path())
        .collect();
    paths.sort();
    let mut chunks = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("a runbook");
        chunks.extend(chunking::chunk(&text));
    }
    let embedded: Vec<String> = chunks
        .iter()
        .map(|c| match &c.heading {
            Some(h) => format!("{h}\n{}", c.text),
            None => c.text.clone(),
        })
        .collect();
    let refs: Vec<&str> = embedded.iter().map(String::as_str).collect();
    let vectors = model.embed(&refs).await.expect("embeds");
    chunks
        .into_iter()
        .zip(vectors)
        .map(|(c, v)| (c, to_bytes(&v)))
        .collect()
}

/// 100 documents of 100 chunks each, the corpus's chunks in turn, each document's text marked
/// with its number.
async fn seed(pool: &PgPool, tenant: &str, base: &[(chunking::Chunk, Vec<u8>)]) {
    for d in 0..DOCUMENTS {
        let id = Uuid::new_v4();
        let now = Utc::now();
        sqlx::query(
            "INSERT INTO knowledge_documents (tenant_id, id, filename, kind, size_bytes, object_key,
                 status, reason, chunks, characters, embedding_model, uploaded_by, deleted,
                 created_at, updated_at, processing_since, last_sequence, state)
             VALUES ($1, $2, $3, 'markdown', 150000, $4, 'ready', NULL, $5, 150000, 'bench',
                 'bench', false, $6, $6, NULL, 1, '{}')",
        )
        .bind(tenant)
        .bind(id)
        .bind(format!("runbooks-{d:03}.md"))
        .bind(format!("{tenant}/knowledge/{id}"))
        .bind(CHUNKS_PER_DOCUMENT as i32)
        .bind(now)
        .execute(pool)
        .await
        .expect("a document");
        let picked: Vec<&(chunking::Chunk, Vec<u8>)> = (0..CHUNKS_PER_DOCUMENT)
            .map(|o| &base[(d * CHUNKS_PER_DOCUMENT + o) % base.len()])
            .collect();
        let ordinals: Vec<i32> = (0..CHUNKS_PER_DOCUMENT as i32).collect();
        let headings: Vec<Option<String>> = picked.iter().map(|(c, _)| c.heading.clone()).collect();
        let texts: Vec<String> = picked
            .iter()
            .map(|(c, _)| format!("{} (Copy {d}.)", c.text))
            .collect();
        let vectors: Vec<Vec<u8>> = picked.iter().map(|(_, v)| v.clone()).collect();
        sqlx::query(
            "INSERT INTO knowledge_chunks (tenant_id, document_id, ordinal, heading, text, embedding)
             SELECT $1, $2, * FROM unnest($3::integer[], $4::text[], $5::text[], $6::bytea[])",
        )
        .bind(tenant)
        .bind(id)
        .bind(ordinals)
        .bind(headings)
        .bind(texts)
        .bind(vectors)
        .execute(pool)
        .await
        .expect("the chunks");
    }
    for table in ["knowledge_chunks", "knowledge_documents"] {
        sqlx::query(&format!("ANALYZE {table}"))
            .execute(pool)
            .await
            .expect("analyze");
    }
}

#[derive(serde::Deserialize)]
struct Question {
    question: String,
}

async fn searches(
    kb: &KnowledgeBase,
    pool: &PgPool,
    tenant: &TenantId,
    n: usize,
) -> Vec<(&'static str, (f64, f64))> {
    let questions: Vec<Question> = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/questions.json")).expect("the questions"),
    )
    .expect("they parse");
    let mut rows = Vec::new();
    for (name, mode) in [
        ("hybrid", SearchMode::Hybrid),
        ("keyword", SearchMode::Keyword),
        ("vector", SearchMode::Vector),
    ] {
        let mut times = Vec::with_capacity(n);
        for i in 0..n + 10 {
            let q = &questions[i % questions.len()].question;
            let started = Instant::now();
            let hits = kb
                .search(pool, tenant, q, 5, mode)
                .await
                .expect("a search")
                .hits;
            if i >= 10 {
                times.push(ms(started.elapsed()));
            }
            assert!(!hits.is_empty() || mode == SearchMode::Keyword);
        }
        rows.push((name, p50_p99(times)));
    }
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        let mut tx = queries::scoped(pool, tenant.as_str()).await.expect("tx");
        let found: Option<String> = sqlx::query_scalar(
            "SELECT text FROM knowledge_chunks WHERE tenant_id = $1 AND document_id = (SELECT id FROM knowledge_documents WHERE tenant_id = $1 ORDER BY id LIMIT 1) AND ordinal = $2",
        )
        .bind(tenant.as_str())
        .bind((i % CHUNKS_PER_DOCUMENT) as i32)
        .fetch_optional(&mut *tx)
        .await
        .expect("a read");
        tx.commit().await.expect("commit");
        times.push(ms(started.elapsed()));
        assert!(found.is_some());
    }
    rows.push(("one chunk by key (ceiling)", p50_p99(times)));
    rows
}

/// One alert decided against 50 open incidents, titles by embeddings (the new title embedded,
/// the incidents' cached) or by word overlap.
async fn decisions(model: &Embedder, n: usize) -> ((f64, f64), (f64, f64)) {
    let at = Utc::now();
    let titles = texts(n + 50);
    let alert = |i: usize, service: &str| PendingAlert {
        inbox_sequence: i as u64,
        index: 0,
        alert_id: format!("a-{i}"),
        fingerprint: format!("fp-{i}"),
        title: titles[i].clone(),
        service: service.to_owned(),
        received_at: at + TimeDelta::milliseconds(i as i64),
        integration_id: None,
        placement: Default::default(),
    };
    let graph = ServiceGraph::new();
    let mut open = CorrelatorSnapshot::default();
    open.settings.threshold = 1.0;
    open.decide_all(
        "bench",
        (0..50).map(|i| alert(i, &format!("svc-{i}"))).collect(),
        &graph,
    );
    open.settings = Default::default();
    let cached: Vec<&str> = open.candidates.iter().map(|c| c.title.as_str()).collect();
    model
        .embed_cached(&cached)
        .await
        .expect("the incidents' titles");
    let (mut by_embeddings, mut by_words) = (Vec::new(), Vec::new());
    for i in 50..50 + n {
        let one = alert(i, "svc-new");
        let mut snapshot = open.clone();
        let started = Instant::now();
        let wanted: Vec<&str> = std::iter::once(one.title.as_str())
            .chain(snapshot.candidates.iter().map(|c| c.title.as_str()))
            .collect();
        let vectors: HashMap<String, Arc<[f32]>> =
            model.embed_cached(&wanted).await.expect("embeds");
        let decided =
            snapshot.decide_all_with_titles("bench", vec![one.clone()], &graph, |a, b| {
                Some(
                    aurora_domain::vector::cosine(vectors.get(a)?, vectors.get(b)?).clamp(0.0, 1.0),
                )
            });
        by_embeddings.push(ms(started.elapsed()));
        assert_eq!(decided.len(), 1);
        let mut snapshot = open.clone();
        let started = Instant::now();
        let decided = snapshot.decide_all("bench", vec![one], &graph);
        by_words.push(ms(started.elapsed()));
        assert_eq!(decided.len(), 1);
    }
    (p50_p99(by_embeddings), p50_p99(by_words))
}

#[tokio::main]
async fn main() {
    aurora_tests::init_logs();
    let n = env_usize("BENCH_KB_QUERIES", 300);
    let text_count = env_usize("BENCH_KB_TEXTS", 256);
    let load_before = aurora_tests::bench::load_average();
    let model = embedder();
    let r = rates(&model, text_count).await;
    println!(
        "embeddings: single {:.1}/s, batch of {BATCH} {:.1}/s, raw model batch {:.1}/s",
        r.single, r.batch, r.raw_batch
    );
    let (with, without) = decisions(&model, n).await;
    println!(
        "decision by embeddings p50 {:.3} p99 {:.3} ms; by words p50 {:.3} p99 {:.3} ms",
        with.0, with.1, without.0, without.1
    );
    let app = TestApp::spawn().await;
    let pool = app.db.pool.clone();
    let tenant = TenantId::parse("bench-kb").expect("a tenant");
    let base = corpus_chunks(&model).await;
    seed(&pool, tenant.as_str(), &base).await;
    let objects = tempfile::tempdir().expect("a dir");
    let kb = KnowledgeBase::open(
        aurora_nats::EventLog::new(app.nats.client.clone()),
        KnowledgeConfig::local(objects.path().to_owned()),
        Some(model.clone()),
    )
    .expect("the knowledge base");
    let rows = searches(&kb, &pool, &tenant, n).await;
    for (name, (p50, p99)) in &rows {
        println!("search {name}: p50 {p50:.2} ms p99 {p99:.2} ms");
    }
    app.stop().await;
    let load_after = aurora_tests::bench::load_average();
    println!("load average {load_before} → {load_after}");

    let ceiling = rows.last().map(|(_, t)| t.0).unwrap_or(f64::NAN);
    let mut out = String::new();
    writeln!(out, "## Knowledge base and embeddings (issue 18)\n").ok();
    writeln!(out, "Written by `make bench` (`tests/benches/knowledge.rs`) on {}: {}; load average {} at the start, {} at the end (the machine is shared).\n", Utc::now().format("%Y-%m-%d %H:%M UTC"), aurora_tests::bench::machine(), load_before, load_after).ok();
    writeln!(out, "Embeddings with the in-process all-MiniLM-L6-v2 ({text_count} short texts): **{:.1} texts/s one per call**, **{:.1} texts/s {BATCH} per call** through `Embedder::embed` (inference off the async workers); the same run's ceiling, the model called directly {BATCH} per call: {:.1} texts/s (the embedder reaches {:.0} % of it).\n", r.single, r.batch, r.raw_batch, 100.0 * r.batch / r.raw_batch).ok();
    writeln!(out, "Search over {} chunks of one tenant ({DOCUMENTS} documents of {CHUNKS_PER_DOCUMENT}, made from the committed runbooks' {} real chunks and vectors), the {n} searches cycling through the committed questions, limit 5, as the route runs them; the ceiling is one chunk read by key in the same kind of tenant-scoped transaction:\n", DOCUMENTS * CHUNKS_PER_DOCUMENT, base.len()).ok();
    writeln!(
        out,
        "| search | p50 | p99 | × ceiling (p50) |\n|---|---|---|---|"
    )
    .ok();
    for (name, (p50, p99)) in &rows {
        writeln!(
            out,
            "| {name} | {p50:.2} ms | {p99:.2} ms | {:.1}× |",
            p50 / ceiling
        )
        .ok();
    }
    writeln!(out, "\nCorrelation's decision for one alert against 50 open incidents ({n} decisions): titles by embeddings (the new title embedded, the incidents' from the cache) p50 {:.3} ms / p99 {:.3} ms; by word overlap p50 {:.3} ms / p99 {:.3} ms.", with.0, with.1, without.0, without.1).ok();
    aurora_tests::bench::write_section("knowledge", &out);
}
