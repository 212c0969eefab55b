//! Pure parsers for `keygate keys` arguments: durations, expiry, methods, overrides.
//! Each returns a message that clap shows after naming the bad value.

use std::collections::BTreeSet;
use std::time::Duration;

use keygate::keys::{Expiry, Metadata, Permissions, UnixSeconds, ANY_METHOD, METADATA_MAX_BYTES};

use super::civil::{end_of_date, parse_rfc3339, start_of_date};

/// The methods a key may be granted: the ones OpenAPI path items can hold.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE",
];

/// A duration in humantime's syntax (`30s`, `15m`, `24h`, `7d`, `1h 30m`).
fn duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    // Keeps `now + duration` within i64 seconds everywhere downstream.
    if duration.as_secs() >= u64::MAX / 4 {
        return Err("too large".to_owned());
    }
    Ok(duration)
}

/// A rotation grace period: `0`, or a duration such as `30s`, `15m`, `24h`, `7d`.
pub(crate) fn parse_grace(text: &str) -> Result<Duration, String> {
    duration(text).map_err(|why| format!("{why} (like 0, 30s, 15m, 24h, 7d)"))
}

/// When a new key expires: `never`, a duration such as `7d` or `12h`, or `YYYY-MM-DD`
/// (the key works through that day, UTC, so it expires at the next midnight). A date
/// whose end is not after `now` is refused.
pub(crate) fn parse_expiry(text: &str, now: UnixSeconds) -> Result<Expiry, String> {
    const HINT: &str = "like 7d, 30d, 90d, 12h, 2026-12-31 or never";
    if text == "never" {
        return Ok(Expiry::Never);
    }
    if text.len() == 10 && text.as_bytes().get(4) == Some(&b'-') {
        let at = end_of_date(text).ok_or_else(|| format!("not a calendar date ({HINT})"))?;
        if at <= now {
            return Err("that date is in the past".to_owned());
        }
        return Ok(Expiry::At(at));
    }
    let duration = duration(text).map_err(|why| format!("{why} ({HINT})"))?;
    if duration.is_zero() {
        return Err(format!("a key that expires at once is useless ({HINT})"));
    }
    Ok(Expiry::In(duration))
}

/// `update --expires-in`: a duration from now, not zero.
pub(crate) fn parse_expires_in(text: &str) -> Result<Duration, String> {
    const HINT: &str = "like 7d, 30d, 12h or 1h 30m";
    let duration = duration(text).map_err(|why| format!("{why} ({HINT})"))?;
    if duration.is_zero() {
        return Err(format!(
            "a key that expires at once is useless; `disable` or `revoke` it ({HINT})"
        ));
    }
    Ok(duration)
}

/// `update --expires-at`: `YYYY-MM-DD` (through that day, UTC) or an RFC 3339 time,
/// after `now`.
pub(crate) fn parse_expires_at(text: &str, now: UnixSeconds) -> Result<UnixSeconds, String> {
    let at = end_of_date(text)
        .or_else(|| parse_rfc3339(text))
        .ok_or("expected YYYY-MM-DD or an RFC 3339 time like 2026-12-31T18:00:00Z")?;
    if at <= now {
        return Err("that time is in the past; `disable` or `revoke` the key instead".into());
    }
    Ok(at)
}

/// Which way a duration counts from now in [`parse_time`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Toward {
    /// `30d` is 30 days from now (`list --expiring-before`).
    Future,
    /// `24h` is 24 hours ago (`audit --since`).
    Past,
}

