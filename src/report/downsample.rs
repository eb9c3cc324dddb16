//! Shrinking large matrices for display: block averages (so a 5,000-unit weight matrix becomes at
//! most ~1,000 × 1,000 cells) and a robust colour limit (a percentile of |value|).

use ndarray::Array2;

/// Units per displayed cell so that `n` units fit in at most `max_cells` cells.
pub fn factor(n: usize, max_cells: usize) -> usize {
    n.div_ceil(max_cells.max(1)).max(1)
}

/// Average `m` over `factor × factor` blocks (the last row and column of blocks may be partial and
/// are averaged over the entries they hold). `factor == 1` returns a copy.
pub fn block_average(m: &Array2<f32>, factor: usize) -> Array2<f32> {
    let f = factor.max(1);
    let (rows, cols) = m.dim();
    let (out_r, out_c) = (rows.div_ceil(f), cols.div_ceil(f));
    let mut sums = Array2::<f64>::zeros((out_r, out_c));
    for (i, row) in m.rows().into_iter().enumerate() {
        let mut out = sums.row_mut(i / f);
        for (j, &v) in row.iter().enumerate() {
            out[j / f] += f64::from(v);
        }
    }
    Array2::from_shape_fn((out_r, out_c), |(bi, bj)| {
        let h = (rows - bi * f).min(f);
        let w = (cols - bj * f).min(f);
        (sums[(bi, bj)] / (h * w) as f64) as f32
    })
}

/// The `q`-th percentile (0–100, nearest rank) of `|v|` over the finite values; 0 when none.
pub fn abs_percentile(values: impl Iterator<Item = f64>, q: f64) -> f64 {
    let mut a: Vec<f64> = values.filter(|v| v.is_finite()).map(f64::abs).collect();
    if a.is_empty() {
        return 0.0;
    }
    let k = ((q / 100.0) * (a.len() - 1) as f64).round() as usize;
    let k = k.min(a.len() - 1);
    *a.select_nth_unstable_by(k, f64::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factor_keeps_the_display_under_the_cap() {
        assert_eq!(factor(222, 1000), 1);
        assert_eq!(factor(1000, 1000), 1);
        assert_eq!(factor(1001, 1000), 2);
        assert_eq!(factor(5000, 1000), 5);
        assert!(5000usize.div_ceil(factor(5000, 900)) <= 900);
    }

    #[test]
    fn block_averages_preserve_means() {
        // 7 × 5 with factor 2: blocks of 4, 2 (last column) and 2 / 1 (last row).
        let m = Array2::from_shape_fn((7, 5), |(i, j)| (i * 10 + j) as f32 * 0.5 - 3.0);
        let d = block_average(&m, 2);
        assert_eq!(d.dim(), (4, 3));
        for bi in 0..4 {
            for bj in 0..3 {
                let (mut s, mut n) = (0.0f64, 0);
                for i in bi * 2..(bi * 2 + 2).min(7) {
                    for j in bj * 2..(bj * 2 + 2).min(5) {
                        s += f64::from(m[(i, j)]);
                        n += 1;
                    }
                }
                assert!(
                    (f64::from(d[(bi, bj)]) - s / n as f64).abs() < 1e-5,
                    "block {bi},{bj}"
                );
            }
        }
        // With whole blocks the grand mean is preserved exactly.
        let m = Array2::from_shape_fn((12, 12), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let d = block_average(&m, 3);
        let mean = |a: &Array2<f32>| a.iter().map(|&v| f64::from(v)).sum::<f64>() / a.len() as f64;
        assert!((mean(&m) - mean(&d)).abs() < 1e-6);
        // Factor 1 is the identity.
        assert_eq!(block_average(&m, 1), m);
    }

    #[test]
    fn abs_percentile_ignores_sign_and_nan() {
        let v = (0..=100).map(|i| if i % 2 == 0 { i as f64 } else { -(i as f64) });
        assert_eq!(abs_percentile(v, 99.0), 99.0);
        assert_eq!(abs_percentile([f64::NAN, -3.0].into_iter(), 50.0), 3.0);
        assert_eq!(abs_percentile(std::iter::empty(), 99.0), 0.0);
    }
}
