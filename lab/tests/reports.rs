//! Report writers on recorded raw results: Markdown and JUnit snapshots, JUnit for errors and
//! several scenarios, the HTML rendered by headless Chromium with every part it names, `halab
//! report` as the CLI, a real tiny bench whose report numbers equal its raw results, and the
//! distribution plots (ECDF, number against fault phase) and replay columns of a bigger bench.

mod common;
#[path = "common/report_fixture.rs"]
mod fixture;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use fixture::*;
use halab::report::Analysis;
use halab::scenario::plan::{Headline, Report, Step};
use halab::scenario::results::Outcome;
use halab::scenario::schedule::{draw, run_seed, Drawn};

fn analyse(dirs: &[PathBuf]) -> Analysis {
    halab::report::analyse(halab::report::load_runs(dirs).unwrap())
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

/// Headlines and timelines follow the scenario: a made-up scenario whose probe traffic has a
/// made-up name gets its own headline rows (in its file's order, with its units) and a probe
/// timeline per run, re-rendered from its run folders alone.
#[test]
fn html_and_headlines_follow_any_scenario() {
    let root = tempdir(&format!("own-{}", std::process::id()));
    let h = |metric: &str, label: &str, unit: &str| Headline { metric: metric.into(), label: label.into(), unit: unit.into() };
    let report = Report { headline: vec![h("ping1.tcp.survived", "Kept my TCP", "flag"), h("ping1.gap", "My gap", "ms"), h("takeover", "My takeover", "ms")] };
    write_runs(&root, "my-own-check", "ping1", &report);
    let a = analyse(std::slice::from_ref(&root));
    let rows: Vec<(&str, &str, &str)> = a.headlines.iter().map(|h| (h.row.as_str(), h.metric.as_str(), h.unit.as_str())).collect();
    assert_eq!(rows, [("Kept my TCP", "ping1.tcp.survived", "flag"), ("My gap", "ping1.gap", "ms"), ("My takeover", "takeover", "ms")]);
    assert_eq!(a.headlines[0].cells["pacemaker"], "1/2");
    assert_eq!(a.headlines[1].cells["keepalived"], "3.27 s (3.22–3.31, n=2)");
    assert_eq!(a.headlines[2].cells["keepalived"], "0.01 s (0.01–0.01, n=2)", "takeover from ping1.recovered_after_fault");
    assert_eq!(a.starved.len(), 1, "ping1's late ticks leave its run out");
    let html = halab::report::html::render(&a);
    assert_eq!(html.matches("ping1 echoes (RTT)").count(), RUNS.len(), "one probe timeline per run");
    assert!(html.contains("My gap") && html.contains("My takeover"), "spread plots of the numeric headlines");
    // Each run's stack events under its probe plot, in ms from the fault.
    assert_eq!(html.matches("<summary>Stack events").count(), RUNS.len(), "one stack timeline per run");
    assert!(html.contains("<td>fw2</td><td>INSTANCE &quot;vi_lan&quot; MASTER 100</td>"), "the event as keepalived logged it");
    let _ = std::fs::remove_dir_all(&root);
}

/// The part of `dom` from the element holding `marker` to the next `</div>`.
fn plot<'a>(dom: &'a str, marker: &str) -> Option<&'a str> {
    let at = dom.find(marker)?;
    Some(&dom[at..at + dom[at..].find("</div>")?])
}

