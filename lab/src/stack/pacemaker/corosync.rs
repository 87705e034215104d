//! corosync.conf: knet over the heartbeat network (and an optional second link), every member
//! listed with its address per link; two_node only for exactly two members. It logs to its
//! file (halab reads its events there) and to syslog, as packaged: without a syslog daemon in
//! the node the lines are dropped; CTS (`halab cts`) watches them in the syslog.

use crate::topology::{Plan, PlanCluster};

pub const CONFIG: &str = "/etc/corosync/corosync.conf";

pub fn config(plan: &Plan, cl: &PlanCluster) -> String {
    let c = &cl.corosync;
    // Every `{` ends its line: corosync's parser rejects `node { ring0_addr: ... }` on one line.
    let mut s = format!(
        "# halab: corosync of lab {} (generated)\ntotem {{\n    version: 2\n    cluster_name: {}\n    transport: knet\n    token: {}\n    consensus: {}\n    crypto_cipher: none\n    crypto_hash: none\n}}\n\nnodelist {{\n",
        plan.lab, plan.lab, c.token_ms, c.consensus_ms
    );
    for (id, m) in cl.members.iter().enumerate() {
        s.push_str("    node {\n");
        if let Some(n) = plan.node(m) {
            for (li, link) in c.links.iter().enumerate() {
                if let Some(i) = n.interfaces.iter().find(|i| &i.network == link) {
                    s.push_str(&format!("        ring{li}_addr: {}\n", i.address));
                }
            }
        }
        s.push_str(&format!("        name: {m}\n        nodeid: {}\n    }}\n", id + 1));
    }
    s.push_str("}\n\nquorum {\n    provider: corosync_votequorum\n");
    if cl.members.len() == 2 {
        s.push_str("    two_node: 1\n");
    }
    s.push_str(
        "}\n\nlogging {\n    to_logfile: yes\n    logfile: /var/log/halab/corosync-events.log\n    to_syslog: yes\n    syslog_facility: daemon\n    to_stderr: no\n    timestamp: on\n}\n",
    );
    s
}
