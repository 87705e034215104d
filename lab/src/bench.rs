//! `halab run` and `halab bench` as library calls: run scenarios (a fresh lab per stack and
//! repeat), write every run record, junit.xml and, for a bench, the report; and say how the
//! whole went, which is what the exit code tells CI.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::progress::Step;
use crate::report::{self, Analysis};
use crate::scenario::results::{Outcome, RunRecord};
use crate::scenario::runner::{self, Options};
use crate::scenario::Scenario;
use crate::topology::Stack;

/// How a set of runs went, worst first wins: an infrastructure error (3) over a failed
/// expectation (1) over every run passed (0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
    Error,
    /// A signal stopped the runs (exit 130, as a shell reports Ctrl-C).
    Interrupted,
}

impl Verdict {
    pub fn of(records: &[RunRecord]) -> Verdict {
        if records.iter().any(|r| r.outcome == Outcome::Interrupted) || crate::interrupt::interrupted() {
            Verdict::Interrupted
        } else if records.iter().any(|r| r.outcome == Outcome::Error) {
            Verdict::Error
        } else if records.iter().any(|r| r.outcome == Outcome::Failed) || records.is_empty() {
            Verdict::Failed
        } else {
            Verdict::Passed
        }
    }
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Passed => 0,
            Verdict::Failed => 1,
            Verdict::Error => 3,
            Verdict::Interrupted => 130,
        }
    }
}

/// The default run folder of `halab run`: reports/runs/<unix time>-<scenario>.
pub fn default_run_dir(sc: &Scenario) -> PathBuf {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    PathBuf::from("reports/runs").join(format!("{t}-{}", sc.name))
}

/// Run one scenario's matrix into `opts.out`, then write junit.xml there.
pub fn run(sc: &Scenario, opts: &Options) -> Result<Vec<RunRecord>> {
    let records = runner::run(sc, opts)?;
    write_junit(&opts.out)?;
    Ok(records)
}

fn write_junit(dir: &Path) -> Result<()> {
    let a = report::analyse(report::load_runs(&[dir.to_path_buf()])?);
    std::fs::write(dir.join("junit.xml"), report::junit::render(&a)?)?;
    Ok(())
}

/// Every scenario x stack x repeat, each run in `out/runs`, then the report in `out`.
pub fn bench(scenarios: &[Scenario], stacks: &[Stack], opts: &Options) -> Result<(Analysis, Verdict)> {
    // A scenario runs on the stacks it names (`stacks:`) that `--stacks` asks for.
    let cells: Vec<(&Scenario, Stack)> = scenarios.iter().flat_map(|sc| stacks.iter().filter(|st| sc.stacks.contains(st)).map(move |st| (sc, *st))).collect();
    for sc in scenarios.iter().filter(|sc| !cells.iter().any(|(c, _)| c.name == sc.name)) {
        crate::progress::info(&format!("{} runs only on {}: not on {}", sc.name, names(&sc.stacks), names(stacks)));
    }
    let total = cells.len() * opts.repeat.max(1) as usize;
    let overall = Step::start(format!("bench: {} cell(s) (scenario x stack) x {} = {total} runs", cells.len(), opts.repeat));
    let runs_dir = opts.out.join("runs");
    let mut records = Vec::new();
    for (sc, st) in cells {
        if crate::interrupt::interrupted() {
            break;
        }
        overall.message(&format!("run {}/{total}: {} on {st}", records.len() + 1, sc.name));
        let o = Options { stacks: Some(vec![st]), out: runs_dir.clone(), keep: false, ..opts.clone() };
        records.extend(runner::run(sc, &o)?);
    }
    overall.done(&format!("{} runs", records.len()));
    let a = report::analyse(report::load_runs(&[runs_dir])?);
    report::write_all(&a, &opts.out)?;
    Ok((a, Verdict::of(&records)))
}

fn names(stacks: &[Stack]) -> String {
    stacks.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
}
