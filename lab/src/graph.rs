//! `halab graph`: the lab drawn as SVG. Nodes stand in a row; each lab network is a horizontal
//! segment (a bus) under them, spanning the nodes cabled to it; a node's cable drops to each
//! network it is on, with a dot and its interface and address at the bus. Members are drawn
//! bold with the stack's name, each VIP sits at the end of its network's bus. For a lab that is
//! up: the member holding the VIPs is filled and named at each VIP, a cable without carrier
//! (pulled, or its node off) is dashed red. Used by `halab graph` and at the top of reports.

use std::fmt::Write;

use crate::topology::Plan;

/// What a live lab adds to the picture (from `halab status`).
#[derive(Debug, Default)]
pub struct Live {
    /// Member name -> the VIPs it holds.
    pub holders: Vec<(String, Vec<String>)>,
    /// (node, ifname) whose carrier is down, or whose node is off.
    pub down: Vec<(String, String)>,
}

impl Live {
    pub fn of(s: &crate::status::LabStatus) -> Live {
        let holders = s.members.iter().filter(|m| !m.vips.is_empty()).map(|m| (m.name.clone(), m.vips.clone())).collect();
        let mut down = Vec::new();
        for n in &s.nodes {
            for l in n.links.iter().filter(|l| !l.carrier) {
                down.push((n.name.clone(), l.ifname.clone()));
            }
        }
        Live { holders, down }
    }
}

const COL: i64 = 190;
const BOX_W: i64 = 150;
const BOX_H: i64 = 46;
const TOP: i64 = 40;
const ROW: i64 = 64;
const LEFT: i64 = 170;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn x_of(i: usize) -> i64 {
    LEFT + i as i64 * COL + BOX_W / 2
}

fn bus_y(k: usize) -> i64 {
    TOP + BOX_H + 50 + k as i64 * ROW
}

fn is_member(plan: &Plan, n: &str) -> bool {
    plan.cluster.as_ref().is_some_and(|c| c.members.iter().any(|m| m == n))
}

fn holds(live: Option<&Live>, n: &str) -> bool {
    live.is_some_and(|l| l.holders.iter().any(|(h, _)| h == n))
}

fn stack_name(plan: &Plan) -> String {
    plan.cluster.as_ref().map(|c| c.stack.to_string()).unwrap_or_else(|| "none".into())
}

