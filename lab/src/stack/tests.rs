//! The stack registry, for every stack, without a lab: names, daemons and their logs,
//! settings lines, config files, and what `stop` does on a member (through a recording shell).

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;

use super::{all, conntrackd, of, status};
use crate::node::{Node, Shell};
use crate::topology::{PlanCluster, Stack};

/// A cluster from one of the shipped topologies, running `stack`.
pub fn cluster(file: &str, stack: Stack) -> PlanCluster {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../topologies").join(file);
    let plan = crate::topology::load(&path, None).unwrap_or_else(|e| panic!("{file}: {} problem(s)", e.diagnostics.len()));
    PlanCluster { stack, ..plan.cluster.expect("a cluster") }
}

fn every_stack() -> Vec<Stack> {
    <Stack as clap::ValueEnum>::value_variants().to_vec()
}

#[test]
fn names_round_trip_with_the_config_enum() {
    for s in every_stack() {
        assert_eq!(of(s).name(), s.to_string());
        assert_eq!(Stack::parse(of(s).name()), Some(s));
    }
    assert_eq!(all().map(|s| s.name().to_string()).collect::<Vec<_>>(), Stack::names());
}

#[test]
fn daemons_per_stack_and_each_has_log_files() {
    let ds = |s| super::daemons(&cluster("fw-trio.yaml", s));
    assert_eq!(ds(Stack::None), ["conntrackd"]);
    assert_eq!(ds(Stack::Keepalived), ["keepalived", "conntrackd"]);
    assert_eq!(ds(Stack::Pacemaker), ["corosync", "pacemaker", "conntrackd"]);
    let mut off = cluster("fw-trio.yaml", Stack::Pacemaker);
    off.sync.network = None;
    assert_eq!(super::daemons(&off), ["corosync", "pacemaker"]);
    for s in every_stack() {
        assert_eq!(of(s).runs(), s != Stack::None, "stack {s}");
        for d in super::daemons(&cluster("fw-trio.yaml", s)) {
            assert!(!super::log_files(d).is_empty(), "{d} of stack {s} has no log files");
        }
    }
    assert_eq!(super::log_files("pacemaker"), [super::pacemaker::LOG, "/var/log/halab/pacemaker.log", super::events::LOG]);
    assert_eq!(super::log_files("sshd"), ["/var/log/halab/sshd.log"]);
    assert!(super::log_files("nope").is_empty());
}

#[test]
fn settings_lines_per_stack() {
    let trio = |s| status::settings(&cluster("fw-trio.yaml", s));
    assert_eq!(trio(Stack::None), ["stack none", "conntrackd notrack over heartbeat"]);
    assert_eq!(
        trio(Stack::Keepalived),
        [
            "stack keepalived",
            "keepalived advert_int 1000 ms, VRRP v3, preempt on, one instance per VIP network in a sync group, no fencing (keepalived has none: a partition leaves both members MASTER)",
            "conntrackd notrack over heartbeat"
        ]
    );
    assert_eq!(
        trio(Stack::Pacemaker),
        [
            "stack pacemaker",
            "corosync knet over heartbeat, token 3000 ms, consensus 3600 ms",
            "pacemaker dc-deadtime 2000 ms (pre-seeded; pacemaker's default is 20 s), stickiness 100, link monitor ethmonitor, NO FENCING (stonith-enabled=false)",
            "conntrackd notrack over heartbeat, under ocf:halab:conntrackd",
        ]
    );
    let pair = status::settings(&cluster("fw-pair.yaml", Stack::Pacemaker));
    assert!(pair[1].ends_with(", two_node"), "{}", pair[1]);
    assert!(pair[2].ends_with(", no-quorum-policy=ignore"), "{}", pair[2]);
    assert_eq!(pair[3], "conntrackd ftfw over heartbeat, under ocf:halab:conntrackd", "a pair syncs with FTFW");
    // FTFW asked for among three members: built, and the settings say what it does there.
    let mut ftfw = cluster("fw-trio.yaml", Stack::Pacemaker);
    ftfw.sync.conntrackd = crate::topology::ConntrackdMode::Ftfw;
    let lines = status::settings(&ftfw);
    assert!(lines.iter().any(|l| l.starts_with("conntrackd FTFW among 3 members drops messages")), "{lines:?}");
}

