//! Bringing a lab up as VMs: identities, qcow2 overlays, networks, domains (all started at
//! once: they boot in parallel), then SSH over the management network with pinned keys.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{conn, guest, xml};
use crate::image::{disk, Image};
use crate::interrupt;
use crate::labstate::LabState;
use crate::ledger::{lab_dir, Ledger, Object};
use crate::progress::Step;
use crate::provider::identity;

pub fn node_dir(st: &LabState, node: &str) -> PathBuf {
    lab_dir(&st.plan.lab).join("nodes").join(node)
}

/// Time a lab's VMs get to answer SSH: TCG boots are slow, and slower side by side or beside
/// other labs (4 VMs took ~45 s alone on 2 cores, over 240 s beside three netns labs).
pub fn boot_timeout(st: &LabState, nodes: usize) -> Duration {
    let kvm = super::settings(st).is_ok_and(|l| l.kvm);
    let per = if kvm { 20 } else { 90 };
    Duration::from_secs(60 + per * nodes as u64)
}

pub fn up(st: &LabState, ledger: &mut Ledger, img: &Image) -> Result<()> {
    let lv = super::settings(st)?;
    let (vms, on_netns) = super::netns_nodes::split(st);
    let n = vms.len();
    let also = if on_netns.is_empty() { String::new() } else { format!(" and {} netns nodes", on_netns.len()) };
    let step = Step::start(format!("up {} ({n} VMs{also}, libvirt {}, {})", st.plan.lab, lv.uri, if lv.kvm { "KVM" } else { "TCG" }));
    step.message("keys, identities and overlays");
    let domains = prepare(st, &lv, img, &vms, &on_netns)?;
    interrupt::step_boundary()?;
    step.message("networks");
    start_networks(st, ledger, &lv.uri, &domains)?;
    interrupt::step_boundary()?;
    step.message(&format!("starting {n} VMs"));
    let t = Instant::now();
    conn::with_conn(&lv.uri, move |c| {
        for (_, x) in &domains {
            conn::start_domain(c, x)?;
        }
        Ok(())
    })?;
    if !on_netns.is_empty() {
        // While the VMs boot: the netns nodes, cabled to the networks just made.
        step.message("netns nodes on the lab's bridges");
        crate::provider::netns::up::up_on_host(st, ledger, &on_netns)?;
    }
    step.message("waiting for SSH on every VM");
    wait_ssh(st, &vms, boot_timeout(st, n))?;
    step.message("halab-node and services");
    install_node_binary(st, &vms)?;
    for &ni in &vms {
        start_services(st, ni)?;
    }
    if !on_netns.is_empty() {
        step.message("netns nodes reach the VMs");
        super::netns_nodes::check_reach(st, &on_netns)?;
    }
    step.done(&format!("{n} VMs answer SSH, {:.1} s after start", t.elapsed().as_secs_f64()));
    Ok(())
}

/// The lab's keys, every node's identity (known_hosts), each VM's overlay on the base disk;
/// returns each VM's domain name and XML.
fn prepare(st: &LabState, lv: &super::Settings, img: &Image, vms: &[usize], on_netns: &[usize]) -> Result<Vec<(String, String)>> {
    let dir = lab_dir(&st.plan.lab);
    let (base, _) = disk::ensure_disk(img)?;
    let (kernel, initrd) = disk::kernel_and_initrd(img)?;
    identity::lab_keys(&dir)?;
    let mut known_hosts = crate::provider::netns::up::identities(st, on_netns)?;
    let mut domains = Vec::new();
    for &ni in vms {
        let node = &st.plan.nodes[ni];
        let nd = node_dir(st, &node.name);
        std::fs::create_dir_all(nd.join("identity"))?;
        let tar = nd.join("identity.tar");
        known_hosts.push_str(&guest::write_identity(st, &dir, ni, &nd.join("identity"), &tar)?);
        let overlay = nd.join("disk.qcow2");
        crate::cmd::run("qemu-img", &["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", &base.to_string_lossy(), &overlay.to_string_lossy()])
            .with_context(|| format!("failed to create the disk of `{}`", node.name))?;
        let spec = xml::DomainSpec {
            kvm: lv.kvm,
            memory_mib: node.vm.memory_mib,
            vcpus: node.vm.vcpus,
            kernel: kernel.clone(),
            initrd: initrd.clone(),
            disk: overlay,
            identity: tar,
            machine_id: identity::machine_id(&st.plan.lab, &node.name),
            console_log: nd.join("console.log"),
            mgmt_mac: guest::mgmt_mac(st, &node.name),
            index: ni,
        };
        domains.push((xml::domain_name(&st.plan, &node.name), xml::domain_xml(&st.plan, node, &spec)));
    }
    std::fs::write(dir.join("ssh/known_hosts"), known_hosts)?;
    Ok(domains)
}

