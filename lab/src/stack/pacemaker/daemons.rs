//! How corosync and pacemaker start and stop inside a node: halab's own `start` (up, rejoin)
//! and the `service` command Pacemaker's CTS calls (`halab cts`) run the same command lines,
//! so a stack CTS restarted is the stack halab would have started.

use std::time::Duration;

use anyhow::Result;

use super::{alert, DIRS, LOG};
use crate::lab::Lab;
use crate::node::Node;

pub const COROSYNC: &[&str] = &["/usr/sbin/corosync", "-f"];

/// Pacemaker logs to its file (halab's parsers) and to syslog (facility daemon, as a packaged
/// pacemaker does): without a syslog daemon in the node the lines are dropped; with one (a
/// node `halab cts` prepared) they reach /var/log/messages beside corosync's.
pub fn pacemaker_argv() -> Vec<String> {
    ["/usr/bin/env", &format!("PCMK_logfile={LOG}"), "PCMK_logfacility=daemon", "/usr/sbin/pacemakerd"].map(String::from).to_vec()
}

/// A node `halab cts` prepared runs rsyslog with this config (only the local socket, nothing
/// from the kernel: /proc/kmsg is the host's), from every boot on.
pub const SYSLOG_CONF: &str = "/etc/halab/rsyslog.conf";
pub const SYSLOG: &[&str] = &["/usr/sbin/rsyslogd", "-n", "-f", SYSLOG_CONF, "-i", "/run/rsyslogd.pid"];
pub const SYSLOG_CONF_TEXT: &str = "# halab: syslog for Pacemaker's CTS (halab cts)\nmodule(load=\"imuxsock\")\n*.* /var/log/messages\n";

/// /run is new at every boot; the alert agent runs as hacluster; pacemakerd gives up when
/// corosync does not answer yet (systemd orders them; we wait).
pub fn start(st: &Lab, node: &Node) -> Result<()> {
    node.sh(DIRS)?;
    node.sh(&alert::prepare())?;
    if node.succeeds(&["test", "-e", SYSLOG_CONF]) {
        node.service_start("syslog", SYSLOG)?;
    }
    node.service_start("corosync", COROSYNC)?;
    crate::wait::until(
        Duration::from_secs(20) * st.time_scale(),
        crate::wait::EVERY,
        || Ok(node.succeeds(&["corosync-cfgtool", "-s"])),
        || format!("corosync does not answer on `{}`", node.name),
    )?;
    let argv = pacemaker_argv();
    node.service_start("pacemaker", &argv.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `/usr/local/sbin/service` for CTS: `service corosync|pacemaker start|stop|status` as
/// `start` above does it, through the node's service supervisor (`halab _svc`).
pub fn service_script() -> String {
    let q = |argv: &[String]| argv.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
    let corosync = q(&COROSYNC.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    format!(
        r#"#!/bin/sh
# halab: `service` for Pacemaker's CTS in a node without systemd (written by `halab cts`).
# It starts and stops corosync and pacemaker exactly as halab does (stack/pacemaker/daemons.rs).
case "$1 $2" in
"corosync start")
    {DIRS} || exit 1
    halab _svc start corosync -- {corosync} || exit 1
    i=0
    until corosync-cfgtool -s >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -gt 200 ] && {{ echo "corosync does not answer" >&2; exit 1; }}
        sleep 0.1
    done ;;
"pacemaker start") halab _svc start pacemaker -- {pacemaker} ;;
"corosync stop"|"pacemaker stop"|"corosync status"|"pacemaker status") halab _svc "$2" "$1" ;;
*) echo "service: halab's nodes know only corosync and pacemaker start|stop|status, not: $*" >&2; exit 1 ;;
esac
"#,
        pacemaker = q(&pacemaker_argv())
    )
}

/// `/usr/local/sbin/systemctl`: cts-support calls `systemctl daemon-reload` after installing
/// its units and dies of a missing systemctl; anything else says there is no systemd, which
/// is how CTS finds out (`systemctl list-units` fails).
pub const SYSTEMCTL_SCRIPT: &str = "#!/bin/sh\n# halab: no systemd in this node (written by `halab cts`)\n[ \"$1\" = daemon-reload ] && exit 0\necho \"systemctl: this node runs no systemd\" >&2\nexit 1\n";
