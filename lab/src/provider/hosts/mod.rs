//! The hosts provider: a lab on machines that exist already (`--provider hosts --inventory
//! FILE`). Nothing is created but what the lab changes on each host, journaled on the host
//! and undone by `down`; hosts are leased all at once; power and cables go through the
//! actuators the inventory names per host. The same topology and scenario files as netns
//! and libvirt.

pub mod actuators;
pub mod bind;
pub mod cable;
pub mod cli;
pub mod heal;
pub mod health;
pub mod inventory;
pub mod journal;
pub mod lease;
pub mod listing;
pub mod matrix;
pub mod pdu;
pub mod power;
pub mod trust;
pub mod up;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};

use crate::image::Image;
use crate::labstate::{LabState, Management};
use crate::ledger::{Ledger, Object};
use crate::node::Shell;
use crate::provider::{Actuators, Options, Provider};
use crate::transport::shell::SshShell;
use crate::transport::Target;
use bind::Binding;

/// Default lease: long enough for `halab up` and a working session; `halab run` renews it.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// What `up` decided for a lab on hosts (kept in lab.json).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub inventory: PathBuf,
    /// Who holds the leases: `controller/lab/id`.
    pub owner: String,
    pub ttl_s: u64,
    /// How long `up` waits for hosts another lab holds (0: refuse at once).
    #[serde(default)]
    pub wait_s: u64,
    pub bindings: Vec<Binding>,
    /// Host name -> pinned host key, read once from the inventory's known_hosts.
    pub pins: BTreeMap<String, String>,
}

impl Settings {
    pub fn binding(&self, node: &str) -> Result<&Binding> {
        self.bindings.iter().find(|b| b.node == node).with_context(|| format!("node `{node}` is bound to no host"))
    }
    pub fn target(&self, node: &str) -> Result<Target> {
        let b = self.binding(node)?;
        let host_key = self.pins.get(&b.host.name).with_context(|| format!("host `{}` has no pinned key", b.host.name))?.clone();
        Ok(Target { addr: (b.host.address, 22).into(), user: b.host.user.clone(), key: b.host.key.clone(), host_key })
    }
}

pub fn settings(st: &LabState) -> Result<Settings> {
    serde_json::from_value(st.provider.settings.clone()).with_context(|| format!("lab `{}` has no hosts settings", st.plan.lab))
}

/// Keep the leases while this halab runs (a `run`/`bench` longer than the TTL); stops when
/// the lab is gone.
pub fn renew_in_background(lab: String, s: Settings) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs((s.ttl_s / 3).max(1)));
        if !crate::ledger::lab_dir(&lab).exists() {
            return;
        }
        for b in &s.bindings {
            let asked = std::time::SystemTime::now();
            match s.target(&b.node).and_then(|t| lease::renew(&t, &s.owner, &lab, Duration::from_secs(s.ttl_s))) {
                Ok(()) => heal::mark_renewed(&lab, &b.host.name, asked),
                Err(e) => crate::progress::info(&format!("lab `{lab}`: lease on host `{}` not renewed: {e:#}", b.host.name)),
            }
        }
    });
}

/// A host reached over SSH whose every written file and started service is journaled first.
pub struct HostShell {
    pub target: Target,
    pub lab: String,
}

impl HostShell {
    fn ssh(&self) -> SshShell {
        SshShell { target: self.target.clone() }
    }
}

