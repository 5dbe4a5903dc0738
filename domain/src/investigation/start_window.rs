//! When a tenant may start an investigation: at most `limit` starts per `window` (SPEC §4: 5 per
//! 300 s), the rest queued in the order they were requested and started as slots free — never
//! dropped, never started twice.
//!
//! A [`StartWindow`] is small (at most `limit` recent starts and the queue), so the handlers keep
//! one per tenant in a KV entry and change it with compare-and-set: concurrent processes agree on
//! who starts what without a lock.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The limit: `limit` starts per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartLimit {
    pub limit: usize,
    pub window: Duration,
}

impl Default for StartLimit {
    fn default() -> Self {
        Self {
            limit: 5,
            window: Duration::seconds(300),
        }
    }
}

/// One tenant's recent starts and waiting runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartWindow {
    /// Runs started within the window, oldest first.
    pub started: VecDeque<Start>,
    /// Runs waiting for a slot, in the order they were requested.
    pub queue: VecDeque<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Start {
    pub run: Uuid,
    pub at: DateTime<Utc>,
}

/// What became of a request to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Start it now (the slot is taken).
    Start,
    /// Wait; `position` 1 is next.
    Queued { position: usize },
    /// It was started within the window already (a repeated request).
    AlreadyStarted,
}

impl StartWindow {
    /// Asks to start `run` at `now`. Runs queued earlier go first.
    pub fn request(&mut self, run: Uuid, now: DateTime<Utc>, limit: StartLimit) -> Admission {
        self.forget_before(now, limit);
        if self.started.iter().any(|s| s.run == run) {
            return Admission::AlreadyStarted;
        }
        if let Some(index) = self.queue.iter().position(|r| *r == run) {
            return Admission::Queued {
                position: index + 1,
            };
        }
        if self.queue.is_empty() && self.started.len() < limit.limit {
            self.started.push_back(Start { run, at: now });
            return Admission::Start;
        }
        self.queue.push_back(run);
        Admission::Queued {
            position: self.queue.len(),
        }
    }

    /// Takes the queued runs that may start at `now`, in order.
    pub fn release(&mut self, now: DateTime<Utc>, limit: StartLimit) -> Vec<Uuid> {
        self.forget_before(now, limit);
        let mut released = Vec::new();
        while self.started.len() < limit.limit {
            let Some(run) = self.queue.pop_front() else {
                break;
            };
            self.started.push_back(Start { run, at: now });
            released.push(run);
        }
        released
    }

    /// Takes `run` out of the queue (it was cancelled while waiting). Whether it was there.
    pub fn withdraw(&mut self, run: Uuid) -> bool {
        let before = self.queue.len();
        self.queue.retain(|r| *r != run);
        self.queue.len() != before
    }

    /// When the next slot frees, if anything waits for one.
    pub fn next_slot_at(&self, limit: StartLimit) -> Option<DateTime<Utc>> {
        if self.queue.is_empty() {
            return None;
        }
        if self.started.len() < limit.limit {
            return self
                .started
                .back()
                .map(|s| s.at)
                .or(Some(DateTime::UNIX_EPOCH));
        }
        let index = self.started.len() - limit.limit;
        self.started.get(index).map(|s| s.at + limit.window)
    }

    fn forget_before(&mut self, now: DateTime<Utc>, limit: StartLimit) {
        while self
            .started
            .front()
            .is_some_and(|s| s.at + limit.window <= now)
        {
            self.started.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0)
            .single()
            .unwrap_or_default()
    }

    fn run(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn five_start_and_the_rest_wait_in_order() {
        let limit = StartLimit::default();
        let mut window = StartWindow::default();
        for n in 1..=5 {
            assert_eq!(window.request(run(n), t(n as i64), limit), Admission::Start);
        }
        assert_eq!(
            window.request(run(6), t(6), limit),
            Admission::Queued { position: 1 }
        );
        assert_eq!(
            window.request(run(7), t(7), limit),
            Admission::Queued { position: 2 }
        );
        assert_eq!(window.next_slot_at(limit), Some(t(301)));
        assert_eq!(window.release(t(300), limit), Vec::<Uuid>::new());
        assert_eq!(window.release(t(301), limit), vec![run(6)]);
        assert_eq!(window.release(t(400), limit), vec![run(7)]);
        assert!(window.queue.is_empty());
        assert_eq!(window.next_slot_at(limit), None);
    }

    #[test]
    fn a_repeated_request_changes_nothing() {
        let limit = StartLimit {
            limit: 1,
            window: Duration::seconds(60),
        };
        let mut window = StartWindow::default();
        assert_eq!(window.request(run(1), t(0), limit), Admission::Start);
        assert_eq!(
            window.request(run(1), t(1), limit),
            Admission::AlreadyStarted
        );
        assert_eq!(
            window.request(run(2), t(2), limit),
            Admission::Queued { position: 1 }
        );
        assert_eq!(
            window.request(run(2), t(3), limit),
            Admission::Queued { position: 1 }
        );
        assert_eq!(window.queue.len(), 1);
        assert_eq!(window.started.len(), 1);
    }

    #[test]
    fn a_new_request_does_not_jump_the_queue() {
        let limit = StartLimit {
            limit: 1,
            window: Duration::seconds(60),
        };
        let mut window = StartWindow::default();
        window.request(run(1), t(0), limit);
        window.request(run(2), t(1), limit);
        // The slot is free again, but run 2 waited first.
        assert_eq!(
            window.request(run(3), t(61), limit),
            Admission::Queued { position: 2 }
        );
        assert_eq!(window.release(t(61), limit), vec![run(2)]);
    }

    #[test]
    fn a_withdrawn_run_leaves_the_queue() {
        let limit = StartLimit {
            limit: 0,
            window: Duration::seconds(60),
        };
        let mut window = StartWindow::default();
        window.request(run(1), t(0), limit);
        assert!(window.withdraw(run(1)));
        assert!(!window.withdraw(run(1)));
        assert!(window.queue.is_empty());
    }
}
