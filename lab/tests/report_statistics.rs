//! What the analysis counts: runs the host starved left out, gaps that never recovered
//! counted apart from real gaps (in the cells, the comparisons and the detail tables), headline
//! rows added up over runs.

#[path = "common/report_fixture.rs"]
mod fixture;

use std::collections::BTreeMap;
use std::path::Path;

use fixture::*;
use halab::measure::compare::mann_whitney;
use halab::report::Analysis;
use halab::scenario::plan::{Headline, Report};
use halab::scenario::results::split_gap;
use serde_json::json;

fn analyse(root: &Path) -> Analysis {
    halab::report::analyse(halab::report::load_runs(&[root.to_path_buf()]).unwrap())
}

fn row<'a>(a: &'a Analysis, metric: &str) -> &'a halab::report::Headline {
    a.headlines.iter().find(|h| h.metric == metric).unwrap()
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

/// The starvation guard allows the larger of one tick (10 ms) and 1 % of the run's shortest
/// gap of p99 lateness, not a tick more or less: a 9 s gap keeps a run 11.5 ms late (0.1 % of
/// it), a 13 ms switchover loses one 10.1 ms late.
#[test]
fn a_run_is_starved_when_its_ticks_are_later_than_its_gap_allows() {
    for (gap, late, starved) in
        [(13.0, 0.4, false), (13.0, 9.9, false), (13.0, 10.0, false), (13.0, 10.1, true), (9000.0, 11.5, false), (9000.0, 90.0, false), (9000.0, 90.1, true)]
    {
        let mut r = record("crash", "probe", crash_report(), RUNS[0]);
        r.metrics.insert("probe.gap".into(), json!(gap));
        r.metrics.insert("probe.tcp.gap".into(), json!(gap + 100.0));
        r.metrics.insert("probe.tick_late_p99".into(), json!(late));
        assert_eq!(halab::report::starved(&r).is_some(), starved, "gap {gap} ms, tick_late_p99 = {late} ms");
    }
}

/// Where no probe ran, halab's own sampler says whether the host starved the run; a record with
/// neither is "not measured", and the report never says "no run was starved" of it.
#[test]
fn a_run_without_a_probe_is_judged_by_the_sampler_or_said_to_be_unmeasured() {
    let root = tempdir(&format!("unmeasured-{}", std::process::id()));
    for (i, sampler) in [(1, Some(0.3)), (2, None)] {
        let mut r = record("crash", "probe", crash_report(), RUNS[i - 1]);
        r.metrics.retain(|k, _| !k.ends_with("tick_late_p99"));
        assert_eq!(halab::report::lateness(&r), None);
        if let Some(late) = sampler {
            r.metrics.insert("sampler_tick_late_p99".into(), json!(late));
            assert_eq!(halab::report::lateness_text(&r), "0.3 ms (sampler)");
            r.metrics.insert("sampler_tick_late_p99".into(), json!(12.5));
            let why = halab::report::starved(&r).unwrap_or_default();
            assert!(why.starts_with("sampler_tick_late_p99 = 12.5 ms > 10 ms"), "{why}");
            r.metrics.insert("sampler_tick_late_p99".into(), json!(late));
        }
        r.write(&root.join(format!("crash-{i}"))).unwrap();
    }
    let md = halab::report::markdown::render(&analyse(&root));
    let _ = std::fs::remove_dir_all(&root);
    assert!(!md.contains("- no run was starved"), "{md}");
    assert!(md.contains("- no run of the 1 whose lateness was measured was starved"), "{md}");
    assert!(md.contains("- starvation not measured in 1 of 2 runs"), "{md}");
    assert!(md.contains("| 0.3 ms (sampler) |") && md.contains("| not measured |"), "{md}");
}

