//! Hostile requests against real servers: the modules of `specs/keys.yaml` and
//! `specs/petstore.yaml` behind a `Keyring` over a `MemoryStore` that holds one valid key.
//! Requests go over a raw TCP stream, so bytes no HTTP client would send (control bytes,
//! obs-text, folded or repeated headers) reach the server as written.
//!
//! Every row names the status it must get: 400 where the HTTP parser refuses the bytes,
//! 401 where keygate reads the credential and refuses it (SEMANTICS §3, §5). Never a 5xx,
//! never a dropped connection, and nothing the request carried may come back in the
//! status line, the headers or the body. A 401 body is the one a request without any
//! credential gets, unless the credential was sent twice (its own `detail`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use base64::Engine as _;
use keygate::keys::{secret_part, KeyFormat, KeyStore, Keyring, MemoryStore, NewKey, Permissions};
use keygate_tests::{keys, petstore};
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The `detail` of a 401 for a credential sent more than once (SEMANTICS §3).
const DETAIL_AMBIGUOUS: &str =
    "A credential was sent more than once; send each credential exactly once.";
/// The `detail` of every other 401 here.
const DETAIL_INVALID: &str = "A valid credential is required for this operation.";

/// Which server a row goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App {
    /// `specs/keys.yaml`: `/things` (X-API-Key), `/basic/things`, `/apps/things` (pair).
    Keys,
    /// `specs/petstore.yaml` under `/v1`: `/stats` (X-API-Key), `/pets/{id}` (query
    /// `api_key` or cookie `session`), `/me` (bearer or basic).
    Pets,
}

/// One request and what it must get.
struct Row {
    name: String,
    app: App,
    /// `GET <target>`; the target may hold raw bytes.
    target: Vec<u8>,
    /// Raw header lines, without CRLF.
    headers: Vec<Vec<u8>>,
    status: u16,
    /// Byte strings that must not appear anywhere in the response.
    needles: Vec<Vec<u8>>,
}

/// The valid key, in the pieces clients send.
struct Valid {
    id: String,
    full: String,
    secret: String,
}

impl Valid {
    /// The full key with one byte replaced.
    fn with_byte(&self, at: usize, byte: u8) -> Vec<u8> {
        let mut key = self.full.clone().into_bytes();
        key[at] = byte;
        key
    }
}

fn line(name: &str, value: &[u8]) -> Vec<u8> {
    let mut line = format!("{name}: ").into_bytes();
    line.extend_from_slice(value);
    line
}

