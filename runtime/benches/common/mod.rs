//! What both benches share: the scheme and operation they verify for, and how they
//! drive a verification without a runtime.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use keygate::keys::{KeyStore, Keyring};
use keygate::spec::{Location, Scheme, SchemeKind};
use keygate::{Credential, OperationRef, Verdict, Verifier, VerifyRequest};

pub(crate) const API_KEY: Scheme = Scheme {
    name: "api_key",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-API-Key",
    },
};

pub(crate) const OPERATION: OperationRef<'static> = OperationRef {
    method: "GET",
    path: "/things",
    operation_id: Some("listThings"),
};

/// Runs a future that never waits. Without a tokio runtime every store here works
/// inline, so one poll finishes it; measuring through a runtime would add its cost.
pub(crate) fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("benchmarked future waited"),
    }
}

/// Verifies `credential` for `API_KEY` and `GET listThings` as the layer does.
pub(crate) fn verify<S: KeyStore>(ring: &Keyring<S>, credential: &Credential) -> Verdict {
    let request = VerifyRequest::new(&API_KEY, credential, OPERATION);
    now(ring.verify(request)).expect("verify")
}
