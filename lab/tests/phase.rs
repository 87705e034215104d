//! Honest numbers (root): a seeded range before a keepalived crash samples the phase of VRRP's
//! advert cycle, so the gaps of a bench spread the way the protocol predicts (about a second)
//! instead of repeating one phase; the same seed replays the same schedule.

mod common;

use common::*;

#[test]
fn a_phase_range_spreads_keepalived_crash_gaps_over_the_advert_cycle() {
    if !privileged() {
        return;
    }
    let out = std::env::temp_dir().join(format!("halab-test-phase-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    // Six repeats draw one wait each in their own sixth of 3-4 s: they span at least 667 ms.
    let o = halab(&["run", "tests/data/crash-phase.yaml", "--repeat", "6", "--seed", "24", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let mut runs: Vec<(f64, f64, u64)> = Vec::new();
    for e in std::fs::read_dir(&out).unwrap().flatten() {
        let Ok(t) = std::fs::read_to_string(e.path().join("results.json")) else { continue };
        let r: serde_json::Value = serde_json::from_str(&t).unwrap();
        let drawn = &r["drawn"][0];
        assert_eq!((drawn["min_ms"].as_f64(), drawn["max_ms"].as_f64()), (Some(3000.0), Some(4000.0)), "{drawn}");
        runs.push((drawn["value_ms"].as_f64().unwrap(), r["metrics"]["probe.gap"].as_f64().unwrap(), r["run_seed"].as_u64().unwrap()));
    }
    assert_eq!(runs.len(), 6);
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let span = |v: Vec<f64>| v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min);
    let drawn = span(runs.iter().map(|r| r.0).collect());
    let gaps = span(runs.iter().map(|r| r.1).collect());
    eprintln!("drawn waits and gaps (ms): {runs:?}");
    assert!(drawn > 666.0, "the repeats' slices spread the waits over the range: {drawn} ms");
    let mut seeds: Vec<u64> = runs.iter().map(|r| r.2).collect();
    seeds.dedup();
    assert_eq!(seeds.len(), 6, "every run has its own seed");
    // VRRP predicts a spread of up to one advert interval (1 s).
    assert!(gaps >= 600.0, "gaps spread {gaps} ms over a 1 s phase range: {runs:?}");
    let _ = std::fs::remove_dir_all(&out);
}
