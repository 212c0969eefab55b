//! A real axum server on 127.0.0.1 and a small HTTP client for it.

use axum::Router;
use keygate::AuthService;
pub(crate) use keygate_tests::TempDir;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;

/// A server running on a loopback port for the rest of the test.
pub(crate) struct Server {
    base: String,
    client: reqwest::Client,
}

/// Serves `app` on 127.0.0.1 with an OS-chosen port. The server task ends with the
/// test's runtime.
pub(crate) async fn spawn(app: Router) -> Server {
    let listener = bind().await;
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    client_for(address)
}

/// [`spawn`] for a layer wrapped around a whole router (`AuthLayer::around`).
pub(crate) async fn spawn_around(app: AuthService<Router>) -> Server {
    let listener = bind().await;
    let address = listener.local_addr().expect("local address");
    let app = app.into_make_service();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    client_for(address)
}

async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0")
}

fn client_for(address: std::net::SocketAddr) -> Server {
    // no_proxy: a proxy from the environment must never see these requests.
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    Server {
        base: format!("http://{address}"),
        client,
    }
}

/// What came back, read completely.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// Every `WWW-Authenticate` field line, in order.
    pub(crate) www_authenticate: Vec<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
    /// The body, when it parses as JSON.
    pub(crate) json: Option<serde_json::Value>,
}

impl Server {
    /// Sends one request. `path` may carry a query; `headers` are appended in order, so
    /// a name given twice is sent as two field lines. Values are sent as raw bytes (a
    /// non-ASCII `&str` becomes obs-text, which servers cannot read as a string).
    pub(crate) async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
            let value = HeaderValue::from_bytes(value.as_bytes()).expect("header value");
            map.append(name, value);
        }
        read(self.request(method, path).headers(map)).await
    }

    /// Sends one request with HTTP Basic credentials, encoded by reqwest.
    pub(crate) async fn send_basic(
        &self,
        method: &str,
        path: &str,
        user: &str,
        password: &str,
    ) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        read(self.request(method, path).basic_auth(user, Some(password))).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }
}

/// Sends a request and reads the whole answer.
async fn read(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("request to the test server");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = |value: &HeaderValue| String::from_utf8_lossy(value.as_bytes()).into_owned();
    let www_authenticate = headers.get_all(WWW_AUTHENTICATE).iter().map(text).collect();
    let content_type = headers.get(CONTENT_TYPE).map(text);
    let body = response.text().await.expect("response body");
    let json = serde_json::from_str(&body).ok();
    Reply {
        status,
        www_authenticate,
        content_type,
        headers,
        body,
        json,
    }
}
