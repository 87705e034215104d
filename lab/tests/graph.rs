//! `halab graph`: every node, network, address, member and VIP of a topology drawn; for a lab
//! that is up, who holds the VIPs and which cable is pulled; the same picture at the top of a
//! report, as Chromium renders it.

mod common;

use common::{eventually, halab, ok, privileged, rendered_report};

const TOPOLOGY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../topologies/fw-pair.yaml");

#[test]
fn a_topology_is_drawn_whole() {
    let svg = ok(&["graph", TOPOLOGY]);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
    for word in ["client", "fw1", "fw2", "server", "inet", "198.18.1.0/24", "lan", "heartbeat", "inet .10", "lan .2", "VIP 198.18.1.254", "VIP 198.18.2.254"] {
        assert!(svg.contains(word), "`{word}` is not in the picture");
    }
    assert_eq!(svg.matches("class=\"cable\"").count(), 8, "one cable per interface");
    assert_eq!(svg.matches("class=\"node member\"").count(), 2);
    assert!(!svg.contains(" on fw") && !svg.contains("cable down"), "a topology has no holder and no pulled cable");
    let bad = halab(&["graph", "no-such-lab-or-file"]);
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn a_lab_that_is_up_shows_its_holder_and_its_pulled_cable() {
    if !privileged() {
        return;
    }
    let lab = "t-graph";
    ok(&["up", TOPOLOGY, "--name", lab]);
    let before = ok(&["graph", lab]);
    ok(&["link", lab, "fw1", "inet", "down"]);
    let mut after = String::new();
    eventually(30, "the VIPs drawn on fw2", || {
        after = ok(&["graph", lab]);
        after.contains("VIP 198.18.1.254 on fw2")
    });
    ok(&["down", lab]);
    assert!(before.contains("VIP 198.18.1.254 on fw1") && before.contains("VIP 198.18.2.254 on fw1"), "{before}");
    assert!(!before.contains("cable down"));
    assert_eq!(after.matches("class=\"cable down\"").count(), 1, "the pulled cable, and only it");
    assert!(after.contains("inet .1 (no carrier)"));
}

#[test]
fn reports_open_with_the_lab() {
    let out = std::env::temp_dir().join(format!("halab-graph-report-{}", std::process::id()));
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let o = std::process::Command::new(common::HALAB).args(["report", "reports/study/runs", "-o"]).arg(&out).current_dir(root).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("![the lab: lab-fw-pair.svg](lab-fw-pair.svg)"), "{}", &md[..200.min(md.len())]);
    assert!(out.join("lab-fw-pair.svg").is_file() && out.join("lab-fw-pair-failback.svg").is_file());
    let Some(dom) = rendered_report(&out) else { return };
    let h1 = dom.find("<h1>").unwrap();
    let pic = dom.find("lab-graph").expect("the picture is in the rendered report");
    assert!(pic > h1 && pic < dom.find("<h2").unwrap(), "the lab comes right under the title");
    assert!(dom.contains(">fw1</text>"), "the picture's text is rendered");
    std::fs::remove_dir_all(&out).unwrap();
}
