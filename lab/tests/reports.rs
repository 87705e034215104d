//! Report writers on recorded raw results: Markdown and JUnit snapshots, the HTML rendered by
//! headless Chromium with plots that have content, and a real tiny bench whose report numbers
//! must equal the statistics of its raw results.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use halab::measure::probe::ProbeSamples;
use halab::scenario::results::{Event, ExpectResult, Outcome, RunRecord, SCHEMA};

/// A recorded run, made up but shaped exactly like `halab run` writes it.
fn record(stack: &str, repeat: u32, gap: f64, tcp_gap: f64, survived: bool) -> RunRecord {
    let mut metrics = BTreeMap::new();
    metrics.insert("probe.gap".to_string(), serde_json::json!(gap));
    metrics.insert("probe.tcp.gap".to_string(), serde_json::json!(tcp_gap));
    metrics.insert("probe.tcp.survived".to_string(), serde_json::json!(survived));
    metrics.insert("bulk.checksum_ok".to_string(), serde_json::json!(survived));
    metrics.insert("probe.tick_late_p99".to_string(), serde_json::json!(if repeat == 9 { 40.0 } else { 0.4 }));
    metrics.insert("failover".to_string(), serde_json::json!(gap + 30.0));
    metrics.insert("probe.recovered_after_fault".to_string(), serde_json::json!(gap + 40.0));
    RunRecord {
        schema: SCHEMA.into(),
        scenario: "scp-survives-failover".into(),
        scenario_file: "scenarios/scp-survives-failover.yaml".into(),
        stack: stack.into(),
        repeat,
        seed: 0,
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
        expectations: vec![ExpectResult { expect: "probe.tcp.survived".into(), held: survived, actual: Some(serde_json::json!(survived)) }],
        vip_timeline: vec![(0.1, vec!["fw1".into()]), (gap + 30.0, vec!["fw2".into()])],
        events: vec![Event { t_ms: 3000.0, t_ns: 4_000_000_000, kind: "fault".into(), detail: "Crash Some(Active)".into() }],
        report: Default::default(),
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

fn fixture() -> PathBuf {
    let root = PathBuf::from("tests/data/report-fixture");
    if root.exists() {
        return root;
    }
    let runs = [
        ("keepalived", 1, 3221.0, 3780.0, true),
        ("keepalived", 2, 3310.0, 3790.0, true),
        ("keepalived", 9, 9000.0, 9000.0, true),
        ("pacemaker", 1, 7460.0, 13400.0, true),
        ("pacemaker", 2, 6980.0, 7210.0, false),
    ];
    for (stack, rep, gap, tcp, ok) in runs {
        let dir = root.join(format!("scp-survives-failover-{stack}-{rep}"));
        record(stack, rep, gap, tcp, ok).write(&dir).unwrap();
        std::fs::create_dir_all(dir.join("samples")).unwrap();
        std::fs::write(dir.join("samples/probe.probe.json"), serde_json::to_vec(&samples(gap as u64)).unwrap()).unwrap();
    }
    root
}

fn analysis() -> halab::report::Analysis {
    halab::report::analyse(halab::report::load_runs(&[fixture()]).unwrap(), 0)
}

#[test]
fn markdown_and_junit_snapshots() {
    let a = analysis();
    assert_eq!(a.starved.len(), 1, "the run with 40 ms late ticks is left out");
    insta::assert_snapshot!("report_md", halab::report::markdown::render(&a));
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
            eprintln!("skipped: no chromium (HALAB_SKIP_BROWSER=1)");
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
        let unit = halab::report::HEADLINES.iter().find(|x| x.1 == sc && x.2 == metric).unwrap().3;
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
