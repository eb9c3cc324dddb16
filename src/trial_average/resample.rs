//! Balwani et al.'s resampling of trial averages: each sample is the mean of trials drawn with
//! replacement, then smoothed in time with a Gaussian (σ in frames), as
//! `scipy.ndimage.gaussian_filter1d` (mode `reflect`, truncate 4).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// `samples` averages of `per_sample` trials drawn uniformly with replacement from `trials`
/// (each `[n_frames]`), each smoothed with σ = `sigma_frames` (0: no smoothing).
pub fn bootstrap_means(
    trials: &[Vec<f64>],
    samples: usize,
    per_sample: usize,
    sigma_frames: f64,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<f64>> {
    let n = trials[0].len();
    (0..samples)
        .map(|_| {
            let mut acc = vec![0.0; n];
            for _ in 0..per_sample {
                let tr = &trials[rng.random_range(0..trials.len())];
                for (a, v) in acc.iter_mut().zip(tr) {
                    *a += v;
                }
            }
            acc.iter_mut().for_each(|a| *a /= per_sample as f64);
            gaussian_filter1d(&acc, sigma_frames)
        })
        .collect()
}

/// Gaussian smoothing of `x` with σ in samples, the kernel cut at `round(4σ)` samples, edges
/// mirrored including the edge sample (`d c b a | a b c d | d c b a`), exactly as scipy's
/// `gaussian_filter1d(x, sigma)` with its defaults.
pub fn gaussian_filter1d(x: &[f64], sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 || x.is_empty() {
        return x.to_vec();
    }
    let radius = (4.0 * sigma + 0.5) as i64;
    let mut w: Vec<f64> = (-radius..=radius)
        .map(|k| (-0.5 * (k as f64 / sigma).powi(2)).exp())
        .collect();
    let total: f64 = w.iter().sum();
    w.iter_mut().for_each(|v| *v /= total);
    let n = x.len() as i64;
    let reflect = |mut i: i64| -> usize {
        // Period 2n: i in [n, 2n) maps to 2n − 1 − i; negatives mirror likewise.
        let p = 2 * n;
        i = i.rem_euclid(p);
        (if i >= n { p - 1 - i } else { i }) as usize
    };
    (0..n)
        .map(|i| {
            (-radius..=radius)
                .zip(&w)
                .map(|(k, wk)| wk * x[reflect(i + k)])
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn smoothing_keeps_constants_and_mass() {
        let c = vec![2.5; 7];
        for v in gaussian_filter1d(&c, 1.0) {
            assert!((v - 2.5).abs() < 1e-12);
        }
        let mut spike = vec![0.0; 21];
        spike[10] = 1.0;
        let s = gaussian_filter1d(&spike, 1.0);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((s[9] - s[11]).abs() < 1e-15 && s[10] > s[9]);
    }

    #[test]
    fn bootstrap_of_identical_trials_is_that_trial() {
        let trials = vec![vec![1.0, 2.0, 3.0]; 4];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for s in bootstrap_means(&trials, 5, 10, 0.0, &mut rng) {
            for (a, b) in s.iter().zip(&trials[0]) {
                assert!((a - b).abs() < 1e-12);
            }
        }
    }
}
