//! Per-node identity, the same on every provider: written into a netns node's upper dir, or
//! into the tar a VM unpacks at boot (never into the shared image): hostname, machine-id, /etc/hosts naming every lab node, a resolv.conf that
//! points nowhere outside the lab, its own SSH host key, the lab's authorized key.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::cmd;
use crate::labstate::LabState;

/// The lab's key pair (`ssh/id_ed25519`) and known_hosts, in the lab's directory.
pub fn lab_keys(lab_dir: &Path) -> Result<()> {
    let dir = lab_dir.join("ssh");
    fs::create_dir_all(&dir)?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    let key = dir.join("id_ed25519");
    keygen(&key, "halab-lab")?;
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600))?;
    Ok(())
}

fn keygen(path: &Path, comment: &str) -> Result<()> {
    let p = path.to_string_lossy();
    cmd::run("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", &p])
        .context("failed to generate an SSH key (is openssh-client installed?)")?;
    Ok(())
}

/// Write node `ni`'s identity below `upper` (a root); returns its known_hosts line.
pub fn write_node(st: &LabState, lab_dir: &Path, ni: usize, upper: &Path) -> Result<String> {
    let node = &st.plan.nodes[ni];
    let etc = upper.join("etc");
    fs::create_dir_all(etc.join("ssh/sshd_config.d"))?;
    fs::write(etc.join("hostname"), format!("{}\n", node.name))?;
    fs::write(etc.join("machine-id"), format!("{}\n", machine_id(&st.plan.lab, &node.name)))?;
    fs::write(etc.join("hosts"), hosts_file(st))?;
    // Nodes must never try the host's resolver (crmsh waits 34 s per command on DNS timeouts).
    fs::write(etc.join("resolv.conf"), "# halab lab: no resolver; names are in /etc/hosts\noptions timeout:1 attempts:1\n")?;
    fs::write(
        etc.join("ssh/sshd_config.d/halab.conf"),
        "HostKey /etc/ssh/ssh_host_ed25519_key\nPermitRootLogin prohibit-password\nUseDNS no\nPasswordAuthentication no\n",
    )?;
    let hostkey = etc.join("ssh/ssh_host_ed25519_key");
    if !hostkey.exists() {
        keygen(&hostkey, &format!("root@{}", node.name))?;
    }
    let ssh_dir = upper.join("root/.ssh");
    fs::create_dir_all(&ssh_dir)?;
    fs::set_permissions(&ssh_dir, fs::Permissions::from_mode(0o700))?;
    let lab_pub = fs::read_to_string(lab_dir.join("ssh/id_ed25519.pub"))?;
    fs::write(ssh_dir.join("authorized_keys"), lab_pub)?;
    fs::set_permissions(ssh_dir.join("authorized_keys"), fs::Permissions::from_mode(0o600))?;
    let host_pub = fs::read_to_string(hostkey.with_extension("pub"))?;
    let mut fields = host_pub.split_whitespace();
    let (kind, key) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
    Ok(format!("{},{} {kind} {key}\n", st.node_mgmt_addr(ni), node.name))
}

fn hosts_file(st: &LabState) -> String {
    let mut s = String::from("127.0.0.1 localhost\n");
    for (i, n) in st.plan.nodes.iter().enumerate() {
        // A node's name resolves to its first lab interface; `<node>-<if>` names each one.
        if let Some(first) = n.interfaces.first() {
            s.push_str(&format!("{} {}\n", first.address, n.name));
        }
        for iface in &n.interfaces {
            s.push_str(&format!("{} {}-{}\n", iface.address, n.name, iface.ifname));
        }
        s.push_str(&format!("{} {}-mgmt\n", st.node_mgmt_addr(i), n.name));
    }
    s
}

pub fn machine_id(lab: &str, node: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("machine-id/{lab}/{node}").as_bytes());
    h.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// How to reach node `ni` over SSH: its management address, the lab's key, its pinned host key.
pub fn ssh_target(st: &LabState, ni: usize) -> Result<crate::transport::Target> {
    let dir = crate::ledger::lab_dir(&st.plan.lab).join("ssh");
    let name = &st.plan.nodes[ni].name;
    let known = fs::read_to_string(dir.join("known_hosts")).with_context(|| format!("lab `{}` has no known_hosts", st.plan.lab))?;
    let line = known
        .lines()
        .find(|l| l.split_whitespace().next().is_some_and(|h| h.split(',').any(|n| n == name)))
        .with_context(|| format!("no pinned host key for node `{name}`"))?;
    let key: Vec<&str> = line.split_whitespace().skip(1).take(2).collect();
    Ok(crate::transport::Target {
        addr: std::net::SocketAddr::from((st.node_mgmt_addr(ni), 22)),
        user: "root".into(),
        key: dir.join("id_ed25519"),
        host_key: key.join(" "),
    })
}

/// The `ip -batch` that configures node `ni`'s links, addresses and routes: run by halab's
/// init in a netns node and by the identity unit in a VM, so both are configured alike (and
/// keep their addresses when a cable is pulled, as a real NIC does).
pub fn ip_batch(st: &LabState, ni: usize) -> String {
    use crate::labstate::MGMT_IF as NODE_MGMT_IF;
    let node = &st.plan.nodes[ni];
    let mut ip = String::from("link set lo up\n");
    ip.push_str(&format!("addr add {}/{} dev {NODE_MGMT_IF}\nlink set {NODE_MGMT_IF} up\n", st.node_mgmt_addr(ni), st.management.prefix_len()));
    for i in &node.interfaces {
        ip.push_str(&format!("addr add {}/{} dev {}\nlink set {} up\n", i.address, i.prefix_len, i.ifname, i.ifname));
    }
    // Without a stack the first cluster member holds the VIPs, so the lab routes end to end.
    if let Some(cl) = &st.plan.cluster {
        if cl.static_vip_holder() == Some(node.name.as_str()) {
            for v in &cl.vips {
                ip.push_str(&format!("addr add {}/{} dev {}\n", v.address, v.prefix_len, v.ifname));
            }
        }
    }
    for r in &node.routes {
        ip.push_str(&format!("route add {} via {}\n", r.to, r.via));
    }
    ip
}
