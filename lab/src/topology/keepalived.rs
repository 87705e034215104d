//! Validation of `cluster.keepalived`: VRRP timing and priorities, and the user's hooks into
//! keepalived (track scripts that move the VIPs, a notify command told of every transition).

use serde::{Deserialize, Serialize};

use super::cluster::ms;
use super::model::KeepalivedSpec;
use super::plan::KeepalivedSettings;
use super::validate::{valid_name, Checker};

/// A `vrrp_script` every VRRP instance tracks: on failure keepalived lowers the member's
/// priority by `weight`, or (weight 0) puts the member in FAULT.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct TrackScript {
    pub name: String,
    /// The command line keepalived runs (its first word an absolute path).
    pub script: String,
    pub interval_s: u32,
    pub timeout_s: Option<u32>,
    pub weight: Option<i32>,
    pub fall: Option<u32>,
    pub rise: Option<u32>,
    pub at: crate::diag::Span,
}

fn seconds(c: &mut Checker, s: &Option<crate::yaml::Spanned<String>>, field: &str, default_s: u32) -> u32 {
    let v = ms(c, s, field, default_s * 1000, 1000);
    if let Some(sp) = s.as_ref().filter(|_| !v.is_multiple_of(1000)) {
        c.at(sp, field, &format!("`{}` is not whole seconds", sp.value), "keepalived counts script intervals in seconds, e.g. 1s, 2s");
    }
    v / 1000
}

fn absolute_command(c: &mut Checker, s: &crate::yaml::Spanned<String>, field: &str) -> String {
    if !s.value.split_whitespace().next().is_some_and(|w| w.starts_with('/')) {
        c.at(s, field, &format!("`{}` does not start with an absolute path", s.value), "keepalived runs scripts by full path, e.g. /usr/local/bin/check-web");
    }
    s.value.clone()
}

pub(crate) fn check(c: &mut Checker, ka: Option<&KeepalivedSpec>, members: &[String]) -> KeepalivedSettings {
    let advert_int_ms = ms(c, &ka.and_then(|k| k.advert_int.clone()), "cluster.keepalived.advert_int", 1000, 10);
    let version = match ka.and_then(|k| k.version.as_ref()) {
        None => 3,
        Some(v) if v.value == 2 || v.value == 3 => v.value,
        Some(v) => {
            c.at(v, "cluster.keepalived.version", &format!("VRRP version {} does not exist", v.value), "2 or 3");
            3
        }
    };
    // What keepalived (2.2.7, 2.3.3: vrrp_complete_instance) would round or clamp, with only a
    // log line, is refused here: the lab would run another interval than the file says.
    if let Some(a) = ka.and_then(|k| k.advert_int.as_ref()) {
        let field = "cluster.keepalived.advert_int";
        match version {
            2 if !advert_int_ms.is_multiple_of(1000) => c.at(
                a,
                field,
                &format!("`{}` is not whole seconds, and VRRPv2 carries the interval in seconds", a.value),
                "keepalived would round it; use version 3 for sub-second adverts",
            ),
            2 if advert_int_ms > 255_000 => c.at(a, field, &format!("`{}` is above VRRPv2's 255 s", a.value), ""),
            3 if !advert_int_ms.is_multiple_of(10) => c.at(
                a,
                field,
                &format!("`{}` is not a multiple of 10 ms, and VRRPv3 carries the interval in centiseconds", a.value),
                "keepalived would round it, e.g. 20ms, 500ms",
            ),
            3 if advert_int_ms > 40_950 => c.at(a, field, &format!("`{}` is above VRRPv3's 40.95 s", a.value), ""),
            _ => {}
        }
    }
    let mut priorities: Vec<(String, u32)> = members.iter().enumerate().map(|(i, m)| (m.clone(), if i == 0 { 150 } else { 101 - i as u32 })).collect();
    if let Some(k) = ka {
        for (m, p) in k.priorities.iter() {
            match priorities.iter_mut().find(|(n, _)| n == &m.value) {
                Some(slot) if (1..=254).contains(&p.value) => slot.1 = p.value,
                Some(_) => c.at(
                    p,
                    &format!("cluster.keepalived.priorities.{}", m.value),
                    &format!("priority {} is out of range", p.value),
                    "1-254 (255 would make keepalived always preempt)",
                ),
                None => c.at(m, "cluster.keepalived.priorities", &format!("`{}` is not a cluster member", m.value), ""),
            }
        }
    }
    let track_scripts = track_scripts(c, ka);
    let notify = ka.and_then(|k| k.notify.as_ref()).map(|n| (absolute_command(c, n, "cluster.keepalived.notify"), c.span(n)));
    KeepalivedSettings {
        advert_int_ms,
        version,
        priorities,
        preempt: ka.and_then(|k| k.preempt).unwrap_or(true),
        garp_master_delay_s: ka
            .and_then(|k| k.garp_master_delay.clone())
            .map(|d| ms(c, &Some(d), "cluster.keepalived.garp_master_delay", 5000, 0).div_ceil(1000)),
        garp_master_repeat: ka.and_then(|k| k.garp_master_repeat),
        track_scripts,
        notify: notify.as_ref().map(|(n, _)| n.clone()),
        notify_at: notify.map(|(_, at)| at),
        adverts: None,
    }
}

