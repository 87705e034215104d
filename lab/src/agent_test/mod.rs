//! `halab agent test`: an OCF resource agent checked in a live lab. halab makes a small
//! pacemaker pair (the agent installed in both members under provider `halabtest`, xmllint and
//! shellcheck as a packages layer), then runs the checks layer by layer:
//! - static (`static_checks.rs`): meta-data without environment, well-formed, valid against
//!   resource-agents' metadata.rng, the required actions, units on timeouts, shellcheck;
//! - single node (`single_node.rs`): ocf-tester, and the exit-code rules of the OCF spec;
//! - live cluster (`live_cluster.rs`): the agent as a resource (a promotable clone with
//!   `--promotable`): start, a probe, recovery, a move, a crash and the member's return.
//!
//! Every check is a line with its evidence (the command, its exit code, what it printed). Exit
//! 0 when every check passed, 1 when one failed, 2 on bad input, 3 when the lab failed.

mod agent;
mod live_cluster;
mod recorder;
mod report;
mod single_node;
mod static_checks;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::diag::{Diagnostic, InputError};

pub use agent::Agent;

/// The OCF provider the agent is installed under in the lab's members.
pub const PROVIDER: &str = "halabtest";

#[derive(Debug, Clone)]
pub struct Options {
    pub path: PathBuf,
    /// Instance parameters (`OCF_RESKEY_<k>`), as the user gave them.
    pub params: Vec<(String, String)>,
    pub promotable: bool,
    /// Extra Debian packages the agent needs (its daemon, its tools): the lab's packages layer.
    pub packages: Vec<String>,
    /// Host file -> path in both members (the daemon's config the agent points at).
    pub files: Vec<(PathBuf, String)>,
    /// The user's topology for the lab, run on pacemaker (default: halab's pair, `lab.yaml`).
    pub topology: Option<PathBuf>,
    pub provider: crate::provider::Options,
    /// Default: reports/agent-TYPE.
    pub out: Option<PathBuf>,
    /// Which layers run: `static`, `single`, `live` (all when empty).
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layer {
    Static,
    Single,
    Live,
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `static`, `single node`.
    pub layer: &'static str,
    pub name: String,
    pub passed: bool,
    /// What was run, what it returned, what it printed: enough to see why without re-running.
    pub evidence: Vec<String>,
    /// What the check times (`failover`), and how long it took, when it did.
    pub timed: Option<&'static str>,
    pub seconds: Option<f64>,
}

impl Check {
    pub fn new(layer: &'static str, name: &str, passed: bool, evidence: Vec<String>) -> Check {
        Check { layer, name: name.to_string(), passed, evidence, timed: None, seconds: None }
    }

    pub fn timed(mut self, what: &'static str, d: Option<std::time::Duration>) -> Check {
        self.timed = Some(what);
        self.seconds = d.map(|d| (d.as_secs_f64() * 100.0).round() / 100.0);
        self
    }
}

/// Bad input before anything is made: the agent file, the parameters.
fn check_input(o: &Options) -> Result<String, InputError> {
    let bad = |field: &str, msg: String, hint: &str| InputError { diagnostics: vec![Diagnostic::new(&o.path, 1, 1, field, &msg, hint)] };
    let meta = std::fs::metadata(&o.path).map_err(|e| bad("PATH", format!("cannot read the agent: {e}"), "the path of an OCF resource agent"))?;
    if !meta.is_file() {
        return Err(bad("PATH", "is not a file".into(), "the path of an OCF resource agent"));
    }
    let name = o.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // The agent's type is its file name; OCF types are names pacemaker accepts as `type`.
    let kind: String = name.trim_end_matches(".ocf").trim_end_matches(".sh").to_string();
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad("PATH", format!("`{name}` cannot be an OCF agent's type"), "letters, digits, - and _ (a trailing .ocf or .sh is dropped)"));
    }
    for (host, _) in &o.files {
        if !host.is_file() {
            return Err(InputError { diagnostics: vec![Diagnostic::whole_file(host, "--files", "no such file", "HOST_PATH:NODE_PATH, the host file first")] });
        }
    }
    for (k, _) in &o.params {
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad("--params", format!("`{k}` cannot be a parameter name"), "k=v, with k letters, digits and _"));
        }
    }
    Ok(kind)
}

/// The lab's topology (`lab.yaml`) with the packages and the agent's directory filled in.
fn topology(dir: &Path, packages: &[String]) -> String {
    let mut pk = vec!["libxml2-utils".to_string(), "shellcheck".to_string()];
    pk.extend(packages.iter().cloned());
    include_str!("lab.yaml").replace("@PACKAGES@", &pk.join(", ")).replace("@AGENTS@", &dir.join("agents").display().to_string())
}

