//! Round figures and verdicts of the end-to-end reports (`gen_report`, `overhead_report`),
//! included with `#[path]` so the library stays the request-overhead setups only.

use std::path::PathBuf;

/// One figure per round.
#[derive(Default, Clone, Debug)]
pub(crate) struct Samples(pub(crate) Vec<f64>);

impl Samples {
    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    pub(crate) fn median(&self) -> f64 {
        let v = self.sorted();
        match v.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    }

    pub(crate) fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    pub(crate) fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }

    /// The lower and upper quartiles (linear between the nearest figures): the middle
    /// half of the rounds lies between them.
    pub(crate) fn quartiles(&self) -> (f64, f64) {
        let v = self.sorted();
        let at = |q: f64| {
            if v.is_empty() {
                return f64::NAN;
            }
            let position = q * (v.len() - 1) as f64;
            let (below, above) = (position.floor() as usize, position.ceil() as usize);
            v[below] + (v[above] - v[below]) * (position - below as f64)
        };
        (at(0.25), at(0.75))
    }

    /// `median (min, max)` with `digits` decimals.
    pub(crate) fn show(&self, digits: usize) -> String {
        format!(
            "{:.digits$} (min {:.digits$}, max {:.digits$})",
            self.median(),
            self.min(),
            self.max()
        )
    }
}

pub(crate) fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}

/// The target directory this binary runs from (`<target>/release/<bin>`).
pub(crate) fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(|dir| dir.parent())
        .expect("target dir")
        .to_path_buf()
}

/// Where CSVs go: `$KEYGATE_BENCH_RESULTS`, else `<target>/bench-results`.
pub(crate) fn results_dir() -> PathBuf {
    let dir = std::env::var_os("KEYGATE_BENCH_RESULTS")
        .map_or_else(|| target_dir().join("bench-results"), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("results dir");
    dir
}

/// The workspace root (`bench/..`).
pub(crate) fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::Samples;

    #[test]
    fn quartiles_interpolate_between_the_nearest_figures() {
        assert_eq!(
            Samples(vec![5.0, 1.0, 4.0, 2.0, 3.0]).quartiles(),
            (2.0, 4.0)
        );
        assert_eq!(Samples(vec![4.0, 3.0, 2.0, 1.0]).quartiles(), (1.75, 3.25));
        assert_eq!(Samples(vec![7.0]).quartiles(), (7.0, 7.0));
        let (lower, upper) = Samples(Vec::new()).quartiles();
        assert!(lower.is_nan() && upper.is_nan());
    }
}
