//! Statistics of a two-group contrast over runs: the difference of group means (equal to the mean
//! difference over all cross-group run pairs), a percentile bootstrap interval that resamples runs
//! within each group, an exact (or Monte Carlo) two-sided permutation p-value, and
//! Benjamini–Hochberg adjusted p-values.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Resampling plans shared by every quantity of one contrast, so that quantities measured on the
/// same runs are resampled together.
#[derive(Debug, Clone)]
pub struct Plans {
    /// Bootstrap resamples: indices into group A and into group B.
    pub bootstrap: Vec<(Vec<usize>, Vec<usize>)>,
    /// Relabellings of the pooled runs (A first, then B): the pooled indices assigned to A.
    pub permutations: Vec<Vec<usize>>,
    /// Whether `permutations` lists every relabelling (an exact test) rather than a random sample.
    pub exact: bool,
}

/// Number of ways to choose `k` of `n` (saturating).
fn choose(n: usize, k: usize) -> u128 {
    let k = k.min(n - k);
    (0..k).fold(1u128, |acc, i| {
        acc.saturating_mul((n - i) as u128) / (i as u128 + 1)
    })
}

/// Every `k`-subset of `0..n`, in lexicographic order.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur: Vec<usize> = (0..k).collect();
    loop {
        out.push(cur.clone());
        let Some(i) = (0..k).rev().find(|&i| cur[i] < n - k + i) else {
            return out;
        };
        cur[i] += 1;
        for j in i + 1..k {
            cur[j] = cur[j - 1] + 1;
        }
    }
}

impl Plans {
    /// Plans for groups of `n_a` and `n_b` runs: `n_boot` bootstrap resamples and up to
    /// `max_perm` relabellings (all of them when there are no more than that), from `seed`.
    pub fn new(n_a: usize, n_b: usize, n_boot: usize, max_perm: usize, seed: u64) -> Plans {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let bootstrap = (0..n_boot)
            .map(|_| {
                (
                    (0..n_a).map(|_| rng.random_range(0..n_a)).collect(),
                    (0..n_b).map(|_| rng.random_range(0..n_b)).collect(),
                )
            })
            .collect();
        let n = n_a + n_b;
        let exact = choose(n, n_a) <= max_perm as u128;
        let permutations = if exact {
            subsets(n, n_a)
        } else {
            let mut idx: Vec<usize> = (0..n).collect();
            (0..max_perm)
                .map(|_| {
                    idx.shuffle(&mut rng);
                    let mut a = idx[..n_a].to_vec();
                    a.sort_unstable();
                    a
                })
                .collect()
        };
        Plans {
            bootstrap,
            permutations,
            exact,
        }
    }
}

/// One quantity's contrast B − A.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contrast {
    /// Mean of group A.
    pub mean_a: f64,
    /// Mean of group B.
    pub mean_b: f64,
    /// `mean_b − mean_a`.
    pub difference: f64,
    /// 2.5th percentile of the bootstrap differences (NaN with fewer than 2 runs in a group).
    pub ci_low: f64,
    /// 97.5th percentile of the bootstrap differences.
    pub ci_high: f64,
    /// Two-sided permutation p-value.
    pub p_value: f64,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n as f64
}

/// The contrast of `b` against `a` (one value per run) under `plans`.
pub fn contrast(a: &[f64], b: &[f64], plans: &Plans) -> Contrast {
    let (mean_a, mean_b) = (mean(a.iter().copied()), mean(b.iter().copied()));
    let difference = mean_b - mean_a;
    let (ci_low, ci_high) = if a.len() < 2 || b.len() < 2 {
        (f64::NAN, f64::NAN)
    } else {
        let mut d: Vec<f64> = plans
            .bootstrap
            .iter()
            .map(|(ia, ib)| mean(ib.iter().map(|&i| b[i])) - mean(ia.iter().map(|&i| a[i])))
            .collect();
        d.sort_by(f64::total_cmp);
        (
            crate::stats::quantile_sorted(&d, 0.025),
            crate::stats::quantile_sorted(&d, 0.975),
        )
    };
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let total: f64 = pooled.iter().sum();
    let (n_a, n_b) = (a.len() as f64, b.len() as f64);
    // Differences equal up to rounding count as "at least as extreme".
    let tol = 1e-12 * (1.0 + difference.abs());
    let extreme = plans
        .permutations
        .iter()
        .filter(|ia| {
            let sa: f64 = ia.iter().map(|&i| pooled[i]).sum();
            let d = (total - sa) / n_b - sa / n_a;
            d.abs() >= difference.abs() - tol
        })
        .count() as f64;
    let k = plans.permutations.len() as f64;
    let p_value = if plans.exact {
        extreme / k
    } else {
        (extreme + 1.0) / (k + 1.0)
    };
    Contrast {
        mean_a,
        mean_b,
        difference,
        ci_low,
        ci_high,
        p_value,
    }
}

/// Benjamini–Hochberg adjusted p-values (NaN stays NaN and is not counted).
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    idx.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let m = idx.len() as f64;
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank as f64 + 1.0));
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_enumerate_every_relabelling() {
        let s = subsets(5, 2);
        assert_eq!(s.len() as u128, choose(5, 2));
        assert_eq!(s[0], vec![0, 1]);
        assert_eq!(s[9], vec![3, 4]);
        assert_eq!(choose(20, 10), 184_756);
    }

    #[test]
    fn exact_permutation_p_of_separated_groups_is_the_smallest_possible() {
        // 3 vs 3 fully separated: only the observed labelling and its mirror are as extreme.
        let plans = Plans::new(3, 3, 200, 10_000, 1);
        assert!(plans.exact);
        let c = contrast(&[0.0, 0.1, 0.2], &[1.0, 1.1, 1.2], &plans);
        assert!((c.difference - 1.0).abs() < 1e-12);
        assert!((c.p_value - 2.0 / 20.0).abs() < 1e-12);
        assert!(c.ci_low > 0.7 && c.ci_high < 1.3 && c.ci_low < 1.0 && c.ci_high > 1.0);
        // Identical groups: every relabelling is as extreme.
        let c = contrast(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &plans);
        assert_eq!(c.p_value, 1.0);
    }

    #[test]
    fn benjamini_hochberg_matches_a_hand_computation() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.5), "BH") = 0.04 0.0533 0.0533 0.5
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.5]);
        let want = [0.04, 0.04 * 4.0 / 3.0, 0.04 * 4.0 / 3.0, 0.5];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
    }
}
