//! PNG figures: grids of panels with line series on linear or log axes, text in an embedded font.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::style::FontStyle;

use specreg_files::write_atomically;
use crate::error::{ReportError, Result};

/// Pixels per panel (readable when a 2-panel figure is printed at paper width).
const PANEL_W: u32 = 640;
const PANEL_H: u32 = 480;
const TITLE_H: u32 = 48;
const FONT: &str = "sans-serif";

/// One line on a panel.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend entry (`None`: none).
    pub label: Option<String>,
    /// Line or band colour.
    pub color: RGBColor,
    /// (x, y) points, in drawing order; non-finite points and points ≤ 0 on log axes are skipped.
    pub points: Vec<(f64, f64)>,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// When set, the area between `points` and these points (same x values) is shaded instead of
    /// drawing a line: a mean ± s.d. band.
    pub fill_to: Option<Vec<(f64, f64)>>,
}

impl Series {
    /// A solid line with a legend entry.
    pub fn line(label: impl Into<String>, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Series { label: Some(label.into()), color, points, dashed: false, fill_to: None }
    }
    /// A shaded band between `lower` and `upper` (no legend entry).
    pub fn band(color: RGBColor, lower: Vec<(f64, f64)>, upper: Vec<(f64, f64)>) -> Self {
        Series { label: None, color, points: lower, dashed: false, fill_to: Some(upper) }
    }
    /// A series without a legend entry.
    pub fn unlabelled(color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Series { label: None, color, points, dashed: false, fill_to: None }
    }
    /// The same series, dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// One plot.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Caption above the plot.
    pub title: String,
    /// x-axis description.
    pub x_label: String,
    /// y-axis description.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// What is drawn, in order.
    pub series: Vec<Series>,
}

impl Panel {
    /// A panel with linear axes.
    pub fn linear(title: &str, x_label: &str, y_label: &str) -> Self {
        Panel { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), log_x: false, log_y: false, series: vec![] }
    }
    /// A panel with logarithmic axes (spectra).
    pub fn log_log(title: &str, x_label: &str, y_label: &str) -> Self {
        Panel { log_x: true, log_y: true, ..Panel::linear(title, x_label, y_label) }
    }
    /// The panel with one more series.
    pub fn with(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }
}

/// A fixed colour per variant index, the same in every figure (Vanilla first).
pub fn variant_color(index: usize) -> RGBColor {
    const PALETTE: [RGBColor; 8] = [
        RGBColor(0, 0, 0),
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
    ];
    PALETTE[index % PALETTE.len()]
}

/// A colour along viridis for t in [0, 1] (depth, ε, …).
pub fn ramp_color(t: f64) -> RGBColor {
    ViridisRGB::get_color(t.clamp(0.0, 1.0))
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (style, bytes) in [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
            (FontStyle::Italic, dejavu::sans::oblique()),
            (FontStyle::Oblique, dejavu::sans::oblique()),
        ] {
            // The bytes are a valid TTF shipped inside the dejavu crate.
            let _ = plotters::style::register_font(FONT, style, bytes);
        }
    });
}

