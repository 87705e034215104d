//! The live-cluster layer, after Pacemaker's CTS: the agent as a resource of the lab's pair
//! (a primitive, or a promotable clone with notify), started by pacemaker; a copy started
//! behind pacemaker's back found by a probe; the service stopped behind its back and recovered
//! (timed); a move; a crash of the member holding it (fenced, timed to the takeover); the
//! crashed member's return without a second copy. For a promotable agent also: where the
//! promoted and unpromoted instances are after each step, and the notifications around every
//! promote and demote (`recorder.rs`).

use std::time::Duration;

use super::agent::{Agent, INSTANCE};
use super::Check;
use crate::lab::Lab;
use crate::stack::pacemaker::crm;
use crate::topology::resources::{Kind, PlanResource, PlanService};

const LAYER: &str = "live cluster";
const POLL: Duration = Duration::from_millis(200);
/// Pacemaker's monitor interval for the resource: recovery is timed against it.
const MONITOR_S: u32 = 2;

/// The resource as halab's typed form writes it, so the CIB XML has one maker.
fn resource_xml(a: &Agent, promotable: bool, members: usize) -> String {
    let mon = |i: u32, role: Option<&str>| ("monitor".to_string(), format!("{i}s"), "20s".to_string(), role.map(String::from));
    let ops = if promotable { vec![mon(MONITOR_S, Some("Promoted")), mon(MONITOR_S + 1, Some("Unpromoted"))] } else { vec![mon(MONITOR_S, None)] };
    let r = PlanResource {
        id: INSTANCE.into(),
        kind: Kind::Primitive { class: "ocf".into(), provider: Some(super::PROVIDER.into()), kind: super::recorder::recorded(&a.kind) },
        params: a.params.clone(),
        ops,
        meta: vec![],
        clone: promotable.then(|| "promotable".into()),
        at: crate::diag::Span::made_by("halab agent test's live layer"),
    };
    let svc = PlanService { resources: vec![r], ..PlanService::default() };
    crate::stack::pacemaker::resources::resources(&svc, members)
}

/// Where the resource runs (its promoted instance for a promotable agent), as `from` sees it.
fn holders(lab: &Lab, from: &str, promotable: bool) -> Vec<String> {
    let Ok(node) = lab.node(from) else { return vec![] };
    crm::state(&node).map(|s| s.where_is(INSTANCE, promotable.then_some("Promoted"))).unwrap_or_default()
}

/// Poll until `ok` or the timeout; how long it took.
fn until(timeout: Duration, mut ok: impl FnMut() -> bool) -> Option<Duration> {
    crate::wait::settle(timeout, POLL, || Ok(ok()), String::new).ok()
}

fn crm_mon(lab: &Lab, from: &str) -> Vec<String> {
    lab.node(from)
        .and_then(|n| n.run(&["crm_mon", "-1", "-A", "--include=resources,attributes,failures"]))
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).map(|l| format!("  | {l}")).collect())
        .unwrap_or_default()
}

/// `members[0]` runs `a` and is where crm_mon is read (the survivor's while it is down).
pub fn run(lab: &Lab, a: &Agent, members: &[String], promotable: bool) -> Vec<Check> {
    let mut out = Vec::new();
    let view = a.node.name.as_str();
    let n1 = a.node;
    let xml = resource_xml(a, promotable, members.len());
    let added = n1.run(&["cibadmin", "-C", "-o", "resources", "-X", xml.trim()]);
    let what = if promotable { "promoted on one member by pacemaker" } else { "started on a member by pacemaker" };
    let started = added.is_ok().then(|| until(Duration::from_secs(60), || holders(lab, view, promotable).len() == 1)).flatten();
    let mut ev = vec![format!("cibadmin -C -o resources: {}", added.as_ref().map(|_| "added".to_string()).unwrap_or_else(|e| format!("{e:#}")))];
    match started {
        Some(d) => ev.push(format!("{} after {:.1} s", holders(lab, view, promotable).join(", "), d.as_secs_f64())),
        None => {
            ev.push("not within 60 s".into());
            ev.extend(crm_mon(lab, view));
        }
    }
    if promotable && started.is_none() {
        ev.push("no member was promoted: does the agent set a promotion score (crm_attribute --promotion / crm_master) in start or monitor?".into());
    }
    out.push(Check::new(LAYER, &format!("the resource is {what}"), started.is_some(), ev).timed(if promotable { "promotion" } else { "start" }, started));
    if started.is_none() {
        if promotable {
            out.push(notify_check(&members.iter().map(|m| super::recorder::read(lab, m)).collect::<Vec<_>>()));
        }
        return out;
    }
    let holder = holders(lab, view, promotable).remove(0);
    let other = members.iter().find(|m| **m != holder).cloned().unwrap_or_default();
    let mut placed = vec![placement(lab, members, "start")];
    out.push(probe_behind_back(lab, a, &other, promotable));
    placed.push(placement(lab, members, "probe"));
    out.push(recovery(lab, a, promotable));
    placed.push(placement(lab, members, "recovery"));
    out.push(movement(lab, view, &other, promotable));
    placed.push(placement(lab, members, "move"));
    // A crash wipes the member's /run: its calls so far are read now.
    let before: Vec<_> = members.iter().map(|m| super::recorder::read(lab, m)).collect();
    out.extend(crash_and_return(lab, members, promotable));
    placed.push(placement(lab, members, "crash and return"));
    if promotable {
        out.push(roles_check(&placed));
        let calls: Vec<Vec<super::recorder::Call>> = members
            .iter()
            .zip(before)
            .map(|(m, b)| {
                let now = super::recorder::read(lab, m);
                // The survivor's log holds everything; the crashed member's restarts at its boot.
                if now.len() >= b.len() && now.starts_with(&b) {
                    now
                } else {
                    [b, now].concat()
                }
            })
            .collect();
        out.push(notify_check(&calls));
    }
    out
}

