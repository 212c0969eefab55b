//! The tower layer that enforces a spec over a whole `Router`.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::IntoMakeService;
use http::Request;
use tower_layer::Layer;
use tower_service::Service;

use crate::guard::Guard;
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
    /// inside the router does (the guard finds the operation itself), without axum's
    /// per-route layering. Serve it with
    /// [`AuthService::into_make_service`]:
    ///
    /// ```
    /// # static SPEC: keygate::Spec = keygate::Spec {
    /// #     title: "t",
    /// #     base_path: "",
    /// #     schemes: &[],
    /// #     root: keygate::spec::Requirement::PUBLIC,
    /// #     operations: &[],
    /// # };
    /// # let layer = keygate::AuthLayer::new(&SPEC, keygate::StaticKeys::new());
    /// # let router = axum::Router::new();
    /// let app = layer.around(router); // `api::layer(keys).around(router)`
    /// // then `axum::serve(listener, app.into_make_service()).await?`
    /// let _make_service = app.into_make_service();
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
    /// One box per request, as axum's `middleware::from_fn` makes.
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is not ready yet; keep the one that is (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match guard.authorize_request(&parts).await {
                Ok(authenticated) => {
                    parts.extensions.insert(authenticated.with_guard(guard));
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
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

    /// Answers scheme `a` at once and `b` after a real wait; counts each scheme's
    /// verifications.
    #[derive(Default)]
    struct Mixed {
        a: AtomicUsize,
        b: AtomicUsize,
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
            if request.scheme.name == "a" {
                self.a.fetch_add(1, Ordering::SeqCst);
            } else {
                self.b.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            Ok(verdict(request))
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
    fn each_scheme_is_verified_once_and_only_when_needed() {
        let verifier = Arc::new(Mixed::default());
        let app = Router::new()
            .route("/both", get(who))
            .route("/b", get(who))
            .layer(AuthLayer::new(&SPEC, verifier.clone()));
        let counts = || {
            (
                verifier.a.load(Ordering::SeqCst),
                verifier.b.load(Ordering::SeqCst),
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

    /// The refusal names what the decision met last, in document order: `a` sent twice
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

    /// A verifier that always waits is asked once per scheme and request, every time.
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
