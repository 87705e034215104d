//! Report writers on recorded raw results: Markdown and JUnit snapshots, the HTML rendered by
//! headless Chromium with plots that have content, and a real tiny bench whose report numbers
//! must equal the statistics of its raw results.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use halab::measure::probe::ProbeSamples;
use halab::scenario::events::What;
use halab::scenario::plan::{Headline, Report};
use halab::scenario::results::{Event, ExpectResult, Outcome, RunRecord, SCHEMA};
use halab::scenario::traffic::PROBE_SAMPLES;

/// The shipped crash scenario's headline rows, as its `report:` block lists them.
fn crash_report() -> Report {
    let h = |metric: &str, label: &str, unit: &str| Headline { metric: metric.into(), label: label.into(), unit: unit.into() };
    Report {
        headline: vec![
            h("probe.gap", "Failover gap on node crash", "ms"),
            h("probe.tcp.gap", "TCP stall on node crash", "ms"),
            h("detection", "Detection on node crash (fault to VIP seen on the survivor; 100 ms polling)", "ms"),
            h("takeover", "Takeover on node crash (VIP moved to traffic flowing)", "ms"),
            h("bulk.checksum_ok", "Connection state survived a crash (scp ok)", "flag"),
        ],
    }
}

/// A recorded run of `scenario` whose probe traffic is called `probe`, made up but shaped
/// exactly like `halab run` writes it.
fn record(scenario: &str, probe: &str, report: Report, (stack, repeat, gap, tcp_gap, survived): Fixture) -> RunRecord {
    let mut metrics = BTreeMap::new();
    let mut put = |k: String, v: serde_json::Value| metrics.insert(k, v);
    put(format!("{probe}.gap"), serde_json::json!(gap));
    put(format!("{probe}.tcp.gap"), serde_json::json!(tcp_gap));
    put(format!("{probe}.tcp.survived"), serde_json::json!(survived));
    put("bulk.checksum_ok".into(), serde_json::json!(survived));
    put(format!("{probe}.tick_late_p99"), serde_json::json!(if repeat == 9 { 40.0 } else { 0.4 }));
    put("failover".into(), serde_json::json!(gap + 30.0));
    put(format!("{probe}.recovered_after_fault"), serde_json::json!(gap + 40.0));
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
        settings: vec![format!("stack {stack}")],
        host_load: ("0.50 0.40 0.30".into(), "0.60 0.45 0.31".into()),
        metrics,
        expectations: vec![ExpectResult { expect: format!("{probe}.tcp.survived"), held: survived, actual: Some(serde_json::json!(survived)) }],
        vip_timeline: vec![(0.1, vec!["fw1".into()]), (gap + 30.0, vec!["fw2".into()])],
        events: vec![Event {
            t_ms: 3000.0,
            t_ns: 4_000_000_000,
            what: What::FaultInjected { step: 4, kind: "crash".into(), fields: [("node".to_string(), "@active".to_string())].into() },
        }],
        report,
    }
}

/// Probe samples with a silence of `gap_ms` starting at the fault (t = 4 s on the run clock).
fn samples(gap_ms: u64) -> ProbeSamples {
    let mut s = ProbeSamples { interval_ns: 10_000_000, start_ns: 1_000_000_000, end_ns: 12_000_000_000, ..Default::default() };
    for seq in 0..1100u64 {
        let sent = 1_000_000_000 + seq * 10_000_000;
        if sent >= 4_000_000_000 && sent < 4_000_000_000 + gap_ms * 1_000_000 {
            continue;
        }
        s.udp.push((seq, sent, sent + 150_000));
        s.tcp.push((seq, sent, sent + 200_000));
    }
    s.udp_sent = 1100;
    s.tcp_sent = 1100;
    s
}