/// The SVG of `plan`; `live` for a lab that is up.
pub fn svg(plan: &Plan, live: Option<&Live>) -> String {
    let width = LEFT + plan.nodes.len() as i64 * COL + 260;
    let height = bus_y(plan.networks.len()) + 10;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="lab-graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<title>lab {} ({} nodes, stack {})</title>"#, esc(&plan.lab), plan.nodes.len(), stack_name(plan));
    let _ = writeln!(s, r##"<text x="8" y="18" font-size="14" font-weight="bold">lab {}</text>"##, esc(&plan.lab));
    buses(&mut s, plan, live);
    for i in 0..plan.nodes.len() {
        cables(&mut s, plan, live, i);
        node_box(&mut s, plan, live, i);
    }
    s.push_str("</svg>\n");
    s
}

/// Each network from the leftmost to the rightmost node on it, its name and subnet on the
/// left, its VIPs (and, live, their holder) at its right end.
fn buses(s: &mut String, plan: &Plan, live: Option<&Live>) {
    for (k, net) in plan.networks.iter().enumerate() {
        let on: Vec<usize> = plan.nodes.iter().enumerate().filter(|(_, n)| n.interfaces.iter().any(|i| i.network == net.name)).map(|(i, _)| i).collect();
        let (Some(first), Some(last)) = (on.first(), on.last()) else { continue };
        let y = bus_y(k);
        let (x1, x2) = (x_of(*first) - 30, x_of(*last) + 30);
        let _ = writeln!(s, r##"<line class="network" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#2b6cb0" stroke-width="4"/>"##);
        let _ = writeln!(
            s,
            r##"<text x="8" y="{}" fill="#2b6cb0" font-weight="bold">{}</text><text x="8" y="{}" fill="#2b6cb0">{}</text>"##,
            y - 2,
            esc(&net.name),
            y + 13,
            net.subnet
        );
        for vip in plan.cluster.iter().flat_map(|c| c.vips.iter()).filter(|v| v.network == net.name) {
            let on_whom = live.and_then(|l| l.holders.iter().find(|(_, v)| v.iter().any(|a| a.starts_with(&vip.address.to_string()))).map(|(h, _)| h.clone()));
            let label = match on_whom {
                Some(h) => format!("VIP {} on {h}", vip.address),
                None => format!("VIP {}", vip.address),
            };
            let _ = writeln!(s, r##"<text class="vip" x="{}" y="{}" fill="#b7791f" font-weight="bold">{}</text>"##, x2 + 6, y + 4, esc(&label));
        }
    }
}

/// Node `i`'s cables down to their buses, side by side so a cable passing another network's
/// bus is told from one on it; dashed red without carrier.
fn cables(s: &mut String, plan: &Plan, live: Option<&Live>, i: usize) {
    let n = &plan.nodes[i];
    let count = n.interfaces.len() as i64;
    for (c, ifc) in n.interfaces.iter().enumerate() {
        let Some(k) = plan.networks.iter().position(|net| net.name == ifc.network) else { continue };
        let (x, y) = (x_of(i) + (2 * c as i64 - (count - 1)) * 5, bus_y(k));
        let cut = live.is_some_and(|l| l.down.iter().any(|(nn, f)| nn == &n.name && f == &ifc.ifname));
        let style = if cut { r##"stroke="#c53030" stroke-dasharray="6 4""## } else { r##"stroke="#444""## };
        let _ =
            writeln!(s, r#"<line class="cable{}" x1="{x}" y1="{}" x2="{x}" y2="{y}" {style} stroke-width="2"/>"#, if cut { " down" } else { "" }, TOP + BOX_H);
        let _ = writeln!(s, r##"<circle cx="{x}" cy="{y}" r="5" fill="{}"/>"##, if cut { "#c53030" } else { "#2b6cb0" });
        let addr = format!("{} .{}{}", ifc.ifname, ifc.address.octets()[3], if cut { " (no carrier)" } else { "" });
        let _ = writeln!(s, r#"<text x="{}" y="{}" font-size="11">{}</text>"#, x + 8, y - 6, esc(&addr));
    }
}

/// Node `i`'s box: bold for a member, filled for the VIP holder, its role or services under
/// its name.
fn node_box(s: &mut String, plan: &Plan, live: Option<&Live>, i: usize) {
    let (n, x, stack) = (&plan.nodes[i], x_of(i), stack_name(plan));
    let (member, holder) = (is_member(plan, &n.name), holds(live, &n.name));
    let (fill, weight) = match (holder, member) {
        (true, _) => ("#faf089", "3"),
        (false, true) => ("#ebf4ff", "3"),
        _ => ("#f7fafc", "1"),
    };
    let class = if member { " member" } else { "" };
    let _ = writeln!(
        s,
        r##"<rect class="node{class}" x="{}" y="{TOP}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" stroke="#222" stroke-width="{weight}"/>"##,
        x - BOX_W / 2
    );
    let _ = writeln!(s, r#"<text x="{x}" y="{}" text-anchor="middle" font-weight="bold" font-size="13">{}</text>"#, TOP + 19, esc(&n.name));
    let sub = match (holder, member) {
        (true, _) => format!("{stack} member, active"),
        (false, true) => format!("{stack} member"),
        _ => n.services.join(", "),
    };
    let _ = writeln!(s, r##"<text x="{x}" y="{}" text-anchor="middle" fill="#555">{}</text>"##, TOP + 36, esc(&sub));
}

/// `halab graph TARGET`: a lab that is up (by name) or a topology file.
pub fn of_target(target: &str) -> anyhow::Result<String> {
    if crate::ledger::all_labs().iter().any(|l| l == target) {
        let lab = crate::lab::Lab::open(target)?;
        let status = crate::status::lab_status(target)?;
        return Ok(svg(&lab.plan, Some(&Live::of(&status))));
    }
    let plan = crate::topology::load(std::path::Path::new(target), None)?;
    Ok(svg(&plan, None))
}
