//! Figures with plotters: panels of lines (with error bars), scatter plots, decision regions
//! and heatmaps, written as PNG and SVG. The font (DejaVu Sans) is embedded, so drawing needs
//! no system fonts.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::error::ReportError;
use crate::files::write_atomic;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        for style in [FontStyle::Normal, FontStyle::Bold] {
            if plotters::style::register_font("sans-serif", style, bytes).is_err() {
                tracing::warn!("embedded font could not be registered; figures may lack text");
            }
        }
    });
}

/// The ten colours of matplotlib's `tab10`.
pub const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One drawn point: x, y and the half-width of its error bar (if any).
pub type SeriesPoint = (f64, f64, Option<f64>);

/// A curve: points `(x, y, error)` with an optional error bar half-width.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// Points in drawing order.
    pub points: Vec<SeriesPoint>,
    /// Per point: drawn hollow (excluded from the statistics: did not train); empty for
    /// none.
    pub hollow: Vec<bool>,
    /// Colour index into [`TAB10`].
    pub color: usize,
    /// Markers only, no connecting line.
    pub scatter: bool,
}

/// Decision regions in a plane with labelled points and a clean/adversarial pair (Figure 2).
#[derive(Debug, Clone, PartialEq)]
pub struct Regions {
    /// Grid x coordinates.
    pub xs: Vec<f64>,
    /// Grid y coordinates.
    pub ys: Vec<f64>,
    /// Class of each cell, row-major over (y, x).
    pub class: Vec<i64>,
    /// Data points `(x, y, class)`.
    pub points: Vec<(f64, f64, i64)>,
    /// The clean point.
    pub clean: (f64, f64),
    /// The adversarial point.
    pub adversarial: (f64, f64),
}

/// What a panel draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Lines / scatter series.
    Series(Vec<Series>),
    /// Decision regions.
    Regions(Regions),
    /// A heatmap (`height × width`, row-major); diverging colours when `signed`.
    Heatmap {
        /// Values.
        values: Vec<f32>,
        /// Rows.
        height: usize,
        /// Columns.
        width: usize,
        /// Symmetric blue–white–red scale around 0 instead of greys.
        signed: bool,
    },
    /// Text only (e.g. "no data").
    Note(String),
}

/// One panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Logarithmic x axis (values must be > 0; non-positive x are drawn at the left edge).
    pub log_x: bool,
    /// Fixed y range.
    pub y_range: Option<(f64, f64)>,
    /// The quantity's natural range: error bars are clipped to it (an effective rank is
    /// never negative, an accuracy never above 1).
    pub clip: Option<(f64, f64)>,
    /// What to draw.
    pub content: Content,
}

impl Panel {
    /// A line panel.
    pub fn lines(title: &str, x: &str, y: &str, series: Vec<Series>) -> Self {
        Self {
            title: title.into(),
            x_label: x.into(),
            y_label: y.into(),
            log_x: false,
            y_range: None,
            clip: None,
            content: Content::Series(series),
        }
    }
}

fn draw_err<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Draw(e.to_string())
}

/// Writes `stem.png` and `stem.svg` with `panels` laid out in `cols` columns.
pub fn save(
    stem: &Path,
    title: &str,
    panels: &[Panel],
    cols: usize,
) -> Result<Vec<PathBuf>, ReportError> {
    register_font();
    let cols = cols.max(1);
    let rows = panels.len().div_ceil(cols).max(1);
    let size = (460 * cols as u32, 380 * rows as u32 + 40);
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    // Drawn in memory, then written atomically with fsync (cr_io), as every output.
    let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        draw_all(&root, title, panels, rows, cols)?;
        root.present().map_err(draw_err)?;
    }
    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, size).into_drawing_area();
        draw_all(&root, title, panels, rows, cols)?;
        root.present().map_err(draw_err)?;
    }
    let png_bytes = encode_png(rgb, size)?;
    for (path, bytes) in [(&png, &png_bytes[..]), (&svg, svg_text.as_bytes())] {
        write_atomic(path, bytes)?;
    }
    Ok(vec![png, svg])
}

/// The RGB pixels as PNG bytes (the encoder plotters itself saves with).
fn encode_png(rgb: Vec<u8>, (w, h): (u32, u32)) -> Result<Vec<u8>, ReportError> {
    let img = image::ImageBuffer::<image::Rgb<u8>, _>::from_raw(w, h, rgb)
        .ok_or_else(|| ReportError::Draw(format!("a {w}×{h} RGB buffer of the wrong size")))?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageOutputFormat::Png)
        .map_err(draw_err)?;
    Ok(out.into_inner())
}

