//! report.html: one self-contained file (inline SVG, no scripts, nothing fetched): the headline
//! table, the distribution of every headline number per stack (`plots`), and per run the probe
//! timeline with the fault, the VIP move and the recovery marked; the load traffics' rates
//! (iperf3 throughput, requests served) with the fault band.

use std::fmt::Write;

use plotters::prelude::*;

use super::phase;
use super::plots::{self, COLORS};
use super::{Analysis, Headline, Run};
use crate::measure::dip::Timeline;
use crate::measure::metrics::{run as rm, traffic as tm};
use crate::measure::probe::ProbeSamples;
use crate::scenario::traffic::PROBE_SAMPLES;
use crate::xml::esc;

pub fn render(a: &Analysis) -> String {
    let mut h = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>halab report</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f4f4f4}.plot{margin:1em 0}small{color:#666}</style></head><body>\n");
    let _ = writeln!(
        h,
        "<h1>{}</h1>\n<p>Medians over independent runs with min–max and n (and p5–p95 from 20 runs on). Raw samples are in each run's folder.</p>",
        esc(&super::title(a))
    );
    if let Some(st) = &a.study {
        h.push_str(&super::study_render::toc(st));
    }
    headline_table(&mut h, a);
    basis(&mut h, a);
    if let Some(st) = &a.study {
        super::study_render::html(&mut h, a, st);
    }
    let _ = writeln!(h, "<h2>Distribution per stack</h2>");
    for hl in a.headlines.iter().filter(|x| x.unit != "flag") {
        distribution(&mut h, a, hl);
    }
    runs(&mut h, a);
    h.push_str("</body></html>\n");
    h
}

/// The headline table, each comparison in words under it.
fn headline_table(h: &mut String, a: &Analysis) {
    let _ = writeln!(h, "<h2 id=\"headlines\">Headline table</h2>");
    if a.headlines.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", esc(super::NO_HEADLINES));
    } else {
        let _ = write!(h, "<table><tr><th></th>");
        for st in &a.stacks {
            let _ = write!(h, "<th>{}</th>", esc(st));
        }
        let _ = writeln!(h, "</tr>");
        for hl in &a.headlines {
            let _ = write!(h, "<tr><td>{}</td>", esc(&hl.row));
            for st in &a.stacks {
                let _ = write!(h, "<td>{}</td>", esc(hl.cells.get(st).map(String::as_str).unwrap_or("-")));
            }
            let _ = writeln!(h, "</tr>");
        }
        let _ = writeln!(h, "</table>");
        let texts: Vec<String> =
            a.headlines.iter().filter_map(|hl| Some(format!("<li>{}: {}</li>", esc(&hl.row), esc(hl.comparison_text.as_ref()?)))).collect();
        if !texts.is_empty() {
            let _ = writeln!(h, "<ul class=\"comparisons\">{}</ul>", texts.concat());
        }
    }
}

