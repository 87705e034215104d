//! The report tests' recorded runs: made up, but written by the same code `halab run` uses and
//! shaped like the records it writes today.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use halab::measure::gap::GapOutcome;
use halab::measure::probe::ProbeSamples;
use halab::scenario::events::What;
use halab::scenario::plan::{Headline, Report, Step};
use halab::scenario::results::{split_gap, Event, ExpectResult, Outcome, RunRecord, SCHEMA};
use halab::scenario::schedule::{draw, run_seed};
use halab::scenario::traffic::PROBE_SAMPLES;

/// The shipped crash scenario's headline rows, as its `report:` block lists them.
pub fn crash_report() -> Report {
    let h = |metric: &str, label: &str, unit: &str| Headline { metric: metric.into(), label: label.into(), unit: unit.into() };
    Report {
        headline: vec![
            h("probe.gap", "Failover gap on node crash", "ms"),
            h("probe.tcp.gap", "TCP stall on node crash", "ms"),
            h("detection", "Detection on node crash (fault to the stack's first own event)", "ms"),
            h("takeover", "Takeover on node crash (that event to traffic flowing)", "ms"),
            h("bulk.checksum_ok", "Connection state survived a crash (scp ok)", "flag"),
        ],
    }
}

/// A recorded run of `scenario` whose probe traffic is called `probe`, made up but shaped
/// exactly like `halab run` writes it: the metrics its probe, its scp and the lab record, then
/// the detection/takeover split the runner derives. A TCP that did not survive never recovered:
/// its `tcp.gap` is the lower bound the probe records then.
pub fn record(scenario: &str, probe: &str, report: Report, (stack, repeat, gap, tcp_gap, survived): Fixture) -> RunRecord {
    let mut metrics = BTreeMap::new();
    let mut put = |k: String, v: serde_json::Value| metrics.insert(k, v);
    let outcome = |ok: bool| serde_json::json!(if ok { GapOutcome::Recovered } else { GapOutcome::NeverRecovered });
    put(format!("{probe}.gap"), serde_json::json!(gap));
    put(format!("{probe}.recovered"), serde_json::json!(true));
    put(format!("{probe}.gap_outcome"), outcome(true));
    put(format!("{probe}.tcp.gap"), serde_json::json!(tcp_gap));
    put(format!("{probe}.tcp.survived"), serde_json::json!(survived));
    put(format!("{probe}.tcp.outcome"), outcome(survived));
    put(format!("{probe}.udp.sent"), serde_json::json!(SENT));
    put(format!("{probe}.tick_late_p99"), serde_json::json!(if repeat == 9 { 400.0 } else { 0.4 }));
    put(format!("{probe}.udp.received"), serde_json::json!(SENT.saturating_sub((gap / 10.0) as u64)));
    put(format!("{probe}.gap_start_after_fault"), serde_json::json!(-9.8));
    put(format!("{probe}.recovered_after_fault"), serde_json::json!(gap + 40.0));
    put("bulk.completed".into(), serde_json::json!(survived));
    put("bulk.checksum_ok".into(), serde_json::json!(survived));
    put("vip_overlap_ms".into(), serde_json::json!(0.0));
    put("split_brain".into(), serde_json::json!(false));
    put("vip_moved".into(), serde_json::json!(true));
    put("failover".into(), serde_json::json!(gap + 30.0));
    put("detection".into(), serde_json::json!(gap + 30.0));
    let mut metrics = halab::measure::metrics::Metrics::from(metrics);
    split_gap(&mut metrics);
    RunRecord {
        schema: SCHEMA.into(),
        scenario: scenario.into(),
        scenario_file: format!("scenarios/{scenario}.yaml"),
        stack: stack.into(),
        repeat,
        seed: 0,
        run_seed: 0,
        drawn: Vec::new(),
        lab: format!("run-{stack}-ccc3"),
        outcome: if survived { Outcome::Passed } else { Outcome::Failed },
        error: None,
        started_unix: 1_790_000_000,
        wall_s: 30.0,
        t0_ns: 1_000_000_000,
        git_revision: "0123456789ab".into(),
        versions: [("keepalived".to_string(), "1:2.2.7-1+b2".to_string()), ("pacemaker".to_string(), "2.1.5-1+deb12u1".to_string())].into_iter().collect(),
        settings: vec![format!("stack {stack}"), "provider netns".into()],
        host_load: ("0.50 0.40 0.30".into(), "0.60 0.45 0.31".into()),
        metrics,
        expectations: vec![ExpectResult { expect: format!("{probe}.tcp.survived"), held: survived, actual: Some(serde_json::json!(survived)) }],
        vip_timeline: vec![(0.1, vec!["fw1".into()]), (gap + 30.0, vec!["fw2".into()])],
        // The survivor's transition as keepalived's notify FIFO logs it (fault at t = 3000 ms).
        stack_events: vec![(3000.0 + gap + 30.0, "fw2".to_string(), "INSTANCE \"vi_lan\" MASTER 100".to_string()).into()],
        events: vec![Event {
            t_ms: 3000.0,
            t_ns: 4_000_000_000,
            what: What::FaultInjected { step: 4, kind: "crash".into(), fields: [("node".to_string(), "@active".to_string())].into() },
        }],
        report,
        study: None,
    }
}