/// Without `conntrackd:`, a pair syncs with FTFW and three members with NOTRACK (FTFW among
/// three drops messages: docs/conntrackd-ftfw-three-members.md).
#[test]
fn conntrackd_mode_defaults_by_member_count() {
    let mode = |file: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../topologies").join(file);
        let text = std::fs::read_to_string(&path).unwrap().replace(", conntrackd: ftfw", "").replace(", conntrackd: notrack", "");
        assert!(!text.contains("conntrackd:"), "{file} still names a mode");
        crate::topology::load_str(&path, &text, None).unwrap_or_else(|e| panic!("{file}: {} problem(s)", e.diagnostics.len())).cluster.unwrap().sync.conntrackd
    };
    assert_eq!(mode("fw-pair.yaml"), crate::topology::ConntrackdMode::Ftfw);
    assert_eq!(mode("fw-trio.yaml"), crate::topology::ConntrackdMode::Notrack);
}

#[test]
fn config_files_per_stack() {
    assert_eq!(of(Stack::None).config_file(), conntrackd::CONFIG);
    assert_eq!(of(Stack::Keepalived).config_file(), "/etc/keepalived/keepalived.conf");
    assert_eq!(of(Stack::Pacemaker).config_file(), "/etc/corosync/corosync.conf");
}

/// A node that records what it is asked and answers `cat` with `state`.
#[derive(Default)]
struct Recorder {
    state: String,
    calls: Mutex<Vec<String>>,
}

impl Shell for Recorder {
    fn exec(&self, argv: &[&str], _: Option<&[u8]>, _: Duration) -> Result<Output> {
        use std::os::unix::process::ExitStatusExt;
        self.calls.lock().expect("calls").push(argv.join(" "));
        let stdout = if argv.first() == Some(&"cat") { self.state.clone().into_bytes() } else { Vec::new() };
        Ok(Output { status: std::process::ExitStatus::from_raw(0), stdout, stderr: Vec::new() })
    }
    fn service_start(&self, name: &str, _: &[&str]) -> Result<()> {
        self.calls.lock().expect("calls").push(format!("start {name}"));
        Ok(())
    }
    fn service_stop(&self, name: &str) -> Result<()> {
        self.calls.lock().expect("calls").push(format!("stop {name}"));
        Ok(())
    }
    fn service_running(&self, _: &str) -> bool {
        true
    }
}

fn recorder(state: &str) -> (Arc<Recorder>, Node) {
    let r = Arc::new(Recorder { state: state.into(), ..Default::default() });
    let node = Node::new("fw1", r.clone());
    (r, node)
}

#[test]
fn stop_stops_the_stacks_own_service() {
    for (s, service) in [(Stack::Keepalived, "keepalived"), (Stack::Pacemaker, "pacemaker")] {
        let (r, node) = recorder("");
        of(s).stop(&node).expect("stop");
        assert_eq!(*r.calls.lock().expect("calls"), [format!("stop {service}")]);
    }
    let (r, node) = recorder("");
    let e = of(Stack::None).stop(&node).expect_err("none has nothing to stop");
    assert_eq!(e.to_string(), "stack `none` has nothing to stop");
    assert!(r.calls.lock().expect("calls").is_empty());
}

#[test]
fn only_keepalived_details_a_member() {
    let (_, node) = recorder("primary\n");
    assert_eq!(of(Stack::Keepalived).member_detail(&node), ", keepalived state `primary`");
    assert_eq!(of(Stack::Pacemaker).member_detail(&node), "");
    assert_eq!(of(Stack::None).member_detail(&node), "");
}
