//! The tower layer that enforces a spec over a whole `Router`.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::IntoMakeService;
use http::request::Parts;
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::guard::{Early, Guard, Resume};
use crate::refusal::Rejection;
use crate::spec::Spec;
use crate::target::Undocumented;
use crate::verifier::{BoxFuture, Hook, Verifier};

/// A layer that checks every request against its documented operation before the
/// handler runs. Granted requests carry [`Authenticated`](crate::Authenticated) in their
/// extensions (holding the [`Guard`], for extractors); refused ones never reach the
/// handler.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    guard: Guard,
}

impl AuthLayer {
    /// A layer for `spec` with `verifier`. Generated modules wrap this as `layer(..)`.
    pub fn new(spec: &'static Spec, verifier: impl Verifier) -> AuthLayer {
        AuthLayer {
            guard: Guard::new(spec, verifier),
        }
    }

    /// A layer around an existing guard.
    pub fn from_guard(guard: Guard) -> AuthLayer {
        AuthLayer { guard }
    }

    /// See [`Guard::undocumented`].
    pub fn undocumented(self, undocumented: Undocumented) -> AuthLayer {
        AuthLayer::from_guard(self.guard.undocumented(undocumented))
    }

    /// See [`Guard::base_path`].
    pub fn base_path(self, base_path: impl AsRef<str>) -> AuthLayer {
        AuthLayer::from_guard(self.guard.base_path(base_path))
    }

    /// See [`Guard::realm`].
    pub fn realm(self, realm: impl Into<String>) -> AuthLayer {
        AuthLayer::from_guard(self.guard.realm(realm))
    }

    /// See [`Guard::hook`].
    pub fn hook(self, scheme: &str, hook: impl Hook) -> AuthLayer {
        AuthLayer::from_guard(self.guard.hook(scheme, hook))
    }

    /// The guard, e.g. to share with extractors on routes outside this layer.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The layer wrapped around a whole service, usually the app's `Router`, instead of
    /// added inside it with `Router::layer`. It answers every request as the layer
    /// inside the router does (the guard finds the operation itself), and it saves
    /// axum's per-route layering: about 130 ns a request in process, a quarter to a
    /// third of the layer's cost (see BENCHMARKS.md). Serve it with
    /// [`AuthService::into_make_service`]:
    ///
    /// ```ignore
    /// let app = api::layer(keys).around(router);
    /// axum::serve(listener, app.into_make_service()).await?;
    /// ```
    pub fn around<S>(self, inner: S) -> AuthService<S> {
        AuthService {
            guard: self.guard,
            inner,
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        self.clone().around(inner)
    }
}

/// The service [`AuthLayer`] produces.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    guard: Guard,
    inner: S,
}

impl<S, B> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AuthFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let state = match self.guard.authorize_now(&parts) {
            Early::Done(Ok(authenticated)) => {
                // Decided here: the ready inner service is called now, no clone needed.
                let guard = self.guard.clone();
                parts.extensions.insert(authenticated.with_guard(guard));
                State::Inner {
                    future: self.inner.call(Request::from_parts(parts, body)),
                }
            }
            Early::Done(Err(rejection)) => State::Refused {
                response: Some(rejection.into_response()),
            },
            Early::Wait(resume) => {
                // Copies of what it read: the future owns `parts` and cannot borrow it.
                let resume = resume.into_owned();
                self.waiting(parts, body, Some(resume))
            }
            Early::Later => self.waiting(parts, body, None),
        };
        AuthFuture { state }
    }
}

impl<S> AuthService<S> {
    /// The future of a decision that must wait: from where the synchronous try stopped
    /// (`resume`), or the whole decision.
    fn waiting<B>(
        &mut self,
        mut parts: Parts,
        body: B,
        resume: Option<Resume<'static>>,
    ) -> State<S::Future>
    where
        S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
        B: Send + 'static,
    {
        let (mut inner, guard) = self.detach();
        State::Waiting {
            decision: Box::pin(async move {
                let decided = match resume {
                    Some(mut resume) => guard.resume(&parts, &mut resume).await,
                    None => guard.authorize_request(&parts).await,
                };
                match decided {
                    Ok(authenticated) => {
                        parts.extensions.insert(authenticated.with_guard(guard));
                        inner.call(Request::from_parts(parts, body)).await
                    }
                    Err(rejection) => Ok(rejection.into_response()),
                }
            }),
        }
    }
}

