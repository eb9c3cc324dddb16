//! Colours of the report: a diverging blue–white–red map for signed values (weights, currents,
//! perturbation effects), and the line colours of the other figures.

use plotters::style::RGBColor;

/// Saturated end for negative values (inhibition, decreases): ColorBrewer RdBu blue.
pub const NEGATIVE: RGBColor = RGBColor(33, 102, 172);
/// Saturated end for positive values (excitation, increases): ColorBrewer RdBu red.
pub const POSITIVE: RGBColor = RGBColor(178, 24, 43);
/// Cells without a value (NaN): light grey, distinct from white (zero).
pub const MISSING: RGBColor = RGBColor(200, 200, 200);
/// Recorded data in line plots.
pub const DATA: RGBColor = RGBColor(40, 40, 40);
/// Model output and the final stage in line and scatter plots.
pub const MODEL: RGBColor = RGBColor(214, 96, 77);
/// Training-set curves and the initial stage.
pub const TRAIN: RGBColor = RGBColor(67, 147, 195);

/// The diverging colour of `value` on a scale symmetric about zero: 0 → white, `-limit` → blue,
/// `+limit` → red, linear in between, clipped beyond ±`limit`; NaN → grey.
pub fn diverging(value: f64, limit: f64) -> RGBColor {
    if value.is_nan() {
        return MISSING;
    }
    let t = if limit > 0.0 {
        (value / limit).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let end = if t < 0.0 { NEGATIVE } else { POSITIVE };
    let s = t.abs();
    let mix = |c: u8| (255.0 + (f64::from(c) - 255.0) * s).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_white_and_the_limits_are_the_saturated_ends() {
        assert_eq!(diverging(0.0, 2.0), RGBColor(255, 255, 255));
        assert_eq!(diverging(-2.0, 2.0), NEGATIVE);
        assert_eq!(diverging(2.0, 2.0), POSITIVE);
        // Clipped beyond the limit.
        assert_eq!(diverging(-50.0, 2.0), NEGATIVE);
        assert_eq!(diverging(50.0, 2.0), POSITIVE);
        assert_eq!(diverging(f64::NAN, 2.0), MISSING);
        // A zero limit (all-zero matrix) draws white, not NaN colours.
        assert_eq!(diverging(0.0, 0.0), RGBColor(255, 255, 255));
    }

    #[test]
    fn the_map_is_symmetric_about_zero() {
        // ±x are the same fraction of the way from white to their own end.
        let towards =
            |c: RGBColor, end: RGBColor| (255.0 - f64::from(c.0)) / (255.0 - f64::from(end.0));
        for x in [0.1, 0.25, 0.5, 0.8, 1.0] {
            let (lo, hi) = (diverging(-x, 1.0), diverging(x, 1.0));
            assert!((towards(lo, NEGATIVE) - x).abs() < 0.01, "{x}: {lo:?}");
            assert!((towards(hi, POSITIVE) - x).abs() < 0.01, "{x}: {hi:?}");
            assert!(lo.2 > lo.0, "negative values are blue: {lo:?}");
            assert!(hi.0 > hi.2, "positive values are red: {hi:?}");
        }
        // Monotone: larger |value| → darker on both sides.
        let darkness = |c: RGBColor| 765 - u32::from(c.0) - u32::from(c.1) - u32::from(c.2);
        for x in [0.2, 0.4, 0.6] {
            assert!(darkness(diverging(x + 0.2, 1.0)) > darkness(diverging(x, 1.0)));
            assert!(darkness(diverging(-x - 0.2, 1.0)) > darkness(diverging(-x, 1.0)));
        }
    }
}
