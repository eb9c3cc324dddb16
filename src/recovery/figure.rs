//! The study's figures: one panel per metric, the mean ± SD over recordings of each method in each
//! condition (`recovery_<simulator>_<level>.png` beside the tables).

use super::config::RecoveryConfig;
use super::report::mean_sd;
use super::report::Row;
use crate::error::Result;
use crate::report::figures::charts::{chart, legend, tick, AXIS_PX, LABEL_PX};
use crate::report::render::{self, font, DrawResult, Plot, Target};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Colours of the methods, in config order (colour-blind-safe Okabe–Ito palette).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

/// One panel: its title and `[method][condition] = (mean, sd)`.
type Panel = (String, Vec<Vec<(f64, f64)>>);

/// Mean ± SD per (metric, condition, method) at one level of one simulator.
pub struct RecoveryPlot {
    simulator: String,
    level: String,
    conditions: Vec<String>,
    methods: Vec<String>,
    /// One panel per metric.
    panels: Vec<Panel>,
}

impl RecoveryPlot {
    /// Collect the values of `rows` of `simulator` at `level`.
    pub fn new(cfg: &RecoveryConfig, rows: &[Row], simulator: &str, level: &str) -> RecoveryPlot {
        let conditions: Vec<String> = cfg.conditions.iter().map(|c| c.name.clone()).collect();
        let methods: Vec<String> = cfg.methods.iter().map(|m| m.name.clone()).collect();
        let panels = [
            (
                "existing_rho_input_share",
                "Spearman ρ of input shares, blocks that exist",
            ),
            (
                "existing_rho_mean_abs_w",
                "Spearman ρ of block mean |w|, blocks that exist",
            ),
            (
                "existing_sign_accuracy",
                "fraction of existing blocks with the right net sign",
            ),
        ]
        .iter()
        .map(|(metric, title)| {
            let v = methods
                .iter()
                .map(|m| {
                    conditions
                        .iter()
                        .map(|c| {
                            let vals: Vec<f64> = rows
                                .iter()
                                .filter(|r| {
                                    r.simulator == simulator
                                        && r.level == level
                                        && r.metric == *metric
                                        && &r.method == m
                                        && &r.condition == c
                                })
                                .map(|r| r.value)
                                .collect();
                            let (mean, sd, _) = mean_sd(&vals);
                            (mean, sd)
                        })
                        .collect()
                })
                .collect();
            (title.to_string(), v)
        })
        .collect();
        RecoveryPlot {
            simulator: simulator.into(),
            level: level.into(),
            conditions,
            methods,
            panels,
        }
    }
}

impl Plot for RecoveryPlot {
    fn size(&self) -> (u32, u32) {
        (1300, 500 * self.panels.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Target) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let areas = root.split_evenly((self.panels.len(), 1));
        let nc = self.conditions.len() as f64;
        let nm = self.methods.len() as f64;
        for (area, (title, values)) in areas.iter().zip(&self.panels) {
            let title = format!(
                "{title} ({} simulator, {} level), mean ± SD over recordings",
                self.simulator, self.level
            );
            let mut c = chart(area, &title, -0.5..nc - 0.5, -0.4..1.05)?;
            let conds = self.conditions.clone();
            let xfmt = move |v: &f64| {
                let k = v.round();
                if (v - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < conds.len() {
                    conds[k as usize].clone()
                } else {
                    String::new()
                }
            };
            c.configure_mesh()
                .light_line_style(RGBColor(235, 235, 235))
                .bold_line_style(RGBColor(215, 215, 215))
                .label_style(font(LABEL_PX))
                .axis_desc_style(font(AXIS_PX))
                .x_labels(self.conditions.len())
                .x_label_formatter(&xfmt)
                .y_label_formatter(&|v: &f64| tick(v))
                .x_desc("recording condition")
                .y_desc("agreement with the truth")
                .draw()?;
            c.draw_series(LineSeries::new(
                [(-0.5, 0.0), (nc - 0.5, 0.0)],
                RGBColor(120, 120, 120),
            ))?;
            for (mi, (name, per_cond)) in self.methods.iter().zip(values).enumerate() {
                let colour = PALETTE[mi % PALETTE.len()];
                let dx = (mi as f64 - (nm - 1.0) / 2.0) * 0.6 / nm.max(1.0);
                let pts: Vec<(f64, f64, f64)> = per_cond
                    .iter()
                    .enumerate()
                    .filter(|(_, (m, _))| m.is_finite())
                    .map(|(ci, (m, sd))| (ci as f64 + dx, *m, *sd))
                    .collect();
                c.draw_series(pts.iter().map(|&(x, m, sd)| {
                    PathElement::new(vec![(x, m - sd), (x, m + sd)], colour.stroke_width(2))
                }))?;
                c.draw_series(
                    pts.iter()
                        .map(|&(x, m, _)| Circle::new((x, m), 5, colour.filled())),
                )?
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 8, y), 5, colour.filled()));
            }
            legend(&mut c, SeriesLabelPosition::LowerLeft)?;
        }
        Ok(())
    }
}

/// Write `recovery_<simulator>_<level>.png` for the population and area-layer levels of every
/// simulator.
pub fn write(out: &Path, cfg: &RecoveryConfig, rows: &[Row]) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for sim in &cfg.simulators {
        for level in ["population", "area_layer"] {
            let plot = RecoveryPlot::new(cfg, rows, &sim.name, level);
            let name = format!("recovery_{}_{level}.png", sim.name);
            let png = render::png(&plot, &name)?;
            crate::atomic::write_bytes(&out.join(&name), &png)?;
            files.push(name);
        }
    }
    Ok(files)
}
