//! Bringing a lab up on existing hosts: leases (all or none), leftovers of expired labs
//! undone, each host's lab NICs found by MAC and named as the plan names them, addresses,
//! routes and sysctls set (each change journaled on the host first), a ping matrix proving
//! the cabling, then halab's node binary and the nodes' services. The stacks follow, through
//! the journaling shell.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{journal, lease, settings, Settings};
use crate::labstate::LabState;
use crate::ledger::{Ledger, Object};
use crate::progress::Step;

/// Sysctls a lab may change on a host (forwarding, and the firewall's strict TCP tracking):
/// their values are put back by `down` (the kernel's default when the key did not exist).
const SYSCTLS: &[(&str, &str)] = &[("net.ipv4.ip_forward", "0"), ("net.netfilter.nf_conntrack_tcp_loose", "1")];

pub fn up(st: &LabState, ledger: &mut Ledger) -> Result<()> {
    let s = settings(st)?;
    let n = s.bindings.len();
    let step = Step::start(format!("up {} on {n} hosts of {}", st.plan.lab, s.inventory.display()));
    let t0 = Instant::now();
    let mut hosts: Vec<(String, crate::transport::Target)> = s.bindings.iter().map(|b| Ok((b.host.name.clone(), s.target(&b.node)?))).collect::<Result<_>>()?;
    hosts.sort_by(|a, b| a.0.cmp(&b.0));
    ledger.record_all(hosts.iter().map(|(name, t)| Object::Host { name: name.clone(), addr: t.addr.ip().to_string() }))?;
    step.message("leases");
    let (expired, asked) = lease::take_all_waiting(&hosts, &s.owner, &st.plan.lab, Duration::from_secs(s.ttl_s), Duration::from_secs(s.wait_s), &step)?;
    for (name, _) in &hosts {
        super::heal::mark_renewed(&st.plan.lab, name, asked);
    }
    let lease_s = t0.elapsed().as_secs_f64();
    for ((name, t), old) in hosts.iter().zip(&expired) {
        // We hold the lease: every journal on the host but ours is a leftover.
        for lab in journal::labs(t)?.into_iter().filter(|l| *l != st.plan.lab) {
            let (k, failed) = journal::undo(t, &lab)?;
            let why = if old.as_deref() == Some(lab.as_str()) { "whose lease expired" } else { "left behind" };
            crate::progress::info(&format!("host `{name}`: undid {k} changes of lab `{lab}` {why}{}", failed_note(&failed)));
        }
    }
    crate::interrupt::step_boundary()?;
    step.message("checking the hosts run none of the lab's daemons themselves");
    crate::parallel::try_each(&s.bindings, |b| refuse_foreign_daemons(st, &s, &b.node))?;
    step.message("lab NICs, addresses and routes");
    crate::parallel::try_each(&s.bindings, |b| configure(st, &s, &b.node))?;
    crate::interrupt::step_boundary()?;
    step.message("ping matrix on the lab networks");
    super::matrix::check(st, &s)?;
    step.message("halab-node and services");
    let all: Vec<usize> = (0..st.plan.nodes.len()).collect();
    let exe = std::fs::read(crate::node::cli::node_exe()?)?;
    let sum: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&exe).iter().map(|b| format!("{b:02x}")).collect()
    };
    crate::parallel::try_each(&all, |&ni| {
        let node = &st.plan.nodes[ni].name;
        let shell = super::HostShell { target: s.target(node)?, lab: st.plan.lab.clone() };
        // The same binary there already (a netns node playing a host has it mounted) stays.
        let same =
            crate::node::Shell::exec(&shell, &["sh", "-c", "sha256sum /usr/local/bin/halab 2>/dev/null | cut -d' ' -f1"], None, crate::cmd::limit::QUERY)
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == sum);
        if !same {
            crate::node::Shell::put(&shell, "/usr/local/bin/halab", &exe, 0o755, "root:root")?;
        }
        // The host's own sshd is how halab reaches it: never a second one.
        for svc in st.plan.nodes[ni].services.iter().filter(|s| *s != "sshd") {
            let known = crate::node::service::known(svc).with_context(|| format!("unknown service `{svc}`"))?;
            let argv: Vec<&str> = known.argv.iter().map(String::as_str).collect();
            crate::node::Shell::service_start(&shell, &known.name, &argv).with_context(|| format!("on node `{node}`: failed to start {svc}"))?;
        }
        Ok(())
    })?;
    super::renew_in_background(st.plan.lab.clone(), s.clone());
    step.done(&format!("{n} hosts leased in {lease_s:.2} s and configured, {:.1} s in all", t0.elapsed().as_secs_f64()));
    Ok(())
}

