//! The human-readable summary `fitrnn check` prints: neurons per population with their sign,
//! frames, duration, trials per condition and inputs.

use super::{Recording, Sign, SignMap};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One row of the population table.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationCount {
    /// Area.
    pub area: String,
    /// Layer.
    pub layer: String,
    /// Cell type.
    pub cell_type: String,
    /// Its sign under the map in use (`None` when the map lacks the type).
    pub sign: Option<Sign>,
    /// Number of neurons.
    pub neurons: usize,
}

/// Neurons per (area, layer, cell type), in order of first appearance.
pub fn population_counts(rec: &Recording, signs: &SignMap) -> Vec<PopulationCount> {
    let n = &rec.neurons;
    let mut rows: Vec<PopulationCount> = Vec::new();
    for i in 0..n.len() {
        match rows
            .iter_mut()
            .find(|r| r.area == n.area[i] && r.layer == n.layer[i] && r.cell_type == n.cell_type[i])
        {
            Some(r) => r.neurons += 1,
            None => rows.push(PopulationCount {
                area: n.area[i].clone(),
                layer: n.layer[i].clone(),
                cell_type: n.cell_type[i].clone(),
                sign: signs.get(&n.cell_type[i]).copied(),
                neurons: 1,
            }),
        }
    }
    rows
}

/// Trials per condition.
pub fn trials_per_condition(rec: &Recording) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    if let Some(t) = &rec.trials {
        for c in &t.condition {
            *m.entry(c.clone()).or_insert(0) += 1;
        }
    }
    m
}

/// The full text summary of a recording under a sign map.
pub fn render(rec: &Recording, signs: &SignMap, sign_note: &str) -> String {
    let mut s = String::new();
    let rows = population_counts(rec, signs);
    let (n_e, n_i) = rows.iter().fold((0, 0), |(e, i), r| match r.sign {
        Some(Sign::E) => (e + r.neurons, i),
        Some(Sign::I) => (e, i + r.neurons),
        None => (e, i),
    });
    let _ = writeln!(s, "recording   {}", rec.path.display());
    let _ = writeln!(
        s,
        "traces      {} frames × {} neurons ({}), {:.2} Hz, {:.1} s ({:.1} min)",
        rec.n_frames(),
        rec.n_neurons(),
        rec.kind,
        rec.frame_rate_hz,
        rec.duration_s(),
        rec.duration_s() / 60.0
    );
    let gaps = rec.gaps();
    if let Some(&(frame, longest)) = gaps.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        let _ = writeln!(
            s,
            "gaps        {} pause(s) longer than 1.5 frame periods in the clock (longest {longest:.2} s, before frame {frame}); no window crosses one",
            gaps.len()
        );
    }
    if !rec.dropped_frames.is_empty() {
        let _ = writeln!(
            s,
            "dropped     {} frame(s) with NaN/Inf (data.nan_policy: drop_frames)",
            rec.dropped_frames.len()
        );
    }
    let _ = writeln!(
        s,
        "neurons     {n_e} excitatory, {n_i} inhibitory{sign_note}"
    );
    let w = |f: &dyn Fn(&PopulationCount) -> usize, h: usize| {
        // Capped: a padding width above u16::MAX would panic, and a long label needs no padding.
        rows.iter().map(f).max().unwrap_or(0).max(h).min(60)
    };
    let (wa, wl, wc) = (
        w(&|r| r.area.len(), 4),
        w(&|r| r.layer.len(), 5),
        w(&|r| r.cell_type.len(), 9),
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "  {:wa$}  {:wl$}  {:wc$}  E/I  neurons",
        "area", "layer", "cell_type"
    );
    for r in &rows {
        let sign = r.sign.map(|x| x.to_string()).unwrap_or_else(|| "?".into());
        let _ = writeln!(
            s,
            "  {:wa$}  {:wl$}  {:wc$}  {:3}  {:>7}",
            r.area, r.layer, r.cell_type, sign, r.neurons
        );
    }
    let _ = writeln!(s);
    let trials = trials_per_condition(rec);
    if trials.is_empty() {
        let _ = writeln!(s, "trials      none");
    } else {
        let total: usize = trials.values().sum();
        let parts: Vec<String> = trials.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let _ = writeln!(s, "trials      {total} ({})", parts.join(", "));
    }
    match &rec.inputs {
        Some(inp) => {
            let _ = writeln!(
                s,
                "inputs      {} ({})",
                inp.names.len(),
                inp.names.join(", ")
            );
        }
        None => {
            let _ = writeln!(s, "inputs      none");
        }
    }
    if let Some(gt) = &rec.ground_truth {
        let hidden = gt.recorded_index.iter().filter(|&&r| r < 0).count();
        let _ = writeln!(
            s,
            "truth       simulated network: {} units ({} unrecorded), spectral radius {:.3}",
            gt.w_rec.nrows(),
            hidden,
            gt.spectral_radius
        );
    }
    for note in &rec.notes {
        let _ = writeln!(s, "note        {note}");
    }
    s
}
