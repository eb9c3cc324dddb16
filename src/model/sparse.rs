//! Sparse recurrent products on the CPU for masked networks.
//!
//! Under a connectivity mask `M` (0/1, `[n, n]`, `W[post, pre]`), `W_rec` is zero outside `M`
//! after every step (projection, then mask), so the recurrent products only need the mask's
//! entries: `a = W r` and `∂L/∂r = Wᵀ δ` read the weights gathered into compressed rows (CSR) and
//! columns (CSC) once per step, and the weight gradient is only formed on the mask
//! (`∂L/∂W[i, j] = Σ_k Δ[k, i] R[k, j]` for `M[i, j] = 1`, 0 elsewhere). Off-mask gradients only
//! ever moved the optimiser's moments of entries the mask zeroes again, so the trajectory of
//! every weight is unchanged (tested against the dense product).
//!
//! States are handled unit-major, `[n, batch]`, so that each stored weight updates one
//! contiguous batch vector. Each output row is computed by one thread in a fixed order: the same
//! threads give the same numbers.

use rayon::prelude::*;

/// The sparsity pattern of a mask, in compressed rows and compressed columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Units.
    pub n: usize,
    /// CSR row starts, `[n + 1]`.
    pub row_ptr: Vec<usize>,
    /// CSR column (presynaptic) indices, `[nnz]`.
    pub col_idx: Vec<u32>,
    /// CSC column starts, `[n + 1]`.
    pub col_ptr: Vec<usize>,
    /// CSC row (postsynaptic) indices, `[nnz]`.
    pub row_idx: Vec<u32>,
}

impl Pattern {
    /// The pattern of the non-zero entries of `mask` (`[n, n]`, row-major).
    pub fn from_mask(mask: &[f32], n: usize) -> Pattern {
        let mut row_ptr = Vec::with_capacity(n + 1);
        let mut col_idx = Vec::new();
        let mut col_count = vec![0usize; n];
        row_ptr.push(0);
        for i in 0..n {
            for (j, &m) in mask[i * n..(i + 1) * n].iter().enumerate() {
                if m != 0.0 {
                    col_idx.push(j as u32);
                    col_count[j] += 1;
                }
            }
            row_ptr.push(col_idx.len());
        }
        let mut col_ptr = vec![0usize; n + 1];
        for j in 0..n {
            col_ptr[j + 1] = col_ptr[j] + col_count[j];
        }
        let mut next = col_ptr.clone();
        let mut row_idx = vec![0u32; col_idx.len()];
        for i in 0..n {
            for &j in &col_idx[row_ptr[i]..row_ptr[i + 1]] {
                row_idx[next[j as usize]] = i as u32;
                next[j as usize] += 1;
            }
        }
        Pattern {
            n,
            row_ptr,
            col_idx,
            col_ptr,
            row_idx,
        }
    }

    /// Stored entries.
    pub fn nnz(&self) -> usize {
        self.col_idx.len()
    }

    /// Fraction of the n² entries stored.
    pub fn density(&self) -> f64 {
        self.nnz() as f64 / (self.n * self.n).max(1) as f64
    }

    /// `w`'s values on the pattern in CSR order.
    pub fn gather_rows(&self, w: &[f32]) -> Vec<f32> {
        let n = self.n;
        (0..n)
            .flat_map(|i| {
                self.col_idx[self.row_ptr[i]..self.row_ptr[i + 1]]
                    .iter()
                    .map(move |&j| w[i * n + j as usize])
            })
            .collect()
    }

    /// `w`'s values on the pattern in CSC order.
    pub fn gather_cols(&self, w: &[f32]) -> Vec<f32> {
        let n = self.n;
        (0..n)
            .flat_map(|j| {
                self.row_idx[self.col_ptr[j]..self.col_ptr[j + 1]]
                    .iter()
                    .map(move |&i| w[i as usize * n + j])
            })
            .collect()
    }
}

