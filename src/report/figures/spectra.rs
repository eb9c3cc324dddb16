//! The spectrum of the recurrent weights: eigenvalues in the complex plane (initial vs final) and
//! the histogram of final singular values.

use super::charts::{legend, mesh, padded_range, tick, TITLE_PX};
use crate::report::colour::{MODEL, TRAIN};
use crate::report::inputs::{Need, RunFiles};
use crate::report::render::{font, DrawResult, Plot, Target};
use crate::rundir::paths::table_file;
use crate::rundir::tables::SpectrumRow;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Rows of `tables/spectrum.parquet` for `matrix`, `kind` and `stage` as (re, im).
fn spectrum(t: &[SpectrumRow], kind: &str, stage: &str) -> Vec<(f64, f64)> {
    t.iter()
        .filter(|r| r.stage == stage && r.matrix == "w_rec" && r.kind == kind)
        .map(|r| (r.re, r.im))
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .collect()
}

/// A `scope == "all"` diagnostic for `stage`, if recorded.
fn diagnostic(run: &RunFiles, stage: &str, metric: &str) -> Option<f64> {
    run.diagnostics()
        .ok()?
        .iter()
        .find(|d| d.stage == stage && d.scope == "all" && d.metric == metric)
        .map(|d| d.value)
}

/// The eigenvalues of one stage, as drawn.
struct Stage {
    label: &'static str,
    points: Vec<(f64, f64)>,
    colour: RGBColor,
}

/// Eigenvalues of `w_rec` at two stages.
pub struct EigenPlot {
    stages: Vec<Stage>,
    radius: Option<f64>,
}

/// The eigenvalue figure: initial (or earliest recorded) and final eigenvalues of `w_rec`.
pub fn eigenvalues(run: &RunFiles) -> Need<EigenPlot> {
    let t = run.spectrum()?;
    let fin = spectrum(t, "eigenvalue", "final");
    if fin.is_empty() {
        return Err(format!(
            "{} has no final eigenvalues of w_rec",
            table_file("spectrum")
        ));
    }
    let mut stages = Vec::new();
    for early in ["init", "dense"] {
        let ev = spectrum(t, "eigenvalue", early);
        if !ev.is_empty() {
            let label = if early == "init" {
                "initial"
            } else {
                "after the dense phase"
            };
            stages.push(Stage {
                label,
                points: ev,
                colour: TRAIN,
            });
            break;
        }
    }
    stages.push(Stage {
        label: "final",
        points: fin,
        colour: MODEL,
    });
    Ok(EigenPlot {
        stages,
        radius: diagnostic(run, "final", "spectral_radius"),
    })
}

impl Plot for EigenPlot {
    fn size(&self) -> (u32, u32) {
        (900, 900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Target) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let extent = self
            .stages
            .iter()
            .flat_map(|s| &s.points)
            .map(|(a, b)| a.abs().max(b.abs()))
            .fold(1.0f64, f64::max)
            * 1.08;
        let title = match self.radius {
            Some(r) => format!("Eigenvalues of W (final spectral radius {r:.3})"),
            None => "Eigenvalues of W".to_string(),
        };
        let area = root.titled(&title, font(TITLE_PX))?;
        // Equal aspect: a square plotting area with the same range on both axes.
        let (w, h) = area.dim_in_pixel();
        let (ylab, xlab, m) = (78i32, 56i32, 14i32);
        let side = (w as i32 - ylab - 2 * m).min(h as i32 - xlab - 2 * m);
        let mut c = ChartBuilder::on(&area)
            .margin_left(m)
            .margin_top(m)
            .margin_right(w as i32 - ylab - m - side)
            .margin_bottom(h as i32 - xlab - m - side)
            .x_label_area_size(xlab)
            .y_label_area_size(ylab)
            .build_cartesian_2d(-extent..extent, -extent..extent)?;
        mesh(&mut c, "real part", "imaginary part", &tick)?;
        let circle = (0..=360).map(|d| {
            let t = f64::from(d).to_radians();
            (t.cos(), t.sin())
        });
        c.draw_series(LineSeries::new(circle, BLACK.stroke_width(1)))?
            .label("unit circle")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        for stage in &self.stages {
            let colour = stage.colour;
            let n = stage.points.len();
            let points = stage.points.iter();
            c.draw_series(points.map(|&p| Circle::new(p, 3, colour.mix(0.75).filled())))?
                .label(format!("{} ({n})", stage.label))
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
        }
        legend(&mut c, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}

/// Histogram of the final singular values.
pub struct SingularPlot {
    values: Vec<f64>,
    entropy: Option<f64>,
}

/// The singular-value figure from `tables/spectrum.parquet` and `tables/diagnostics.parquet`.
pub fn singular_values(run: &RunFiles) -> Need<SingularPlot> {
    let t = run.spectrum()?;
    let values: Vec<f64> = spectrum(t, "singular_value", "final")
        .into_iter()
        .map(|p| p.0)
        .collect();
    if values.is_empty() {
        return Err(format!(
            "{} has no final singular values of w_rec",
            table_file("spectrum")
        ));
    }
    Ok(SingularPlot {
        values,
        entropy: diagnostic(run, "final", "normalised_svd_entropy"),
    })
}

/// Bin `values` into `bins` equal bins over `[0, max]`: (left edge, width, count).
fn histogram(values: &[f64], bins: usize) -> Vec<(f64, f64, u32)> {
    let hi = values.iter().copied().fold(0.0f64, f64::max).max(1e-12);
    let width = hi / bins as f64;
    let mut counts = vec![0u32; bins];
    for &v in values {
        let b = ((v / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(b, c)| (b as f64 * width, width, c))
        .collect()
}

impl Plot for SingularPlot {
    fn size(&self) -> (u32, u32) {
        (1000, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Target) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let bins = histogram(&self.values, 40);
        let top = bins.iter().map(|b| b.2).max().unwrap_or(1) as f64 * 1.08;
        let xs = padded_range(bins.iter().flat_map(|b| [b.0, b.0 + b.1]));
        let title = match self.entropy {
            Some(e) => format!("Final singular values (normalised SVD entropy {e:.3})"),
            None => "Final singular values".to_string(),
        };
        let mut c = super::charts::chart(root, &title, 0f64.max(xs.start)..xs.end, 0.0..top)?;
        mesh(&mut c, "singular value", "number of singular values", &tick)?;
        c.draw_series(bins.iter().map(|&(x, w, n)| {
            Rectangle::new([(x, 0.0), (x + w, f64::from(n))], MODEL.mix(0.8).filled())
        }))?;
        c.draw_series(bins.iter().map(|&(x, w, n)| {
            Rectangle::new([(x, 0.0), (x + w, f64::from(n))], WHITE.stroke_width(1))
        }))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_every_value_once() {
        let v = [0.0, 0.1, 0.5, 0.99, 1.0, 1.0];
        let h = histogram(&v, 4);
        assert_eq!(h.iter().map(|b| b.2).sum::<u32>(), 6);
        assert_eq!(h.iter().map(|b| b.2).collect::<Vec<_>>(), vec![2, 0, 1, 3]);
        assert!((h[3].0 - 0.75).abs() < 1e-12);
    }
}