fn failed_note(failed: &[String]) -> String {
    if failed.is_empty() {
        String::new()
    } else {
        format!(" ({} failed: {})", failed.len(), failed.join("; "))
    }
}

/// The lab's daemons (the stack's and conntrackd, as `stack::daemons` names them) must be
/// halab's: a host running its own, or listing one under `never_touch.services`, is refused.
fn refuse_foreign_daemons(st: &LabState, s: &Settings, node: &str) -> Result<()> {
    let b = s.binding(node)?;
    let Some(cl) = &st.plan.cluster else { return Ok(()) };
    if !cl.members.iter().any(|m| m == node) {
        return Ok(());
    }
    let daemons: Vec<&str> = st.footprint.daemons.iter().map(String::as_str).collect();
    for svc in &b.host.never_services {
        if daemons.contains(&svc.as_str()) {
            bail!("host `{}` lists `{svc}` under never_touch.services, but node `{node}` runs it in this lab", b.host.name);
        }
    }
    let t = s.target(node)?;
    // halab's own nft table there already, in no journal: not ours to replace either.
    // A daemon by its program's name (`pacemaker` matches /usr/sbin/pacemakerd).
    let table = &st.footprint.nft_table;
    let script = format!(
        "for d; do p=$(pgrep -d, -f \"^([^ ]*/)?$d\") && echo \"$d $p\"; done; nft list table {table} >/dev/null 2>&1 && echo 'nft table {table}'; true"
    );
    let mut argv = vec!["sh", "-c", &script, "sh"];
    argv.extend_from_slice(&daemons);
    let o = crate::transport::exec(&t, &argv, None, crate::cmd::limit::QUERY)?;
    let found = String::from_utf8_lossy(&o.stdout).trim().to_string();
    if !found.is_empty() {
        bail!(
            "host `{}` runs cluster daemons or has an nft table halab did not make ({}): stop or remove them, or use another host",
            b.host.name,
            found.replace('\n', ", ")
        );
    }
    Ok(())
}

/// The host's name of each lab NIC, by MAC.
fn nic_names(t: &crate::transport::Target) -> Result<Vec<(String, String)>> {
    let o = crate::transport::exec(t, &["ip", "-j", "link"], None, crate::cmd::limit::QUERY)?;
    let links = crate::iproute::links(&o.stdout, &format!("ip -j link on {}", t.addr.ip()))?;
    Ok(links.iter().filter_map(|l| Some((l.address.as_deref()?.to_ascii_lowercase(), l.ifname.clone()))).collect())
}