/// What the numbers rest on: revisions, versions, settings, methods, left-out runs.
fn basis(h: &mut String, a: &Analysis) {
    let _ = writeln!(
        h,
        "<p><small>git {} · {}</small></p>",
        esc(&a.git_revisions.join(", ")),
        esc(&a.versions.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "))
    );
    for (stack, set) in &a.settings {
        let _ = writeln!(h, "<p><small>{}: {}</small></p>", esc(stack), esc(&set.join("; ")));
    }
    for c in a.cells.iter().filter(|c| !c.settings.is_empty()) {
        let _ = writeln!(h, "<p><small>{} on {}: {}</small></p>", esc(&c.scenario), esc(&c.stack), esc(&c.settings.join("; ")));
    }
    let _ = writeln!(h, "<p><small>{}</small></p>", esc(super::METHODS));
    if !a.starved.is_empty() {
        let _ = writeln!(h, "<p class=\"starved\">Left out (host starved or load generator saturated): {}</p>", esc(&a.starved.join("; ")));
    }
    let unmeasured = a.unmeasured();
    if unmeasured > 0 {
        let _ = writeln!(h, "<p class=\"starved\">Starvation not measured in {unmeasured} of {} runs: nothing says their host kept time.</p>", a.runs.len());
    }
}

/// Every run: its probe timelines, stack events, rates and failed expectations.
fn runs(h: &mut String, a: &Analysis) {
    let _ = writeln!(h, "<h2 id=\"runs\">Runs</h2>");
    for r in &a.runs {
        let rec = &r.record;
        let late = super::lateness_text(rec);
        let _ = writeln!(h, "<h3>{} on {} #{}: {} (tick lateness p99 {late})</h3>", esc(&rec.scenario), esc(&rec.stack), rec.repeat, rec.outcome);
        for svg in probes(r).iter().filter_map(|p| probe_timeline(r, p)) {
            let _ = writeln!(h, "<div class=\"plot\">{svg}</div>");
        }
        if let Some(t) = stack_timeline(r) {
            let _ = writeln!(h, "{t}");
        }
        for (name, svg) in rates(r).iter().filter_map(|n| rate_plot(r, n).map(|s| (n.clone(), s))) {
            let _ = writeln!(h, "<div class=\"plot rate\" data-traffic=\"{}\">{svg}</div>", esc(&name));
        }
        let failed: Vec<String> = rec.expectations.iter().filter(|e| !e.held).map(|e| esc(&e.expect)).collect();
        if !failed.is_empty() {
            let _ = writeln!(h, "<p>failed: {}</p>", failed.join("; "));
        }
    }
}

/// A headline number's plots: every run as a point, the ECDF per stack with enough runs, and
/// the number against the phase of the fault when the runs carry one.
fn distribution(h: &mut String, a: &Analysis, hl: &Headline) {
    let ms = hl.unit == "ms";
    let shown = |v: f64| if ms { v / 1000.0 } else { v };
    // The runs the cell's numbers rest on: a run that did not recover is no point.
    let per_stack: Vec<Vec<(&Run, f64)>> = a.stacks.iter().map(|st| super::recovered_runs(&a.runs, (&hl.scenario, st, &hl.variant), &hl.metric)).collect();
    if per_stack.iter().all(Vec::is_empty) {
        return;
    }
    let left = a.cells.iter().any(|c| c.scenario == hl.scenario && c.variant == hl.variant && c.not_recovered.contains_key(&hl.metric));
    let title = if left { format!("{} (recovered runs)", hl.row) } else { hl.row.clone() };
    let unit = if ms { "s" } else { hl.unit.as_str() };
    let metric = esc(&hl.metric);
    let pts: Vec<(usize, f64)> = per_stack.iter().enumerate().flat_map(|(i, rs)| rs.iter().map(move |(_, v)| (i, shown(*v)))).collect();
    let _ = writeln!(h, "<div class=\"plot spread\" data-metric=\"{metric}\">{}</div>", plots::strip(&title, unit, &a.stacks, &pts));
    let samples: Vec<(usize, Vec<f64>)> = per_stack.iter().enumerate().map(|(i, rs)| (i, rs.iter().map(|(_, v)| shown(*v)).collect())).collect();
    if let Some(svg) = plots::ecdf(&format!("{title}: empirical CDF"), unit, &a.stacks, &samples) {
        let _ = writeln!(h, "<div class=\"plot ecdf\" data-metric=\"{metric}\">{svg}</div>");
    }
    let runs: Vec<&Run> = per_stack.iter().flatten().map(|(r, _)| *r).collect();
    if !runs.iter().any(|r| phase::of(r).is_some()) {
        return;
    }
    let pts: Vec<(usize, f64, f64)> =
        per_stack.iter().enumerate().flat_map(|(i, rs)| rs.iter().filter_map(move |(r, v)| Some((i, phase::of(r)? / 1000.0, shown(*v))))).collect();
    let svg = plots::phase_scatter(&format!("{title} vs fault phase"), phase::AXIS, unit, &a.stacks, &pts);
    let _ = writeln!(h, "<div class=\"plot phase\" data-metric=\"{metric}\">{svg}</div>");
}

/// The stacks' own events from a second before the fault on, under the probe plot: what the
/// stack did and when, on the host clock.
fn stack_timeline(r: &Run) -> Option<String> {
    let rec = &r.record;
    let origin = fault_ns(r).map(|f| crate::measure::clock::ms_between(rec.t0_ns, f))?;
    let rows: Vec<String> = rec
        .stack_events
        .iter()
        .filter(|e| e.ms >= origin - 1000.0)
        .take(40)
        .map(|e| format!("<tr><td>{:+.1}</td><td>{}</td><td>{}</td></tr>", e.ms - origin, esc(&e.member), esc(&e.what)))
        .collect();
    if rows.is_empty() {
        return None;
    }
    Some(format!(
        "<details open><summary>Stack events (ms from the fault, host clock; keepalived's notify FIFO, pacemaker's alerts)</summary><table class=\"events\"><tr><th>t (ms)</th><th>member</th><th>event</th></tr>{}</table></details>",
        rows.join("")
    ))
}

fn fault_ns(r: &Run) -> Option<u64> {
    crate::scenario::events::first_fault_ns(&r.record.events)
}

/// The probe traffics of a run, whatever they are called, by their samples' file names.
fn probes(r: &Run) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(r.dir.join("samples")) else { return Vec::new() };
    let mut names: Vec<String> = dir.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(PROBE_SAMPLES)).map(str::to_string)).collect();
    names.sort();
    names
}

