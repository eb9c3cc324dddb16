//! The tidy Parquet tables under a run's `tables/` (and the other tables fitrnn writes), one row
//! type per table with a single writer and a single reader: the analyses fill rows, the report,
//! `compare`, the recovery study and the tests read them back as rows, and the column names and
//! types exist only here (pinned by a schema snapshot test). One row per observation, keyed by
//! neuron and population so users join them without knowing the unit order.

use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::Path;

/// One value of a table column: how a column of them is built, and read back with an error that
/// names the file and the column.
pub trait Cell: Sized + Clone {
    /// The column `name` holding `values`.
    fn column(name: &str, values: Vec<Self>) -> Column;
    /// The values of `col`, or `None` when it does not hold this type.
    fn values(col: &Column) -> Option<Vec<Self>>;
    /// The type in words, for messages.
    const KIND: &'static str;
}

impl Cell for String {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn values(col: &Column) -> Option<Vec<Self>> {
        let ca = col.str().ok()?;
        ca.iter().map(|v| v.map(str::to_string)).collect()
    }
    const KIND: &'static str = "text";
}

impl Cell for Option<String> {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn values(col: &Column) -> Option<Vec<Self>> {
        Some(
            col.str()
                .ok()?
                .iter()
                .map(|v| v.map(str::to_string))
                .collect(),
        )
    }
    const KIND: &'static str = "text (or null)";
}

impl Cell for f64 {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn values(col: &Column) -> Option<Vec<Self>> {
        let cast = col.cast(&DataType::Float64).ok()?;
        Some(
            cast.f64()
                .ok()?
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect(),
        )
    }
    const KIND: &'static str = "numeric";
}

impl Cell for u32 {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn values(col: &Column) -> Option<Vec<Self>> {
        let cast = col.strict_cast(&DataType::UInt32).ok()?;
        cast.u32().ok()?.iter().collect()
    }
    const KIND: &'static str = "a non-negative integer";
}

impl Cell for u64 {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn values(col: &Column) -> Option<Vec<Self>> {
        let cast = col.strict_cast(&DataType::UInt64).ok()?;
        cast.u64().ok()?.iter().collect()
    }
    const KIND: &'static str = "a non-negative integer";
}

impl Cell for bool {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn values(col: &Column) -> Option<Vec<Self>> {
        col.bool().ok()?.iter().collect()
    }
    const KIND: &'static str = "true / false";
}

impl Cell for Option<bool> {
    fn column(name: &str, values: Vec<Self>) -> Column {
        Column::new(name.into(), values)
    }
    fn values(col: &Column) -> Option<Vec<Self>> {
        Some(col.bool().ok()?.iter().collect())
    }
    const KIND: &'static str = "true / false (or null)";
}

/// A table: its file stem and its row type's conversion to and from a data frame.
pub trait Table: Sized {
    /// File stem: the table is `<NAME>.parquet` (under a run's `tables/`).
    const NAME: &'static str;
    /// Column names, in order.
    const COLUMNS: &'static [&'static str];
    /// The rows as a data frame.
    fn to_frame(rows: &[Self]) -> Result<DataFrame>;
    /// The rows of a data frame read from `path` (named in errors).
    fn from_frame(df: &DataFrame, path: &Path) -> Result<Vec<Self>>;
}

/// How to write the table at `path` again, by its file name: the analysis and evaluation tables
/// with `fitrnn analyse`, the ensemble's with `fitrnn selfcheck`, the training history only by
/// fitting again.
pub fn rebuild_advice(path: &Path) -> String {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    match stem {
        "history" => "history.parquet records the training itself: only a new fit writes it again (fitrnn --config CONFIG)".into(),
        "interactions_ensemble" | "perturbations_ensemble" | "selfcheck" | "ensemble_members" => {
            "write it again with this version of fitrnn (fitrnn selfcheck RUN_DIR)".into()
        }
        _ => "write it again with this version of fitrnn (fitrnn analyse RUN_DIR)".into(),
    }
}

