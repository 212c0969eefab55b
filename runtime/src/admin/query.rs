//! Query parameters of the list operations: each checked, an unknown or repeated one
//! refused, every error named by the parameter's name.

use std::collections::btree_map::{BTreeMap, Entry};

use super::problem::FieldError;
use super::time::parse_time;
use crate::keys::{
    AuditQuery, KeyCursor, KeyFilter, KeyOrder, KeyQuery, KeyState, OwnerQuery, UnixSeconds,
};

/// The largest page the admin API serves, and the one it serves by default.
const MAX_LIMIT: usize = 200;
const DEFAULT_LIMIT: usize = 50;
/// The longest cursor or text parameter.
const MAX_TEXT: usize = 200;

/// The parameters of one request, by name.
struct Params {
    values: BTreeMap<String, String>,
    errors: Vec<FieldError>,
}

impl Params {
    fn parse(query: Option<&str>, known: &[&str]) -> Params {
        let mut values = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let name = name.into_owned();
            if !known.contains(&name.as_str()) {
                let shown: String = name.chars().take(100).collect();
                errors.push(FieldError::new(
                    shown,
                    format!("unknown parameter (known: {})", known.join(", ")),
                ));
            } else {
                match values.entry(name) {
                    Entry::Occupied(seen) => {
                        errors.push(FieldError::new(seen.key().clone(), "given more than once"));
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(value.into_owned());
                    }
                }
            }
        }
        Params { values, errors }
    }

    fn text(&mut self, name: &'static str) -> Option<String> {
        let value = self.values.remove(name)?;
        if value.chars().count() > MAX_TEXT {
            self.errors.push(FieldError::new(
                name,
                format!("longer than {MAX_TEXT} characters"),
            ));
            return None;
        }
        Some(value)
    }

    fn time(&mut self, name: &'static str) -> Option<UnixSeconds> {
        let value = self.values.remove(name)?;
        parse_time(&value)
            .map_err(|e| self.errors.push(FieldError::new(name, e)))
            .ok()
    }

    fn limit(&mut self) -> usize {
        let Some(value) = self.values.remove("limit") else {
            return DEFAULT_LIMIT;
        };
        match value.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                self.errors.push(FieldError::new(
                    "limit",
                    format!("expected a whole number from 1 to {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        }
    }

    fn cursor<T>(&mut self, parse: impl FnOnce(&str) -> Option<T>, shape: &str) -> Option<T> {
        let value = self.text("cursor")?;
        let parsed = parse(&value);
        if parsed.is_none() {
            self.errors.push(FieldError::new(
                "cursor",
                format!("not a cursor of this list ({shape}): pass `next_cursor` as it was"),
            ));
        }
        parsed
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

/// `listKeys`: owner, status, name, name_contains, expiring_before, order, cursor, limit.
pub(crate) fn keys(query: Option<&str>) -> Result<KeyQuery, Vec<FieldError>> {
    let known = [
        "owner",
        "status",
        "name",
        "name_contains",
        "expiring_before",
        "order",
        "cursor",
        "limit",
    ];
    let mut p = Params::parse(query, &known);
    let mut filter = KeyFilter {
        owner: p.text("owner"),
        name: p.text("name"),
        name_contains: p.text("name_contains"),
        ..KeyFilter::default()
    };
    if let Some(status) = p.values.remove("status") {
        filter.state = match status.as_str() {
            "active" => Some(KeyState::Active),
            "disabled" => Some(KeyState::Disabled),
            "revoked" => Some(KeyState::Revoked),
            "expired" => Some(KeyState::Expired),
            _ => {
                p.errors.push(FieldError::new(
                    "status",
                    "expected active, disabled, revoked or expired",
                ));
                None
            }
        };
    }
    filter.expiring_before = p.time("expiring_before");
    let order = match p.values.remove("order").as_deref() {
        None | Some("oldest") => KeyOrder::OldestFirst,
        Some("newest") => KeyOrder::NewestFirst,
        Some(_) => {
            p.errors
                .push(FieldError::new("order", "expected oldest or newest"));
            KeyOrder::OldestFirst
        }
    };
    let after = p.cursor(
        |c| c.parse::<KeyCursor>().ok(),
        "`<created_at>.<key id>`, or `newest.<created_at>.<key id>` for order=newest",
    );
    let limit = p.limit();
    let query = KeyQuery {
        filter,
        order,
        after,
        limit,
    };
    if let Some(cursor) = query.after.as_ref().filter(|c| c.order != order) {
        let of = cursor.order.name();
        p.errors.push(FieldError::new(
            "cursor",
            format!("a cursor of a list ordered {of} first: pass it with order={of}"),
        ));
    }
    p.finish(query)
}

/// `listOwners`: cursor (an owner id), limit.
pub(crate) fn owners(query: Option<&str>) -> Result<OwnerQuery, Vec<FieldError>> {
    let mut p = Params::parse(query, &["cursor", "limit"]);
    let after = p.cursor(|c| (!c.is_empty()).then(|| c.to_owned()), "an owner id");
    let limit = p.limit();
    p.finish(OwnerQuery { after, limit })
}

/// `listAudit`: target, actor, since, until, cursor (a sequence number), limit.
pub(crate) fn audit(query: Option<&str>) -> Result<AuditQuery, Vec<FieldError>> {
    let known = ["target", "actor", "since", "until", "cursor", "limit"];
    let mut p = Params::parse(query, &known);
    let mut out = AuditQuery::new();
    out.target = p.text("target");
    out.actor = p.text("actor");
    out.since = p.time("since");
    out.until = p.time("until");
    let positive = |c: &str| {
        c.parse::<u64>()
            .ok()
            .filter(|&n| n >= 1 && c.bytes().all(|b| b.is_ascii_digit()))
    };
    out.before_seq = p.cursor(positive, "a sequence number");
    out.limit = p.limit();
    p.finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointers<T: std::fmt::Debug>(result: Result<T, Vec<FieldError>>) -> Vec<String> {
        result
            .expect_err("refused")
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    #[test]
    fn bad_parameters_are_named() {
        assert_eq!(
            pointers(keys(Some(
                "limit=0&cursor=x&status=on&colour=red&owner=a&owner=b"
            ))),
            ["colour", "owner", "status", "cursor", "limit"]
        );
        assert_eq!(
            pointers(audit(Some("cursor=-1&since=today&limit=201"))),
            ["since", "cursor", "limit"]
        );
        let query = keys(Some("owner=team&status=active&limit=10&cursor=5.abc")).expect("valid");
        assert_eq!(query.limit, 10);
        assert_eq!(query.filter.owner.as_deref(), Some("team"));
        assert_eq!(owners(None).expect("valid").limit, DEFAULT_LIMIT);
    }

    #[test]
    fn name_contains_and_order_are_read_and_checked() {
        let query = keys(Some("name_contains=Deploy%25_&order=newest")).expect("valid");
        assert_eq!(query.filter.name_contains.as_deref(), Some("Deploy%_"));
        assert_eq!(query.filter.name, None);
        assert_eq!(query.order, KeyOrder::NewestFirst);
        assert_eq!(keys(None).expect("valid").order, KeyOrder::OldestFirst);
        assert_eq!(
            keys(Some("order=oldest")).expect("valid").order,
            KeyOrder::OldestFirst
        );
        let long = format!("name_contains={}", "x".repeat(201));
        assert_eq!(pointers(keys(Some(&long))), ["name_contains"]);
        assert_eq!(pointers(keys(Some("order=desc"))), ["order"]);
        // Each cursor goes with its own order only, and the error says which.
        let newest = keys(Some("order=newest&cursor=newest.5.abc")).expect("valid");
        assert_eq!(newest.after.map(|c| c.order), Some(KeyOrder::NewestFirst));
        let refused = keys(Some("cursor=newest.5.abc")).expect_err("refused");
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].pointer, "cursor");
        assert!(
            refused[0].detail.contains("order=newest"),
            "{}",
            refused[0].detail
        );
        assert_eq!(
            pointers(keys(Some("order=newest&cursor=5.abc"))),
            ["cursor"]
        );
    }
}
