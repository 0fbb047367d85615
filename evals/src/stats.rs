//! Reliability arithmetic: pass^k per scenario and over a suite, the spread across trials, and the comparison
//! with a stored baseline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// C(n, k) as a float (exact for the small numbers of trials used here).
fn choose(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    let k = k.min(n - k);
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The chance that `k` trials drawn from `n`, of which `c` succeeded, all succeed: C(c,k)/C(n,k).
pub fn pass_hat_k(n: usize, c: usize, k: usize) -> f64 {
    if n == 0 || k == 0 || k > n {
        return 0.0;
    }
    choose(c, k) / choose(n, k)
}

/// pass^1..=pass^n for one scenario.
pub fn pass_curve(n: usize, c: usize) -> Vec<f64> {
    (1..=n).map(|k| pass_hat_k(n, c, k)).collect()
}

/// The mean of each position over several curves (a suite's pass^k is the mean over its scenarios).
pub fn mean_curve<'a>(curves: impl IntoIterator<Item = &'a [f64]>) -> Vec<f64> {
    let curves: Vec<&[f64]> = curves.into_iter().collect();
    let Some(len) = curves.iter().map(|c| c.len()).min() else {
        return Vec::new();
    };
    (0..len)
        .map(|k| curves.iter().map(|c| c[k]).sum::<f64>() / curves.len() as f64)
        .collect()
}

/// Min, max, mean and standard deviation of per-trial pass rates: how much a single run can differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
}

pub fn spread(values: &[f64]) -> Spread {
    if values.is_empty() {
        return Spread::default();
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    Spread {
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mean,
        stddev: variance.sqrt(),
    }
}

/// What a baseline keeps of a run: enough to tell later runs what got better or worse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub schema_version: u32,
    pub suite: String,
    pub model: String,
    pub trials: usize,
    /// pass^1..=pass^trials over the suite.
    pub pass_k: Vec<f64>,
    pub scenarios: BTreeMap<String, BaselineScenario>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineScenario {
    pub trials: usize,
    pub successes: usize,
    pub pass_1: f64,
}

/// A scenario whose pass^1 moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: String,
    pub before: f64,
    pub after: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub baseline_model: String,
    pub threshold: f64,
    pub pass_1_before: f64,
    pub pass_1_after: f64,
    pub regressed: Vec<Change>,
    pub improved: Vec<Change>,
    /// In this run, not in the baseline.
    pub new: Vec<String>,
    /// In the baseline, not run now.
    pub missing: Vec<String>,
    /// A scenario or the suite fell by more than the threshold.
    pub failed: bool,
}