fn draw_all<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel],
    rows: usize,
    cols: usize,
) -> Result<(), ReportError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(draw_err)?;
    let root = root
        .titled(title, ("sans-serif", 22).into_font().style(FontStyle::Bold))
        .map_err(draw_err)?;
    let areas = root.split_evenly((rows, cols));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        draw_panel(area, panel)?;
    }
    Ok(())
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if (hi - lo).abs() < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = 0.06 * (hi - lo);
    (lo - pad, hi + pad)
}

/// The font size of a panel title: 16, smaller for a title that would not fit a 460-pixel
/// panel at 16 (about 52 characters), never below 10.
fn title_size(title: &str) -> u32 {
    let n = title.chars().count() as u32;
    if n <= 52 { 16 } else { (16 * 52 / n).max(10) }
}

/// A corner of a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Corner {
    UpperRight,
    UpperLeft,
    LowerLeft,
    LowerRight,
}

/// The fewest of `pts` (scaled to [0, 1]) in any corner's legend box.
fn corner_load(pts: &[(f64, f64)]) -> usize {
    let c = legend_corner(pts);
    corner_count(pts, c)
}

fn corner_count(pts: &[(f64, f64)], c: Corner) -> usize {
    pts.iter()
        .filter(|(x, y)| {
            let right = *x >= 0.55;
            let left = *x <= 0.45;
            let up = *y >= 0.6;
            let down = *y <= 0.4;
            match c {
                Corner::UpperRight => right && up,
                Corner::UpperLeft => left && up,
                Corner::LowerLeft => left && down,
                Corner::LowerRight => right && down,
            }
        })
        .count()
}

/// The corner whose 45%×40% box holds the fewest of `pts` (coordinates scaled to [0, 1]);
/// ties go to the upper right, then upper left, lower left, lower right.
fn legend_corner(pts: &[(f64, f64)]) -> Corner {
    [
        Corner::UpperRight,
        Corner::UpperLeft,
        Corner::LowerLeft,
        Corner::LowerRight,
    ]
    .into_iter()
    .min_by_key(|c| corner_count(pts, *c))
    .unwrap_or(Corner::UpperRight)
}

/// A log-axis tick label at `v = log10(x)`: `0` at the floor decade where x ≤ 0 is drawn
/// (left of the axis break), decades as `1e-3` (integers from 1 up as integers), nothing
/// between decades (so that no label repeats) or inside the break.
fn log_label(v: f64, floor: f64) -> String {
    let f = floor.log10();
    if (v - f).abs() < 0.02 {
        "0".into()
    } else if v < f + 0.75 || (v - v.round()).abs() > 0.02 {
        String::new()
    } else {
        let x = 10f64.powf(v.round());
        if x >= 1.0 {
            format!("{}", x.round())
        } else {
            format!("{x:.0e}")
        }
    }
}

/// A linear tick label with as many decimals as ticks `step` apart need (integers for
/// integer-valued spans such as ranks).
fn lin_label(v: f64, step: f64) -> String {
    let d = if step > 0.0 && step.is_finite() {
        (-step.log10() - 1e-9).ceil().clamp(0.0, 6.0) as usize
    } else {
        3
    };
    format!("{v:.d$}")
}

fn tx(x: f64, log: bool, floor: f64) -> f64 {
    if log { x.max(floor).log10() } else { x }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
) -> Result<(), ReportError>
where
    DB::ErrorType: 'static,
{
    match &p.content {
        Content::Series(series) => draw_lines(area, p, series),
        Content::Regions(r) => draw_regions(area, p, r),
        Content::Heatmap {
            values,
            height,
            width,
            signed,
        } => draw_heatmap(area, p, values, (*height, *width), *signed),
        Content::Note(text) => area
            .draw(&Text::new(
                format!("{}: {text}", p.title),
                (20, 40),
                ("sans-serif", 16),
            ))
            .map_err(draw_err),
    }
}

/// The coordinates of a panel of series: the x range (log10 on log axes, where x ≤ 0 gets its
/// own decade left of the smallest positive one), the y range (with room for the legend), and
/// the error-bar clip.
struct Frame {
    log: bool,
    /// The decade where x ≤ 0 is drawn on a log axis.
    floor: f64,
    x: (f64, f64),
    y: (f64, f64),
    clip: (f64, f64),
}

