//! The distribution plots of a headline number, per stack: every run as a point (the spread),
//! the empirical CDF once a stack has enough runs for one to mean something, and the number
//! against the phase of the fault (why it varies). Inline SVG, colors by stack.

use plotters::prelude::*;

pub const COLORS: [RGBColor; 4] = [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];

/// A stack gets its empirical CDF from this many runs on: with fewer, the steps say little more
/// than the points of the spread plot.
pub const ECDF_FROM: usize = 8;

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// Every run as a point, one column per stack (`pts`: stack index, value).
pub fn strip(title: &str, unit: &str, stacks: &[String], pts: &[(usize, f64)]) -> String {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 260)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let ymax = pts.iter().map(|p| p.1).fold(0.0_f64, f64::max) * 1.15 + 1e-9;
        let chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(55)
            .build_cartesian_2d(-0.5f64..(stacks.len() as f64 - 0.5), 0f64..ymax);
        if let Ok(mut c) = chart {
            let names = stacks.to_vec();
            let _ = c
                .configure_mesh()
                .x_labels(stacks.len())
                .x_label_formatter(&|x| names.get(x.round() as usize).cloned().unwrap_or_default())
                .y_desc(unit)
                .disable_x_mesh()
                .draw();
            for (k, (i, v)) in pts.iter().enumerate() {
                let jitter = ((k * 37) % 11) as f64 / 11.0 * 0.3 - 0.15;
                let _ = c.draw_series(std::iter::once(Circle::new((*i as f64 + jitter, *v), 4, color(*i).filled())));
            }
        }
        let _ = root.present();
    }
    s
}

/// The x range of `xs` with a margin, never empty.
fn span(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    (lo - pad, hi + pad)
}

/// The step path of the empirical CDF of `xs`: at each sorted value the share of runs at or
/// below it.
fn ecdf_steps(xs: &[f64]) -> Vec<(f64, f64)> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let mut path = Vec::with_capacity(2 * v.len());
    for (i, x) in v.iter().enumerate() {
        path.push((*x, i as f64 / n));
        path.push((*x, (i + 1) as f64 / n));
    }
    path
}

/// The empirical CDF of each stack with at least `ECDF_FROM` runs (`samples`: stack index,
/// values), overlaid; None when no stack has that many.
pub fn ecdf(title: &str, unit: &str, stacks: &[String], samples: &[(usize, Vec<f64>)]) -> Option<String> {
    let shown: Vec<&(usize, Vec<f64>)> = samples.iter().filter(|(_, xs)| xs.len() >= ECDF_FROM).collect();
    if shown.is_empty() {
        return None;
    }
    let (x0, x1) = span(shown.iter().flat_map(|(_, xs)| xs.iter().copied()));
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 280)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut c) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, 0f64..1.0)
        else {
            return None;
        };
        let _ = c.configure_mesh().x_desc(unit).y_desc("share of runs at or below").draw();
        for (i, xs) in &shown {
            let name = format!("{} (n={})", stacks.get(*i).map(String::as_str).unwrap_or("?"), xs.len());
            let col = color(*i);
            let _ = c
                .draw_series(LineSeries::new(ecdf_steps(xs), col.stroke_width(2)))
                .map(|l| l.label(name).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], col.stroke_width(2))));
        }
        let _ = c.configure_series_labels().position(SeriesLabelPosition::LowerRight).background_style(WHITE.mix(0.8)).border_style(BLACK).draw();
        let _ = root.present();
    }
    Some(s)
}

/// The number of each run (y) against the phase of its fault (x), a series per stack (`pts`:
/// stack index, phase, value). The legend marks are squares: the circles are runs.
pub fn phase_scatter(title: &str, x_desc: &str, unit: &str, stacks: &[String], pts: &[(usize, f64, f64)]) -> String {
    let (x0, x1) = span(pts.iter().map(|p| p.1));
    let ymax = pts.iter().map(|p| p.2).fold(0.0_f64, f64::max) * 1.15 + 1e-9;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 280)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, 0f64..ymax);
        if let Ok(mut c) = chart {
            let _ = c.configure_mesh().x_desc(x_desc).y_desc(unit).draw();
            for (i, name) in stacks.iter().enumerate() {
                let col = color(i);
                let mine: Vec<(f64, f64)> = pts.iter().filter(|p| p.0 == i).map(|p| (p.1, p.2)).collect();
                if mine.is_empty() {
                    continue;
                }
                let _ = c
                    .draw_series(mine.into_iter().map(|p| Circle::new(p, 4, col.filled())))
                    .map(|l| l.label(name.as_str()).legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 8, y + 4)], col.filled())));
            }
            let _ = c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw();
        }
        let _ = root.present();
    }
    s
}

