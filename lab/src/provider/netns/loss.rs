//! Packet loss and blocks on a node's cable, done on the fabric side with nftables in the
//! bridge family (this kernel has no netem). 100% is a clean cut that, unlike a pulled cable,
//! involves no carrier change: the kernel applies carrier changes through its link-watch work,
//! up to a second late, which a pulled cable's gap includes and a block's does not.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::names;
use crate::cmd;
use crate::labstate::LabState;
use crate::ledger::lab_dir;

fn state_path(st: &LabState) -> std::path::PathBuf {
    lab_dir(&st.plan.lab).join("fabric-loss.json")
}

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
    let script = update(&state_path(st), "halab_loss", &port, percent)?;
    // Inside the fabric namespace: the host's own nftables are never touched.
    cmd::run_input("ip", &["netns", "exec", &names::fabric_ns(&st.plan), "nft", "-f", "-"], Some(&script)).map(|_| ())
}

/// Record `percent` for `port` in the lab's loss table at `path` and return the nft script that
/// replaces bridge table `table` with rules for every port in it. Shared with the libvirt
/// provider, whose ports are the host-side taps.
pub fn update(path: &std::path::Path, table: &str, port: &str, percent: u32) -> Result<String> {
    if percent > 100 {
        bail!("loss must be 0-100 %, not {percent}");
    }
    let mut ports: BTreeMap<String, u32> = std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default();
    if percent == 0 {
        ports.remove(port);
    } else {
        ports.insert(port.to_string(), percent);
    }
    std::fs::write(path, serde_json::to_vec(&ports)?)?;
    let mut rules = String::new();
    for (p, pct) in &ports {
        let cond = if *pct >= 100 { String::new() } else { format!("numgen random mod 100 < {pct} ") };
        rules.push_str(&format!("        iifname \"{p}\" {cond}drop\n        oifname \"{p}\" {cond}drop\n"));
    }
    Ok(format!(
        "table bridge {table}\ndelete table bridge {table}\ntable bridge {table} {{\n    chain forward {{\n        type filter hook forward priority filter; policy accept;\n{rules}    }}\n}}\n"
    ))
}
