//! Hybrid ranking of knowledge-base chunks: keyword and vector scores blended as Weaviate's
//! hybrid search does by default (relative score fusion): each list's scores scaled to `0..=1`
//! by its own minimum and maximum, then `alpha × vector + (1 − alpha) × keyword`, a chunk
//! missing from a list scoring 0 there. Upstream searched with `alpha = 0.5`.

use std::collections::HashMap;
use std::hash::Hash;

/// Upstream's weight of the vector side.
pub const DEFAULT_ALPHA: f64 = 0.5;

/// The best `limit` keys by blended score, highest first (ties: the order of first appearance,
/// vector list first). `alpha` is clamped to `0..=1`; 1 is vector only, 0 keyword only.
pub fn blend<K: Copy + Eq + Hash>(
    keyword: &[(K, f64)],
    vector: &[(K, f64)],
    alpha: f64,
    limit: usize,
) -> Vec<(K, f64)> {
    let alpha = if alpha.is_nan() {
        DEFAULT_ALPHA
    } else {
        alpha.clamp(0.0, 1.0)
    };
    let mut order: Vec<K> = Vec::new();
    let mut scores: HashMap<K, f64> = HashMap::new();
    for (list, weight) in [(vector, alpha), (keyword, 1.0 - alpha)] {
        for (key, scaled) in scaled(list) {
            let entry = scores.entry(key).or_insert_with(|| {
                order.push(key);
                0.0
            });
            *entry += weight * scaled;
        }
    }
    let mut ranked: Vec<(K, f64)> = order.into_iter().map(|k| (k, scores[&k])).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(limit);
    ranked
}

/// Scores scaled to `0..=1` by the list's own range (all 1 when they are equal).
fn scaled<K: Copy>(list: &[(K, f64)]) -> Vec<(K, f64)> {
    let (min, max) = list
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, s)| {
            (lo.min(*s), hi.max(*s))
        });
    let range = max - min;
    list.iter()
        .map(|(k, s)| (*k, if range > 0.0 { (s - min) / range } else { 1.0 }))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_scaled_per_list_and_weighted_by_alpha() {
        let keyword = [("a", 10.0), ("b", 5.0), ("c", 0.0)];
        let vector = [("c", 0.9), ("b", 0.5), ("d", 0.1)];
        let ranked = blend(&keyword, &vector, 0.5, 10);
        let score = |k| ranked.iter().find(|(key, _)| *key == k).map(|(_, s)| *s);
        assert_eq!(score("a"), Some(0.5)); // top keyword, no vector
        assert_eq!(score("c"), Some(0.5)); // top vector, bottom keyword
        assert_eq!(score("b"), Some(0.5 * 0.5 + 0.5 * 0.5));
        assert_eq!(score("d"), Some(0.0));
        assert_eq!(ranked.len(), 4);
    }

    #[test]
    fn alpha_one_is_vector_only_and_zero_keyword_only() {
        let keyword = [("a", 2.0), ("b", 1.0)];
        let vector = [("b", 0.9), ("a", 0.1)];
        assert_eq!(blend(&keyword, &vector, 1.0, 1)[0].0, "b");
        assert_eq!(blend(&keyword, &vector, 0.0, 1)[0].0, "a");
        // A single hit scales to 1.
        assert_eq!(blend(&keyword[..1], &[], 0.5, 5), vec![("a", 0.5)]);
    }

    #[test]
    fn the_limit_keeps_the_best() {
        let vector: Vec<(u32, f64)> = (0..50).map(|i| (i, f64::from(i))).collect();
        let ranked = blend(&[], &vector, 0.5, 3);
        assert_eq!(
            ranked.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            vec![49, 48, 47]
        );
    }
}
