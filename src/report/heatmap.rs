//! The one heat-map figure the report uses for every matrix (weights, block interactions, currents,
//! perturbation effects): labelled rows and columns, a diverging colour map symmetric about zero,
//! optional block boundaries and a colour bar. Large matrices are drawn as a raster image.

use super::colour::diverging;
use super::render::{font, DrawResult, Plot, Raster, Target, RASTER_PLACEHOLDER};
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

const TITLE_PX: f64 = 26.0;
const AXIS_TITLE_PX: f64 = 20.0;
const TICK_PX: f64 = 14.0;
const GROUP_PX: f64 = 17.0;
const BAR_WIDTH: i32 = 22;

/// A label at a position along an axis, in matrix units (row or column index; centre of a cell =
/// index + 0.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Position in matrix units.
    pub at: f64,
    /// Text.
    pub label: String,
}

/// One axis of a heat map.
#[derive(Debug, Clone, Default)]
pub struct Axis {
    /// Axis title (e.g. "presynaptic (source)").
    pub title: String,
    /// Labels next to the matrix; overlapping ones are dropped.
    pub ticks: Vec<Tick>,
    /// Coarser labels further out (e.g. areas), usually at the centre of a group of ticks.
    pub groups: Vec<Tick>,
    /// Thin boundary lines (e.g. between populations), in matrix units.
    pub minor: Vec<f64>,
    /// Thick boundary lines (e.g. between areas), in matrix units.
    pub major: Vec<f64>,
}

impl Axis {
    /// An axis with one tick per category, centred on its cell.
    pub fn categories(title: &str, labels: &[String]) -> Axis {
        Axis {
            title: title.to_string(),
            ticks: labels
                .iter()
                .enumerate()
                .map(|(i, l)| Tick {
                    at: i as f64 + 0.5,
                    label: l.clone(),
                })
                .collect(),
            ..Axis::default()
        }
    }
}

/// A heat map of `values` (rows top to bottom × columns left to right).
#[derive(Debug, Clone)]
pub struct HeatMap {
    /// Figure title.
    pub title: String,
    /// Columns.
    pub x: Axis,
    /// Rows.
    pub y: Axis,
    /// Displayed cells; NaN draws grey.
    pub values: Array2<f32>,
    /// Matrix units per displayed cell along each axis (1 unless the matrix was block-averaged).
    pub factor: usize,
    /// Matrix size in units `(rows, columns)`; `values` covers it in blocks of `factor`.
    pub units: (usize, usize),
    /// Colour scale: `centre ± limit` are the saturated ends.
    pub limit: f64,
    /// The value drawn white (0 for signed values; a grid's mean for values of one sign).
    pub centre: f64,
    /// Colour-bar label.
    pub bar_label: String,
    /// Figure size in pixels.
    pub size: (u32, u32),
    /// Keep cells square (the plotting area is shrunk to a square when rows == columns).
    pub square: bool,
    /// Draw the cells as one raster image (large matrices) instead of one rectangle each.
    pub raster: bool,
}

impl HeatMap {
    /// A heat map of a small labelled grid with one tick per row and column.
    pub fn grid(
        title: &str,
        x: Axis,
        y: Axis,
        values: Array2<f32>,
        limit: f64,
        bar_label: &str,
    ) -> HeatMap {
        let units = values.dim();
        HeatMap {
            title: title.to_string(),
            x,
            y,
            values,
            factor: 1,
            units,
            limit,
            centre: 0.0,
            bar_label: bar_label.to_string(),
            size: (1100, 950),
            square: false,
            raster: false,
        }
    }
}

/// Where things go, in pixels.
struct Layout {
    x0: i32,
    y0: i32,
    w: i32,
    h: i32,
    tick_w: i32,
    tick_h: i32,
}

impl Layout {
    fn px(&self, at: f64, units: usize) -> i32 {
        self.x0 + (at / units.max(1) as f64 * f64::from(self.w)).round() as i32
    }
    fn py(&self, at: f64, units: usize) -> i32 {
        self.y0 + (at / units.max(1) as f64 * f64::from(self.h)).round() as i32
    }
}

fn widest<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, ticks: &[Tick], px: f64) -> i32 {
    ticks
        .iter()
        .filter_map(|t| root.estimate_text_size(&t.label, &font(px)).ok())
        .map(|(w, _)| w as i32)
        .max()
        .unwrap_or(0)
}

/// Drop ticks closer than `gap` pixels to the previously kept one.
fn thin(ticks: &[Tick], pos: impl Fn(f64) -> i32, gap: i32) -> Vec<(&Tick, i32)> {
    let mut kept: Vec<(&Tick, i32)> = Vec::new();
    for t in ticks {
        let p = pos(t.at);
        if kept.last().is_none_or(|(_, q)| (p - q).abs() >= gap) {
            kept.push((t, p));
        }
    }
    kept
}