/// After a step: (step, promoted on, unpromoted on), read from the first member that answers.
type Placement = (&'static str, Vec<String>, Vec<String>);

/// Read once the cluster has settled, so the next step starts from a resting cluster: after a
/// probe found two copies, pacemaker stops both and starts one, and on a TCG VM the next
/// step once found none running.
fn placement(lab: &Lab, members: &[String], step: &'static str) -> Placement {
    let nodes: Vec<_> = members.iter().filter_map(|m| lab.node(m).ok()).collect();
    if let Some(n) = nodes.iter().find(|n| crm::state(n).is_ok()) {
        let _ = n.run(&["crm_resource", "--wait", "--timeout", "60s"]);
    }
    let s = nodes.iter().find_map(|n| crm::state(n).ok());
    let on = |role| s.as_ref().map(|s| s.where_is(INSTANCE, Some(role))).unwrap_or_default();
    (step, on("Promoted"), on("Unpromoted"))
}

/// One promoted instance after every step, and the other member's instance unpromoted (not
/// stopped): an agent whose demote or start leaves it stopped shows here.
fn roles_check(placed: &[Placement]) -> Check {
    let ok = placed.iter().all(|(_, p, u)| p.len() == 1 && u.len() == 1 && p != u);
    let ev = placed.iter().map(|(step, p, u)| format!("after {step}: promoted on [{}], unpromoted on [{}]", p.join(", "), u.join(", "))).collect();
    Check::new(LAYER, "after every step one instance is promoted and the other unpromoted", ok, ev)
}

fn notify_check(calls: &[Vec<super::recorder::Call>]) -> Check {
    let problems: Vec<String> = calls.iter().flat_map(|c| super::recorder::notify_problems(c)).collect();
    let mut ev = problems.clone();
    ev.push(format!("the calls pacemaker made ({}):", super::recorder::LOG));
    ev.extend(calls.iter().flat_map(|c| super::recorder::summary(c)));
    let promotes = calls.iter().flatten().filter(|c| c.action == "promote").count();
    Check::new(
        LAYER,
        &format!("every promote and demote comes between its notifications, and every notify succeeds ({promotes} promotes)"),
        problems.is_empty() && promotes > 0,
        ev,
    )
}

fn agent_on<'a>(a: &Agent, node: &'a crate::node::Node) -> Agent<'a> {
    Agent { node, kind: a.kind.clone(), params: a.params.clone(), clone_max: a.clone_max }
}

/// A copy started by hand on the member that should not run one; a refresh makes pacemaker
/// probe, find two copies and leave one (for a promotable clone: one promoted instance).
fn probe_behind_back(lab: &Lab, a: &Agent, other: &str, promotable: bool) -> Check {
    let name = "a probe finds a copy started behind pacemaker's back";
    let Ok(node) = lab.node(other) else { return Check::new(LAYER, name, false, vec![format!("no node {other}")]) };
    let by_hand = agent_on(a, &node);
    let mut ev = by_hand.call(if promotable { "promote" } else { "start" }).evidence();
    ev[0] = format!("on {other}, by hand: {}", ev[0]);
    let _ = a.node.run(&["crm_resource", "--refresh", "-r", INSTANCE]);
    // Settled: one holder, and the hand-made copy no longer answers as such.
    let settled = until(Duration::from_secs(60), || {
        holders(lab, &a.node.name, promotable).len() == 1 && {
            let m = by_hand.call("monitor");
            if promotable {
                m.rc != Some(8) || holders(lab, &a.node.name, true) == [other]
            } else {
                m.rc == Some(7) || holders(lab, &a.node.name, false) == [other]
            }
        }
    });
    ev.push(format!(
        "crm_resource --refresh -r {INSTANCE}: {}",
        settled.map(|d| format!("one copy left after {:.1} s", d.as_secs_f64())).unwrap_or("still two copies after 60 s".into())
    ));
    if settled.is_none() {
        ev.extend(crm_mon(lab, &a.node.name));
    }
    Check::new(LAYER, name, settled.is_some(), ev).timed("probe: one copy left", settled)
}

