//! The rate units' nonlinearity φ, written once: φ, its derivative φ′ and the clipped inverse φ⁻¹
//! (with its derivative) that sets a state from a data frame, on candle tensors (training,
//! evaluation, analyses) and on scalars (the fused CPU passes, the Jacobian). One test pins them
//! all against each other and against finite differences.
//!
//! | φ | φ(x) | φ′ from the rate r = φ(x) | φ⁻¹(r), r clipped into |
//! |---|---|---|---|
//! | `relu` | max(x, 0) | 1[r > 0] | r, [0, ∞) |
//! | `tanh` | tanh x | 1 − r² | atanh r, [−0.999, 0.999] |
//! | `tanh_relu` | max(tanh x, 0) | (1 − r²)·1[r > 0] | atanh r, [0, 0.999] |
//! | `softplus` | ln(1 + eˣ) | 1 − e^{−r} | r + ln(1 − e^{−r}), [10⁻³, 10⁴] |

use candle_core::{Result, Tensor};
use serde::{Deserialize, Serialize};

/// Nonlinearity φ(x) of the rate units (`model.activation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(x, 0).
    Relu,
    /// tanh(x).
    Tanh,
    /// log(1 + eˣ).
    #[default]
    Softplus,
    /// max(tanh(x), 0), Balwani et al.'s rectified tanh.
    TanhRelu,
}

/// The range φ⁻¹ clips a rate into before inverting: `(low, high)`.
fn inverse_clip(a: Activation) -> (f32, f32) {
    match a {
        Activation::Relu => (0.0, f32::INFINITY),
        Activation::Tanh => (-0.999, 0.999),
        Activation::TanhRelu => (0.0, 0.999),
        Activation::Softplus => (1e-3, 1e4),
    }
}

impl Activation {
    /// φ(x) element-wise on a tensor of any shape.
    pub fn phi(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::TanhRelu => x.tanh()?.relu(),
            // softplus(x) = max(x, 0) + log(1 + exp(−|x|)), stable for large |x|.
            Activation::Softplus => x.relu()? + ((x.abs()?.neg()?.exp()? + 1.0)?.log()?),
        }
    }

    /// φ′(x) from the rate `r = φ(x)` alone (every φ here allows it), element-wise.
    pub fn phi_prime_from_rate(self, r: &Tensor) -> Result<Tensor> {
        match self {
            Activation::Relu => r.gt(0f32)?.to_dtype(r.dtype()),
            Activation::Tanh => r.sqr()?.neg()? + 1.0,
            // r = relu(tanh x): 1 − r² where x > 0 (⇔ r > 0), else 0.
            Activation::TanhRelu => (r.sqr()?.neg()? + 1.0)?.mul(&r.gt(0f32)?.to_dtype(r.dtype())?),
            // r = ln(1 + eˣ) ⇒ e^{−r} = 1 / (1 + eˣ) ⇒ φ′(x) = sigmoid(x) = 1 − e^{−r}.
            Activation::Softplus => r.neg()?.exp()?.neg()? + 1.0,
        }
    }

    /// φ⁻¹(r) for rates clipped into φ's range (see the module table), element-wise.
    pub fn phi_inverse(self, r: &Tensor) -> Result<Tensor> {
        let (lo, hi) = inverse_clip(self);
        match self {
            Activation::Relu => r.relu(),
            Activation::Tanh | Activation::TanhRelu => atanh(&r.clamp(lo, hi)?),
            // softplus⁻¹(r) = log(exp(r) − 1) = r + log(1 − exp(−r)).
            Activation::Softplus => {
                let r = r.clamp(lo, hi)?;
                &r + ((r.neg()?.exp()?.neg()? + 1.0)?.log()?)
            }
        }
    }

    /// d φ⁻¹(ρ) / dρ of [`Activation::phi_inverse`], 0 where its clip is active. The formula is
    /// evaluated at ρ clipped into the range, so a rate exactly at the clip (a constant trace at
    /// the readout offset gives ρ = 0) yields 0, never ∞ · 0 = NaN.
    pub fn phi_inverse_prime(self, rho: &Tensor) -> Result<Tensor> {
        let (lo, hi) = inverse_clip(self);
        let inside = || -> Result<Tensor> {
            rho.gt(lo)?
                .to_dtype(rho.dtype())?
                .mul(&rho.lt(hi)?.to_dtype(rho.dtype())?)
        };
        match self {
            Activation::Relu => rho.gt(0f32)?.to_dtype(rho.dtype()),
            Activation::Tanh | Activation::TanhRelu => {
                let r = rho.clamp(lo, hi)?;
                (r.sqr()?.neg()? + 1.0)?.recip()?.mul(&inside()?)
            }
            // d/dρ [ρ + ln(1 − e^{−ρ})] = 1 / (1 − e^{−ρ})
            Activation::Softplus => {
                let r = rho.clamp(lo, hi)?;
                (r.neg()?.exp()?.neg()? + 1.0)?.recip()?.mul(&inside()?)
            }
        }
    }

    /// φ(x) of one f32, with the vectorisable [`tanh`] (the fused CPU passes).
    #[inline(always)]
    pub fn phi_scalar(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => tanh(x),
            Activation::TanhRelu => tanh(x).max(0.0),
            Activation::Softplus => softplus(x),
        }
    }

    /// φ′ from the rate `r = φ(x)` of one f32 (as [`Activation::phi_prime_from_rate`]).
    #[inline(always)]
    pub fn phi_prime_from_rate_scalar(self, r: f32) -> f32 {
        match self {
            Activation::Relu => {
                if r > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - r * r,
            Activation::TanhRelu => {
                if r > 0.0 {
                    1.0 - r * r
                } else {
                    0.0
                }
            }
            Activation::Softplus => 1.0 - exp_nonpositive(-r),
        }
    }

    /// φ′(x) of one state value (0 where φ is flat, e.g. relu below 0), with the exact tanh (the
    /// Jacobian and the saturation diagnostic).
    pub fn phi_prime_of_state(self, x: f32) -> f32 {
        match self {
            Activation::Relu => f32::from(x > 0.0),
            Activation::Tanh => 1.0 - x.tanh().powi(2),
            Activation::TanhRelu => {
                if x > 0.0 {
                    1.0 - x.tanh().powi(2)
                } else {
                    0.0
                }
            }
            Activation::Softplus => 1.0 / (1.0 + (-x).exp()),
        }
    }
}