/// (stack, repeat, gap ms, TCP gap ms, survived); repeat 9 is starved (late ticks).
type Fixture = (&'static str, u32, f64, f64, bool);

const RUNS: [Fixture; 5] = [
    ("keepalived", 1, 3221.0, 3780.0, true),
    ("keepalived", 2, 3310.0, 3790.0, true),
    ("keepalived", 9, 9000.0, 9000.0, true),
    ("pacemaker", 1, 7460.0, 13400.0, true),
    ("pacemaker", 2, 6980.0, 7210.0, false),
];

/// Run folders of `scenario` under `root`, written by the same code `halab run` uses.
fn write_runs(root: &Path, scenario: &str, probe: &str, report: &Report) {
    for run in RUNS {
        let (stack, rep, gap) = (run.0, run.1, run.2);
        let dir = root.join(format!("{scenario}-{stack}-{rep}"));
        record(scenario, probe, report.clone(), run).write(&dir).unwrap();
        std::fs::create_dir_all(dir.join("samples")).unwrap();
        std::fs::write(dir.join("samples").join(format!("{probe}{PROBE_SAMPLES}")), serde_json::to_vec(&samples(gap as u64)).unwrap()).unwrap();
    }
}

/// The crash scenario's runs, recorded afresh for every test binary, so the recording code
/// runs and the records carry what halab writes today. `HALAB_RECORD_FIXTURE=1` (re)writes the
/// committed copy in tests/data/report-fixture instead: a sample to try `halab report` on,
/// which no test reads.
fn fixture() -> &'static Path {
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
fn sweep_ended() {
    for e in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix("halab-test-").and_then(|n| n.rsplit_once('-')).map(|(_, pid)| pid.to_string()).unwrap_or_default();
        if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn analysis() -> halab::report::Analysis {
    halab::report::analyse(halab::report::load_runs(&[fixture().to_path_buf()]).unwrap(), 0)
}

#[test]
fn markdown_and_junit_snapshots() {
    let a = analysis();
    assert_eq!(a.starved.len(), 1, "the run with 40 ms late ticks is left out");
    // The fixture's folder differs per run: the snapshot shows it as FIXTURE.
    let md = halab::report::markdown::render(&a).replace(&fixture().display().to_string(), "FIXTURE");
    insta::assert_snapshot!("report_md", md);
    insta::assert_snapshot!("junit_xml", halab::report::junit::render(&a).unwrap());
}

#[test]
fn statistics_leave_out_starved_runs() {
    let a = analysis();
    let ka = a.cells.iter().find(|c| c.stack == "keepalived").unwrap();
    assert_eq!((ka.runs, ka.used), (3, 2));
    let g = ka.numbers["probe.gap"];
    assert_eq!((g.n, g.min, g.median, g.max), (2, 3221.0, 3265.5, 3310.0));
    let pm = a.cells.iter().find(|c| c.stack == "pacemaker").unwrap();
    assert_eq!(pm.flags["probe.tcp.survived"], (1, 2));
}

/// Headlines and timelines follow the scenario: a made-up scenario whose probe traffic has a
/// made-up name gets its own headline rows (in its file's order, with its units) and a probe
/// timeline per run, re-rendered from its run folders alone.
#[test]
fn html_and_headlines_follow_any_scenario() {
    let root = tempdir(&format!("own-{}", std::process::id()));
    let h = |metric: &str, label: &str, unit: &str| Headline { metric: metric.into(), label: label.into(), unit: unit.into() };
    let report = Report { headline: vec![h("ping1.tcp.survived", "Kept my TCP", "flag"), h("ping1.gap", "My gap", "ms"), h("takeover", "My takeover", "ms")] };
    write_runs(&root, "my-own-check", "ping1", &report);
    let a = halab::report::analyse(halab::report::load_runs(std::slice::from_ref(&root)).unwrap(), 0);
    let rows: Vec<(&str, &str, &str)> = a.headlines.iter().map(|h| (h.row.as_str(), h.metric.as_str(), h.unit.as_str())).collect();
    assert_eq!(rows, [("Kept my TCP", "ping1.tcp.survived", "flag"), ("My gap", "ping1.gap", "ms"), ("My takeover", "takeover", "ms")]);
    assert_eq!(a.headlines[0].cells["pacemaker"], "1/2");
    assert_eq!(a.headlines[1].cells["keepalived"], "3.27 s (3.22–3.31, n=2)");
    assert_eq!(a.headlines[2].cells["keepalived"], "0.01 s (0.01–0.01, n=2)", "takeover from ping1.recovered_after_fault");
    assert_eq!(a.starved.len(), 1, "ping1's late ticks leave its run out");
    let html = halab::report::html::render(&a);
    assert_eq!(html.matches("ping1 echoes (RTT)").count(), RUNS.len(), "one probe timeline per run");
    assert!(html.contains("My gap") && html.contains("My takeover"), "spread plots of the numeric headlines");
    let _ = std::fs::remove_dir_all(&root);
}

/// Runs of one scenario add up their headline rows, the earliest run's label wins, and
/// scenarios come in the order they first ran (a bench runs them in the order given).
#[test]
fn headline_statistics_add_up_over_runs() {
    let root = tempdir(&format!("union-{}", std::process::id()));
    let h = |metric: &str, label: &str, unit: &str| Headline { metric: metric.into(), label: label.into(), unit: unit.into() };
    write_runs(&root, "aa-later", "ping1", &Report { headline: vec![h("ping1.gap", "My gap", "ms")] });
    let mut later = record("aa-later", "ping1", Report { headline: vec![h("ping1.gap", "Renamed", "ms"), h("failover", "VIP moved", "ms")] }, RUNS[0]);
    later.started_unix += 60;
    later.write(&root.join("aa-later-keepalived-3")).unwrap();
    let mut first = record("zz-first", "ping2", Report { headline: vec![h("ping2.tcp.survived", "Kept TCP", "flag")] }, RUNS[1]);
    first.started_unix -= 60;
    first.write(&root.join("zz-first-keepalived-1")).unwrap();
    let a = halab::report::analyse(halab::report::load_runs(std::slice::from_ref(&root)).unwrap(), 0);
    let rows: Vec<(&str, &str)> = a.headlines.iter().map(|h| (h.scenario.as_str(), h.row.as_str())).collect();
    assert_eq!(rows, [("zz-first", "Kept TCP"), ("aa-later", "My gap"), ("aa-later", "VIP moved")]);
    let _ = std::fs::remove_dir_all(&root);
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.exists())
}

fn browser(args: &[&str], url: &str) -> std::process::Output {
    let profile = tempdir("chromium-profile");
    std::process::Command::new(chromium().unwrap())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap()
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("halab-test-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn html_report_renders_in_chromium_with_plots() {
    let out = tempdir("html");
    halab::report::write_all(&analysis(), &out).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.matches("<svg").count() >= 5, "spread plots and one timeline per run");
    if chromium().is_none() {
        if std::env::var("HALAB_SKIP_BROWSER").as_deref() == Ok("1") {
            skip("no chromium (HALAB_SKIP_BROWSER=1)");
            return;
        }
        panic!("this test needs Debian's chromium (apt-get install chromium), or HALAB_SKIP_BROWSER=1");
    }
    let url = format!("file://{}", std::fs::canonicalize(out.join("report.html")).unwrap().display());
    let dom = String::from_utf8_lossy(&browser(&["--dump-dom"], &url).stdout).into_owned();
    assert!(dom.contains("keepalived vs pacemaker"), "the page rendered");
    // Timelines have echo points, the spread plots their runs: the SVGs are not empty.
    assert!(dom.matches("<circle").count() > 400, "plots have content: {} circles", dom.matches("<circle").count());
    let png = out.join("report.png");
    browser(&[&format!("--screenshot={}", png.display()), "--window-size=1100,1600"], &url);
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 20_000, "a screenshot with content ({size} bytes)");
}