/// The pacemaker run whose TCP did not survive recorded its lower bound (7.21 s) as the TCP
/// gap: the cell counts it apart and rests on the other run (13.40 s).
#[test]
fn a_tcp_stall_that_never_recovered_is_counted_not_averaged() {
    let a = analysis();
    let pm = a.cells.iter().find(|c| c.stack == "pacemaker").unwrap();
    let g = pm.numbers["probe.tcp.gap"];
    assert_eq!((g.n, g.min, g.max), (1, 13400.0, 13400.0));
    assert_eq!(pm.not_recovered["probe.tcp.gap"], BTreeMap::from([("never recovered".to_string(), 1)]));
    let tcp = row(&a, "probe.tcp.gap");
    assert_eq!(tcp.cells["pacemaker"], "13.40 s (13.40–13.40, n=1; 1 of 2 never recovered)");
    assert_eq!(tcp.cells["keepalived"], "3.79 s (3.78–3.79, n=2)");
    let said = tcp.comparison_text.as_deref().unwrap();
    assert!(said.contains("Mann–Whitney U test of the recovered runs, left out pacemaker: 1 of 2 never recovered; U = 0, exact, p = 0.667."), "{said}");
    // Its UDP gap recovered: that one counts.
    assert_eq!((pm.numbers["probe.gap"].n, pm.not_recovered.get("probe.gap")), (2, None));
    assert_eq!(row(&a, "probe.gap").cells["pacemaker"], "7.22 s (6.98–7.46, n=2)");
}

/// Runs of the crash scenario with the given (stack, repeat, gap, TCP gap, TCP survived).
fn write(root: &Path, runs: &[Fixture], edit: impl Fn(&mut halab::measure::metrics::Metrics, Fixture)) {
    for &run in runs {
        let mut r = record("crash", "probe", crash_report(), run);
        edit(&mut r.metrics, run);
        r.write(&root.join(format!("crash-{}-{}", run.0, run.1))).unwrap();
    }
}

/// The comparison rests on the runs the cells rest on: pacemaker's lower bound (0.9 s) would
/// make the stacks look closer (p = 0.70 over 3 vs 3 instead of 0.20 over 3 vs 2).
#[test]
fn comparisons_use_recovered_runs_only() {
    let root = tempdir(&format!("compare-{}", std::process::id()));
    let ka = [("keepalived", 1, 3000.0, 1000.0, true), ("keepalived", 2, 3000.0, 1100.0, true), ("keepalived", 3, 3000.0, 1200.0, true)];
    let pm = [("pacemaker", 1, 3000.0, 5000.0, true), ("pacemaker", 2, 3000.0, 5100.0, true), ("pacemaker", 3, 3000.0, 900.0, false)];
    write(&root, &[ka, pm].concat(), |_, _| {});
    let c = row(&analyse(&root), "probe.tcp.gap").comparison.clone().unwrap();
    assert_eq!((c.n_a, c.n_b, c.p_value), (3, 2, 0.2), "{c:?}");
    assert_eq!(mann_whitney(&[1000.0, 1100.0, 1200.0], &[5000.0, 5100.0, 900.0], 0.05).unwrap().p_value, 0.7);
    let _ = std::fs::remove_dir_all(&root);
}