#[test]
fn html_report_renders_in_chromium_with_plots() {
    let a = analysis();
    let out = tempdir(&format!("html-{}", std::process::id()));
    halab::report::write_all(&a, &out).unwrap();
    let Some(dom) = rendered_report(&out) else { return };
    let url = format!("file://{}", std::fs::canonicalize(out.join("report.html")).unwrap().display());
    assert!(dom.contains("<h1>keepalived vs pacemaker, measured with halab</h1>"), "the page rendered");
    // The headline numbers, as the analysis has them, and the comparisons with their p.
    for h in &a.headlines {
        for text in h.cells.values() {
            assert!(dom.contains(&format!("<td>{text}</td>")), "headline cell {text}");
        }
    }
    let compared: Vec<&str> = a.headlines.iter().filter_map(|h| h.comparison_text.as_deref()).collect();
    assert_eq!(compared.len(), 4, "every numeric row compared");
    for (h, text) in a.headlines.iter().filter_map(|h| Some((h, h.comparison_text.as_deref()?))) {
        assert!(dom.contains(&format!("<li>{}: {text}</li>", h.row)), "comparison of {}", h.row);
    }
    assert!(dom.contains("TCP stall on node crash: 2 vs 1 runs: the smallest possible p is 0.667, above 0.05, too few runs to tell a difference from noise; every run of keepalived was faster than every run of pacemaker. Shift pacemaker − keepalived: +9.62 s (Hodges–Lehmann; no 95 % CI from 2 vs 1 runs). Mann–Whitney U test of the recovered runs, left out pacemaker: 1 of 2 never recovered; U = 0, exact, p = 0.667."));
    // One spread plot per numeric headline, a point per run its numbers rest on (the starved run
    // and the TCP that never recovered are none).
    let mut points = Vec::new();
    for h in a.headlines.iter().filter(|h| h.unit != "flag") {
        let svg = plot(&dom, &format!("data-metric=\"{}\"", h.metric)).unwrap_or_else(|| panic!("a spread plot of {}", h.metric));
        let want: usize = a.cells.iter().filter(|c| c.scenario == h.scenario).filter_map(|c| c.numbers.get(&h.metric)).map(|s| s.n).sum();
        assert_eq!(svg.matches("<circle").count(), want, "points of {}", h.metric);
        points.push(want);
    }
    assert_eq!(points, [4, 3, 4, 4], "gap, TCP stall, detection, takeover");
    // The starved run, by name.
    let starved = plot(&dom, "class=\"starved\"").map(|p| &p[..p.find("</p>").unwrap_or(p.len())]).unwrap_or_default();
    assert!(starved.contains("scp-survives-failover keepalived #9: probe.tick_late_p99 = 400 ms &gt; 90 ms"), "{starved:?}");
    // The failing run's failed expectation, under that run.
    let run =
        dom.split("<h3>").find(|s| s.starts_with("scp-survives-failover on pacemaker #2: failed (tick lateness p99 0.4 ms (probe))</h3>")).unwrap_or_default();
    assert!(run.contains("<p>failed: probe.tcp.survived</p>"), "{run:?}");
    let png = out.join("report.png");
    browser(&[&format!("--screenshot={}", png.display()), "--window-size=1100,1600"], &url);
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 20_000, "a screenshot with content ({size} bytes)");
    let _ = std::fs::remove_dir_all(&out);
}

/// An infrastructure error is a JUnit `<error>` with its message and is in no statistic: what
/// it collected before the lab broke (a 0.1 s gap here) is not counted.
#[test]
fn an_infrastructure_error_is_a_junit_error_and_no_statistic() {
    let root = tempdir(&format!("error-{}", std::process::id()));
    write_runs(&root, "scp-survives-failover", "probe", &crash_report());
    let mut broken = record("scp-survives-failover", "probe", crash_report(), ("keepalived", 3, 100.0, 100.0, true));
    (broken.outcome, broken.error) = (Outcome::Error, Some("the lab did not come up: fw2: <sshd> not ready".into()));
    broken.expectations.clear();
    broken.write(&root.join("scp-survives-failover-keepalived-3")).unwrap();
    let a = analyse(std::slice::from_ref(&root));
    let ka = a.cells.iter().find(|c| c.stack == "keepalived").unwrap();
    assert_eq!((ka.runs, ka.used, ka.errors, ka.passed), (4, 2, 1, 3));
    assert_eq!(ka.numbers["probe.gap"].n, 2);
    let clean = analysis();
    for (h, c) in a.headlines.iter().zip(&clean.headlines) {
        assert_eq!(h.cells, c.cells, "{}: the error run changes no number", h.row);
    }
    let xml = halab::report::junit::render(&a).unwrap();
    let case = xml.split("<testcase ").find(|c| c.starts_with("name=\"scp-survives-failover[keepalived]#3\"")).unwrap_or_default();
    assert!(case.contains("<error message=\"the lab did not come up: fw2: &lt;sshd&gt; not ready\""), "{xml}");
    assert!(xml.contains("<testsuite name=\"scp-survives-failover\" tests=\"6\" skipped=\"0\" errors=\"1\" failures=\"1\">"), "{xml}");
    let md = halab::report::markdown::render(&a);
    assert!(md.contains("| keepalived | 3 | error | 30.0 | 0.4 ms (probe) | - | - | error: the lab did not come up: fw2: <sshd> not ready |"), "{md}");
    let _ = std::fs::remove_dir_all(&root);
}

