//! A study's section as the reader sees it, in Markdown and HTML: per fault one table (every
//! cell's gap, detection, takeover and TCP stall, its floor and "gap minus floor"), one plot
//! (every run a point, the cell's median and floor beside it), then the comparisons that
//! survive Holm's correction, the drift check and each cell's configuration.

use std::fmt::Write;

use super::study::{Compared, Row, Section, COLUMNS};
use crate::xml::esc;

fn secs(ms: f64) -> String {
    format!("{:.2} s", ms / 1000.0)
}

fn number(r: &Row, col: &str) -> String {
    match r.numbers.get(col) {
        Some(s) => format!("{} ({:.2}–{:.2}, n={})", secs(s.median), s.min / 1000.0, s.max / 1000.0, s.n),
        None => "-".into(),
    }
}

fn floor(r: &Row) -> (String, String) {
    match (r.floor_ms, r.gap_minus_floor_ms) {
        (Some(f), Some(d)) => (secs(f), format!("{:+.2} s", d / 1000.0)),
        (Some(f), None) => (secs(f), "-".into()),
        _ => ("none (no protocol wait)".into(), "-".into()),
    }
}

fn scenarios(s: &Section) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for r in &s.rows {
        if !out.contains(&r.scenario.as_str()) {
            out.push(&r.scenario);
        }
    }
    out
}

fn compared_text(c: &Compared, negligible_ms: f64) -> String {
    let what = match c.verdict.as_str() {
        "clear" => format!("clear: {} is {:+.0} ms against {}", c.b, c.comparison.shift, c.a),
        "negligible" => format!("clear but negligible: {:+.1} ms, below the practical threshold of {negligible_ms:.0} ms", c.comparison.shift),
        _ => format!("not shown ({:+.0} ms)", c.comparison.shift),
    };
    format!(
        "{} {}: {} vs {}: {what} (p = {:.4}, Holm-adjusted {:.4}, {} vs {} runs)",
        c.scenario, c.column, c.a, c.b, c.comparison.p_value, c.p_holm, c.comparison.n_a, c.comparison.n_b
    )
}

fn method(s: &Section) -> String {
    // What Holm can show at all with these sizes: a family larger than alpha / min p never.
    let min_p = s.comparisons.iter().map(|c| c.comparison.min_p).fold(1.0, f64::min);
    let largest = COLUMNS.iter().map(|(k, _)| s.comparisons.iter().filter(|c| c.column == *k).count()).max().unwrap_or(0);
    let reach = if largest == 0 {
        String::new()
    } else {
        format!(
            " With these runs the smallest possible p is {min_p:.4}, so Holm can show a difference only in a family of at most {} comparisons; the largest family here has {largest}: \"not shown\" is not \"equal\".",
            (super::ALPHA / min_p).floor()
        )
    };
    format!(
        "Each cell ran {} times, interleaved: the study's order is blocks, each holding one run of every cell in an order drawn from seed {}, so drift over the bench falls on every cell alike. The floor is the least the protocol itself waits after the fault before any member may act (VRRP: the master-down interval, 3 x advert_int + skew from the last advert, so at least 2 x advert_int + skew after the fault, or the skew alone when the master tells the backup with priority 0; corosync: token + consensus less the token's hold; pacemaker adds the priority fencing delay when it must fence the active first): gap minus floor is what the stack spent beyond its rules, plus where in the protocol's cycle the fault fell. Comparisons: two-sided Mann–Whitney per metric, Holm's correction over every comparison of that metric in the study (a family per column); a clear difference smaller than {:.0} ms is called negligible.{reach}",
        s.rows.iter().map(|r| r.runs).max().unwrap_or(0),
        s.seed,
        s.negligible_ms
    )
}

fn completeness(s: &Section) -> String {
    let jobs: Vec<String> = s.jobs.iter().map(u32::to_string).collect();
    let shards = if s.shards.is_empty() { String::new() } else { format!(", merged from {} shard(s)", s.shards.len()) };
    let missing = if s.missing.is_empty() {
        "every run of the order is here".to_string()
    } else {
        let m: Vec<String> = s.missing.iter().take(20).map(u32::to_string).collect();
        format!("{} of {} runs missing (positions {}{})", s.missing.len(), s.runs_expected, m.join(", "), if s.missing.len() > 20 { ", ..." } else { "" })
    };
    format!("study {} ({}): {} of {} runs, {} lab(s) at once{shards}; {missing}.", s.name, s.file, s.runs_present, s.runs_expected, jobs.join("/"))
}

