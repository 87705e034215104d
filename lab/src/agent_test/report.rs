//! The verdict of `halab agent test`: one line per check on the terminal, and in the output
//! folder checks.json, report.md and junit.xml (one test case per check, its evidence as the
//! failure's text), so a CI can act on it.

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
    s.push_str("\n## Evidence\n");
    for c in checks {
        let _ = writeln!(s, "\n### {} {}: {}\n\n```\n{}\n```", if c.passed { "pass" } else { "FAIL" }, c.layer, c.name, c.evidence.join("\n"));
    }
    s
}

pub fn write(dir: &Path, kind: &str, checks: &[Check]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
    std::fs::write(
        dir.join("checks.json"),
        serde_json::to_vec_pretty(&serde_json::json!({ "schema": "halab.agent-test/1", "agent": kind, "checks": checks }))?,
    )?;
    std::fs::write(dir.join("report.md"), markdown(kind, checks))?;
    std::fs::write(dir.join("junit.xml"), junit(kind, checks))?;
    Ok(())
}