fn probe_timeline(r: &Run, probe: &str) -> Option<String> {
    let text = std::fs::read_to_string(r.dir.join("samples").join(format!("{probe}{PROBE_SAMPLES}"))).ok()?;
    let s: ProbeSamples = serde_json::from_str(&text).ok()?;
    let origin = fault_ns(r).unwrap_or(s.start_ns);
    let rel = |t: u64| (t as f64 - origin as f64) / 1e9;
    let step = (s.udp.len() / 500).max(1);
    let pts: Vec<(f64, f64)> = s.udp.iter().step_by(step).map(|x| (rel(x.2), (x.2.saturating_sub(x.1)) as f64 / 1e6)).collect();
    let tcp: Vec<(f64, f64)> = s.tcp.iter().step_by((s.tcp.len() / 500).max(1)).map(|x| (rel(x.2), (x.2.saturating_sub(x.1)) as f64 / 1e6)).collect();
    let (x0, x1) = (rel(s.start_ns), rel(s.end_ns));
    let ymax = pts.iter().chain(&tcp).map(|p| p.1).fold(1.0_f64, f64::max).min(5000.0) * 1.1;
    let m = &r.record.metrics;
    let moved = m.f64(&rm::FAILOVER).map(|ms| ms / 1000.0);
    let recovered = m.of(probe, &tm::PROBE_RECOVERED_AFTER_FAULT).and_then(|v| v.as_f64()).map(|ms| ms / 1000.0);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, 280)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let gap = m.of(probe, &tm::GAP).map(|v| v.to_string()).unwrap_or_default();
        let title = match super::outcome::sample(m, &format!("{probe}.gap")) {
            Some(super::outcome::Sample::NotRecovered(o)) => format!("{probe} echoes (RTT) around the fault at t=0; {o} (silent for at least {gap} ms)"),
            _ => format!("{probe} echoes (RTT) around the fault at t=0; gap {gap} ms"),
        };
        let Ok(mut c) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(55)
            .build_cartesian_2d(x0..x1, 0f64..ymax)
        else {
            return None;
        };
        let _ = c.configure_mesh().x_desc("seconds from the fault").y_desc("RTT ms").draw();
        if fault_ns(r).is_some() {
            let end = recovered.or(moved).unwrap_or(0.0).max(0.01);
            // The fault band: from the fault until traffic flowed again.
            let _ = c.draw_series(std::iter::once(Rectangle::new([(0.0, 0.0), (end, ymax)], RGBColor(255, 200, 200).mix(0.5).filled())));
            let _ = c
                .draw_series(std::iter::once(PathElement::new(vec![(0.0, 0.0), (0.0, ymax)], RED.stroke_width(2))))
                .map(|s| s.label("fault").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], RED.stroke_width(2))));
        }
        if let Some(t) = moved {
            let _ = c
                .draw_series(std::iter::once(PathElement::new(vec![(t, 0.0), (t, ymax)], RGBColor(255, 140, 0).stroke_width(2))))
                .map(|s| s.label("VIP moved").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], RGBColor(255, 140, 0).stroke_width(2))));
        }
        if let Some(t) = recovered {
            let _ = c
                .draw_series(std::iter::once(PathElement::new(vec![(t, 0.0), (t, ymax)], GREEN.stroke_width(2))))
                .map(|s| s.label("traffic flows").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], GREEN.stroke_width(2))));
        }
        let _ = c
            .draw_series(pts.iter().map(|p| Circle::new(*p, 2, COLORS[0].filled())))
            .map(|s| s.label("UDP echo").legend(|(x, y)| Circle::new((x + 7, y), 3, COLORS[0].filled())));
        let _ = c
            .draw_series(LineSeries::new(tcp, COLORS[3].mix(0.7).stroke_width(1)))
            .map(|s| s.label("TCP echo").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], COLORS[3].stroke_width(2))));
        let _ = c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw();
        let _ = root.present();
    }
    Some(out)
}