/// No pacemaker TCP recovered (one never, one had no echo at all): the cell says so, there is
/// nothing to compare. A UDP gap that never recovered leaves out what is derived from its end
/// too (`recovered_after_fault`, takeover), and the detail table names the left-out runs.
#[test]
fn when_no_run_recovered_the_cell_says_so() {
    let root = tempdir(&format!("none-{}", std::process::id()));
    let runs = [
        ("keepalived", 1, 3200.0, 3700.0, true),
        ("keepalived", 2, 3300.0, 3800.0, true),
        ("pacemaker", 1, 7000.0, 9000.0, false),
        ("pacemaker", 2, 25000.0, 0.0, false),
    ];
    write(&root, &runs, |m, run| {
        if run == runs[3] {
            m.insert("probe.tcp.outcome".into(), json!("no_data"));
            m.insert("probe.gap_outcome".into(), json!("never_recovered"));
            m.insert("probe.recovered".into(), json!(false));
            split_gap(m);
        }
    });
    let a = analyse(&root);
    let tcp = row(&a, "probe.tcp.gap");
    assert_eq!(tcp.cells["pacemaker"], "1 never recovered, 1 no data (0 of 2 recovered)");
    assert!(tcp.comparison.is_none() && tcp.comparison_text.is_none(), "{tcp:?}");
    assert_eq!(row(&a, "probe.gap").cells["pacemaker"], "7.00 s (7.00–7.00, n=1; 1 of 2 never recovered)");
    assert_eq!(row(&a, "takeover").cells["pacemaker"], "0.01 s (0.01–0.01, n=1; 1 of 2 never recovered)");
    let pm = a.cells.iter().find(|c| c.stack == "pacemaker").unwrap();
    assert_eq!(pm.numbers["probe.recovered_after_fault"].n, 1);
    let md = halab::report::markdown::render(&a);
    assert!(md.contains("| probe.tcp.gap | 0 | | | | | | 1 of 2 never recovered, 1 of 2 no data |"), "{md}");
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
    let a = halab::report::analyse(halab::report::load_runs(std::slice::from_ref(&root)).unwrap());
    let rows: Vec<(&str, &str)> = a.headlines.iter().map(|h| (h.scenario.as_str(), h.row.as_str())).collect();
    assert_eq!(rows, [("zz-first", "Kept TCP"), ("aa-later", "My gap"), ("aa-later", "VIP moved")]);
    let _ = std::fs::remove_dir_all(&root);
}

/// The phase fixture's runs (each with its drawn wait) in a folder of this test's own.
fn phase_analysis(test: &str, keepalived: u32, pacemaker: u32) -> (Analysis, std::path::PathBuf) {
    let root = tempdir(&format!("{test}-{}", std::process::id()));
    phase_runs(&root, keepalived, pacemaker);
    (analyse(&root), root)
}

/// p5 and p95 (nearest rank) join a cell from 20 runs on: keepalived's 20 gaps show them (the
/// 1st and 19th smallest, 2.201 and 3.185 s), pacemaker's 19 do not, in the headline and in the
/// detail table; the cells equal those recomputed from the raw runs.
#[test]
fn p5_and_p95_appear_from_20_runs_on() {
    let (a, root) = phase_analysis("tails", 20, 19);
    let gap = row(&a, "probe.gap");
    assert_eq!(gap.cells["keepalived"], "2.60 s (2.20–3.20, p5–p95 2.20–3.19, n=20)");
    assert_eq!(gap.cells["pacemaker"], "6.82 s (6.55–6.97, n=19)");
    let runs = serde_json::to_value(&a.runs).unwrap();
    for st in ["keepalived", "pacemaker"] {
        assert_eq!(Some(gap.cells[st].clone()), expected_cell(runs.as_array().unwrap(), "scp-survives-failover", st, "probe.gap", "ms"), "{st}");
    }
    let md = halab::report::markdown::render(&a);
    assert!(md.contains("| probe.gap | 20 | 2201.0 | 2201.0 | 2604.0 | 3185.0 | 3198.0 |  |"), "{md}");
    assert!(md.contains("| probe.gap | 19 | 6546.5 |  | 6821.5 |  | 6974.0 |  |"), "{md}");
    let _ = std::fs::remove_dir_all(&root);
}

