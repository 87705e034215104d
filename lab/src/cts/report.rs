//! The CTS run's report: cts.md for a reader, cts.json for a script, beside CTS's own output
//! (cts-lab.out) and its debug log (cts.log) that every line here can be checked against.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::summary::Summary;
use crate::lab::Lab;

#[derive(Serialize)]
pub struct Facts {
    pub lab: String,
    pub topology: String,
    pub provider: String,
    pub exerciser: String,
    pub members: Vec<String>,
    pub settings: Vec<String>,
    pub versions: BTreeMap<String, String>,
    pub command: Vec<String>,
    /// cts-lab's exit status (none: stopped before it ended).
    pub exit_status: Option<i32>,
    pub seconds: f64,
    pub halab_revision: String,
}

impl Facts {
    pub fn gather(lab: &Lab, ex: &str, command: &[String], rc: Option<i32>, elapsed: Duration) -> Result<Facts> {
        let cl = lab.plan.cluster.as_ref();
        let mut versions = crate::scenario::runner::image_versions(lab);
        versions.retain(|k, _| ["pacemaker", "corosync", "pacemaker-cts", "resource-agents", "kernel", "debian"].iter().any(|p| k.starts_with(p)));
        Ok(Facts {
            lab: lab.plan.lab.clone(),
            topology: lab.plan.topology.display().to_string(),
            provider: lab.provider.kind.clone(),
            exerciser: ex.to_string(),
            members: cl.map(|c| c.members.clone()).unwrap_or_default(),
            settings: cl.map(|c| crate::stack::of(c.stack).settings(c)).unwrap_or_default(),
            versions,
            command: command.to_vec(),
            exit_status: rc,
            seconds: elapsed.as_secs_f64(),
            halab_revision: crate::scenario::results::git_revision(&lab.plan.topology),
        })
    }
}

/// "10 of 10 tests passed", or which failed.
pub fn verdict(s: &Summary) -> String {
    let failed: Vec<&str> = s.tests.iter().filter(|t| !t.passed()).map(|t| t.name.as_str()).collect();
    let bad = s.overall.get("BadNews").copied().unwrap_or(0);
    let mut v = format!("{} of {} tests passed", s.tests.len() - failed.len(), s.tests.len());
    if !failed.is_empty() {
        v.push_str(&format!(" (failed: {})", failed.join(", ")));
    }
    if bad > 0 {
        v.push_str(&format!("; {bad} bad-news log line(s)"));
    }
    v
}

pub fn write(dir: &Path, f: &Facts, s: &Summary) -> Result<()> {
    std::fs::write(dir.join("cts.json"), serde_json::to_string_pretty(&serde_json::json!({ "schema": "halab.cts/1", "run": f, "summary": s }))?)?;
    let mut md = format!("# Pacemaker's CTS against halab lab `{}`\n\n**{}**; cts-lab exit status {}, {:.0} s, CTS's random seed {} (cts-lab 3.0.0 takes it from the clock: `--seed` is parsed and not used).\n\n", f.lab, verdict(s), f.exit_status.map_or("none (stopped)".into(), |r| r.to_string()), f.seconds, s.random_seed.as_deref().unwrap_or("unknown"));
    md.push_str("| test | node | calls | failures | audit failures | skipped | seconds | verdict |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
    for t in &s.tests {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            t.name,
            t.node,
            t.count("calls"),
            t.count("failure"),
            t.count("auditfail"),
            t.count("skipped"),
            t.seconds.map_or("-".into(), |x| x.to_string()),
            if t.passed() { "passed" } else { "FAILED" }
        ));
    }
    let overall: Vec<String> = s.overall.iter().map(|(k, v)| format!("{k} {v}")).collect();
    md.push_str(&format!(
        "\nCTS's overall results: {}. Seconds per test are from CTS's own stamps (whole seconds), from its \"Running test\" line to the next.\n",
        overall.join(", ")
    ));
    if !s.bad_news.is_empty() {
        md.push_str(&format!(
            "\n**CTS's bad news** ({}): log lines matching its bad-news patterns. CTS counts them and does not fail a test for them (its exit status was {}); halab reports them the same way.\n\n```\n{}\n```\n",
            s.bad_news.len(),
            f.exit_status.map_or("none".into(), |r| r.to_string()),
            s.bad_news.join("\n")
        ));
    }
    for t in s.tests.iter().filter(|t| !t.problems.is_empty()) {
        md.push_str(&format!("\n**{}**: what CTS said\n\n```\n{}\n```\n", t.name, t.problems.join("\n")));
    }
    md.push_str(&format!(
        "\n## The run\n\n- lab `{}` from {} on {}, members {}, CTS run from `{}` (not a member) over SSH with the lab's key and pinned host keys\n- {}\n- versions: {}\n- halab {}\n- command: `{}`\n\nThe files beside this one: `cts-lab.out` (CTS's output), `cts.log` (its debug log), `cts.json` (this, for scripts).\n",
        f.lab,
        f.topology,
        f.provider,
        f.members.join(", "),
        f.exerciser,
        f.settings.join("; "),
        f.versions.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
        f.halab_revision,
        f.command.join(" ")
    ));
    std::fs::write(dir.join("cts.md"), md)?;
    Ok(())
}
