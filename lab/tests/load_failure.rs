//! Load through a failure, on real netns labs (root): ab through a crash ends with its
//! statistics and the run by its expectations; iperf3's dip on a crash and on a switchover, and
//! its throughput plot in the HTML report (Chromium); a client that cannot open its
//! connections is the load generator's error, not the stack's failure.

mod common;

use common::*;

fn num(r: &serde_json::Value, m: &str) -> f64 {
    r["metrics"][m].as_f64().unwrap_or_else(|| panic!("no number `{m}` in {:#}", r["metrics"]))
}

#[test]
fn ab_through_a_crash_ends_with_its_statistics() {
    if !privileged() {
        return;
    }
    let (o, recs) = run_records("tests/data/ab-crash.yaml", &std::env::temp_dir().join("halab-test-ab-crash"), &[]);
    let r = recs.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    // Decided by the expectations (exit 0 when they hold), not by ab giving up.
    assert_eq!(r["outcome"], "passed", "{:#}\n{:#}", r["expectations"], r["error"]);
    assert_eq!(o.status.code(), Some(0));
    let (asked, answered, lost) = (num(r, "web.asked"), num(r, "web.answered"), num(r, "web.unanswered"));
    assert_eq!(asked, 30000.0);
    assert_eq!(answered + lost, asked, "every request answered or counted lost");
    assert!(answered > 25000.0, "answered {answered}");
    for m in ["web.failed", "web.errors_connect", "web.errors_receive", "web.errors_length", "web.errors_exceptions", "web.non_2xx", "web.rps"] {
        num(r, m);
    }
    // The crash made a window without a served request (keepalived's backup takes ~3 s), and
    // the server's log has a request for every answer.
    let gap = num(r, "web.gap");
    assert!(gap > 2000.0 && gap < 10000.0, "gap {gap} ms");
    // The server logged every answer, and some requests more: served, but the answer went
    // down with a connection the survivor never knew.
    let served = num(r, "web.served");
    assert!(served >= answered && served - answered <= lost, "served {served}, answered {answered}, lost {lost}");
    let (before, min, back) = (num(r, "web.rps_before"), num(r, "web.rps_min"), num(r, "web.recovery_s"));
    assert!(before > 500.0 && min == 0.0, "rate before {before}, lowest {min}");
    assert!(back * 1000.0 >= gap - 200.0, "back to 90 % ({back} s) no earlier than the gap's end ({gap} ms)");
    // Requests in flight on connections the survivor never saw end only by the guard.
    if lost > 0.0 {
        assert_eq!(r["metrics"]["web.stopped"], "stall", "{:#}", r["metrics"]);
    }
    let cpu = num(r, "web.client_cpu");
    assert!(cpu > 0.05 && cpu <= 1.05, "ab's share of a core {cpu}");
    assert!(r["metrics"]["web.load_limit"].is_null());
}

#[test]
fn iperf3_dips_on_a_crash_and_on_a_switchover_and_the_report_plots_it() {
    if !privileged() {
        return;
    }
    let root = std::env::temp_dir().join("halab-test-iperf-dip");
    let (o, crash) = run_records("tests/data/iperf-crash.yaml", &root.join("crash"), &[]);
    let c = crash.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(c["outcome"], "passed", "{:#}", c["expectations"]);
    let (before, min, dip, back) = (num(c, "iperf.mbps_before"), num(c, "iperf.mbps_min"), num(c, "iperf.dip_s"), num(c, "iperf.recovery_s"));
    assert!(before > 100.0, "before {before} Mbit/s");
    assert_eq!(min, 0.0, "nothing passed during the crash");
    // keepalived's ~3 s, and TCP's retransmission backoff on top at most up to its next try.
    assert!((2.0..8.0).contains(&dip), "below half for {dip} s");
    assert!(back >= dip && back < 10.0, "back to 90 % after {back} s");
    // Not always back to the old rate: the survivor now also commits and syncs state.
    assert!(num(c, "iperf.mbps_after") >= 0.5 * before);
    num(c, "iperf.retransmits");
    let (o, sw) = run_records("../scenarios/load-iperf.yaml", &root.join("switch"), &["--stack", "keepalived"]);
    let s = sw.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(s["outcome"], "passed", "{:#}", s["expectations"]);
    // A planned switchover costs far less than a crash.
    let sdip = num(s, "iperf.dip_s");
    assert!(sdip < dip, "switchover below half {sdip} s, crash {dip} s");
    // The report: the throughput plot of each run, with the fault band and its numbers.
    let out = root.join("report");
    let dirs: Vec<String> = ["crash", "switch"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).map(|p| p.display().to_string()))
        .collect();
    let mut args = vec!["report"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["-o", out.to_str().unwrap()]);
    ok(&args);
    let Some(dom) = rendered_report(&out) else { return };
    let plots: Vec<&str> = dom.split("<div class=\"plot rate\" data-traffic=\"iperf\">").skip(1).map(|p| &p[..p.find("</div>").unwrap_or(p.len())]).collect();
    assert_eq!(plots.len(), 2, "a throughput plot per run");
    let crash_plot =
        plots.iter().find(|p| p.contains(&format!("below half for {dip} s, back to 90 % after {back} s"))).expect("the crash run's plot names its dip");
    let texts: Vec<&str> = crash_plot.split("<text").filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].trim())).collect();
    assert!(texts.contains(&"seconds from the fault") && texts.contains(&"fault"), "fault marked: {texts:?}");
    assert!(crash_plot.contains("<polyline") || crash_plot.contains("<path"), "a line drawn");
}

#[test]
fn a_client_out_of_ports_is_the_load_generators_error() {
    if !privileged() {
        return;
    }
    let (o, recs) = run_records("tests/data/ab-no-ports.yaml", &std::env::temp_dir().join("halab-test-ab-no-ports"), &[]);
    let r = recs.first().unwrap_or_else(|| panic!("no run: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(r["outcome"], "error", "not a failed expectation: {:#}", r["expectations"]);
    assert_eq!(o.status.code(), Some(3), "infrastructure error");
    let error = r["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("the load generator, not the cluster, limited web: the client ran out of local ports")
            && error.contains("ip_local_port_range 40000-40009 holds 10 ports for concurrency 50"),
        "{error}"
    );
}
