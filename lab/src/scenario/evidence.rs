//! On failure, what every node looked like: addresses, the stack's state and logs, conntrackd
//! statistics and the firewall counters, written into the run folder.

use std::path::Path;

use crate::lab::Lab;

const COMMANDS: &[(&str, &str)] = &[
    ("ip addr", "ip -br addr"),
    ("ip route", "ip route"),
    ("crm_mon -1", "command -v crm_mon >/dev/null && [ -S /var/run/crm/cib_ro ] 2>/dev/null; crm_mon -1 2>&1 | head -60"),
    ("conntrackd -s", "[ -f /etc/conntrackd/conntrackd.conf ] && conntrackd -C /etc/conntrackd/conntrackd.conf -s 2>&1"),
    ("nft list ruleset", "nft list ruleset 2>&1"),
    ("keepalived state", "cat /run/halab/ha-state 2>/dev/null"),
    ("daemon logs (tail)", "for f in /var/log/halab/*.log /var/log/pacemaker/pacemaker.log; do [ -f \"$f\" ] && echo \"== $f\" && tail -n 40 \"$f\"; done"),
];

pub fn collect(st: &Lab, dir: &Path) {
    let ev = dir.join("evidence");
    let _ = std::fs::create_dir_all(&ev);
    let is_member = |n: &str| st.plan.cluster.as_ref().is_some_and(|c| c.members.iter().any(|m| m == n));
    for node in &st.plan.nodes {
        let mut out = String::new();
        if !st.running(&node.name) {
            out.push_str("node is powered off\n");
        } else if let Ok(n) = st.node(&node.name) {
            for (title, cmd) in COMMANDS {
                if !is_member(&node.name) && !title.starts_with("ip") {
                    continue;
                }
                let text = n
                    .exec(&["sh", "-c", cmd], None, crate::cmd::limit::QUERY)
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_else(|e| format!("({e:#})"));
                out.push_str(&format!("### {title}\n{text}\n"));
            }
        }
        let _ = std::fs::write(ev.join(format!("{}.txt", node.name)), out);
    }
}