/// The traffics of a run with a rate timeline (iperf3, ab), by their samples' file names.
fn rates(r: &Run) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(r.dir.join("samples")) else { return Vec::new() };
    let mut names: Vec<String> = dir.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".rate.json")).map(str::to_string)).collect();
    names.sort();
    names
}

/// A load traffic's rate around the fault (throughput, requests served), with the fault band
/// from the fault until the rate was back at 90 % of its level before.
fn rate_plot(r: &Run, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(r.dir.join("samples").join(format!("{name}.rate.json"))).ok()?;
    let tl: Timeline = serde_json::from_str(&text).ok()?;
    let origin = fault_ns(r).unwrap_or(tl.start_ns);
    let shift = (tl.start_ns as f64 - origin as f64) / 1e9;
    let pts: Vec<(f64, f64)> = tl.bins.iter().map(|(t, v)| (t + shift, *v)).collect();
    let (x0, x1) = (pts.first()?.0 - tl.width_s, pts.last()?.0);
    let ymax = pts.iter().map(|p| p.1).fold(1.0_f64, f64::max) * 1.1;
    let m = &r.record.metrics;
    let back = m.of(name, &tm::RECOVERY_S).and_then(|v| v.as_f64());
    let dip = m.of(name, &tm::DIP_S).and_then(|v| v.as_f64());
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (900, 240)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let title = match (fault_ns(r), back, dip) {
            (Some(_), Some(b), Some(d)) => format!("{} ({} s bins); below half for {d} s, back to 90 % after {b} s", tl.what, tl.width_s),
            (Some(_), None, _) => format!("{} ({} s bins); never back to 90 % of the rate before the fault", tl.what, tl.width_s),
            _ => format!("{} ({} s bins)", tl.what, tl.width_s),
        };
        let Ok(mut c) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, 0f64..ymax)
        else {
            return None;
        };
        let x_desc = if fault_ns(r).is_some() { "seconds from the fault" } else { "seconds" };
        let _ = c.configure_mesh().x_desc(x_desc).y_desc(tl.unit.as_str()).draw();
        if fault_ns(r).is_some() {
            let end = back.unwrap_or(x1).max(0.01);
            let _ = c.draw_series(std::iter::once(Rectangle::new([(0.0, 0.0), (end, ymax)], RGBColor(255, 200, 200).mix(0.5).filled())));
            let _ = c
                .draw_series(std::iter::once(PathElement::new(vec![(0.0, 0.0), (0.0, ymax)], RED.stroke_width(2))))
                .map(|s| s.label("fault").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], RED.stroke_width(2))));
        }
        let _ = c
            .draw_series(LineSeries::new(pts, COLORS[0].stroke_width(2)))
            .map(|s| s.label(tl.unit.as_str()).legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], COLORS[0].stroke_width(2))));
        let _ = c.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw();
        let _ = root.present();
    }
    Some(out)
}
