//! Key-count scaling of `Keyring` over `CachedStore`: the same figures for stores of
//! 1,000, 100,000 and 1,000,000 keys side by side, with PASS or MISS against issue 27's
//! targets.
//!
//! `cargo run --release -p keygate-bench --bin scale_report -- [OPTIONS]`
//!
//! - `--sizes A,B,C`   key counts (default 1000,100000,1000000; the first is the reference)
//! - `--serve-secs N`  seconds of serving one key 50 times a second (default 10)
//! - `--rounds N`      interleaved timing rounds (default 15)
//!
//! SQLite always; PostgreSQL when `KEYGATE_TEST_DATABASE_URL` is set, in schemas
//! `kgbench_scale_<size>` that are dropped at the end. Set-up is not measured: one key is
//! created through the store (the one verified), and the others are copies of its row
//! under generated ids, inserted by one SQL statement (`fill_*`), so a million keys take
//! seconds rather than the store's one transaction per key.
//!
//! Per store and size, a child process of its own (so its CPU time and RSS are its own)
//! does what an app does: opens the store, wraps it in `CachedStore` with its change
//! watcher (`watch_other_writers(100 ms)`, `listen_for_changes()`) and a `Keyring`, and
//! verifies the key. It reports:
//! - **startup**: CPU time from opening until the first verification granted, plus the
//!   background work that start set off (until a 500 ms window with under 10 ms of CPU);
//! - **check_names**: `Keyring::check_names`, the optional startup check (wall time);
//! - **idle serving**: CPU per second of wall time while verifying the key 50 times a
//!   second for `--serve-secs` (periodic work shows here);
//! - **RSS** after serving (VmRSS).
//!
//! Then one child per store opens every size at once and times, in rounds rotating over
//! the sizes: a **hit** (the key, cached), a **miss** (the key after `invalidate_key`: one
//! store read), and an **unknown id** (a well-formed made-up key, new each time). Each
//! figure is the median over rounds of a block's time per verification; ratios are to the
//! first size in the same run.

#[allow(dead_code)]
#[path = "../stats.rs"]
mod stats;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use keygate::keys::{
    CachedStore, KeyFormat, KeyStore, Keyring, NewKey, Permissions, PostgresStore, SqliteStore,
};
use keygate::spec::{Location, Scheme, SchemeKind};
use keygate::{Credential, OperationRef, Verdict, Verifier, VerifyRequest};
use keygate_bench::TempDir;
use secrecy::{ExposeSecret, SecretString};
use stats::{verdict, Samples};

const API_KEY: Scheme = Scheme {
    name: "api_key",
    kind: SchemeKind::ApiKey {
        location: Location::Header,
        name: "X-API-Key",
    },
};

const OPERATION: OperationRef<'static> = OperationRef {
    method: "GET",
    path: "/things",
    operation_id: Some("listThings"),
};

/// Verifications per block: hits, misses and unknown ids.
const HITS: usize = 2_000;
const MISSES: usize = 200;

/// The id of row `g` of a fill: the row number times an odd constant modulo 2^48 (so
/// distinct for distinct rows), in hex with the digits base32 lacks mapped to letters.
/// SQLite and PostgreSQL spell it alike.
const ID_SQLITE: &str = "replace(replace(replace(replace(\
     printf('%012x', (g.n * 25214903917) & 281474976710655), \
     '0', 'w'), '1', 'x'), '8', 'y'), '9', 'z')";
const ID_POSTGRES: &str =
    "translate(lpad(to_hex((g.n * 25214903917) & 281474976710655), 12, '0'), \
     '0189', 'wxyz')";

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }

    fn parse(text: &str) -> Kind {
        match text {
            "postgres" => Kind::Postgres,
            _ => Kind::Sqlite,
        }
    }
}

/// A filled store: where it is (a file, or a schema) and its one usable key.
struct Filled {
    size: usize,
    location: String,
    key: String,
}