/// One suite per scenario (by name), each with every run of that scenario once.
#[test]
fn junit_has_one_suite_per_scenario_with_every_run_once() {
    let root = tempdir(&format!("junit-{}", std::process::id()));
    for (sc, probe) in [("scp-survives-failover", "probe"), ("cable-pull-inet", "ping")] {
        write_runs(&root, sc, probe, &crash_report());
    }
    let xml = halab::report::junit::render(&analyse(std::slice::from_ref(&root))).unwrap();
    let suites: Vec<&str> = xml.split("<testsuite name=\"").skip(1).collect();
    let names: Vec<&str> = suites.iter().filter_map(|s| s.split('"').next()).collect();
    assert_eq!(names, ["cable-pull-inet", "scp-survives-failover"]);
    for (suite, sc) in suites.iter().zip(names) {
        let body = &suite[..suite.find("</testsuite>").unwrap()];
        let mut cases: Vec<&str> = body.split("<testcase name=\"").skip(1).filter_map(|c| c.split('"').next()).collect();
        cases.sort();
        let mut want: Vec<String> = RUNS.iter().map(|r| format!("{sc}[{}]#{}", r.0, r.1)).collect();
        want.sort();
        assert_eq!(cases, want, "suite {sc}: every run, once");
    }
    assert!(xml.contains("<testsuites name=\"halab\" tests=\"10\" skipped=\"0\" failures=\"2\" errors=\"0\">"), "{xml}");
    let _ = std::fs::remove_dir_all(&root);
}

/// Every headline cell of a written report: shown in report.md and report.html, and equal to
/// the cell recomputed from the raw runs in its results.json. How many there were.
fn headlines_match_raw_runs(out: &Path) -> usize {
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let runs = json["runs"].as_array().unwrap();
    let mut checked = 0;
    for h in json["headlines"].as_array().unwrap() {
        let (sc, metric, unit) = (h["scenario"].as_str().unwrap(), h["metric"].as_str().unwrap(), h["unit"].as_str().unwrap());
        for (stack, text) in h["cells"].as_object().unwrap() {
            let text = text.as_str().unwrap();
            assert!(md.contains(&format!(" {text} |")), "report.md shows {text}");
            assert!(html.contains(&format!("<td>{text}</td>")), "report.html shows {text}");
            assert_eq!(Some(text.to_string()), expected_cell(runs, sc, stack, metric, unit), "{sc} {metric} {stack}");
            checked += 1;
        }
    }
    checked
}

