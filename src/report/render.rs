//! Drawing a figure onto a PNG buffer or an SVG string: the embedded font, the [`Plot`] trait
//! every figure implements, PNG encoding in memory, and raster images inside SVG files.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::sync::OnceLock;

/// DejaVu Sans (assets/fonts, Bitstream Vera licence), so figures draw text without system fonts.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name every figure asks for; the embedded font is registered under it.
pub const FAMILY: &str = "sans-serif";

/// What a figure is being drawn for: pixels, or vector graphics with raster images embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A PNG bitmap: raster images are drawn pixel by pixel.
    Png,
    /// An SVG file: raster images are drawn as a placeholder that [`svg`] replaces by an `<image>`.
    Svg,
}

/// The error a drawing function returns (a plotters backend or layout error).
pub type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// A figure that can be drawn on any plotters backend.
pub trait Plot {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);

    /// Draw the whole figure on `root` (which covers the full canvas).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, target: Target) -> DrawResult
    where
        DB::ErrorType: 'static;

    /// The raster image an SVG embeds in place of [`RASTER_PLACEHOLDER`] (RGB, row-major), if any.
    fn raster(&self) -> Option<Raster> {
        None
    }
}

/// An RGB image (row-major, 3 bytes a pixel).
#[derive(Debug, Clone)]
pub struct Raster {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 3` bytes.
    pub rgb: Vec<u8>,
}

/// The colour of the rectangle an SVG figure draws where its raster image goes; [`svg`] swaps the
/// rectangle for an `<image>` element (no real figure uses this exact colour).
pub const RASTER_PLACEHOLDER: RGBColor = RGBColor(1, 2, 3);

/// Register the embedded font with plotters (once per process).
pub fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::bug(
            "drawing a figure",
            "the embedded DejaVu Sans font could not be parsed",
        ))
    }
}

fn draw_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("drawing {what}"), e)
}

/// Draw `plot` and encode it as PNG bytes.
pub fn png<P: Plot>(plot: &P, what: &str) -> Result<Vec<u8>> {
    register_font()?;
    let (w, h) = plot.size();
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        plot.draw(&root, Target::Png)
            .map_err(|e| draw_err(what, e))?;
        root.present().map_err(|e| draw_err(what, e))?;
    }
    encode_png(w, h, &rgb)
}

/// Encode an RGB buffer as PNG bytes.
pub fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let err = |e: png::EncodingError| Error::internal("encoding a PNG", e);
    let mut writer = enc.write_header().map_err(err)?;
    writer.write_image_data(rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// Draw `plot` as an SVG document; a raster image is embedded as a PNG data URI.
pub fn svg<P: Plot>(plot: &P, what: &str) -> Result<String> {
    register_font()?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, plot.size()).into_drawing_area();
        plot.draw(&root, Target::Svg)
            .map_err(|e| draw_err(what, e))?;
        root.present().map_err(|e| draw_err(what, e))?;
    }
    match plot.raster() {
        Some(r) => embed_raster(&text, &r),
        None => Ok(text),
    }
}

/// Replace the placeholder rectangle in `svg` by an `<image>` of `raster` stretched over it
/// (`xlink:href`, which SVG 1.1 viewers need and browsers accept).
fn embed_raster(svg: &str, raster: &Raster) -> Result<String> {
    use base64::Engine;
    let colour = format!(
        "fill=\"#{:02X}{:02X}{:02X}\"",
        RASTER_PLACEHOLDER.0, RASTER_PLACEHOLDER.1, RASTER_PLACEHOLDER.2
    );
    let missing = || Error::bug("drawing an SVG figure", "it lost its raster placeholder");
    let at = svg.find(&colour).ok_or_else(missing)?;
    let start = svg[..at].rfind("<rect").ok_or_else(missing)?;
    let end = at + svg[at..].find("/>").ok_or_else(missing)? + 2;
    let attr = |name: &str| -> Result<String> {
        let element = &svg[start..end];
        let key = format!(" {name}=\"");
        let i = element.find(&key).ok_or_else(missing)? + key.len();
        let j = element[i..].find('"').ok_or_else(missing)?;
        Ok(element[i..i + j].to_string())
    };
    let png = encode_png(raster.width, raster.height, &raster.rgb)?;
    let image = format!(
        "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" \
         style=\"image-rendering:pixelated\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
         xlink:href=\"data:image/png;base64,{}\"/>",
        attr("x")?,
        attr("y")?,
        attr("width")?,
        attr("height")?,
        base64::engine::general_purpose::STANDARD.encode(png)
    );
    Ok(format!("{}{}{}", &svg[..start], image, &svg[end..]))
}

/// A text style in the embedded font at `size` pixels.
pub fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FAMILY, size).into_font()).color(&BLACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Boxed;
    impl Plot for Boxed {
        fn size(&self) -> (u32, u32) {
            (40, 30)
        }
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, _: Target) -> DrawResult
        where
            DB::ErrorType: 'static,
        {
            root.fill(&WHITE)?;
            root.draw(&Rectangle::new(
                [(5, 5), (20, 15)],
                RASTER_PLACEHOLDER.filled(),
            ))?;
            root.draw(&Text::new("fitrnn", (2, 20), font(10.0)))?;
            Ok(())
        }
        fn raster(&self) -> Option<Raster> {
            Some(Raster {
                width: 2,
                height: 1,
                rgb: vec![255, 0, 0, 0, 0, 255],
            })
        }
    }

    #[test]
    fn png_has_the_figure_size_and_svg_embeds_the_raster() {
        let bytes = png(&Boxed, "test").unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert_eq!((w, h), (40, 30));
        let text = svg(&Boxed, "test").unwrap();
        assert!(!text.contains("#010203"), "placeholder left in: {text}");
        assert!(text.contains(
            "<image x=\"5\" y=\"5\" width=\"15\" height=\"10\" preserveAspectRatio=\"none\""
        ));
        assert!(text.contains("xlink:href=\"data:image/png;base64,iVBOR"));
        assert!(
            text.contains("</text>") && text.contains("fitrnn"),
            "text kept as SVG text"
        );
    }
}
