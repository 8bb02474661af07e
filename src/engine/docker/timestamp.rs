//! RFC 3339 timestamps: the daemon's (`2024-05-01T12:00:00.123456789Z`) parsed into
//! `SystemTime`, and the reports' written, through the `time` crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 timestamp with an optional fraction and a `Z` or `±hh:mm` offset.
/// Returns `None` for malformed input and for Go's zero time (`0001-01-01T00:00:00Z`), which
/// the daemon uses for "never", and for any moment before 1970.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(s, &Rfc3339).ok()?;
    let nanos = u128::try_from(t.unix_timestamp_nanos()).ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).ok()?))
}

/// A moment as RFC 3339 in UTC, to the second: `2026-11-18T11:06:40Z`.
pub fn format_rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::new(secs, nanos))
    }

    #[test]
    fn parses_utc_with_nanos() {
        assert_eq!(
            parse_rfc3339("2024-05-01T12:00:00.123456789Z"),
            at(1_714_564_800, 123_456_789)
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), at(0, 0));
        assert_eq!(
            parse_rfc3339("2000-02-29T23:59:59.5Z"),
            at(951_868_799, 500_000_000)
        );
    }

    #[test]
    fn short_fractions_sort_correctly() {
        // RFC3339Nano trims trailing zeros; ".1" must be earlier than ".12".
        let a = parse_rfc3339("2024-05-01T12:00:00.1Z").unwrap();
        let b = parse_rfc3339("2024-05-01T12:00:00.12Z").unwrap();
        assert!(a < b);
    }

    #[test]
    fn applies_offsets() {
        assert_eq!(
            parse_rfc3339("2024-05-01T14:00:00+02:00"),
            parse_rfc3339("2024-05-01T12:00:00Z")
        );
        assert_eq!(
            parse_rfc3339("2024-05-01T07:00:00.25-05:00"),
            parse_rfc3339("2024-05-01T12:00:00.25Z")
        );
    }

    #[test]
    fn formats_utc_to_the_second() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(format_rfc3339(t), "2026-11-18T11:06:40Z");
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
    }

    #[test]
    fn rejects_zero_time_and_garbage() {
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339(""), None);
        assert_eq!(parse_rfc3339("2024-05-01 garbage"), None);
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-05-01T00:00:00."), None);
    }
}
