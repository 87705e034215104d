//! `halab agent test` on real netns labs (root): a correct agent (tests/data/agents/Marker,
//! written for these tests) passes every check; copies broken on purpose, one defect each,
//! are caught by the check that names that defect; Debian's OVN agent gets its verdict; the
//! live layer runs in a topology of the user's (`--topology`).

mod common;

use std::path::{Path, PathBuf};

use common::*;

const GOOD: &str = "tests/data/agents/Marker";

const PROMO: &str = "tests/data/agents/Promo";

/// A copy of an agent in its own directory with one line changed (`from` must occur once).
fn broken_copy(agent: &str, tag: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(agent).unwrap();
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once in {agent}");
    let dir = std::env::temp_dir().join(format!("halab-agent-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(Path::new(agent).file_name().unwrap());
    std::fs::write(&path, text.replace(from, to)).unwrap();
    std::process::Command::new("chmod").args(["755", path.to_str().unwrap()]).status().unwrap();
    path
}

/// The correct agent, copied unchanged into its own directory.
fn good_copy(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("halab-agent-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(GOOD, dir.join("Marker")).unwrap();
    dir.join("Marker")
}

fn broken(tag: &str, from: &str, to: &str) -> PathBuf {
    broken_copy(GOOD, tag, from, to)
}

/// Run `halab agent test`; return its exit code and checks.json's checks (name -> passed),
/// after checking that its lab (`agent-PID`) is gone.
fn agent_test(path: &Path, extra: &[&str]) -> (Option<i32>, Vec<(String, bool)>, String) {
    let out = std::env::temp_dir().join(format!("halab-agent-out-{}", path.parent().and_then(|p| p.file_name()).unwrap().to_string_lossy()));
    let _ = std::fs::remove_dir_all(&out);
    let mut args = vec!["agent", "test", path.to_str().unwrap(), "-o", out.to_str().unwrap()];
    args.extend(extra);
    let (pid, o) = halab_with_pid(&args);
    assert!(!Path::new(&format!("/var/lib/halab/labs/agent-{pid}")).exists(), "the agent test's lab agent-{pid} is gone");
    let text = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let checks = std::fs::read_to_string(out.join("checks.json"))
        .map(|t| {
            let v: serde_json::Value = serde_json::from_str(&t).unwrap();
            v["checks"].as_array().unwrap().iter().map(|c| (c["name"].as_str().unwrap().to_string(), c["passed"].as_bool().unwrap())).collect()
        })
        .unwrap_or_default();
    (o.status.code(), checks, text)
}

fn failed(checks: &[(String, bool)]) -> Vec<&str> {
    checks.iter().filter(|(_, p)| !p).map(|(n, _)| n.as_str()).collect()
}

#[test]
fn a_correct_agent_passes_every_check() {
    if !privileged() {
        return;
    }
    let (code, checks, text) = agent_test(&good_copy("good"), &["--params", "tag=hello"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(checks.len() >= 12, "every layer ran: {checks:?}");
    assert!(failed(&checks).is_empty(), "{text}");
    for must in [
        "meta-data validates against resource-agents' metadata.rng",
        "ocf-tester passes",
        "shellcheck finds no error",
        "monitor after stop reports not running",
    ] {
        assert!(checks.iter().any(|(n, _)| n == must), "`{must}` ran: {checks:?}");
    }
    // The timings: in checks.json, tabled in report.md and plotted in report.html.
    let out = std::env::temp_dir().join("halab-agent-out-halab-agent-good");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("checks.json")).unwrap()).unwrap();
    let secs =
        |prefix: &str| json["checks"].as_array().unwrap().iter().find(|c| c["name"].as_str().unwrap().starts_with(prefix)).and_then(|c| c["seconds"].as_f64());
    let failover = secs("the resource fails over when its member crashes").expect("the failover is timed");
    assert!(failover > 1.0 && failover < 120.0, "{failover}");
    assert!(secs("a service stopped behind pacemaker's back is recovered").is_some_and(|r| r > 0.0 && r < 60.0), "{json:#}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains(&format!("| failover (fence included) | {failover:.2} |")), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("failover (fence included)"), "the timings are plotted");
}

/// Each defect, alone in a copy of Marker, makes `agent test` exit 1 and fails the check that
/// names it (others may fail too: ocf-tester sees most of them as well).
#[test]
fn each_broken_agent_is_caught_by_the_check_that_names_its_defect() {
    if !privileged() {
        return;
    }
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "monitor-says-error-when-stopped",
            "    return \"$OCF_NOT_RUNNING\"",
            "    return \"$OCF_ERR_GENERIC\"",
            "monitor of a stopped resource returns 7 (OCF_NOT_RUNNING), a probe too",
        ),
        ("monitor-lies-after-stop", "    rm -f \"$STATE\" || return \"$OCF_ERR_GENERIC\"", "    : \"$STATE\"", "monitor after stop reports not running"),
        (
            "start-not-idempotent",
            "    marker_monitor && return \"$OCF_SUCCESS\"",
            "    marker_monitor && return \"$OCF_ERR_GENERIC\"",
            "start of a started resource succeeds (idempotent)",
        ),
        ("meta-data-not-xml", "<shortdesc lang=\"en\">Marker file</shortdesc>", "<shortdesc lang=\"en\">Marker file", "meta-data is well-formed XML"),
        ("meta-data-old-role", "depth=\"0\"/>", "depth=\"0\" role=\"Master\"/>", "meta-data validates against resource-agents' metadata.rng"),
        ("timeout-without-unit", "<action name=\"start\" timeout=\"20s\"/>", "<action name=\"start\" timeout=\"20\"/>", "timeouts and intervals carry units"),
        (
            "validate-accepts-anything",
            "    if [ -z \"${OCF_RESKEY_tag}\" ]; then",
            "    if false; then",
            "validate-all refuses when a required parameter is missing",
        ),
    ];
    let mut missed = Vec::new();
    for (tag, from, to, check) in cases {
        let path = broken(tag, from, to);
        // Each defect shows before the live cluster: that layer is left out here.
        let (code, checks, text) = agent_test(&path, &["--params", "tag=hello", "--layers", "static,single"]);
        let f = failed(&checks);
        if code != Some(1) || !f.contains(check) {
            missed.push(format!("{tag}: exit {code:?}, failed {f:?}\n{text}"));
        }
    }
    assert!(missed.is_empty(), "not caught:\n{}", missed.join("\n"));
}

/// Debian's OVN agent (ovn-common's ovndb-servers.ocf) gets a verdict: its meta-data names
/// roles the OCF 1.0 way (Master/Slave), which resource-agents 4.12's metadata.rng refuses.
/// On bookworm (OVN 22.03): trixie's OVN 25.03 ships the same agent, whose start outside a
/// cluster (ocf-tester, no pacemaker to promote it) loops until the operation's timeout.
#[test]
fn the_ovn_agent_gets_a_verdict_that_names_its_role_names() {
    if !privileged() {
        return;
    }
    let built = ok(&["image", "build", "debian-bookworm-ha", "--packages", "ovn-central"]);
    let upper = built.split_whitespace().nth(2).expect("the layer's directory");
    let path = Path::new(upper).join("usr/share/ovn/scripts/ovndb-servers.ocf");
    let dir = std::env::temp_dir().join("halab-agent-ovn");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("ovndb-servers.ocf");
    std::fs::copy(&path, &copy).unwrap();
    let (code, checks, text) = agent_test(
        &copy,
        &["--promotable", "--image", "debian-bookworm-ha", "--packages", "ovn-central", "--params", "master_ip=198.18.250.254", "--layers", "static,single"],
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(failed(&checks).contains(&"meta-data validates against resource-agents' metadata.rng"), "{text}");
    assert!(
        text.contains("Invalid attribute role for element action") && text.contains("role=\"Master\""),
        "the evidence names the attribute and shows the line: {text}"
    );
}

/// A correct promotable agent (tests/data/agents/Promo) passes every layer as a promotable
/// clone; the same agent without its promotion scores is never promoted, and the live check
/// says so.
#[test]
fn a_promotable_agent_passes_and_one_without_promotion_scores_is_caught() {
    if !privileged() {
        return;
    }
    let dir = std::env::temp_dir().join("halab-agent-promo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(PROMO, dir.join("Promo")).unwrap();
    let (code, checks, text) = agent_test(&dir.join("Promo"), &["--promotable"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(checks.iter().any(|(n, p)| n.starts_with("the resource fails over when its member crashes") && *p), "{text}");
    for check in ["after every step one instance is promoted and the other unpromoted", "every promote and demote comes between its notifications"] {
        assert!(checks.iter().any(|(n, p)| n.starts_with(check) && *p), "{check}: {text}");
    }
    let path = broken_copy(PROMO, "promo-no-score", "    crm_attribute --promotion -v \"$1\" >/dev/null 2>&1 || true", "    : \"$1\"");
    let (code, checks, text) = agent_test(&path, &["--promotable", "--layers", "live"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(failed(&checks).contains(&"the resource is promoted on one member by pacemaker"), "{text}");
    assert!(text.contains("does the agent set a promotion score"), "{text}");
    // A notify that fails is named, with the call pacemaker made.
    let path = broken_copy(PROMO, "promo-bad-notify", "    notify) exit \"$OCF_SUCCESS\" ;;", "    notify) exit \"$OCF_ERR_GENERIC\" ;;");
    let (code, checks, text) = agent_test(&path, &["--promotable", "--layers", "live"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(failed(&checks).iter().any(|n| n.starts_with("every promote and demote comes between its notifications")), "{text}");
    assert!(text.contains("→ 1 (a notify must succeed)"), "{text}");
}

/// `--topology`: the live layer in the user's own lab (fw-pair: firewall, conntrackd, four
/// nodes) run on pacemaker, the agent in both members.
#[test]
fn the_live_layer_runs_in_the_users_own_topology() {
    if !privileged() {
        return;
    }
    let (code, checks, text) = agent_test(Path::new(GOOD), &["--params", "tag=hello", "--topology", "../topologies/fw-pair.yaml", "--layers", "live"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(checks.len() >= 6 && checks.iter().all(|(_, p)| *p), "{text}");
    assert!(
        checks.iter().any(|(n, _)| n == "the resource moves to fw1 when asked" || n == "the resource moves to fw2 when asked"),
        "the user's members: {text}"
    );
}

/// Ctrl-C while the agent test's checks run: it exits 130 and its lab is gone, not left to `gc`.
#[test]
fn ctrl_c_during_an_agent_test_takes_its_lab_down() {
    if !privileged() {
        return;
    }
    let agent = good_copy("ctrlc");
    let out = agent.with_file_name("out");
    let mut child = std::process::Command::new(HALAB)
        .args(["agent", "test", agent.to_str().unwrap(), "--params", "tag=hello", "-o", out.to_str().unwrap()])
        .env("HALAB_PLAIN", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (name, lab) = (format!("agent-{} ", child.id()), format!("/var/lib/halab/labs/agent-{}", child.id()));
    eventually(60, "the agent test's lab is up", || {
        String::from_utf8_lossy(&halab(&["ls"]).stdout).lines().any(|l| l.starts_with(&name) && l.contains(" up "))
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < std::time::Duration::from_secs(120), "halab agent test still runs 120 s after Ctrl-C");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(130), "Ctrl-C exits 130");
    assert!(!std::path::Path::new(&lab).exists(), "{lab} is gone");
}