/// `halab report RUN_DIR... -o DIR`, the CLI on recorded run folders (one of them given twice,
/// alone and in its parent): the four files, with the headlines of the same analysis done
/// in-process, equal to the raw runs recomputed.
#[test]
fn halab_report_renders_recorded_run_folders() {
    let other = tempdir(&format!("cli-runs-{}", std::process::id()));
    write_runs(
        &other,
        "cable-pull-inet",
        "ping",
        &Report { headline: vec![Headline { metric: "ping.gap".into(), label: "Gap on cable pull".into(), unit: "ms".into() }] },
    );
    let out = tempdir(&format!("cli-out-{}", std::process::id()));
    let dirs = [fixture().to_path_buf(), other.clone(), other.join("cable-pull-inet-keepalived-1")];
    let o = std::process::Command::new(HALAB).arg("report").args(&dirs).arg("-o").arg(&out).env("HALAB_PLAIN", "1").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("report of 10 runs"), "{}", String::from_utf8_lossy(&o.stdout));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["headlines"], serde_json::to_value(&analyse(&dirs).headlines).unwrap());
    assert_eq!(headlines_match_raw_runs(&out), 12, "5 rows x 2 stacks of the crash, 1 x 2 of the cable pull");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase ").count(), 10);
    let _ = std::fs::remove_dir_all(&other);
    let _ = std::fs::remove_dir_all(&out);
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
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4, "2 stacks x 2 repeats");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(junit.matches("<testcase").count(), 4);
    // Each run is either in the statistics, its numbers equal to the raw ones, or left out as
    // starved with its own raw figure named (labs of other tests run beside this one).
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let mut used_stacks = std::collections::BTreeSet::new();
    for r in runs {
        let rec = &r["record"];
        let (stack, repeat) = (rec["stack"].as_str().unwrap(), rec["repeat"].as_u64().unwrap());
        match r["starved"].as_str() {
            Some(why) => {
                let late = rec["metrics"]["probe.tick_late_p99"].as_f64().unwrap();
                // The allowance is the larger of 10 ms and 1 % of the run's shortest gap.
                let gap = rec["metrics"]["probe.gap"].as_f64().unwrap_or(0.0);
                let allowed = format!("{:.0} ms", (gap * 0.01).max(10.0));
                assert!(why.starts_with(&format!("probe.tick_late_p99 = {late} ms > {allowed} ")), "{stack} #{repeat}: {why}");
                assert!(md.contains(&format!("switchover {stack} #{repeat}: {why}")), "{stack} #{repeat} is listed as left out:\n{md}");
            }
            None => {
                used_stacks.insert(stack.to_string());
            }
        }
    }
    assert_eq!(headlines_match_raw_runs(&out), used_stacks.len(), "the switchover gap of every stack with a run in the statistics was checked");
}

/// The ECDF curves of a plot: its 2 px polylines of more than one segment (legend marks have
/// one), as (stroke color, points). A curve has two points per run (up, then across).
fn curves(svg: &str) -> Vec<(String, usize)> {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| p.contains("stroke-width=\"2\""))
        .filter_map(|p| {
            let color = p.split("stroke=\"").nth(1)?.split('"').next()?.to_string();
            let points = p.split("points=\"").nth(1)?.split('"').next()?.split_whitespace().count();
            (points > 2).then_some((color, points))
        })
        .collect()
}

/// With 8 runs or more, a stack's distribution is drawn as its empirical CDF, overlaid per
/// headline number, and every run's number against the wait it drew before the crash (the
/// phase of the fault): 20 keepalived runs and 19 pacemaker runs, each a point.
#[test]
fn html_shows_each_stacks_ecdf_and_the_number_against_the_fault_phase() {
    let root = tempdir(&format!("phase-html-{}", std::process::id()));
    phase_runs(&root, 20, 19);
    let a = analyse(std::slice::from_ref(&root));
    let html = halab::report::html::render(&a);
    for metric in ["probe.gap", "probe.tcp.gap", "detection", "takeover"] {
        let ecdf = plot(&html, &format!("class=\"plot ecdf\" data-metric=\"{metric}\"")).unwrap_or_else(|| panic!("an ECDF of {metric}"));
        assert_eq!(curves(ecdf), [("#1F77B4".to_string(), 40), ("#D62728".to_string(), 38)], "{metric}: a step per run and stack");
        assert!(ecdf.contains("keepalived (n=20)") && ecdf.contains("pacemaker (n=19)"), "{metric}");
        let phase = plot(&html, &format!("class=\"plot phase\" data-metric=\"{metric}\"")).unwrap_or_else(|| panic!("a phase plot of {metric}"));
        assert_eq!(phase.matches("<circle").count(), 39, "{metric}: a point per run");
        assert!(phase.contains("drawn wait before the fault (s)") && phase.contains(" vs fault phase"), "{metric}");
    }
    // The phase of a run is the wait drawn last before its first fault (step 4).
    for r in &a.runs {
        assert_eq!(halab::report::phase::of(r), Some(r.record.drawn[0].value_ms));
    }
    let mut r = a.runs[0].clone();
    r.record.drawn.insert(0, Drawn { step: 1, min_ms: 0.0, max_ms: 9.0, value_ms: 5.0, slice: [1, 1] });
    r.record.drawn.push(Drawn { step: 6, min_ms: 0.0, max_ms: 9.0, value_ms: 7.0, slice: [1, 1] });
    assert_eq!(halab::report::phase::wait_before_fault(&r).map(|d| d.step), Some(3));
    let _ = std::fs::remove_dir_all(&root);
}

