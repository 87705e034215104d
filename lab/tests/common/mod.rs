//! Helpers shared by the privileged integration tests: run the real halab binary.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const HALAB: &str = env!("CARGO_BIN_EXE_halab");

/// A test that returns early without testing says so: on stderr and as a line in
/// `$HALAB_SKIP_LOG`, which scripts/test counts after cargo's summary (cargo would call the
/// test passed) and which fails CI.
pub fn skip(why: &str) {
    let test = std::thread::current().name().unwrap_or("?").to_string();
    eprintln!("SKIPPED {test}: {why}");
    if let Ok(log) = std::env::var("HALAB_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(log) {
            let _ = writeln!(f, "{test}: {why}");
        }
    }
}

/// Privileged tests: fail with an explanation without root, unless told to skip.
pub fn privileged() -> bool {
    if nix::unistd::Uid::effective().is_root() {
        return true;
    }
    if std::env::var("HALAB_SKIP_PRIVILEGED").as_deref() == Ok("1") {
        skip("needs root (HALAB_SKIP_PRIVILEGED=1)");
        return false;
    }
    panic!("this test needs root (namespaces, bridges, mounts); run as root or set HALAB_SKIP_PRIVILEGED=1 to skip it");
}

/// Root and a libvirtd answering on qemu:///system (or skipped with HALAB_SKIP_LIBVIRT=1).
pub fn libvirt_ready() -> bool {
    if !privileged() {
        return false;
    }
    let ok = std::process::Command::new("virsh").args(["-c", "qemu:///system", "version"]).output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var("HALAB_SKIP_LIBVIRT").as_deref() == Ok("1") {
        skip("libvirtd is not running (HALAB_SKIP_LIBVIRT=1)");
        return false;
    }
    assert!(ok, "libvirtd does not answer on qemu:///system: start it (`virtlogd -d; libvirtd -d`) or set HALAB_SKIP_LIBVIRT=1");
    true
}

/// `halab up ARGS` that must fail with `code` (2 bad input, 3 a lab that could not come up),
/// its stderr holding every one of `words`, and leave no lab named `lab` behind. Returns stderr.
pub fn up_refused(args: &[&str], code: i32, words: &[&str], lab: &str) -> String {
    let o = halab(&[&["up"], args].concat());
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    if o.status.success() {
        // It came up when it should not have: take it down before failing.
        let _ = halab(&["down", lab]);
    }
    assert_eq!(o.status.code(), Some(code), "{err}");
    for w in words {
        assert!(err.contains(w), "`{w}` missing from:\n{err}");
    }
    assert!(!std::path::Path::new("/var/lib/halab/labs").join(lab).exists(), "nothing of `{lab}` is left");
    err
}

pub fn halab(args: &[&str]) -> Output {
    halab_with_pid(args).1
}

/// Run halab and also return its PID: the labs it names after itself (`agent-PID`,
/// `run-...-PID-...`) are this test's, whatever other tests run beside it.
pub fn halab_with_pid(args: &[&str]) -> (u32, Output) {
    let child = Command::new(HALAB)
        .args(args)
        .env("HALAB_PLAIN", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run halab");
    let pid = child.id();
    (pid, bounded(child, args))
}

/// A halab command that has not ended after 15 min is interrupted (Ctrl-C: it cleans up) and
/// the test fails naming it, with what it printed so far: a hang is a failure that says
/// where, not a test ended by nextest's timeout with nothing to read.
fn bounded(mut child: std::process::Child, args: &[&str]) -> Output {
    use std::io::Read;
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = r.read_to_end(&mut b);
            b
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("piped stdout")));
    let err = reader(Box::new(child.stderr.take().expect("piped stderr")));
    let (t, limit) = (Instant::now(), Duration::from_secs(900));
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for halab") {
            break s;
        }
        if t.elapsed() > limit {
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
            let grace = Instant::now();
            while child.try_wait().ok().flatten().is_none() && grace.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
            let (o, e) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
            panic!(
                "halab {args:?} had not ended after {} s: interrupted.\nstdout:\n{}\nstderr:\n{}",
                limit.as_secs(),
                String::from_utf8_lossy(&o),
                String::from_utf8_lossy(&e)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() }
}