/// Text of a headline cell recomputed from the raw per-run metrics in results.json.
fn expected_cell(runs: &[serde_json::Value], scenario: &str, stack: &str, metric: &str, unit: &str) -> Option<String> {
    let vals: Vec<&serde_json::Value> = runs
        .iter()
        .filter(|r| r["record"]["scenario"] == scenario && r["record"]["stack"] == stack && r["starved"].is_null() && r["record"]["outcome"] != "error")
        .filter_map(|r| r["record"]["metrics"].get(metric))
        .collect();
    if vals.is_empty() {
        return None;
    }
    if unit == "flag" {
        return Some(format!("{}/{}", vals.iter().filter(|v| v.as_bool() == Some(true)).count(), vals.len()));
    }
    let mut x: Vec<f64> = vals.iter().filter_map(|v| v.as_f64()).collect();
    x.sort_by(|a, b| a.total_cmp(b));
    let n = x.len();
    let med = if n % 2 == 1 { x[n / 2] } else { (x[n / 2 - 1] + x[n / 2]) / 2.0 };
    Some(match unit {
        "ms" => format!("{:.2} s ({:.2}–{:.2}, n={n})", med / 1000.0, x[0] / 1000.0, x[n - 1] / 1000.0),
        _ => format!("{med:.0} {unit} ({:.0}–{:.0}, n={n})", x[0], x[n - 1]),
    })
}

#[test]
fn tiny_bench_report_numbers_equal_its_raw_results() {
    if !privileged() {
        return;
    }
    let out = tempdir("bench");
    let o = std::process::Command::new(HALAB)
        .args(["bench", "../scenarios/switchover.yaml", "--stacks", "keepalived,pacemaker", "--repeat", "2", "-o", out.to_str().unwrap()])
        .env("HALAB_PLAIN", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4, "2 stacks x 2 repeats");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), 4);
    let mut checked = 0;
    for h in json["headlines"].as_array().unwrap() {
        let (sc, metric) = (h["scenario"].as_str().unwrap(), h["metric"].as_str().unwrap());
        let unit = h["unit"].as_str().unwrap();
        for (stack, text) in h["cells"].as_object().unwrap() {
            let text = text.as_str().unwrap();
            assert!(md.contains(text), "report.md shows {text}");
            assert_eq!(Some(text.to_string()), expected_cell(runs, sc, stack, metric, unit), "{sc} {metric} {stack}");
            checked += 1;
        }
    }
    assert!(checked >= 2, "the switchover gap on both stacks was checked");
    assert!(Path::new(&out.join("report.html")).is_file());
}
