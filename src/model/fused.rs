//! The element-wise work of one time step of the hand-written BPTT ([`super::bptt`]), fused into
//! single passes over `[batch, n]` on the CPU.
//!
//! Written as tensor operations, one forward step is five passes that each allocate a
//! `[batch, n]` tensor (add the drive, scale the state by `1 − α`, scale the drive by `α`, add,
//! apply φ), and one backward step five more. For the `neurons` benchmark (batch 16, n 500, 200
//! steps) those small operations cost more than the matrix products. Here each is one loop over
//! the data, split over the thread pool only when a step is large enough to pay for it. Other
//! devices, and any operand that is not contiguous f32 on the CPU, take the tensor path, which
//! computes the same numbers.

use super::activation::tanh;
use super::{Activation, ReadoutInput};
use candle_core::{Layout, Result, Storage, StorageRef, Tensor};
use rayon::prelude::*;

/// Element counts from which a fused pass is split over the thread pool.
const PARALLEL_FROM: usize = 1 << 18;

/// The f32 elements of a contiguous CPU tensor, given its read guard and layout (`None` otherwise).
fn contiguous<'a>(guard: &'a StorageRef<'_>, layout: &Layout) -> Option<&'a [f32]> {
    match &**guard {
        Storage::Cpu(c) => {
            let s = c.as_slice::<f32>().ok()?;
            let (a, b) = layout.contiguous_offsets()?;
            Some(&s[a..b])
        }
        _ => None,
    }
}

/// Run `f` on the f32 elements of `ts` (absent entries stay `None`) when every present tensor is
/// contiguous f32 on the CPU, holding their read guards only while `f` runs; `None` otherwise, and
/// the caller takes the tensor path.
pub(crate) fn on_cpu_slices<R>(
    ts: &[Option<&Tensor>],
    f: impl FnOnce(&[Option<&[f32]>]) -> R,
) -> Option<R> {
    let guards: Vec<_> = ts
        .iter()
        .map(|t| t.map(|t| t.storage_and_layout()))
        .collect();
    let slices = guards
        .iter()
        .map(|g| match g {
            None => Some(None),
            Some((g, l)) => contiguous(g, l).map(Some),
        })
        .collect::<Option<Vec<_>>>()?;
    Some(f(&slices))
}

/// Run `f(row_start, out_chunk)` over `out` (`rows × n`) in chunks of whole rows, on the pool when
/// `out` is large.
fn for_rows(out: &mut [f32], n: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    if out.len() >= PARALLEL_FROM && rayon::current_num_threads() > 1 {
        let rows = out.len() / n;
        let per = rows.div_ceil(rayon::current_num_threads() * 4).max(1);
        out.par_chunks_mut(per * n)
            .enumerate()
            .for_each(|(i, c)| f(i * per, c));
    } else {
        f(0, out);
    }
}

/// `out = φ(x)` element-wise over `[rows, n]`, with one monomorphised loop per nonlinearity.
fn apply_phi(x: &[f32], out: &mut [f32], n: usize, a: Activation) {
    fn map<F: Fn(f32) -> f32 + Sync>(x: &[f32], out: &mut [f32], n: usize, f: F) {
        for_rows(out, n, |row0, o| {
            let xs = &x[row0 * n..row0 * n + o.len()];
            for (o, &v) in o.iter_mut().zip(xs) {
                *o = f(v);
            }
        });
    }
    match a {
        Activation::Relu => map(x, out, n, |v| Activation::Relu.phi_scalar(v)),
        Activation::Tanh => map(x, out, n, |v| Activation::Tanh.phi_scalar(v)),
        Activation::TanhRelu => map(x, out, n, |v| Activation::TanhRelu.phi_scalar(v)),
        Activation::Softplus => map(x, out, n, |v| Activation::Softplus.phi_scalar(v)),
    }
}