/// Run halab; panic with its output unless it exits 0.
pub fn ok(args: &[&str]) -> String {
    let o = halab(args);
    assert!(o.status.success(), "halab {args:?} failed: {}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn pings(lab: &str, from: &str, to: &str) -> bool {
    halab(&["exec", lab, from, "--", "ping", "-c", "1", "-W", "1", to]).status.success()
}

/// `halab status LAB --json`; the first answer of each test is also checked against
/// schemas/status.json (python3-jsonschema), so every lab test pins that shape.
pub fn status_json(lab: &str) -> serde_json::Value {
    static CHECKED: std::sync::Once = std::sync::Once::new();
    let text = ok(&["status", lab, "--json"]);
    CHECKED.call_once(|| {
        let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/status.json");
        let script = "import json,sys\nfrom jsonschema import Draft202012Validator as V\nV(json.load(open(sys.argv[1]))).validate(json.load(sys.stdin))";
        let mut c = Command::new("/usr/bin/python3").args(["-c", script, schema]).stdin(std::process::Stdio::piped()).spawn().unwrap();
        std::io::Write::write_all(c.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
        assert!(c.wait().unwrap().success(), "`halab status {lab} --json` does not match schemas/status.json:\n{text}");
    });
    serde_json::from_str(&text).unwrap()
}

/// Poll until `f` is true or panic after `secs`.
pub fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(secs), "{what} (waited {secs} s)");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A negative check: `f` stays true for `secs`, polled every 200 ms, and the test fails at
/// the first poll where it does not (a single look after a sleep would miss a VIP taken and
/// dropped again). `secs` is the stack's own deadline for what must not happen, with margin.
pub fn stays(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        assert!(f(), "{what} (broken after {:.1} s of {secs} s)", t.elapsed().as_secs_f64());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Tears a lab down when dropped, so a failed assertion leaves nothing behind.
pub struct LabGuard(pub &'static str);

impl Drop for LabGuard {
    fn drop(&mut self) {
        let _ = halab(&["down", self.0]);
    }
}

/// `halab run SCENARIO -o OUT [args]`: its output and the run records, sorted by stack.
pub fn run_records(scenario: &str, out: &std::path::Path, args: &[&str]) -> (Output, Vec<serde_json::Value>) {
    let _ = std::fs::remove_dir_all(out);
    let o = Command::new(HALAB).args(["run", scenario, "-o", out.to_str().unwrap()]).args(args).env("HALAB_PLAIN", "1").output().unwrap();
    let mut recs: Vec<serde_json::Value> = std::fs::read_dir(out)
        .unwrap_or_else(|_| panic!("no run folder; stderr:\n{}", String::from_utf8_lossy(&o.stderr)))
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path().join("results.json")).ok())
        .map(|t| serde_json::from_str(&t).unwrap())
        .collect();
    recs.sort_by_key(|r| r["stack"].as_str().unwrap_or("").to_string());
    (o, recs)
}

/// A crash of the active measured where it happened: the probe's longest silence is a real,
/// recovered gap of at least `min_ms` that starts around the fault (not a clean probe that
/// ended before it, which once read as a gap of 0 and passed).
pub fn assert_gap_around_the_fault(r: &serde_json::Value, min_ms: f64) {
    let m = &r["metrics"];
    assert_eq!(m["probe.gap_outcome"], "recovered", "{m:#}");
    let (gap, start) = (m["probe.gap"].as_f64().unwrap_or(0.0), m["probe.gap_start_after_fault"].as_f64().unwrap_or(f64::NAN));
    assert!(gap >= min_ms, "a crash of the active left a gap of only {gap} ms (< {min_ms} ms)");
    assert!((-1000.0..15_000.0).contains(&start), "the gap starts {start} ms after the fault: not the fault's");
}

/// Debian's chromium, if installed (the HTML reports are checked in it).
pub fn chromium() -> Option<std::path::PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(std::path::PathBuf::from).find(|p| p.exists())
}

/// Headless chromium on `url` with `args` (`--dump-dom`, `--screenshot=`).
pub fn browser(args: &[&str], url: &str) -> std::process::Output {
    let profile = std::env::temp_dir().join(format!("halab-chromium-profile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
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

/// The DOM of `report_dir`/report.html as headless Chromium renders it; None (and the test
/// counted as skipped) without Chromium when HALAB_SKIP_BROWSER=1.
pub fn rendered_report(report_dir: &std::path::Path) -> Option<String> {
    if chromium().is_none() {
        if std::env::var("HALAB_SKIP_BROWSER").as_deref() == Ok("1") {
            skip("no chromium (HALAB_SKIP_BROWSER=1)");
            return None;
        }
        panic!("this test needs Debian's chromium (apt-get install chromium), or HALAB_SKIP_BROWSER=1");
    }
    let url = format!("file://{}", std::fs::canonicalize(report_dir.join("report.html")).unwrap().display());
    Some(String::from_utf8_lossy(&browser(&["--dump-dom"], &url).stdout).into_owned())
}

/// Poll `now` until it equals `before` (a rebooted machine settles), or panic after `secs`
/// with the lines that differ, per item.
pub fn settles_to(what: &str, before: &[String], secs: u64, now: impl Fn() -> Vec<String>) {
    let t = Instant::now();
    loop {
        let cur = now();
        if cur == before {
            return;
        }
        if t.elapsed() > Duration::from_secs(secs) {
            let mut diff = String::new();
            for (i, (b, c)) in before.iter().zip(&cur).enumerate().filter(|(_, (b, c))| b != c) {
                diff += &format!("item {i}:\n");
                b.lines().filter(|l| !c.lines().any(|x| x == *l)).for_each(|l| diff += &format!("  - {l}\n"));
                c.lines().filter(|l| !b.lines().any(|x| x == *l)).for_each(|l| diff += &format!("  + {l}\n"));
            }
            panic!("{what} (waited {secs} s):\n{diff}");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}
