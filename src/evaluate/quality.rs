//! Fit quality per neuron and pooled (design §3.3).
//!
//! For one neuron with data y and prediction ŷ over a split: `r2 = pvar = 1 − Σ(ŷ − y)² / Σ(y − ȳ)²`
//! (ȳ = the neuron's mean on that split; identical for one neuron) and `pearson_r`. Pooled over
//! neurons: `pvar = 1 − Σ_i Σ(ŷ − y)² / Σ_i Σ(y − ȳ_i)²` (Perich et al. 2021), `r2` = the mean of the
//! per-neuron R², `pearson_r` = the mean per-neuron r.

/// Quality of one neuron's (or the pooled) prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Coefficient of determination (pooled: mean over neurons).
    pub r2: f64,
    /// Fraction of variance explained (pooled: over all neurons' summed squares).
    pub pvar: f64,
    /// Pearson correlation (pooled: mean over neurons).
    pub pearson_r: f64,
}

/// Sums for one neuron.
fn sums(pred: &[f32], data: &[f32]) -> (f64, f64, f64) {
    let n = data.len().max(1) as f64;
    let my = data.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mp = pred.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut sse, mut sst, mut spp, mut spy) = (0.0, 0.0, 0.0, 0.0);
    for (&p, &y) in pred.iter().zip(data) {
        let (p, y) = (p as f64, y as f64);
        sse += (p - y).powi(2);
        sst += (y - my).powi(2);
        spp += (p - mp).powi(2);
        spy += (p - mp) * (y - my);
    }
    let r = if spp > 0.0 && sst > 0.0 {
        spy / (spp * sst).sqrt()
    } else {
        0.0
    };
    (sse, sst, r)
}

/// Per-neuron quality for columns of `pred` / `data` (each a list of per-neuron value vectors),
/// and the pooled quality.
pub fn quality(pred: &[Vec<f32>], data: &[Vec<f32>]) -> (Vec<Quality>, Quality) {
    let mut per = Vec::with_capacity(pred.len());
    let (mut sse_all, mut sst_all) = (0.0, 0.0);
    for (p, y) in pred.iter().zip(data) {
        let (sse, sst, r) = sums(p, y);
        let r2 = if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN };
        per.push(Quality {
            r2,
            pvar: r2,
            pearson_r: r,
        });
        sse_all += sse;
        sst_all += sst;
    }
    let finite_mean = |f: &dyn Fn(&Quality) -> f64| {
        let v: Vec<f64> = per.iter().map(f).filter(|x| x.is_finite()).collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let pooled = Quality {
        r2: finite_mean(&|q| q.r2),
        pvar: if sst_all > 0.0 {
            1.0 - sse_all / sst_all
        } else {
            f64::NAN
        },
        pearson_r: finite_mean(&|q| q.pearson_r),
    };
    (per, pooled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_constant_and_scaled_predictions() {
        let y = vec![vec![1.0f32, 2.0, 3.0, 4.0]];
        let (per, _) = quality(&y, &y);
        assert_eq!(per[0].r2, 1.0);
        assert!((per[0].pearson_r - 1.0).abs() < 1e-12);
        // Predicting the mean explains nothing.
        let (per, _) = quality(&[vec![2.5; 4]], &y);
        assert_eq!(per[0].r2, 0.0);
        // A scaled prediction is perfectly correlated but loses variance explained.
        let (per, _) = quality(&[vec![2.0, 4.0, 6.0, 8.0]], &y);
        assert!((per[0].pearson_r - 1.0).abs() < 1e-12 && per[0].r2 < 0.0);
    }
}
