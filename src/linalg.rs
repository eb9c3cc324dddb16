//! Dense linear algebra in f64 with faer: eigenvalues, spectral radius, singular values (and the
//! full SVD), the
//! normalised SVD entropy of weight matrices, and ridge regression by the normal equations. The
//! bottom layer: initialisation, the simulator, the estimators and the analyses all use it.

use crate::error::{Error, Result};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use ndarray::Array2;

/// Eigenvalues of the square matrix `w` (any layout; for `W[post, pre]` these are the eigenvalues
/// of the linear recurrence `r ← W r`), as `(re, im)` pairs in no particular order.
pub fn eigenvalues(w: &Array2<f32>) -> Result<Vec<(f64, f64)>> {
    let (n, m) = w.dim();
    if n != m {
        return Err(Error::bug(
            "eigenvalues",
            format!("eigenvalues need a square matrix, got [{n}, {m}]"),
        ));
    }
    if n == 0 {
        return Ok(vec![]);
    }
    require_finite(w, "eigenvalues")?;
    let a = faer::Mat::<f64>::from_fn(n, n, |i, j| w[[i, j]] as f64);
    let ev = a.eigenvalues().map_err(|e| {
        Error::internal("the eigenvalue solver failed to converge", format!("{e:?}"))
    })?;
    Ok(ev.iter().map(|z| (z.re, z.im)).collect())
}

/// Refuse a matrix with NaN or infinite entries before a solver sees it (its failure to converge
/// would hide the cause), naming how many and the first.
fn require_finite(w: &Array2<f32>, what: &str) -> Result<()> {
    let bad = w.iter().filter(|v| !v.is_finite()).count();
    match w.indexed_iter().find(|(_, v)| !v.is_finite()) {
        None => Ok(()),
        Some(((i, j), v)) => Err(Error::internal(
            format!("computing {what}"),
            format!(
                "the weights are not finite: {bad} of {} entries are NaN or infinite, the first W[{i}, {j}] = {v}; they come from a fit that diverged or a damaged weights file",
                w.len()
            ),
        )),
    }
}

/// Largest |eigenvalue| of `w`.
pub fn spectral_radius(w: &Array2<f32>) -> Result<f64> {
    Ok(eigenvalues(w)?
        .iter()
        .map(|(re, im)| re.hypot(*im))
        .fold(0.0, f64::max))
}

/// Singular values of `w`, largest first.
pub fn singular_values(w: &Array2<f32>) -> Result<Vec<f64>> {
    let (n, m) = w.dim();
    if n == 0 || m == 0 {
        return Ok(vec![]);
    }
    require_finite(w, "singular values")?;
    let a = faer::Mat::<f64>::from_fn(n, m, |i, j| w[[i, j]] as f64);
    a.singular_values()
        .map_err(|e| Error::internal("the SVD failed to converge", format!("{e:?}")))
}

/// The singular value decomposition `w = U diag(s) Vᵀ` of the square or rectangular `w`
/// (`[n, m]`): `U [n, n]`, `s` largest first, `V [m, m]`.
pub fn svd(w: &Array2<f64>) -> Result<(Array2<f64>, Vec<f64>, Array2<f64>)> {
    let (n, m) = w.dim();
    if w.iter().any(|v| !v.is_finite()) {
        return Err(Error::internal(
            "the SVD",
            "the matrix has a non-finite entry",
        ));
    }
    let a = faer::Mat::<f64>::from_fn(n, m, |i, j| w[[i, j]]);
    let d = a
        .svd()
        .map_err(|e| Error::internal("the SVD failed to converge", format!("{e:?}")))?;
    let u = Array2::from_shape_fn((n, n), |(i, j)| d.U()[(i, j)]);
    let v = Array2::from_shape_fn((m, m), |(i, j)| d.V()[(i, j)]);
    let s = d.S().column_vector().iter().copied().collect();
    Ok((u, s, v))
}

/// Normalised SVD entropy (Li, Cornford et al. 2023): `H = −Σ σ̄ ln σ̄ / ln N` with
/// `σ̄ = σ / Σσ` over the N singular values; 1 for a flat spectrum, towards 0 for a dominant one.
pub fn normalised_svd_entropy(singular: &[f64]) -> f64 {
    let n = singular.len();
    let total: f64 = singular.iter().sum();
    if n < 2 || total <= 0.0 {
        return f64::NAN;
    }
    let h: f64 = singular
        .iter()
        .map(|s| s / total)
        .filter(|p| *p > 0.0)
        .map(|p| -p * p.ln())
        .sum();
    // `+ 0.0` turns the −0 of a rank-one matrix into 0.
    h / (n as f64).ln() + 0.0
}

/// Solve `(XᵀX + λ I) B = XᵀY` for `B` `[p, q]`, given `xtx = XᵀX` `[p, p]` and `xty = XᵀY`
/// `[p, q]`. `None` when the system is not positive definite (λ = 0 and X rank-deficient).
pub fn ridge_solve(xtx: &Array2<f64>, xty: &Array2<f64>, lambda: f64) -> Option<Array2<f64>> {
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
    fn rotation_has_unit_complex_eigenvalues() {
        // [[0, -2], [2, 0]] has eigenvalues ±2i.
        let w = ndarray::array![[0.0f32, -2.0], [2.0, 0.0]];
        let mut ev = eigenvalues(&w).unwrap();
        ev.sort_by(|a, b| a.1.total_cmp(&b.1));
        assert!((ev[0].0).abs() < 1e-12 && (ev[0].1 + 2.0).abs() < 1e-12);
        assert!((spectral_radius(&w).unwrap() - 2.0).abs() < 1e-12);
    }

    #[test]
    fn non_finite_weights_are_named_not_passed_to_the_solver() {
        let w = ndarray::array![[0.0f32, f32::NAN], [1.0, f32::INFINITY]];
        for e in [
            eigenvalues(&w).unwrap_err().to_string(),
            singular_values(&w).unwrap_err().to_string(),
        ] {
            assert!(
                e.contains("2 of 4 entries") && e.contains("W[0, 1] = NaN"),
                "{e}"
            );
            assert!(!e.contains("converge"), "{e}");
        }
    }

    #[test]
    fn recovers_exact_coefficients_without_penalty_and_shrinks_with_it() {
        // y = 2 x0 − x1 on four points.
        let x = ndarray::array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]];
        let y = x.dot(&ndarray::array![[2.0], [-1.0]]);
        let xtx = x.t().dot(&x);
        let xty = x.t().dot(&y);
        let b = ridge_solve(&xtx, &xty, 0.0).unwrap();
        assert!((b[[0, 0]] - 2.0).abs() < 1e-12 && (b[[1, 0]] + 1.0).abs() < 1e-12);
        let shrunk = ridge_solve(&xtx, &xty, 10.0).unwrap();
        assert!(shrunk[[0, 0]].abs() < 2.0 && shrunk[[1, 0]].abs() < 1.0);
    }
}
