//! How well the fit went: the loss curves of both phases, and validation traces of the best,
//! median and worst neurons.

use super::charts::{chart, legend, mesh, padded_range, tick, LABEL_PX};
use crate::report::colour::{DATA, MODEL, TRAIN};
use crate::report::inputs::{Need, RunFiles};
use crate::report::render::{font, DrawResult, Plot, Target};
use crate::rundir::paths::table_file;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Loss per epoch, both phases on one epoch axis.
pub struct LossPlot {
    train: Vec<(f64, f64)>,
    val: Vec<(f64, f64)>,
    /// Epoch axis position where fine-tuning starts.
    switch: Option<f64>,
    /// Plot log10 of the loss.
    log: bool,
}

/// The loss figure from `tables/history.parquet`.
pub fn loss(run: &RunFiles) -> Need<LossPlot> {
    let h = run.history()?;
    let phase: Vec<&str> = h.iter().map(|r| r.phase.as_str()).collect();
    let epoch: Vec<f64> = h.iter().map(|r| f64::from(r.epoch)).collect();
    let train: Vec<f64> = h.iter().map(|r| r.train_loss).collect();
    let val: Vec<f64> = h.iter().map(|r| r.val_loss).collect();
    let dense_end = phase
        .iter()
        .zip(&epoch)
        .filter(|(p, _)| **p == "dense")
        .map(|(_, e)| *e)
        .fold(0.0, f64::max);
    let x: Vec<f64> = phase
        .iter()
        .zip(&epoch)
        .map(|(p, e)| if *p == "dense" { *e } else { e + dense_end })
        .collect();
    let values = train.iter().chain(&val).copied().filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return Err(format!(
            "{} has no finite loss values",
            table_file("history")
        ));
    }
    let log = lo > 0.0 && hi / lo > 10.0;
    let pts = |v: &[f64]| -> Vec<(f64, f64)> {
        x.iter()
            .zip(v)
            .filter(|(_, y)| y.is_finite() && (!log || **y > 0.0))
            .map(|(x, y)| (*x, if log { y.log10() } else { *y }))
            .collect()
    };
    let has_finetune = phase.contains(&"finetune");
    Ok(LossPlot {
        train: pts(&train),
        val: pts(&val),
        switch: (has_finetune && dense_end > 0.0).then_some(dense_end + 0.5),
        log,
    })
}

impl Plot for LossPlot {
    fn size(&self) -> (u32, u32) {
        (1100, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Target) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let xs = padded_range(self.train.iter().chain(&self.val).map(|p| p.0));
        let ys = padded_range(self.train.iter().chain(&self.val).map(|p| p.1));
        let title = if self.log {
            "Loss per epoch (log scale)"
        } else {
            "Loss per epoch"
        };
        let mut c = chart(root, title, xs, ys.clone())?;
        let log = self.log;
        let fmt = move |v: &f64| if log { tick(&10f64.powf(*v)) } else { tick(v) };
        mesh(
            &mut c,
            "epoch (dense, then fine-tuning)",
            "loss (MSE, normalised units)",
            &fmt,
        )?;
        for (pts, colour, label) in [
            (&self.train, TRAIN, "training"),
            (&self.val, MODEL, "validation"),
        ] {
            c.draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        if let Some(s) = self.switch {
            let dashes = (0..40).map(|k| {
                let t = |q: f64| ys.start + (ys.end - ys.start) * q / 40.0;
                PathElement::new(
                    vec![(s, t(f64::from(k))), (s, t(f64::from(k) + 0.5))],
                    BLACK,
                )
            });
            c.draw_series(dashes)?;
            let at = c.backend_coord(&(s, ys.end));
            root.draw(&Text::new(
                "fine-tuning starts",
                (at.0 + 6, at.1 + 6),
                font(LABEL_PX).pos(Pos::new(HPos::Left, VPos::Top)),
            ))?;
        }
        legend(&mut c, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}

/// One neuron's validation trace.
struct Panel {
    title: String,
    time: Vec<f64>,
    data: Vec<f32>,
    model: Vec<f32>,
    /// Indices where a new contiguous run of frames starts (0 included).
    starts: Vec<usize>,
}

/// Data and model on validation for the best, median and worst neurons.
pub struct TracesPlot {
    panels: Vec<Panel>,
}

/// The traces figure from `tables/metrics.parquet` and `predictions.h5`.
pub fn traces(run: &RunFiles) -> Need<TracesPlot> {
    let m = run.metrics()?;
    let p = run.predictions()?;
    let mut ranked: Vec<(f64, &str, &str)> = m
        .iter()
        .filter(|r| r.split == "validation" && r.mode == "free_running" && r.r2.is_finite())
        .filter_map(|r| {
            r.neuron_id
                .as_deref()
                .map(|n| (r.r2, n, r.population.as_str()))
        })
        .filter(|(_, n, _)| p.neuron_id.iter().any(|x| x == n))
        .collect();
    if ranked.is_empty() {
        return Err("no validation free-running r² for the neurons in predictions.h5".into());
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let picks = [
        ("best", 0),
        ("median", ranked.len() / 2),
        ("worst", ranked.len() - 1),
    ];
    let mut starts = vec![0];
    starts.extend((1..p.frame.len()).filter(|&k| p.frame[k] != p.frame[k - 1] + 1));
    let panels = picks
        .iter()
        .map(|&(which, k)| {
            let (r2, neuron, population) = ranked[k];
            let col = p
                .neuron_id
                .iter()
                .position(|x| x == neuron)
                .expect("filtered above");
            Panel {
                title: format!("{which}: neuron {neuron} ({population}), validation r² = {r2:.3}"),
                time: p.time_s.clone(),
                data: p.data.column(col).to_vec(),
                model: p.model.column(col).to_vec(),
                starts: starts.clone(),
            }
        })
        .collect();
    Ok(TracesPlot { panels })
}

impl Panel {
    fn segments<'a>(&'a self, y: &'a [f32]) -> impl Iterator<Item = Vec<(f64, f64)>> + 'a {
        self.starts.iter().enumerate().map(move |(s, &a)| {
            let b = self.starts.get(s + 1).copied().unwrap_or(self.time.len());
            (a..b).map(|k| (self.time[k], f64::from(y[k]))).collect()
        })
    }
}

impl Plot for TracesPlot {
    fn size(&self) -> (u32, u32) {
        (1400, 330 * self.panels.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Target) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let areas = root.split_evenly((self.panels.len(), 1));
        for (k, (panel, area)) in self.panels.iter().zip(&areas).enumerate() {
            let xs = padded_range(panel.time.iter().copied());
            let ys = padded_range(panel.data.iter().chain(&panel.model).map(|v| f64::from(*v)));
            let mut c = chart(area, &panel.title, xs, ys)?;
            mesh(&mut c, "time (s)", "activity (normalised)", &tick)?;
            let lines = [
                (&panel.data, DATA, 1, "recorded"),
                (&panel.model, MODEL, 2, "model (free-running)"),
            ];
            for (y, colour, width, label) in lines {
                for (s, seg) in panel.segments(y).enumerate() {
                    let series = c.draw_series(LineSeries::new(seg, colour.stroke_width(width)))?;
                    if s == 0 && k == 0 {
                        series.label(label).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                        });
                    }
                }
            }
            if k == 0 {
                legend(&mut c, SeriesLabelPosition::UpperRight)?;
            }
        }
        Ok(())
    }
}
