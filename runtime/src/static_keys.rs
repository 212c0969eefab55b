//! [`StaticKeys`]: a fixed list of keys, for simple deployments and tests.

use std::fmt;

use crate::digest::{digests_equal, sha256};
use crate::spec::SchemeKind;
use crate::verifier::{CredentialRef, Principal, Verdict, Verifier, VerifyError, VerifyRequest};

/// A verifier over a fixed set of keys. Only SHA-256 of each secret is kept, and every
/// entry of the scheme is compared in constant time.
///
/// ```
/// use keygate::StaticKeys;
/// let keys = StaticKeys::new()
///     .key("api_key", "demo-key")
///     .key_with_roles("api_key", "admin-key", ["admin"])
///     .basic("basicAuth", "app-1", "s3cret");
/// ```
#[derive(Default, Clone)]
pub struct StaticKeys {
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    scheme: String,
    /// For Basic pairs: the id, compared in constant time too.
    basic_id: Option<String>,
    secret_sha256: [u8; 32],
    principal: Principal,
}

impl StaticKeys {
    /// An empty set: every credential is invalid.
    pub fn new() -> StaticKeys {
        StaticKeys::default()
    }

    /// Accepts `key` for the scheme named `scheme` (apiKey or bearer). The principal's id
    /// is `<scheme>#<n>`, n counting the scheme's keys from 1.
    pub fn key(self, scheme: &str, key: &str) -> StaticKeys {
        self.key_with_roles(scheme, key, std::iter::empty::<String>())
    }

    /// Accepts `key` with roles.
    pub fn key_with_roles<I, R>(self, scheme: &str, key: &str, roles: I) -> StaticKeys
    where
        I: IntoIterator<Item = R>,
        R: Into<String>,
    {
        let id = self.next_id(scheme);
        self.principal(scheme, key, Principal::new(id).with_roles(roles))
    }

    /// Accepts `key` as the given principal.
    pub fn principal(mut self, scheme: &str, key: &str, principal: Principal) -> StaticKeys {
        self.entries.push(Entry {
            scheme: scheme.to_owned(),
            basic_id: None,
            secret_sha256: sha256(key),
            principal,
        });
        self
    }

    /// Accepts the HTTP Basic pair `id:secret`; the principal's id is `id`.
    pub fn basic(self, scheme: &str, id: &str, secret: &str) -> StaticKeys {
        self.basic_principal(scheme, id, secret, Principal::new(id))
    }

    /// Accepts the HTTP Basic pair `id:secret` as the given principal.
    pub fn basic_principal(
        mut self,
        scheme: &str,
        id: &str,
        secret: &str,
        principal: Principal,
    ) -> StaticKeys {
        self.entries.push(Entry {
            scheme: scheme.to_owned(),
            basic_id: Some(id.to_owned()),
            secret_sha256: sha256(secret),
            principal,
        });
        self
    }

    fn next_id(&self, scheme: &str) -> String {
        let count = self.entries.iter().filter(|e| e.scheme == scheme).count();
        format!("{scheme}#{}", count + 1)
    }

    fn find(&self, scheme: &str, credential: CredentialRef<'_>, basic: bool) -> Option<&Principal> {
        let presented = sha256(credential.secret());
        let presented_id = credential.basic_id().unwrap_or("");
        let mut found = None;
        // No early exit: the time taken does not depend on which entry matched.
        for entry in self.entries.iter().filter(|e| e.scheme == scheme) {
            let secret_ok = digests_equal(&entry.secret_sha256, &presented);
            let id_ok = match (&entry.basic_id, basic) {
                (Some(id), true) => digests_equal(&sha256(id), &sha256(presented_id)),
                (None, false) => subtle::Choice::from(1),
                _ => subtle::Choice::from(0),
            };
            if bool::from(secret_ok & id_ok) && found.is_none() {
                found = Some(&entry.principal);
            }
        }
        found
    }
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeys")
            .field("keys", &self.entries.len())
            .finish()
    }
}

impl StaticKeys {
    fn decide(&self, request: VerifyRequest<'_>) -> Verdict {
        let basic = matches!(request.scheme.kind, SchemeKind::HttpBasic);
        match self.find(request.scheme.name, request.credential, basic) {
            Some(principal) => Verdict::Granted(principal.clone()),
            None => Verdict::Invalid,
        }
    }
}

impl Verifier for StaticKeys {
    async fn verify(&self, request: VerifyRequest<'_>) -> Result<Verdict, VerifyError> {
        Ok(self.decide(request))
    }

    fn scheme_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.entries.iter().map(|e| e.scheme.as_str()).collect();
        names.dedup();
        names
    }
}
