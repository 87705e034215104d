//! Faults on VMs through libvirt: a cable pull is the NIC's link state (the guest sees carrier
//! loss), a power cut is `destroy`, power on is `start`, a freeze is suspend/resume. Reboot is
//! the guest's own (`systemctl reboot`, like the netns SIGTERM to init), with a hard reset when
//! the guest no longer answers.

use std::time::Duration;

use anyhow::{Context, Result};

use super::{conn, up, xml};
use crate::labstate::LabState;
use crate::provider::identity::ssh_target;

fn uri(st: &LabState) -> Result<String> {
    Ok(super::settings(st)?.uri)
}

pub fn set_link(st: &LabState, node: &str, ifname: &str, up: bool) -> Result<()> {
    let ni = st.node_index(node)?;
    let n = &st.plan.nodes[ni];
    let (network, mac) = if ifname == crate::labstate::MGMT_IF {
        (None, super::guest::mgmt_mac(st, node))
    } else {
        let i = n.interfaces.iter().find(|i| i.ifname == ifname).with_context(|| {
            let names: Vec<&str> = n.interfaces.iter().map(|i| i.ifname.as_str()).collect();
            format!("node `{node}` has no interface `{ifname}` (it has: {}, mgmt)", names.join(", "))
        })?;
        (Some(i.network.clone()), i.mac.clone())
    };
    let dev = match network {
        Some(net) => xml::link_state_xml(&st.plan, &net, &mac, up),
        None => xml::mgmt_link_state_xml(&st.plan, &mac, up),
    };
    let dom = xml::domain_name(&st.plan, node);
    conn::with_conn(&uri(st)?, move |c| conn::update_link(c, &dom, &dev))
}

pub fn power_off(st: &LabState, node: &str) -> Result<()> {
    let ni = st.node_index(node)?;
    let dom = xml::domain_name(&st.plan, node);
    conn::with_conn(&uri(st)?, move |c| conn::destroy_domain(c, &dom))?;
    crate::transport::disconnect(&ssh_target(st, ni)?);
    Ok(())
}

pub fn power_on(st: &LabState, node: &str) -> Result<()> {
    let ni = st.node_index(node)?;
    let dom = xml::domain_name(&st.plan, node);
    conn::with_conn(&uri(st)?, move |c| conn::start_defined(c, &dom)).with_context(|| format!("cannot power on node `{node}`"))?;
    booted(st, ni)
}

/// A boot, whoever started it: SSH answers (a new connection), then the node's services.
fn booted(st: &LabState, ni: usize) -> Result<()> {
    crate::transport::disconnect(&ssh_target(st, ni)?);
    up::wait_ssh(st, &[ni], up::boot_timeout(st, 1))?;
    up::start_services(st, ni)
}

pub fn reboot(st: &LabState, node: &str) -> Result<()> {
    let ni = st.node_index(node)?;
    let t = ssh_target(st, ni)?;
    let boot_id = |timeout| {
        crate::transport::exec(&t, &["cat", "/proc/sys/kernel/random/boot_id"], None, timeout)
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let before = boot_id(Duration::from_secs(5));
    // The connection drops as the guest goes down: no answer is expected.
    let asked = crate::transport::exec(&t, &["systemctl", "reboot"], None, Duration::from_secs(5)).is_ok_and(|o| o.status.success());
    crate::transport::disconnect(&t);
    if before.is_none() || !asked {
        let dom = xml::domain_name(&st.plan, node);
        conn::with_conn(&uri(st)?, move |c| conn::reset(c, &dom))?;
    }
    // A new boot id: the guest went down and came up again (the old one may still answer
    // for a moment after the request).
    let back = || {
        let new = boot_id(Duration::from_secs(3)).is_some_and(|n| Some(&n) != before.as_ref());
        if !new {
            // The next try on a new connection, not on one the reboot broke.
            crate::transport::disconnect(&t);
        }
        Ok(new)
    };
    crate::wait::until(up::boot_timeout(st, 1), Duration::from_millis(500), back, || format!("node `{node}` did not come back after a reboot"))?;
    up::start_services(st, ni)
}

pub fn freeze(st: &LabState, node: &str, frozen: bool) -> Result<()> {
    let dom = xml::domain_name(&st.plan, node);
    st.node_index(node)?;
    conn::with_conn(&uri(st)?, move |c| conn::set_frozen(c, &dom, frozen))
}

pub fn running(st: &LabState, node: &str) -> bool {
    let dom = xml::domain_name(&st.plan, node);
    uri(st).and_then(|u| conn::with_conn(&u, move |c| conn::domain_active(c, &dom))).unwrap_or(false)
}

/// The lab's own nft table in the host (bridge family): VM networks are host bridges.
pub fn loss_table(st: &LabState) -> String {
    format!("hl{}_loss", st.plan.id)
}

/// Drop `percent` % of the frames in both directions of a VM's interface, on its host-side tap
/// (the same rules as netns, in a table of the lab's own; 0 removes them).
pub fn set_loss(st: &LabState, node: &str, ifname: &str, percent: u32) -> Result<()> {
    let ni = st.node_index(node)?;
    let n = &st.plan.nodes[ni];
    let ii = n.interfaces.iter().position(|i| i.ifname == ifname).with_context(|| format!("node `{node}` has no interface `{ifname}`"))?;
    let path = crate::ledger::lab_dir(&st.plan.lab).join("tap-loss.json");
    let table = loss_table(st);
    let mut ledger = crate::ledger::Ledger::open(&st.plan.lab)?;
    ledger.record(crate::ledger::Object::NftTable { family: "bridge".into(), name: table.clone() })?;
    let script = crate::provider::fabric_loss::update(&path, &table, &xml::tap_name(&st.plan, ni, Some(ii)), percent)?;
    crate::cmd::run_input("nft", &["-f", "-"], Some(&script)).map(|_| ())
}

/// One VM's actuators.
pub struct Vm<'a> {
    pub st: &'a LabState,
    pub node: String,
}

impl crate::provider::Actuators for Vm<'_> {
    fn describe(&self, part: crate::provider::Part) -> String {
        use crate::provider::Part::*;
        match part {
            Power => "libvirt: domain destroyed (a power cut)",
            Cable => "libvirt: the domain's interface link state (carrier loss)",
            Loss => "libvirt: nft drop on the host's tap",
            Freeze => "libvirt: domain suspended",
        }
        .into()
    }
    fn running(&self) -> bool {
        running(self.st, &self.node)
    }
    fn set_link(&self, ifname: &str, up: bool, _heal_after: Option<Duration>) -> Result<()> {
        set_link(self.st, &self.node, ifname, up)
    }
    fn power_off(&self) -> Result<()> {
        power_off(self.st, &self.node)
    }
    fn power_on(&self) -> Result<()> {
        power_on(self.st, &self.node)
    }
    fn booted(&self) -> Result<()> {
        booted(self.st, self.st.node_index(&self.node)?)
    }
    fn reboot(&self) -> Result<()> {
        reboot(self.st, &self.node)
    }
    fn freeze(&self, frozen: bool) -> Result<()> {
        freeze(self.st, &self.node, frozen)
    }
    fn set_loss(&self, ifname: &str, percent: u32, _heal_after: Option<Duration>) -> Result<()> {
        set_loss(self.st, &self.node, ifname, percent)
    }
}