/// A moment: an RFC 3339 time, `YYYY-MM-DD` (the start of that day, UTC), or a duration
/// from now in the direction `toward`.
pub(crate) fn parse_time(
    text: &str,
    now: UnixSeconds,
    toward: Toward,
) -> Result<UnixSeconds, String> {
    if let Some(at) = start_of_date(text).or_else(|| parse_rfc3339(text)) {
        return Ok(at);
    }
    let hint = match toward {
        Toward::Future => "like 30d (from now), 2026-12-31 or 2026-12-31T18:00:00Z",
        Toward::Past => "like 24h (ago), 2026-12-31 or 2026-12-31T18:00:00Z",
    };
    let span = duration(text).map_err(|why| format!("{why} ({hint})"))?;
    let span = i64::try_from(span.as_secs()).unwrap_or(i64::MAX);
    Ok(match toward {
        Toward::Future => now.saturating_add(span),
        Toward::Past => now.saturating_sub(span),
    })
}

/// `--metadata`: a JSON object of at most [`METADATA_MAX_BYTES`] as compact JSON.
pub(crate) fn parse_metadata(text: &str) -> Result<Metadata, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let kind = match &value {
        serde_json::Value::Object(_) => "object",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Null => "null",
    };
    let serde_json::Value::Object(metadata) = value else {
        return Err(format!(
            "expected a JSON object like '{{\"team\":\"web\"}}', not {kind}"
        ));
    };
    let size = serde_json::to_string(&metadata).map_or(usize::MAX, |t| t.len());
    if size > METADATA_MAX_BYTES {
        return Err(format!(
            "{size} bytes as JSON, more than the {METADATA_MAX_BYTES} allowed"
        ));
    }
    Ok(metadata)
}

/// `GET,POST` (any case) into upper-case method names; `*` stands for every method and
/// absorbs the rest. An empty list is refused: `--methods` always grants something.
pub(crate) fn parse_methods(text: &str) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    for item in text.split(',') {
        let method = item.trim().to_ascii_uppercase();
        if method.is_empty() {
            return Err("empty method name (write methods like GET,POST)".to_owned());
        }
        if method != ANY_METHOD && !METHODS.contains(&method.as_str()) {
            return Err(format!(
                "unknown method `{}` (known: {}, or * for all)",
                item.trim(),
                METHODS.join(", ")
            ));
        }
        out.insert(method);
    }
    if out.contains(ANY_METHOD) {
        out = BTreeSet::from([ANY_METHOD.to_owned()]);
    }
    Ok(out)
}

/// One `--op OPERATION=METHODS`: these methods replace the key's default on that
/// operation; no methods deny it. The operation is named as written (an operationId, a
/// generated type name, or `METHOD /path`) until `--spec` resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpOverride {
    pub(crate) name: String,
    pub(crate) methods: BTreeSet<String>,
}

/// Parses `createPet=POST,GET`, `deletePet=` (denied) or `GET /spotsets/{id}=GET`. The
/// last `=` splits, since methods never hold one; `METHOD /path` gets its method in
/// upper case and one space, as keys store it.
pub(crate) fn parse_op(text: &str) -> Result<OpOverride, String> {
    let Some((name, methods)) = text.rsplit_once('=') else {
        return Err(
            "expected OPERATION=METHODS, like createPet=POST,GET or 'GET /pets/{id}=GET'"
                .to_owned(),
        );
    };
    if name.trim().is_empty() {
        return Err("the operation before `=` is empty".to_owned());
    }
    let methods = if methods.trim().is_empty() {
        BTreeSet::new()
    } else {
        parse_methods(methods)?
    };
    let name = parse_op_name(name)?;
    Ok(OpOverride { name, methods })
}

/// An operation as `--remove-op` names it: an operationId, a generated type name, or
/// `METHOD /path` with its method in upper case and one space, as keys store it.
pub(crate) fn parse_op_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() {
        return Err("the operation is empty".to_owned());
    }
    Ok(match method_and_path(name) {
        Some((method, path)) => format!("{method} {path}"),
        None => name.to_owned(),
    })
}

/// `get  /pets/{id}` as (`GET`, `/pets/{id}`), when the text is a method and a path.
pub(crate) fn method_and_path(text: &str) -> Option<(String, &str)> {
    let (method, path) = text.trim().split_once(char::is_whitespace)?;
    let method = method.to_ascii_uppercase();
    let path = path.trim_start();
    (METHODS.contains(&method.as_str()) && path.starts_with('/')).then_some((method, path))
}

