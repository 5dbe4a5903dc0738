//! The graph's pure rules: when a node turns stale and when it goes, how deep a query may look.

use chrono::{DateTime, TimeDelta, Utc};

/// A node no sighting touched for this long is stale (SPEC §8).
pub const STALE_AFTER: TimeDelta = TimeDelta::days(7);
/// A node stale for this long is removed.
pub const REMOVE_AFTER: TimeDelta = TimeDelta::days(30);
/// A sighting this soon after the last one records nothing: hourly discovery and a stream of
/// alerts on one service would otherwise write an event each, while staleness counts in days.
pub const SEEN_GRANULARITY: TimeDelta = TimeDelta::minutes(15);
/// The deepest a neighbourhood or a topology score looks (SPEC §2, §8).
pub const MAX_DEPTH: u32 = 3;

/// Whether a node last seen at `last_seen` is stale at `now`.
pub fn stale_due(last_seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - last_seen >= STALE_AFTER
}

/// Whether a node stale since `stale_since` is to be removed at `now`.
pub fn removal_due(stale_since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - stale_since >= REMOVE_AFTER
}

/// A query depth from 1 to [`MAX_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depth(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("depth must be from 1 to {MAX_DEPTH}, got {0}")]
pub struct DepthError(pub i64);

impl Depth {
    pub const MAX: Depth = Depth(MAX_DEPTH);

    pub fn parse(value: i64) -> Result<Self, DepthError> {
        u32::try_from(value)
            .ok()
            .filter(|d| (1..=MAX_DEPTH).contains(d))
            .map(Self)
            .ok_or(DepthError(value))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Whether `value` is a confidence (a finite ratio from 0 to 1).
pub fn valid_confidence(value: f64) -> bool {
    value.is_finite() && (0.0..=1.0).contains(&value)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0)
            .single()
            .expect("a valid date")
    }

    #[test]
    fn a_node_is_stale_from_seven_days_unseen() {
        assert!(!stale_due(day(1), day(7)));
        assert!(!stale_due(day(1), day(8) - TimeDelta::seconds(1)));
        assert!(stale_due(day(1), day(8)));
    }

    #[test]
    fn a_stale_node_goes_after_thirty_days() {
        assert!(!removal_due(day(1), day(30)));
        assert!(removal_due(day(1), day(31)));
    }

    #[test]
    fn depth_is_one_to_three() {
        assert_eq!(Depth::parse(1).map(Depth::get), Ok(1));
        assert_eq!(Depth::parse(3).map(Depth::get), Ok(3));
        assert_eq!(Depth::parse(0), Err(DepthError(0)));
        assert_eq!(Depth::parse(4), Err(DepthError(4)));
        assert_eq!(Depth::parse(-1), Err(DepthError(-1)));
    }

    #[test]
    fn confidence_is_a_finite_ratio() {
        assert!(valid_confidence(0.0) && valid_confidence(1.0) && valid_confidence(0.5));
        assert!(!valid_confidence(1.01) && !valid_confidence(-0.1) && !valid_confidence(f64::NAN));
    }
}
