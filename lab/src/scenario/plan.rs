//! A validated scenario: every reference resolved against its topology.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::conditions::Condition;
use super::expect::Expect;
pub use super::faults::FaultStep;
pub use super::target::Target;
pub use super::traffic::Traffic;
use crate::topology::{Plan, Stack};

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub file: PathBuf,
    pub topology: PathBuf,
    pub plan: Plan,
    pub stacks: Vec<Stack>,
    pub conntrackd_off: bool,
    pub fencing_off: bool,
    pub timeout: Duration,
    pub steps: Vec<Step>,
    pub expect: Vec<Expect>,
    pub report: Report,
}

/// The scenario's `report:` block, copied into every run record so reports re-render from run
/// folders alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Report {
    #[serde(default)]
    pub headline: Vec<Headline>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Headline {
    pub metric: String,
    pub label: String,
    /// `ms`, `flag` or a unit shown as is.
    pub unit: String,
}

#[derive(Debug, Clone)]
pub enum Step {
    Traffic(Traffic),
    /// A fixed wait (`min == max`) or a range drawn per run (`scenario::schedule`).
    Wait {
        min: Duration,
        max: Duration,
    },
    WaitUntil {
        condition: Condition,
        timeout: Duration,
    },
    WaitFor {
        traffic: String,
        timeout: Duration,
    },
    Fault(FaultStep),
    Succeed {
        node: Target,
        cmd: String,
        timeout: Duration,
    },
    Fail {
        node: Target,
        cmd: String,
        timeout: Duration,
    },
    Stop(String),
}

impl Step {
    /// The step as the user wrote it (for progress lines and events).
    pub fn describe(&self) -> String {
        let secs = |d: &Duration| super::events::secs(d.as_secs_f64());
        match self {
            Step::Traffic(t) => format!("traffic {} ({}) {} -> {}", t.name, t.kind.name(), t.from, t.to),
            Step::Wait { min, max } if min == max => format!("wait {}", secs(min)),
            Step::Wait { min, max } => format!("wait {}..{} (drawn per run)", secs(min), secs(max)),
            Step::WaitUntil { condition, timeout } => format!("wait until {condition} (at most {})", secs(timeout)),
            Step::WaitFor { traffic, timeout } => format!("wait for {traffic} (at most {})", secs(timeout)),
            Step::Fault(f) => format!("fault {}", f.describe()),
            Step::Succeed { node, cmd, .. } => format!("succeed on {node}: {cmd}"),
            Step::Fail { node, cmd, .. } => format!("fail on {node}: {cmd}"),
            Step::Stop(n) => format!("stop {n}"),
        }
    }
}