impl<S> AuthService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    /// What `axum::serve` takes, for a layer wrapped around a whole router
    /// ([`AuthLayer::around`]).
    pub fn into_make_service(self) -> IntoMakeService<AuthService<S>> {
        axum::ServiceExt::<Request<Body>>::into_make_service(self)
    }
}

impl<S: Clone> AuthService<S> {
    /// The ready inner service and the guard, for a future that outlives `call`.
    fn detach(&mut self) -> (S, Guard) {
        // The clone is not ready yet; keep the one that is (tower's usual swap).
        let clone = self.inner.clone();
        (
            std::mem::replace(&mut self.inner, clone),
            self.guard.clone(),
        )
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AuthService`]: the inner service's (granted), a
    /// refusal, or a decision that awaits its verifier or hook.
    pub struct AuthFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project_lite::pin_project! {
    // The granted inner future is pinned in place, not boxed: under load every
    // allocation a request makes shows in the throughput.
    #[project = StateProjection]
    enum State<F> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response> },
        Waiting { decision: BoxFuture<'static, Result<Response, Infallible>> },
    }
}

impl<F> fmt::Debug for AuthFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Inner { .. } => "inner",
            State::Refused { .. } => "refused",
            State::Waiting { .. } => "waiting",
        };
        f.debug_struct("AuthFuture").field("state", &state).finish()
    }
}

impl<F> Future for AuthFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future } => future.poll(cx),
            StateProjection::Refused { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| Rejection::internal().into_response()))),
            StateProjection::Waiting { decision } => decision.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use http::StatusCode;
    use tower::ServiceExt;

    use super::*;
    use crate::spec::{
        Alternative, Location, Operation, Requirement, Scheme, SchemeKind, SchemeUse,
    };
    use crate::verifier::{Principal, Verdict, VerifyError, VerifyRequest};
    use crate::Authenticated;

    const BOTH: Requirement = Requirement {
        alternatives: &[Alternative {
            schemes: &[
                SchemeUse {
                    scheme: 0,
                    roles: &[],
                },
                SchemeUse {
                    scheme: 1,
                    roles: &[],
                },
            ],
        }],
    };

    const ONLY_B: Requirement = Requirement {
        alternatives: &[Alternative {
            schemes: &[SchemeUse {
                scheme: 1,
                roles: &[],
            }],
        }],
    };

    static SPEC: Spec = Spec {
        title: "mixed",
        base_path: "",
        schemes: &[
            Scheme {
                name: "a",
                kind: SchemeKind::ApiKey {
                    location: Location::Header,
                    name: "X-A",
                },
            },
            Scheme {
                name: "b",
                kind: SchemeKind::ApiKey {
                    location: Location::Header,
                    name: "X-B",
                },
            },
        ],
        root: BOTH,
        operations: &[
            Operation {
                method: "GET",
                path: "/both",
                operation_id: None,
                requirement: BOTH,
            },
            Operation {
                method: "GET",
                path: "/b",
                operation_id: None,
                requirement: ONLY_B,
            },
        ],
    };

    /// Answers scheme `a` at once; `b` only after a real wait. Counts verifications.
    #[derive(Default)]
    struct Mixed {
        now: AtomicUsize,
        awaited: AtomicUsize,
    }

    fn verdict(request: VerifyRequest<'_>) -> Verdict {
        if request.credential.secret() == "good" {
            Verdict::Granted(Principal::new(request.scheme.name))
        } else {
            Verdict::Invalid
        }
    }

    impl Verifier for Mixed {
        async fn verify(&self, request: VerifyRequest<'_>) -> Result<Verdict, VerifyError> {
            self.awaited.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(verdict(request))
        }

        fn verify_now(&self, request: VerifyRequest<'_>) -> Option<Result<Verdict, VerifyError>> {
            (request.scheme.name == "a").then(|| {
                self.now.fetch_add(1, Ordering::SeqCst);
                Ok(verdict(request))
            })
        }
    }

    async fn who(auth: Authenticated) -> String {
        let ids: Vec<&str> = auth.principals().map(|(_, p)| p.id()).collect();
        ids.join(",")
    }

    fn send(app: &Router, path: &str, a: &str, b: &str) -> (StatusCode, String) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let request = http::Request::get(path)
                .header("x-a", a)
                .header("x-b", b)
                .body(Body::empty())
                .expect("request");
            let response = match app.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .expect("body");
            (status, String::from_utf8_lossy(&body).into_owned())
        })
    }

    #[test]
    fn a_decision_that_must_wait_keeps_what_it_verified_at_once() {
        let verifier = Arc::new(Mixed::default());
        let app = Router::new()
            .route("/both", get(who))
            .route("/b", get(who))
            .layer(AuthLayer::new(&SPEC, verifier.clone()));
        let counts = || {
            (
                verifier.now.load(Ordering::SeqCst),
                verifier.awaited.load(Ordering::SeqCst),
            )
        };

        assert_eq!(
            send(&app, "/both", "good", "good"),
            (StatusCode::OK, "a,b".into())
        );
        assert_eq!(counts(), (1, 1), "each scheme verified once");
        assert_eq!(
            send(&app, "/both", "bad", "good").0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(counts(), (2, 1), "a failed at once: b never asked");
        assert_eq!(
            send(&app, "/both", "good", "bad").0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(counts(), (3, 2));
        assert_eq!(send(&app, "/b", "", "good"), (StatusCode::OK, "b".into()));
        assert_eq!(send(&app, "/b", "", "bad").0, StatusCode::UNAUTHORIZED);
        assert_eq!(counts(), (3, 4));
    }

    /// The refusal names what the decision met last, as one pass in document order meets
    /// it, even when the decision stops to await a scheme and runs again: `a` sent twice
    /// (ambiguous), then `b` awaited and expired.
    #[test]
    fn a_refusal_after_a_wait_names_what_came_last() {
        const A_OR_B: Requirement = Requirement {
            alternatives: &[
                Alternative {
                    schemes: &[SchemeUse {
                        scheme: 0,
                        roles: &[],
                    }],
                },
                Alternative {
                    schemes: &[SchemeUse {
                        scheme: 1,
                        roles: &[],
                    }],
                },
            ],
        };
        static EITHER: Spec = Spec {
            title: "either",
            base_path: "",
            schemes: SPEC.schemes,
            root: A_OR_B,
            operations: &[],
        };
        struct ExpiresLater;
        impl Verifier for ExpiresLater {
            async fn verify(&self, _: VerifyRequest<'_>) -> Result<Verdict, VerifyError> {
                tokio::task::yield_now().await;
                Ok(Verdict::Expired)
            }
        }
        let app = Router::new().route("/any", get(who)).layer(
            AuthLayer::new(&EITHER, ExpiresLater).undocumented(Undocumented::RootRequirement),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let body = runtime.block_on(async {
            let request = http::Request::get("/any")
                .header("x-a", "one")
                .header("x-a", "two")
                .header("x-b", "old")
                .body(Body::empty())
                .expect("request");
            let response = match app.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .expect("body")
        });
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("expired"), "{body}");
    }

    /// A verifier that never answers at once: after it has been awaited, the layer stops
    /// trying, and every answer still comes from `verify`.
    #[test]
    fn a_verifier_that_always_waits_is_awaited_every_time() {
        struct Waits(AtomicUsize);
        impl Verifier for Waits {
            async fn verify(&self, request: VerifyRequest<'_>) -> Result<Verdict, VerifyError> {
                self.0.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                Ok(verdict(request))
            }
        }
        let verifier = Arc::new(Waits(AtomicUsize::new(0)));
        let app = Router::new()
            .route("/both", get(who))
            .layer(AuthLayer::new(&SPEC, verifier.clone()));
        for round in 1..=3 {
            assert_eq!(
                send(&app, "/both", "good", "good"),
                (StatusCode::OK, "a,b".into())
            );
            assert_eq!(
                send(&app, "/both", "good", "bad").0,
                StatusCode::UNAUTHORIZED
            );
            assert_eq!(verifier.0.load(Ordering::SeqCst), 4 * round);
        }
    }
}