fn b64(text: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A row whose needles are every header value and query value of 8 bytes or more,
/// plus `extra`.
fn row(
    name: impl Into<String>,
    app: App,
    target: impl Into<Vec<u8>>,
    headers: Vec<Vec<u8>>,
    status: u16,
    extra: &[&[u8]],
) -> Row {
    let target = target.into();
    let mut needles: Vec<Vec<u8>> = extra.iter().map(|e| e.to_vec()).collect();
    for header in &headers {
        let value = match header.iter().position(|&b| b == b':') {
            Some(colon) => header[colon + 1..].trim_ascii(),
            None => &header[..],
        };
        needles.push(value.to_vec());
        // Each cookie and each part after a scheme word is a value of its own.
        needles.extend(value.split(|&b| b == b';' || b == b' ').map(<[u8]>::to_vec));
    }
    if let Some(query) = target.splitn(2, |&b| b == b'?').nth(1) {
        needles.extend(query.split(|&b| b == b'&').map(|pair| {
            let value = pair.splitn(2, |&b| b == b'=').nth(1).unwrap_or(pair);
            value.to_vec()
        }));
    }
    needles.retain(|needle| needle.len() >= 8);
    Row {
        name: name.into(),
        app,
        target,
        headers,
        status,
        needles,
    }
}

fn header_row(name: &str, app: App, path: &str, header: &str, value: &[u8], status: u16) -> Row {
    row(name, app, path, vec![line(header, value)], status, &[])
}

/// `X-API-Key` on `/things`.
fn api_key(name: &str, value: &[u8], status: u16) -> Row {
    header_row(name, App::Keys, "/things", "X-API-Key", value, status)
}

/// `Authorization` on `/v1/me` (bearer or basic).
fn authorization(name: &str, value: &[u8], status: u16) -> Row {
    header_row(name, App::Pets, "/v1/me", "Authorization", value, status)
}

/// `Authorization: Basic` on `/basic/things`, with the decoded pair as a needle too.
fn basic(name: &str, token: &str, decoded: &[u8]) -> Row {
    let value = format!("Basic {token}");
    row(
        name,
        App::Keys,
        "/basic/things",
        vec![line("Authorization", value.as_bytes())],
        401,
        &[decoded],
    )
}

/// `Cookie` lines on `/v1/pets/1` (query key or session cookie).
fn cookies(name: &str, lines: &[&[u8]]) -> Row {
    let headers = lines.iter().map(|value| line("Cookie", value)).collect();
    row(name, App::Pets, "/v1/pets/1", headers, 401, &[])
}

/// A query on `/v1/pets/1`.
fn query(name: &str, query: &[u8], status: u16) -> Row {
    let mut target = b"/v1/pets/1?".to_vec();
    target.extend_from_slice(query);
    row(name, App::Pets, target, Vec::new(), status, &[])
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// One row per line reads as a table; rustfmt would spread each over several.
#[rustfmt::skip]
fn rows(key: &Valid) -> Vec<Row> {
    let k = key.full.as_bytes();
    let (id, secret) = (key.id.as_str(), key.secret.as_str());
    let format = KeyFormat::default();
    let unknown = format.generate().expect("generate a key");
    let wrong_secret = format.generate_secret(id).expect("generate a secret");
    let big = format!("kg_{}", "a".repeat(8 * 1024));
    let mut rows = vec![
        // ---- control bytes and non-ASCII in header values
        api_key("key with a SOH byte", &key.with_byte(10, 0x01), 400),
        api_key("key ending in DEL", &concat(&[k, b"\x7f"]), 400),
        api_key("key after a NUL", &concat(&[b"\0", k]), 400),
        api_key("key with ESC", &key.with_byte(20, 0x1b), 400),
        api_key("key with a bare CR", &concat(&[k, b"\rX-Injected: 1"]), 400),
        api_key("key with obs-text", &concat(&[k, b"\xff\xfe"]), 401),
        api_key("key with a byte 0x80", &key.with_byte(5, 0x80), 401),
        api_key("key in Cyrillic UTF-8", "kg_ключ_секрет".as_bytes(), 401),
        api_key("key followed by a no-break space", &concat(&[k, "\u{a0}".as_bytes()]), 401),
        row("control byte in a header name", App::Keys, "/things", vec![concat(&[b"X-API-Key\x01: ", k])], 400, &[]),
        row("space before the colon", App::Keys, "/things", vec![concat(&[b"X-API-Key : ", k])], 400, &[]),
        row("folded header line", App::Keys, "/things", vec![concat(&[b"X-API-Key: kg_\r\n ", k])], 400, &[]),
        authorization("bearer token with obs-text", &concat(&[b"Bearer ", k, b"\xff"]), 401),
        authorization("bearer token with a vertical tab", &concat(&[b"Bearer ", k, b"\x0b"]), 400),
        cookies("cookie with obs-text", &[&concat(&[b"session=", k, b"\xfe"])]),
        query("raw UTF-8 in the query", "api_key=ключ-секрет-ключ".as_bytes(), 401),
        query("raw 0xff in the query", &concat(&[b"api_key=", k, b"\xff"]), 400),
        query("raw space in the query", &concat(&[b"api_key=", k, b" x"]), 400),
        // ---- size
        api_key("an 8 KB key", big.as_bytes(), 401),
        api_key("the key repeated to 8 KB", &k.repeat(8 * 1024 / k.len() + 1), 401),
        authorization("an 8 KB bearer token", format!("Bearer {big}").as_bytes(), 401),
        cookies("an 8 KB cookie", &[format!("session={big}").as_bytes()]),
        query("an 8 KB query key", format!("api_key={big}").as_bytes(), 401),
        basic("an 8 KB Basic pair", &b64(format!("{id}:{big}").as_bytes()), big.as_bytes()),
        // ---- repeats (SEMANTICS §3: two values are ambiguous, never one picked)
        row("X-API-Key twice", App::Keys, "/things", vec![line("X-API-Key", k), line("X-API-Key", k)], 401, &[]),
        row("X-API-Key twice, the second empty", App::Keys, "/things", vec![line("X-API-Key", k), line("X-API-Key", b"")], 401, &[]),
        row("X-API-Key twice in other cases", App::Keys, "/things", vec![line("x-api-key", k), line("X-API-KEY", k)], 401, &[]),
        api_key("two keys in one line", &concat(&[k, b", ", k]), 401),
        row("Authorization twice", App::Pets, "/v1/me", vec![line("Authorization", &concat(&[b"Bearer ", k])), line("Authorization", &concat(&[b"Bearer ", k]))], 401, &[]),
        row("Bearer and Basic together", App::Pets, "/v1/me", vec![line("Authorization", &concat(&[b"Bearer ", k])), line("Authorization", format!("Basic {}", b64(format!("{id}:{secret}").as_bytes())).as_bytes())], 401, &[secret.as_bytes()]),
        query("the query key twice", &concat(&[b"api_key=", k, b"&api_key=", k]), 401),
        query("the query key twice, the second empty", &concat(&[b"api_key=", k, b"&api_key="]), 401),
        query("the query key twice, once encoded", &concat(&[b"api_key=", k, b"&api%5Fkey=", k]), 401),
        row("the key id twice in a pair", App::Keys, "/apps/things", vec![line("X-App-Id", id.as_bytes()), line("X-App-Id", id.as_bytes()), line("X-App-Secret", secret.as_bytes())], 401, &[]),
        row("the secret twice in a pair", App::Keys, "/apps/things", vec![line("X-App-Id", id.as_bytes()), line("X-App-Secret", secret.as_bytes()), line("X-App-Secret", secret.as_bytes())], 401, &[]),
        // ---- cookie syntax
        cookies("an empty Cookie line", &[b""]),
        cookies("a cookie without `=`", &[b"session"]),
        cookies("an empty session cookie", &[b"session="]),
        cookies("a cookie without a name", &[&concat(&[b"=", k])]),
        // RFC 6265 lets a cookie value travel in double quotes: the key inside is read.
        row("a quoted key", App::Pets, "/v1/pets/1", vec![line("Cookie", &concat(&[b"session=\"", k, b"\""]))], 200, &[]),
        cookies("the session cookie twice", &[&concat(&[b"session=", k, b"; session=", k])]),
        cookies("the session cookie on two lines", &[&concat(&[b"session=", k]), &concat(&[b"session=", k])]),
        cookies("a thousand other cookies", &[many_cookies(1000, None).as_bytes()]),
        cookies("a thousand cookies, the session twice", &[many_cookies(1000, Some(&key.full)).as_bytes()]),
        cookies("a comma as the separator", &[&concat(&[b"session=", k, b",theme=dark"])]),
        cookies("a space inside the value", &[&concat(&[b"session=", k, b" x"])]),
        cookies("the cookie name in another case", &[&concat(&[b"Session=", k])]),
        cookies("two equals signs", &[&concat(&[b"session==", k])]),
        cookies("only separators", &[b";;; ;"]),
        // ---- broken percent-encoding
        query("a percent sign and no digits", b"api_key=%zz-not-a-key", 401),
        query("the key with a trailing percent sign", &concat(&[b"api_key=", k, b"%"]), 401),
        query("percent-encoded bytes that are not UTF-8", b"api_key=%ff%fe%fd%fc%fb%fa", 401),
        query("an encoded NUL for the first byte", &concat(&[b"api_key=%00", &k[1..]]), 401),
        query("a percent sign and one digit", &concat(&[b"api_key=", k, b"%4"]), 401),
        query("a plus sign inside the key", &concat(&[b"api_key=", &k[..10], b"+", &k[10..]]), 401),
        // ---- HTTP Basic
        basic("Basic with bad base64", "!!!!not*base64!!!!", b""),
        basic("Basic without padding", b64(format!("{id}:{secret}x").as_bytes()).trim_end_matches('='), format!("{id}:{secret}x").as_bytes()),
        basic("Basic without a colon", &b64(format!("{id}{secret}").as_bytes()), secret.as_bytes()),
        basic("Basic with no token", "", b""),
        basic("Basic of a lone colon", &b64(b":"), b""),
        basic("Basic with an empty secret", &b64(format!("{id}:").as_bytes()), b""),
        basic("Basic with an empty key id", &b64(format!(":{secret}").as_bytes()), secret.as_bytes()),
        basic("Basic with a space inside the token", &{ let t = b64(format!("{id}:{secret}").as_bytes()); format!("{} {}", &t[..8], &t[8..]) }, secret.as_bytes()),
        basic("Basic of bytes that are not UTF-8", &b64(&concat(&[b"\xff\xfe:", secret.as_bytes()])), secret.as_bytes()),
        basic("Basic with another key id", &b64(format!("aaaaaaaaaaaa:{}", key.full).as_bytes()), k),
        basic("Basic with a wrong secret", &b64(format!("{id}:{}", wrong_secret.secret.expose_secret()).as_bytes()), wrong_secret.secret.expose_secret().as_bytes()),
        // ---- Bearer
        authorization("Bearer with no token", b"Bearer", 401),
        authorization("Bearer and spaces", b"Bearer      ", 401),
        authorization("Bearer glued to the key", &concat(&[b"Bearer", k]), 401),
        authorization("Bearer with a second word", &concat(&[b"Bearer ", k, b" extra"]), 401),
        authorization("Bearer with extra spaces inside the key", &concat(&[b"Bearer  ", &k[..12], b"  ", &k[12..]]), 401),
        authorization("Bearer with a quoted key", &concat(&[b"Bearer \"", k, b"\""]), 401),
        authorization("lowercase bearer, bad checksum", &concat(&[b"bearer ", &key.with_byte(key.full.len() - 1, flip(k[k.len() - 1]))]), 401),
        authorization("another scheme word", &concat(&[b"Token ", k]), 401),
        // ---- keys that are not the key
        api_key("bad checksum", &key.with_byte(key.full.len() - 1, flip(k[k.len() - 1])), 401),
        api_key("a secret byte changed", &key.with_byte(key.full.len() - 10, flip(k[k.len() - 10])), 401),
        api_key("wrong prefix", &concat(&[b"xx", &k[2..]]), 401),
        api_key("truncated", &k[..k.len() - 1], 401),
        api_key("an extra character", &concat(&[k, b"A"]), 401),
        api_key("key id in upper case", key.full.to_ascii_uppercase().as_bytes(), 401),
        api_key("an unknown key id, valid checksum", unknown.full.expose_secret().as_bytes(), 401),
        api_key("the right key id, a wrong secret", wrong_secret.full.expose_secret().as_bytes(), 401),
        api_key("the key id alone", format!("kg_{id}").as_bytes(), 401),
        api_key("the secret alone", secret.as_bytes(), 401),
        api_key("doubled separators", key.full.replace('_', "__").as_bytes(), 401),
        // ---- key pairs
        row("a key id without its secret", App::Keys, "/apps/things", vec![line("X-App-Id", id.as_bytes())], 401, &[]),
        row("a key id with a wrong secret", App::Keys, "/apps/things", vec![line("X-App-Id", id.as_bytes()), line("X-App-Secret", wrong_secret.secret.expose_secret().as_bytes())], 401, &[]),
        row("a pair with another key id", App::Keys, "/apps/things", vec![line("X-App-Id", b"aaaaaaaaaaaa"), line("X-App-Secret", secret.as_bytes())], 401, &[]),
    ];
    // Every row also keeps the valid key out of the answer.
    for row in &mut rows {
        row.needles.push(k.to_vec());
        row.needles.push(secret.as_bytes().to_vec());
    }
    rows
}

/// Another base62 character in place of `b`.
fn flip(b: u8) -> u8 {
    if b == b'A' {
        b'B'
    } else {
        b'A'
    }
}

/// `n` cookies `c0=v0; c1=v1; ...`, with `session=<key>` twice in the middle if given.
fn many_cookies(n: usize, session: Option<&str>) -> String {
    let mut parts: Vec<String> = (0..n).map(|i| format!("c{i}=value{i}")).collect();
    if let Some(key) = session {
        parts.insert(n / 3, format!("session={key}"));
        parts.insert(2 * n / 3, format!("session={key}"));
    }
    parts.join("; ")
}

/// Control rows: lookalikes of the hostile rows that SEMANTICS §3 accepts, so the 401s
/// above come from the credential, not from a server that refuses everything.
#[rustfmt::skip]
fn accepted(key: &Valid) -> Vec<Row> {
    let k = key.full.as_bytes();
    let pair = b64(format!("{}:{}", key.id, key.secret).as_bytes());
    let encoded: String = key.full.bytes().map(|b| format!("%{b:02X}")).collect();
    vec![
        api_key("the key", k, 200),
        api_key("the key with spaces around it", &concat(&[b"  ", k, b"\t "]), 200),
        authorization("Bearer", &concat(&[b"Bearer ", k]), 200),
        authorization("lowercase bearer", &concat(&[b"bearer ", k]), 200),
        authorization("Bearer with extra spaces", &concat(&[b"Bearer    ", k]), 200),
        basic_ok("Basic id:secret", &pair),
        query("the query key", &concat(&[b"api_key=", k]), 200),
        query("the query key, percent-encoded", format!("api_key={encoded}").as_bytes(), 200),
        row("the session cookie among others", App::Pets, "/v1/pets/1", vec![line("Cookie", &concat(&[b"a=1; session=", k, b"; b=2"]))], 200, &[]),
        row("a key pair", App::Keys, "/apps/things", vec![line("X-App-Id", key.id.as_bytes()), line("X-App-Secret", key.secret.as_bytes())], 200, &[]),
        row("the anonymous alternative", App::Pets, "/v1/pets", Vec::new(), 200, &[]),
    ]
}

fn basic_ok(name: &str, token: &str) -> Row {
    let value = format!("Basic {token}");
    row(
        name,
        App::Keys,
        "/basic/things",
        vec![line("Authorization", value.as_bytes())],
        200,
        &[],
    )
}

/// A response, read to the end of the connection.
struct Raw {
    bytes: Vec<u8>,
}

impl Raw {
    fn status(&self) -> Option<u16> {
        let text = std::str::from_utf8(self.bytes.get(..12)?).ok()?;
        text.strip_prefix("HTTP/1.1 ")?.parse().ok()
    }

    fn split(&self) -> (&[u8], &[u8]) {
        match self.bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => (&self.bytes[..end], &self.bytes[end + 4..]),
            None => (&self.bytes[..], &[]),
        }
    }

    fn header(&self, name: &str) -> Vec<String> {
        let (head, _) = self.split();
        head.split(|&b| b == b'\n')
            .filter_map(|line| {
                let line = String::from_utf8_lossy(line);
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_owned())
            })
            .collect()
    }
}

