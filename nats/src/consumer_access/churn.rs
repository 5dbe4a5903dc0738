//! How often a credential may change its grant. Every create or delete of a consumer of its own
//! that changes the grant costs a reload of the whole server's config, and a moment in which
//! JetStream has no responders for anyone: so a credential may make [`CHANGE_BURST`] such changes
//! at once, then one per [`CHANGE_INTERVAL`] (20 a minute). Requests that change nothing — a
//! client that restarts and asks again for the consumers it has — are never counted, and a
//! refused one counts nothing either (a client retrying at once is let through on time).
//!
//! The pace is kept beside the grant in the bucket and changed in the same compare-and-set as the
//! grant ([`super::Registry::modify`]), so it holds across every Aurora process answering the
//! credential. It is one time, not a list of changes (the generic cell rate algorithm, as rate
//! limiters keep it): when the changes made so far would end were they spread one per interval.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::MAX_OWN_CONSUMERS;

/// Grant changes a credential may make at once: enough for a client to make every consumer it
/// may have, and replace one, without waiting.
pub const CHANGE_BURST: u32 = MAX_OWN_CONSUMERS as u32 + 2;
/// Then one change per this long: 20 a minute.
pub const CHANGE_INTERVAL: Duration = Duration::from_secs(3);

/// The pace of one credential's changes to its grant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Churn {
    /// When the changes made so far would end, were they spread one per [`CHANGE_INTERVAL`] from
    /// the first; `None` before any. At most [`CHANGE_BURST`] − 1 intervals of it may lie ahead
    /// of a change that is let through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    paced_until: Option<DateTime<Utc>>,
}

impl Churn {
    /// Counts one change made at `now`, or, when it would come too soon, leaves everything as it
    /// was and says how long until one is let through.
    pub fn admit(&mut self, now: DateTime<Utc>) -> Result<(), Duration> {
        // A pace behind `now` starts again from `now`: the burst refills, it never grows beyond.
        let paced = self.paced_until.filter(|at| *at > now).unwrap_or(now);
        let allowed_from = paced - INTERVAL * (CHANGE_BURST as i32 - 1);
        if now < allowed_from {
            // A positive difference of two times always converts.
            return Err((allowed_from - now).to_std().unwrap_or(CHANGE_INTERVAL));
        }
        self.paced_until = Some(paced + INTERVAL);
        Ok(())
    }

    /// Whether no change was ever counted (nothing to store).
    pub fn is_fresh(&self) -> bool {
        self.paced_until.is_none()
    }
}

/// [`CHANGE_INTERVAL`] as a difference of times (whole seconds).
const INTERVAL: TimeDelta = TimeDelta::seconds(CHANGE_INTERVAL.as_secs() as i64);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// `millis` after an arbitrary start.
    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + TimeDelta::milliseconds(millis)
    }

    #[test]
    fn a_burst_passes_at_once_then_the_next_waits_one_interval() {
        let mut churn = Churn::default();
        for _ in 0..CHANGE_BURST {
            churn.admit(at(100_000)).unwrap();
        }
        let before = churn;
        assert_eq!(churn.admit(at(100_000)), Err(CHANGE_INTERVAL));
        assert_eq!(churn, before, "a refusal counts nothing");
        assert_eq!(churn.admit(at(101_000)), Err(Duration::from_secs(2)));
        churn.admit(at(103_000)).unwrap();
        assert_eq!(churn.admit(at(103_000)), Err(CHANGE_INTERVAL));
    }

    #[test]
    fn one_change_per_interval_is_never_refused() {
        let mut churn = Churn::default();
        for n in 0..100 {
            churn.admit(at(n * 3_000)).unwrap();
        }
    }

    #[test]
    fn asking_ten_times_a_second_for_a_minute_gets_the_burst_then_one_each_interval() {
        let mut churn = Churn::default();
        let passed: Vec<i64> = (0..600)
            .map(|n| n * 100)
            .filter(|millis| churn.admit(at(*millis)).is_ok())
            .collect();
        let (burst, paced) = passed.split_at(CHANGE_BURST as usize);
        assert_eq!(
            burst,
            (0..CHANGE_BURST.into())
                .map(|n| n * 100)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            paced,
            (1..20).map(|n| n * 3_000).collect::<Vec<_>>(),
            "3 s, 6 s, … 57 s"
        );

        let mut churn = Churn::default();
        churn.admit(at(0)).unwrap();
        let passed = (0..2 * CHANGE_BURST)
            .filter(|_| churn.admit(at(3_600_000)).is_ok())
            .count();
        assert_eq!(
            passed, CHANGE_BURST as usize,
            "an hour later: the burst, no more"
        );
    }

    #[test]
    fn a_clock_behind_the_last_changes_waits_the_difference_too() {
        // Another Aurora process answered last, its clock a second ahead of this one's.
        let mut churn = Churn::default();
        for _ in 0..CHANGE_BURST {
            churn.admit(at(101_000)).unwrap();
        }
        assert_eq!(
            churn.admit(at(100_000)),
            Err(CHANGE_INTERVAL + Duration::from_secs(1))
        );
    }
}
