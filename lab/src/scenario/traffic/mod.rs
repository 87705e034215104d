//! Traffic inside the nodes, with real programs, one kind per file: the gap probe (halab
//! itself), a capture of its echoes (tcpdump), scp (OpenSSH, rate-limited, checksum
//! compared), iperf3 (--json, 0.1 s intervals), ab (guarded, with the server's log) and the user's
//! own request (`service`). A kind checks its own fields, starts itself and turns what it left on the nodes
//! into metrics; this file does what every traffic shares. Adding a kind is one file and one
//! line in `KINDS`.

mod ab;
mod capture;
mod iperf3;
mod load;
mod probe;
mod scp;
mod service;

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::target::{self, Target};
use crate::lab::Lab;
use crate::measure::clock::{figure, now_ns};
use crate::measure::dip::{self, Dip, Timeline};
use crate::measure::metrics::traffic::{self as metric, Rate};
use crate::measure::metrics::{Def, Metric, Metrics};
use crate::node::Node;
use crate::topology::validate::Checker;
use crate::topology::Plan;
use crate::yaml::{OrderedMap, Spanned};

pub use ab::SATURATED as AB_SATURATED;
pub use probe::PROBE_SAMPLES;
pub use scp::{parse_rate_kbit, parse_size};

/// Every traffic kind, in the order `halab vocabulary` lists them.
pub const KINDS: &[&KindDef] = &[&probe::KIND, &capture::KIND, &scp::KIND, &iperf3::KIND, &ab::KIND, &service::KIND];

/// The fields every traffic has.
const COMMON: &[&str] = &["name", "kind", "from", "to"];

/// A traffic as the scenario file writes it: name, kind, from, to and the kind's own fields,
/// each with its position.
pub type TrafficSpec = Spanned<OrderedMap<Spanned<String>>>;

pub struct KindDef {
    pub name: &'static str,
    /// One line: what it measures.
    pub doc: &'static str,
    /// Its own fields (besides name, kind, from, to), with their defaults.
    pub fields: &'static [(&'static str, &'static str)],
    /// A step using it, checked by the tests and shown by `halab vocabulary`.
    pub example: &'static str,
    /// What it records, as `<name>.<key>` (`measure::metrics::traffic`).
    pub metrics: &'static [&'static Def],
    pub check: fn(&mut Fields) -> Option<Arc<dyn Kind>>,
}

/// A checked traffic kind with its parameters.
pub trait Kind: std::fmt::Debug + Send + Sync {
    fn name(&self) -> &'static str;
    /// Start it on the nodes (its client runs as the node service `traffic-<name>`).
    fn start(&self, t: &Traffic, e: &Ends) -> Result<()>;
    /// Stop it before it ended by itself (its client service goes).
    fn stop(&self, r: &Running, from: &Node) -> Result<()> {
        from.service_stop(&format!("traffic-{}", r.t.name))
    }
    /// Turn what it left on the nodes into `<name>.<metric>` metrics and raw samples.
    fn collect(&self, r: &Running, c: &mut Collect) -> Result<()>;
    /// It measures on the source node's clock (moved onto the host's at collection).
    fn on_node_clock(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone)]
pub struct Traffic {
    pub name: String,
    pub kind: Arc<dyn Kind>,
    pub from: String,
    pub to: String,
}

/// The two ends of a traffic being started.
pub struct Ends<'a> {
    pub lab: &'a Lab,
    pub from: Node,
    pub to: Node,
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// What a kind's `collect` works with.
pub struct Collect<'a> {
    pub lab: &'a Lab,
    pub from: Node,
    /// What the client's wrapper wrote to its `.rc` file, if it ended.
    pub rc: Option<i32>,
    /// The first fault's time (gaps are measured around it).
    pub fault_ns: Option<u64>,
    /// The last fault's time, when there were several (a failback's power_on).
    pub last_fault_ns: Option<u64>,
    pub samples: &'a Path,
    pub metrics: &'a mut Metrics,
}

