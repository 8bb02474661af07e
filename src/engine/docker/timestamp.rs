//! RFC 3339 timestamps as the daemon writes them (`2024-05-01T12:00:00.123456789Z`), parsed
//! into `SystemTime` without a date crate.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses an RFC 3339 timestamp with an optional fraction and a `Z` or `±hh:mm` offset.
/// Returns `None` for malformed input and for Go's zero time (`0001-01-01T00:00:00Z`), which
/// the daemon uses for "never".
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&s[0..4])?;
    if year < 1970 {
        return None;
    }
    let (month, day) = (digits(&s[5..7])?, digits(&s[8..10])?);
    let (hour, min, sec) = (
        digits(&s[11..13])?,
        digits(&s[14..16])?,
        digits(&s[17..19])?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }

    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let len = frac.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return None;
        }
        for (i, c) in frac[..len].bytes().take(9).enumerate() {
            nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &frac[len..];
    }
    let offset_secs: i64 = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let off = (digits(&rest[1..3])? * 3600 + digits(&rest[4..6])? * 60) as i64;
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };

    let days = days_from_civil(year as i64, month, day);
    let secs = days * 86_400 + (hour * 3600 + min * 60 + sec) as i64 - offset_secs;
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

fn digits(s: &str) -> Option<u32> {
    if s.bytes().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn rejects_zero_time_and_garbage() {
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339(""), None);
        assert_eq!(parse_rfc3339("2024-05-01 garbage"), None);
        assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-05-01T00:00:00."), None);
    }
}
