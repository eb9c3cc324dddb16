//! Agreement statistics: Pearson and Spearman correlation, sign agreement, and the area under the
//! ROC curve; with the quantiles of a sample. Used to score inferences against a known truth (the
//! recovery study, the self-check) and to summarise ensembles.

/// A floating-point sample value: quantiles interpolate in the sample's own precision, so that an
/// f32 threshold is the one f32 arithmetic gives.
pub trait Sample: Copy {
    /// Not a number.
    const NAN: Self;
    /// Neither NaN nor infinite.
    fn finite(self) -> bool;
    /// Total order (NaN last).
    fn order(&self, other: &Self) -> std::cmp::Ordering;
    /// `a + (b − a) · t`.
    fn lerp(a: Self, b: Self, t: f64) -> Self;
}

impl Sample for f64 {
    const NAN: Self = f64::NAN;
    fn finite(self) -> bool {
        self.is_finite()
    }
    fn order(&self, other: &Self) -> std::cmp::Ordering {
        self.total_cmp(other)
    }
    fn lerp(a: Self, b: Self, t: f64) -> Self {
        a + (b - a) * t
    }
}

impl Sample for f32 {
    const NAN: Self = f32::NAN;
    fn finite(self) -> bool {
        self.is_finite()
    }
    fn order(&self, other: &Self) -> std::cmp::Ordering {
        self.total_cmp(other)
    }
    fn lerp(a: Self, b: Self, t: f64) -> Self {
        a + (b - a) * t as f32
    }
}

/// Mean and population standard deviation (divided by n, numpy's default) of `x`; NaN when empty.
pub fn mean_and_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / n).sqrt();
    (mean, sd)
}

/// The Kolmogorov–Smirnov distance between the finite values of `x` and the normal distribution
/// with their mean and standard deviation (population SD, as `scipy.stats.kstest` on
/// `(x − mean) / std`): `max_i max(Φ(z_(i)) − (i − 1)/n, i/n − Φ(z_(i)))`. NaN for fewer than 2
/// values or no spread. Applied to `ln |w|`, it says how far weights are from log-normal.
pub fn ks_normal(x: &[f64]) -> f64 {
    let mut v: Vec<f64> = x.iter().copied().filter(|a| a.is_finite()).collect();
    let n = v.len() as f64;
    if v.len() < 2 {
        return f64::NAN;
    }
    let (mean, sd) = mean_and_sd(&v);
    if sd <= 0.0 {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let phi = |z: f64| 0.5 * (1.0 + libm::erf(z / std::f64::consts::SQRT_2));
    v.iter()
        .enumerate()
        .map(|(i, a)| {
            let f = phi((a - mean) / sd);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

/// The `q`-quantile of already sorted `v` with linear interpolation (numpy's default); NaN when
/// empty.
pub fn quantile_sorted<T: Sample>(v: &[T], q: f64) -> T {
    if v.is_empty() {
        return T::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    T::lerp(v[lo], v[hi], pos - lo as f64)
}

/// The `q`-quantile of the finite values of `v` (linear interpolation, numpy's default); NaN when
/// there are none.
pub fn quantile<T: Sample>(v: &[T], q: f64) -> T {
    let mut s: Vec<T> = v.iter().copied().filter(|x| x.finite()).collect();
    s.sort_by(T::order);
    quantile_sorted(&s, q)
}

/// Average ranks (1-based; ties share their mean rank).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = mean;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation (NaN when either side is constant or there are fewer than 3 pairs).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len();
    if n < 3 || y.len() != n {
        return f64::NAN;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman rank correlation (as `scipy.stats.spearmanr`: Pearson on average ranks).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Fraction of blocks with a nonzero true value whose inferred value has the same sign.
pub fn sign_accuracy(inferred: &[f64], truth: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = inferred
        .iter()
        .zip(truth)
        .filter(|(_, t)| **t != 0.0)
        .map(|(a, b)| (*a, *b))
        .collect();
    if pairs.is_empty() {
        return f64::NAN;
    }
    pairs
        .iter()
        .filter(|(a, t)| a.signum() == t.signum() && *a != 0.0)
        .count() as f64
        / pairs.len() as f64
}

/// Area under the ROC curve of `score` separating `positive` from the rest: the probability that a
/// positive outranks a negative, ties counting one half. NaN without both classes.
pub fn auc(score: &[f64], positive: &[bool]) -> f64 {
    let pos: Vec<f64> = score
        .iter()
        .zip(positive)
        .filter(|p| *p.1)
        .map(|p| *p.0)
        .collect();
    let neg: Vec<f64> = score
        .iter()
        .zip(positive)
        .filter(|p| !*p.1)
        .map(|p| *p.0)
        .collect();
    if pos.is_empty() || neg.is_empty() {
        return f64::NAN;
    }
    let mut s = 0.0;
    for p in &pos {
        for n in &neg {
            s += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    s / (pos.len() * neg.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_matches_scipy_on_ties() {
        // scipy.stats.spearmanr([1, 2, 2, 4, 5], [5, 6, 7, 8, 7]).statistic = 0.7631578947368421
        let r = spearman(&[1.0, 2.0, 2.0, 4.0, 5.0], &[5.0, 6.0, 7.0, 8.0, 7.0]);
        assert!((r - 0.763_157_894_736_842_1).abs() < 1e-12, "{r}");
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn auc_and_sign_accuracy() {
        assert_eq!(auc(&[0.9, 0.8, 0.1, 0.2], &[true, true, false, false]), 1.0);
        assert_eq!(
            auc(&[0.1, 0.8, 0.9, 0.2], &[true, true, false, false]),
            0.25
        );
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), 0.5);
        assert!(auc(&[0.5], &[true]).is_nan());
        assert_eq!(sign_accuracy(&[1.0, -1.0, 2.0], &[2.0, 3.0, 0.0]), 0.5);
    }

    #[test]
    fn ks_distance_to_the_fitted_normal_matches_scipy() {
        // scipy.stats.kstest((x - x.mean()) / x.std(), "norm").statistic (scipy 1.17.1)
        let x = [
            0.3, -1.2, 2.5, 0.7, 0.1, -0.4, 1.9, -2.2, 0.05, 0.8, 3.1, -0.9,
        ];
        assert!((ks_normal(&x) - 0.14196690448383265).abs() < 1e-12);
        // ln of exp(linspace(-3, 0, 50)): evenly spaced, close to normal in the middle only.
        let l: Vec<f64> = (0..50).map(|k| -3.0 + 3.0 * k as f64 / 49.0).collect();
        assert!((ks_normal(&l) - 0.06724624839437793).abs() < 1e-12);
        assert!(ks_normal(&[1.0]).is_nan() && ks_normal(&[2.0, 2.0]).is_nan());
    }
}