/// Compares a run (scenario id -> pass^1, and the suite's pass^1) with `baseline`. A drop larger than
/// `threshold` in any scenario or in the suite as a whole is a regression.
pub fn compare(
    baseline: &Baseline,
    current: &BTreeMap<String, f64>,
    pass_1: f64,
    threshold: f64,
) -> Comparison {
    const EPSILON: f64 = 1e-9;
    let mut comparison = Comparison {
        baseline_model: baseline.model.clone(),
        threshold,
        pass_1_before: baseline.pass_k.first().copied().unwrap_or(0.0),
        pass_1_after: pass_1,
        ..Comparison::default()
    };
    for (id, after) in current {
        match baseline.scenarios.get(id) {
            Some(before) => {
                let change = Change {
                    id: id.clone(),
                    before: before.pass_1,
                    after: *after,
                };
                if *after < before.pass_1 - threshold - EPSILON {
                    comparison.regressed.push(change);
                } else if *after > before.pass_1 + EPSILON {
                    comparison.improved.push(change);
                }
            }
            None => comparison.new.push(id.clone()),
        }
    }
    comparison.missing = baseline
        .scenarios
        .keys()
        .filter(|id| !current.contains_key(*id))
        .cloned()
        .collect();
    comparison.failed = !comparison.regressed.is_empty()
        || comparison.pass_1_after < comparison.pass_1_before - threshold - EPSILON;
    comparison
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn pass_hat_k_matches_the_definition() {
        // 4 trials, 3 successes: pass^1 = 3/4, pass^2 = C(3,2)/C(4,2) = 3/6, pass^3 = 1/4, pass^4 = 0.
        assert!(close(pass_hat_k(4, 3, 1), 0.75));
        assert!(close(pass_hat_k(4, 3, 2), 0.5));
        assert!(close(pass_hat_k(4, 3, 3), 0.25));
        assert!(close(pass_hat_k(4, 3, 4), 0.0));
        // All successes: 1 for every k; none: 0.
        assert!(pass_curve(5, 5).iter().all(|p| close(*p, 1.0)));
        assert!(pass_curve(5, 0).iter().all(|p| close(*p, 0.0)));
        // 8 trials, 6 successes, k = 3: C(6,3)/C(8,3) = 20/56.
        assert!(close(pass_hat_k(8, 6, 3), 20.0 / 56.0));
        // k beyond n, or nothing run, is 0 rather than a division by zero.
        assert!(close(pass_hat_k(2, 2, 3), 0.0));
        assert!(close(pass_hat_k(0, 0, 1), 0.0));
    }

    #[test]
    fn a_suite_curve_is_the_mean_over_scenarios() {
        let a = pass_curve(2, 2); // [1, 1]
        let b = pass_curve(2, 1); // [0.5, 0]
        let mean = mean_curve([a.as_slice(), b.as_slice()]);
        assert!(close(mean[0], 0.75) && close(mean[1], 0.5));
        assert!(mean_curve(std::iter::empty()).is_empty());
    }

    #[test]
    fn spread_reports_the_range_of_single_runs() {
        let s = spread(&[0.5, 0.75, 1.0]);
        assert!(close(s.min, 0.5) && close(s.max, 1.0) && close(s.mean, 0.75));
        assert!(close(s.stddev, (0.125_f64 / 3.0).sqrt()));
        assert_eq!(spread(&[]), Spread::default());
    }

    fn baseline() -> Baseline {
        let scenario = |pass_1| BaselineScenario {
            trials: 2,
            successes: (pass_1 * 2.0) as usize,
            pass_1,
        };
        Baseline {
            schema_version: 1,
            suite: "core".into(),
            model: "rule-planner-1".into(),
            trials: 2,
            pass_k: vec![0.5, 0.25],
            scenarios: BTreeMap::from([
                ("a".to_owned(), scenario(1.0)),
                ("b".to_owned(), scenario(0.5)),
                ("gone".to_owned(), scenario(0.0)),
            ]),
        }
    }

    #[test]
    fn the_baseline_diff_names_regressions_improvements_and_new_scenarios() {
        let current = BTreeMap::from([
            ("a".to_owned(), 0.5),
            ("b".to_owned(), 1.0),
            ("fresh".to_owned(), 1.0),
        ]);
        let diff = compare(&baseline(), &current, 0.75, 0.0);
        assert_eq!(diff.regressed.len(), 1);
        assert_eq!(diff.regressed[0].id, "a");
        assert_eq!(diff.improved.len(), 1);
        assert_eq!(diff.improved[0].id, "b");
        assert_eq!(diff.new, vec!["fresh".to_owned()]);
        assert_eq!(diff.missing, vec!["gone".to_owned()]);
        assert!(diff.failed, "a scenario fell");

        // A threshold absorbs drops up to its size.
        let tolerant = compare(&baseline(), &current, 0.75, 0.5);
        assert!(tolerant.regressed.is_empty());
        assert!(!tolerant.failed);

        // Same results: nothing moves, nothing fails.
        let same = BTreeMap::from([
            ("a".to_owned(), 1.0),
            ("b".to_owned(), 0.5),
            ("gone".to_owned(), 0.0),
        ]);
        let diff = compare(&baseline(), &same, 0.5, 0.0);
        assert!(diff.regressed.is_empty() && diff.improved.is_empty() && !diff.failed);

        // The suite as a whole falling is a regression even when no single scenario is listed.
        let diff = compare(&baseline(), &same, 0.4, 0.0);
        assert!(diff.failed);
    }
}
