//! A validated scenario: every reference resolved against its topology.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::expect::Expect;
use crate::topology::{Plan, Stack};

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub file: PathBuf,
    pub topology: PathBuf,
    #[serde(skip)]
    pub plan: Plan,
    pub stacks: Vec<Stack>,
    pub conntrackd_off: bool,
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum Target {
    Node(String),
    /// The member holding the VIPs when the step runs.
    Active,
    /// A member not holding them.
    Standby,
}

#[derive(Debug, Clone, Serialize)]
pub enum TrafficKind {
    Probe { every: Duration },
    Scp { bytes: u64, rate_kbit: u64 },
    Iperf3,
    Ab { requests: u32, concurrency: u32 },
}

#[derive(Debug, Clone, Serialize)]
pub struct Traffic {
    pub name: String,
    pub kind: TrafficKind,
    pub from: String,
    pub to: String,
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub enum Condition {
    VipMoved,
    Ready,
    VipOn(Target),
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Crash,
    PowerOn,
    Reboot,
    CablePull,
    CablePlug,
    Block,
    Loss,
    Switchover,
    StopStack,
    KillDaemon,
    HeartbeatPartition,
    RemoveConfig,
}

pub const FAULT_KINDS: &[(&str, FaultKind)] = &[
    ("crash", FaultKind::Crash),
    ("power_on", FaultKind::PowerOn),
    ("reboot", FaultKind::Reboot),
    ("cable_pull", FaultKind::CablePull),
    ("cable_plug", FaultKind::CablePlug),
    ("block", FaultKind::Block),
    ("loss", FaultKind::Loss),
    ("switchover", FaultKind::Switchover),
    ("stop_stack", FaultKind::StopStack),
    ("kill_daemon", FaultKind::KillDaemon),
    ("heartbeat_partition", FaultKind::HeartbeatPartition),
    ("remove_config", FaultKind::RemoveConfig),
];

#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub kind: FaultKind,
    pub node: Option<Target>,
    pub iface: Option<String>,
    pub duration: Option<Duration>,
    pub percent: u32,
    pub daemon: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub enum Step {
    Traffic(Traffic),
    Wait(Duration),
    WaitUntil { condition: Condition, timeout: Duration },
    WaitFor { traffic: String, timeout: Duration },
    Fault(Fault),
    Succeed { node: Target, cmd: String, timeout: Duration },
    Fail { node: Target, cmd: String, timeout: Duration },
    Stop(String),
}

impl Step {
    pub fn describe(&self) -> String {
        match self {
            Step::Traffic(t) => format!("traffic {} ({:?}) {} -> {}", t.name, kind_name(&t.kind), t.from, t.to),
            Step::Wait(d) => format!("wait {:.1} s", d.as_secs_f64()),
            Step::WaitUntil { condition, timeout } => format!("wait until {condition:?} (at most {:.0} s)", timeout.as_secs_f64()),
            Step::WaitFor { traffic, timeout } => format!("wait for {traffic} (at most {:.0} s)", timeout.as_secs_f64()),
            Step::Fault(f) => format!("fault {:?} on {:?}{}", f.kind, f.node, f.iface.as_ref().map(|i| format!(" {i}")).unwrap_or_default()),
            Step::Succeed { node, cmd, .. } => format!("succeed on {node:?}: {cmd}"),
            Step::Fail { node, cmd, .. } => format!("fail on {node:?}: {cmd}"),
            Step::Stop(n) => format!("stop {n}"),
        }
    }
}

pub fn kind_name(k: &TrafficKind) -> &'static str {
    match k {
        TrafficKind::Probe { .. } => "probe",
        TrafficKind::Scp { .. } => "scp",
        TrafficKind::Iperf3 => "iperf3",
        TrafficKind::Ab { .. } => "ab",
    }
}