/// A number in at most 3 significant digits, switching to scientific notation for tiny or huge.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{v:.2e}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    }
}

impl HeatMap {
    fn layout<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Layout {
        let (width, height) = (self.size.0 as i32, self.size.1 as i32);
        let tick_w = widest(root, &self.y.ticks, TICK_PX) + 8;
        let group_w = widest(root, &self.y.groups, GROUP_PX);
        let tick_h = widest(root, &self.x.ticks, TICK_PX) + 8;
        let left =
            14 + AXIS_TITLE_PX as i32 + 10 + group_w + if group_w > 0 { 12 } else { 0 } + tick_w;
        let groups_h = if self.x.groups.is_empty() {
            0
        } else {
            GROUP_PX as i32 + 10
        };
        let bottom = tick_h + groups_h + AXIS_TITLE_PX as i32 + 20;
        let top = TITLE_PX as i32 + 30;
        let right = 150;
        let mut w = (width - left - right).max(50);
        let mut h = (height - top - bottom).max(50);
        if self.square && self.units.0 == self.units.1 {
            w = w.min(h);
            h = w;
        }
        Layout {
            x0: left,
            y0: top,
            w,
            h,
            tick_w,
            tick_h,
        }
    }

    fn colour_at(&self, row_unit: usize, col_unit: usize) -> RGBColor {
        let f = self.factor.max(1);
        let (r, c) = self.values.dim();
        let v = self.values[((row_unit / f).min(r - 1), (col_unit / f).min(c - 1))];
        diverging(f64::from(v) - self.centre, self.limit)
    }

