//! What pacemaker asked of the agent, call by call. The live cluster's resource is of type
//! `KIND-recorded`, a wrapper that runs the agent under test (from its own path, with its own
//! type in OCF_RESOURCE_TYPE) and appends each call to /run/halab-agent-calls in the member:
//! time, action, notify type and operation, interval, exit code. From these: every notify
//! succeeded, and each promote and demote had its pre- and post-notification around it.

use crate::lab::Lab;

pub const LOG: &str = "/run/halab-agent-calls";

/// The wrapper's type for the agent `kind`.
pub fn recorded(kind: &str) -> String {
    format!("{kind}-recorded")
}

/// The wrapper script for the agent `kind` (installed beside it).
pub fn script(kind: &str) -> String {
    format!(
        "#!/bin/sh\n# halab agent test: pacemaker calls {kind} through this wrapper, which records each call.\n\
         OCF_RESOURCE_TYPE={kind}; export OCF_RESOURCE_TYPE\n\"$(dirname \"$0\")/{kind}\" \"$@\"\nrc=$?\n\
         echo \"$(date +%s%N) ${{1:--}} ${{OCF_RESKEY_CRM_meta_notify_type:--}} ${{OCF_RESKEY_CRM_meta_notify_operation:--}} ${{OCF_RESKEY_CRM_meta_interval:-0}} $rc\" >> {LOG}\nexit $rc\n"
    )
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub node: String,
    pub action: String,
    /// For a notify: `pre promote`, `post demote`.
    pub notify: Option<String>,
    pub interval_ms: u64,
    pub rc: i32,
}

impl Call {
    fn show(&self) -> String {
        let what = self.notify.as_ref().map(|n| format!("notify {n}")).unwrap_or_else(|| self.action.clone());
        format!("{}: {what} → {}", self.node, self.rc)
    }
}

pub fn parse(node: &str, text: &str) -> Vec<Call> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let [_, action, ntype, nop, interval, rc] = w.as_slice() else { return None };
            let notify = (*action == "notify").then(|| format!("{ntype} {nop}"));
            Some(Call { node: node.into(), action: action.to_string(), notify, interval_ms: interval.parse().ok()?, rc: rc.parse().ok()? })
        })
        .collect()
}

/// The calls recorded in `node` so far (none when it is down).
pub fn read(lab: &Lab, node: &str) -> Vec<Call> {
    lab.node(node).and_then(|n| n.run(&["sh", "-c", &format!("cat {LOG} 2>/dev/null || true")])).map(|t| parse(node, &t)).unwrap_or_default()
}

/// The problems in one member's calls: a notify that failed; a promote or demote whose
/// neighbours (monitors and meta-data aside) are not its own pre- and post-notification.
pub fn notify_problems(calls: &[Call]) -> Vec<String> {
    let ops: Vec<&Call> = calls.iter().filter(|c| c.action != "monitor" && c.action != "meta-data").collect();
    let mut out = Vec::new();
    for (i, c) in ops.iter().enumerate() {
        if c.action == "notify" && c.rc != 0 {
            out.push(format!("{} (a notify must succeed)", c.show()));
        }
        if c.action == "promote" || c.action == "demote" {
            let pre = i.checked_sub(1).and_then(|j| ops.get(j)).and_then(|p| p.notify.clone());
            let post = ops.get(i + 1).and_then(|p| p.notify.clone());
            if pre.as_deref() != Some(&format!("pre {}", c.action)) || post.as_deref() != Some(&format!("post {}", c.action)) {
                out.push(format!("{}: {} between {} and {}", c.node, c.action, pre.unwrap_or("nothing".into()), post.unwrap_or("nothing".into())));
            }
        }
    }
    out
}

/// The calls in order, for a check's evidence (monitors counted, not listed).
pub fn summary(calls: &[Call]) -> Vec<String> {
    let monitors = calls.iter().filter(|c| c.action == "monitor").count();
    let mut v: Vec<String> = calls.iter().filter(|c| c.action != "monitor" && c.action != "meta-data").map(|c| format!("  | {}", c.show())).collect();
    v.push(format!("  | and {monitors} monitors"));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(text: &str) -> Vec<Call> {
        parse("n1", text)
    }

    #[test]
    fn a_promote_between_its_notifications_is_fine_and_a_failed_notify_or_a_bare_demote_is_not() {
        let good = "1 start - - 0 0\n2 monitor - - 3000 0\n3 notify pre promote 0 0\n4 promote - - 0 0\n5 notify post promote 0 0\n6 monitor - - 2000 8\n";
        assert!(notify_problems(&calls(good)).is_empty());
        let failed = good.replace("5 notify post promote 0 0", "5 notify post promote 0 1");
        assert_eq!(notify_problems(&calls(&failed)), ["n1: notify post promote → 1 (a notify must succeed)"]);
        let bare = "1 demote - - 0 0\n2 notify post demote 0 0\n";
        assert_eq!(notify_problems(&calls(bare)), ["n1: demote between nothing and post demote"]);
        assert_eq!(parse("n1", "torn line\n1 start - -").len(), 0);
    }
}