/// Rows per parallel task: enough work per task, at least one task per thread.
fn chunk_rows(n: usize) -> usize {
    (n / (4 * rayon::current_num_threads().max(1))).max(16)
}

/// One row's product for batch entries `c0..c0 + L`, the accumulator held in registers.
#[inline(always)]
fn row_lanes<const L: usize>(
    cols: &[u32],
    vs: &[f32],
    x: &[f32],
    batch: usize,
    c0: usize,
    acc: &mut [f32],
) {
    let mut local = [0f32; L];
    for (&j, &v) in cols.iter().zip(vs) {
        let src: &[f32; L] = x[j as usize * batch + c0..][..L]
            .try_into()
            .expect("L entries");
        for l in 0..L {
            local[l] += v * src[l];
        }
    }
    acc[c0..c0 + L].copy_from_slice(&local);
}

#[inline(always)]
fn spmm_kernel(
    ptr: &[usize],
    idx: &[u32],
    vals: &[f32],
    x: &[f32],
    batch: usize,
    first_row: usize,
    out: &mut [f32],
) {
    for (r, acc) in out.chunks_exact_mut(batch).enumerate() {
        let i = first_row + r;
        let (lo, hi) = (ptr[i], ptr[i + 1]);
        let (cols, vs) = (&idx[lo..hi], &vals[lo..hi]);
        let mut c0 = 0;
        while c0 + 16 <= batch {
            row_lanes::<16>(cols, vs, x, batch, c0, acc);
            c0 += 16;
        }
        while c0 + 8 <= batch {
            row_lanes::<8>(cols, vs, x, batch, c0, acc);
            c0 += 8;
        }
        while c0 < batch {
            row_lanes::<1>(cols, vs, x, batch, c0, acc);
            c0 += 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn spmm_kernel_avx2(
    ptr: &[usize],
    idx: &[u32],
    vals: &[f32],
    x: &[f32],
    batch: usize,
    first_row: usize,
    out: &mut [f32],
) {
    spmm_kernel(ptr, idx, vals, x, batch, first_row, out)
}

/// `out[i, :] = Σ_k vals[k] · x[idx[k], :]` over the compressed rows (`ptr`, `idx`, `vals`):
/// a sparse `[n_out, n_in]` matrix times `x` `[n_in, batch]`, into `out` `[n_out, batch]`.
pub fn spmm(ptr: &[usize], idx: &[u32], vals: &[f32], x: &[f32], batch: usize, out: &mut [f32]) {
    let n_rows = ptr.len() - 1;
    // Small products run on the calling thread: scheduling would cost more than it saves.
    let rows = if vals.len() * batch < 1 << 20 {
        n_rows.max(1)
    } else {
        chunk_rows(n_rows)
    };
    out.par_chunks_mut(rows * batch)
        .enumerate()
        .for_each(|(c, block)| {
            let first = c * rows;
            #[cfg(target_arch = "x86_64")]
            {
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports the features the function is compiled for.
                    unsafe { spmm_kernel_avx2(ptr, idx, vals, x, batch, first, block) };
                    return;
                }
            }
            spmm_kernel(ptr, idx, vals, x, batch, first, block)
        });
}

/// Dot product with 16 independent lanes (vectorisable without reassociating a single sum).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            lanes[l] += x[l] * y[l];
        }
    }
    let mut s: f32 = lanes.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[inline(always)]
