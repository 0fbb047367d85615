//! Paging, one policy for every list in the shop (gRPC and REST alike): a `limit` of 1..=100 (20 when zero), and
//! an opaque keyset cursor naming the last row shown by its time and id, so rows added meanwhile never shift a page
//! (newest-first lists never repeat or skip a row). Lists with another sort key (search) keep their own cursor but
//! the same limit.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{ServiceError, ServiceResult};

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// The page size asked for: 0 means the default; anything outside 1..=100 is refused.
pub fn limit(asked: i32) -> ServiceResult<i64> {
    match i64::from(asked) {
        0 => Ok(DEFAULT_LIMIT),
        n if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ServiceError::invalid(
            "limit",
            format!("limit must be 1 to {MAX_LIMIT}"),
        )),
    }
}

/// Where the previous page ended: the last row's time (ms) and id. Rows sort by (time, id) descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at_ms: i64,
    pub id: String,
}

impl Cursor {
    /// The position before every row: the first page.
    pub fn start() -> Self {
        Self {
            at_ms: i64::MAX,
            id: String::new(),
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.at_ms, self.id))
    }

    /// The cursor a client sent back; empty means the first page. Anything not made by [`Cursor::encode`] is a
    /// clear `cursor` error.
    pub fn decode(cursor: &str) -> ServiceResult<Self> {
        if cursor.is_empty() {
            return Ok(Self::start());
        }
        let bad = || ServiceError::invalid("cursor", "cursor is not one this list returned");
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let (at_ms, id) = raw.split_once(':').ok_or_else(bad)?;
        Ok(Self {
            at_ms: at_ms.parse().map_err(|_| bad())?,
            id: id.to_owned(),
        })
    }
}

/// Cuts `rows` (fetched with `LIMIT limit + 1`) to one page and returns the next page's cursor, empty when
/// this page is the last. `key` gives a row's (time, id).
pub fn finish<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> (i64, String),
) -> (Vec<T>, String) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() <= limit {
        return (rows, String::new());
    }
    rows.truncate(limit);
    let next = rows
        .last()
        .map(|row| {
            let (at_ms, id) = key(row);
            Cursor { at_ms, id }.encode()
        })
        .unwrap_or_default();
    (rows, next)
}

/// `$start, $start+1, ...` for `n` values of an `IN (...)` list.
pub fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_junk() {
        let cursor = Cursor {
            at_ms: 1_700_000_000_123,
            id: "pst_01:x".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert_eq!(Cursor::decode("").unwrap(), Cursor::start());
        assert!(Cursor::decode("not a cursor!").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("nocolon")).is_err());
    }

    #[test]
    fn limits_and_pages() {
        assert_eq!(limit(0).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(100).unwrap(), 100);
        assert!(limit(101).is_err());
        assert!(limit(-1).is_err());
        let (rows, next) = finish(vec![(3, "c"), (2, "b"), (1, "a")], 2, |r| (r.0, r.1.into()));
        assert_eq!(rows.len(), 2);
        assert_eq!(Cursor::decode(&next).unwrap().id, "b");
        let (_, last) = finish(vec![(1, "a")], 2, |r| (r.0, r.1.into()));
        assert!(last.is_empty());
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
    }
}
