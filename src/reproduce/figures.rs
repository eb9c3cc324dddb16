//! The reproductions' figures: eigenvalues against a theory's predictions, and a quantity over
//! two design factors as a heat map (drawn with the report's [`HeatMap`]).

use crate::report::colour::{MODEL, TRAIN};
use crate::report::figures::charts::{chart, legend, mesh, padded_range, tick};
use crate::report::render::{DrawResult, Plot, Target};
use plotters::coord::Shift;
use plotters::prelude::*;

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
