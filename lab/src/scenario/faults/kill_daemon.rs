//! `kill_daemon`: SIGKILL to one daemon of a node, which then cleans nothing up.

use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Applied, Check, Fault, Field, Verb, NODE};
use crate::lab::Lab;
use crate::scenario::target::{resolve, Target};

pub const VERB: Verb = Verb {
    name: "kill_daemon",
    doc: "kill -9 every process of one daemon on the node (it removes nothing it set up, e.g. VIPs)",
    fields: &[NODE, DAEMON],
    example: "{ kind: kill_daemon, node: \"@active\", daemon: keepalived }",
    part: None,
    check,
};

const DAEMON: Field = Field {
    name: "daemon",
    required: true,
    doc: "the program's name: keepalived, conntrackd, corosync, pacemaker-controld...",
    hint: "keepalived, conntrackd, corosync, pacemaker-controld, ...",
};

#[derive(Debug)]
struct KillDaemon {
    node: Target,
    daemon: String,
}

fn check(cx: &mut Check) -> Option<Arc<dyn Fault>> {
    let node = cx.node();
    let daemon = cx.text("daemon")?;
    // It becomes an argument of pidof inside the node: a program name, nothing else.
    if daemon.is_empty() || !daemon.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        cx.report(Some("daemon"), &format!("`{daemon}` is not a program name"), "letters, digits, -, _ and .");
        return None;
    }
    Some(Arc::new(KillDaemon { node: node?, daemon }))
}

impl Fault for KillDaemon {
    fn apply(&self, lab: &Lab) -> Result<Applied> {
        let node = resolve(lab, &self.node)?;
        kill9(&lab.node(&node)?, &self.daemon)?;
        Ok(Applied::on(node))
    }
}

/// kill -9 every process called `daemon` on the node, inside its own PID namespace, by PID:
/// nothing outside the node is touched. Every process is stopped first, then all are killed:
/// killed one by one, a parent could still react to its child's death (keepalived's parent
/// respawns its VRRP child, or a child cleans up after its parent), and the outcome would be
/// a race. pidof matches whole program names; pgrep -x stops at 15 characters
/// (pacemaker-controld).
pub(super) fn kill9(n: &crate::node::Node, daemon: &str) -> Result<()> {
    let pids = n.run(&["pidof", daemon]).with_context(|| format!("no `{daemon}` runs on {}", n.name))?;
    let pids: Vec<&str> = pids.split_whitespace().collect();
    for signal in ["-STOP", "-KILL"] {
        n.run(&[&["kill", signal][..], &pids].concat())?;
    }
    Ok(())
}
