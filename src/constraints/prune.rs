//! Pruning a dense fit to a sparse one, block by block (Balwani et al. 2025, §1.4 of the methods).
//!
//! **Top-prob** pruning keeps each nonzero weight of a (post, pre) block independently with
//! probability `P_ij = min(1, K·|w_ij|)`, proportional to its magnitude, with `K` chosen so that the
//! expected number kept equals `p · n_entries` (`p` = the block's connection probability). Entries that
//! are already zero count as pruned. When some `K·|w|` exceed 1, those weights are always kept and the
//! excess probability is spread over the rest (the capped, redistributed variant of the authors'
//! synthetic-task code), so the expected density is exactly `p` whenever the block has at least
//! `p · n_entries` nonzero weights (otherwise every nonzero weight is kept). Kept weights keep their
//! trained values: there is no 1/P rescaling. **Random** pruning keeps nonzero weights uniformly.

use super::mask::Blocks;
use ndarray::Array2;
use rand::Rng;

/// How a dense fit is pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneMethod {
    /// Keep probability ∝ |w| (top-prob).
    TopProb,
    /// Keep probability uniform over nonzero weights (baseline).
    Random,
}

/// Keep probabilities for `magnitudes` (all > 0) so that they sum to `target` (≤ len), each
/// `min(1, K · m)`: water-filling on K.
pub fn keep_probabilities(magnitudes: &[f64], target: f64, method: PruneMethod) -> Vec<f64> {
    let n = magnitudes.len();
    if n == 0 || target <= 0.0 {
        return vec![0.0; n];
    }
    if target >= n as f64 {
        return vec![1.0; n];
    }
    let m: Vec<f64> = match method {
        PruneMethod::TopProb => magnitudes.to_vec(),
        PruneMethod::Random => vec![1.0; n],
    };
    // Sort descending; the k largest are capped at 1, the rest get K·m with
    // K = (target − k) / Σ_{rest} m. Find the smallest k for which the largest uncapped is ≤ 1.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| m[b].total_cmp(&m[a]));
    let mut rest: f64 = m.iter().sum();
    let mut k = 0;
    let mut scale = target / rest;
    while k < n && scale * m[order[k]] > 1.0 {
        rest -= m[order[k]];
        k += 1;
        scale = if rest > 0.0 {
            (target - k as f64) / rest
        } else {
            0.0
        };
    }
    let mut p = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        p[i] = if rank < k {
            1.0
        } else {
            (scale * m[i]).clamp(0.0, 1.0)
        };
    }
    p
}

/// The cells of `w` kept by one pruning draw: of `cells`, the non-zero ones are kept with the
/// probabilities of [`keep_probabilities`] by `method` (one Bernoulli draw each, in `cells`'
/// order), the expected number kept being `target(non-zero count)`.
pub fn draw_kept<R: Rng>(
    w: &Array2<f32>,
    cells: impl Iterator<Item = (usize, usize)>,
    target: impl FnOnce(usize) -> f64,
    method: PruneMethod,
    rng: &mut R,
) -> Vec<(usize, usize)> {
    let idx: Vec<(usize, usize)> = cells.filter(|&ij| w[ij] != 0.0).collect();
    let mags: Vec<f64> = idx.iter().map(|&ij| w[ij].abs() as f64).collect();
    let probs = keep_probabilities(&mags, target(idx.len()), method);
    idx.into_iter()
        .zip(probs)
        .filter_map(|(ij, q)| (rng.random::<f64>() < q).then_some(ij))
        .collect()
}

/// A 0/1 mask `[n, n]` keeping, in every block, weights of `w` (`W[post, pre]`) drawn with the
/// block's probability by `method`. Blocks with probability 0 are removed entirely.
pub fn prune_mask<R: Rng>(
    w: &Array2<f32>,
    blocks: &Blocks,
    method: PruneMethod,
    rng: &mut R,
) -> Array2<f32> {
    let n = w.nrows();
    let mut mask = Array2::<f32>::zeros((n, n));
    for (post, pre, p) in blocks.iter() {
        if p <= 0.0 {
            continue;
        }
        let cells = post.iter().flat_map(|&i| pre.iter().map(move |&j| (i, j)));
        let size = (post.len() * pre.len()) as f64;
        for ij in draw_kept(w, cells, |_| p * size, method, rng) {
            mask[ij] = 1.0;
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_probabilities_sum_to_the_target_and_follow_magnitude() {
        let m = [10.0, 1.0, 1.0, 2.0, 0.5, 3.0];
        let p = keep_probabilities(&m, 3.0, PruneMethod::TopProb);
        assert!((p.iter().sum::<f64>() - 3.0).abs() < 1e-12);
        assert_eq!(p[0], 1.0, "the largest is capped at 1");
        assert!(p[5] > p[3] && p[3] > p[1] && p[1] > p[4]);
        // Uncapped entries are proportional to magnitude.
        assert!((p[3] / p[1] - 2.0).abs() < 1e-12);
        let r = keep_probabilities(&m, 3.0, PruneMethod::Random);
        assert!(r.iter().all(|&q| (q - 0.5).abs() < 1e-12));
        assert_eq!(
            keep_probabilities(&m, 10.0, PruneMethod::TopProb),
            vec![1.0; 6]
        );
    }
}
