//! What an owner may create for itself: the app's [`OwnerPolicy`], and the check of one
//! request against it.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::keys::{Expiry, NewKey, Permissions, SAFE_METHODS};

use super::wire::OwnerKeyRequest;
use crate::admin::problem::FieldError;

/// What the self-service routes let an owner do: how many keys it may hold, which
/// methods, roles and schemes those keys may carry, how long they may live, and how long a
/// rotated secret may keep working. Per-operation permissions and metadata are for
/// admins only.
///
/// The default: up to 10 live keys, read-only (GET, HEAD, OPTIONS), no roles, every
/// scheme the key format serves, a lifetime of at most a year (a year when the request
/// names none), and a rotation grace of at most a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerPolicy {
    pub(crate) max_keys: usize,
    pub(crate) methods: BTreeSet<String>,
    pub(crate) roles: BTreeSet<String>,
    pub(crate) schemes: Option<BTreeSet<String>>,
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) max_grace: Duration,
}

impl Default for OwnerPolicy {
    fn default() -> OwnerPolicy {
        OwnerPolicy {
            max_keys: 10,
            methods: SAFE_METHODS.iter().map(|m| (*m).to_owned()).collect(),
            roles: BTreeSet::new(),
            schemes: None,
            max_lifetime: Some(Duration::from_secs(365 * 86_400)),
            max_grace: Duration::from_secs(86_400),
        }
    }
}

impl OwnerPolicy {
    /// The default policy (see the type's documentation).
    pub fn new() -> OwnerPolicy {
        OwnerPolicy::default()
    }

    /// Keys an owner may hold that still work or could again (active or disabled).
    pub fn max_keys(mut self, n: usize) -> OwnerPolicy {
        self.max_keys = n;
        self
    }

    /// The methods an owner's keys may allow (`*` for any); a key asks for a subset, or
    /// gets all of them.
    pub fn methods<I, M>(mut self, methods: I) -> OwnerPolicy
    where
        I: IntoIterator<Item = M>,
        M: Into<String>,
    {
        self.methods = methods
            .into_iter()
            .map(|m| m.into().to_ascii_uppercase())
            .collect();
        self
    }

    /// The roles an owner may give its keys (none by default).
    pub fn roles<I, R>(mut self, roles: I) -> OwnerPolicy
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// The security schemes every owner key is limited to (`None`: any).
    pub fn schemes<I, R>(mut self, schemes: Option<I>) -> OwnerPolicy
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.schemes = schemes.map(|s| s.into_iter().map(Into::into).collect());
        self
    }

    /// The longest an owner key may live, and its lifetime when the request names none
    /// (`None`: keys may never expire, and do not unless asked).
    pub fn max_lifetime(mut self, longest: Option<Duration>) -> OwnerPolicy {
        self.max_lifetime = longest;
        self
    }

    /// The longest a rotated secret may keep working.
    pub fn max_grace(mut self, longest: Duration) -> OwnerPolicy {
        self.max_grace = longest;
        self
    }

    /// The key `request` asks for, for `owner`, or every way it exceeds the policy.
    pub(crate) fn new_key(
        &self,
        owner: &str,
        request: OwnerKeyRequest,
    ) -> Result<NewKey, Vec<FieldError>> {
        let mut errors = Vec::new();
        let methods = match request.methods {
            None => self.methods.clone(),
            Some(asked) => {
                let refused: Vec<&str> = asked
                    .iter()
                    .filter(|m| !self.allows_method(m))
                    .map(String::as_str)
                    .collect();
                if !refused.is_empty() {
                    errors.push(FieldError::new(
                        "/methods",
                        format!(
                            "owner keys may allow {} only, not {}",
                            self.shown_methods(),
                            refused.join(", ")
                        ),
                    ));
                }
                asked
            }
        };
        let refused: Vec<&str> = request
            .roles
            .iter()
            .filter(|r| !self.roles.contains(*r))
            .map(String::as_str)
            .collect();
        if !refused.is_empty() {
            errors.push(FieldError::new(
                "/roles",
                format!(
                    "not roles an owner may give its keys: {}",
                    refused.join(", ")
                ),
            ));
        }
        let lifetime = match (request.expires_in, self.max_lifetime) {
            (Some(asked), Some(longest)) if asked > longest => {
                errors.push(FieldError::new(
                    "/expires_in",
                    format!(
                        "owner keys live at most {} days",
                        longest.as_secs() / 86_400
                    ),
                ));
                None
            }
            (Some(asked), _) => Some(asked),
            (None, longest) => longest,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut key = NewKey::new(request.name)
            .owner(owner)
            .roles(request.roles)
            .permissions(Permissions::custom(methods))
            .expiry(lifetime.map_or(Expiry::Never, Expiry::In));
        key.description = request.description;
        key.schemes = self.schemes.clone();
        Ok(key)
    }

    /// The grace a rotation asks for, if the policy allows it.
    pub(crate) fn grace(&self, asked: Duration) -> Result<Duration, Vec<FieldError>> {
        if asked > self.max_grace {
            return Err(vec![FieldError::new(
                "/grace",
                format!("at most {} seconds", self.max_grace.as_secs()),
            )]);
        }
        Ok(asked)
    }

    fn allows_method(&self, method: &str) -> bool {
        self.methods.contains("*") || self.methods.contains(method)
    }

    fn shown_methods(&self) -> String {
        self.methods.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> OwnerKeyRequest {
        OwnerKeyRequest {
            name: name.to_owned(),
            description: None,
            methods: None,
            roles: BTreeSet::new(),
            expires_in: None,
        }
    }

    fn pointers(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.pointer.as_str()).collect()
    }

    #[test]
    fn the_default_gives_a_read_only_key_for_a_year_to_its_owner() {
        let key = OwnerPolicy::new().new_key("o1", request("ci")).unwrap();
        assert_eq!(key.owner.as_deref(), Some("o1"));
        assert_eq!(key.permissions, Permissions::read_only());
        assert_eq!(key.expiry, Expiry::days(365));
        assert!(key.roles.is_empty());
    }

    #[test]
    fn each_excess_is_named_by_its_pointer() {
        let mut asked = request("ci");
        asked.methods = Some(["GET", "DELETE"].map(String::from).into());
        asked.roles = ["admin".to_owned()].into();
        asked.expires_in = Some(Duration::from_secs(400 * 86_400));
        let errors = OwnerPolicy::new().new_key("o1", asked).unwrap_err();
        assert_eq!(pointers(&errors), ["/methods", "/roles", "/expires_in"]);
        assert_eq!(
            errors[0].detail,
            "owner keys may allow GET, HEAD, OPTIONS only, not DELETE"
        );
    }

    #[test]
    fn an_app_can_widen_what_owners_may_ask_for() {
        let policy = OwnerPolicy::new()
            .methods(["get", "post"])
            .roles(["reader"])
            .max_lifetime(None);
        let mut asked = request("ci");
        asked.methods = Some(["POST".to_owned()].into());
        asked.roles = ["reader".to_owned()].into();
        let key = policy.new_key("o1", asked).unwrap();
        assert_eq!(key.permissions, Permissions::custom(["POST"]));
        assert_eq!(key.expiry, Expiry::Never);
        assert_eq!(
            pointers(&policy.grace(Duration::from_secs(90_000)).unwrap_err()),
            ["/grace"]
        );
    }
}