/// The values of column `name` of `df`, read from `path`, as `T`.
pub fn column<T: Cell>(df: &DataFrame, name: &str, path: &Path) -> Result<Vec<T>> {
    let col = df
        .column(name)
        .map_err(|_| Error::data(path, name, "missing column", rebuild_advice(path)))?;
    T::values(col).ok_or_else(|| {
        Error::data(
            path,
            name,
            format!("expected {} values (found {})", T::KIND, col.dtype()),
            rebuild_advice(path),
        )
    })
}

/// Declares a table's row type and its [`Table`] implementation from its columns, so that the
/// column names and types are written in exactly one place.
macro_rules! table {
    ($(#[$meta:meta])* $name:ident = $file:literal {
        $($(#[$fmeta:meta])* $field:ident: $ty:ty,)*
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $crate::rundir::tables::Table for $name {
            const NAME: &'static str = $file;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
            fn to_frame(rows: &[Self]) -> $crate::error::Result<polars::prelude::DataFrame> {
                Ok(polars::prelude::DataFrame::new_infer_height(vec![
                    $(<$ty as $crate::rundir::tables::Cell>::column(
                        stringify!($field),
                        rows.iter().map(|r| r.$field.clone()).collect(),
                    ),)*
                ])?)
            }
            fn from_frame(
                df: &polars::prelude::DataFrame,
                path: &std::path::Path,
            ) -> $crate::error::Result<Vec<Self>> {
                $(let mut $field =
                    $crate::rundir::tables::column::<$ty>(df, stringify!($field), path)?
                        .into_iter();)*
                Ok((0..df.height())
                    .map_while(|_| Some($name { $($field: $field.next()?,)* }))
                    .collect())
            }
        }
    };
}
pub(crate) use table;

/// Write `rows` to `path` as Parquet, atomically.
pub fn write<T: Table>(path: &Path, rows: &[T]) -> Result<()> {
    let mut df = T::to_frame(rows)?;
    crate::atomic::write_with(path, |tmp| {
        let file = std::fs::File::create(tmp).map_err(|e| Error::io(tmp, "creating", e))?;
        ParquetWriter::new(file)
            .finish(&mut df)
            .map_err(|e| Error::internal(format!("{}: writing Parquet", path.display()), e))?;
        Ok(())
    })
}

/// Read the rows of the table at `path`: a missing file is an I/O error naming it, an unreadable
/// one or one with other columns a data error that says how to write it again.
pub fn read<T: Table>(path: &Path) -> Result<Vec<T>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, "opening", e))?;
    let df = ParquetReader::new(file).finish().map_err(|e| Error::Data {
        file: path.to_path_buf(),
        location: "/".into(),
        problem: format!("not a readable Parquet table: {e}"),
        fix: rebuild_advice(path),
    })?;
    T::from_frame(&df, path)
}

table! {
    /// `units.parquet`: every model unit (recorded neurons first, then hidden units with a null
    /// `neuron_id`), with its population and sign.
    UnitRow = "units" {
        /// Unit index in `W[post, pre]`.
        unit: u32,
        /// The recorded neuron's id (null for hidden units and population units).
        neuron_id: Option<String>,
        /// Area, e.g. `VISp`.
        area: String,
        /// Layer, e.g. `L2/3`.
        layer: String,
        /// Cell type, e.g. `Sst`.
        cell_type: String,
        /// `E` or `I`.
        sign: String,
        /// `area/layer/cell_type`.
        population: String,
    }
}

table! {
    /// `split.parquet`: which frames train and which validate.
    SplitRow = "split" {
        /// Frame index.
        frame: u32,
        /// Frame time, s.
        time_s: f64,
        /// `train` or `validation`.
        split: String,
    }
}

table! {
    /// `history.parquet`: one row per training epoch.
    HistoryRow = "history" {
        /// `dense` or `finetune`.
        phase: String,
        /// Epoch within the phase (from 1).
        epoch: u32,
        /// Optimiser steps so far in the phase.
        step: u32,
        /// Mean training loss over the epoch's batches.
        train_loss: f64,
        /// Free-running validation loss (NaN when there is no validation data).
        val_loss: f64,
        /// Learning rate used in the epoch.
        lr: f64,
        /// Wall time of the epoch, s.
        seconds: f64,
    }
}

