//! Loss on a netns node's cable: the fabric-side port's frames, dropped by nftables inside
//! the lab's fabric namespace (the host's own nftables are never touched).

use anyhow::{bail, Result};

use super::names;
use crate::cmd;
use crate::labstate::LabState;
use crate::ledger::lab_dir;

fn port_of(st: &LabState, node: &str, ifname: &str) -> Result<String> {
    let ni = st.node_index(node)?;
    let n = &st.plan.nodes[ni];
    match n.interfaces.iter().position(|i| i.ifname == ifname) {
        Some(ii) => Ok(names::port(&st.plan, ni, ii)),
        None => bail!("node `{node}` has no interface `{ifname}`"),
    }
}

/// Drop `percent` % of the frames in both directions of a node's interface (0 removes it).
pub fn set_loss(st: &LabState, node: &str, ifname: &str, percent: u32) -> Result<()> {
    let port = port_of(st, node, ifname)?;
    let script = crate::provider::fabric_loss::update(&lab_dir(&st.plan.lab).join("fabric-loss.json"), "halab_loss", &port, percent)?;
    cmd::run_input("ip", &["netns", "exec", &names::fabric_ns(&st.plan), "nft", "-f", "-"], Some(&script)).map(|_| ())
}