impl Shell for HostShell {
    fn exec(&self, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<Output> {
        crate::transport::exec(&self.target, argv, stdin, timeout)
    }
    fn put(&self, path: &str, content: &[u8], mode: u32, owner: &str) -> Result<()> {
        journal::before_write(&self.target, &self.lab, path)?;
        self.ssh().put(path, content, mode, owner)
    }
    fn service_start(&self, name: &str, argv: &[&str]) -> Result<()> {
        journal::before_service(&self.target, &self.lab, name)?;
        self.ssh().service_start(name, argv)
    }
    fn service_stop(&self, name: &str) -> Result<()> {
        self.ssh().service_stop(name)
    }
    fn service_running(&self, name: &str) -> bool {
        self.ssh().service_running(name)
    }
    fn clock(&self) -> Result<crate::node::ClockReading> {
        crate::transport::clock::reading(&self.target)
    }
}

/// This controller's address toward `addr` and that network (`ip route get`, `ip addr`).
fn source_toward(addr: std::net::Ipv4Addr) -> Result<(std::net::Ipv4Addr, ipnet::Ipv4Net)> {
    let route = crate::iproute::routes(crate::cmd::run("ip", &["-j", "route", "get", &addr.to_string()])?.as_bytes(), "ip -j route get")?;
    let src: std::net::Ipv4Addr =
        route.first().and_then(|r| r.prefsrc.as_deref()?.parse().ok()).with_context(|| format!("no route from this machine to {addr}"))?;
    let links = crate::iproute::links(crate::cmd::run("ip", &["-j", "-4", "addr"])?.as_bytes(), "ip -j addr")?;
    let prefix = links.iter().flat_map(|l| l.ipv4()).find(|(a, _)| *a == src).map(|(_, p)| p).unwrap_or(32);
    Ok((src, ipnet::Ipv4Net::new(src, prefix)?.trunc()))
}

pub struct Hosts;

impl Provider for Hosts {
    fn name(&self) -> &'static str {
        "hosts"
    }
    fn preflight(&self) -> Result<()> {
        Ok(())
    }
    fn decide(&self, plan: &crate::topology::Plan, opts: &Options, _img: &Image) -> Result<serde_json::Value> {
        let file = opts.inventory.as_ref().ok_or_else(|| anyhow!("the hosts provider needs --inventory FILE (the machines it may use)"))?;
        let inv = inventory::load(file)?;
        let bindings = bind::bind(plan, &inv, &health::quarantined(&inv))?;
        let mut pins = BTreeMap::new();
        for b in &bindings {
            let t = trust::target(&inv, &b.host)?;
            pins.insert(b.host.name.clone(), t.host_key);
        }
        let controller = nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "controller".into());
        let ttl = opts.lease_ttl.unwrap_or(DEFAULT_TTL);
        let s = Settings {
            inventory: file.clone(),
            owner: format!("{controller}/{}/{}", plan.lab, plan.id),
            ttl_s: ttl.as_secs().max(5),
            wait_s: opts.lease_wait.map(|w| w.as_secs()).unwrap_or(0),
            bindings,
            pins,
        };
        Ok(serde_json::to_value(s)?)
    }
    fn management(&self, settings: &serde_json::Value) -> Result<Option<Management>> {
        let s: Settings = serde_json::from_value(settings.clone())?;
        let first = s.bindings.first().context("no host is bound")?.host.address;
        let (host_addr, subnet) = source_toward(first)?;
        let nodes = s.bindings.iter().map(|b| (b.node.clone(), b.host.address)).collect();
        Ok(Some(Management { subnet, host_addr, nodes }))
    }
    fn up(&self, st: &LabState, ledger: &mut Ledger, _img: &Image) -> Result<()> {
        up::up(st, ledger)
    }
    fn teardown(&self, ledger: &Ledger) -> Result<()> {
        let hosts: Vec<&String> = ledger.data.objects.iter().filter_map(|o| if let Object::Host { name, .. } = o { Some(name) } else { None }).collect();
        if hosts.is_empty() {
            return Ok(());
        }
        let st = LabState::load(&ledger.data.lab)?;
        let s = settings(&st)?;
        // Cables pulled from the controller (switch ports) are plugged back first.
        heal::heal_now_on_controller(&st.plan.lab)?;
        // A host that cannot be reached (or powered on) keeps its journal and our lease:
        // the lease expires and the next lab to take the host undoes the journal first. So
        // `down` goes on, saying so, instead of keeping a lab whose host may never return.
        for b in s.bindings.iter().filter(|b| hosts.contains(&&b.host.name)) {
            let t = s.target(&b.node)?;
            let reachable = match actuators::HostActuators::new(&st, &b.node)?.restore_power() {
                Ok(true) => {
                    crate::progress::info(&format!("host `{}` was left powered off: powered on again", b.host.name));
                    true
                }
                Ok(false) => crate::transport::ready(&t),
                Err(e) => {
                    crate::progress::info(&format!("host `{}`: {e:#}", b.host.name));
                    false
                }
            };
            if !reachable {
                crate::progress::info(&format!(
                    "host `{}` ({}) does not answer: what the lab changed there stays in its journal until the lease ends ({} s at most) and the next lab that takes it undoes it",
                    b.host.name, b.host.address, s.ttl_s
                ));
                continue;
            }
            let (n, failed) = journal::undo(&t, &st.plan.lab).with_context(|| format!("host `{}`", b.host.name))?;
            if !failed.is_empty() {
                crate::progress::info(&format!("host `{}`: {} of {n} undo steps failed: {}", b.host.name, failed.len(), failed.join("; ")));
            }
            lease::release(&t, &s.owner).with_context(|| format!("host `{}`", b.host.name))?;
            crate::transport::disconnect(&t);
        }
        Ok(())
    }
    fn garbage_reason(&self, _ledger: &Ledger) -> Option<String> {
        None
    }
    fn command(&self, args: &[String]) -> Option<Result<std::process::ExitCode>> {
        Some(cli::run(args).map(|_| std::process::ExitCode::SUCCESS))
    }
    fn check_machines(&self, opts: &Options, out: &std::path::Path) -> Result<()> {
        let file = opts.inventory.as_ref().ok_or_else(|| anyhow!("the hosts provider needs --inventory FILE (the machines it may use)"))?;
        cli::nightly_health(file, out)
    }
    fn shell(&self, st: &LabState, node: &str) -> Result<Arc<dyn Shell>> {
        Ok(Arc::new(HostShell { target: settings(st)?.target(node)?, lab: st.plan.lab.clone() }))
    }
    fn actuators<'a>(&self, st: &'a LabState, node: &str) -> Result<Box<dyn Actuators + 'a>> {
        Ok(Box::new(actuators::HostActuators::new(st, node)?))
    }
    fn describe(&self, st: &LabState) -> String {
        match settings(st) {
            Ok(s) => format!("hosts of {}", s.inventory.display()),
            Err(_) => "hosts".into(),
        }
    }
}
