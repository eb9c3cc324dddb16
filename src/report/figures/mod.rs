//! The report's figures: each is built from the run's files (or skipped with the reason), drawn to
//! `figures/<name>.png` (and `.svg` where vector output is useful) and kept in memory for the HTML.

pub mod blocks;
pub mod charts;
pub mod spectra;
pub mod training;

use super::inputs::{Need, RunFiles};
use super::render::{self, Plot};
use crate::error::{Error, Result};
use std::path::Path;

/// What happened to one figure.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Drawn: the PNG bytes (for the HTML) and the files written under `figures/`.
    Written {
        /// The PNG file's bytes.
        png: Vec<u8>,
        /// File names under `figures/` (the PNG, and the SVG when there is one).
        files: Vec<String>,
    },
    /// Not drawn, and why (a missing or unreadable input).
    Skipped(String),
}

/// One figure of the report: its file stem, heading, reading guide and outcome.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem under `figures/` (e.g. `loss`).
    pub name: &'static str,
    /// Heading in the report.
    pub heading: &'static str,
    /// One sentence on how to read it.
    pub caption: &'static str,
    /// Written or skipped.
    pub outcome: Outcome,
}

fn write(dir: &Path, file: &str, bytes: &[u8]) -> Result<()> {
    crate::atomic::write_bytes(&dir.join(file), bytes)
}

/// Draw `built` into `dir` as `<name>.png`, plus `<name>.svg` when `svg`; or record why it was
/// skipped and remove that figure's files from an earlier report.
fn record<P: Plot>(
    dir: &Path,
    name: &'static str,
    heading: &'static str,
    caption: &'static str,
    built: Need<P>,
    svg: bool,
) -> Result<Figure> {
    let outcome = match built {
        Err(reason) => {
            // A figure left from an earlier report would contradict this one.
            for ext in ["png", "svg"] {
                let stale = dir.join(format!("{name}.{ext}"));
                if stale.is_file() {
                    std::fs::remove_file(&stale)
                        .map_err(|e| Error::io(&stale, "removing an outdated figure", e))?;
                }
            }
            Outcome::Skipped(reason)
        }
        Ok(plot) => {
            let png = render::png(&plot, name)?;
            let mut files = vec![format!("{name}.png")];
            write(dir, &files[0], &png)?;
            if svg {
                let text = render::svg(&plot, name)?;
                files.push(format!("{name}.svg"));
                write(dir, &files[1], text.as_bytes())?;
            }
            Outcome::Written { png, files }
        }
    };
    Ok(Figure {
        name,
        heading,
        caption,
        outcome,
    })
}

/// Build, draw and write every figure of the run into `run.dir/figures/`.
pub fn write_all(run: &RunFiles) -> Result<Vec<Figure>> {
    let dir = run.paths.figures_dir();
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(&dir, "creating the figures directory", e))?;
    // Runs without an ensemble have nothing to show here (the report's first section says so).
    let mut figures = Vec::new();
    if run.ensemble().is_ok() {
        figures.extend(determined(run, &dir)?);
    }
    figures.extend(vec![
        record(
            &dir,
            "loss",
            "Training and validation loss",
            "Loss per epoch for the training windows (blue) and the held-out validation windows (red); \
             the dashed line marks where pruning ends the dense phase and fine-tuning of the sparse \
             network starts, and a validation curve that rises while the training curve falls means \
             over-fitting.",
            training::loss(run),
            false,
        )?,
        record(
            &dir,
            "traces",
            "Validation traces: best, median and worst neuron",
            "Recorded activity (black) and the free-running model (red) on validation frames for the \
             neurons with the highest, median and lowest validation r²; the model sees only the task \
             inputs and its own state, so it should follow stimulus-locked structure, not every fluctuation.",
            training::traces(run),
            false,
        )?,
        record(
            &dir,
            "weights",
            "Final recurrent weight matrix",
            "Each pixel is the weight from a presynaptic unit (column) onto a postsynaptic unit (row), red \
             excitatory and blue inhibitory (Dale's law makes each column one colour); thin lines separate \
             populations and thick lines areas, and the colour scale is clipped at the 99th percentile of |w|.",
            blocks::weights(run),
            true,
        )?,
        record(
            &dir,
            "interactions_area_layer",
            "Interactions between area/layer blocks",
            "Mean final weight from each presynaptic area/layer block (column) onto each postsynaptic \
             block (row), averaged over all possible connections including pruned ones; red blocks excite \
             and blue blocks inhibit their targets on balance.",
            blocks::interactions(run, "area_layer"),
            false,
        )?,
        record(
            &dir,
            "interactions_population",
            "Interactions between populations",
            "As above at the finest level, area/layer/cell type: a row shows which populations drive \
             (red) or suppress (blue) one postsynaptic population.",
            blocks::interactions(run, "population"),
            false,
        )?,
        record(
            &dir,
            "eigenvalues",
            "Eigenvalues of the recurrent weights",
            "Eigenvalues of W before training (blue) and after fine-tuning (red) in the complex plane; \
             eigenvalues outside the unit circle mark directions the linearised network amplifies, and \
             outliers away from the bulk reflect low-rank structure such as E/I imbalance.",
            spectra::eigenvalues(run),
            true,
        )?,
        record(
            &dir,
            "singular_values",
            "Singular values of the final weights",
            "Histogram of the singular values of the final W; a few large values with a bulk near zero \
             mean low-rank (low-entropy) connectivity, a flat spread means high-dimensional connectivity \
             (normalised SVD entropy near 1).",
            spectra::singular_values(run),
            false,
        )?,
        record(
            &dir,
            "currents",
            "Input currents between blocks",
            "Mean recurrent current each source block (column) sends to each target block (row) while \
             the model runs on its own, excitatory and inhibitory parts summed; unlike the weights this \
             includes how active the source is.",
            blocks::currents(run),
            false,
        )?,
        record(
            &dir,
            "perturbations",
            "In-silico silencing",
            "Relative change of each target population's mean rate (column) when a population or area \
             (row) is silenced in the free-running model: blue means the target loses drive, red means \
             it is released from inhibition; grey cells are the silenced units themselves.",
            blocks::perturbations(run),
            false,
        )?,
    ]);
    Ok(figures)
}

/// The maps of what the data determine (runs with an ensemble).
fn determined(run: &RunFiles, dir: &Path) -> Result<Vec<Figure>> {
    Ok(vec![
        record(
            dir,
            "determined_area_layer",
            "What the data determine: area/layer blocks",
            "Mean final weight from each presynaptic area/layer block (column) onto each postsynaptic \
             block (row), shown only where the self-check recovered the block: recordings simulated from \
             the fitted network, as long and as noisy as this one, were refitted, and the refits gave the \
             block's share of its target's input within 50 % and its sign in at least 80 % of refits. \
             Grey blocks are absent from the fit or not determined by data like these; their values in \
             the tables are the model's, not the data's.",
            blocks::determined(run, "area_layer"),
            false,
        )?,
        record(
            dir,
            "determined_population",
            "What the data determine: populations",
            "As above at the finest level, area/layer/cell type.",
            blocks::determined(run, "population"),
            false,
        )?,
    ])
}
