//! Shared styling for the x–y charts (loss, traces, spectra): fonts, mesh, legends, value ranges.

use crate::report::render::font;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Title font size in pixels.
pub const TITLE_PX: f64 = 24.0;
/// Tick-label font size.
pub const LABEL_PX: f64 = 15.0;
/// Axis-title font size.
pub const AXIS_PX: f64 = 18.0;

/// An x–y chart with f64 axes.
pub type XyChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Build a chart on `area` with a title and the given ranges.
pub fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<XyChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    ChartBuilder::on(area)
        .caption(title, font(TITLE_PX))
        .margin(14)
        .x_label_area_size(52)
        .y_label_area_size(78)
        .build_cartesian_2d(x, y)
}

/// Draw the mesh with readable labels, axis titles and a light grid.
pub fn mesh<'a, DB: DrawingBackend + 'a>(
    chart: &mut XyChart<'a, DB>,
    x_title: &str,
    y_title: &str,
    y_format: &dyn Fn(&f64) -> String,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let x_format = |v: &f64| tick(v);
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(215, 215, 215))
        .label_style(font(LABEL_PX))
        .axis_desc_style(font(AXIS_PX))
        .x_desc(x_title)
        .y_desc(y_title)
        .x_label_formatter(&x_format)
        .y_label_formatter(y_format)
        .draw()
}

/// Draw the legend of the labelled series in the upper-right corner.
pub fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut XyChart<'a, DB>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(LABEL_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(150, 150, 150))
        .draw()
}

/// The finite range of `values`, padded by 5 % (a unit range around a constant).
pub fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    if hi - lo < 1e-12 {
        return lo - 0.5..hi + 0.5;
    }
    let pad = 0.05 * (hi - lo);
    lo - pad..hi + pad
}

/// A tick label with up to 4 significant digits (rounding noise such as 2e-16 shows as 0).
pub fn tick(v: &f64) -> String {
    let a = v.abs();
    if a < 1e-9 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 4) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_pad_and_ignore_nan() {
        let r = padded_range([1.0, f64::NAN, 3.0].into_iter());
        assert!((r.start - 0.9).abs() < 1e-12 && (r.end - 3.1).abs() < 1e-12);
        assert_eq!(padded_range([2.0].into_iter()), 1.5..2.5);
        assert_eq!(padded_range(std::iter::empty()), 0.0..1.0);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(&0.5), "0.5");
        assert_eq!(tick(&0.8123456), "0.8123");
        assert_eq!(tick(&120.0), "120");
        assert_eq!(tick(&-2e-5), "-2.0e-5");
        assert_eq!(tick(&-2.2e-16), "0");
        assert_eq!(tick(&40.0), "40");
    }
}