table! {
    /// `metrics.parquet`: fit quality per trace and pooled (`population` = `all`, null neuron id),
    /// per split and mode.
    MetricRow = "metrics" {
        /// Neuron id (null for pooled rows and population traces).
        neuron_id: Option<String>,
        /// `area/layer/cell_type`, or `all` for pooled rows.
        population: String,
        /// `train` or `validation`.
        split: String,
        /// `free_running`, `teacher_forced`, `train_mean_baseline`, `ar1_free_running` or
        /// `ar1_teacher_forced`.
        mode: String,
        /// R² (per trace; the mean over traces when pooled).
        r2: f64,
        /// Explained variance `1 − SSE/SST` (pooled: `1 − ΣSSE/ΣSST`).
        pvar: f64,
        /// Pearson r (per trace; the mean over traces when pooled).
        pearson_r: f64,
    }
}

table! {
    /// `interactions.parquet`: block statistics of `W[post, pre]` per level and stage.
    InteractionRow = "interactions" {
        /// `population`, `area_layer` or `area`.
        level: String,
        /// `dense` or `final`.
        stage: String,
        /// Presynaptic block label.
        pre: String,
        /// Postsynaptic block label.
        post: String,
        /// Units in the presynaptic block.
        n_pre: u32,
        /// Units in the postsynaptic block.
        n_post: u32,
        /// Possible connections (no autapses).
        n_possible: u32,
        /// Non-zero weights.
        n_nonzero: u32,
        /// `n_nonzero / n_possible`.
        density: f64,
        /// Mean weight over the possible connections.
        mean_w: f64,
        /// Mean |weight| over the possible connections.
        mean_abs_w: f64,
        /// Sum of the weights.
        sum_w: f64,
        /// Lower end of the ensemble's interval of `mean_w` (as in `interactions_ensemble`;
        /// stage `final` of a run with an ensemble, NaN otherwise).
        mean_w_ci_low: f64,
        /// Upper end of that interval (NaN where it has none).
        mean_w_ci_high: f64,
        /// The interval excludes 0 (null without an ensemble, and for stage `dense`).
        sign_determined: Option<bool>,
        /// The self-check flagged the block identifiable (null without one).
        identifiable: Option<bool>,
    }
}

table! {
    /// `currents.parquet`: time-averaged CURBD currents `I_{i←S}(t) = Σ_{j∈S} W[i, j] r_j(t)` per
    /// level, split and (source block, source sign, target block).
    CurrentRow = "currents" {
        /// `population`, `area_layer` or `area`.
        level: String,
        /// `train` or `validation`.
        split: String,
        /// Source block label.
        source: String,
        /// Target block label.
        target: String,
        /// `E` or `I`: the sign of the source units.
        source_sign: String,
        /// Mean current, averaged over the target's units and time.
        mean_current: f64,
        /// Mean |current|.
        mean_abs_current: f64,
        /// Lower end of the ensemble's interval of `mean_current` (as in `currents_ensemble`;
        /// NaN without an ensemble). The sign needs no interval: Dale's law fixes it.
        mean_current_ci_low: f64,
        /// Upper end of that interval (NaN where it has none).
        mean_current_ci_high: f64,
        /// The self-check flagged the (source, target) block identifiable (null without one).
        identifiable: Option<bool>,
    }
}

table! {
    /// `inferred_inputs.parquet` (only with `model.latent_inputs`): per split and area, how large
    /// the inferred drive is beside the recurrent input, from the same free-running simulations
    /// as `currents.parquet`. The interactions and currents are what the network explains net of
    /// this drive.
    InferredInputRow = "inferred_inputs" {
        /// `train` or `validation` (on held-out frames the drive is 0 but at their edges).
        split: String,
        /// Area whose units read the drive.
        area: String,
        /// Mean over the area's units and time of |Σ_k W_in[i, k] z_k(t)| over its inferred
        /// channels k.
        mean_abs_inferred: f64,
        /// Mean over the same units and time of the total recurrent input |Σ_j W[i, j] r_j(t)|.
        mean_abs_recurrent: f64,
        /// `mean_abs_inferred / (mean_abs_inferred + mean_abs_recurrent)`.
        inferred_share: f64,
    }
}

