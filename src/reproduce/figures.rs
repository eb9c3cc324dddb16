//! The reproductions' figures: eigenvalues against a theory's predictions, and a quantity over
//! two design factors as a heat map (drawn with the report's [`HeatMap`]).

use crate::report::colour::{MODEL, TRAIN};
use crate::report::figures::charts::{chart, legend, mesh, padded_range, tick, XyChart};
use crate::report::render::{DrawResult, Plot, Target};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Draw `points` as a labelled line in `colour`, `width` pixels wide.
fn line<'a, DB: DrawingBackend + 'a>(
    c: &mut XyChart<'a, DB>,
    points: &[(f64, f64)],
    label: &str,
    colour: RGBColor,
    width: u32,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    c.draw_series(LineSeries::new(
        points.iter().copied(),
        colour.stroke_width(width),
    ))?
    .label(label)
    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(width)));
    Ok(())
}

/// Eigenvalues in the complex plane with predicted real outliers, the bulk's predicted edge
/// and the stability line Re λ = 1.
pub struct EigenScatter {
    /// Figure title.
    pub title: String,
    /// Eigenvalues `(re, im)`.
    pub points: Vec<(f64, f64)>,
    /// Predicted real eigenvalues (drawn as crosses on the real axis).
    pub predicted: Vec<f64>,
    /// Predicted edge of the bulk along the real axis (drawn as a circle).
    pub bulk_radius: f64,
}

impl Plot for EigenScatter {
    fn size(&self) -> (u32, u32) {
        (1000, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Target) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let xs = self
            .points
            .iter()
            .map(|p| p.0)
            .chain(self.predicted.iter().copied())
            .chain([1.0, -self.bulk_radius, self.bulk_radius]);
        let ys = self
            .points
            .iter()
            .map(|p| p.1)
            .chain([-self.bulk_radius, self.bulk_radius]);
        let mut c = chart(root, &self.title, padded_range(xs), padded_range(ys))?;
        mesh(&mut c, "real part", "imaginary part", &tick)?;
        let r = self.bulk_radius;
        let circle = (0..=360).map(move |d| {
            let t = f64::from(d).to_radians();
            (r * t.cos(), r * t.sin())
        });
        c.draw_series(LineSeries::new(circle, BLACK.stroke_width(1)))?
            .label("predicted bulk edge")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        let (_, y_range) = (c.x_range(), c.y_range());
        c.draw_series(LineSeries::new(
            [(1.0, y_range.start), (1.0, y_range.end)],
            RGBColor(150, 150, 150).stroke_width(1),
        ))?
        .label("Re λ = 1")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(150, 150, 150)));
        let n = self.points.len();
        c.draw_series(
            self.points
                .iter()
                .map(|&p| Circle::new(p, 3, TRAIN.mix(0.7).filled())),
        )?
        .label(format!("eigenvalues ({n})"))
        .legend(|(x, y)| Circle::new((x + 10, y), 4, TRAIN.filled()));
        c.draw_series(
            self.predicted
                .iter()
                .map(|&x| Cross::new((x, 0.0), 9, MODEL.stroke_width(3))),
        )?
        .label("predicted outliers")
        .legend(|(x, y)| Cross::new((x + 10, y), 6, MODEL.stroke_width(3)));
        legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// Overlaid histograms (as density curves) of standardised samples, with the standard normal
/// density for reference.
pub struct Histograms {
    /// Figure title.
    pub title: String,
    /// `(label, values)`: each is standardised to mean 0, SD 1 before binning.
    pub series: Vec<(String, Vec<f64>)>,
}

/// Bin edges of [`Histograms`]: −5 to 3 SD in steps of 0.2.
const BINS: (f64, f64, usize) = (-5.0, 3.0, 40);

/// The density of the standardised `v` in [`BINS`], as `(bin centre, density)`.
fn density(v: &[f64]) -> Vec<(f64, f64)> {
    let n = v.len() as f64;
    let (mean, sd) = crate::stats::mean_and_sd(v);
    let (lo, hi, k) = BINS;
    let width = (hi - lo) / k as f64;
    let mut counts = vec![0.0; k];
    for a in v {
        let z = (a - mean) / sd;
        let b = ((z - lo) / width).floor();
        if b >= 0.0 && (b as usize) < k {
            counts[b as usize] += 1.0;
        }
    }
    counts
        .iter()
        .enumerate()
        .map(|(b, c)| (lo + (b as f64 + 0.5) * width, c / (n * width)))
        .collect()
}

impl Plot for Histograms {
    fn size(&self) -> (u32, u32) {
        (1000, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Target) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let curves: Vec<(String, Vec<(f64, f64)>)> = self
            .series
            .iter()
            .map(|(l, v)| (l.clone(), density(v)))
            .collect();
        let top = curves
            .iter()
            .flat_map(|(_, c)| c.iter().map(|p| p.1))
            .fold(0.45f64, f64::max)
            * 1.08;
        let mut c = chart(root, &self.title, BINS.0..BINS.1, 0.0..top)?;
        mesh(&mut c, "standardised ln |w| (SD)", "density", &tick)?;
        let normal = (0..=200).map(|k| {
            let z = BINS.0 + (BINS.1 - BINS.0) * f64::from(k) / 200.0;
            (
                z,
                (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt(),
            )
        });
        c.draw_series(LineSeries::new(normal, BLACK.stroke_width(1)))?
            .label("normal (log-normal |w|)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        // Colours repeat after three series (start, additive, EG); repeats are drawn thinner.
        let colours = [RGBColor(150, 150, 150), TRAIN, MODEL];
        for (k, (label, curve)) in curves.iter().enumerate() {
            let colour = colours[k % colours.len()];
            let width = if k < colours.len() { 3 } else { 1 };
            line(&mut c, curve, label, colour, width)?;
        }
        legend(&mut c, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// Named curves over one x axis (markers at the points).
pub struct Curves {
    /// Figure title.
    pub title: String,
    /// x-axis title.
    pub x_label: String,
    /// y-axis title.
    pub y_label: String,
    /// `(label, points)`.
    pub curves: Vec<(String, Vec<(f64, f64)>)>,
}

impl Plot for Curves {
    fn size(&self) -> (u32, u32) {
        (1000, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Target) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let points = || self.curves.iter().flat_map(|(_, c)| c.iter());
        let mut c = chart(
            root,
            &self.title,
            padded_range(points().map(|p| p.0)),
            padded_range(points().map(|p| p.1)),
        )?;
        mesh(&mut c, &self.x_label, &self.y_label, &tick)?;
        // Colours repeat after three curves; each repeat is drawn thinner with hollow markers.
        let colours = [MODEL, TRAIN, RGBColor(0, 158, 115)];
        for (k, (label, curve)) in self.curves.iter().enumerate() {
            let colour = colours[k % colours.len()];
            let first = k < colours.len();
            line(&mut c, curve, label, colour, if first { 3 } else { 1 })?;
            let style = if first {
                colour.filled()
            } else {
                colour.stroke_width(1)
            };
            c.draw_series(curve.iter().map(|&p| Circle::new(p, 4, style)))?;
        }
        legend(&mut c, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}