impl Frame {
    fn of(p: &Panel, series: &[Series]) -> Self {
        let positive = series
            .iter()
            .flat_map(|s| s.points.iter().map(|q| q.0))
            .filter(|x| *x > 0.0)
            .fold(f64::INFINITY, f64::min);
        let floor = if positive.is_finite() {
            10f64.powf(positive.log10().floor() - 1.0)
        } else {
            1e-6
        };
        let x = bounds(
            series
                .iter()
                .flat_map(|s| s.points.iter().map(|q| tx(q.0, p.log_x, floor))),
        );
        let mut frame = Frame {
            log: p.log_x,
            floor,
            x,
            y: (0.0, 1.0),
            clip: p.clip.unwrap_or((f64::NEG_INFINITY, f64::INFINITY)),
        };
        let (y0, mut y1) = p.y_range.unwrap_or_else(|| {
            bounds(series.iter().flat_map(|s| {
                s.points.iter().flat_map(|q| {
                    let (a, b) = frame.bar(q);
                    [a, b]
                })
            }))
        });
        frame.y = (y0, y1);
        // Room for the legend when every corner holds data.
        if p.y_range.is_none() && corner_load(&frame.occupancy(series)) > 0 {
            y1 += 0.5 * (y1 - y0);
            frame.y = (y0, y1);
        }
        frame
    }

    /// The drawn x of a data x.
    fn tx(&self, x: f64) -> f64 {
        tx(x, self.log, self.floor)
    }

    /// A point's error bar, clipped to the quantity's range.
    fn bar(&self, q: &SeriesPoint) -> (f64, f64) {
        let e = q.2.unwrap_or(0.0);
        ((q.1 - e).max(self.clip.0), (q.1 + e).min(self.clip.1))
    }

    /// Where the series lie, in panel coordinates scaled to [0, 1]: the points, their error
    /// bars and the lines between them, sampled (what a legend box must not hide).
    fn occupancy(&self, series: &[Series]) -> Vec<(f64, f64)> {
        let ((x0, x1), (y0, y1)) = (self.x, self.y);
        let at = |x: f64, y: f64| ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
        let mut out = Vec::new();
        for s in series {
            let pts: Vec<(f64, &SeriesPoint)> = s
                .points
                .iter()
                .filter(|q| q.1.is_finite())
                .map(|q| (self.tx(q.0), q))
                .collect();
            for (x, q) in &pts {
                let (lo, hi) = self.bar(q);
                out.extend((0..=8).map(|i| at(*x, lo + (hi - lo) * i as f64 / 8.0)));
            }
            if !s.scatter {
                for w in pts.windows(2) {
                    let ((xa, a), (xb, b)) = (w[0], w[1]);
                    out.extend((1..8).map(|i| {
                        let t = i as f64 / 8.0;
                        at(xa + (xb - xa) * t, a.1 + (b.1 - a.1) * t)
                    }));
                }
            }
        }
        out
    }
}

/// A chart with two f64 axes.
type LineChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The chart of a panel of series on `f`, with its mesh and tick labels.
fn line_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    p: &Panel,
    f: &Frame,
) -> Result<LineChart<'a, DB>, ReportError>
where
    DB::ErrorType: 'static,
{
    let ((x0, x1), (y0, y1)) = (f.x, f.y);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", title_size(&p.title)))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    let (log, floor) = (f.log, f.floor);
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .x_labels(if log { 24 } else { 8 })
        .x_label_formatter(&|v| {
            if log {
                log_label(*v, floor)
            } else {
                lin_label(*v, (x1 - x0) / 8.0)
            }
        })
        .y_label_formatter(&|v| lin_label(*v, (y1 - y0) / 10.0))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;
    Ok(chart)
}

/// Lines (or scatter) with error bars, hollow excluded points, the log axis's break and a
/// legend in the emptiest corner.
fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    series: &[Series],
) -> Result<(), ReportError>
where
    DB::ErrorType: 'static,
{
    let f = Frame::of(p, series);
    let mut chart = line_chart(area, p, &f)?;
    if f.log && series.iter().any(|s| s.points.iter().any(|q| q.0 <= 0.0)) {
        // The axis break between x = 0 and the first decade.
        let b = f.floor.log10() + 0.5;
        chart
            .draw_series(DashedLineSeries::new(
                [(b, f.y.0), (b, f.y.1)],
                4i32,
                4i32,
                BLACK.mix(0.4).stroke_width(1),
            ))
            .map_err(draw_err)?;
    }
    for s in series {
        draw_one_series(&mut chart, &f, s)?;
    }
    if series.iter().any(|s| s.hollow.iter().any(|h| *h)) {
        // A legend entry for the excluded points, drawn off the data.
        chart
            .draw_series(std::iter::once(EmptyElement::at((f.x.0, f.y.0))))
            .map_err(draw_err)?
            .label("hollow: did not train (excluded)")
            .legend(|(x, y)| Circle::new((x, y), 5, BLACK.stroke_width(2)));
    }
    if series.iter().any(|s| !s.name.is_empty()) {
        // The legend goes into the corner that hides the fewest points.
        let position = match legend_corner(&f.occupancy(series)) {
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
        };
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 12))
            .position(position)
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