/// Ticks of a fixture probe, one per 10 ms from t = 1 s on the run clock.
pub const SENT: u64 = 1900;

/// Probe samples with silences of `gap_ms` (UDP) and `tcp_gap_ms` starting at the fault
/// (t = 4 s); a TCP that did not survive stays silent to the end.
pub fn samples((_, _, gap, tcp_gap, survived): Fixture) -> ProbeSamples {
    let end = 1_000_000_000 + SENT * 10_000_000;
    let mut s = ProbeSamples { interval_ns: 10_000_000, start_ns: 1_000_000_000, end_ns: end, ..Default::default() };
    let silent = |t: u64, ms: f64| t >= 4_000_000_000 && (t as f64) < 4e9 + ms * 1e6;
    for seq in 0..SENT {
        let sent = 1_000_000_000 + seq * 10_000_000;
        if !silent(sent, gap) {
            s.udp.push((seq, sent, sent + 150_000));
        }
        if !silent(sent, if survived { tcp_gap } else { f64::INFINITY }) {
            s.tcp.push((seq, sent, sent + 200_000));
        }
    }
    s.udp_sent = SENT;
    s.tcp_sent = SENT;
    s
}

/// (stack, repeat, gap ms, TCP gap ms, survived); repeat 9 is starved (late ticks).
pub type Fixture = (&'static str, u32, f64, f64, bool);

pub const RUNS: [Fixture; 5] = [
    ("keepalived", 1, 3221.0, 3780.0, true),
    ("keepalived", 2, 3310.0, 3790.0, true),
    ("keepalived", 9, 9000.0, 9000.0, true),
    ("pacemaker", 1, 7460.0, 13400.0, true),
    ("pacemaker", 2, 6980.0, 7210.0, false),
];

/// Run folders of `scenario` under `root`, written by the same code `halab run` uses.
pub fn write_runs(root: &Path, scenario: &str, probe: &str, report: &Report) {
    for run in RUNS {
        let dir = root.join(format!("{scenario}-{}-{}", run.0, run.1));
        record(scenario, probe, report.clone(), run).write(&dir).unwrap();
        std::fs::create_dir_all(dir.join("samples")).unwrap();
        std::fs::write(dir.join("samples").join(format!("{probe}{PROBE_SAMPLES}")), serde_json::to_vec(&samples(run)).unwrap()).unwrap();
    }
}

/// The crash scenario's runs, recorded afresh for every test binary, so the recording code
/// runs and the records carry what halab writes today. `HALAB_RECORD_FIXTURE=1` (re)writes the
/// committed copy in tests/data/report-fixture instead: a sample to try `halab report` on,
/// which no test reads.
pub fn fixture() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = if std::env::var("HALAB_RECORD_FIXTURE").as_deref() == Ok("1") {
            let committed = PathBuf::from("tests/data/report-fixture");
            let _ = std::fs::remove_dir_all(&committed);
            committed
        } else {
            sweep_ended();
            tempdir(&format!("fixture-{}", std::process::id()))
        };
        write_runs(&root, "scp-survives-failover", "probe", &crash_report());
        root
    })
}