/// The lab's networks and management network, started; they and the domains are written to
/// the ledger first, so an interrupted `up` leaves nothing `down` cannot find.
fn start_networks(st: &LabState, ledger: &mut Ledger, uri: &str, domains: &[(String, String)]) -> Result<()> {
    let mut nets: Vec<(String, String)> =
        (0..st.plan.networks.len()).map(|i| (xml::network_name(&st.plan, &st.plan.networks[i].name), xml::network_xml(&st.plan, i))).collect();
    nets.push((xml::mgmt_network_name(&st.plan), xml::mgmt_network_xml(&st.plan, st.host_addr, st.management.prefix_len())));
    ledger.record_all(nets.iter().map(|(name, _)| Object::Network { uri: uri.to_string(), name: name.clone() }))?;
    ledger.record_all(domains.iter().map(|(name, _)| Object::Domain { uri: uri.to_string(), name: name.clone() }))?;
    let net_xml: Vec<String> = nets.into_iter().map(|(_, x)| x).collect();
    conn::with_conn(uri, move |c| {
        for x in &net_xml {
            conn::start_network(c, x)?;
        }
        Ok(())
    })
}

/// The node's extra services (web, iperf3), as systemd units; sshd is the image's own.
pub fn start_services(st: &LabState, ni: usize) -> Result<()> {
    use crate::node::Shell;
    let shell = crate::transport::shell::SshShell { target: identity::ssh_target(st, ni)? };
    for s in &st.plan.nodes[ni].services {
        let svc = crate::node::service::known(s).with_context(|| format!("unknown service `{s}`"))?;
        let argv: Vec<&str> = svc.argv.iter().map(String::as_str).collect();
        shell.service_start(&svc.name, &argv).with_context(|| format!("on node `{}`: failed to start {s}", st.plan.nodes[ni].name))?;
    }
    Ok(())
}

/// Copy `halab-node` (the gap probe, `_clock`) to /usr/local/bin/halab in each VM over sftp:
/// the same in-node commands as on netns, so scenario files run unchanged.
pub fn install_node_binary(st: &LabState, nodes: &[usize]) -> Result<()> {
    let exe = std::fs::read(crate::node::cli::node_exe()?)?;
    crate::parallel::try_each(nodes, |&ni| crate::transport::put(&identity::ssh_target(st, ni)?, "/usr/local/bin/halab", &exe, 0o755, crate::cmd::limit::BULK))
        .map(|_| ())
}

/// Wait (in parallel) until each VM answers SSH with its pinned key; a VM that stops or stays
/// silent fails `up` with the end of its console.
pub fn wait_ssh(st: &LabState, nodes: &[usize], timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    crate::parallel::try_each(nodes, |&ni| wait_one(st, ni, deadline)).map(|_| ())
}

fn wait_one(st: &LabState, ni: usize, deadline: Instant) -> Result<()> {
    let node = &st.plan.nodes[ni].name;
    let target = identity::ssh_target(st, ni)?;
    let uri = super::settings(st)?.uri;
    let dom = xml::domain_name(&st.plan, node);
    let console = node_dir(st, node).join("console.log");
    let tail = || {
        let text = std::fs::read_to_string(&console).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    // Every 5 s: is the VM still running?
    let mut last_check = Instant::now();
    let alive = || {
        if last_check.elapsed() > Duration::from_secs(5) {
            last_check = Instant::now();
            let d = dom.clone();
            if !conn::with_conn(&uri, move |c| conn::domain_active(c, &d))? {
                bail!("VM `{node}` stopped while booting; its console ends with:\n{}", tail());
            }
        }
        Ok(())
    };
    let what = || format!("VM `{node}` did not answer SSH on {} in time; its console ({}) ends with:\n{}", target.addr, console.display(), tail());
    crate::transport::wait_ssh(&target, deadline.saturating_duration_since(Instant::now()), alive, what)?;
    Ok(())
}