pub fn markdown(out: &mut String, s: &Section) {
    let _ = writeln!(out, "\n## Study: {}\n\n{}\n\n{}\n", s.name, completeness(s), method(s));
    for sc in scenarios(s) {
        let _ = writeln!(out, "### {sc}\n");
        let cols: Vec<&str> = COLUMNS.iter().map(|c| c.1).collect();
        let _ = writeln!(out, "| stack | cell | {} | floor | gap − floor | passed |", cols.join(" | "));
        let _ = writeln!(out, "|---|---|{}---|---|---|", "---|".repeat(cols.len()));
        for r in s.rows.iter().filter(|r| r.scenario == sc) {
            let nums: Vec<String> = COLUMNS.iter().map(|c| number(r, c.0)).collect();
            let (f, d) = floor(r);
            let _ = writeln!(out, "| {} | {} | {} | {f} | {d} | {}/{} |", r.stack, r.cell, nums.join(" | "), r.passed, r.runs);
        }
        for r in s.rows.iter().filter(|r| r.scenario == sc && r.floor_basis.is_some()) {
            let _ = writeln!(out, "\n- floor of {} ({}): {}", r.stack, r.cell, r.floor_basis.as_deref().unwrap_or(""));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "### Comparisons (Holm per metric)\n");
    for c in &s.comparisons {
        let _ = writeln!(out, "- {}", compared_text(c, s.negligible_ms));
    }
    let _ = writeln!(out, "\n### Drift check\n\n{} ({} runs)\n", s.drift.text, s.drift.runs);
    let _ = writeln!(out, "### Each cell's configuration\n");
    for r in &s.rows {
        let topo = r.topology.as_ref().map(|p| format!(" (topology: `{}`)", p.display())).unwrap_or_default();
        let _ = writeln!(out, "- {} on {} ({}): {}{topo}", r.scenario, r.stack, r.cell, r.settings.join("; "));
    }
}

/// The plot of one fault: a column per cell, every run a point, the median a bar, the floor a
/// dashed line.
fn plot(a: &super::Analysis, s: &Section, sc: &str) -> String {
    let rows: Vec<&Row> = s.rows.iter().filter(|r| r.scenario == sc).collect();
    let names: Vec<String> = rows.iter().map(|r| format!("{} {}", r.stack, if r.cell == "defaults" { "" } else { &r.cell })).collect();
    let stack_of: Vec<usize> = rows.iter().map(|r| a.stacks.iter().position(|x| x == &r.stack).unwrap_or(0)).collect();
    let mut pts = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if let Some(m) = r.metrics.get("gap") {
            for (_, x) in super::recovered_runs(&a.runs, (&r.scenario, &r.stack, &r.variant), m) {
                pts.push((i, x / 1000.0));
            }
        }
    }
    let medians: Vec<(usize, f64)> = rows.iter().enumerate().filter_map(|(i, r)| Some((i, r.numbers.get("gap")?.median / 1000.0))).collect();
    let floors: Vec<(usize, f64)> = rows.iter().enumerate().filter_map(|(i, r)| Some((i, r.floor_ms? / 1000.0))).collect();
    super::plots::sweep(&format!("{sc}: gap per cell (dashed: the protocol's floor)"), "s", &names, &stack_of, &pts, &medians, &floors)
}

