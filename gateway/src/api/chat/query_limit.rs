//! The query limit: at most N queries per user in any 60 s (a sliding window), counted in a
//! NATS KV bucket so every gateway counts the same queries.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::kv;
use aurora_nats::buckets::memory_bucket;
use chrono::Utc;
use tokio::sync::OnceCell;
use uuid::Uuid;

use super::unavailable;
use crate::api::{ApiError, AppState};

const QUERIES_BUCKET: &str = "chat_queries";
/// The window of the query limit.
const QUERY_WINDOW_MS: i64 = 60_000;
/// Beyond this many users, windows with nothing in the last minute are forgotten.
const WINDOWS_KEPT: usize = 10_000;

/// The limit and what this gateway knows of each user's window.
pub struct QueryLimit {
    queries: OnceCell<kv::Store>,
    /// The last entry of each user's window this gateway read or wrote: the next query tries
    /// its compare-and-set on that revision straight away (one round trip instead of two) and
    /// reads the bucket only when another gateway wrote since.
    windows: std::sync::Mutex<HashMap<Uuid, Window>>,
    /// 0: no limit.
    pub per_minute: u32,
}

/// One user's query times as of a revision of their entry (`None`: no entry yet).
#[derive(Clone)]
struct Window {
    revision: Option<u64>,
    times: Vec<i64>,
}

impl QueryLimit {
    /// At most `per_minute` queries per user in any 60 s.
    pub fn new(per_minute: u32) -> Self {
        Self {
            queries: OnceCell::new(),
            windows: std::sync::Mutex::new(HashMap::new()),
            per_minute,
        }
    }

    fn remembered(&self, user: Uuid) -> Option<Window> {
        self.windows.lock().ok()?.get(&user).cloned()
    }

    fn remember(&self, user: Uuid, window: Window) {
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        if windows.len() >= WINDOWS_KEPT && !windows.contains_key(&user) {
            let since = Utc::now().timestamp_millis() - QUERY_WINDOW_MS;
            windows.retain(|_, w| w.times.iter().any(|t| *t > since));
        }
        windows.insert(user, window);
    }
}

/// The sliding window: the times (ms) of the user's queries in the last minute, with `now`
/// added, or `None` if `limit` of them are already there.
fn admit_at(mut times: Vec<i64>, now: i64, limit: u32) -> Option<Vec<i64>> {
    times.retain(|t| now - t < QUERY_WINDOW_MS);
    if times.len() >= limit as usize {
        return None;
    }
    times.push(now);
    Some(times)
}

/// Counts a query of `user` against the limit, shared by every gateway: `false` when over it.
pub async fn allow_query(state: &AppState, user: Uuid) -> Result<bool, ApiError> {
    let limit = state.chat.limit.per_minute;
    if limit == 0 {
        return Ok(true);
    }
    let store = state
        .chat
        .limit
        .queries
        .get_or_try_init(|| async {
            memory_bucket(
                &state.js,
                QUERIES_BUCKET,
                "Chat queries of each user in the last minute",
                Duration::from_millis(2 * QUERY_WINDOW_MS as u64),
            )
            .await
            .map_err(|e| unavailable(e.to_string()))
        })
        .await?;
    let key = user.simple().to_string();
    // Compare-and-set: two gateways counting at once retry rather than both admit. The first
    // attempt trusts this gateway's last view of the entry; a stale one only fails the write.
    let mut known = state.chat.limit.remembered(user);
    for _ in 0..5 {
        let window = match known.take() {
            Some(window) => window,
            None => {
                let entry = store
                    .entry(key.clone())
                    .await
                    .map_err(|e| unavailable(format!("the query counter is unavailable: {e}")))?;
                Window {
                    revision: entry.as_ref().map(|e| e.revision),
                    times: entry
                        .as_ref()
                        .filter(|e| e.operation == kv::Operation::Put)
                        .and_then(|e| serde_json::from_slice(&e.value).ok())
                        .unwrap_or_default(),
                }
            }
        };
        let Some(times) = admit_at(window.times, Utc::now().timestamp_millis(), limit) else {
            return Ok(false);
        };
        let body = serde_json::to_vec(&times).map_err(|e| anyhow::anyhow!(e))?;
        let written = match window.revision {
            Some(revision) => store.update(&key, body.into(), revision).await.ok(),
            None => store.create(&key, body.into()).await.ok(),
        };
        if let Some(revision) = written {
            state.chat.limit.remember(
                user,
                Window {
                    revision: Some(revision),
                    times,
                },
            );
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_window_admits_five_in_any_sixty_seconds() {
        let mut times = Vec::new();
        for second in 0..5 {
            times = admit_at(times, second * 1000, 5).expect("admitted");
        }
        assert_eq!(
            admit_at(times.clone(), 30_000, 5),
            None,
            "a sixth within the minute"
        );
        assert_eq!(admit_at(times.clone(), 59_999, 5), None);
        // At 60 s the first query leaves the window, and only that one.
        let later = admit_at(times.clone(), 60_000, 5).expect("one slot freed");
        assert_eq!(later, [1000, 2000, 3000, 4000, 60_000]);
        assert_eq!(admit_at(later, 60_500, 5), None);
    }
}
