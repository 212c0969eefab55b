//! Times as the admin API writes and reads them (RFC 3339, UTC out) and its durations
//! (`30d`, `1h30m`).

use std::time::Duration;

use crate::keys::UnixSeconds;

/// `2026-12-31T23:59:59Z`.
pub(crate) fn rfc3339(at: UnixSeconds) -> String {
    match jiff::Timestamp::from_second(at) {
        Ok(t) => t.to_string(),
        // Outside jiff's years -9999..=9999: no store writes such a time.
        Err(_) => String::from(if at < 0 {
            "-009999-01-01T00:00:00Z"
        } else {
            "9999-12-31T23:59:59Z"
        }),
    }
}

/// An RFC 3339 time with its offset, in whole seconds (a fraction is dropped).
pub(crate) fn parse_time(text: &str) -> Result<UnixSeconds, String> {
    // jiff also reads a few ISO 8601 forms; RFC 3339 wants `T` (or `t`, or a space) and
    // an offset, which jiff requires for a timestamp.
    let shaped = text.len() >= 20 && text.is_char_boundary(10) && text.as_bytes()[4] == b'-';
    let parsed = shaped
        .then(|| text.parse::<jiff::Timestamp>().ok())
        .flatten();
    parsed.map(|t| t.as_second()).ok_or_else(|| {
        "not an RFC 3339 date-time with an offset (`2026-12-31T23:59:59Z`)".to_owned()
    })
}

/// The longest duration taken: 100 years.
const MAX_SECONDS: u64 = 100 * 366 * 86_400;

/// `30d`, `12h`, `1h30m`, `0s`: whole numbers, each with a unit `s`, `m`, `h` or `d`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || "not a duration: whole numbers with units s, m, h, d (`30d`, `1h30m`)".to_owned();
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        match c {
            '0'..='9' => {
                let digit = u64::from(c as u8 - b'0');
                let n = number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(digit));
                number = Some(n.ok_or_else(bad)?);
            }
            's' | 'm' | 'h' | 'd' => {
                let unit = match c {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    _ => 86_400,
                };
                let n = number.take().ok_or_else(bad)?;
                let add = n.checked_mul(unit).ok_or_else(bad)?;
                total = total.checked_add(add).ok_or_else(bad)?;
            }
            _ => return Err(bad()),
        }
    }
    if number.is_some() {
        return Err(bad());
    }
    if total > MAX_SECONDS {
        return Err("longer than 100 years".to_owned());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_write_rfc3339() {
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(parse_time("2023-11-15T00:13:20.5+02:00"), Ok(1_700_000_000));
        for bad in [
            "2023-11-14",
            "yesterday",
            "2023-11-14T22:13:20",
            "",
            "1700000000",
        ] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_are_numbers_with_units() {
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        for bad in [
            "",
            "7",
            "d",
            "1x",
            "-1d",
            "1.5h",
            "99999999999999999999d",
            "40000d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
