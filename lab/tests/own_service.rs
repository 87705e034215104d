//! The user's own HA service on real netns labs (root): their agent directory, files, typed
//! resources and constraints and a CIB fragment become one live CIB that pacemaker accepts
//! and places as the constraints say; the web-ha example's service probe measures what its
//! clients suffer through a crash; an agent the image does not have is bad input at its line,
//! before anything is made; a fragment crm_verify refuses is reported at its line.

mod common;

use common::*;

fn exec(lab: &str, node: &str, cmd: &str) -> String {
    ok(&["exec", lab, node, "--", "sh", "-c", cmd])
}

#[test]
fn typed_resources_agents_files_and_a_fragment_make_one_cib_placed_as_constrained() {
    if !privileged() {
        return;
    }
    let lab = "hlown";
    let _g = LabGuard(lab);
    ok(&["up", "tests/data/own/pair.yaml", "--name", lab]);
    // Files: per node (a only, its mode) and for every member; the agent in both members.
    assert_eq!(exec(lab, "a", "stat -c %a /etc/halab-test/only-on-a.txt").trim(), "600");
    assert!(halab(&["exec", lab, "b", "--", "test", "-e", "/etc/halab-test/only-on-a.txt"]).status.code() != Some(0), "b has no file of a's");
    for n in ["a", "b"] {
        assert!(exec(lab, n, "cat /srv/www/index.html").contains("web-ha example"));
        assert_eq!(exec(lab, n, "stat -c %a /usr/lib/ocf/resource.d/example/webserver").trim(), "755");
    }
    // pacemaker accepts the whole CIB, the fragment's rule is in it.
    exec(lab, "a", "crm_verify -L");
    assert!(exec(lab, "a", "cibadmin -Q --xpath \"//rsc_location[@id='frag-web-not-on-maintenance']\"").contains("maintenance-window"));
    // Placed as constrained: web with the VIPs, the VIPs with the promoted Stateful, and the
    // location preference for b pulls all three there. The pair runs without stickiness
    // (pair.yaml): Stateful sets its promotion scores at its first monitor, one member's can
    // come first, and with stickiness the role promoted there stayed (b's 100 against a's
    // stickiness): a CI run beside the VM chain waited 90 s for b in vain.
    let start = std::time::Instant::now();
    let mut crm: String;
    let placed = loop {
        crm = exec(lab, "a", "crm_mon -1");
        let on = |what: &str| crm.lines().find(|l| l.contains(what)).and_then(|l| l.split_whitespace().last()).map(str::to_string);
        let ok = on("(ocf:example:webserver)").as_deref() == Some("b")
            && on("(ocf:heartbeat:IPaddr2)").as_deref() == Some("b")
            && crm.contains("Promoted: [ b ]")
            && crm.contains("Unpromoted: [ a ]");
        if ok || start.elapsed() > std::time::Duration::from_secs(90) {
            break ok;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert!(placed, "web, the VIP and the promoted Stateful not on b after 90 s:\n{crm}");
    // The service answers through the VIP.
    let get = "python3 -c \"import urllib.request as u; print(u.urlopen('http://198.18.2.254:8080/', timeout=2).read().decode())\"";
    assert!(exec(lab, "a", get).contains("web-ha example"));
}

#[test]
fn the_web_ha_example_measures_what_its_clients_suffer_through_a_crash() {
    if !privileged() {
        return;
    }
    let (o, recs) = run_records("../examples/web-ha/crash.yaml", &std::env::temp_dir().join("halab-test-web-ha"), &[]);
    let r = recs.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(r["outcome"], "passed", "{:#}\n{}", r["expectations"], r["error"]);
    let m = &r["metrics"];
    let n = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {m:#}"));
    // Every 100 ms for ~17 s: some unanswered while the VIP and the server move, the last
    // ones answered.
    // Each attempt starts python3: 0.1 s on an idle box, up to ~0.7 s with labs beside it.
    assert!(n("web.attempts") > 10.0, "{m:#}");
    assert!(n("web.ok") < n("web.attempts"), "the crash cost answers: {m:#}");
    assert!(n("web.availability") > 0.2 && n("web.availability") < 1.0, "{m:#}");
    assert_eq!(m["web.recovered"], true);
    // The gap spans detection, the fence and the takeover: seconds, not the 100 ms period.
    let gap = n("web.gap");
    assert!(gap > 2000.0 && gap < 20000.0, "web.gap {gap} ms");
    let raw = std::fs::read_dir(std::env::temp_dir().join("halab-test-web-ha")).unwrap().next().unwrap().unwrap().path().join("samples/web.service.txt");
    let lines = std::fs::read_to_string(&raw).unwrap();
    assert_eq!(lines.lines().count() as f64, n("web.attempts"), "every attempt is a raw line");
}

#[test]
fn an_agent_the_image_lacks_and_resources_on_keepalived_are_bad_input_before_anything_is_made() {
    if !privileged() {
        return;
    }
    up_refused(&["tests/data/own/unknown-agent.yaml", "--name", "hlownbad"], 2, &["unknown-agent.yaml:13:", "no agent `ocf:nope:Nothing`"], "hlownbad");
    let words = ["resources need the pacemaker stack, not keepalived"];
    up_refused(&["tests/data/own/pair.yaml", "--name", "hlownbad", "--stack", "keepalived"], 2, &words, "hlownbad");
}

/// The user's own copy of the conntrackd agent replaces the stock one in halab's firewall
/// recipe, and the failback scenario (crash, boot, the VIPs back, scp and TCP surviving both
/// moves) passes on it.
#[test]
fn failback_passes_on_the_users_own_conntrackd_agent() {
    if !privileged() {
        return;
    }
    let (o, recs) = run_records("../examples/conntrackd-agent/failback.yaml", &std::env::temp_dir().join("halab-test-ct-agent"), &["--keep"]);
    let r = recs.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    let lab = r["lab"].as_str().unwrap().to_string();
    let _g = LabGuard(Box::leak(lab.clone().into_boxed_str()));
    assert_eq!(r["outcome"], "passed", "{:#}\n{}", r["expectations"], r["error"]);
    // The CIB names the user's agent, and it is the one that ran (its call log, on the
    // survivor that promoted it and on fw1 that came back and took the VIPs again).
    let cib = exec(&lab, "fw2", "cibadmin -Q --xpath \"//primitive[@id='conntrackd']\"");
    assert!(cib.contains("provider=\"example\""), "{cib}");
    for n in ["fw1", "fw2"] {
        let calls = exec(&lab, n, "cat /run/conntrackd-agent.calls");
        assert!(calls.contains(" promote"), "{n}: {calls}");
    }
}

/// keepalived with the user's hooks: the track script's failure on the holder takes 100 off
/// its priority and the VIPs move (instances in a sync group, so this needs
/// sync_group_tracking_weight); the notify command hears both sides of the move in order.
#[test]
fn a_keepalived_track_script_moves_the_vips_and_the_notify_hook_hears_it() {
    if !privileged() {
        return;
    }
    let (o, recs) = run_records("tests/data/own/vrrp-hooks-scenario.yaml", &std::env::temp_dir().join("halab-test-vrrp-hooks"), &[]);
    let r = recs.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(r["outcome"], "passed", "{:#}\n{}", r["expectations"], r["error"]);
}

/// The OVN example: Debian's ovn-central as a packages layer, its own agent
/// (ocf:ovn:ovndb-servers) promotable under pacemaker, northbound writes and reads through the
/// VIP while the active crashes; every acknowledged write is still there afterwards.
#[test]
fn the_ovn_example_fails_over_its_databases_and_loses_no_acknowledged_write() {
    if !privileged() {
        return;
    }
    let (o, recs) = run_records("../examples/ovn-ha/crash.yaml", &std::env::temp_dir().join("halab-test-ovn-ha"), &[]);
    let r = recs.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(r["outcome"], "passed", "{:#}\n{}", r["expectations"], r["error"]);
    let m = &r["metrics"];
    let n = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {m:#}"));
    assert!(n("nb.acked") > 20.0, "writes were acknowledged: {m:#}");
    assert_eq!(n("nb.lost"), 0.0, "{m:#}");
    // The crash cost answers for seconds (detection, fence, promotion, VIP), then both recovered.
    for k in ["nb.gap", "nbread.gap"] {
        assert!(n(k) > 1000.0 && n(k) < 60000.0, "{k}: {m:#}");
    }
    assert_eq!(r["versions"]["ovn-central"].as_str().map(|v| v.starts_with("23.")), Some(true), "the layer's version is reported: {:#}", r["versions"]);
}

/// A package the mirrors do not have is bad input at its line; nothing of the lab is made.
#[test]
fn a_package_that_does_not_exist_is_bad_input_at_its_line() {
    if !privileged() {
        return;
    }
    let words = ["unknown-package.yaml:4:26:", "no Debian package `halab-no-such-package`"];
    let err = up_refused(&["tests/data/own/unknown-package.yaml", "--name", "hlownpkg"], 2, &words, "hlownpkg");
    assert!(!err.contains("ovn-central`"), "only the missing one is named: {err}");
}

/// A CIB fragment pacemaker refuses: `up` fails before pacemaker starts, crm_verify's words
/// point at the fragment's line, and the lab is rolled back.
#[test]
fn a_fragment_crm_verify_refuses_is_reported_at_its_line() {
    if !privileged() {
        return;
    }
    // Exit 3: a lab that could not come up, rolled back.
    up_refused(&["tests/data/own/bad-fragment.yaml"], 3, &["bad-fragment.xml:6: ", "unknown ID \"no-such-resource\""], "hlbadfrag");
}
