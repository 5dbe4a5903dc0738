//! Scraping `/metrics` as Prometheus would: the text is parsed by a grammar of the Prometheus text
//! format (`prom_text_format_parser`, which also reads label values holding `{…}` such as route
//! templates), and series are found by name and exact label set.

use std::time::{Duration, Instant};

use prom_text_format_parser::{Sample, Scrape, ValueType};

/// One scrape of a `/metrics` endpoint.
pub struct Scraped(Scrape);

/// Scrapes `url` (a whole `/metrics` URL); panics unless it answers 200 in the text format.
pub async fn scrape(http: &reqwest::Client, url: &str) -> Scraped {
    let response = http.get(url).send().await.expect("/metrics answers");
    assert_eq!(response.status(), 200, "/metrics answers 200");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "the Prometheus text format, not {content_type:?}"
    );
    let text = response.text().await.expect("a body");
    Scraped(Scrape::parse(&text).unwrap_or_else(|e| panic!("the exposition parses: {e:?}")))
}

/// Whether `sample` has exactly `labels`.
fn labelled(sample: &Sample, labels: &[(&str, &str)]) -> bool {
    sample.labels.len() == labels.len()
        && labels
            .iter()
            .all(|(k, v)| sample.labels.iter().any(|l| l.key == *k && l.value == *v))
}

impl Scraped {
    /// The samples a name means: `X` a counter's or gauge's own (or a histogram's buckets),
    /// `X_sum` and `X_count` a histogram's sum and count.
    fn named(&self, name: &str) -> Vec<&Sample> {
        let mut found = Vec::new();
        for metric in &self.0.metrics {
            let kind = if metric.name == name {
                ValueType::Sample
            } else if name.strip_suffix("_sum") == Some(metric.name.as_str()) {
                ValueType::Sum
            } else if name.strip_suffix("_count") == Some(metric.name.as_str()) {
                ValueType::Count
            } else {
                continue;
            };
            found.extend(metric.samples.iter().filter(|s| s.value.value_type == kind));
        }
        found
    }

    /// The value of the series `name` with exactly `labels`. Panics, naming it and the series of
    /// that name there are, when there is no such series: a misspelt name or label, or a series
    /// never recorded, must not read as 0 (and make "moved by 0" hold trivially).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value_if_present(name, labels).unwrap_or_else(|| {
            panic!(
                "no series {name}{labels:?} in the scrape; the series of that name: {:?}",
                self.label_sets(name)
            )
        })
    }

    /// The value of the series `name` with exactly `labels`, or `None` when there is none: for
    /// the rare series that may rightly be absent (a labelled counter appears at its first
    /// increment), or while waiting for one to appear.
    pub fn value_if_present(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.named(name)
            .into_iter()
            .find(|s| labelled(s, labels))
            .map(|s| s.value.value.as_f64())
    }

    /// How much the series moved since `before`. It must be in this scrape; in `before` it may
    /// be absent (then it counts from 0), as a labelled counter is until its first increment.
    pub fn moved_since(&self, before: &Scraped, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels) - before.value_if_present(name, labels).unwrap_or(0.0)
    }

    /// Whether the series exists at all.
    pub fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.value_if_present(name, labels).is_some()
    }

    /// Every metric's name.
    pub fn names(&self) -> Vec<&str> {
        self.0.metrics.iter().map(|m| m.name.as_str()).collect()
    }

    /// The label sets of every series of `name`.
    pub fn label_sets(&self, name: &str) -> Vec<Vec<(String, String)>> {
        self.named(name)
            .into_iter()
            .map(|s| {
                s.labels
                    .iter()
                    .map(|l| (l.key.clone(), l.value.clone()))
                    .collect()
            })
            .collect()
    }
}

/// Scrapes `url` until `done` holds for the scrape (within 20 s), and returns that scrape. For
/// what is counted just after the effect a test can wait for (a projector's series move right
/// after its checkpoint).
pub async fn scrape_until(
    http: &reqwest::Client,
    url: &str,
    done: impl Fn(&Scraped) -> bool,
) -> Scraped {
    let started = Instant::now();
    loop {
        let scraped = scrape(http, url).await;
        if done(&scraped) || started.elapsed() > Duration::from_secs(20) {
            return scraped;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