fn sddmm_kernel(p: &Pattern, d: &[f32], r: &[f32], k: usize, first_row: usize, out: &mut [f32]) {
    let n = p.n;
    // K in blocks so that the rows of `r` being read stay in cache across output rows.
    const KB: usize = 256;
    for k0 in (0..k).step_by(KB) {
        let kl = KB.min(k - k0);
        for (row, o) in out.chunks_exact_mut(n).enumerate() {
            let i = first_row + row;
            let di = &d[i * k + k0..][..kl];
            for &j in &p.col_idx[p.row_ptr[i]..p.row_ptr[i + 1]] {
                o[j as usize] += dot(di, &r[j as usize * k + k0..][..kl]);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sddmm_kernel_avx2(
    p: &Pattern,
    d: &[f32],
    r: &[f32],
    k: usize,
    first_row: usize,
    out: &mut [f32],
) {
    sddmm_kernel(p, d, r, k, first_row, out)
}

/// `out[i, j] = Σ_k d[i, k] · r[j, k]` on the pattern, 0 elsewhere: `d` and `r` are `[n, k]`
/// (unit-major), `out` is the dense `[n, n]` result.
pub fn sddmm(p: &Pattern, d: &[f32], r: &[f32], k: usize) -> Vec<f32> {
    let n = p.n;
    let mut out = vec![0f32; n * n];
    let rows = chunk_rows(n);
    out.par_chunks_mut(rows * n)
        .enumerate()
        .for_each(|(c, block)| {
            let first = c * rows;
            #[cfg(target_arch = "x86_64")]
            {
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports the features the function is compiled for.
                    unsafe { sddmm_kernel_avx2(p, d, r, k, first, block) };
                    return;
                }
            }
            sddmm_kernel(p, d, r, k, first, block)
        });
    out
}

/// Transpose a row-major `[rows, cols]` matrix.
pub fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; a.len()];
    const B: usize = 32;
    for i0 in (0..rows).step_by(B) {
        for j0 in (0..cols).step_by(B) {
            for i in i0..(i0 + B).min(rows) {
                for j in j0..(j0 + B).min(cols) {
                    out[j * rows + i] = a[i * cols + j];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32) / (1u64 << 24) as f32 - 0.5
    }

    #[test]
    fn sparse_products_match_dense_ones() {
        let (n, batch, k) = (37, 5, 300);
        let mut s = 3u64;
        let mask: Vec<f32> = (0..n * n).map(|_| f32::from(lcg(&mut s) < -0.2)).collect();
        let w: Vec<f32> = mask.iter().map(|m| m * lcg(&mut s)).collect();
        let p = Pattern::from_mask(&mask, n);
        assert_eq!(p.nnz(), mask.iter().filter(|&&m| m != 0.0).count());
        let x: Vec<f32> = (0..n * batch).map(|_| lcg(&mut s)).collect();
        // a = W x and Wᵀ x
        let mut a = vec![0f32; n * batch];
        spmm(
            &p.row_ptr,
            &p.col_idx,
            &p.gather_rows(&w),
            &x,
            batch,
            &mut a,
        );
        let mut at = vec![0f32; n * batch];
        spmm(
            &p.col_ptr,
            &p.row_idx,
            &p.gather_cols(&w),
            &x,
            batch,
            &mut at,
        );
        for i in 0..n {
            for b in 0..batch {
                let d: f32 = (0..n).map(|j| w[i * n + j] * x[j * batch + b]).sum();
                let dt: f32 = (0..n).map(|j| w[j * n + i] * x[j * batch + b]).sum();
                assert!((a[i * batch + b] - d).abs() < 1e-5);
                assert!((at[i * batch + b] - dt).abs() < 1e-5);
            }
        }
        // dW on the pattern
        let d: Vec<f32> = (0..n * k).map(|_| lcg(&mut s)).collect();
        let r: Vec<f32> = (0..n * k).map(|_| lcg(&mut s)).collect();
        let g = sddmm(&p, &d, &r, k);
        for i in 0..n {
            for j in 0..n {
                let full: f32 = (0..k).map(|t| d[i * k + t] * r[j * k + t]).sum();
                let want = if mask[i * n + j] != 0.0 { full } else { 0.0 };
                assert!((g[i * n + j] - want).abs() < 1e-4, "{i} {j}");
            }
        }
        let t = transpose(&d, n, k);
        assert_eq!(t[5 * n + 3], d[3 * k + 5]);
    }
}