fn database_url() -> Option<String> {
    std::env::var("KEYGATE_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// This process's CPU time (user + system, every thread), in seconds.
fn cpu() -> f64 {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
        .expect("getrusage");
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(usage.user_time()) + secs(usage.system_time())
}

/// This process's resident set, in MB.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kib| kib * 1024.0 / 1e6)
}

async fn verify<S: KeyStore>(ring: &Keyring<S>, credential: &Credential) -> Verdict {
    let request = VerifyRequest::new(&API_KEY, credential, OPERATION);
    ring.verify(request).await.expect("verify")
}

fn credential(key: &str) -> Credential {
    Credential::Key(SecretString::from(key.to_owned()))
}

// ---- set-up ----

/// Creates the key to verify through the store and copies its row `size - 1` times.
async fn fill_sqlite(dir: &std::path::Path, size: usize) -> Filled {
    let path = dir.join(format!("scale-{size}.db"));
    let store = SqliteStore::open_or_create(&path).expect("create sqlite");
    let issued = store
        .create(NewKey::new("bench").permissions(Permissions::full()))
        .await
        .expect("create key");
    drop(store);
    let conn = rusqlite::Connection::open(&path).expect("open sqlite");
    let mut stmt = conn.prepare("PRAGMA table_info(keys)").expect("columns");
    let columns: Vec<String> = stmt
        .query_map([], |row| row.get::<_, String>(1))
        .expect("columns")
        .collect::<Result<_, _>>()
        .expect("columns");
    drop(stmt);
    let list = columns.join(", ");
    let values = columns
        .iter()
        .map(|c| {
            if c == "id" {
                ID_SQLITE.to_owned()
            } else {
                format!("t.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT OR IGNORE INTO keys ({list}) \
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?1) \
         SELECT {values} FROM g, keys AS t WHERE t.id = ?2"
    );
    let rows = i64::try_from(size - 1).expect("size");
    conn.execute(&sql, rusqlite::params![rows, issued.record.id])
        .expect("fill sqlite");
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");
    Filled {
        size,
        location: path.display().to_string(),
        key: issued.key.expose_secret().to_owned(),
    }
}

fn schema(size: usize) -> String {
    format!("kgbench_scale_{size}")
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to KEYGATE_TEST_DATABASE_URL");
    tokio::spawn(connection);
    client
}

async fn fill_postgres(url: &str, size: usize) -> Filled {
    let schema = schema(size);
    let client = admin(url).await;
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .expect("drop schema");
    let store = PostgresStore::builder(url)
        .schema(&schema)
        .connect()
        .await
        .expect("connect store");
    let issued = store
        .create(NewKey::new("bench").permissions(Permissions::full()))
        .await
        .expect("create key");
    drop(store);
    let columns: Vec<String> = client
        .query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name = 'keys' ORDER BY ordinal_position",
            &[&schema],
        )
        .await
        .expect("columns")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let list = columns.join(", ");
    let values = columns
        .iter()
        .map(|c| {
            if c == "id" {
                ID_POSTGRES.to_owned()
            } else {
                format!("t.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rows = i64::try_from(size - 1).expect("size");
    let sql = format!(
        "INSERT INTO {schema}.keys ({list}) SELECT {values} \
         FROM generate_series(1::bigint, $1) AS g(n), {schema}.keys AS t WHERE t.id = $2 \
         ON CONFLICT DO NOTHING"
    );
    client
        .execute(&sql, &[&rows, &issued.record.id])
        .await
        .expect("fill postgres");
    client
        .batch_execute(&format!("ANALYZE {schema}.keys"))
        .await
        .expect("analyze");
    Filled {
        size,
        location: schema,
        key: issued.key.expose_secret().to_owned(),
    }
}

async fn drop_schemas(url: &str, sizes: &[usize]) {
    let client = admin(url).await;
    for &size in sizes {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", schema(size));
        if let Err(e) = client.batch_execute(&sql).await {
            eprintln!("cannot drop {}: {e}", schema(size));
        }
    }
}

// ---- children ----

/// What an app does at start: the store, its cache with the change watcher, a keyring.
async fn open_sqlite(path: &str) -> Keyring<CachedStore<SqliteStore>> {
    let store = SqliteStore::open(path).expect("open sqlite");
    Keyring::new(CachedStore::new(store).watch_other_writers(Duration::from_millis(100)))
}

async fn open_postgres(schema: &str) -> Keyring<CachedStore<PostgresStore>> {
    let url = database_url().expect("KEYGATE_TEST_DATABASE_URL");
    let store = PostgresStore::builder(&url)
        .schema(schema)
        .connect()
        .await
        .expect("connect store");
    Keyring::new(CachedStore::new(store).listen_for_changes())
}

fn report(name: &str, value: f64) {
    println!("figure {name} {value}");
}

/// Startup, `check_names`, idle serving and RSS of one store (see the module docs).
async fn child_startup<S, F>(open: F, key: &str, serve_secs: u64)
where
    S: KeyStore,
    F: std::future::Future<Output = Keyring<CachedStore<S>>>,
{
    let key = credential(key);
    let (cpu0, started) = (cpu(), Instant::now());
    let ring = open.await;
    let first = verify(&ring, &key).await;
    assert!(matches!(first, Verdict::Granted(_)), "first: {first:?}");
    report("first_wall", started.elapsed().as_secs_f64());
    // Serving from here on; the start's background work (if any) ends with the first
    // half second of serving that costs under 10 ms of CPU (at most 300 s).
    loop {
        let before = cpu();
        serve(&ring, &key, Duration::from_millis(500)).await;
        if cpu() - before < 0.010 || started.elapsed() > Duration::from_secs(300) {
            break;
        }
    }
    report("startup_cpu", cpu() - cpu0);

    let checked = Instant::now();
    ring.check_names(keygate_bench::keys_spec())
        .await
        .expect("check_names");
    report("check_names_wall", checked.elapsed().as_secs_f64());

    let (cpu1, serving) = (cpu(), Instant::now());
    serve(&ring, &key, Duration::from_secs(serve_secs)).await;
    report(
        "serving_cpu_pct",
        (cpu() - cpu1) / serving.elapsed().as_secs_f64() * 100.0,
    );
    report("rss_mb", rss_mb());
}

/// Verifies `key` 50 times a second for `period`, as a lightly used app does.
async fn serve<S: KeyStore>(ring: &Keyring<S>, key: &Credential, period: Duration) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let started = Instant::now();
    while started.elapsed() < period {
        tick.tick().await;
        let answer = verify(ring, key).await;
        assert!(matches!(answer, Verdict::Granted(_)), "serving: {answer:?}");
    }
}

/// Nanoseconds per verification of `count` made by `each`.
async fn block<F, Fut>(count: usize, mut each: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    for i in 0..count {
        each(i).await;
    }
    started.elapsed().as_secs_f64() * 1e9 / count as f64
}

/// Hit, miss and unknown-id times of every size, in rounds rotating over the sizes.
async fn child_timing<S: KeyStore>(rings: Vec<(Keyring<CachedStore<S>>, String)>, rounds: usize) {
    let format = KeyFormat::default();
    let mut ready = Vec::new();
    for (ring, key) in rings {
        let key = credential(&key);
        let id = match verify(&ring, &key).await {
            Verdict::Granted(principal) => principal.id().to_owned(),
            other => panic!("warm-up: {other:?}"),
        };
        ready.push((ring, key, id));
    }
    let n = ready.len();
    let mut samples = vec![[Samples::default(), Samples::default(), Samples::default()]; n];
    for round in 0..rounds {
        for step in 0..n {
            let i = (round + step) % n;
            let (ring, key, id) = &ready[i];
            let hit = block(HITS, |_| async {
                assert!(matches!(verify(ring, key).await, Verdict::Granted(_)));
            })
            .await;
            let miss = block(MISSES, |_| async {
                ring.store().invalidate_key(id);
                assert!(matches!(verify(ring, key).await, Verdict::Granted(_)));
            })
            .await;
            let made_up: Vec<Credential> = (0..MISSES)
                .map(|_| credential(format.generate().expect("rng").full.expose_secret()))
                .collect();
            let unknown = block(MISSES, |j| {
                let made_up = &made_up[j];
                async move {
                    assert_eq!(verify(ring, made_up).await, Verdict::Invalid);
                }
            })
            .await;
            samples[i][0].0.push(hit);
            samples[i][1].0.push(miss);
            samples[i][2].0.push(unknown);
        }
    }
    for (i, [hit, miss, unknown]) in samples.iter().enumerate() {
        report(&format!("hit_ns_{i}"), hit.median());
        report(&format!("miss_ns_{i}"), miss.median());
        report(&format!("unknown_ns_{i}"), unknown.median());
    }
}

fn child(args: &[String]) {
    let (mode, kind) = (args[0].as_str(), Kind::parse(&args[1]));
    let runtime = runtime();
    let keys: Vec<String> = (0..args.len() - 2)
        .map(|i| std::env::var(format!("KEYGATE_BENCH_KEY_{i}")).expect("key in the environment"))
        .collect();
    let locations = &args[2..];
    runtime.block_on(async {
        match mode {
            "startup" => {
                let serve: u64 = std::env::var("KEYGATE_BENCH_SERVE_SECS")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(10);
                report("rss_start_mb", rss_mb());
                match kind {
                    Kind::Sqlite => {
                        child_startup(open_sqlite(&locations[0]), &keys[0], serve).await
                    }
                    Kind::Postgres => {
                        child_startup(open_postgres(&locations[0]), &keys[0], serve).await
                    }
                }
            }
            _ => {
                let rounds: usize = std::env::var("KEYGATE_BENCH_ROUNDS")
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(15);
                match kind {
                    Kind::Sqlite => {
                        let mut rings = Vec::new();
                        for (location, key) in locations.iter().zip(keys) {
                            rings.push((open_sqlite(location).await, key));
                        }
                        child_timing(rings, rounds).await;
                    }
                    Kind::Postgres => {
                        let mut rings = Vec::new();
                        for (location, key) in locations.iter().zip(keys) {
                            rings.push((open_postgres(location).await, key));
                        }
                        child_timing(rings, rounds).await;
                    }
                }
            }
        }
    });
}

// ---- the parent ----

/// Runs a child and returns its figures by name.
fn run_child(
    mode: &str,
    kind: Kind,
    filled: &[&Filled],
    env: &[(&str, String)],
) -> BTreeMap<String, f64> {
    let exe = std::env::current_exe().expect("current exe");
    let mut command = Command::new(exe);
    command.arg("--child").arg(mode).arg(kind.name());
    for (i, f) in filled.iter().enumerate() {
        command.arg(&f.location);
        command.env(format!("KEYGATE_BENCH_KEY_{i}"), &f.key);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run child");
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        panic!("{mode} child for {} failed: {}", kind.name(), output.status);
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("figure ")?.split(' ');
            let name = words.next()?.to_owned();
            Some((name, words.next()?.parse().ok()?))
        })
        .collect()
}

struct Options {
    sizes: Vec<usize>,
    serve_secs: u64,
    rounds: usize,
}

fn options(args: &[String]) -> Options {
    let mut options = Options {
        sizes: vec![1_000, 100_000, 1_000_000],
        serve_secs: 10,
        rounds: 15,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = args.next().map(String::as_str).unwrap_or_default();
        match arg.as_str() {
            "--sizes" => {
                options.sizes = value
                    .split(',')
                    .filter_map(|s| s.trim().parse().ok())
                    .collect();
            }
            "--serve-secs" => options.serve_secs = value.parse().unwrap_or(options.serve_secs),
            "--rounds" => options.rounds = value.parse().unwrap_or(options.rounds),
            other => eprintln!("unknown option {other}"),
        }
    }
    options
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child(&args[1..]);
        return ExitCode::SUCCESS;
    }
    let options = options(&args);
    if options.sizes.len() < 2 || options.sizes.contains(&0) {
        eprintln!("--sizes needs at least two key counts above zero");
        return ExitCode::FAILURE;
    }
    let runtime = runtime();
    let dir = TempDir::new("scale");
    let url = database_url();
    let mut kinds = vec![Kind::Sqlite];
    match &url {
        Some(_) => kinds.push(Kind::Postgres),
        None => println!("PostgreSQL skipped: KEYGATE_TEST_DATABASE_URL is not set"),
    }
    let env = [
        ("KEYGATE_BENCH_SERVE_SECS", options.serve_secs.to_string()),
        ("KEYGATE_BENCH_ROUNDS", options.rounds.to_string()),
    ];
    let mut all_pass = true;
    let mut csv = String::from("store,keys,startup_cpu_s,first_wall_s,check_names_s,serving_cpu_pct,rss_mb,hit_ns,miss_ns,unknown_ns\n");
    for kind in kinds {
        let mut filled = Vec::new();
        for &size in &options.sizes {
            let started = Instant::now();
            let f = match kind {
                Kind::Sqlite => runtime.block_on(fill_sqlite(dir.path(), size)),
                Kind::Postgres => {
                    runtime.block_on(fill_postgres(url.as_deref().unwrap_or(""), size))
                }
            };
            println!(
                "{}: {size} keys filled in {:.1} s (set-up, not measured)",
                kind.name(),
                started.elapsed().as_secs_f64()
            );
            filled.push(f);
        }
        let mut startup = Vec::new();
        for f in &filled {
            print!("{}: {} keys, startup child ... ", kind.name(), f.size);
            let _ = std::io::stdout().flush();
            let figures = run_child("startup", kind, &[f], &env);
            println!("done");
            startup.push(figures);
        }
        print!("{}: timing child, every size ... ", kind.name());
        let _ = std::io::stdout().flush();
        let timing = run_child("timing", kind, &filled.iter().collect::<Vec<_>>(), &env);
        println!("done");
        if let (Kind::Postgres, Some(url)) = (kind, &url) {
            runtime.block_on(drop_schemas(url, &options.sizes));
        }

        let get = |m: &BTreeMap<String, f64>, name: &str| m.get(name).copied().unwrap_or(f64::NAN);
        println!(
            "\n{} ({} keys first; ratios to it):",
            kind.name(),
            options.sizes[0]
        );
        let header: Vec<String> = options.sizes.iter().map(|s| format!("{s:>16}")).collect();
        println!("  {:<38}{}", "keys", header.join(""));
        let row = |label: &str, values: Vec<String>| {
            let cells: Vec<String> = values.iter().map(|v| format!("{v:>16}")).collect();
            println!("  {label:<38}{}", cells.join(""));
        };
        let of = |name: &str, digits: usize| -> Vec<String> {
            startup
                .iter()
                .map(|m| format!("{:.digits$}", get(m, name)))
                .collect()
        };
        row("startup: CPU s to serving", of("startup_cpu", 2));
        row("startup: wall s to first grant", of("first_wall", 3));
        row("check_names: wall s", of("check_names_wall", 3));
        row("idle serving (50/s): % of a core", of("serving_cpu_pct", 2));
        row("RSS after serving: MB", of("rss_mb", 1));
        let timed = |name: &str| -> Vec<f64> {
            (0..options.sizes.len())
                .map(|i| get(&timing, &format!("{name}_ns_{i}")))
                .collect()
        };
        let (hit, miss, unknown) = (timed("hit"), timed("miss"), timed("unknown"));
        let with_ratio = |v: &[f64]| -> Vec<String> {
            v.iter()
                .map(|x| format!("{:.0} ({:.2}x)", x, x / v[0]))
                .collect()
        };
        row("hit: ns (ratio)", with_ratio(&hit));
        row("miss: ns (ratio)", with_ratio(&miss));
        row("unknown id: ns (ratio)", with_ratio(&unknown));
        for (i, f) in filled.iter().enumerate() {
            let m = &startup[i];
            csv.push_str(&format!(
                "{},{},{:.3},{:.3},{:.3},{:.2},{:.1},{:.0},{:.0},{:.0}\n",
                kind.name(),
                f.size,
                get(m, "startup_cpu"),
                get(m, "first_wall"),
                get(m, "check_names_wall"),
                get(m, "serving_cpu_pct"),
                get(m, "rss_mb"),
                hit[i],
                miss[i],
                unknown[i]
            ));
        }

        let last = options.sizes.len() - 1;
        let largest = options.sizes[last];
        let checks = [
            (
                format!("startup <= 2 s of CPU at {largest} keys"),
                get(&startup[last], "startup_cpu") <= 2.0,
            ),
            (
                format!("hit within 1.2x of {} keys at {largest}", options.sizes[0]),
                hit[last] <= 1.2 * hit[0],
            ),
            (
                format!("miss within 2x of {} keys at {largest}", options.sizes[0]),
                miss[last] <= 2.0 * miss[0] && unknown[last] <= 2.0 * unknown[0],
            ),
            (
                // Periodic work proportional to the keys would grow with them.
                format!("idle serving at {largest} keys within 2x of {} keys (no periodic work per key)", options.sizes[0]),
                get(&startup[last], "serving_cpu_pct") <= 2.0 * get(&startup[0], "serving_cpu_pct").max(0.5),
            ),
            (
                format!("RSS at {largest} keys within 1.5x of {} keys (bounded by the cache, not the keys)", options.sizes[0]),
                get(&startup[last], "rss_mb") <= 1.5 * get(&startup[0], "rss_mb"),
            ),
        ];
        for (what, pass) in checks {
            all_pass &= pass;
            println!("  {}: {what}", verdict(pass));
        }
        println!();
    }
    let path = stats::results_dir().join("scale.csv");
    if let Err(e) = std::fs::write(&path, csv) {
        eprintln!("cannot write {}: {e}", path.display());
    }
    let _ = all_pass;
    ExitCode::SUCCESS
}
