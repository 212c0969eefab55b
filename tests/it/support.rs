//! A real axum server on 127.0.0.1 and a small HTTP client for it.

use axum::Router;
use keygate::AuthService;
pub(crate) use keygate_tests::TempDir;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;

/// A server running on a loopback port for the rest of the test.
pub(crate) struct Server {
    address: std::net::SocketAddr,
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

/// [`spawn`] on a thread and runtime of the server's own, never joined: a test whose
/// server may hang (a matcher stuck on a hostile path) still ends, and fails.
pub(crate) fn spawn_detached(app: Router) -> Server {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let listener = bind().await;
            let address = listener.local_addr().expect("local address");
            sender.send(address).expect("send the address");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    client_for(receiver.recv().expect("the server's address"))
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
        address,
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

    /// Sends one request with a body (JSON, as the admin API reads it).
    pub(crate) async fn send_body(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
            let value = HeaderValue::from_bytes(value.as_bytes()).expect("header value");
            map.append(name, value);
        }
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        read(
            self.request(method, path)
                .headers(map)
                .body(body.to_owned()),
        )
        .await
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

    /// Sends one request over a fresh TCP connection with `target` exactly as given (no
    /// client normalises it), and reads the answer until the server closes. A blocking
    /// socket on its own thread: its timeout holds even when the server stalls the
    /// test's runtime.
    pub(crate) async fn send_raw(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
    ) -> RawReply {
        use std::io::{Read as _, Write as _};
        let mut request =
            format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let address = self.address;
        let exchange = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(address)?;
            // Generous: only a server that hangs on the request misses it.
            stream.set_read_timeout(Some(std::time::Duration::from_secs(60)))?;
            stream.write_all(request.as_bytes())?;
            let mut bytes = Vec::new();
            stream.read_to_end(&mut bytes).map(|_| bytes)
        });
        let shown = &target[..target.len().min(80)];
        match exchange.await.expect("the request thread") {
            Ok(bytes) => RawReply::parse(&bytes),
            Err(error) => panic!("{method} {shown}: no complete answer: {error}"),
        }
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

/// An answer read off the wire.
#[derive(Debug)]
pub(crate) struct RawReply {
    pub(crate) status: u16,
    /// The header lines, as sent.
    pub(crate) head: String,
    pub(crate) body: String,
}

impl RawReply {
    fn parse(bytes: &[u8]) -> RawReply {
        let text = String::from_utf8_lossy(bytes);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        RawReply {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        }
    }

    /// The value of the first field line named `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}