/// The service stopped behind pacemaker's back on its holder: the monitor sees it and
/// pacemaker recovers it. Timed from the stop to the resource running again.
fn recovery(lab: &Lab, a: &Agent, promotable: bool) -> Check {
    let name = "a service stopped behind pacemaker's back is recovered";
    let holder = holders(lab, &a.node.name, promotable).first().cloned().unwrap_or_default();
    let Ok(node) = lab.node(&holder) else { return Check::new(LAYER, name, false, vec!["no holder".into()]) };
    let h = agent_on(a, &node);
    let stop = h.call("stop");
    let back = if stop.rc == Some(0) {
        until(Duration::from_secs(60), || {
            h.call("monitor").rc == Some(if promotable { 8 } else { 0 }) || holders(lab, &a.node.name, promotable).iter().any(|x| *x != holder)
        })
    } else {
        None
    };
    let mut ev = stop.evidence();
    ev[0] = format!("on {holder}, by hand: {}", ev[0]);
    ev.push(match back {
        Some(d) => format!("running again after {:.1} s (monitor every {MONITOR_S} s)", d.as_secs_f64()),
        None => "not running again within 60 s".into(),
    });
    if back.is_none() {
        ev.extend(crm_mon(lab, &a.node.name));
    }
    let title = back.map(|d| format!("{name} (recovery {:.1} s)", d.as_secs_f64())).unwrap_or(name.to_string());
    Check::new(LAYER, &title, back.is_some(), ev).timed("recovery", back)
}

fn movement(lab: &Lab, view: &str, to: &str, promotable: bool) -> Check {
    let name = format!("the resource moves to {to} when asked");
    let id = if promotable { format!("{INSTANCE}-clone") } else { INSTANCE.to_string() };
    let mut argv = vec!["crm_resource", "--move", "-r", &id, "-N", to];
    if promotable {
        argv.push("--promoted");
    }
    let Ok(n1) = lab.node(view) else { return Check::new(LAYER, &name, false, vec![]) };
    let asked = n1.run(&argv);
    let moved = asked.is_ok().then(|| until(Duration::from_secs(60), || holders(lab, view, promotable) == [to])).flatten();
    let _ = n1.run(&["crm_resource", "--clear", "-r", &id]);
    let mut ev = vec![format!("{}: {}", argv.join(" "), asked.as_ref().map(|_| "asked".to_string()).unwrap_or_else(|e| format!("{e:#}")))];
    ev.push(moved.map(|d| format!("on {to} after {:.1} s", d.as_secs_f64())).unwrap_or_else(|| format!("not on {to} within 60 s")));
    Check::new(LAYER, &name, moved.is_some(), ev).timed("move", moved)
}

/// The holder's power cut: the survivor fences it and takes the resource (timed); the member
/// boots again, rejoins, and the cluster keeps one copy (one promoted instance).
fn crash_and_return(lab: &Lab, members: &[String], promotable: bool) -> Vec<Check> {
    let holder = holders(lab, &members[0], promotable).first().cloned().unwrap_or_default();
    let Some(survivor) = members.iter().find(|m| **m != holder).map(String::as_str) else { return vec![] };
    let cut = lab.actuators(&holder).and_then(|x| x.power_off());
    let took = cut.is_ok().then(|| until(Duration::from_secs(120), || holders(lab, survivor, promotable) == [survivor])).flatten();
    let mut ev = vec![format!("power cut of {holder}: {}", cut.as_ref().map(|_| "done".to_string()).unwrap_or_else(|e| format!("{e:#}")))];
    ev.push(
        took.map(|d| format!("on {survivor} {:.1} s after the cut (fencing of {holder} included)", d.as_secs_f64()))
            .unwrap_or_else(|| format!("not on {survivor} within 120 s")),
    );
    if took.is_none() {
        ev.extend(crm_mon(lab, survivor));
    }
    let title = took.map(|d| format!(" (failover {:.1} s)", d.as_secs_f64())).unwrap_or_default();
    let mut out = vec![
        Check::new(LAYER, &format!("the resource fails over when its member crashes{title}"), took.is_some(), ev).timed("failover (fence included)", took)
    ];
    // Back: booted (unless the fence's reboot did), rejoined, and still one copy.
    // Booted already if the fence's reboot did it: `power_on` leaves it as it is then.
    let on = crate::power::power_on(lab, &holder);
    let online = on.is_ok()
        && until(Duration::from_secs(120), || {
            lab.node(survivor).ok().and_then(|n| crm::state(&n).ok()).is_some_and(|s| s.nodes.iter().any(|n| n.name == holder && n.online))
        })
        .is_some();
    std::thread::sleep(Duration::from_secs(2 * MONITOR_S as u64 + 1));
    let copies = holders(lab, survivor, promotable);
    let mut ev = vec![format!(
        "{holder} back: {}",
        if online {
            "online in the cluster".to_string()
        } else {
            format!("not online within 120 s ({})", on.err().map(|e| format!("{e:#}")).unwrap_or_default())
        }
    )];
    ev.push(format!("{} on: {}", if promotable { "promoted" } else { "running" }, copies.join(", ")));
    if copies.len() != 1 {
        ev.extend(crm_mon(lab, survivor));
    }
    out.push(Check::new(LAYER, "the crashed member rejoins and the resource runs once", online && copies.len() == 1, ev));
    out
}
