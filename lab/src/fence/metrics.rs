//! The fencing numbers of a run, from pacemaker's confirmations and the fencer's log.

use super::Action;
use crate::measure::clock::{figure, ms_between};
use crate::measure::metrics::{run as metric, Metrics};

/// A fencing pacemaker confirmed, from its alert agent's line in the stack events
/// ("fencing fw1 - st_notify_fence Operation reboot of fw1 by fw2 ...: OK ... rc=0"): the
/// target, if it succeeded.
pub fn confirmed(what: &str) -> Option<String> {
    let rest = what.strip_prefix("fencing ")?;
    (what.contains(": OK") || what.ends_with("rc=0")).then(|| rest.split_whitespace().next().map(str::to_string)).flatten()
}

/// The fencing numbers of a run. Who was fenced is pacemaker's word (its fencing alerts,
/// `confirmations`: host ns, target), whatever the method; when it was asked comes from the
/// fencer's log (`acts`, the `halab` method). `fence.count` (fencings confirmed after the
/// fault), `fenced` (who), `fenced.<member>`, `fence.holder_fenced` (the VIP holder at the
/// fault), `fence.after_fault` (the fault to the fence agent's first request, ms),
/// `fence.took` (that request to pacemaker's confirmation), `fence.to_vip` (the confirmation
/// to the VIPs seen on one member, polled every 100 ms; only when they moved after it).
pub fn metrics(
    m: &mut Metrics,
    acts: &[Action],
    confirmations: &[(u64, String)],
    members: &[String],
    fault_ns: Option<u64>,
    holder: Option<&str>,
    vip_moved_ns: Option<u64>,
) {
    let after = |t: u64| fault_ns.is_none_or(|f| t >= f);
    let done: Vec<&(u64, String)> = confirmations.iter().filter(|c| after(c.0)).collect();
    let mut fenced: Vec<String> = done.iter().map(|c| c.1.clone()).collect();
    fenced.sort();
    fenced.dedup();
    m.put(&metric::FENCE_COUNT, done.len());
    for member in members {
        m.put_member(&metric::FENCED_MEMBER, member, fenced.contains(member));
    }
    if let Some(h) = holder {
        m.put(&metric::FENCE_HOLDER_FENCED, fenced.iter().any(|f| f == h));
    }
    let ms = |from: u64, to: u64| figure(ms_between(from, to));
    let first_ask = acts.iter().find(|a| after(a.t_ns) && fenced.contains(&a.target));
    if let (Some(f), Some(a)) = (fault_ns, first_ask) {
        m.put(&metric::FENCE_AFTER_FAULT, ms(f, a.t_ns));
    }
    if let Some((t, _)) = done.first() {
        if let Some(a) = first_ask {
            m.put(&metric::FENCE_TOOK, ms(a.t_ns, *t));
        }
        if let Some(v) = vip_moved_ns.filter(|v| v >= t) {
            m.put(&metric::FENCE_TO_VIP, ms(*t, v));
        }
    }
    m.put(&metric::FENCED, fenced);
}