table! {
    /// `perturbations.parquet`: every perturbation × target population.
    PerturbationRow = "perturbations" {
        /// The perturbed pattern, e.g. `VISp/*/*`.
        perturbed: String,
        /// `silence` or `drive`.
        kind: String,
        /// Its magnitude.
        magnitude: f64,
        /// Target population.
        target: String,
        /// Mean rate of the target without the perturbation.
        baseline_mean_rate: f64,
        /// Mean rate of the target with it.
        perturbed_mean_rate: f64,
        /// `perturbed − baseline`.
        delta: f64,
        /// `delta / |baseline|` (NaN when the baseline is 0).
        delta_rel: f64,
        /// Lower end of the ensemble's interval of `delta_rel` (as in `perturbations_ensemble`;
        /// NaN without an ensemble).
        delta_rel_ci_low: f64,
        /// Upper end of that interval (NaN where it has none).
        delta_rel_ci_high: f64,
        /// The interval excludes 0 (null without an ensemble).
        sign_determined: Option<bool>,
        /// The self-check's refits reproduced the effect (null without a self-check).
        identifiable: Option<bool>,
    }
}

table! {
    /// `spectrum.parquet`: eigenvalues (by decreasing modulus) and singular values per stage and
    /// matrix.
    SpectrumRow = "spectrum" {
        /// `init`, `dense`, `pruned` or `final`.
        stage: String,
        /// `w_rec` or `jacobian`.
        matrix: String,
        /// `eigenvalue` or `singular_value`.
        kind: String,
        /// Rank within its kind.
        index: u32,
        /// Real part (the value, for singular values).
        re: f64,
        /// Imaginary part (0 for singular values).
        im: f64,
    }
}

table! {
    /// `diagnostics.parquet`: one metric of one stage in one scope (`all` or a block label).
    DiagnosticRow = "diagnostics" {
        /// `init`, `dense`, `pruned` or `final`.
        stage: String,
        /// `all`, or the block whose recurrent sub-network is measured.
        scope: String,
        /// Metric name, e.g. `spectral_radius`.
        metric: String,
        /// Its value.
        value: f64,
    }
}

table! {
    /// `interactions_ensemble.parquet`: each interaction of the fit with its interval over the
    /// ensemble's members, whether the interval settles its sign, and whether the self-check
    /// found the block identifiable.
    InteractionEnsembleRow = "interactions_ensemble" {
        /// `population`, `area_layer` or `area`.
        level: String,
        /// Presynaptic (source) block.
        pre: String,
        /// Postsynaptic (target) block.
        post: String,
        /// `mean_w`, `mean_abs_w`, `mean_current` (net, summed over the source's signs) or
        /// `input_share` (the source's share of the target's recurrent input).
        metric: String,
        /// The fit's value.
        estimate: f64,
        /// 2.5 % percentile over the members (the fit among them).
        ci_low: f64,
        /// 97.5 % percentile over the members.
        ci_high: f64,
        /// Members (the fit included).
        n_members: u32,
        /// The interval excludes 0.
        sign_determined: bool,
        /// The self-check recovered the block (null without a self-check, or for a block the
        /// fitted network does not have).
        identifiable: Option<bool>,
    }
}

table! {
    /// `constants_ensemble.parquet`: each value the fit learned per group, with its interval over
    /// the ensemble's members (written with an ensemble when the fit learned any).
    ConstantEnsembleRow = "constants_ensemble" {
        /// `tau_ms` (learned time constant), `calcium_decay_ms` (learned indicator decay) or
        /// `inferred_share` (the share of an area's input from inferred inputs, training frames).
        quantity: String,
        /// The cell type (`tau_ms`, `calcium_decay_ms`) or the area (`inferred_share`).
        group: String,
        /// The fit's value.
        estimate: f64,
        /// 2.5 % percentile over the members (the fit among them).
        ci_low: f64,
        /// 97.5 % percentile over the members.
        ci_high: f64,
        /// Members with a value (the fit included).
        n_members: u32,
    }
}

