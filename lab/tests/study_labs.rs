//! `halab study` on real labs: two shards run one after the other merge into the report the
//! whole study's records give, shards of another study (or the same shard twice) are refused
//! with exit 2, and Ctrl-C during a study exits 130, leaves no lab and keeps the finished runs,
//! which `halab report` renders.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

/// A two-cell study of the switchover on keepalived (advert_int 1s and 500ms).
fn study(dir: &Path, repeats: u32) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let sc = std::fs::canonicalize("../scenarios/switchover.yaml").unwrap();
    let p = dir.join("two-cells.yaml");
    let text = format!(
        "name: two-cells\nscenarios: [ {} ]\nstacks: [ keepalived ]\nrepeats: {repeats}\nseed: 3\nsweep:\n  cluster.keepalived.advert_int: [ 1s, 500ms ]\n",
        sc.display()
    );
    std::fs::write(&p, text).unwrap();
    p
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn run_ok(args: &[&str]) -> String {
    let o = halab(args);
    assert_eq!(o.status.code(), Some(0), "halab {args:?}: {}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn shards_merge_into_the_whole_studys_report_and_foreign_shards_are_refused() {
    if !privileged() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("halab-test-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let f = study(&dir, 1);
    let d = |s: &str| dir.join(s).to_str().unwrap().to_string();
    for k in ["1/2", "2/2"] {
        let out = d(&format!("s{}", &k[..1]));
        run_ok(&["study", f.to_str().unwrap(), "--shard", k, "--jobs", "1", "-o", &out]);
    }
    let m1 = json(&dir.join("s1/study.json"));
    let m2 = json(&dir.join("s2/study.json"));
    assert_eq!((m1["positions"].clone(), m2["positions"].clone()), (serde_json::json!([1]), serde_json::json!([2])), "each shard its share");
    run_ok(&["report", &d("s1"), &d("s2"), "-o", &d("merged")]);
    let merged = json(&dir.join("merged/results.json"));
    let st = &merged["study"];
    assert_eq!(st["runs_present"], 2, "{st:#}");
    assert_eq!(st["missing"], serde_json::json!([]), "{st:#}");
    let cells: Vec<&str> = st["rows"].as_array().unwrap().iter().map(|r| r["cell"].as_str().unwrap()).collect();
    assert_eq!(cells, ["advert_int 1s", "advert_int 500ms"]);
    // The same records in one folder give the same study section.
    std::fs::create_dir_all(dir.join("one/runs")).unwrap();
    for s in ["s1", "s2"] {
        for e in std::fs::read_dir(dir.join(s).join("runs")).unwrap().flatten() {
            let to = dir.join("one/runs").join(e.file_name());
            assert!(Command::new("cp").arg("-a").arg(e.path()).arg(&to).status().unwrap().success());
        }
    }
    run_ok(&["report", &d("one/runs"), "-o", &d("one/report")]);
    let one = json(&dir.join("one/report/results.json"));
    // The same rows but for where each cell's topology file lies.
    let rows = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v.as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(|mut r| {
                r.as_object_mut().unwrap().remove("topology");
                r
            })
            .collect()
    };
    assert_eq!(rows(&one["study"]["rows"]), rows(&st["rows"]), "merged shards and the whole study's records give one report");
    assert_eq!(one["study"]["comparisons"], st["comparisons"]);
    let html = std::fs::read_to_string(dir.join("merged/report.html")).unwrap();
    assert!(html.contains("href=\"#drift\"") && html.contains("Drift check"), "the study page has its contents and drift check");
    // Legible in Chromium: the contents, a fault's table and its plot survive rendering.
    if let Some(dom) = rendered_report(&dir.join("merged")) {
        for w in ["Contents", "Drift check", "gap − floor", "<svg"] {
            assert!(dom.contains(w), "Chromium's DOM of the study page lacks `{w}`");
        }
    }
    // Another seed, and the same shard twice: refused, nothing written.
    assert!(Command::new("cp").args(["-a", &d("s2"), &d("s2b")]).status().unwrap().success());
    let p = dir.join("s2b/study.json");
    let text = std::fs::read_to_string(&p).unwrap().replace("\"seed\": 3", "\"seed\": 4");
    std::fs::write(&p, text).unwrap();
    for (args, words) in [(vec![d("s1"), d("s2b")], "another seed"), (vec![d("s1"), d("s2"), d("s1")], "run 1 is also in")] {
        let mut a: Vec<&str> = vec!["report"];
        a.extend(args.iter().map(String::as_str));
        let out = d("refused");
        a.extend(["-o", &out]);
        let o = halab(&a);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: `{words}` missing from {err}");
        assert!(!dir.join("refused").exists(), "nothing written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn my_labs(pid: u32) -> Vec<String> {
    ok(&["ls"]).lines().filter(|l| l.starts_with("run-") && l.contains(&format!("-{pid:x}-"))).map(str::to_string).collect()
}

#[test]
fn ctrl_c_during_a_study_exits_130_leaves_no_lab_and_keeps_the_finished_runs() {
    if !privileged() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("halab-test-study-ctrlc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let f = study(&dir, 3);
    let out = dir.join("out");
    let mut child = Command::new(HALAB)
        .args(["study", f.to_str().unwrap(), "--jobs", "2", "-o", out.to_str().unwrap()])
        .env("HALAB_PLAIN", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let finished =
        || -> usize { std::fs::read_dir(out.join("runs")).map(|d| d.flatten().filter(|e| e.path().join("results.json").is_file()).count()).unwrap_or(0) };
    eventually(120, "a run of the study finished", || finished() >= 1);
    let pid = child.id();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(90), "halab study still runs 90 s after Ctrl-C");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status.code(), Some(130), "Ctrl-C exits 130");
    assert!(my_labs(pid).is_empty(), "every lab went down: {:?}", my_labs(pid));
    let kept = finished();
    assert!((1..6).contains(&kept), "the finished runs are kept, the rest never started: {kept}");
    run_ok(&["report", out.join("runs").to_str().unwrap(), "-o", dir.join("again").to_str().unwrap()]);
    let a = json(&dir.join("again/results.json"));
    assert_eq!(a["study"]["runs_expected"], 6);
    assert_eq!(a["study"]["missing"].as_array().unwrap().len(), 6 - kept, "{:#}", a["study"]);
    let _ = std::fs::remove_dir_all(&dir);
}
