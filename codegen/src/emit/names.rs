//! The one identifier sanitizer: any document string in, a valid, distinct Rust name out.

use std::collections::{HashMap, HashSet};

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

/// Rust keywords (all editions) and reserved words.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "try",
    "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "union",
];

/// The case a name space uses.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Case {
    /// `ListPets`
    UpperCamel,
    /// `api_key`
    Snake,
    /// `API_KEY`
    ShoutySnake,
}

/// Hands out distinct names in one Rust name space.
#[derive(Debug)]
pub(crate) struct NameSpace {
    case: Case,
    /// Prefix for names that would start with a digit or be empty.
    fallback: &'static str,
    taken: HashSet<String>,
    /// The next suffix to try per base name: every suffix below it is taken, so a
    /// document repeating one name thousands of times costs linear, not quadratic, time.
    next_suffix: HashMap<String, usize>,
}

impl NameSpace {
    pub(crate) fn new(case: Case, fallback: &'static str, reserved: &[&str]) -> NameSpace {
        NameSpace {
            case,
            fallback,
            taken: reserved.iter().map(|s| s.to_string()).collect(),
            next_suffix: HashMap::new(),
        }
    }

    /// A valid identifier for `raw`, distinct from every name handed out before.
    pub(crate) fn claim(&mut self, raw: &str) -> String {
        let base = self.sanitize(raw);
        let mut name = base.clone();
        if self.taken.contains(&name) {
            let mut n = self.next_suffix.get(&base).copied().unwrap_or(2);
            name = self.suffixed(&base, n);
            while self.taken.contains(&name) {
                n += 1;
                name = self.suffixed(&base, n);
            }
            self.next_suffix.insert(base, n + 1);
        }
        self.taken.insert(name.clone());
        name
    }

    fn suffixed(&self, base: &str, n: usize) -> String {
        match self.case {
            Case::UpperCamel => format!("{base}{n}"),
            Case::Snake | Case::ShoutySnake => format!("{base}_{n}"),
        }
    }

    fn sanitize(&self, raw: &str) -> String {
        // Words split on anything that is not an ASCII letter or digit.
        let words: String = raw
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
            .collect();
        let cased = match self.case {
            Case::UpperCamel => words.to_upper_camel_case(),
            Case::Snake => words.to_snake_case(),
            Case::ShoutySnake => words.to_shouty_snake_case(),
        };
        let mut name = if cased.is_empty() || cased.starts_with(|c: char| c.is_ascii_digit()) {
            let joiner = match self.case {
                Case::UpperCamel => "",
                Case::Snake | Case::ShoutySnake => "_",
            };
            format!("{}{joiner}{cased}", self.fallback)
        } else {
            cased
        };
        if KEYWORDS.contains(&name.as_str()) {
            name.push_str(match self.case {
                Case::UpperCamel => "Op",
                Case::Snake | Case::ShoutySnake => "_",
            });
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_distinct() {
        let mut types = NameSpace::new(Case::UpperCamel, "Op", &["KeygateState"]);
        assert_eq!(types.claim("listPets"), "ListPets");
        assert_eq!(types.claim("list_pets"), "ListPets2");
        assert_eq!(
            types.claim("userApiKey (query parameter)"),
            "UserApiKeyQueryParameter"
        );
        assert_eq!(types.claim("2fa"), "Op2fa");
        assert_eq!(types.claim("self"), "SelfOp");
        assert_eq!(types.claim("keygate_state"), "KeygateState2");
        assert_eq!(types.claim("¿?"), "Op");
        assert_eq!(types.claim(""), "Op2");

        let mut fields = NameSpace::new(Case::Snake, "scheme", &[]);
        assert_eq!(fields.claim("BearerAuth"), "bearer_auth");
        assert_eq!(fields.claim("bearerAuth"), "bearer_auth_2");
        assert_eq!(fields.claim("type"), "type_");
        assert_eq!(fields.claim("X-API-Key"), "x_api_key");
        assert_eq!(fields.claim("1st"), "scheme_1st");

        let mut consts = NameSpace::new(Case::ShoutySnake, "SCHEME", &[]);
        assert_eq!(consts.claim("api-key"), "API_KEY");
        assert_eq!(consts.claim("API key"), "API_KEY_2");
    }
}