/// Draws `panels` in a grid of `columns` under a figure `title` into a PNG at `path` (atomically).
pub fn draw_panels(path: &Path, title: &str, panels: &[Panel], columns: usize) -> Result<()> {
    register_font();
    let columns = columns.max(1).min(panels.len().max(1));
    let rows = panels.len().div_ceil(columns).max(1);
    let size = (PANEL_W * columns as u32, PANEL_H * rows as u32 + TITLE_H);
    write_atomically(path, |tmp| {
        let fail = |e: &dyn std::fmt::Display| ReportError::Figure { path: path.into(), detail: e.to_string() };
        // The bitmap encoder picks the format from the extension, which the temporary name keeps.
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        // The title shrinks to fit the figure's width (about 0.55 em per character in DejaVu Sans).
        let fitting = (f64::from(size.0) / (0.55 * title.chars().count().max(1) as f64)).floor() as u32;
        let root = root.titled(title, (FONT, fitting.clamp(14, 26))).map_err(|e| fail(&e))?;
        for (panel, area) in panels.iter().zip(root.split_evenly((rows, columns))) {
            draw_panel(&area, panel).map_err(|e| fail(&e))?;
        }
        root.present().map_err(|e| fail(&e))
    })
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw_panel(area: &Area<'_>, panel: &Panel) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let points = panel.series.iter().flat_map(|s| s.points.iter().chain(s.fill_to.iter().flatten())).filter(|(x, y)| {
        x.is_finite() && y.is_finite() && (!panel.log_x || *x > 0.0) && (!panel.log_y || *y > 0.0)
    });
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (1.0, 10.0, 1.0, 10.0);
    }
    let pad = |lo: f64, hi: f64, log: bool| {
        if log { (lo / 1.5, hi * 1.5) } else { let m = (hi - lo).max(1e-12) * 0.05; (lo - m, hi + m) }
    };
    let (x0, x1) = pad(x0, x1, panel.log_x);
    let (y0, y1) = pad(y0, y1, panel.log_y);
    let mut builder = ChartBuilder::on(area);
    builder.caption(&panel.title, (FONT, 20)).margin(12).x_label_area_size(44).y_label_area_size(72);
    // Four axis combinations share one drawing routine.
    let spans = ((!panel.log_x).then_some(x1 - x0), (!panel.log_y).then_some(y1 - y0));
    match (panel.log_x, panel.log_y) {
        (true, true) => draw_series(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?, panel, spans),
        (true, false) => draw_series(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?, panel, spans),
        (false, true) => draw_series(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?, panel, spans),
        (false, false) => draw_series(builder.build_cartesian_2d(x0..x1, y0..y1)?, panel, spans),
    }
}

/// Short tick labels: "0.25", "10", "1e-06". On a linear axis spanning `span`, a value within 1e-9 of
/// the span of 0 is 0: tick positions computed in floating point come out as −2e-16 where they mean 0.
fn tick(v: f64, span: Option<f64>) -> String {
    if v == 0.0 || span.is_some_and(|span| v.abs() <= 1e-9 * span) {
        return "0".into();
    }
    if (1e-3..1e5).contains(&v.abs()) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.0e}")
    }
}

fn draw_series<'a, X, Y>(mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>, panel: &Panel, (x_span, y_span): (Option<f64>, Option<f64>)) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .x_label_formatter(&|v| tick(*v, x_span))
        .y_label_formatter(&|v| tick(*v, y_span))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let mut labelled = false;
    for s in &panel.series {
        let style = ShapeStyle::from(&s.color).stroke_width(2);
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!panel.log_x || *x > 0.0) && (!panel.log_y || *y > 0.0))
            .collect();
        if let Some(upper) = &s.fill_to {
            let mut outline = points.clone();
            outline.extend(upper.iter().rev().copied().filter(|(x, y)| x.is_finite() && y.is_finite() && (!panel.log_x || *x > 0.0) && (!panel.log_y || *y > 0.0)));
            chart.draw_series(std::iter::once(Polygon::new(outline, s.color.mix(0.18).filled())))?;
            continue;
        }
        let drawn = if s.dashed {
            chart.draw_series(DashedLineSeries::new(points, 8, 6, style))?
        } else {
            chart.draw_series(LineSeries::new(points, style))?
        };
        if let Some(label) = &s.label {
            labelled = true;
            let color = s.color;
            drawn.label(label.as_str()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
    }
    if labelled {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 14))
            // Spectra decay to the lower right, so their legend goes lower left.
            .position(if panel.log_y { SeriesLabelPosition::LowerLeft } else { SeriesLabelPosition::UpperRight })
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn ticks_read_zero_where_floating_point_leaves_noise() {
        assert_eq!(tick(-2.2e-16, Some(4.0)), "0");
        assert_eq!(tick(6e-17, Some(1.0)), "0");
        assert_eq!(tick(0.25, Some(1.0)), "0.25");
        assert_eq!(tick(-1.5, Some(4.0)), "-1.5");
        // Log axes keep small values: they are the data.
        assert_eq!(tick(1e-6, None), "1e-6");
        assert_eq!(tick(1e-17, None), "1e-17");
    }
}