table! {
    /// `perturbations_ensemble.parquet`: each perturbation effect of the fit (`delta_rel` of
    /// `perturbations.parquet`) with its interval over the ensemble's members, and whether the
    /// self-check's refits reproduced it.
    PerturbationEnsembleRow = "perturbations_ensemble" {
        /// The perturbed pattern, e.g. `VISp/*/*`.
        perturbed: String,
        /// `silence` or `drive`.
        kind: String,
        /// Its magnitude.
        magnitude: f64,
        /// Target population.
        target: String,
        /// The fit's relative change of the target's mean rate.
        estimate: f64,
        /// 2.5 % percentile over the members (the fit among them).
        ci_low: f64,
        /// 97.5 % percentile over the members.
        ci_high: f64,
        /// Members (the fit included).
        n_members: u32,
        /// The interval excludes 0.
        sign_determined: bool,
        /// Median of the refits' effects (NaN without a self-check).
        refit_median: f64,
        /// The refits reproduced the effect: median within 50 % of the fit's and its sign in at
        /// least 80 % of them (null without a self-check, or for an effect that is 0 or NaN).
        identifiable: Option<bool>,
    }
}

table! {
    /// `currents_ensemble.parquet`: each time-averaged current of the fit (`mean_current` of
    /// `currents.parquet`) with its interval over the ensemble's members.
    CurrentEnsembleRow = "currents_ensemble" {
        /// `population`, `area_layer` or `area`.
        level: String,
        /// `train` or `validation`.
        split: String,
        /// Source block label.
        source: String,
        /// Target block label.
        target: String,
        /// `E` or `I`: the sign of the source units.
        source_sign: String,
        /// The fit's mean current.
        estimate: f64,
        /// 2.5 % percentile over the members (the fit among them).
        ci_low: f64,
        /// 97.5 % percentile over the members.
        ci_high: f64,
        /// Members (the fit included).
        n_members: u32,
        /// The self-check flagged the (source, target) block identifiable (null without one).
        identifiable: Option<bool>,
    }
}

table! {
    /// `selfcheck.parquet`: each block of the fitted network scored as the truth against refits of
    /// recordings simulated from it (and, with `level` = `network`, its spectral radii).
    SelfcheckRow = "selfcheck" {
        /// `population`, `area_layer`, `area`, or `network` for the spectral radii.
        level: String,
        /// Presynaptic block; for the network, `all` (refits of the self-check's recordings)
        /// or `subsample` (refits of recordings that keep part of each population).
        pre: String,
        /// Postsynaptic block; for the network, `all`, or the fraction a subsample kept.
        post: String,
        /// `input_share`, `mean_w`, `mean_abs_w`; for the network, `spectral_radius`,
        /// `eigenvalue_2` and `eigenvalue_3` (moduli of the leading eigenvalues, a conjugate pair
        /// counted once).
        metric: String,
        /// The fitted network's value: the truth of the self-check.
        truth: f64,
        /// Median over the refits.
        refit_median: f64,
        /// Lowest refit.
        refit_low: f64,
        /// Highest refit.
        refit_high: f64,
        /// Refits scored.
        n_refits: u32,
        /// |refit median − truth| / |truth|.
        rel_error: f64,
        /// Fraction of refits whose net sign (`mean_w`) is the truth's; for the network, the
        /// fraction on the fitted network's side of 1.
        sign_agreement: f64,
        /// The block is identifiable from data like the user's (null for blocks the fitted
        /// network does not have); for the network, the eigenvalue is determined (median within
        /// 10 % and every refit on the fit's side of 1).
        identifiable: Option<bool>,
    }
}

impl SelfcheckRow {
    /// The flag in words: `determined`, `not determined` or `not checked`.
    pub fn verdict(&self) -> &'static str {
        match self.identifiable {
            Some(true) => "determined",
            Some(false) => "not determined",
            None => "not checked",
        }
    }
}