/// One horizontal bar per named duration (an agent test's timings), value labels at the bars.
pub fn bars(title: &str, unit: &str, items: &[(String, f64)]) -> String {
    let mut s = String::new();
    {
        let h = 60 + 34 * items.len() as u32;
        let root = SVGBackend::with_string(&mut s, (720, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let xmax = items.iter().map(|i| i.1).fold(0.0_f64, f64::max) * 1.2 + 1e-9;
        let n = items.len().max(1) as f64;
        let chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(170)
            .build_cartesian_2d(0f64..xmax, -0.5f64..(n - 0.5));
        if let Ok(mut c) = chart {
            let names: Vec<String> = items.iter().map(|i| i.0.clone()).collect();
            let _ = c
                .configure_mesh()
                .y_labels(items.len())
                .y_label_formatter(&|y| names.get(y.round() as usize).cloned().unwrap_or_default())
                .x_desc(unit)
                .disable_y_mesh()
                .draw();
            for (k, (_, v)) in items.iter().enumerate() {
                let y = k as f64;
                let _ = c.draw_series(std::iter::once(Rectangle::new([(0.0, y - 0.3), (*v, y + 0.3)], color(0).filled())));
                let _ = c.draw_series(std::iter::once(Text::new(format!("{v:.1}"), (*v, y), ("sans-serif", 12))));
            }
        }
        let _ = root.present();
    }
    s
}

/// A study's fault: one row per cell (`names`, colored by `stack_of`), every run a point, the
/// cell's median a bar across its row, the protocol's floor a dashed mark.
pub fn sweep(title: &str, unit: &str, names: &[String], stack_of: &[usize], pts: &[(usize, f64)], medians: &[(usize, f64)], floors: &[(usize, f64)]) -> String {
    let mut s = String::new();
    {
        let h = 70 + 40 * names.len() as u32;
        let root = SVGBackend::with_string(&mut s, (760, h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let xmax = pts.iter().chain(floors).map(|p| p.1).fold(0.0_f64, f64::max) * 1.1 + 1e-9;
        let n = names.len().max(1) as f64;
        let chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 15))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(210)
            .build_cartesian_2d(0f64..xmax, -0.5f64..(n - 0.5));
        if let Ok(mut c) = chart {
            let labels = names.to_vec();
            let _ = c
                .configure_mesh()
                .y_labels(names.len())
                .y_label_formatter(&|y| labels.get(y.round() as usize).cloned().unwrap_or_default())
                .x_desc(unit)
                .disable_y_mesh()
                .draw();
            let col = |i: usize| color(stack_of.get(i).copied().unwrap_or(0));
            for (k, (i, v)) in pts.iter().enumerate() {
                let jitter = ((k * 37) % 11) as f64 / 11.0 * 0.3 - 0.15;
                let _ = c.draw_series(std::iter::once(Circle::new((*v, *i as f64 + jitter), 4, col(*i).filled())));
            }
            for (i, m) in medians {
                let y = *i as f64;
                let _ = c.draw_series(std::iter::once(PathElement::new(vec![(*m, y - 0.35), (*m, y + 0.35)], BLACK.stroke_width(3))));
            }
            for (i, f) in floors {
                let y = *i as f64;
                let dashes = (0..6).map(|d| {
                    let y0 = y - 0.4 + d as f64 * 0.14;
                    PathElement::new(vec![(*f, y0), (*f, y0 + 0.08)], RGBColor(120, 120, 120).stroke_width(2))
                });
                let _ = c.draw_series(dashes);
            }
        }
        let _ = root.present();
    }
    s
}
