//! Dale's law: every outgoing weight of unit j has unit j's sign, i.e. `sign[j] · W[i, j] ≥ 0` for
//! every post unit i (the sign lives on the presynaptic **column** of `W[post, pre]`).
//!
//! "Dale's backprop" (Balwani et al. 2025) is projected gradient descent: after each optimiser step,
//! every weight whose sign disagrees with its column's sign is set to exactly 0 (the Euclidean
//! projection onto the sign-constrained orthant), then the connectivity mask is applied.

use crate::data::Sign;
use candle_core::{Result as CandleResult, Tensor};
use ndarray::Array2;

/// Project `w` (`W[post, pre]`, `[n, n]`) onto Dale's law in place and apply `mask` (0/1, same
/// shape) if given: `w[i, j] ← w[i, j] · 1[sign[j] · w[i, j] > 0] · mask[i, j]`.
pub fn project_dale(w: &mut Array2<f32>, signs: &[Sign], mask: Option<&Array2<f32>>) {
    assert_eq!(w.ncols(), signs.len(), "one sign per presynaptic column");
    for ((i, j), v) in w.indexed_iter_mut() {
        let keep = signs[j].value() * *v > 0.0 && mask.is_none_or(|m| m[[i, j]] != 0.0);
        if !keep {
            *v = 0.0;
        }
    }
}

/// The same projection on a candle tensor: `w` is `[n, n]` (`W[post, pre]`), `sign_row` is `[1, n]`
/// holding ±1 per presynaptic column, `mask` is `[n, n]` of 0/1. Returns the projected weights.
pub fn project_dale_tensor(
    w: &Tensor,
    sign_row: &Tensor,
    mask: Option<&Tensor>,
) -> CandleResult<Tensor> {
    if let Some(out) = project_cpu(w, sign_row, mask)? {
        return Ok(out);
    }
    let agree = w.broadcast_mul(sign_row)?.gt(0f64)?.to_dtype(w.dtype())?;
    let keep = match mask {
        Some(m) => agree.mul(m)?,
        None => agree,
    };
    w.mul(&keep)
}

/// [`project_dale_tensor`] in one pass over contiguous f32 CPU tensors (`w ⊙ (agree ⊙ mask)`, the
/// same f32 products as the tensor formula); `None` for tensors elsewhere.
fn project_cpu(
    w: &Tensor,
    sign_row: &Tensor,
    mask: Option<&Tensor>,
) -> CandleResult<Option<Tensor>> {
    use rayon::prelude::*;
    if w.rank() != 2 || sign_row.elem_count() != w.dim(1)? {
        return Ok(None);
    }
    if mask.is_some_and(|m| m.shape() != w.shape()) {
        return Ok(None);
    }
    let n = w.dim(1)?;
    let projected = crate::model::fused::on_cpu_slices(&[Some(w), Some(sign_row), mask], |s| {
        let &[Some(ws), Some(ss), ms] = s else {
            unreachable!("w and sign_row are given")
        };
        let mut out = vec![0f32; ws.len()];
        out.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
            let at = i * n;
            for j in 0..n {
                let v = ws[at + j];
                let agree = if v * ss[j] > 0.0 { 1f32 } else { 0f32 };
                let keep = match ms {
                    Some(m) => agree * m[at + j],
                    None => agree,
                };
                row[j] = v * keep;
            }
        });
        out
    });
    projected
        .map(|out| Tensor::from_vec(out, w.shape(), w.device()))
        .transpose()
}

/// Number of entries of `w` with the wrong sign for their column (must be 0 under Dale's law).
pub fn sign_violations(w: &Array2<f32>, signs: &[Sign]) -> usize {
    w.indexed_iter()
        .filter(|((_, j), v)| signs[*j].value() * **v < 0.0)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn sign_lives_on_the_presynaptic_column() {
        // Unit 2 is the only inhibitory unit: after projection only column 2 may be negative.
        let signs = [Sign::E, Sign::E, Sign::I];
        let mut w = ndarray::array![[0.5f32, -0.2, -0.3], [-0.1, 0.4, 0.7], [0.2, 0.3, -0.6]];
        project_dale(&mut w, &signs, None);
        assert_eq!(
            w,
            ndarray::array![[0.5, 0.0, -0.3], [0.0, 0.4, 0.0], [0.2, 0.3, -0.6]]
        );
        assert_eq!(sign_violations(&w, &signs), 0);
        for i in 0..3 {
            assert!(w[[i, 0]] >= 0.0 && w[[i, 1]] >= 0.0 && w[[i, 2]] <= 0.0);
        }
    }

    #[test]
    fn tensor_projection_matches_ndarray_projection() {
        let signs = [Sign::E, Sign::I, Sign::E, Sign::I];
        let w = Array2::from_shape_fn((4, 4), |(i, j)| ((i * 7 + j * 3) % 5) as f32 - 2.0);
        let mask = Array2::from_shape_fn((4, 4), |(i, j)| ((i + j) % 3 != 0) as u8 as f32);
        let mut want = w.clone();
        project_dale(&mut want, &signs, Some(&mask));
        let dev = Device::Cpu;
        let wt = Tensor::from_slice(w.as_slice().unwrap(), (4, 4), &dev).unwrap();
        let mt = Tensor::from_slice(mask.as_slice().unwrap(), (4, 4), &dev).unwrap();
        let s: Vec<f32> = signs.iter().map(|s| s.value()).collect();
        let st = Tensor::from_slice(&s, (1, 4), &dev).unwrap();
        let got = project_dale_tensor(&wt, &st, Some(&mt))
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for i in 0..4 {
            for j in 0..4 {
                assert_eq!(got[i][j], want[[i, j]], "entry [{i}, {j}]");
            }
        }
    }
}