/// Samples that do not overlap say so, whatever p can show: 20 vs 19 apart is beyond noise
/// (p = 2 / C(39, 19) = 2.9e-11, and a 95 % interval for the shift exists); the 3 vs 3
/// (3.22–3.24 s against 6.37–7.92 s) can never go below p = 0.1. Overlapping runs and equal
/// ones name no order.
#[test]
fn separated_runs_are_said_to_be_so_and_overlapping_ones_are_not() {
    let (a, root) = phase_analysis("apart", 20, 19);
    let gap = row(&a, "probe.gap");
    let c = gap.comparison.clone().unwrap();
    assert_eq!((c.u, c.p_value, c.min_p), (0.0, 2.0 / 68_923_264_410.0, 2.0 / 68_923_264_410.0), "{c:?}");
    assert_eq!((c.shift, c.shift_ci.map(|i| (i.lo, i.hi))), (4124.5, Some((3891.0, 4316.5))), "{c:?}");
    let said = gap.comparison_text.as_deref().unwrap();
    assert!(said.starts_with("the difference is beyond run-to-run noise; every run of keepalived was faster than every run of pacemaker."), "{said}");
    assert!(said.contains("95 % CI +3.89 to +4.32 s, exact coverage 95.3 %") && said.ends_with("U = 0, exact, p < 0.001."), "{said}");
    let same = row(&a, "takeover").comparison_text.clone().unwrap();
    assert!(same.starts_with("20 vs 19 runs, every one of them gave the same number") && !same.contains("every run of"), "{same}");
    let _ = std::fs::remove_dir_all(&root);

    let root = tempdir(&format!("three-{}", std::process::id()));
    let (ka, pm) = ([3220.0, 3230.0, 3240.0], [6370.0, 7100.0, 7920.0]);
    let runs: Vec<Fixture> = (0..3)
        .flat_map(|i| {
            [("keepalived", i as u32 + 1, ka[i], 3700.0 + 100.0 * i as f64, true), ("pacemaker", i as u32 + 1, pm[i], 3000.0 + 2000.0 * i as f64, true)]
        })
        .collect();
    write(&root, &runs, |_, _| {});
    let a = analyse(&root);
    let said = row(&a, "probe.gap").comparison_text.clone().unwrap();
    assert!(said.starts_with("3 vs 3 runs: the smallest possible p is 0.100, above 0.05, too few runs to tell a difference from noise; every run of keepalived was faster than every run of pacemaker."), "{said}");
    // TCP: 3.7, 3.8 and 3.9 s for keepalived against 3, 5 and 7 s: they overlap.
    let tcp = row(&a, "probe.tcp.gap").comparison_text.clone().unwrap();
    assert!(
        tcp.starts_with("3 vs 3 runs: the smallest possible p is 0.100, above 0.05, too few runs to tell a difference from noise. Shift")
            && !tcp.contains("every run"),
        "{tcp}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// A run whose ab used a full core is left out like a starved one: the load generator, not
/// the cluster, set its rate. The threshold is `AB_SATURATED` of a core, not a hair less.
#[test]
fn a_run_whose_load_generator_saturated_is_left_out() {
    let sat = halab::scenario::traffic::AB_SATURATED;
    for (cpu, out) in [(0.5, false), (sat - 0.001, false), (sat, true), (1.0, true)] {
        let mut r = record("crash", "probe", crash_report(), RUNS[0]);
        r.metrics.insert("web.client_cpu".into(), json!(cpu));
        let why = halab::report::starved(&r);
        assert_eq!(why.is_some(), out, "web.client_cpu = {cpu}: {why:?}");
        if let Some(w) = why {
            assert!(w.starts_with("web.client_cpu = ") && w.contains("saturated"), "{w}");
        }
    }
    // And the statistics of a cell leave it out: a keepalived run that counted, saturated.
    let root = tempdir(&format!("saturated-{}", std::process::id()));
    write_runs(&root, "crash", "probe", &crash_report());
    let used = |root: &Path| analyse(root).cells.iter().find(|c| c.stack == "keepalived").map(|c| c.used).unwrap();
    let before = used(&root);
    let dir = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("keepalived") && halab::report::starved(&halab::scenario::results::RunRecord::load(p).unwrap()).is_none())
        .unwrap();
    let mut r = halab::scenario::results::RunRecord::load(&dir).unwrap();
    r.metrics.insert("web.client_cpu".into(), json!(1.0));
    r.write(&dir).unwrap();
    assert_eq!(used(&root), before - 1, "the saturated run is out of the statistics");
    let _ = std::fs::remove_dir_all(&root);
}
