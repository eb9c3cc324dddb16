//! The report of a finished run: PNG (and SVG) figures under `figures/` and one self-contained
//! `report.html` (images embedded, inline CSS, no scripts or external resources), rendered from the
//! run directory's files alone so that it works both at the end of a fit and on an old run.
//!
//! Inputs that are missing (an older or partial run) skip the figure or table that needs them,
//! with a note in the report; a run whose manifest status is not `complete` is refused.

pub mod colour;
pub mod determined;
pub mod downsample;
pub mod figures;
pub mod heatmap;
pub mod html;
pub mod inputs;
pub mod render;
pub mod sections;

use crate::error::Result;
use figures::{Figure, Outcome};
use inputs::RunFiles;
use std::path::{Path, PathBuf};

/// What [`write_report`] produced.
#[derive(Debug, Clone, Default)]
pub struct ReportSummary {
    /// Path of `report.html`.
    pub html: PathBuf,
    /// Files written under `figures/` (PNG and SVG names).
    pub written: Vec<String>,
    /// Figures not drawn, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Wall time of the whole report in seconds.
    pub seconds: f64,
}

impl std::fmt::Display for ReportSummary {
    /// One line for the command line, e.g. `report: runs/x/report.html, 11 figure files, 0 skipped (1.2 s)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "report: {}, {} figure files, {} skipped",
            self.html.display(),
            self.written.len(),
            self.skipped.len()
        )?;
        if !self.skipped.is_empty() {
            let names: Vec<&str> = self.skipped.iter().map(|s| s.0.as_str()).collect();
            write!(f, " ({})", names.join(", "))?;
        }
        write!(f, " in {:.2} s", self.seconds)
    }
}

/// Render figures/ and report.html for the finished run in `dir` from its files alone.
pub fn write_report(dir: &Path) -> Result<ReportSummary> {
    write(dir, false)
}

/// [`write_report`] for the run the pipeline is finishing, whose status is still `running`: the
/// run is marked complete only once its report is written.
pub fn write_report_of_finishing_run(dir: &Path) -> Result<ReportSummary> {
    write(dir, true)
}

/// [`write_report`] for a failed run analysed from its last checkpoint (`analyse
/// --allow-failed`): the page opens by saying so.
pub fn write_report_of_failed_run(dir: &Path) -> Result<ReportSummary> {
    write(dir, true)
}

fn write(dir: &Path, finishing: bool) -> Result<ReportSummary> {
    let t0 = std::time::Instant::now();
    let run = RunFiles::open(dir, finishing)?;
    let figs = figures::write_all(&run)?;
    let page = page(&run, &figs);
    let html = run.paths.report();
    crate::atomic::write_bytes(&html, page.as_bytes())?;
    let mut summary = ReportSummary {
        html,
        written: Vec::new(),
        skipped: Vec::new(),
        seconds: 0.0,
    };
    for f in &figs {
        match &f.outcome {
            Outcome::Written { files, .. } => summary.written.extend(files.iter().cloned()),
            Outcome::Skipped(reason) => summary.skipped.push((f.name.to_string(), reason.clone())),
        }
    }
    summary.seconds = t0.elapsed().as_secs_f64();
    Ok(summary)
}

/// The HTML page: sections in reading order, figures next to the tables they explain.
/// The page around `body`: its footer, then the HTML document titled after the run `name`.
fn finish(mut body: String, name: &str) -> String {
    body += &format!(
        "<footer>Written by fitrnn {} on {} from the files in this run directory.</footer>\n",
        env!("CARGO_PKG_VERSION"),
        html::utc(crate::rundir::unix_now())
    );
    html::page(&format!("fitrnn report: {name}"), &body)
}