/// Per-process temp folders (`halab-test-<what>-<pid>`) of test processes that have ended:
/// the fixture stays for the whole process, so it is swept by the next one.
pub fn sweep_ended() {
    for e in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix("halab-test-").and_then(|n| n.rsplit_once('-')).map(|(_, pid)| pid.to_string()).unwrap_or_default();
        if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

pub fn analysis() -> halab::report::Analysis {
    halab::report::analyse(halab::report::load_runs(&[fixture().to_path_buf()]).unwrap())
}

/// The `--seed` of the phase fixture's bench.
pub const PHASE_SEED: u64 = 17;

/// A bigger recorded bench of the crash scenario, `keepalived` and `pacemaker` runs, shaped
/// like today's records: each run's seed derives from PHASE_SEED and draws the scenario's
/// `wait: 3s..4s` (step 3, just before the crash at step 4). Each gap follows the phase of that
/// wait as a timer would make it: keepalived's backup declares the master dead 3.2 s after the
/// last advert it heard (one a second, from 0.25 s on), so its gap is 3.2 s less the time since
/// that advert (2.2–3.2 s); pacemaker's is 6 s plus half the phase of a 2 s cycle (6.5–7 s).
pub fn phase_runs(root: &Path, keepalived: u32, pacemaker: u32) {
    let wait = Step::Wait { min: std::time::Duration::from_secs(3), max: std::time::Duration::from_secs(4) };
    // The scenario's steps as the draw sees them: two traffics (no ranges), then the wait.
    let steps = [Step::Stop("probe".into()), Step::Stop("bulk".into()), wait];
    for (stack, n) in [("keepalived", keepalived), ("pacemaker", pacemaker)] {
        for repeat in 1..=n {
            let seed = run_seed(PHASE_SEED, "scp-survives-failover", stack, repeat);
            let drawn = draw(&steps, seed, 1, 1);
            let w = drawn[0].value_ms;
            let gap = if stack == "keepalived" { 3200.0 - (w - 250.0).rem_euclid(1000.0) } else { 6000.0 + (w % 2000.0) / 2.0 };
            let mut r = record("scp-survives-failover", "probe", crash_report(), (stack, repeat, gap, gap + 500.0, true));
            // record() starves repeat 9; these runs were all fine.
            r.metrics.insert("probe.tick_late_p99".into(), serde_json::json!(0.4));
            (r.seed, r.run_seed, r.drawn) = (PHASE_SEED, seed, drawn);
            r.write(&root.join(format!("scp-survives-failover-{stack}-{repeat}"))).unwrap();
        }
    }
}

pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("halab-test-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Text of a headline cell recomputed from the raw per-run metrics in results.json, the
/// outcome rule restated: a number whose `<metric>_outcome` (or, for `P.gap`, `P.outcome`) is
/// not `recovered` is counted apart, never in the statistics.
pub fn expected_cell(runs: &[serde_json::Value], scenario: &str, stack: &str, metric: &str, unit: &str) -> Option<String> {
    let used: Vec<&serde_json::Value> = runs
        .iter()
        .filter(|r| r["record"]["scenario"] == scenario && r["record"]["stack"] == stack && r["starved"].is_null() && r["record"]["outcome"] != "error")
        .map(|r| &r["record"]["metrics"])
        .filter(|m| m.get(metric).is_some())
        .collect();
    if used.is_empty() {
        return None;
    }
    if unit == "flag" {
        return Some(format!("{}/{}", used.iter().filter(|m| m[metric].as_bool() == Some(true)).count(), used.len()));
    }
    let outcome = |m: &serde_json::Value| {
        let own = m.get(format!("{metric}_outcome"));
        own.or_else(|| metric.strip_suffix(".gap").and_then(|p| m.get(format!("{p}.outcome")))).and_then(|o| o.as_str()).unwrap_or("recovered").to_string()
    };
    let mut lost: BTreeMap<String, usize> = BTreeMap::new();
    let mut x = Vec::new();
    for m in &used {
        match outcome(m).as_str() {
            "recovered" => x.extend(m[metric].as_f64()),
            o => *lost.entry(o.replace('_', " ")).or_default() += 1,
        }
    }
    let total = x.len() + lost.values().sum::<usize>();
    if x.is_empty() {
        return match lost.len() {
            0 => None,
            1 => lost.keys().next().map(|o| format!("{o} (0 of {total} recovered)")),
            _ => Some(format!("{} (0 of {total} recovered)", lost.iter().map(|(o, k)| format!("{k} {o}")).collect::<Vec<_>>().join(", "))),
        };
    }
    let left =
        if lost.is_empty() { String::new() } else { format!("; {}", lost.iter().map(|(o, k)| format!("{k} of {total} {o}")).collect::<Vec<_>>().join(", ")) };
    x.sort_by(|a, b| a.total_cmp(b));
    let n = x.len();
    let med = if n % 2 == 1 { x[n / 2] } else { (x[n / 2 - 1] + x[n / 2]) / 2.0 };
    // Nearest rank, from 20 runs on: the value at rank ceil(p n / 100).
    let rank = |p: usize| x[(p * n).div_ceil(100) - 1];
    let f = |v: f64| if unit == "ms" { format!("{:.2}", v / 1000.0) } else { format!("{v:.0}") };
    let tails = if n >= 20 { format!(", p5–p95 {}–{}", f(rank(5)), f(rank(95))) } else { String::new() };
    let shown = if unit == "ms" { "s" } else { unit };
    Some(format!("{} {shown} ({}–{}{tails}, n={n}{left})", f(med), f(x[0]), f(x[n - 1])))
}
