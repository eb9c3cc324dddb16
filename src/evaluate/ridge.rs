//! Ridge regression by the normal equations, solved with faer's Cholesky factorisation.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use ndarray::Array2;

/// Solve `(XᵀX + λ I) B = XᵀY` for `B` `[p, q]`, given `xtx = XᵀX` `[p, p]` and `xty = XᵀY`
/// `[p, q]`. `None` when the system is not positive definite (λ = 0 and X rank-deficient).
pub fn solve(xtx: &Array2<f64>, xty: &Array2<f64>, lambda: f64) -> Option<Array2<f64>> {
    let p = xtx.nrows();
    let a = Mat::<f64>::from_fn(p, p, |i, j| xtx[[i, j]] + if i == j { lambda } else { 0.0 });
    let llt = a.llt(Side::Lower).ok()?;
    let mut b = Mat::<f64>::from_fn(p, xty.ncols(), |i, j| xty[[i, j]]);
    llt.solve_in_place(b.as_mut());
    Some(Array2::from_shape_fn((p, xty.ncols()), |(i, j)| b[(i, j)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_exact_coefficients_without_penalty_and_shrinks_with_it() {
        // y = 2 x0 − x1 on four points.
        let x = ndarray::array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]];
        let y = x.dot(&ndarray::array![[2.0], [-1.0]]);
        let xtx = x.t().dot(&x);
        let xty = x.t().dot(&y);
        let b = solve(&xtx, &xty, 0.0).unwrap();
        assert!((b[[0, 0]] - 2.0).abs() < 1e-12 && (b[[1, 0]] + 1.0).abs() < 1e-12);
        let shrunk = solve(&xtx, &xty, 10.0).unwrap();
        assert!(shrunk[[0, 0]].abs() < 2.0 && shrunk[[1, 0]].abs() < 1.0);
    }
}