/// The base of a key's permissions, before overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Base {
    ReadOnly,
    Full,
    Methods(BTreeSet<String>),
}

/// The permissions of `--read-only`/`--full`/`--methods` plus the `--op` overrides.
/// An operation given twice is refused rather than guessed at.
pub(crate) fn permissions(base: Base, ops: &[OpOverride]) -> Result<Permissions, String> {
    let mut out = match base {
        Base::ReadOnly => Permissions::read_only(),
        Base::Full => Permissions::full(),
        Base::Methods(methods) => Permissions::custom(methods),
    };
    for op in ops {
        if out.per_operation.contains_key(&op.name) {
            return Err(format!(
                "--op `{}` is given more than once; give each operation once",
                op.name
            ));
        }
        out = out.with_operation(&op.name, &op.methods);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn grace_periods() {
        for (text, secs) in [
            ("0", 0),
            ("0s", 0),
            ("30s", 30),
            ("15m", 900),
            ("24h", 86_400),
            ("7d", 604_800),
        ] {
            assert_eq!(parse_grace(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for bad in ["", "5", "5x", "m", "-5m", "5 x", "99999999999999999999d"] {
            assert!(parse_grace(bad).is_err(), "{bad} was accepted");
        }
        assert!(parse_grace("5x").unwrap_err().contains("30s"));
    }

    #[test]
    fn expiry_durations_and_never() {
        let now = 1_704_067_200; // 2024-01-01T00:00:00Z
        assert_eq!(parse_expiry("never", now), Ok(Expiry::Never));
        assert_eq!(parse_expiry("7d", now), Ok(Expiry::days(7)));
        assert_eq!(parse_expiry("90d", now), Ok(Expiry::days(90)));
        assert_eq!(
            parse_expiry("12h", now),
            Ok(Expiry::In(Duration::from_secs(12 * 3600)))
        );
        assert_eq!(
            parse_expiry("30m", now),
            Ok(Expiry::In(Duration::from_secs(1800)))
        );
        assert_eq!(
            parse_expiry("1.5d", now),
            Ok(Expiry::In(Duration::from_secs(129_600)))
        );
        for bad in ["5x", "0d", "0h", "d", "7", "", "Never", "-7d"] {
            assert!(parse_expiry(bad, now).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn expiry_date_lasts_through_that_day_utc() {
        let now = 1_704_067_200; // 2024-01-01T00:00:00Z
                                 // Through 2024-01-31: expires at 2024-02-01T00:00:00Z.
        assert_eq!(
            parse_expiry("2024-01-31", now),
            Ok(Expiry::At(1_704_067_200 + 31 * 86_400))
        );
        // Today still has time left.
        assert_eq!(
            parse_expiry("2024-01-01", now),
            Ok(Expiry::At(1_704_067_200 + 86_400))
        );
        let past = parse_expiry("2023-12-31", now).unwrap_err();
        assert!(past.contains("past"), "{past}");
        assert!(parse_expiry("2024-02-30", now)
            .unwrap_err()
            .contains("not a calendar date"));
    }

    #[test]
    fn update_expiry_and_moments() {
        let now = 1_704_067_200; // 2024-01-01T00:00:00Z
        assert_eq!(
            parse_expires_in("30d"),
            Ok(Duration::from_secs(30 * 86_400))
        );
        assert!(parse_expires_in("0s").unwrap_err().contains("useless"));
        assert_eq!(parse_expires_at("2024-01-31", now), Ok(now + 31 * 86_400));
        assert_eq!(
            parse_expires_at("2024-01-02T00:00:00Z", now),
            Ok(now + 86_400)
        );
        assert!(parse_expires_at("2023-12-31T23:59:59Z", now)
            .unwrap_err()
            .contains("past"));
        assert!(parse_expires_at("7d", now)
            .unwrap_err()
            .contains("RFC 3339"));
        assert_eq!(
            parse_time("2024-01-02", now, Toward::Past),
            Ok(now + 86_400)
        );
        assert_eq!(parse_time("24h", now, Toward::Past), Ok(now - 86_400));
        assert_eq!(parse_time("24h", now, Toward::Future), Ok(now + 86_400));
        assert_eq!(
            parse_time("2024-01-01T00:00:10Z", now, Toward::Future),
            Ok(now + 10)
        );
        assert!(parse_time("soon", now, Toward::Past)
            .unwrap_err()
            .contains("ago"));
    }

    #[test]
    fn metadata_must_be_a_small_object() {
        let object = parse_metadata(r#"{"team":"web","n":1}"#).expect("object");
        assert_eq!(object["team"], "web");
        assert_eq!(parse_metadata("{}"), Ok(Metadata::new()));
        assert!(parse_metadata("[1]").unwrap_err().contains("not an array"));
        assert!(parse_metadata("{team}")
            .unwrap_err()
            .starts_with("not JSON"));
        let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(METADATA_MAX_BYTES));
        assert!(parse_metadata(&big).unwrap_err().contains("4096 allowed"));
    }

    #[test]
    fn methods() {
        assert_eq!(parse_methods("get,Post"), Ok(set(&["GET", "POST"])));
        assert_eq!(parse_methods(" GET , HEAD "), Ok(set(&["GET", "HEAD"])));
        assert_eq!(parse_methods("GET,*"), Ok(set(&["*"])));
        let bad = parse_methods("GET,FETCH").unwrap_err();
        assert!(bad.contains("`FETCH`"), "{bad}");
        assert!(parse_methods("").is_err());
        assert!(parse_methods("GET,,POST").is_err());
    }

    #[test]
    fn operation_overrides() {
        assert_eq!(
            parse_op("createPet=POST,get"),
            Ok(OpOverride {
                name: "createPet".into(),
                methods: set(&["GET", "POST"]),
            })
        );
        assert_eq!(
            parse_op("deletePet="),
            Ok(OpOverride {
                name: "deletePet".into(),
                methods: BTreeSet::new(),
            })
        );
        assert_eq!(
            parse_op(" get   /spotsets/{id} =GET"),
            Ok(OpOverride {
                name: "GET /spotsets/{id}".into(),
                methods: set(&["GET"]),
            })
        );
        // Not a method: kept as written, for --spec or the startup check to judge.
        assert_eq!(
            parse_op("FETCH /x=GET").map(|o| o.name),
            Ok("FETCH /x".into())
        );
        assert!(parse_op("createPet").is_err());
        assert!(parse_op("=GET").is_err());
        assert!(parse_op("x=NOPE").unwrap_err().contains("NOPE"));
    }

    #[test]
    fn permissions_from_base_and_overrides() {
        assert_eq!(
            permissions(Base::ReadOnly, &[]),
            Ok(Permissions::read_only())
        );
        assert_eq!(permissions(Base::Full, &[]), Ok(Permissions::full()));
        let ops = [
            parse_op("createPet=POST").unwrap(),
            parse_op("deletePet=").unwrap(),
        ];
        let p = permissions(Base::Methods(set(&["GET"])), &ops).unwrap();
        assert!(p.allows("GET", "/", Some("listPets")));
        assert!(!p.allows("POST", "/", Some("listPets")));
        assert!(p.allows("POST", "/", Some("createPet")));
        assert!(!p.allows("GET", "/", Some("createPet")));
        assert!(!p.allows("DELETE", "/", Some("deletePet")));
        let twice = [parse_op("a=GET").unwrap(), parse_op("a=POST").unwrap()];
        assert!(permissions(Base::Full, &twice).unwrap_err().contains("`a`"));
    }
}
