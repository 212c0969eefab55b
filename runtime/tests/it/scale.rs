//! List pages over many keys, timed: shared by the SQLite and PostgreSQL measurements.

use std::time::{Duration, Instant};

use keygate::keys::{
    Clock, Expiry, KeyCursor, KeyFilter, KeyQuery, KeyState, KeyStore, NewKey, SystemClock,
};

/// The `i`th key of a measurement: 1,000 owners, 100 names, one in ten expiring within
/// 1 to 90 days.
pub(crate) fn spec(i: usize) -> NewKey {
    let spec = NewKey::new(format!("name-{}", i % 100)).owner(format!("owner-{}", i % 1000));
    if matches!(i % 10, 0) {
        spec.expiry(Expiry::days(1 + (i as u64 % 90)))
    } else {
        spec
    }
}

/// Whether the `i`th key is disabled afterwards (100 of them, spread out).
pub(crate) fn disabled(i: usize) -> bool {
    i % 10_000 == 5 && i / 10_000 < 100
}

/// Times pages of 50 keys, from the start and from `middle`, with each filter; prints
/// the slowest of 20 runs of each.
pub(crate) async fn report_pages<S: KeyStore>(store: &S, middle: KeyCursor, label: &str) {
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
    for (what, filter) in filters {
        for (place, after) in [("first page", None), ("middle", Some(middle.clone()))] {
            let mut query = KeyQuery::new(filter.clone()).limit(50);
            query.after = after;
            let mut worst = Duration::ZERO;
            let mut shown = 0;
            for _ in 0..20 {
                let started = Instant::now();
                let page = store.list(query.clone()).await.expect("list");
                worst = worst.max(started.elapsed());
                shown = page.keys.len();
            }
            slowest = slowest.max(worst);
            println!(
                "{label}: list page, {what}, {place}: {shown} keys, slowest of 20 {worst:.2?}"
            );
        }
    }
    println!("{label}: slowest list page {slowest:.2?}");
}
