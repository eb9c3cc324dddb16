//! The report of a finished run: PNG (and SVG) figures under `figures/` and one self-contained
//! `report.html` (images embedded, inline CSS, no scripts or external resources), rendered from the
//! run directory's files alone so that it works both at the end of a fit and on an old run.

pub mod colour;
pub mod downsample;
pub mod figures;
pub mod heatmap;
pub mod inputs;
pub mod render;
