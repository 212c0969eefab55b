//! The key lifecycle at scale: creating many keys through the store API, then list pages
//! of 50 at the start and the middle of the list with each filter, oldest and newest
//! first, with PASS or MISS against the targets (1,000,000 keys created in ≤ 5 min, any
//! page in ≤ 50 ms), and name searches (`name_contains`, which no index serves: a text
//! that matches nothing reads every key; target ≤ 1 s).
//!
//! `cargo run --release -p keygate-bench --bin lifecycle_report -- [--keys N]`
//! (default 1,000,000). SQLite always, in a temporary file; PostgreSQL when
//! `KEYGATE_TEST_DATABASE_URL` is set, in the schema `kgbench_lifecycle`, dropped at the
//! end. Keys have 1,000 owners and 100 names, one in ten expires within 90 days, and 100
//! are disabled; they are created with `create_many`, 1,000 a transaction (on PostgreSQL
//! eight transactions at a time, as instances of an app would).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keygate::keys::{
    Clock, Expiry, KeyCursor, KeyFilter, KeyOrder, KeyQuery, KeyState, KeyStore, NewKey,
    PostgresStore, SqliteStore, SystemClock,
};

/// Keys a transaction.
const BATCH: usize = 1000;
/// Transactions in flight at once on PostgreSQL.
const WRITERS: usize = 8;
/// The creation target: 1,000,000 keys in 5 minutes, scaled to the keys created.
const CREATE_SECONDS_PER_MILLION: f64 = 300.0;
/// The page target.
const PAGE_BUDGET: Duration = Duration::from_millis(50);
/// The target of a name search that reads every key.
const SEARCH_BUDGET: Duration = Duration::from_secs(1);

/// The `i`th key: 1,000 owners, 100 names, one in ten expiring within 1 to 90 days.
fn spec(i: usize) -> NewKey {
    let spec = NewKey::new(format!("name-{}", i % 100)).owner(format!("owner-{}", i % 1000));
    if i.is_multiple_of(10) {
        spec.expiry(Expiry::days(1 + (i as u64 % 90)))
    } else {
        spec
    }
}

/// Whether the `i`th key is disabled afterwards (100 of them, spread out).
fn disabled(i: usize, keys: usize) -> bool {
    let every = (keys / 100).max(1);
    i % every == every / 2
}

/// Creates keys `mine` (batches of [`BATCH`]), returning the cursor after the middle key
/// when it is one of them.
async fn create<S: KeyStore>(store: &S, mine: &[usize], keys: usize) -> Option<KeyCursor> {
    let mut middle = None;
    for batch in mine.chunks(BATCH) {
        let specs = batch.iter().map(|&i| spec(i)).collect();
        let issued = store.create_many(specs).await.expect("create");
        for (&i, key) in batch.iter().zip(&issued) {
            if i == keys / 2 {
                middle = Some(KeyCursor::after(&key.record, KeyOrder::OldestFirst));
            }
            if disabled(i, keys) {
                store.disable(&key.record.id).await.expect("disable");
            }
        }
    }
    middle
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

/// Prints the creation time against its target.
fn report_creation(label: &str, keys: usize, took: Duration) {
    let budget = CREATE_SECONDS_PER_MILLION * keys as f64 / 1e6;
    let pass = took.as_secs_f64() <= budget;
    println!(
        "{label}: {keys} keys created through the store API in {took:.1?} ({:.0} keys/s; \
         budget {budget:.0} s) {}",
        keys as f64 / took.as_secs_f64(),
        verdict(pass)
    );
}

/// Times pages of 50 keys, from the start and from `middle`, with each filter, and prints
/// the slowest of 20 runs of each, and the slowest against the budget.
async fn report_pages<S: KeyStore>(store: &S, middle: KeyCursor, label: &str) {
    let soon = SystemClock.now() + 30 * 86_400;
    let filters = [
        ("no filter", KeyFilter::default()),
        ("owner", KeyFilter::default().owner("owner-7")),
        ("active", KeyFilter::default().state(KeyState::Active)),
        ("disabled", KeyFilter::default().state(KeyState::Disabled)),
        ("name", KeyFilter::default().name("name-42")),
        (
            "expiring within 30 days",
            KeyFilter::default().expiring_before(soon),
        ),
        (
            "owner + active",
            KeyFilter::default()
                .owner("owner-7")
                .state(KeyState::Active),
        ),
    ];
    let mut slowest = Duration::ZERO;
    for order in [KeyOrder::OldestFirst, KeyOrder::NewestFirst] {
        let middle = KeyCursor {
            order,
            ..middle.clone()
        };
        for (what, filter) in &filters {
            for (place, after) in [("first page", None), ("middle", Some(middle.clone()))] {
                let mut query = KeyQuery::new(filter.clone()).order(order).limit(50);
                query.after = after;
                let (worst, shown) = time_page(store, &query, 20).await;
                slowest = slowest.max(worst);
                println!(
                    "{label}: list page, {} first, {what}, {place}: {shown} keys, slowest of \
                     20 {worst:.2?}",
                    order.name()
                );
            }
        }
    }
    let pass = slowest <= PAGE_BUDGET;
    println!(
        "{label}: slowest list page {slowest:.2?} (budget {PAGE_BUDGET:?}) {}",
        verdict(pass)
    );
}

/// The slowest of `runs` reads of one page, and the keys it held.
async fn time_page<S: KeyStore>(store: &S, query: &KeyQuery, runs: usize) -> (Duration, usize) {
    let mut worst = Duration::ZERO;
    let mut shown = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let page = store.list(query.clone()).await.expect("list");
        worst = worst.max(started.elapsed());
        shown = page.keys.len();
    }
    (worst, shown)
}

