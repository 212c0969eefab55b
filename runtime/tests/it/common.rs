//! Helpers shared by the tests: schemes and verification shorthands. The counting
//! store, temp dirs and `block_on` are `keygate_tests`' (shared with the bench and
//! codegen's tests).

use keygate::keys::UnixSeconds;
use keygate::spec::{Location, Scheme, SchemeKind};
use keygate::{Credential, OperationRef, Verdict, Verifier, VerifyRequest};
use secrecy::{ExposeSecret, SecretString};

pub(crate) use keygate_tests::block_on;

/// A fixed starting time for manual clocks (2024-01-01).
pub(crate) const T0: UnixSeconds = 1_704_067_200;

pub(crate) const API_KEY: Scheme = Scheme {
    name: "api_key",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-API-Key",
    },
};
pub(crate) const BEARER: Scheme = Scheme {
    name: "bearer",
    kind: SchemeKind::HttpBearer,
};
pub(crate) const BASIC: Scheme = Scheme {
    name: "basic",
    kind: SchemeKind::HttpBasic,
};

pub(crate) fn key(full: &SecretString) -> Credential {
    Credential::Key(SecretString::from(full.expose_secret().to_owned()))
}

pub(crate) async fn verify<V: Verifier>(
    verifier: &V,
    scheme: &Scheme,
    credential: &Credential,
    method: &str,
    operation_id: Option<&str>,
) -> Verdict {
    let operation = OperationRef {
        method,
        path: "/things",
        operation_id,
    };
    let request = VerifyRequest::new(scheme, credential, operation);
    match verifier.verify(request).await {
        Ok(verdict) => verdict,
        Err(e) => panic!("verify failed: {e}"),
    }
}

/// Shorthand: verify an apiKey credential for `GET listThings`.
pub(crate) async fn get<V: Verifier>(verifier: &V, full: &SecretString) -> Verdict {
    verify(verifier, &API_KEY, &key(full), "GET", Some("listThings")).await
}
