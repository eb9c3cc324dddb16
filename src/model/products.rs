//! Matrix products of the training step on the CPU through faer, reading candle's storage in place.
//!
//! candle's CPU `matmul` splits every product over its thread pool. The trainer's per-time-step
//! products are small (`[batch, N] × [N, N]` with batch 16 and N 500 in the `neurons` benchmark), and
//! there the split costs more than it saves: 0.25 ms per product on 2 threads against 0.06 ms on
//! one thread through faer, which also reads strided (transposed) operands without copying them.
//! Large products stay with candle; other devices use candle.

use candle_core::{DType, Layout, Result, Storage, Tensor};
use faer::{linalg::matmul::matmul as faer_matmul, Accum, MatMut, MatRef, Par};

/// A 2-D f32 operand's address, shape and strides (in elements) inside its CPU storage.
struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
}

fn view<'a>(data: &'a [f32], layout: &Layout) -> Option<View<'a>> {
    let dims = layout.dims();
    let strides = layout.stride();
    if dims.len() != 2 {
        return None;
    }
    let (rows, cols) = (dims[0], dims[1]);
    let start = layout.start_offset();
    // The last element read must lie inside the storage.
    let last = start + rows.saturating_sub(1) * strides[0] + cols.saturating_sub(1) * strides[1];
    if rows == 0 || cols == 0 || last >= data.len() {
        return None;
    }
    Some(View {
        data: &data[start..],
        rows,
        cols,
        row_stride: strides[0] as isize,
        col_stride: strides[1] as isize,
    })
}

/// `a · b` for 2-D `a` `[m, k]` and `b` `[k, n]` → `[m, n]` (f32, contiguous). On the CPU the product is
/// computed by faer straight from the operands' storage (any strides, so `x.t()` costs nothing);
/// elsewhere, or for other dtypes and ranks, by candle's `matmul`.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if !a.device().is_cpu()
        || a.dtype() != DType::F32
        || b.dtype() != DType::F32
        || a.rank() != 2
        || b.rank() != 2
    {
        return a.matmul(b);
    }
    let (m, k) = a.dims2()?;
    let (k2, n) = b.dims2()?;
    if k != k2 {
        // candle's error names the shapes.
        return a.matmul(b);
    }
    if m == 0 || n == 0 || k == 0 {
        return Tensor::zeros((m, n), DType::F32, a.device());
    }
    if m * k * n >= SMALL_PRODUCT {
        // Large products: candle's own split over the pool is as fast or faster.
        return a.matmul(b);
    }
    let (sa, la) = a.storage_and_layout();
    let (sb, lb) = b.storage_and_layout();
    let (Storage::Cpu(ca), Storage::Cpu(cb)) = (&*sa, &*sb) else {
        return a.matmul(b);
    };
    let (Some(va), Some(vb)) = (
        view(ca.as_slice::<f32>()?, la),
        view(cb.as_slice::<f32>()?, lb),
    ) else {
        return a.matmul(b);
    };
    let mut out = vec![0f32; m * n];
    // SAFETY: `view` checked that every element addressed by (rows, cols, strides) from the
    // start lies inside the borrowed storage, which the read guards keep alive and unchanged.
    let (ar, br) = unsafe {
        (
            MatRef::from_raw_parts(
                va.data.as_ptr(),
                va.rows,
                va.cols,
                va.row_stride,
                va.col_stride,
            ),
            MatRef::from_raw_parts(
                vb.data.as_ptr(),
                vb.rows,
                vb.cols,
                vb.row_stride,
                vb.col_stride,
            ),
        )
    };
    let c = MatMut::from_row_major_slice_mut(&mut out, m, n);
    // One thread: waking the pool for a product this small costs more than it saves (measured:
    // the `neurons` step is 5-10 % slower with faer splitting these products over two threads).
    faer_matmul(c, Accum::Replace, ar, br, 1.0f32, Par::Seq);
    drop((sa, sb));
    Tensor::from_vec(out, (m, n), a.device())
}

/// Products of fewer multiply-adds than this run on one thread through faer; larger ones through
/// candle. Measured on 2 cores: `[16, 500] × [500, 500]` (4.0e6) takes 0.06 ms here against
/// 0.25 ms split over two threads by candle, while `[200, 1440] × [1440, 1440]` (4.1e8) takes 5.1 ms
/// in candle on two threads against 8.5 ms on one.
pub const SMALL_PRODUCT: usize = 1 << 23;

#[cfg(test)]
mod tests {
    use super::matmul;
    use candle_core::{Device, Tensor};

    #[test]
    fn matches_candle_for_every_layout() {
        let dev = Device::Cpu;
        let a = Tensor::randn(0f32, 1.0, (37, 53), &dev).unwrap(); // small: the faer path
        let b = Tensor::randn(0f32, 1.0, (53, 29), &dev).unwrap();
        let bt = Tensor::randn(0f32, 1.0, (29, 53), &dev).unwrap();
        let wide = Tensor::randn(0f32, 1.0, (5, 37, 60), &dev).unwrap();
        let cases = [
            (a.clone(), b.clone()),
            (a.clone(), bt.t().unwrap()), // transposed right operand
            (a.t().unwrap().t().unwrap(), b.clone()), // view round trip
            (wide.get(2).unwrap().narrow(1, 4, 53).unwrap(), b.clone()), // offset and row stride
            (b.t().unwrap(), a.t().unwrap()), // both transposed
        ];
        for (x, y) in cases {
            let ours = matmul(&x, &y).unwrap();
            let reference = x.matmul(&y).unwrap();
            let diff = crate::model::fused::tests::max_diff(&ours, &reference);
            assert!(diff < 1e-4, "max |difference| {diff}");
        }
    }

    #[test]
    fn empty_products_are_zero() {
        let dev = Device::Cpu;
        let a = Tensor::zeros((3, 0), candle_core::DType::F32, &dev).unwrap();
        let b = Tensor::zeros((0, 4), candle_core::DType::F32, &dev).unwrap();
        let c = matmul(&a, &b).unwrap();
        assert_eq!(c.dims(), &[3, 4]);
        assert_eq!(c.sum_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
    }
}