/// One forward step: `x' = (1 − α) ⊙ x + α ⊙ (rec + drive) [+ noise]`, then the readout source and
/// the rate of `x'`. `x`, `drive`, `rec`, `noise` are `[batch, n]`; `alpha` and `keep` (= 1 − α)
/// are `[n]`. `rec = None` means a zero recurrent input. Returns `(x', source, rate)`; source and
/// rate are the same tensor when the readout reads the rate.
#[allow(clippy::too_many_arguments)]
pub fn forward_step(
    x: &Tensor,
    rec: Option<&Tensor>,
    drive: &Tensor,
    alpha: &Tensor,
    keep: &Tensor,
    noise: Option<&Tensor>,
    activation: Activation,
    readout: ReadoutInput,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (batch, n) = x.dims2()?;
    let fused = on_cpu_slices(
        &[Some(x), Some(drive), Some(alpha), Some(keep), rec, noise],
        |s| {
            let &[Some(xs), Some(ds), Some(al), Some(kp), rs, ns] = s else {
                unreachable!("x, drive, alpha and keep are given")
            };
            let mut next = vec![0f32; batch * n];
            // Branch-free inner loops over whole rows (the `Option`s are decided per chunk, so each loop
            // vectorises); the same operations in the same order as the tensor path.
            for_rows(&mut next, n, |row0, out| {
                let span = row0 * n..row0 * n + out.len();
                out.copy_from_slice(&ds[span.clone()]);
                if let Some(r) = rs {
                    for (o, &v) in out.iter_mut().zip(&r[span.clone()]) {
                        *o += v;
                    }
                }
                for (orow, xrow) in out.chunks_mut(n).zip(xs[span.clone()].chunks(n)) {
                    for (((o, &x), &k), &a) in orow.iter_mut().zip(xrow).zip(kp).zip(al) {
                        *o = k * x + a * *o;
                    }
                }
                if let Some(z) = ns {
                    for (o, &v) in out.iter_mut().zip(&z[span]) {
                        *o += v;
                    }
                }
            });
            next
        },
    );
    let Some(next) = fused else {
        return forward_step_tensors(x, rec, drive, alpha, keep, noise, activation, readout);
    };
    let dev = x.device().clone();
    // Source and rate of the new state in one more pass.
    let (src, rate): (Vec<f32>, Option<Vec<f32>>) = match (readout, activation) {
        (ReadoutInput::Rate, a) | (ReadoutInput::Unrectified, a @ Activation::Tanh) => {
            let mut r = vec![0f32; batch * n];
            apply_phi(&next, &mut r, n, a);
            (r, None)
        }
        (ReadoutInput::Unrectified, a) => {
            let mut o = vec![0f32; batch * n];
            let mut r = vec![0f32; batch * n];
            for_rows(&mut o, n, |row0, out| {
                let xs = &next[row0 * n..row0 * n + out.len()];
                for (o, &v) in out.iter_mut().zip(xs) {
                    *o = tanh(v);
                }
            });
            if a == Activation::TanhRelu {
                for (r, &v) in r.iter_mut().zip(&o) {
                    *r = v.max(0.0);
                }
            } else {
                apply_phi(&next, &mut r, n, a);
            }
            (o, Some(r))
        }
    };
    let next = Tensor::from_vec(next, (batch, n), &dev)?;
    let src = Tensor::from_vec(src, (batch, n), &dev)?;
    let rate = match rate {
        Some(r) => Tensor::from_vec(r, (batch, n), &dev)?,
        None => src.clone(),
    };
    Ok((next, src, rate))
}

#[allow(clippy::too_many_arguments)]
fn forward_step_tensors(
    x: &Tensor,
    rec: Option<&Tensor>,
    drive: &Tensor,
    alpha: &Tensor,
    keep: &Tensor,
    noise: Option<&Tensor>,
    activation: Activation,
    readout: ReadoutInput,
) -> Result<(Tensor, Tensor, Tensor)> {
    let a = match rec {
        Some(r) => (r + drive)?,
        None => drive.clone(),
    };
    let mut next = (x.broadcast_mul(keep)? + a.broadcast_mul(alpha)?)?;
    if let Some(nz) = noise {
        next = (next + nz)?;
    }
    let (src, rate) = match (readout, activation) {
        (ReadoutInput::Rate, a) => {
            let r = a.phi(&next)?;
            (r.clone(), r)
        }
        (ReadoutInput::Unrectified, Activation::TanhRelu) => {
            let o = next.tanh()?;
            let r = o.relu()?;
            (o, r)
        }
        (ReadoutInput::Unrectified, Activation::Tanh) => {
            let o = next.tanh()?;
            (o.clone(), o)
        }
        (ReadoutInput::Unrectified, a) => (next.tanh()?, a.phi(&next)?),
    };
    Ok((next, src, rate))
}