/// The page of a `fitrnn task` run: no recording, so no data, fit-to-neurons, interaction or
/// perturbation sections; its training, weights and spectra.
fn task_page(run: &RunFiles, task: &str, fig: &dyn Fn(&str) -> String) -> String {
    use sections::*;
    let name = run_name(run);
    let mut b = format!("<h1>fitrnn report: {}</h1>\n", html::escape(&name));
    b += &lead(run);
    b += &format!(
        "<p>A network trained on the <b>{}</b> task (<code>fitrnn task</code>): it has no recording, \
         so this page shows its training, its weights and their spectra. The test loss per epoch, \
         with the normalised SVD entropy and spectral radius of the recurrent weights, is in \
         <code>tables/task_history.parquet</code>.</p>\n",
        html::escape(task)
    );
    b += "<nav><a href=\"#provenance\">Provenance</a><a href=\"#training\">Training</a>\
          <a href=\"#connectivity\">Connectivity</a><a href=\"#dynamics\">Dynamics</a></nav>\n";
    b += "<section id=\"provenance\">\n<h2>Provenance</h2>\n";
    b += &provenance(run);
    b += "</section>\n<section id=\"training\">\n<h2>Training</h2>\n";
    b += &fig("loss");
    b += "</section>\n<section id=\"connectivity\">\n<h2>Connectivity</h2>\n";
    b += &fig("weights");
    b += "</section>\n<section id=\"dynamics\">\n<h2>Dynamics</h2>\n";
    b += &fig("eigenvalues");
    b += &fig("singular_values");
    b += "<h3>Diagnostics of the whole network</h3>\n";
    b += &or_note(diagnostics(run), "Diagnostics");
    b += "</section>\n";
    finish(b, &name)
}

fn page(run: &RunFiles, figs: &[Figure]) -> String {
    use html::figure;
    use sections::*;
    let fig = |name: &str| {
        figs.iter()
            .find(|f| f.name == name)
            .map(figure)
            .unwrap_or_default()
    };
    if let Some(task) = &run.manifest.task {
        return task_page(run, task, &fig);
    }
    let name = run_name(run);
    let mut b = format!("<h1>fitrnn report: {}</h1>\n", html::escape(&name));
    b += &lead(run);
    b += &failed_note(run);
    b += "<nav><a href=\"#determined\">Determined</a><a href=\"#provenance\">Provenance</a><a href=\"#data\">Data</a><a href=\"#fit\">Fit</a>\
          <a href=\"#connectivity\">Connectivity</a><a href=\"#dynamics\">Dynamics</a>\
          <a href=\"#perturbations\">Perturbations</a></nav>\n";
    b += "<section id=\"determined\">\n<h2>What the data determine</h2>\n";
    b += &or_note(determined::summary(run), "The ensemble summary");
    b += &fig("determined_area_layer");
    b += &fig("determined_population");
    b += "</section>\n<section id=\"provenance\">\n<h2>Provenance</h2>\n";
    b += &provenance(run);
    b += "</section>\n<section id=\"data\">\n<h2>Data</h2>\n";
    b += &or_note(data_summary(run), "The data summary");
    b += "</section>\n<section id=\"fit\">\n<h2>Fit</h2>\n";
    b += &or_note(metrics(run), "Fit metrics");
    b += &learned_constants(run);
    b += &or_note(fit_by_population(run), "The fit per population");
    b += &fig("loss");
    b += &fig("traces");
    b += "</section>\n<section id=\"connectivity\">\n<h2>Connectivity</h2>\n";
    b += &fig("weights");
    b += &fig("interactions_area_layer");
    b += "<h3>Strongest area/layer interactions</h3>\n";
    b += &or_note(top_interactions(run), "The interaction table");
    b += &fig("interactions_population");
    b += "</section>\n<section id=\"dynamics\">\n<h2>Dynamics</h2>\n";
    b += &fig("eigenvalues");
    b += &or_note(
        determined::spectral_shift(run),
        "The self-check of the spectrum",
    );
    b += &fig("singular_values");
    b += "<h3>Diagnostics of the whole network</h3>\n";
    b += &or_note(diagnostics(run), "Diagnostics");
    b += &fig("currents");
    b += "</section>\n<section id=\"perturbations\">\n<h2>Perturbations</h2>\n";
    b += &fig("perturbations");
    b += "<h3>Largest effects on other populations</h3>\n";
    b += &or_note(perturbation_effects(run), "Perturbation effects");
    b += "</section>\n";
    finish(b, &name)
}
