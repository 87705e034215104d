//! Study files: every problem at once at its line (a bad path at the axis, a refused value at
//! the value, an axis no study stack reads), and the cells a sweep makes (an axis one stack
//! reads leaves the other stack's cells alone). Runs: `study_labs.rs`.

use std::path::Path;

fn problems(file: &str) -> String {
    match halab::study::load(&Path::new("tests/data/studies").join(file)) {
        Ok(_) => panic!("{file} was accepted"),
        Err(e) => e.diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"),
    }
}

const CASES: &[(&str, &str, &str)] = &[
    ("bad.yaml", "bad.yaml:4:10:", "repeats: 0 repeats"),
    ("bad.yaml", "bad.yaml:6:3:", "sweep.cluster.keepalived.advert: not a setting of the topology of switchover: unknown field `advert`"),
    ("bad.yaml", "bad.yaml:7:3:", "only pacemaker reads `cluster.corosync.token`, and the study runs keepalived"),
    (
        "bad.yaml",
        "bad.yaml:8:40:",
        "advert_int[1]: `15ms` is refused in the topology of switchover: cluster.keepalived.advert_int: `15ms` is not a multiple of 10 ms",
    ),
    ("bad.yaml", "bad.yaml:8:46:", "`50s` is above VRRPv3's 40.95 s"),
    ("bad.yaml", "bad.yaml:8:51:", "advert_int[3]: not a single value"),
    ("bad.yaml", "bad.yaml:9:36:", "unknown conntrackd mode `fast`"),
    // A value refused only with another axis' value: at the later one, naming the first.
    ("refused.yaml", "refused.yaml:5:40:", "`500ms` together with cluster.keepalived.version 2 is refused"),
    (
        "refused.yaml",
        "refused.yaml:6:37:",
        "`300ms` is refused in the topology of switchover: cluster.corosync.token: `300ms` is too short: knet's pong timeout would be 150 ms",
    ),
];

#[test]
fn each_problem_of_a_study_is_reported_at_its_line() {
    for (file, position, words) in CASES {
        let out = problems(file);
        let line = out.lines().find(|l| l.contains(position)).unwrap_or_else(|| panic!("{file}: nothing at {position}:\n{out}"));
        assert!(line.contains(words), "{file} at {position}: {line}\nwanted: {words}");
    }
    // Every problem at once: the bad file's seven.
    assert_eq!(problems("bad.yaml").lines().count(), 7, "{}", problems("bad.yaml"));
}

#[test]
fn an_axis_one_stack_reads_leaves_the_other_stacks_cells_alone() {
    let s = halab::study::load(Path::new("tests/data/studies/cells.yaml")).unwrap();
    let labels = |sc: &str, st: &str| -> Vec<String> {
        s.cells.iter().filter(|c| s.scenarios[c.scenario].name == sc && c.stack.to_string() == st).map(|c| c.label.clone()).collect()
    };
    // switchover runs on both: keepalived 3 advert_int x 2 conntrackd, pacemaker 2 tokens x 2.
    assert_eq!(labels("switchover", "keepalived").len(), 6, "{:?}", labels("switchover", "keepalived"));
    assert_eq!(labels("switchover", "pacemaker").len(), 4, "{:?}", labels("switchover", "pacemaker"));
    assert!(labels("switchover", "pacemaker").contains(&"token 1000ms, conntrackd notrack".to_string()), "{:?}", labels("switchover", "pacemaker"));
    // crash-unfenced runs on pacemaker only.
    assert_eq!(labels("crash-unfenced", "keepalived").len(), 0);
    assert_eq!(labels("crash-unfenced", "pacemaker").len(), 4);
    assert_eq!(s.runs(), (6 + 4 + 4) * 2);
    // The cell's lab has its settings: corosync's consensus follows the swept token.
    let c = s.cells.iter().find(|c| c.label == "token 1000ms, conntrackd notrack").unwrap();
    let cl = c.plan.cluster.as_ref().unwrap();
    assert_eq!((cl.corosync.token_ms, cl.corosync.consensus_ms), (1000, 1200));
    assert_eq!(cl.sync.conntrackd, halab::topology::ConntrackdMode::Notrack);
    let k = s.cells.iter().find(|c| c.label == "advert_int 200ms, conntrackd ftfw").unwrap();
    assert_eq!(k.plan.cluster.as_ref().unwrap().keepalived.advert_int_ms, 200);
}

#[test]
fn the_shipped_studies_validate() {
    for f in ["../studies/keepalived-vs-pacemaker.yaml", "../studies/tuning.yaml", "tests/bench/study-jobs.yaml"] {
        let s = halab::study::load(Path::new(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(s.runs() > 0, "{f}");
    }
    let t = halab::study::load(Path::new("../studies/tuning.yaml")).unwrap();
    // advert_int x 3 on keepalived, token x 2 on pacemaker: no duplicated cells.
    assert_eq!(t.cells.len(), 5);
}