fn atanh(r: &Tensor) -> Result<Tensor> {
    // atanh(r) = ½ log((1 + r) / (1 − r))
    ((r + 1.0)?.log()? - (r.neg()? + 1.0)?.log()?)? * 0.5
}

/// softplus in f32, `max(x, 0) + ln(1 + e^{−|x|})`, from [`exp_nonpositive`] and [`ln_1p_unit`]:
/// plain products, sums and selects that the compiler vectorises (libm's `expf` and `logf` are
/// scalar calls, and were two fifths of a teacher-forced fit's time).
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + ln_1p_unit(exp_nonpositive(-x.abs()))
}

/// e^y for y ≤ 0 in f32 (0 below −87): y = n ln 2 + r with n rounded to the nearest integer and
/// |r| ≤ ln 2 / 2, e^r by its Taylor polynomial of degree 7 (error below 2e-9 relative), 2^n from
/// the exponent bits. Within 2 ulp of the exact value (tested).
#[inline(always)]
pub fn exp_nonpositive(y: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5 · 2²³ rounds to the nearest integer in f32.
    const ROUND: f32 = 12_582_912.0;
    let y = y.clamp(-87.0, 0.0);
    let n = (y * LOG2E + ROUND) - ROUND;
    let r = (y - n * LN2_HI) - n * LN2_LO;
    let p = 1.0 / 5040.0;
    let p = p * r + 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// ln(1 + e) for e in [0, 1] in f32, without forming 1 + e where that would round e away:
/// 1 + e = 2^k (1 + f) with 1 + f in [√½, √2), ln(1 + f) by Cephes' `logf` polynomial. Within
/// 2 ulp of the exact value (tested).
#[inline(always)]
pub fn ln_1p_unit(e: f32) -> f32 {
    const SQRT2_M1: f32 = std::f32::consts::SQRT_2 - 1.0;
    let big = e > SQRT2_M1;
    let f = if big { (e - 1.0) * 0.5 } else { e };
    let k = if big { 1.0 } else { 0.0 };
    let z = f * f;
    let p = 7.037_683_6e-2;
    let p = p * f - 1.151_461e-1;
    let p = p * f + 1.167_699_9e-1;
    let p = p * f - 1.242_014_1e-1;
    let p = p * f + 1.424_932_3e-1;
    let p = p * f - 1.666_805_8e-1;
    let p = p * f + 2.000_071_4e-1;
    let p = p * f - 2.499_999_4e-1;
    let p = p * f + 3.333_333e-1;
    let y = p * f * z - 0.5 * z;
    f + y + k * std::f32::consts::LN_2
}

/// tanh in f32 as a rational function that the compiler vectorises (plain products and sums:
/// `mul_add` is a library call without the FMA target feature; libm's `tanhf` is a scalar call,
/// and was a tenth of the `celltype` step): Eigen's `generic_fast_tanh_float` (degree 13 / 6 on
/// [−7.905, 7.905], where tanh rounds to ±1 in f32; `x` itself below 4e-4). Within 4.1e-7 of the
/// exact tanh everywhere (tested).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const A1: f32 = 4.893_524_6e-3;
    const A3: f32 = 6.372_619_3e-4;
    const A5: f32 = 1.485_722_4e-5;
    const A7: f32 = 5.122_297e-8;
    const A9: f32 = -8.604_672e-11;
    const A11: f32 = 2.000_188e-13;
    const A13: f32 = -2.760_768_5e-16;
    const B0: f32 = 4.893_525e-3;
    const B2: f32 = 2.268_434_6e-3;
    const B4: f32 = 1.185_347_1e-4;
    const B6: f32 = 1.198_258_4e-6;
    let c = x.clamp(-CLAMP, CLAMP);
    let x2 = c * c;
    let p = x2 * A13 + A11;
    let p = x2 * p + A9;
    let p = x2 * p + A7;
    let p = x2 * p + A5;
    let p = x2 * p + A3;
    let p = (x2 * p + A1) * c;
    let q = x2 * B6 + B4;
    let q = x2 * q + B2;
    let q = x2 * q + B0;
    if x.abs() < 4e-4 {
        x
    } else {
        p / q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    const ALL: [Activation; 4] = [
        Activation::Relu,
        Activation::Tanh,
        Activation::TanhRelu,
        Activation::Softplus,
    ];

    fn exact_phi(x: f64, a: Activation) -> f64 {
        match a {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::TanhRelu => x.tanh().max(0.0),
            Activation::Softplus => (1.0 + x.exp()).ln(),
        }
    }

    /// φ on tensors and scalars against f64 φ; both φ′ forms against central finite differences;
    /// φ⁻¹(φ(x)) = x inside the clip range, and φ⁻¹′ against finite differences of φ⁻¹.
    #[test]
    fn the_inverse_derivative_is_finite_at_the_clip() {
        // A dead ROI at the readout offset gives ρ = 0 exactly (and ±1 for the tanh family).
        let rho = Tensor::new(
            &[0f32, 1.0, -1.0, 1e-3, 0.999, 2.0],
            &candle_core::Device::Cpu,
        )
        .unwrap();
        for a in [
            Activation::Softplus,
            Activation::Tanh,
            Activation::TanhRelu,
            Activation::Relu,
        ] {
            let d = a.phi_inverse_prime(&rho).unwrap().to_vec1::<f32>().unwrap();
            assert!(d.iter().all(|v| v.is_finite()), "{a:?}: {d:?}");
        }
        let soft = Activation::Softplus
            .phi_inverse_prime(&rho)
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(soft[0], 0.0, "clipped: no gradient");
        assert!((soft[5] - 1.0 / (1.0 - (-2f32).exp())).abs() < 1e-6);
    }

    #[test]
    fn phi_its_derivative_and_its_inverse_agree_everywhere() {
        let xs: Vec<f32> = (-60..=60).map(|k| k as f32 * 0.05 + 0.013).collect();
        let t = Tensor::from_slice(&xs, xs.len(), &Device::Cpu).unwrap();
        let vec = |t: Tensor| t.to_vec1::<f32>().unwrap();
        for a in ALL {
            let phi_t = vec(a.phi(&t).unwrap());
            let rate = a.phi(&t).unwrap();
            let prime_t = vec(a.phi_prime_from_rate(&rate).unwrap());
            let inverse = vec(a.phi_inverse(&rate).unwrap());
            for (k, &x) in xs.iter().enumerate() {
                let exact = exact_phi(x as f64, a);
                assert!((phi_t[k] as f64 - exact).abs() < 1e-6, "{a:?} φ({x})");
                assert!(
                    (a.phi_scalar(x) as f64 - exact).abs() < 1e-6,
                    "{a:?} scalar φ({x})"
                );
                let h = 1e-4;
                let fd = (exact_phi(x as f64 + h, a) - exact_phi(x as f64 - h, a)) / (2.0 * h);
                assert!((prime_t[k] as f64 - fd).abs() < 1e-3, "{a:?} φ′({x})");
                let r = a.phi_scalar(x);
                assert!(
                    (a.phi_prime_from_rate_scalar(r) as f64 - fd).abs() < 1e-3,
                    "{a:?} scalar φ′({x})"
                );
                assert!(
                    (a.phi_prime_of_state(x) as f64 - fd).abs() < 1e-3,
                    "{a:?} φ′ of state"
                );
                let (lo, hi) = inverse_clip(a);
                if phi_t[k] > lo + 1e-3 && phi_t[k] < hi - 1e-3 {
                    assert!((inverse[k] - x).abs() < 2e-3, "{a:?} φ⁻¹(φ({x}))");
                }
            }
            let rho: Vec<f32> = (1..40).map(|k| k as f32 * 0.0249).collect();
            let rt = Tensor::from_slice(&rho, rho.len(), &Device::Cpu).unwrap();
            let inv_prime = vec(a.phi_inverse_prime(&rt).unwrap());
            let h = 1e-3f32;
            let up = vec(a.phi_inverse(&(&rt + h as f64).unwrap()).unwrap());
            let down = vec(a.phi_inverse(&(&rt - h as f64).unwrap()).unwrap());
            for k in 0..rho.len() {
                let fd = (up[k] - down[k]) / (2.0 * h);
                assert!(
                    (inv_prime[k] - fd).abs() < 2e-2 * fd.abs().max(1.0),
                    "{a:?} φ⁻¹′({}) {} vs {fd}",
                    rho[k],
                    inv_prime[k]
                );
            }
        }
    }

    #[test]
    fn tanh_is_within_seven_ulp() {
        let mut worst = 0f64;
        let mut x = -12.0f32;
        while x <= 12.0 {
            let exact = (x as f64).tanh();
            worst = worst.max((tanh(x) as f64 - exact).abs());
            x += 1.3e-4;
        }
        for x in [0.0f32, 1e-30, -1e-30, 3.9e-4, 4.1e-4, f32::MAX, f32::MIN] {
            worst = worst.max((tanh(x) as f64 - (x as f64).tanh()).abs());
        }
        assert!(worst < 4.5e-7, "max |error| {worst:e}");
        assert!(tanh(f32::NAN).is_nan());
    }

    /// The largest error relative to the exact f64 value over `xs`.
    fn worst_relative(
        xs: impl Iterator<Item = f32>,
        f: fn(f32) -> f32,
        exact: fn(f64) -> f64,
    ) -> f64 {
        xs.map(|x| {
            let e = exact(x as f64);
            ((f(x) as f64 - e) / e.abs().max(f64::MIN_POSITIVE)).abs()
        })
        .fold(0.0, f64::max)
    }

    #[test]
    fn the_vectorisable_exp_log_and_softplus_are_within_a_few_ulp() {
        // f32's ulp is 2⁻²³ ≈ 1.2e-7 relative.
        let grid =
            |lo: f32, hi: f32, n: usize| (0..=n).map(move |k| lo + (hi - lo) * k as f32 / n as f32);
        let exp = worst_relative(grid(-87.0, 0.0, 400_000), exp_nonpositive, f64::exp);
        assert!(exp < 2.5e-7, "e^y: {exp:e}");
        let ln = worst_relative(grid(1e-6, 1.0, 400_000), ln_1p_unit, f64::ln_1p);
        assert!(ln < 2.5e-7, "ln(1 + e): {ln:e}");
        // Tiny e keeps its value (1 + e would round it away).
        assert!((ln_1p_unit(1e-9) - 1e-9).abs() < 1e-15);
        let exact_softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        let sp = worst_relative(grid(-80.0, 80.0, 800_000), softplus, exact_softplus);
        assert!(sp < 3e-7, "softplus: {sp:e}");
        assert_eq!(exp_nonpositive(-1000.0), 0.0f32.max(exp_nonpositive(-87.0)));
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(softplus(0.0), std::f32::consts::LN_2);
    }
}
