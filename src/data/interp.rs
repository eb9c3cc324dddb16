//! Linear interpolation on irregular clocks (resampling planes, running speed, trial windows).

use ndarray::Array2;

/// `ys` (sampled at increasing `xs`) linearly interpolated at `x`; held constant beyond the ends,
/// as numpy's `np.interp`.
pub fn linear(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if x <= xs[0] {
        return ys[0];
    }
    if x >= xs[n - 1] {
        return ys[n - 1];
    }
    let i = xs.partition_point(|&v| v <= x) - 1;
    let w = (x - xs[i]) / (xs[i + 1] - xs[i]);
    ys[i] * (1.0 - w) + ys[i + 1] * w
}

/// Every column of `values` (`[len(t_src), n]`, sampled at increasing `t_src`) at the times
/// `t_new`, `[len(t_new), n]`; held constant beyond the ends.
pub fn columns(t_src: &[f64], values: &Array2<f32>, t_new: &[f64]) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((t_new.len(), values.ncols()));
    let n = t_src.len();
    for (k, &x) in t_new.iter().enumerate() {
        let (i, w) = if x <= t_src[0] {
            (0, 0.0)
        } else if x >= t_src[n - 1] {
            (n - 1, 0.0)
        } else {
            let i = t_src.partition_point(|&v| v <= x) - 1;
            (i, (x - t_src[i]) / (t_src[i + 1] - t_src[i]))
        };
        let j = (i + 1).min(n - 1);
        for c in 0..values.ncols() {
            let (a, b) = (values[[i, c]] as f64, values[[j, c]] as f64);
            out[[k, c]] = (a * (1.0 - w) + b * w) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_interp_inside_and_holds_at_the_ends() {
        let xs = [0.0, 1.0, 3.0];
        let ys = [1.0, 3.0, -1.0];
        assert_eq!(linear(&xs, &ys, -1.0), 1.0);
        assert_eq!(linear(&xs, &ys, 0.5), 2.0);
        assert_eq!(linear(&xs, &ys, 2.0), 1.0);
        assert_eq!(linear(&xs, &ys, 1.0), 3.0);
        assert_eq!(linear(&xs, &ys, 9.0), -1.0);
        let v = Array2::from_shape_vec((3, 1), vec![1.0f32, 3.0, -1.0]).unwrap();
        let out = columns(&xs, &v, &[-1.0, 0.5, 2.0, 9.0]);
        assert_eq!(out.column(0).to_vec(), vec![1.0, 2.0, 1.0, -1.0]);
    }
}