/// The lab: halab's pair (`lab.yaml`), or the user's topology (`--topology`) on pacemaker;
/// either way with the agent's directory, the checking tools and `--files` added.
fn plan(o: &Options, work: &Path, lab: &str) -> Result<crate::topology::Plan> {
    let mut plan = match &o.topology {
        None => {
            let topo = work.join("topology.yaml");
            std::fs::write(&topo, topology(work, &o.packages))?;
            crate::topology::load(&topo, Some(lab))?
        }
        Some(t) => {
            let mut p = crate::topology::load(t, Some(lab))?;
            p.set_stack(crate::topology::Stack::Pacemaker)?;
            for name in ["libxml2-utils", "shellcheck"].into_iter().map(String::from).chain(o.packages.iter().cloned()) {
                if !p.packages.iter().any(|x| x.name == name) {
                    p.packages.push(crate::topology::PlanPackage { name, at: crate::diag::Span::whole_file(t) });
                }
            }
            p
        }
    };
    let cl = plan.cluster.as_mut().context("the agent's lab needs a `cluster:` with two members or more")?;
    if cl.members.len() < 2 {
        anyhow::bail!("{}: the agent's lab needs two cluster members or more", plan.topology.display());
    }
    if o.topology.is_some() {
        cl.service.agents.push((PROVIDER.into(), work.join("agents")));
    }
    cl.service.files.extend(o.files.iter().map(|(from, to)| crate::topology::resources::PlanFile { from: from.clone(), to: to.clone(), mode: 0o644 }));
    Ok(plan)
}

/// Downs the lab however the checks end (error, interrupt, success).
struct Down(String);

impl Drop for Down {
    fn drop(&mut self) {
        if let Err(e) = crate::lifecycle::down(&self.0) {
            crate::progress::info(&format!("could not remove lab `{}` ({e:#}): `halab down {}`", self.0, self.0));
        }
    }
}

/// Run every check; the exit code says how it went (0, 1; bad input and lab failures are errors).
pub fn run(o: &Options) -> Result<i32> {
    let kind = check_input(o)?;
    let lab_name = format!("agent-{}", std::process::id());
    // The topology and the agent's directory, read by `up` (which copies the agent into the
    // members) and removed after.
    let work = std::env::temp_dir().join(format!("halab-{lab_name}"));
    std::fs::create_dir_all(work.join("agents")).with_context(|| format!("failed to create {}", work.display()))?;
    let result: Result<Vec<Check>> = (|| {
        std::fs::copy(&o.path, work.join("agents").join(&kind)).with_context(|| format!("failed to copy {}", o.path.display()))?;
        std::fs::write(work.join("agents").join(recorder::recorded(&kind)), recorder::script(&kind))?;
        let plan = plan(o, &work, &lab_name)?;
        let opts = crate::lifecycle::UpOptions { provider: o.provider.clone(), keep_on_failure: false, held: true };
        let lab = crate::lifecycle::up(&plan, &opts)?;
        let _down = Down(lab_name.clone());
        // The single-node layer runs on the first member; the live cluster reads its crm_mon.
        let members = plan.cluster.as_ref().map(|c| c.members.clone()).unwrap_or_default();
        let node = lab.node(members.first().context("the agent's lab has no member")?)?;
        let agent = Agent { node: &node, kind: kind.clone(), params: o.params.clone(), clone_max: o.promotable.then_some(members.len()) };
        let on = |l: Layer| o.layers.is_empty() || o.layers.contains(&l);
        let mut checks = Vec::new();
        // The static layer reads the meta-data the others need (required parameters).
        let step = crate::progress::Step::start(format!("agent test {kind}: static checks"));
        let (stat, meta) = static_checks::run(&agent, o.promotable);
        step.done(&summary(&stat));
        if on(Layer::Static) {
            checks.extend(stat);
        }
        if on(Layer::Single) {
            crate::interrupt::check()?;
            let step = crate::progress::Step::start(format!("agent test {kind}: single node ({})", node.name));
            let single = single_node::run(&agent, meta.as_ref());
            step.done(&summary(&single));
            checks.extend(single);
        }
        if on(Layer::Live) {
            crate::interrupt::check()?;
            let step = crate::progress::Step::start(format!("agent test {kind}: live cluster ({})", members.join(", ")));
            let live = live_cluster::run(&lab, &agent, &members, o.promotable);
            step.done(&summary(&live));
            checks.extend(live);
        }
        Ok(checks)
    })();
    let _ = std::fs::remove_dir_all(&work);
    let checks: Vec<Check> = result?;
    // Checks cut short by Ctrl-C are no verdict on the agent.
    crate::interrupt::check()?;
    let out = o.out.clone().unwrap_or_else(|| PathBuf::from(format!("reports/agent-{kind}")));
    report::write(&out, &kind, &checks)?;
    print!("{}", report::lines(&checks));
    println!("report: {}", out.display());
    Ok(if checks.iter().all(|c| c.passed) { 0 } else { 1 })
}

fn summary(checks: &[Check]) -> String {
    let failed = checks.iter().filter(|c| !c.passed).count();
    format!("{} passed, {failed} failed", checks.len() - failed)
}
