//! `ETag` and `If-Match` (RFC 9110 §8.8.3, §13.1.1) for keys and owners: strong tags
//! only, as versions are exact.

use http::header::{HeaderMap, HeaderValue, IF_MATCH};

/// What the request's `If-Match` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IfMatch {
    /// No `If-Match`: change whatever the version.
    Absent,
    /// `*`: any version of an existing key or owner.
    Any,
    /// One of these versions (empty: none can match, as for weak or malformed tags).
    Tags(Vec<String>),
}

impl IfMatch {
    /// Reads every `If-Match` field line.
    pub(crate) fn read(headers: &HeaderMap) -> IfMatch {
        let mut lines = headers.get_all(IF_MATCH).iter().peekable();
        if lines.peek().is_none() {
            return IfMatch::Absent;
        }
        let mut tags = Vec::new();
        for line in lines {
            let Ok(text) = line.to_str() else { continue };
            for item in text.split(',').map(str::trim) {
                if item == "*" {
                    return IfMatch::Any;
                }
                // A weak tag never matches strongly; an unquoted one is taken as typed.
                if item.starts_with("W/") || item.is_empty() {
                    continue;
                }
                let bare = item.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
                tags.push(bare.unwrap_or(item).to_owned());
            }
        }
        IfMatch::Tags(tags)
    }
}

/// The `ETag` value of a version: the tag in quotes.
pub(crate) fn header_value(tag: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{tag}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(values: &[&str]) -> IfMatch {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(IF_MATCH, HeaderValue::from_str(v).expect("value"));
        }
        IfMatch::read(&headers)
    }

    #[test]
    fn if_match_reads_lists_stars_and_weak_tags() {
        assert_eq!(read(&[]), IfMatch::Absent);
        assert_eq!(
            read(&["\"a\", \"b\"", "c"]),
            IfMatch::Tags(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(read(&["*"]), IfMatch::Any);
        assert_eq!(read(&["W/\"a\""]), IfMatch::Tags(Vec::new()));
        assert_eq!(read(&["\"a\""]), IfMatch::Tags(vec!["a".into()]));
    }
}
