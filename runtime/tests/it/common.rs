//! Helpers shared by the tests: schemes, a counting store wrapper, temp dirs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keygate::keys::{
    IssuedKey, KeyFilter, KeyRecord, KeyStore, KeyUpdate, NewKey, Owner, StoreError, UnixSeconds,
};
use keygate::spec::{Location, Scheme, SchemeKind};
use keygate::{Credential, OperationRef, Verdict, Verifier, VerifyRequest};
use secrecy::{ExposeSecret, SecretString};

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

/// A store wrapper that counts lookups and use records.
pub(crate) struct Counting<S> {
    pub(crate) inner: S,
    pub(crate) gets: Arc<AtomicUsize>,
    pub(crate) uses: Arc<AtomicUsize>,
    /// When set, `list` fails (as a store that cannot list would).
    pub(crate) lists_fail: Arc<AtomicBool>,
}

impl<S> Counting<S> {
    pub(crate) fn new(inner: S) -> Counting<S> {
        Counting {
            inner,
            gets: Arc::default(),
            uses: Arc::default(),
            lists_fail: Arc::default(),
        }
    }
}

impl<S: KeyStore> KeyStore for Counting<S> {
    async fn create(&self, spec: NewKey) -> Result<IssuedKey, StoreError> {
        self.inner.create(spec).await
    }
    async fn get(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(id).await
    }
    async fn list(&self, filter: KeyFilter) -> Result<Vec<KeyRecord>, StoreError> {
        if self.lists_fail.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "listing is off in this test".into(),
            ));
        }
        self.inner.list(filter).await
    }
    async fn revoke(&self, id: &str) -> Result<(), StoreError> {
        self.inner.revoke(id).await
    }
    async fn rotate(&self, id: &str, grace: Duration) -> Result<SecretString, StoreError> {
        self.inner.rotate(id, grace).await
    }
    async fn update(&self, id: &str, change: KeyUpdate) -> Result<KeyRecord, StoreError> {
        self.inner.update(id, change).await
    }
    async fn get_owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        self.inner.get_owner(id).await
    }
    async fn disable_owner(&self, id: &str) -> Result<Owner, StoreError> {
        self.inner.disable_owner(id).await
    }
    async fn enable_owner(&self, id: &str) -> Result<Owner, StoreError> {
        self.inner.enable_owner(id).await
    }
    async fn bump_epoch(&self, id: &str) -> Result<Owner, StoreError> {
        self.inner.bump_epoch(id).await
    }
    async fn record_use(&self, id: &str, at: UnixSeconds) -> Result<(), StoreError> {
        self.uses.fetch_add(1, Ordering::SeqCst);
        self.inner.record_use(id, at).await
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("keygate-it-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub(crate) fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls a future to completion on this thread (no tokio runtime).
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}