/// A stack gets its ECDF from 8 runs on (7 pacemaker runs: keepalived's alone; 7 and 7:
/// none), the phase plot whenever runs drew a wait (the small fixture drew none).
#[test]
fn ecdf_from_8_runs_and_phase_plots_only_with_a_phase() {
    let root = tempdir(&format!("phase-8-{}", std::process::id()));
    phase_runs(&root, 8, 7);
    let html = halab::report::html::render(&analyse(std::slice::from_ref(&root)));
    let ecdf = plot(&html, "class=\"plot ecdf\" data-metric=\"probe.gap\"").expect("keepalived's ECDF");
    assert_eq!(curves(ecdf), [("#1F77B4".to_string(), 16)]);
    assert!(ecdf.contains("keepalived (n=8)") && !ecdf.contains("pacemaker"));
    let _ = std::fs::remove_dir_all(&root);
    phase_runs(&root, 7, 7);
    let html = halab::report::html::render(&analyse(std::slice::from_ref(&root)));
    assert!(!html.contains("class=\"plot ecdf\""), "no stack has 8 runs");
    assert_eq!(plot(&html, "class=\"plot phase\" data-metric=\"probe.gap\"").map(|p| p.matches("<circle").count()), Some(14));
    let _ = std::fs::remove_dir_all(&root);
    let html = halab::report::html::render(&analysis());
    assert!(!html.contains("class=\"plot phase\"") && !html.contains("class=\"plot ecdf\""));
}

/// Every run's seed and drawn wait are in its row of report.md, and each cell gives the range
/// and what its runs drew: any run can be replayed.
#[test]
fn markdown_lists_each_runs_seed_and_drawn_wait() {
    let root = tempdir(&format!("phase-md-{}", std::process::id()));
    phase_runs(&root, 20, 19);
    let md = halab::report::markdown::render(&analyse(std::slice::from_ref(&root)));
    for (stack, repeat) in [("keepalived", 1), ("pacemaker", 19)] {
        let seed = run_seed(PHASE_SEED, "scp-survives-failover", stack, repeat);
        let wait = Step::Wait { min: Duration::from_secs(3), max: Duration::from_secs(4) };
        let drawn = draw(&[Step::Stop("probe".into()), Step::Stop("bulk".into()), wait], seed, 1, 1)[0].value_ms / 1000.0;
        let row = format!("| scp-survives-failover | {stack} | {repeat} | passed | 30.0 | 0.4 ms (probe) | {seed} | step 3: {drawn:.3} s |  |");
        assert!(md.contains(&row), "{row}\n{md}");
    }
    assert!(md.contains("| keepalived | 1 | passed | 30.0 | 0.4 ms (probe) | 14653811767478902969 | step 3: 3.970 s |"), "{md}");
    assert!(md.contains("Ranged wait: step 3 in 3–4 s, drawn 3.016–3.992 s over 20 runs."), "{md}");
    assert!(md.contains("Ranged wait: step 3 in 3–4 s, drawn 3.093–3.948 s over 19 runs."), "{md}");
    assert!(md.contains("- seed (`--seed`): 17; each run's seed derives from it"), "{md}");
    let _ = std::fs::remove_dir_all(&root);
}
