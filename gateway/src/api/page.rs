//! Pages of a list: how many rows a request may ask for, and the cursor `<time µs>_<id>` of
//! the last row of a full page, from which the next page starts.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ApiError;

/// The page size a request asked for (`default` when it did not), refused outside 1..=`max`.
pub fn limit(asked: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    let limit = asked.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {max}, got {limit}"),
        ));
    }
    Ok(limit)
}

/// The cursor of the page after `items` (a page of `limit` rows ordered by `key`): `None` when
/// the page is not full, so there is no next one.
pub fn next_cursor<T>(
    items: &[T],
    limit: i64,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
) -> Option<String> {
    (items.len() as i64 == limit)
        .then(|| items.last().map(key))
        .flatten()
        .map(|(at, id)| format!("{}_{}", at.timestamp_micros(), id))
}

/// The `(time, id)` a cursor this API returned stands for.
pub fn parse_cursor(text: &str) -> Result<(DateTime<Utc>, Uuid), ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_cursor",
            format!("cursor {text:?} is not one this API returned"),
        )
    };
    let (micros, id) = text.split_once('_').ok_or_else(invalid)?;
    let micros: i64 = micros.parse().map_err(|_| invalid())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_cursor_reads_back_as_the_row_it_was_made_from() {
        let at = DateTime::from_timestamp_micros(1_800_000_000_123_456).unwrap();
        let id = Uuid::from_u128(7);
        let rows = [(at, id)];
        let cursor = next_cursor(&rows, 1, |row| *row).unwrap();
        assert_eq!(parse_cursor(&cursor).unwrap(), (at, id));
        assert_eq!(next_cursor(&rows, 2, |row| *row), None, "a page not full");
        assert!(parse_cursor("12_not-a-uuid").is_err());
    }

    #[test]
    fn a_limit_outside_its_range_is_refused() {
        assert_eq!(limit(None, 50, 200).unwrap(), 50);
        assert_eq!(limit(Some(200), 50, 200).unwrap(), 200);
        assert!(limit(Some(0), 50, 200).is_err());
        assert!(limit(Some(201), 50, 200).is_err());
    }
}
