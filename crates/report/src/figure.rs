//! PNG figures: grids of panels with line series on linear or log axes, text in an embedded font.

use std::path::Path;
use std::sync::Once;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{ReportError, Result};
use specreg_files::write_atomically;

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
    /// When set, a vertical error bar (x, low, high) at each point instead of a line: an interval.
    pub error_bars: Option<Vec<(f64, f64, f64)>>,
}

impl Series {
    /// A solid line with a legend entry.
    pub fn line(label: impl Into<String>, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Series { label: Some(label.into()), color, points, dashed: false, fill_to: None, error_bars: None }
    }
    /// A shaded band between `lower` and `upper` (no legend entry).
    pub fn band(color: RGBColor, lower: Vec<(f64, f64)>, upper: Vec<(f64, f64)>) -> Self {
        Series { label: None, color, points: lower, dashed: false, fill_to: Some(upper), error_bars: None }
    }
    /// A series without a legend entry.
    pub fn unlabelled(color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Series { label: None, color, points, dashed: false, fill_to: None, error_bars: None }
    }
    /// Vertical error bars from `low` to `high` at each `x` (no legend entry): a confidence interval.
    pub fn error_bars(color: RGBColor, bars: Vec<(f64, f64, f64)>) -> Self {
        Series { label: None, color, points: Vec::new(), dashed: false, fill_to: None, error_bars: Some(bars) }
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
    /// Only integer ticks on the x axis (epochs).
    pub integer_x: bool,
    /// What is drawn, in order.
    pub series: Vec<Series>,
}

impl Panel {
    /// A panel with linear axes.
    pub fn linear(title: &str, x_label: &str, y_label: &str) -> Self {
        Panel { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), log_x: false, log_y: false, integer_x: false, series: vec![] }
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
    /// The same panel with integer ticks only on its x axis.
    pub fn integer_x(mut self) -> Self {
        self.integer_x = true;
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

/// Height of one row of the legend under a panel, in pixels; two entries per row.
const LEGEND_ROW_H: u32 = 18;

fn draw_panel(area: &Area<'_>, panel: &Panel) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let bar_ends: Vec<(f64, f64)> = panel.series.iter().flat_map(|s| s.error_bars.iter().flatten().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)])).collect();
    let points = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().chain(s.fill_to.iter().flatten()))
        .chain(bar_ends.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite() && (!panel.log_x || *x > 0.0) && (!panel.log_y || *y > 0.0));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in points {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (1.0, 10.0, 1.0, 10.0);
    }
    let pad = |lo: f64, hi: f64, log: bool| {
        if log {
            (lo / 1.5, hi * 1.5)
        } else {
            let m = (hi - lo).max(1e-12) * 0.05;
            (lo - m, hi + m)
        }
    };
    let (x0, x1) = pad(x0, x1, panel.log_x);
    let (y0, y1) = pad(y0, y1, panel.log_y);
    // The legend goes under the plot, outside the data: two entries per row.
    let labelled = panel.series.iter().filter(|s| s.label.is_some()).count() as u32;
    let legend_h = if labelled == 0 { 0 } else { 8 + labelled.div_ceil(2) * LEGEND_ROW_H };
    let (plot, legend) = area.split_vertically(area.dim_in_pixel().1.saturating_sub(legend_h));
    let mut builder = ChartBuilder::on(&plot);
    builder.caption(&panel.title, (FONT, 20)).margin(12).x_label_area_size(44).y_label_area_size(72);
    // Four axis combinations share one drawing routine.
    let spans = ((!panel.log_x).then_some(x1 - x0), (!panel.log_y).then_some(y1 - y0));
    match (panel.log_x, panel.log_y) {
        (true, true) => draw_series(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?, panel, spans)?,
        (true, false) => draw_series(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?, panel, spans)?,
        (false, true) => draw_series(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?, panel, spans)?,
        (false, false) => draw_series(builder.build_cartesian_2d(x0..x1, y0..y1)?, panel, spans)?,
    }
    draw_legend(&legend, panel)
}

/// The legend under a panel: each labelled series' line (with its marker) and label.
fn draw_legend(area: &Area<'_>, panel: &Panel) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let width = area.dim_in_pixel().0 as i32;
    let column_w = (width - 24) / 2;
    for (k, (index, s)) in panel.series.iter().enumerate().filter(|(_, s)| s.label.is_some()).enumerate() {
        let (x, y) = (12 + (k as i32 % 2) * column_w, 4 + (k as i32 / 2) * LEGEND_ROW_H as i32 + LEGEND_ROW_H as i32 / 2);
        let style = ShapeStyle::from(&s.color).stroke_width(2);
        if s.dashed {
            area.draw(&PathElement::new(vec![(x, y), (x + 8, y)], style))?;
            area.draw(&PathElement::new(vec![(x + 14, y), (x + 22, y)], style))?;
        } else {
            area.draw(&PathElement::new(vec![(x, y), (x + 22, y)], style))?;
            draw_marker(area, marker_of(index), (x + 11, y), s.color)?;
        }
        let label = s.label.as_deref().unwrap_or_default();
        area.draw(&Text::new(label.to_string(), (x + 30, y - 8), (FONT, 14).into_font().color(&BLACK)))?;
    }
    Ok(())
}

/// The marker of the series at `index` in its panel: five shapes in turn, so that curves drawn over
/// each other stay apart.
fn marker_of(index: usize) -> usize {
    index % 5
}

fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    kind: usize,
    (x, y): (i32, i32),
    color: RGBColor,
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let style = ShapeStyle::from(&color).stroke_width(2);
    match kind {
        0 => area.draw(&Circle::new((x, y), 4, style))?,
        1 => area.draw(&TriangleMarker::new((x, y), 5, style))?,
        2 => area.draw(&Rectangle::new([(x - 4, y - 4), (x + 4, y + 4)], style))?,
        3 => area.draw(&Cross::new((x, y), 4, style))?,
        _ => area.draw(&Polygon::new(vec![(x, y - 5), (x + 5, y), (x, y + 5), (x - 5, y)], style))?,
    }
    Ok(())
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

/// Markers per line: at most this many, spread along it.
const MARKERS_PER_LINE: usize = 8;

fn draw_series<'a, X, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    panel: &Panel,
    (x_span, y_span): (Option<f64>, Option<f64>),
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let integer_x = panel.integer_x;
    let x_ticks = match x_span {
        Some(span) if integer_x => (span.round() as usize + 1).clamp(2, 11),
        _ => 10,
    };
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .x_labels(x_ticks)
        .x_label_formatter(&|v| if integer_x && (v - v.round()).abs() > 1e-9 { String::new() } else { tick(*v, x_span) })
        .y_label_formatter(&|v| tick(*v, y_span))
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 17))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let visible = |(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!panel.log_x || *x > 0.0) && (!panel.log_y || *y > 0.0);
    for (index, s) in panel.series.iter().enumerate() {
        let style = ShapeStyle::from(&s.color).stroke_width(2);
        let points: Vec<(f64, f64)> = s.points.iter().copied().filter(visible).collect();
        if let Some(upper) = &s.fill_to {
            let mut outline = points.clone();
            outline.extend(upper.iter().rev().copied().filter(visible));
            chart.draw_series(std::iter::once(Polygon::new(outline, s.color.mix(0.18).filled())))?;
            continue;
        }
        if let Some(bars) = &s.error_bars {
            let drawing = chart.plotting_area();
            let screen = drawing.use_screen_coord();
            for &(x, low, high) in bars.iter().filter(|(x, l, h)| visible(&(*x, *l)) && visible(&(*x, *h))) {
                let (bottom, top) = (drawing.map_coordinate(&(x, low)), drawing.map_coordinate(&(x, high)));
                let thin = ShapeStyle::from(&s.color).stroke_width(1);
                screen.draw(&PathElement::new(vec![bottom, top], thin))?;
                for end in [bottom, top] {
                    screen.draw(&PathElement::new(vec![(end.0 - 4, end.1), (end.0 + 4, end.1)], thin))?;
                }
            }
            continue;
        }
        if s.dashed {
            chart.draw_series(DashedLineSeries::new(points, 8, 6, style))?;
            continue;
        }
        chart.draw_series(LineSeries::new(points.clone(), style))?;
        if s.label.is_some() && !points.is_empty() {
            // A few markers per line, each series starting at its own phase, so equal curves drawn
            // over each other still show every series' marker.
            let step = points.len().div_ceil(MARKERS_PER_LINE).max(1);
            let phase = (index * step.div_ceil(5).max(1)) % step;
            let kind = marker_of(index);
            let color = s.color;
            let marked: Vec<(f64, f64)> = points.iter().copied().skip(phase).step_by(step).collect();
            let drawing = chart.plotting_area();
            for p in marked {
                let pixel = drawing.map_coordinate(&p);
                draw_marker(&drawing.use_screen_coord(), kind, pixel, color)?;
            }
        }
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