/// One series: its line (unless scatter), its points (hollow where excluded) and error bars.
fn draw_one_series<DB: DrawingBackend>(
    chart: &mut LineChart<'_, DB>,
    f: &Frame,
    s: &Series,
) -> Result<(), ReportError>
where
    DB::ErrorType: 'static,
{
    let c = TAB10[s.color % TAB10.len()];
    let is_hollow = |i: usize| s.hollow.get(i).copied().unwrap_or(false);
    let pts: Vec<(f64, f64, bool)> = s
        .points
        .iter()
        .enumerate()
        .filter(|(_, q)| q.1.is_finite())
        .map(|(i, q)| (f.tx(q.0), q.1, is_hollow(i)))
        .collect();
    if !s.scatter {
        let line: Vec<(f64, f64)> = pts.iter().map(|q| (q.0, q.1)).collect();
        chart
            .draw_series(LineSeries::new(line, c.stroke_width(2)))
            .map_err(draw_err)?;
    }
    chart
        .draw_series(pts.iter().map(|(x, y, h)| {
            let style = if *h { c.stroke_width(2) } else { c.filled() };
            Circle::new((*x, *y), if *h { 5 } else { 4 }, style)
        }))
        .map_err(draw_err)?
        .label(s.name.as_str())
        .legend(move |(x, y)| Circle::new((x, y), 4, c.filled()));
    chart
        .draw_series(s.points.iter().filter_map(|q| {
            q.2.filter(|e| *e > 0.0 && q.1.is_finite()).map(|_| {
                let (lo, hi) = f.bar(q);
                ErrorBar::new_vertical(f.tx(q.0), lo, q.1, hi, c.stroke_width(1), 8)
            })
        }))
        .map_err(draw_err)?;
    Ok(())
}