impl Collect<'_> {
    /// The traffic `name`'s value of `m` (`<name>.<key>`).
    pub fn put<T: serde::Serialize>(&mut self, name: &str, m: &Metric<T>, v: T) {
        self.metrics.put_of(name, m, v);
    }

    /// A load traffic's rate around the first fault: `<name>.<rate>_before|min|during|after`,
    /// `<name>.dip_s`, `<name>.recovery_s` (`measure::dip`), and the timeline as its sample
    /// `<name>.rate.json` (plotted by the report).
    pub fn put_rate(&mut self, r: &Running, rate: &Rate, tl: Timeline) -> Result<Dip> {
        let name = r.t.name.as_str();
        let fault_s = self.fault_ns.map(|f| (f as f64 - r.started_ns as f64) / 1e9);
        let d = dip::analyze(&tl.bins, tl.width_s, fault_s);
        for (m, v) in [(&rate.before, d.before), (&rate.min, d.min), (&rate.during, d.during), (&rate.after, d.after)] {
            self.put(name, m, v.map(figure));
        }
        self.put(name, &metric::DIP_S, d.below_half_s.map(figure));
        self.put(name, &metric::RECOVERY_S, d.back_90_s.map(figure));
        std::fs::write(self.samples.join(format!("{name}.rate.json")), serde_json::to_string(&tl)?)?;
        Ok(d)
    }
}

pub struct Running {
    pub t: Traffic,
    pub ip: Ipv4Addr,
    pub port: u16,
    pub started_ns: u64,
    pub done_ns: Option<u64>,
    /// (host ns, node clock minus host clock) when a probe started, for nodes with a clock of
    /// their own (VMs): their samples are moved onto the host's clock.
    pub clock_at_start: Option<(u64, i64)>,
}

/// A file of this traffic inside its nodes.
pub fn file(t: &Traffic, ext: &str) -> String {
    format!("/tmp/halab-{}.{ext}", t.name)
}

/// The address traffic goes to: the destination node's first lab interface.
fn address(st: &Lab, node: &str) -> Result<Ipv4Addr> {
    st.plan.node(node).and_then(|n| n.interfaces.first()).map(|i| i.address).with_context(|| format!("node `{node}` has no address"))
}

pub fn start(st: &Lab, t: &Traffic, port: u16) -> Result<Running> {
    let from = st.node(&t.from)?;
    let to = st.node(&t.to)?;
    let ip = address(st, &t.to)?;
    from.sh(&format!("rm -f {} {}", file(t, "rc"), file(t, "json")))?;
    t.kind.start(t, &Ends { lab: st, from: from.clone(), to, ip, port })?;
    let clock_at_start = if t.kind.on_node_clock() { Some((now_ns(), from.clock_offset_ns()?)) } else { None };
    Ok(Running { t: t.clone(), ip, port, started_ns: now_ns(), done_ns: None, clock_at_start })
}

pub fn finished(st: &Lab, r: &mut Running) -> Result<bool> {
    if r.done_ns.is_some() {
        return Ok(true);
    }
    let from = st.node(&r.t.from)?;
    let done = !from.service_running(&format!("traffic-{}", r.t.name));
    if done {
        r.done_ns = Some(now_ns());
    }
    Ok(done)
}

pub fn stop(st: &Lab, r: &mut Running) -> Result<()> {
    let from = st.node(&r.t.from)?;
    r.t.kind.clone().stop(r, &from)?;
    r.done_ns.get_or_insert_with(now_ns);
    Ok(())
}

/// Stop if still running, fetch the raw output into `samples_dir`, and turn it into metrics.
/// `faults`: the first and the last fault's times (gaps are measured after them).
pub fn collect(st: &Lab, r: &mut Running, faults: (Option<u64>, Option<u64>), samples_dir: &Path, m: &mut Metrics) -> Result<()> {
    if !finished(st, r)? {
        stop(st, r)?;
    }
    let from = st.node(&r.t.from)?;
    std::fs::create_dir_all(samples_dir)?;
    let rc: Option<i32> =
        from.exec(&["cat", &file(&r.t, "rc")], None, crate::cmd::limit::QUERY).ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok());
    let kind = r.t.kind.clone();
    let (fault_ns, last) = faults;
    let last_fault_ns = last.filter(|l| Some(*l) != fault_ns);
    kind.collect(r, &mut Collect { lab: st, from, rc, fault_ns, last_fault_ns, samples: samples_dir, metrics: m })
}