/// Times first pages of `name_contains` searches, newest first as the console asks:
/// one text in every hundredth name, in another case, and one that matches no key (every
/// key read), against [`SEARCH_BUDGET`].
async fn report_search<S: KeyStore>(store: &S, label: &str) {
    let searches = [
        ("`AME-42` (1 key in 100)", "AME-42"),
        ("no match (every key read)", "no-such-name"),
    ];
    let mut slowest = Duration::ZERO;
    for (what, text) in searches {
        let filter = KeyFilter::default().name_contains(text);
        let query = KeyQuery::new(filter).newest_first().limit(50);
        let (worst, shown) = time_page(store, &query, 5).await;
        slowest = slowest.max(worst);
        println!(
            "{label}: name search, {what}, first page newest first: {shown} keys, slowest of 5 \
             {worst:.2?}"
        );
    }
    let pass = slowest <= SEARCH_BUDGET;
    println!(
        "{label}: slowest name search {slowest:.2?} (budget {SEARCH_BUDGET:?}) {}",
        verdict(pass)
    );
}

async fn sqlite(keys: usize) {
    let dir = std::env::temp_dir().join(format!("keygate-lifecycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = SqliteStore::open_or_create(dir.join("keys.db")).expect("create");
    let mine: Vec<usize> = (0..keys).collect();
    let started = Instant::now();
    let middle = create(&store, &mine, keys).await;
    report_creation("sqlite", keys, started.elapsed());
    report_pages(&store, middle.expect("a middle key"), "sqlite").await;
    report_search(&store, "sqlite").await;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn postgres(url: &str, keys: usize) {
    const SCHEMA: &str = "kgbench_lifecycle";
    let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to KEYGATE_TEST_DATABASE_URL");
    tokio::spawn(connection);
    let drop_schema = format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE");
    admin
        .batch_execute(&drop_schema)
        .await
        .expect("drop schema");
    let store = PostgresStore::builder(url)
        .schema(SCHEMA)
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .expect("connect the store");
    let store = Arc::new(store);
    let started = Instant::now();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let store = Arc::clone(&store);
        writers.push(tokio::spawn(async move {
            let mine: Vec<usize> = (0..keys)
                .filter(|i| (i / BATCH) % WRITERS == writer)
                .collect();
            create(&*store, &mine, keys).await
        }));
    }
    let mut middle = None;
    for writer in writers {
        middle = middle.or(writer.await.expect("a writer"));
    }
    report_creation("postgres", keys, started.elapsed());
    // What autovacuum would do soon after a bulk load.
    let analyze = format!("ANALYZE {SCHEMA}.keys");
    admin.batch_execute(&analyze).await.expect("analyze");
    report_pages(&*store, middle.expect("a middle key"), "postgres").await;
    report_search(&*store, "postgres").await;
    drop(store);
    admin
        .batch_execute(&drop_schema)
        .await
        .expect("drop schema");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let keys = match args.iter().position(|a| a == "--keys") {
        Some(at) => match args
            .get(at + 1)
            .and_then(|n| n.replace('_', "").parse().ok())
        {
            Some(keys) if keys > 0 => keys,
            _ => {
                eprintln!("lifecycle_report: --keys takes a positive number");
                return ExitCode::from(2);
            }
        },
        None => 1_000_000,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(sqlite(keys));
    match std::env::var("KEYGATE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => runtime.block_on(postgres(&url, keys)),
        _ => println!("postgres: skipped (KEYGATE_TEST_DATABASE_URL is not set)"),
    }
    // A MISS is a result, printed; only a failure to measure exits non-zero.
    ExitCode::SUCCESS
}