    fn draw_cells<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        l: &Layout,
        target: Target,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (rows, cols) = self.units;
        if self.values.is_empty() {
            return Ok(());
        }
        if self.raster {
            if target == Target::Svg {
                root.draw(&Rectangle::new(
                    [(l.x0, l.y0), (l.x0 + l.w, l.y0 + l.h)],
                    RASTER_PLACEHOLDER.filled(),
                ))?;
                return Ok(());
            }
            let col_of: Vec<usize> = (0..l.w)
                .map(|px| (((f64::from(px) + 0.5) / f64::from(l.w)) * cols as f64) as usize)
                .collect();
            for py in 0..l.h {
                let row = (((f64::from(py) + 0.5) / f64::from(l.h)) * rows as f64) as usize;
                for (px, &col) in col_of.iter().enumerate() {
                    root.draw_pixel((l.x0 + px as i32, l.y0 + py), &self.colour_at(row, col))?;
                }
            }
            return Ok(());
        }
        let f = self.factor.max(1);
        for ((i, j), &v) in self.values.indexed_iter() {
            let (a, b) = ((j * f) as f64, (i * f) as f64);
            let (c, d) = (
                (((j + 1) * f).min(cols)) as f64,
                (((i + 1) * f).min(rows)) as f64,
            );
            root.draw(&Rectangle::new(
                [
                    (l.px(a, cols), l.py(b, rows)),
                    (l.px(c, cols), l.py(d, rows)),
                ],
                diverging(f64::from(v) - self.centre, self.limit).filled(),
            ))?;
        }
        Ok(())
    }

    fn draw_lines<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        l: &Layout,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (rows, cols) = self.units;
        let minor = RGBColor(110, 110, 110).stroke_width(1);
        let major = BLACK.stroke_width(2);
        for (lines, style) in [(&self.x.minor, minor), (&self.x.major, major)] {
            for &at in lines {
                let x = l.px(at, cols);
                root.draw(&PathElement::new(vec![(x, l.y0), (x, l.y0 + l.h)], style))?;
            }
        }
        for (lines, style) in [(&self.y.minor, minor), (&self.y.major, major)] {
            for &at in lines {
                let y = l.py(at, rows);
                root.draw(&PathElement::new(vec![(l.x0, y), (l.x0 + l.w, y)], style))?;
            }
        }
        root.draw(&Rectangle::new(
            [(l.x0, l.y0), (l.x0 + l.w, l.y0 + l.h)],
            BLACK.stroke_width(1),
        ))?;
        Ok(())
    }

    fn draw_labels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        l: &Layout,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (rows, cols) = self.units;
        let tick = font(TICK_PX);
        let group = font(GROUP_PX);
        let axis = font(AXIS_TITLE_PX);
        // Rows: tick labels right-aligned left of the matrix, groups further left.
        let right_mid = Pos::new(HPos::Right, VPos::Center);
        for (t, y) in thin(&self.y.ticks, |at| l.py(at, rows), TICK_PX as i32) {
            root.draw(&Text::new(
                t.label.clone(),
                (l.x0 - 6, y),
                tick.pos(right_mid),
            ))?;
        }
        for t in &self.y.groups {
            let y = l.py(t.at, rows);
            root.draw(&Text::new(
                t.label.clone(),
                (l.x0 - l.tick_w - 12, y),
                group.pos(right_mid),
            ))?;
        }
        let ytitle = axis
            .pos(Pos::new(HPos::Center, VPos::Top))
            .transform(FontTransform::Rotate270);
        root.draw(&Text::new(
            self.y.title.clone(),
            (14, l.y0 + l.h / 2),
            ytitle,
        ))?;
        // Columns: tick labels read bottom to top, ending just below the matrix.
        let rotated = tick.pos(right_mid).transform(FontTransform::Rotate270);
        for (t, x) in thin(&self.x.ticks, |at| l.px(at, cols), TICK_PX as i32) {
            root.draw(&Text::new(
                t.label.clone(),
                (x, l.y0 + l.h + 6),
                rotated.clone(),
            ))?;
        }
        let below = l.y0 + l.h + l.tick_h + 4;
        for t in &self.x.groups {
            let x = l.px(t.at, cols);
            root.draw(&Text::new(
                t.label.clone(),
                (x, below),
                group.pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
        let xtitle_y = below
            + if self.x.groups.is_empty() {
                0
            } else {
                GROUP_PX as i32 + 10
            };
        root.draw(&Text::new(
            self.x.title.clone(),
            (l.x0 + l.w / 2, xtitle_y),
            axis.pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        // Title centred over the matrix.
        root.draw(&Text::new(
            self.title.clone(),
            (l.x0 + l.w / 2, 14),
            font(TITLE_PX).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        Ok(())
    }

    fn draw_colour_bar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        l: &Layout,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let x0 = l.x0 + l.w + 28;
        let (y0, h) = (l.y0, l.h);
        let steps = h.max(1);
        for k in 0..steps {
            let v = self.limit * (1.0 - 2.0 * (f64::from(k) + 0.5) / f64::from(steps));
            root.draw(&Rectangle::new(
                [(x0, y0 + k), (x0 + BAR_WIDTH, y0 + k + 1)],
                diverging(v, self.limit).filled(),
            ))?;
        }
        root.draw(&Rectangle::new(
            [(x0, y0), (x0 + BAR_WIDTH, y0 + h)],
            BLACK.stroke_width(1),
        ))?;
        let tick = font(TICK_PX).pos(Pos::new(HPos::Left, VPos::Center));
        for q in [1.0, 0.5, 0.0, -0.5, -1.0] {
            let y = y0 + ((1.0 - q) / 2.0 * f64::from(h)).round() as i32;
            root.draw(&PathElement::new(
                vec![(x0 + BAR_WIDTH, y), (x0 + BAR_WIDTH + 5, y)],
                BLACK,
            ))?;
            let label = short_number(self.centre + q * self.limit);
            let label = if q.abs() == 1.0 {
                format!("{}{label}", if q > 0.0 { "≥ " } else { "≤ " })
            } else {
                label
            };
            root.draw(&Text::new(label, (x0 + BAR_WIDTH + 8, y), tick.clone()))?;
        }
        let style = font(AXIS_TITLE_PX - 2.0)
            .pos(Pos::new(HPos::Center, VPos::Bottom))
            .transform(FontTransform::Rotate270);
        root.draw(&Text::new(
            self.bar_label.clone(),
            (x0 + BAR_WIDTH + 92, y0 + h / 2),
            style,
        ))?;
        Ok(())
    }

    /// The cells as an RGB image, one pixel per displayed cell (what an SVG embeds).
    pub fn cell_image(&self) -> Raster {
        let (r, c) = self.values.dim();
        let mut rgb = Vec::with_capacity(r * c * 3);
        for &v in &self.values {
            let col = diverging(f64::from(v) - self.centre, self.limit);
            rgb.extend_from_slice(&[col.0, col.1, col.2]);
        }
        Raster {
            width: c as u32,
            height: r as u32,
            rgb,
        }
    }
}

impl Plot for HeatMap {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, target: Target) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let l = self.layout(root);
        self.draw_cells(root, &l, target)?;
        self.draw_lines(root, &l)?;
        self.draw_labels(root, &l)?;
        self.draw_colour_bar(root, &l)?;
        Ok(())
    }

    fn raster(&self) -> Option<Raster> {
        self.raster.then(|| self.cell_image())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_keep_three_significant_digits() {
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(0.01234), "0.0123");
        assert_eq!(short_number(-1.5), "-1.50");
        assert_eq!(short_number(123.4), "123");
        assert_eq!(short_number(2.5e-5), "2.50e-5");
    }

    #[test]
    fn thinning_drops_overlapping_labels() {
        let ticks: Vec<Tick> = (0..10)
            .map(|i| Tick {
                at: f64::from(i),
                label: i.to_string(),
            })
            .collect();
        let kept = thin(&ticks, |at| (at * 5.0) as i32, 12);
        let at: Vec<f64> = kept.iter().map(|(t, _)| t.at).collect();
        assert_eq!(at, vec![0.0, 3.0, 6.0, 9.0]);
    }
}