/// `cluster.keepalived.track_scripts`: each script's command, timing, weight and counts.
fn track_scripts(c: &mut Checker, ka: Option<&KeepalivedSpec>) -> Vec<TrackScript> {
    let mut out = Vec::new();
    for (name, t) in ka.map(|k| k.track_scripts.iter().collect::<Vec<_>>()).unwrap_or_default() {
        let f = format!("cluster.keepalived.track_scripts.{}", name.value);
        if !valid_name(&name.value) {
            c.at(name, &f, &format!("`{}` cannot name a track script", name.value), "lower-case letters, digits, - and _");
        }
        let script = absolute_command(c, &t.script, &format!("{f}.script"));
        let interval_s = seconds(c, &t.interval, &format!("{f}.interval"), 1);
        let timeout_s = t.timeout.as_ref().map(|s| seconds(c, &Some(s.clone()), &format!("{f}.timeout"), 1));
        let weight = t.weight.as_ref().map(|w| {
            if !(-253..=253).contains(&w.value) {
                c.at(
                    w,
                    &format!("{f}.weight"),
                    &format!("weight {} is out of range", w.value),
                    "-253 to 253; 0 puts the member in FAULT when the script fails",
                );
            }
            w.value
        });
        let count = |c: &mut Checker, v: &Option<crate::yaml::Spanned<u32>>, fld: &str| {
            v.as_ref().map(|n| {
                if n.value == 0 {
                    c.at(n, &format!("{f}.{fld}"), "0 is not a count", "at least 1");
                }
                n.value
            })
        };
        let (fall, rise) = (count(c, &t.fall, "fall"), count(c, &t.rise, "rise"));
        let at = c.span(name);
        out.push(TrackScript { name: name.value.clone(), script, interval_s, timeout_s, weight, fall, rise, at });
    }
    out
}

/// What only `up` knows (`--stack` may change the stack): the hooks need keepalived.
pub fn check_at_up(plan: &super::Plan, out: &mut Vec<crate::diag::Diagnostic>) {
    let Some(cl) = &plan.cluster else { return };
    let k = &cl.keepalived;
    let at = k.track_scripts.first().map(|t| t.at.clone()).or(k.notify_at.clone());
    if let (Some(at), true) = (at, cl.stack != super::Stack::Keepalived) {
        out.push(crate::diag::Diagnostic::at(
            &at,
            "cluster.keepalived",
            &format!("track scripts and notify are keepalived's, and this lab runs {}", cl.stack),
            "run it with --stack keepalived; pacemaker watches a service with a resource's monitor",
        ));
    }
}
