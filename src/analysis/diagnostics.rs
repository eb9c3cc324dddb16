//! Health diagnostics of one weight matrix (or one block's recurrent sub-network): spectral
//! radius, normalised SVD entropy, largest singular value, density, sign violations, motif
//! statistics and the outlier eigenvalues they predict beside the measured extreme eigenvalues.

use super::motifs::{motifs, predicted_outliers};
use crate::constraints::sign_violations;
use crate::data::Sign;
use crate::error::Result;
use crate::linalg::{eigenvalues, normalised_svd_entropy, singular_values};
use ndarray::Array2;

/// The spectrum of a matrix: eigenvalues `(re, im)` by decreasing modulus and singular values,
/// largest first.
#[derive(Debug, Clone, Default)]
pub struct Spectrum {
    /// Eigenvalues `(re, im)`, largest |λ| first.
    pub eigenvalues: Vec<(f64, f64)>,
    /// Singular values, largest first.
    pub singular_values: Vec<f64>,
}

impl Spectrum {
    /// Eigenvalues and singular values of the square matrix `w`.
    pub fn of(w: &Array2<f32>) -> Result<Spectrum> {
        let mut ev = eigenvalues(w)?;
        ev.sort_by(|a, b| b.0.hypot(b.1).total_cmp(&a.0.hypot(a.1)));
        Ok(Spectrum {
            eigenvalues: ev,
            singular_values: singular_values(w)?,
        })
    }

    /// Largest |λ| (0 for an empty matrix).
    pub fn radius(&self) -> f64 {
        self.eigenvalues
            .first()
            .map(|e| e.0.hypot(e.1))
            .unwrap_or(0.0)
    }
}

/// The metrics of `w` (`W[post, pre]`, square) whose presynaptic units have `signs`:
/// `(metric, value)` pairs in a fixed order. The spectral ones (radius, NSE, largest singular
/// value, extreme real eigenvalues) come only with the spectrum `sp`.
pub fn metrics(w: &Array2<f32>, signs: &[Sign], sp: Option<&Spectrum>) -> Vec<(&'static str, f64)> {
    let n = w.nrows();
    let m = motifs(w);
    let [(plus, plus_im), (minus, _)] = predicted_outliers(&m, n);
    let mut out = Vec::new();
    if let Some(sp) = sp {
        out.extend([
            ("spectral_radius", sp.radius()),
            (
                "normalised_svd_entropy",
                normalised_svd_entropy(&sp.singular_values),
            ),
            (
                "largest_singular_value",
                sp.singular_values.first().copied().unwrap_or(0.0),
            ),
        ]);
    }
    out.extend([
        (
            "density",
            w.iter().filter(|v| **v != 0.0).count() as f64 / w.len().max(1) as f64,
        ),
        ("sign_violations", sign_violations(w, signs) as f64),
        ("motif_reciprocal", m.reciprocal),
        ("motif_convergent", m.convergent),
        ("motif_divergent", m.divergent),
        ("motif_chain", m.chain),
        ("predicted_outlier_plus_re", plus),
        ("predicted_outlier_minus_re", minus),
        ("predicted_outlier_abs_im", plus_im.abs()),
    ]);
    if let Some(sp) = sp {
        let re = sp.eigenvalues.iter().map(|e| e.0);
        out.push((
            "largest_real_eigenvalue",
            re.clone().fold(f64::MIN, f64::max),
        ));
        out.push(("smallest_real_eigenvalue", re.fold(f64::MAX, f64::min)));
    }
    out
}

/// The recurrent sub-network among `members` (unit indices): `w[members, members]`.
pub fn submatrix(w: &Array2<f32>, members: &[usize]) -> Array2<f32> {
    Array2::from_shape_fn((members.len(), members.len()), |(i, j)| {
        w[[members[i], members[j]]]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_metrics_see_only_the_block() {
        let w = ndarray::array![[0.0f32, 0.5, -1.0], [0.3, 0.0, -0.4], [0.2, 0.1, 0.0]];
        let signs = [Sign::E, Sign::I, Sign::I];
        let all = metrics(&w, &signs, Some(&Spectrum::of(&w).unwrap()));
        let get = |m: &[(&str, f64)], k: &str| m.iter().find(|x| x.0 == k).unwrap().1;
        // Columns 1 (0.5, 0.1) break Dale for an I unit: 2 violations in the whole matrix.
        assert_eq!(get(&all, "sign_violations"), 2.0);
        let sub = submatrix(&w, &[0, 2]);
        assert_eq!(sub, ndarray::array![[0.0f32, -1.0], [0.2, 0.0]]);
        let blk = metrics(
            &sub,
            &[Sign::E, Sign::I],
            Some(&Spectrum::of(&sub).unwrap()),
        );
        assert_eq!(get(&blk, "sign_violations"), 0.0);
        // Eigenvalues of [[0, −1], [0.2, 0]] are ±i√0.2.
        assert!((get(&blk, "spectral_radius") - 0.2f64.sqrt()).abs() < 1e-6);
        assert_eq!(get(&blk, "density"), 0.5);
    }
}