/// The first half of one backward step: `∂L/∂x_{t+1} = d_readout + carry` and
/// `δ_t = α ⊙ ∂L/∂x_{t+1}` (`[batch, n]`; `alpha` `[n]`). Returns `(∂L/∂x_{t+1}, δ_t)`.
pub fn backward_delta(
    d_readout: &Tensor,
    carry: Option<&Tensor>,
    alpha: &Tensor,
) -> Result<(Tensor, Tensor)> {
    let (batch, n) = d_readout.dims2()?;
    let fused = on_cpu_slices(&[Some(d_readout), Some(alpha), carry], |s| {
        let &[Some(rs), Some(al), cs] = s else {
            unreachable!("d_readout and alpha are given")
        };
        let mut d = rs.to_vec();
        if let Some(c) = cs {
            for (d, &c) in d.iter_mut().zip(c) {
                *d += c;
            }
        }
        let mut delta = vec![0f32; batch * n];
        for (drow, orow) in d.chunks(n).zip(delta.chunks_mut(n)) {
            for ((o, &d), &a) in orow.iter_mut().zip(drow).zip(al) {
                *o = a * d;
            }
        }
        (d, delta)
    });
    let Some((d, delta)) = fused else {
        let d = match carry {
            Some(c) => (d_readout + c)?,
            None => d_readout.clone(),
        };
        let delta = d.broadcast_mul(alpha)?;
        return Ok((d, delta));
    };
    let dev = d_readout.device();
    Ok((
        Tensor::from_vec(d, (batch, n), dev)?,
        Tensor::from_vec(delta, (batch, n), dev)?,
    ))
}

/// The second half: `∂L/∂x_t = (1 − α) ⊙ ∂L/∂x_{t+1} + φ'(x_t) ⊙ back`, with `back = δ_t W` (`None`:
/// no recurrent path) and φ' computed from the rate `r_t` (`[batch, n]`; `keep` `[n]`).
pub fn backward_carry(
    d_next: &Tensor,
    keep: &Tensor,
    back: Option<&Tensor>,
    rate: &Tensor,
    activation: Activation,
) -> Result<Tensor> {
    let (batch, n) = d_next.dims2()?;
    let fused = on_cpu_slices(&[Some(d_next), Some(keep), Some(rate), back], |s| {
        let &[Some(ds), Some(kp), Some(rs), bs] = s else {
            unreachable!("d_next, keep and rate are given")
        };
        let mut out = vec![0f32; batch * n];
        for_rows(&mut out, n, |row0, o| {
            let span = row0 * n..row0 * n + o.len();
            for (orow, drow) in o.chunks_mut(n).zip(ds[span.clone()].chunks(n)) {
                for ((o, &d), &k) in orow.iter_mut().zip(drow).zip(kp) {
                    *o = k * d;
                }
            }
            if let Some(b) = bs {
                let (b, r) = (&b[span.clone()], &rs[span]);
                // One monomorphised loop per nonlinearity, so the φ' choice is not made per element.
                fn add<F: Fn(f32) -> f32>(o: &mut [f32], b: &[f32], r: &[f32], d: F) {
                    for ((o, &b), &r) in o.iter_mut().zip(b).zip(r) {
                        *o += b * d(r);
                    }
                }
                match activation {
                    Activation::Relu => {
                        add(o, b, r, |r| Activation::Relu.phi_prime_from_rate_scalar(r))
                    }
                    Activation::Tanh => {
                        add(o, b, r, |r| Activation::Tanh.phi_prime_from_rate_scalar(r))
                    }
                    Activation::TanhRelu => add(o, b, r, |r| {
                        Activation::TanhRelu.phi_prime_from_rate_scalar(r)
                    }),
                    Activation::Softplus => add(o, b, r, |r| {
                        Activation::Softplus.phi_prime_from_rate_scalar(r)
                    }),
                }
            }
        });
        out
    });
    match fused {
        Some(out) => Tensor::from_vec(out, (batch, n), d_next.device()),
        None => {
            let through = d_next.broadcast_mul(keep)?;
            match back {
                Some(b) => through + b.mul(&activation.phi_prime_from_rate(rate)?)?,
                None => Ok(through),
            }
        }
    }
}