pub fn html(out: &mut String, a: &super::Analysis, s: &Section) {
    let _ = writeln!(out, "<h2 id=\"study\">Study: {}</h2>\n<p>{}</p>\n<p><small>{}</small></p>", esc(&s.name), esc(&completeness(s)), esc(&method(s)));
    for (k, sc) in scenarios(s).into_iter().enumerate() {
        let _ = writeln!(out, "<h3 id=\"fault-{k}\">{}</h3>\n<table><tr><th>stack</th><th>cell</th>", esc(sc));
        for c in COLUMNS {
            let _ = write!(out, "<th>{}</th>", c.1);
        }
        let _ = writeln!(out, "<th>floor</th><th>gap − floor</th><th>passed</th></tr>");
        for r in s.rows.iter().filter(|r| r.scenario == sc) {
            let _ = write!(out, "<tr><td>{}</td><td>{}</td>", esc(&r.stack), esc(&r.cell));
            for c in COLUMNS {
                let _ = write!(out, "<td>{}</td>", esc(&number(r, c.0)));
            }
            let (f, d) = floor(r);
            let basis = r.floor_basis.as_deref().unwrap_or("");
            let _ = writeln!(out, "<td title=\"{}\">{}</td><td>{}</td><td>{}/{}</td></tr>", esc(basis), esc(&f), esc(&d), r.passed, r.runs);
        }
        let _ = writeln!(out, "</table>\n<div class=\"plot\">{}</div>", plot(a, s, sc));
    }
    let _ = writeln!(out, "<h3 id=\"comparisons\">Comparisons (Holm per metric)</h3><ul>");
    for c in &s.comparisons {
        let _ = writeln!(out, "<li class=\"{}\">{}</li>", c.verdict.replace(' ', "-"), esc(&compared_text(c, s.negligible_ms)));
    }
    let _ = writeln!(out, "</ul>\n<h3 id=\"drift\">Drift check</h3><p class=\"drift\">{} ({} runs)</p>", esc(&s.drift.text), s.drift.runs);
    let _ = writeln!(out, "<h3 id=\"configs\">Each cell's configuration</h3><ul>");
    for r in &s.rows {
        let _ = writeln!(out, "<li>{} on {} ({}): {}</li>", esc(&r.scenario), esc(&r.stack), esc(&r.cell), esc(&r.settings.join("; ")));
    }
    let _ = writeln!(out, "</ul>");
}

/// The table of contents of a study's page.
pub fn toc(s: &Section) -> String {
    let mut t = String::from("<nav class=\"toc\"><b>Contents</b><ul><li><a href=\"#headlines\">Headline table</a></li><li><a href=\"#study\">Study</a><ul>");
    for (k, sc) in scenarios(s).into_iter().enumerate() {
        let _ = write!(t, "<li><a href=\"#fault-{k}\">{}</a></li>", esc(sc));
    }
    t.push_str("<li><a href=\"#comparisons\">Comparisons</a></li><li><a href=\"#drift\">Drift check</a></li><li><a href=\"#configs\">Configurations</a></li></ul></li><li><a href=\"#runs\">Runs</a></li></ul></nav>\n");
    t
}

/// The figures the README quotes from a study's report, in words: per fault and cell the gap,
/// the TCP stall and the floor, then the comparisons that survived Holm. Written as
/// `figures.md` beside the report; a test keeps the README's copy equal to it.
pub fn figures(s: &Section, folder: &str) -> String {
    let mut out = format!("<!-- figures: {folder} (its figures.md; a test keeps this equal to the report) -->\n");
    for sc in scenarios(s) {
        let _ = writeln!(out, "- {sc}:");
        for r in s.rows.iter().filter(|r| r.scenario == sc) {
            let cell = if r.cell == "defaults" { String::new() } else { format!(" ({})", r.cell) };
            let floor = match (r.floor_ms, r.gap_minus_floor_ms) {
                (Some(f), Some(d)) => format!("; floor {}, gap − floor {:+.2} s", secs(f), d / 1000.0),
                _ => String::new(),
            };
            let stall = r.numbers.get("stall").map(|_| format!("; TCP stall {}", number(r, "stall"))).unwrap_or_default();
            let _ = writeln!(out, "  - {}{cell}: gap {}{stall}{floor}; expectations held in {} of {} runs", r.stack, number(r, "gap"), r.passed, r.runs);
        }
    }
    let clear: Vec<String> =
        s.comparisons.iter().filter(|c| c.column == "gap" && c.verdict != "not shown").map(|c| compared_text(c, s.negligible_ms)).collect();
    let _ = writeln!(
        out,
        "- gap differences that survive Holm's correction ({} compared): {}",
        s.comparisons.iter().filter(|c| c.column == "gap").count(),
        if clear.is_empty() { "none".into() } else { clear.join("; ") }
    );
    let _ = writeln!(out, "- drift check: {}", s.drift.text);
    out.push_str("<!-- /figures -->\n");
    out
}
