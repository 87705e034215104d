//! The single-node layer: resource-agents' own `ocf-tester`, then the exit-code rules of the
//! OCF spec one by one, each with the calls that decided it. The agent runs on one member,
//! outside pacemaker's control (pacemaker runs in the lab, so `crm_attribute` calls work).

use super::agent::{Agent, Call, INSTANCE, OCF_ROOT};
use super::static_checks::Meta;
use super::Check;

const LAYER: &str = "single node";

fn rc_is(c: &Call, want: &[i32]) -> bool {
    c.rc.is_some_and(|r| want.contains(&r))
}

/// A check decided by a sequence of calls: it passes when each call returned what it must.
fn sequence(name: &str, calls: Vec<(Call, &[i32])>) -> Check {
    let mut passed = true;
    let mut ev = Vec::new();
    for (c, want) in calls {
        let ok = rc_is(&c, want);
        passed &= ok;
        let mut e = c.evidence();
        if !ok {
            e[0] = format!("{}, expected {}", e[0], want.iter().map(|r| format!("{r} ({})", super::agent::rc_name(*r))).collect::<Vec<_>>().join(" or "));
        }
        ev.extend(e);
    }
    Check::new(LAYER, name, passed, ev)
}

fn ocf_tester(a: &Agent) -> Check {
    let mut argv: Vec<String> = vec!["env".into(), format!("OCF_ROOT={OCF_ROOT}")];
    argv.extend(a.clone_max.map(super::agent::promotable_meta).unwrap_or_default());
    argv.extend(["ocf-tester".into(), "-n".into(), INSTANCE.into()]);
    for (k, v) in &a.params {
        argv.push("-o".into());
        argv.push(format!("{k}={v}"));
    }
    argv.push(a.path());
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let o = a.node.exec(&refs, None, std::time::Duration::from_secs(300));
    let (passed, mut ev) = match o {
        Ok(o) => {
            let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
            // Its findings are `* rc=N: message`; its verdict the last line.
            let lines: Vec<String> = out
                .lines()
                .filter(|l| l.starts_with("* rc=") || l.contains("passed all tests") || l.contains("Tests failed") || l.contains("Aborting"))
                .map(|l| format!("  | {l}"))
                .collect();
            (o.status.success(), lines)
        }
        Err(e) => (false, vec![format!("{e:#}")]),
    };
    ev.insert(0, format!("ocf-tester -n {INSTANCE}{} {}", a.params.iter().map(|(k, v)| format!(" -o {k}={v}")).collect::<String>(), a.path()));
    Check::new(LAYER, "ocf-tester passes", passed, ev)
}

pub fn run(a: &Agent, meta: Option<&Meta>) -> Vec<Check> {
    let mut out = vec![ocf_tester(a)];
    // From a clean slate: whatever ocf-tester left running is stopped first (and judged).
    out.push(sequence("stop of a stopped resource succeeds", vec![(a.call("stop"), &[0]), (a.call("stop"), &[0])]));
    out.push(sequence("monitor of a stopped resource returns 7 (OCF_NOT_RUNNING), a probe too", vec![(a.call("monitor"), &[7]), (a.probe(), &[7])]));
    out.push(sequence("start succeeds and monitor then reports running", vec![(a.call("start"), &[0]), (a.call("monitor"), &[0])]));
    out.push(sequence("start of a started resource succeeds (idempotent)", vec![(a.call("start"), &[0]), (a.call("monitor"), &[0])]));
    out.push(sequence("a probe finds the running resource", vec![(a.probe(), &[0])]));
    out.push(sequence("monitor after stop reports not running", vec![(a.call("stop"), &[0]), (a.call("monitor"), &[7])]));
    out.push(sequence("validate-all accepts the given parameters", vec![(a.call("validate-all"), &[0])]));
    out.push(missing_required(a, meta));
    // Leave nothing running.
    let _ = a.call("stop");
    out
}

/// validate-all without each required parameter must refuse: OCF_ERR_CONFIGURED (6), or
/// OCF_ERR_ARGS (2) as some agents answer.
fn missing_required(a: &Agent, meta: Option<&Meta>) -> Check {
    let name = "validate-all refuses when a required parameter is missing";
    let required: Vec<&String> = meta.map(|m| m.params.iter().filter(|(_, r)| *r).map(|(n, _)| n).collect()).unwrap_or_default();
    if required.is_empty() {
        return Check::new(LAYER, name, true, vec!["the meta-data declares no required parameter".into()]);
    }
    let calls = required
        .iter()
        .map(|p| {
            let without: Vec<(String, String)> = a.params.iter().filter(|(k, _)| k != *p).cloned().collect();
            let mut c = a.call_with("validate-all", Some(&without), &[]);
            c.action = format!("validate-all without {p}");
            (c, &[6, 2][..])
        })
        .collect();
    sequence(name, calls)
}
