//! The verdict of `halab agent test`: one line per check on the terminal, and in the output
//! folder checks.json, report.md, report.html (the timings plotted) and junit.xml (one test
//! case per check, its evidence as the failure's text), so a CI can act on it.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::Check;
use crate::xml::esc;

/// `PASS static: ...` / `FAIL single node: ...` with the evidence of failures indented.
pub fn lines(checks: &[Check]) -> String {
    let mut s = String::new();
    for c in checks {
        let _ = writeln!(s, "{} {}: {}", if c.passed { "PASS" } else { "FAIL" }, c.layer, c.name);
        if !c.passed {
            for e in &c.evidence {
                let _ = writeln!(s, "       {e}");
            }
        }
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    let _ = writeln!(s, "{} checks: {} passed, {failed} failed", checks.len(), checks.len() - failed);
    s
}

pub fn junit(kind: &str, checks: &[Check]) -> String {
    let failed = checks.iter().filter(|c| !c.passed).count();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"agent {}\" tests=\"{}\" failures=\"{failed}\">\n",
        esc(kind),
        checks.len()
    );
    for c in checks {
        let _ = write!(s, "    <testcase classname=\"agent.{}.{}\" name=\"{}\"", esc(kind), esc(&c.layer.replace(' ', "_")), esc(&c.name));
        if c.passed {
            s.push_str("/>\n");
        } else {
            let _ = writeln!(s, ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>", esc(&c.name), esc(&c.evidence.join("\n")));
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

fn markdown(kind: &str, checks: &[Check]) -> String {
    let mut s = format!("# Agent {kind}: checked by halab\n\n| | layer | check |\n|---|---|---|\n");
    for c in checks {
        let _ = writeln!(s, "| {} | {} | {} |", if c.passed { "pass" } else { "**FAIL**" }, c.layer, c.name);
    }
    let timed = timings(checks);
    if !timed.is_empty() {
        s.push_str("\n## Timings (live cluster, one run; polled every 200 ms, monitor every 2 s)\n\n| what | seconds |\n|---|---|\n");
        for (what, v) in &timed {
            let _ = writeln!(s, "| {what} | {v:.2} |");
        }
    }
    s.push_str("\n## Evidence\n");
    for c in checks {
        let _ = writeln!(s, "\n### {} {}: {}\n\n```\n{}\n```", if c.passed { "pass" } else { "FAIL" }, c.layer, c.name, c.evidence.join("\n"));
    }
    s
}

/// The timed checks, named by what they time.
fn timings(checks: &[Check]) -> Vec<(String, f64)> {
    checks.iter().filter_map(|c| Some((c.timed?.to_string(), c.seconds?))).collect()
}

fn html(kind: &str, checks: &[Check]) -> String {
    let failed = checks.iter().filter(|c| !c.passed).count();
    let mut s = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Agent {k}</title>\n<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} .fail{{color:#b00;font-weight:bold}} pre{{background:#f4f4f4;padding:.5em;overflow-x:auto}} td{{padding:0 .6em}}</style></head><body>\n<h1>Agent {k}: checked by halab</h1>\n<p>{} checks: {} passed, {failed} failed.</p>\n<table>\n",
        checks.len(),
        checks.len() - failed,
        k = esc(kind)
    );
    for c in checks {
        let mark = if c.passed { "<td>pass</td>".to_string() } else { "<td class=\"fail\">FAIL</td>".to_string() };
        let _ = writeln!(s, "<tr>{mark}<td>{}</td><td>{}</td></tr>", esc(c.layer), esc(&c.name));
    }
    s.push_str("</table>\n");
    let timed = timings(checks);
    if !timed.is_empty() {
        s.push_str("<h2>Timings</h2>\n<p>Live cluster, one run; each polled every 200 ms (pacemaker's monitor every 2 s).</p>\n");
        // plotters counts rows from the bottom: the first step on top.
        let rows: Vec<(String, f64)> = timed.into_iter().rev().collect();
        s.push_str(&crate::report::plots::bars("what the live cluster timed", "seconds", &rows));
    }
    s.push_str("<h2>Evidence</h2>\n");
    for c in checks {
        let open = if c.passed { "" } else { " open" };
        let _ = writeln!(s, "<details{open}><summary>{}: {}</summary><pre>{}</pre></details>", esc(c.layer), esc(&c.name), esc(&c.evidence.join("\n")));
    }
    s.push_str("</body></html>\n");
    s
}

pub fn write(dir: &Path, kind: &str, checks: &[Check]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    std::fs::write(
        dir.join("checks.json"),
        serde_json::to_vec_pretty(&serde_json::json!({ "schema": "halab.agent-test/1", "agent": kind, "checks": checks }))?,
    )?;
    std::fs::write(dir.join("report.md"), markdown(kind, checks))?;
    std::fs::write(dir.join("report.html"), html(kind, checks))?;
    std::fs::write(dir.join("junit.xml"), junit(kind, checks))?;
    Ok(())
}
