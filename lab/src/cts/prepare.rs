//! What Pacemaker's CTS needs of a halab lab before `cts-lab` starts (docs/pacemaker-cts.md):
//! on each member a `service` and a `systemctl` command (netns nodes run no systemd) and a
//! syslog daemon for its log watcher; on the exerciser the lab's key, its pinned host keys and
//! an ssh_config that reaches each member by name over the management network.

use anyhow::{bail, Context, Result};

use crate::lab::Lab;
use crate::stack::pacemaker::daemons;

pub const CTS_LAB: &str = "/usr/share/pacemaker/tests/cts-lab";

/// The member's commands and syslog; its config stays on the node's disk, so the syslog comes
/// back at every boot (`daemons::start`), as after a fence.
pub fn member(lab: &Lab, name: &str) -> Result<()> {
    let n = lab.node(name)?;
    if !n.succeeds(&["test", "-x", "/usr/sbin/rsyslogd"]) {
        bail!("member `{name}` has no rsyslogd: CTS reads the cluster's syslog; add rsyslog to the topology's `packages` ({})", lab.plan.topology.display());
    }
    n.put("/usr/local/sbin/service", &daemons::service_script(), 0o755, "root:root")?;
    n.put("/usr/local/sbin/systemctl", daemons::SYSTEMCTL_SCRIPT, 0o755, "root:root")?;
    n.put(daemons::SYSLOG_CONF, daemons::SYSLOG_CONF_TEXT, 0o644, "root:root")?;
    n.service_start("syslog", daemons::SYSLOG)
}

/// The exerciser reaches each member as CTS does (`ssh -l root NAME`, `ping NAME`), checked
/// here so a lab CTS cannot drive fails now, naming the member, not ten minutes into a test.
pub fn exerciser(lab: &Lab, name: &str, members: &[String]) -> Result<()> {
    let n = lab.node(name)?;
    if !n.succeeds(&["test", "-x", CTS_LAB]) {
        bail!(
            "node `{name}` has no {CTS_LAB}: add pacemaker-cts (and rsyslog) to the topology's `packages` ({}); Debian 13's image has it, Debian 12 has no pacemaker-cts",
            lab.plan.topology.display()
        );
    }
    let dir = crate::ledger::lab_dir(&lab.plan.lab).join("ssh");
    let key = std::fs::read(dir.join("id_ed25519")).context("reading the lab's SSH key")?;
    let known = std::fs::read_to_string(dir.join("known_hosts")).context("reading the lab's known_hosts")?;
    n.sh("mkdir -p /root/.ssh && chmod 700 /root/.ssh")?;
    n.put_bytes("/root/.ssh/id_ed25519", &key, 0o600, "root:root")?;
    n.put("/root/.ssh/known_hosts", &known, 0o644, "root:root")?;
    let mut config = String::from("# halab cts: each member by its name, over the management network, host key pinned\n");
    for m in members {
        config.push_str(&format!("Host {m}\n    HostName {}\n", lab.mgmt_addrs.get(m).context("member without a management address")?));
    }
    config.push_str("Host *\n    User root\n    IdentityFile /root/.ssh/id_ed25519\n    BatchMode yes\n    StrictHostKeyChecking yes\n");
    n.put("/root/.ssh/config", &config, 0o600, "root:root")?;
    for m in members {
        let uname = n.run(&["ssh", m, "uname", "-n"]).with_context(|| format!("the exerciser `{name}` cannot reach member `{m}` over SSH"))?;
        if uname.trim() != m {
            bail!("member `{m}` calls itself `{}`: CTS needs node names equal to `uname -n`", uname.trim());
        }
        if !n.succeeds(&["ping", "-nq", "-c1", "-w1", m]) {
            bail!("the exerciser `{name}` cannot ping `{m}` by name (CTS's check that a node is up): put it on a network with {m}'s first interface");
        }
    }
    Ok(())
}