/// Name, address and route the node's NICs on its host (journaled); again after a power cycle.
pub fn configure(st: &LabState, s: &Settings, node: &str) -> Result<()> {
    let b = s.binding(node)?;
    let t = s.target(node)?;
    let lab = &st.plan.lab;
    let pn = &st.plan.nodes[st.node_index(node)?];
    // halab's own directories on a node (configs, logs, pidfiles): gone at `down` unless
    // the host had them before.
    journal::own_dirs(&t, lab, &["/etc/halab", "/var/log/halab", "/run/halab", "/run/halab/svc"])?;
    let names = nic_names(&t)?;
    for nic in &b.nics {
        let Some((_, current)) = names.iter().find(|(mac, _)| *mac == nic.mac) else {
            bail!("host `{}` has no NIC with MAC {} (inventory: cabled to {})", b.host.name, nic.mac, nic.network);
        };
        if b.host.never_nics.iter().any(|n| n == current) {
            bail!("host `{}`: NIC {current} ({}) is under never_touch.nics", b.host.name, nic.mac);
        }
        if *current != nic.ifname {
            let (from, to) = (current, &nic.ifname);
            journal::change(
                &t,
                lab,
                &format!("ip link set dev {from} down && ip link set dev {from} name {to}"),
                &format!("if [ -e /sys/class/net/{to} ]; then ip link set dev {to} down; ip link set dev {to} name {from}; ip link set dev {from} up; fi"),
            )
            .with_context(|| format!("host `{}`: failed to name NIC {from} {to}", b.host.name))?;
        }
        journal::change(&t, lab, &format!("ip link set dev {} up", nic.ifname), "true")?;
    }
    for i in &pn.interfaces {
        let a = format!("{}/{}", i.address, i.prefix_len);
        journal::change(&t, lab, &format!("ip addr replace {a} dev {}", i.ifname), &format!("ip addr del {a} dev {} 2>/dev/null || true", i.ifname))?;
    }
    if let Some(cl) = &st.plan.cluster {
        for v in cl.vips.iter().filter(|v| pn.interfaces.iter().any(|i| i.ifname == v.ifname)) {
            // A VIP the stack added and a crash left behind goes too.
            let a = format!("{}/{}", v.address, v.prefix_len);
            let add = if cl.static_vip_holder() == Some(node) { format!("ip addr replace {a} dev {}", v.ifname) } else { "true".into() };
            journal::change(&t, lab, &add, &format!("ip addr del {a} dev {} 2>/dev/null || true", v.ifname))?;
        }
    }
    for r in &pn.routes {
        journal::change(&t, lab, &format!("ip route replace {} via {}", r.to, r.via), &format!("ip route del {} via {} 2>/dev/null || true", r.to, r.via))?;
    }
    for (k, default) in SYSCTLS {
        let old = crate::transport::exec(&t, &["sysctl", "-n", k], None, crate::cmd::limit::QUERY)
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        if old.is_empty() {
            // Not there yet (nf_conntrack loads with the lab's firewall): the kernel's
            // default goes back; the module itself stays loaded.
            let path = format!("/proc/sys/{}", k.replace('.', "/"));
            journal::change(&t, lab, "true", &format!("[ -e {path} ] && sysctl -q -w {k}={default}; true"))?;
        } else {
            let new = if *k == "net.ipv4.ip_forward" { u8::from(st.plan.forwards_at_boot(pn)).to_string() } else { old.clone() };
            journal::change(&t, lab, &format!("sysctl -q -w {k}={new}"), &format!("sysctl -q -w {k}={old}"))?;
        }
    }
    if st.plan.cluster.as_ref().is_some_and(|c| c.members.iter().any(|m| m == node)) {
        // The cluster starts from an empty state, once (a member that rejoins after a power
        // cycle keeps the lab's); the host's own state goes back at `down`.
        let keep = format!("{}/backup/{lab}/keep", journal::DIR);
        let dirs = st.footprint.state_dirs.join(" ");
        journal::change(
            &t,
            lab,
            &format!("[ -d {keep} ] && exit 0; mkdir -p {keep}; for d in {dirs}; do [ -d $d ] && cp -a $d {keep}/ && find $d -mindepth 1 -delete; done; true"),
            &format!(
                "nft delete table {} 2>/dev/null; [ -d {keep} ] || exit 0; for d in {dirs}; do [ -d {keep}/$(basename $d) ] && rm -rf $d && cp -a {keep}/$(basename $d) $d; done; rm -rf {keep}; true",
                st.footprint.nft_table
            ),
        )?;
    }
    Ok(())
}