/// Check one `traffic:` step; every problem goes to `v` with its position. `names`: the
/// traffics started so far (a name is used once).
pub(crate) fn check(v: &mut Checker, plan: &Plan, spec: &TrafficSpec, field: &str, names: &mut HashSet<String>) -> Option<Traffic> {
    let mut missing = false;
    for c in COMMON.iter().filter(|c| spec.value.get(c).is_none()) {
        v.at(spec, field, &format!("a traffic needs `{c}:`"), "name, kind, from and to");
        missing = true;
    }
    if let Some(n) = spec.value.get("name") {
        if !names.insert(n.value.clone()) {
            v.at(n, field, &format!("traffic `{}` is defined twice", n.value), "");
        }
    }
    let mut end = |key: &str| {
        let s = spec.value.get(key)?;
        match target::check(v, plan, s, &format!("{field}.{key}"))? {
            Target::Node(n) => Some(n),
            _ => {
                v.at(s, field, "traffic runs between fixed nodes", "name a node, not @active/@standby");
                None
            }
        }
    };
    let (from, to) = (end("from"), end("to"));
    let kind = spec.value.get("kind")?;
    let Some(def) = KINDS.iter().find(|k| k.name == kind.value) else {
        let all: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        v.at(kind, &format!("{field}.kind"), &format!("unknown traffic kind `{}`", kind.value), &format!("one of: {}", all.join(", ")));
        return None;
    };
    let mut seen = Vec::new();
    for (k, _) in spec.value.iter() {
        if seen.contains(&k.value) {
            v.at(k, &format!("{field}.{}", k.value), &format!("`{}` is given twice", k.value), "");
            missing = true;
        } else if !COMMON.contains(&k.value.as_str()) && !def.fields.iter().any(|f| f.0 == k.value) {
            let takes: Vec<&str> = def.fields.iter().map(|f| f.0).collect();
            v.at(
                k,
                &format!("{field}.{}", k.value),
                &format!("traffic kind `{}` has no field `{}`", def.name, k.value),
                &format!("its fields: {}", takes.join(", ")),
            );
            missing = true;
        }
        seen.push(k.value.clone());
    }
    let kind = (def.check)(&mut Fields { v, plan, field, spec: &spec.value, whole: spec });
    let (name, kind) = (spec.value.get("name")?.value.clone(), kind?);
    (!missing).then_some(Traffic { name, kind, from: from?, to: to? })
}

/// A kind's own fields, and where to report their problems.
pub struct Fields<'a, 'f> {
    v: &'a mut Checker<'f>,
    plan: &'a Plan,
    field: &'a str,
    spec: &'a OrderedMap<Spanned<String>>,
    /// The whole traffic, where a missing field is reported.
    whole: &'a TrafficSpec,
}

impl Fields<'_, '_> {
    /// A field the kind cannot do without; None (reported with `hint`) when absent or empty.
    pub fn required(&mut self, name: &str, hint: &str) -> Option<String> {
        match self.spec.get(name).filter(|s| !s.value.trim().is_empty()) {
            Some(s) => Some(s.value.clone()),
            None => {
                self.v.at(self.whole, &format!("{}.{name}", self.field), &format!("this traffic needs `{name}:`"), hint);
                None
            }
        }
    }

    /// A field the kind may do without.
    /// A node the kind acts on besides its ends (a name, `@active`, `@standby`; resolved when
    /// it acts): Some(None) when absent, None when wrong (reported).
    pub fn target(&mut self, name: &str) -> Option<Option<Target>> {
        let Some(s) = self.spec.get(name) else { return Some(None) };
        target::check(self.v, self.plan, s, &format!("{}.{name}", self.field)).map(Some)
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        self.spec.get(name).map(|s| s.value.clone())
    }

    /// A duration field; `default` when absent, None when wrong (reported).
    pub fn duration(&mut self, name: &str, default: Duration) -> Option<Duration> {
        let Some(s) = self.spec.get(name) else { return Some(default) };
        let n = self.v.out.len();
        let d = self.v.duration(&Some(s.clone()), &format!("{}.{name}", self.field), default);
        (self.v.out.len() == n).then_some(d)
    }

    /// A field parsed by `parse`; `default` when absent, None when wrong (reported with
    /// `what` it should be and `hint`).
    pub fn parsed<T>(&mut self, name: &str, default: T, parse: impl Fn(&str) -> Option<T>, what: &str, hint: &str) -> Option<T> {
        let Some(s) = self.spec.get(name) else { return Some(default) };
        let got = parse(s.value.trim());
        if got.is_none() {
            self.v.at(s, &format!("{}.{name}", self.field), &format!("`{}` is not {what}", s.value), hint);
        }
        got
    }
}
