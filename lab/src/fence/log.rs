//! `fence.log` in the lab's directory: one JSON line per action the fencer took, the source
//! of the runner's fencing numbers.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::ledger::lab_dir;

fn log_path(lab: &str) -> PathBuf {
    lab_dir(lab).join("fence.log")
}

/// One action the fencer took, as `fence.log` keeps it (host CLOCK_MONOTONIC ns).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    pub t_ns: u64,
    pub done_ns: u64,
    pub action: String,
    pub target: String,
    /// The member whose agent asked (by its management address).
    pub from: String,
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
}

impl Action {
    /// A power action (not status, list or monitor).
    pub fn powers(&self) -> bool {
        matches!(self.action.as_str(), "off" | "on" | "reboot")
    }
}

pub fn append(lab: &str, a: &Action) -> Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(log_path(lab))?;
    // One write per line, so a reader never sees half of one.
    f.write_all(format!("{}\n", serde_json::to_string(a)?).as_bytes())?;
    Ok(())
}

/// Every action the lab's fencer took so far (none when it never acted). A line that does not
/// parse is an error naming it: a fencing number is never computed from part of the log.
pub fn actions(lab: &str) -> Result<Vec<Action>> {
    let path = log_path(lab);
    let text = match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        r => r.with_context(|| format!("failed to read {}", path.display()))?,
    };
    parse(&text).with_context(|| format!("in {}", path.display()))
}

fn parse(text: &str) -> Result<Vec<Action>> {
    text.lines().enumerate().map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {} is not a fencing action: {l}", i + 1))).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_that_does_not_parse_is_an_error_naming_it() {
        let good = r#"{"t_ns":1,"done_ns":2,"action":"reboot","target":"fw2","from":"fw1","ok":true}"#;
        assert_eq!(super::parse(&format!("{good}\n{good}\n")).unwrap().len(), 2);
        let e = super::parse(&format!("{good}\n{{\"t_ns\":3\n")).unwrap_err();
        assert!(format!("{e:#}").contains("line 2 is not a fencing action"), "{e:#}");
    }
}
