//! Second-order motif statistics of a weight matrix and the outlier eigenvalues they predict
//! (Shao et al. 2025, as implemented in HChoiLab/DMFT-second-order-motifs `Utils.jl`).
//!
//! With `J̃ = (J − J0) / sd` (J0 = mean entry, sd = entry standard deviation) and `W[post, pre]`
//! indexing (`J_ij`: j → i):
//! `τ_rec = E[J̃_ij J̃_ji]`, `τ_con = E[J̃_ij J̃_ik]` (shared post i), `τ_div = E[J̃_ij J̃_kj]`
//! (shared pre j), `τ_chn = E[J̃_ij J̃_jk]` (k → j → i), averaged over distinct indices (j ≠ k for
//! convergent and divergent, i, j, k all different for chains, i ≠ j for reciprocal). The outliers:
//! `λ± = ½ [N J0 ± √(N² J0² + 4 g² ((N − 1) τ_chn + τ_rec))]` with `g² = N · var(J)`.

use ndarray::Array2;

/// Motif statistics of one matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Motifs {
    /// Mean entry J0.
    pub mean: f64,
    /// g = √N · sd(J).
    pub g: f64,
    /// Reciprocal motif statistic.
    pub reciprocal: f64,
    /// Convergent motif statistic.
    pub convergent: f64,
    /// Divergent motif statistic.
    pub divergent: f64,
    /// Chain motif statistic.
    pub chain: f64,
}

/// Estimate the motif statistics of the square matrix `w` in O(N²) from row and column sums.
pub fn motifs(w: &Array2<f32>) -> Motifs {
    let n = w.nrows();
    let nf = n as f64;
    let count = nf * nf;
    let mean = w.iter().map(|&v| v as f64).sum::<f64>() / count;
    let var = w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / count;
    let sd = var.sqrt();
    let z = |i: usize, j: usize| {
        if sd > 0.0 {
            (w[[i, j]] as f64 - mean) / sd
        } else {
            0.0
        }
    };
    let (mut row, mut col) = (vec![0f64; n], vec![0f64; n]);
    let (mut sq, mut rec) = (0.0, 0.0);
    for ((i, j), _) in w.indexed_iter() {
        let v = z(i, j);
        row[i] += v;
        col[j] += v;
        sq += v * v;
        if i != j {
            rec += v * z(j, i);
        }
    }
    let pairs = nf * nf * (nf - 1.0);
    // Σ_i Σ_{j≠k} J̃_ij J̃_ik = Σ_i (row_i² − Σ_j J̃_ij²)
    let con = (row.iter().map(|r| r * r).sum::<f64>() - sq) / pairs;
    let div = (col.iter().map(|c| c * c).sum::<f64>() - sq) / pairs;
    // Σ_j (Σ_i J̃_ij)(Σ_k J̃_jk) = Σ_j col_j · row_j, minus the terms with i = k or any repeated index.
    let chain_total: f64 = col.iter().zip(&row).map(|(c, r)| c * r).sum();
    // Remove i = j or j = k (self-loops) and i = k (reciprocal) terms.
    let self_terms: f64 = (0..n)
        .map(|j| {
            let d = z(j, j);
            d * row[j] + d * col[j] - d * d
        })
        .sum();
    let triples = nf * (nf - 1.0) * (nf - 2.0);
    let chain = (chain_total - self_terms - rec) / triples;
    Motifs {
        mean,
        g: sd * nf.sqrt(),
        reciprocal: rec / (nf * (nf - 1.0)),
        convergent: con,
        divergent: div,
        chain,
    }
}

/// The two outlier eigenvalues predicted from the motif statistics (real parts; the pair is
/// complex when the discriminant is negative, returned as `(re, im)`).
pub fn predicted_outliers(m: &Motifs, n: usize) -> [(f64, f64); 2] {
    let nf = n as f64;
    let a = nf * m.mean;
    let disc = a * a + 4.0 * m.g * m.g * ((nf - 1.0) * m.chain + m.reciprocal);
    if disc >= 0.0 {
        let s = disc.sqrt();
        [((a + s) / 2.0, 0.0), ((a - s) / 2.0, 0.0)]
    } else {
        let s = (-disc).sqrt();
        [(a / 2.0, s / 2.0), (a / 2.0, -s / 2.0)]
    }
}