table! {
    /// `ensemble_members.parquet`: each ensemble member (the fit is member 0) with how it differs
    /// and its held-out scores (means over the recorded neurons of its held-out fold).
    EnsembleMemberRow = "ensemble_members" {
        /// 0 for the fit itself.
        member: u32,
        /// Its seed.
        seed: u64,
        /// Seed of its block bootstrap of the training windows (0: the windows as they are).
        bootstrap: u64,
        /// The cross-validation fold it holds out.
        fold: u32,
        /// How its predictions were made (`free`, `teacher_forced`, ...), as in `metrics`.
        mode: String,
        /// Mean R² on its held-out frames.
        r2: f64,
        /// Mean fraction of variance explained on its held-out frames.
        pvar: f64,
    }
}

/// Every table of a run directory, for the schema snapshot and the layout documentation.
pub const RUN_TABLES: [(&str, &[&str]); 16] = [
    (UnitRow::NAME, UnitRow::COLUMNS),
    (SplitRow::NAME, SplitRow::COLUMNS),
    (HistoryRow::NAME, HistoryRow::COLUMNS),
    (MetricRow::NAME, MetricRow::COLUMNS),
    (InteractionRow::NAME, InteractionRow::COLUMNS),
    (CurrentRow::NAME, CurrentRow::COLUMNS),
    (PerturbationRow::NAME, PerturbationRow::COLUMNS),
    (InferredInputRow::NAME, InferredInputRow::COLUMNS),
    (SpectrumRow::NAME, SpectrumRow::COLUMNS),
    (DiagnosticRow::NAME, DiagnosticRow::COLUMNS),
    (
        InteractionEnsembleRow::NAME,
        InteractionEnsembleRow::COLUMNS,
    ),
    (SelfcheckRow::NAME, SelfcheckRow::COLUMNS),
    (
        PerturbationEnsembleRow::NAME,
        PerturbationEnsembleRow::COLUMNS,
    ),
    (CurrentEnsembleRow::NAME, CurrentEnsembleRow::COLUMNS),
    (EnsembleMemberRow::NAME, EnsembleMemberRow::COLUMNS),
    (ConstantEnsembleRow::NAME, ConstantEnsembleRow::COLUMNS),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema every table is written with: `name: column dtype, ...`, one line per table.
    fn schema<T: Table>(rows: &[T]) -> String {
        let df = T::to_frame(rows).unwrap();
        let cols: Vec<String> = df
            .schema()
            .iter()
            .map(|(name, dtype)| format!("{name} {dtype}"))
            .collect();
        format!("{}: {}", T::NAME, cols.join(", "))
    }

    fn text() -> String {
        "x".into()
    }

    #[test]
    fn every_run_table_keeps_its_schema() {
        let lines = [
            schema(&[UnitRow {
                unit: 0,
                neuron_id: None,
                area: text(),
                layer: text(),
                cell_type: text(),
                sign: text(),
                population: text(),
            }]),
            schema(&[SplitRow {
                frame: 0,
                time_s: 0.0,
                split: text(),
            }]),
            schema(&[HistoryRow {
                phase: text(),
                epoch: 1,
                step: 1,
                train_loss: 0.0,
                val_loss: f64::NAN,
                lr: 0.0,
                seconds: 0.0,
            }]),
            schema(&[MetricRow {
                neuron_id: Some(text()),
                population: text(),
                split: text(),
                mode: text(),
                r2: 0.0,
                pvar: 0.0,
                pearson_r: 0.0,
            }]),
            schema(&[InteractionRow {
                level: text(),
                stage: text(),
                pre: text(),
                post: text(),
                n_pre: 1,
                n_post: 1,
                n_possible: 1,
                n_nonzero: 1,
                density: 0.0,
                mean_w: 0.0,
                mean_abs_w: 0.0,
                sum_w: 0.0,
                mean_w_ci_low: 0.0,
                mean_w_ci_high: 0.0,
                sign_determined: Some(true),
                identifiable: Some(true),
            }]),
            schema(&[CurrentRow {
                level: text(),
                split: text(),
                source: text(),
                target: text(),
                source_sign: text(),
                mean_current: 0.0,
                mean_abs_current: 0.0,
                mean_current_ci_low: 0.0,
                mean_current_ci_high: 0.0,
                identifiable: Some(true),
            }]),
            schema(&[InferredInputRow {
                split: text(),
                area: text(),
                mean_abs_inferred: 0.0,
                mean_abs_recurrent: 0.0,
                inferred_share: 0.0,
            }]),
            schema(&[PerturbationRow {
                perturbed: text(),
                kind: text(),
                magnitude: 1.0,
                target: text(),
                baseline_mean_rate: 0.0,
                perturbed_mean_rate: 0.0,
                delta: 0.0,
                delta_rel: 0.0,
                delta_rel_ci_low: 0.0,
                delta_rel_ci_high: 0.0,
                sign_determined: Some(true),
                identifiable: Some(true),
            }]),
            schema(&[SpectrumRow {
                stage: text(),
                matrix: text(),
                kind: text(),
                index: 0,
                re: 0.0,
                im: 0.0,
            }]),
            schema(&[DiagnosticRow {
                stage: text(),
                scope: text(),
                metric: text(),
                value: 0.0,
            }]),
            schema(&[InteractionEnsembleRow {
                level: text(),
                pre: text(),
                post: text(),
                metric: text(),
                estimate: 0.0,
                ci_low: 0.0,
                ci_high: 0.0,
                n_members: 1,
                sign_determined: true,
                identifiable: None,
            }]),
            schema(&[PerturbationEnsembleRow {
                perturbed: text(),
                kind: text(),
                magnitude: 1.0,
                target: text(),
                estimate: 0.0,
                ci_low: 0.0,
                ci_high: 0.0,
                n_members: 1,
                sign_determined: true,
                refit_median: 0.0,
                identifiable: None,
            }]),
            schema(&[CurrentEnsembleRow {
                level: text(),
                split: text(),
                source: text(),
                target: text(),
                source_sign: text(),
                estimate: 0.0,
                ci_low: 0.0,
                ci_high: 0.0,
                n_members: 1,
                identifiable: Some(true),
            }]),
            schema(&[SelfcheckRow {
                level: text(),
                pre: text(),
                post: text(),
                metric: text(),
                truth: 0.0,
                refit_median: 0.0,
                refit_low: 0.0,
                refit_high: 0.0,
                n_refits: 1,
                rel_error: 0.0,
                sign_agreement: 1.0,
                identifiable: Some(true),
            }]),
            schema(&[ConstantEnsembleRow {
                quantity: text(),
                group: text(),
                estimate: 0.0,
                ci_low: 0.0,
                ci_high: 0.0,
                n_members: 1,
            }]),
            schema(&[EnsembleMemberRow {
                member: 0,
                seed: 0,
                bootstrap: 0,
                fold: 0,
                mode: text(),
                r2: 0.0,
                pvar: 0.0,
            }]),
        ];
        insta::assert_snapshot!(lines.join("\n"));
    }

    #[test]
    fn rows_survive_a_round_trip_through_parquet_with_nulls_and_nan() {
        let dir = tempfile::tempdir().unwrap();
        let rows = vec![
            MetricRow {
                neuron_id: Some("roi_1".into()),
                population: "VISp/L2/3/Sst".into(),
                split: "validation".into(),
                mode: "free_running".into(),
                r2: 0.25,
                pvar: f64::NAN,
                pearson_r: -0.5,
            },
            MetricRow {
                neuron_id: None,
                population: "all".into(),
                split: "train".into(),
                mode: "teacher_forced".into(),
                r2: 1.0,
                pvar: 0.5,
                pearson_r: 0.0,
            },
        ];
        let path = dir.path().join("metrics.parquet");
        write(&path, &rows).unwrap();
        let back: Vec<MetricRow> = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1], rows[1]);
        assert!(back[0].pvar.is_nan());
        assert_eq!(back[0].neuron_id.as_deref(), Some("roi_1"));
        // A table of another kind is refused with the column it lacks.
        let err = read::<HistoryRow>(&path).unwrap_err().to_string();
        assert!(
            err.contains("metrics.parquet: phase: missing column"),
            "{err}"
        );
    }
}
