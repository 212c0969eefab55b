//! Dates and times in UTC, through jiff.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use keygate::keys::UnixSeconds;

/// `2026-11-23T14:10:00Z`; the raw seconds for an instant outside jiff's range.
pub(crate) fn rfc3339(at: UnixSeconds) -> String {
    Timestamp::from_second(at).map_or_else(|_| format!("@{at}"), |t| t.to_string())
}

/// The first second after the day `YYYY-MM-DD` (UTC); `None` unless it is a real date.
pub(crate) fn end_of_date(text: &str) -> Option<UnixSeconds> {
    let digits_at = |range: std::ops::Range<usize>| {
        text.get(range)
            .is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
    };
    // jiff also reads other ISO 8601 spellings; the CLI documents only this one.
    if text.len() != 10 || !digits_at(0..4) || !digits_at(5..7) || !digits_at(8..10) {
        return None;
    }
    let next_day = text.parse::<Date>().ok()?.tomorrow().ok()?;
    Some(
        next_day
            .to_zoned(TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_second(),
    )
}

/// The first second of the day `YYYY-MM-DD` (UTC); `None` unless it is a real date.
pub(crate) fn start_of_date(text: &str) -> Option<UnixSeconds> {
    // Unix time has no leap seconds: every day is 86 400 of them.
    end_of_date(text).map(|end| end - 86_400)
}

/// An RFC 3339 time with its offset (`2026-12-31T18:00:00Z`, `..+02:00`).
pub(crate) fn parse_rfc3339(text: &str) -> Option<UnixSeconds> {
    text.parse::<Timestamp>().ok().map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_443_000), "2026-11-23T14:10:00Z");
        assert_eq!(rfc3339(951_782_400 + 86_399), "2000-02-29T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn dates_parse_only_when_real() {
        assert_eq!(end_of_date("2024-02-29"), Some(1_709_251_200));
        assert_eq!(end_of_date("1970-01-01"), Some(86_400));
        assert_eq!(end_of_date("1969-12-31"), Some(0));
        for bad in [
            "2023-02-29",
            "2100-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-4-1",
            "26-04-01",
            "2026-04-01x",
            "2026/04/01",
            "",
            "never",
            "+202-04-01",
            "20260401",
        ] {
            assert_eq!(end_of_date(bad), None, "{bad}");
        }
        assert!(end_of_date("2000-02-29").is_some());
        assert_eq!(start_of_date("1970-01-02"), Some(86_400));
        assert_eq!(start_of_date("1970-02-30"), None);
    }

    #[test]
    fn rfc3339_times_parse_with_their_offset() {
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00Z"), Some(1_704_067_200));
        assert_eq!(
            parse_rfc3339("2024-01-01T02:00:00+02:00"),
            Some(1_704_067_200)
        );
        assert_eq!(parse_rfc3339("2024-01-01"), None);
        assert_eq!(parse_rfc3339("soon"), None);
    }
}
