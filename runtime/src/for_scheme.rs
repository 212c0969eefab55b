//! Sending each scheme's credentials to its own verifier.

use crate::verifier::{Verdict, Verifier, VerifyError, VerifyRequest};

/// A verifier that sends the credentials of one scheme to `verifier` and those of every
/// other scheme to `rest`: app ids from a fixed list, API keys from a store.
///
/// ```
/// # use keygate::{ForScheme, StaticKeys, keys::{Keyring, MemoryStore}};
/// let keys = ForScheme::new(
///     "app_id",
///     StaticKeys::new().key("app_id", "demo-app"),
///     Keyring::new(MemoryStore::new()),
/// );
/// ```
///
/// For more schemes, nest it: `ForScheme::new("a", a, ForScheme::new("b", b, rest))`.
#[derive(Debug, Clone)]
pub struct ForScheme<V, R> {
    scheme: String,
    verifier: V,
    rest: R,
}

impl<V: Verifier, R: Verifier> ForScheme<V, R> {
    /// `verifier` for the scheme named `scheme`, `rest` for the others.
    pub fn new(scheme: impl Into<String>, verifier: V, rest: R) -> ForScheme<V, R> {
        ForScheme {
            scheme: scheme.into(),
            verifier,
            rest,
        }
    }

    /// The verifier of the named scheme.
    pub fn verifier(&self) -> &V {
        &self.verifier
    }

    /// The verifier of every other scheme.
    pub fn rest(&self) -> &R {
        &self.rest
    }
}

impl<V: Verifier, R: Verifier> Verifier for ForScheme<V, R> {
    async fn verify(&self, request: VerifyRequest<'_>) -> Result<Verdict, VerifyError> {
        if request.scheme.name == self.scheme {
            self.verifier.verify(request).await
        } else {
            self.rest.verify(request).await
        }
    }

    fn scheme_names(&self) -> Vec<&str> {
        let mut names = vec![self.scheme.as_str()];
        names.extend(self.verifier.scheme_names());
        names.extend(self.rest.scheme_names());
        names
    }
}
