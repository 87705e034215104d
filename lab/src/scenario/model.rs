//! Scenario files as users write them (strict). Step vocabulary after NixOS VM tests:
//! traffic, wait, wait_until, wait_for, fault, succeed, fail, stop.

use serde::Deserialize;

use crate::yaml::Spanned;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Spanned<String>,
    /// Topology file, relative to the scenario file.
    pub topology: Spanned<String>,
    /// Stacks to run on (default: the topology's).
    #[serde(default)]
    pub stacks: Vec<Spanned<String>>,
    /// Changes to the topology for this scenario (the control experiment turns conntrackd off).
    #[serde(default)]
    pub overrides: Option<Overrides>,
    /// Global time limit of one run (default 300s).
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub expect: Vec<Spanned<String>>,
    /// What the bench report headlines for this scenario.
    #[serde(default)]
    pub report: Option<ReportSpec>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    #[serde(default)]
    pub headline: Vec<HeadlineSpec>,
}

/// One headline row: `{ metric: <traffic>.gap, label: "Failover gap", unit: ms }`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadlineSpec {
    pub metric: Spanned<String>,
    pub label: Spanned<String>,
    /// `ms` (shown in seconds), `flag` (true count / runs) or any text shown as is (`Mbit/s`).
    /// Required: a number's unit cannot be told from its name.
    pub unit: Spanned<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// `off` runs the stack without conntrackd.
    #[serde(default)]
    pub conntrackd: Option<Spanned<String>>,
    /// `off` runs pacemaker without fencing (the old lab, for a side-by-side comparison).
    #[serde(default)]
    pub fencing: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// `name`, `kind`, `from`, `to` and that kind's own fields (`scenario::traffic`).
    Traffic(#[schemars(schema_with = "crate::schema::traffic_spec")] super::traffic::TrafficSpec),
    Wait(Spanned<String>),
    WaitUntil(WaitUntilSpec),
    WaitFor(WaitForSpec),
    /// `kind:` and that fault's own fields (`scenario::faults`).
    Fault(#[schemars(schema_with = "crate::schema::fault_spec")] super::faults::FaultSpec),
    Succeed(CommandSpec),
    Fail(CommandSpec),
    /// Stop a traffic by name (probes write their samples).
    Stop(Spanned<String>),
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitUntilSpec {
    /// `vip_moved`, `ready`, `vip_on: NODE`.
    pub condition: Spanned<String>,
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitForSpec {
    pub traffic: Spanned<String>,
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    pub node: Spanned<String>,
    pub cmd: Spanned<String>,
    #[serde(default)]
    pub timeout: Option<Spanned<String>>,
}