/// Column sums of a 2-D `[rows, n]` tensor as `[1, n]` (candle's `sum_keepdim(0)`, which walks the
/// rows element by element on the CPU).
pub fn sum_rows(x: &Tensor) -> Result<Tensor> {
    if x.rank() != 2 {
        return x.sum_keepdim(0);
    }
    let (_, n) = x.dims2()?;
    let fused = on_cpu_slices(&[Some(x)], |s| {
        let mut out = vec![0f32; n];
        for row in s[0].expect("given").chunks(n) {
            for (o, &v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
        out
    });
    match fused {
        Some(out) => Tensor::from_vec(out, (1, n), x.device()),
        None => x.sum_keepdim(0),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use candle_core::Device;

    /// max |a − b| (shared by the model's unit tests).
    pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    /// Every fused pass against the tensor path, for every activation and readout source, on a
    /// step small enough for one thread and one large enough for the pool.
    #[test]
    fn fused_steps_match_the_tensor_path() {
        let dev = Device::Cpu;
        for (batch, n) in [(3usize, 7usize), (64, 700)] {
            let x = Tensor::randn(0f32, 1.0, (batch, n), &dev).unwrap();
            let rec = Tensor::randn(0f32, 1.0, (batch, n), &dev).unwrap();
            let drive = Tensor::randn(0f32, 1.0, (batch, n), &dev).unwrap();
            let noise = Tensor::randn(0f32, 0.1, (batch, n), &dev).unwrap();
            let alpha = Tensor::rand(0.1f32, 1.0, n, &dev).unwrap();
            let keep = (alpha.neg().unwrap() + 1.0).unwrap();
            for act in [
                Activation::Relu,
                Activation::Tanh,
                Activation::TanhRelu,
                Activation::Softplus,
            ] {
                for ro in [ReadoutInput::Rate, ReadoutInput::Unrectified] {
                    for (r, z) in [(Some(&rec), Some(&noise)), (None, None)] {
                        let f = forward_step(&x, r, &drive, &alpha, &keep, z, act, ro).unwrap();
                        let t =
                            forward_step_tensors(&x, r, &drive, &alpha, &keep, z, act, ro).unwrap();
                        assert!(max_diff(&f.0, &t.0) < 1e-6, "{act:?} {ro:?} state");
                        assert!(max_diff(&f.1, &t.1) < 1e-6, "{act:?} {ro:?} source");
                        assert!(max_diff(&f.2, &t.2) < 1e-6, "{act:?} {ro:?} rate");
                    }
                }
                let rate = act.phi(&x).unwrap();
                let c = backward_carry(&x, &keep, Some(&rec), &rate, act).unwrap();
                let reference = (x.broadcast_mul(&keep).unwrap()
                    + rec.mul(&act.phi_prime_from_rate(&rate).unwrap()).unwrap())
                .unwrap();
                assert!(max_diff(&c, &reference) < 1e-6, "{act:?} carry");
            }
            let (d, delta) = backward_delta(&x, Some(&rec), &alpha).unwrap();
            assert!(max_diff(&d, &(&x + &rec).unwrap()) < 1e-6);
            assert!(max_diff(&delta, &d.broadcast_mul(&alpha).unwrap()) < 1e-6);
            let s = sum_rows(&x).unwrap();
            assert!(max_diff(&s, &x.sum_keepdim(0).unwrap()) < 1e-4);
        }
    }
}