/// Writes `request` as it is and reads until the server closes the connection.
async fn send(address: SocketAddr, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(request).await.expect("write the request");
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 4096];
        // A reset after the answer (the server refused and closed) keeps what came.
        while let Ok(n) = stream.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    assert!(read.is_ok(), "the server did not close the connection");
    Raw { bytes }
}

fn request(row: &Row) -> Vec<u8> {
    let mut out = b"GET ".to_vec();
    out.extend_from_slice(&row.target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for header in &row.headers {
        out.extend_from_slice(header);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The two servers and the one valid key.
struct Lab {
    keys: SocketAddr,
    pets: SocketAddr,
    key: Valid,
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    address
}

async fn lab() -> Lab {
    let store = Arc::new(MemoryStore::new());
    let issued = store
        .create(NewKey::new("hostile").permissions(Permissions::full()))
        .await
        .expect("create the key");
    let full = issued.key.expose_secret().to_owned();
    let key = Valid {
        id: issued.record.id.clone(),
        secret: secret_part(&full).expose_secret().to_owned(),
        full,
    };
    // Every request gets past the layer to this handler, documented or not.
    let ok = || async { "ok" };
    let keyring =
        Keyring::from_arc(Arc::clone(&store)).pair(keys::scheme::APP_ID, keys::scheme::APP_SECRET);
    let keys_app = Router::new().fallback(ok).layer(keys::layer(keyring));
    let pets_app = Router::new()
        .fallback(ok)
        .layer(petstore::layer(Keyring::from_arc(store)));
    Lab {
        keys: serve(keys_app).await,
        pets: serve(pets_app).await,
        key,
    }
}

impl Lab {
    fn address(&self, app: App) -> SocketAddr {
        match app {
            App::Keys => self.keys,
            App::Pets => self.pets,
        }
    }

    /// The body of a 401 for a request with no credential at all.
    async fn bare_401(&self, app: App, target: &[u8]) -> Vec<u8> {
        let path = target.split(|&b| b == b'?').next().unwrap_or_default();
        let row = row("bare", app, path, Vec::new(), 401, &[]);
        let raw = send(self.address(app), &request(&row)).await;
        assert_eq!(
            raw.status(),
            Some(401),
            "no credential on {}",
            String::from_utf8_lossy(path)
        );
        raw.split().1.to_vec()
    }

    /// Why the row's answer is wrong, if it is.
    async fn check(&self, row: &Row) -> Option<String> {
        let raw = send(self.address(row.app), &request(row)).await;
        let Some(status) = raw.status() else {
            return Some(format!(
                "no HTTP answer: {:?}",
                String::from_utf8_lossy(&raw.bytes)
            ));
        };
        let mut wrong = Vec::new();
        if status != row.status {
            wrong.push(format!("status {status}, want {}", row.status));
        }
        for needle in &row.needles {
            if contains(&raw.bytes, needle) {
                let shown = String::from_utf8_lossy(&needle[..needle.len().min(40)]).into_owned();
                wrong.push(format!("the answer echoes {shown:?}"));
            }
        }
        if status == 401 {
            let (_, body) = raw.split();
            let detail = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|json| json["detail"].as_str().map(str::to_owned));
            match detail.as_deref() {
                Some(DETAIL_INVALID) => {
                    if body != self.bare_401(row.app, &row.target).await {
                        wrong.push("the body differs from a 401 without a credential".to_owned());
                    }
                }
                Some(DETAIL_AMBIGUOUS) => {}
                other => wrong.push(format!("401 with detail {other:?}")),
            }
            if raw.header("www-authenticate").is_empty() {
                wrong.push("401 without WWW-Authenticate".to_owned());
            }
            if raw.header("content-type") != ["application/problem+json"] {
                wrong.push(format!("content type {:?}", raw.header("content-type")));
            }
        }
        (!wrong.is_empty()).then(|| wrong.join("; "))
    }
}

#[tokio::test]
async fn hostile_requests_get_400_or_401_and_no_echo() {
    let lab = lab().await;
    let mut failures = Vec::new();
    for row in accepted(&lab.key) {
        if let Some(why) = lab.check(&row).await {
            failures.push(format!("accepted: {}: {why}", row.name));
        }
    }
    let rows = rows(&lab.key);
    let (mut refused_by_http, mut refused_by_keygate) = (0, 0);
    for row in &rows {
        match row.status {
            400 => refused_by_http += 1,
            _ => refused_by_keygate += 1,
        }
        if let Some(why) = lab.check(row).await {
            failures.push(format!("{}: {why}", row.name));
        }
    }
    // The servers are still there: no row took them down.
    for row in accepted(&lab.key).iter().take(1) {
        if let Some(why) = lab.check(row).await {
            failures.push(format!("after the table: {}: {why}", row.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    let n = rows.len();
    assert!(n >= 40, "only {n} rows");
    eprintln!(
        "hostile requests: {n} rows ({refused_by_http} refused with 400, {refused_by_keygate} \
         with 401), none echoed"
    );
}