/// Decision regions: each grid cell coloured by its class, the test points, and the clean
/// point joined to its adversarial one.
fn draw_regions<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    r: &Regions,
) -> Result<(), ReportError>
where
    DB::ErrorType: 'static,
{
    let (x0, x1) = (
        r.xs.first().copied().unwrap_or(0.0),
        r.xs.last().copied().unwrap_or(1.0),
    );
    let (y0, y1) = (
        r.ys.first().copied().unwrap_or(0.0),
        r.ys.last().copied().unwrap_or(1.0),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", title_size(&p.title)))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .disable_mesh()
        .draw()
        .map_err(draw_err)?;
    let (nx, ny) = (r.xs.len(), r.ys.len());
    let step = |n: usize, span: f64| if n > 1 { span / (n - 1) as f64 } else { 1.0 };
    let (dx, dy) = (step(nx, x1 - x0), step(ny, y1 - y0));
    chart
        .draw_series(
            (0..ny)
                .flat_map(|j| (0..nx).map(move |i| (i, j)))
                .map(|(i, j)| {
                    let c =
                        TAB10[(r.class.get(j * nx + i).copied().unwrap_or(0).max(0) as usize) % 10];
                    let (cx, cy) = (r.xs[i], r.ys[j]);
                    Rectangle::new(
                        [
                            (cx - dx / 2.0, cy - dy / 2.0),
                            (cx + dx / 2.0, cy + dy / 2.0),
                        ],
                        c.mix(0.25).filled(),
                    )
                }),
        )
        .map_err(draw_err)?;
    chart
        .draw_series(r.points.iter().map(|(x, y, c)| {
            Circle::new(
                (*x, *y),
                2,
                TAB10[(*c).max(0) as usize % 10].mix(0.8).filled(),
            )
        }))
        .map_err(draw_err)?;
    draw_attack_path(&mut chart, r)
}

/// The clean point joined to its adversarial one, with their legend.
fn draw_attack_path<'a, DB: DrawingBackend + 'a>(
    chart: &mut LineChart<'a, DB>,
    r: &Regions,
) -> Result<(), ReportError>
where
    DB::ErrorType: 'static,
{
    chart
        .draw_series(LineSeries::new(
            [r.clean, r.adversarial],
            BLACK.stroke_width(2),
        ))
        .map_err(draw_err)?;
    chart
        .draw_series([Circle::new(r.clean, 7, BLACK.stroke_width(3))])
        .map_err(draw_err)?
        .label("clean")
        .legend(|(x, y)| Circle::new((x, y), 5, BLACK.stroke_width(2)));
    chart
        .draw_series([Cross::new(r.adversarial, 8, RED.stroke_width(3))])
        .map_err(draw_err)?
        .label("adversarial")
        .legend(|(x, y)| Cross::new((x, y), 5, RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()
        .map_err(draw_err)
}

/// A matrix as a heatmap, row 0 at the top: grey from white (0) to black (1), or for signed
/// values red (positive) and blue (negative) scaled by the largest magnitude.
fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    values: &[f32],
    (height, width): (usize, usize),
    signed: bool,
) -> Result<(), ReportError>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", title_size(&p.title)))
        .margin(10)
        .build_cartesian_2d(0..width as i32, 0..height as i32)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_axes()
        .draw()
        .map_err(draw_err)?;
    let m = values.iter().fold(1e-12f32, |a, v| a.max(v.abs()));
    chart
        .draw_series(
            (0..height)
                .flat_map(|r| (0..width).map(move |c| (r, c)))
                .map(|(r, c)| {
                    let v = values.get(r * width + c).copied().unwrap_or(0.0);
                    let y = (height - 1 - r) as i32;
                    Rectangle::new(
                        [(c as i32, y), (c as i32 + 1, y + 1)],
                        heat_color(v, m, signed).filled(),
                    )
                }),
        )
        .map_err(draw_err)?;
    Ok(())
}

/// The heatmap colour of `v` (the largest magnitude `m`).
fn heat_color(v: f32, m: f32, signed: bool) -> RGBColor {
    if signed {
        let t = (v / m).clamp(-1.0, 1.0);
        if t >= 0.0 {
            RGBColor(255, (255.0 * (1.0 - t)) as u8, (255.0 * (1.0 - t)) as u8)
        } else {
            RGBColor((255.0 * (1.0 + t)) as u8, (255.0 * (1.0 + t)) as u8, 255)
        }
    } else {
        let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))) as u8;
        RGBColor(g, g, g)
    }
}

#[cfg(test)]
mod tests {
    use super::{Corner, legend_corner, lin_label, log_label};

    #[test]
    fn legend_avoids_the_data() {
        // Data in the upper right and upper left: the legend goes lower left.
        let pts = [(0.9, 0.9), (0.8, 0.7), (0.1, 0.9), (0.5, 0.5)];
        assert_eq!(legend_corner(&pts), Corner::LowerLeft);
        // Nothing anywhere: the default corner.
        assert_eq!(legend_corner(&[]), Corner::UpperRight);
        // Falling curve (upper left to lower right): upper right is free.
        let falling: Vec<(f64, f64)> = (0..=10)
            .map(|i| (i as f64 / 10.0, 1.0 - i as f64 / 10.0))
            .collect();
        assert_eq!(legend_corner(&falling), Corner::UpperRight);
    }

    #[test]
    fn log_axis_labels() {
        // x = 0 is drawn at its own decade (floor = 1e-5 when the smallest positive x is
        // 1e-4) and labelled 0; decades are labelled once, nothing in between or in the break.
        let f = 1e-5;
        assert_eq!(log_label(-5.0, f), "0");
        assert_eq!(log_label(-4.5, f), "");
        assert_eq!(log_label(-4.0, f), "1e-4");
        assert_eq!(log_label(-3.5, f), "");
        assert_eq!(log_label(-3.0, f), "1e-3");
        assert_eq!(log_label(0.0, f), "1");
        assert_eq!(log_label(2.0, f), "100");
        let labels: Vec<String> = (0..=60)
            .map(|i| log_label(-5.0 + i as f64 * 0.1, f))
            .filter(|l| !l.is_empty())
            .collect();
        let mut dedup = labels.clone();
        dedup.dedup();
        assert_eq!(labels, dedup, "no label repeats");
    }

    #[test]
    fn linear_labels_have_the_decimals_the_step_needs() {
        assert_eq!(lin_label(350.0, 50.0), "350");
        assert_eq!(lin_label(0.25, 0.05), "0.25");
        assert_eq!(lin_label(0.3, 0.1), "0.3");
    }
}
