//! Real labs on the netns provider (root): bring-up, reachability, cable pull, power cut,
//! power on, two labs side by side, and no leaks after down, Ctrl-C or SIGKILL.

mod common;

use common::*;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOPOLOGY: &str = "../topologies/fw-pair.yaml";

/// Whether a host object's description belongs to one of `labs`: namespaces `<lab>.<node>`
/// and `<lab>+fabric`, the host link `hl<id>`, mounts and helpers under the lab's folder,
/// node processes whose root is the lab's overlay. Other tests' labs run beside these (the
/// suite runs many at once), so a test looks only at what its own labs made.
fn ours(labs: &[&str], item: &str) -> bool {
    labs.iter().any(|lab| {
        let id = halab::topology::validate::lab_id(lab);
        item.contains(&format!("/labs/{lab}/"))
            || item.ends_with(&format!("/labs/{lab}"))
            || item.starts_with(&format!("netns {lab}."))
            || item == format!("netns {lab}+fabric")
            || item.starts_with(&format!("link hl{id}"))
            || item.contains(&format!("/run/netns/{lab}."))
            || item.contains(&format!("/run/netns/{lab}+fabric"))
            || item == format!("labdir {lab}")
            || (item.starts_with("process ") && item.contains("_fencer") && item.ends_with(&format!(" {lab} ")))
    })
}

/// What halab may leave on the host for `labs`: namespaces, host links, mounts, processes
/// (halab's helpers, and every process in another PID namespace, named by the overlay its
/// root is), lab folders.
fn host_snapshot(labs: &[&str]) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for l in String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).lines() {
        s.insert(format!("netns {}", l.split_whitespace().next().unwrap_or("")));
    }
    for l in String::from_utf8_lossy(&Command::new("ip").args(["-o", "link"]).output().unwrap().stdout).lines() {
        s.insert(format!("link {}", l.split(':').nth(1).unwrap_or("").trim()));
    }
    for l in std::fs::read_to_string("/proc/self/mounts").unwrap().lines() {
        let m = l.split_whitespace().nth(1).unwrap_or("");
        if m.contains("halab") || m.starts_with("/run/netns") {
            s.insert(format!("mount {m}"));
        }
    }
    let my_pidns = std::fs::read_link("/proc/self/ns/pid").ok();
    let me = std::process::id().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')) {
            continue;
        }
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default().replace('\0', " ");
        let other_ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok() != my_pidns;
        // halab's helpers: `halab _helper ...`, or `/proc/PID/exe _helper ...` as halab
        // re-executes itself.
        if cmdline.split(' ').nth(1).is_some_and(|a| a.starts_with('_')) && (cmdline.starts_with("/proc/") || cmdline.contains("halab")) {
            s.insert(format!("process {pid} {cmdline}"));
        } else if other_ns && !cmdline.is_empty() {
            // A node's processes: their root is the overlay whose upper dir is the lab's.
            let root = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
            let upper = root.lines().find(|l| l.split_whitespace().nth(4) == Some("/")).and_then(|l| l.split("upperdir=").nth(1)).unwrap_or("?");
            s.insert(format!("process {pid} {cmdline} (root {})", upper.split(',').next().unwrap_or("?")));
        }
    }
    if let Ok(rd) = std::fs::read_dir("/var/lib/halab/labs") {
        for e in rd.flatten() {
            s.insert(format!("labdir {}", e.file_name().to_string_lossy()));
        }
    }
    s.into_iter().filter(|i| ours(labs, i)).collect()
}

fn assert_no_leak(labs: &[&str], before: &BTreeSet<String>, what: &str) {
    let after = host_snapshot(labs);
    let added: Vec<_> = after.difference(before).collect();
    let removed: Vec<_> = before.difference(&after).collect();
    assert!(added.is_empty() && removed.is_empty(), "{what}: host state changed\n added: {added:#?}\n removed: {removed:#?}");
}

fn node_pids(init_pid: i64) -> Vec<i32> {
    let ns = std::fs::read_link(format!("/proc/{init_pid}/ns/pid")).unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|p| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok().as_ref() == Some(&ns))
        .collect()
}

#[test]
fn fw_pair_lifecycle_with_faults() {
    const LABS: &[&str] = &["t-life"];
    if !privileged() {
        return;
    }
    let lab = "t-life";
    let before = host_snapshot(LABS);
    let _g = LabGuard(lab);
    ok(&["up", TOPOLOGY, "--name", lab, "--stack", "none"]);
    // The scoped snapshot sees the lab (else the leak checks below could not fail).
    let up = host_snapshot(LABS);
    for kind in
        ["netns t-life.fw1", "netns t-life+fabric", "link hl", "mount /run/netns/t-life.", "labdir t-life", "_helper netns init /var/lib/halab/labs/t-life/"]
    {
        assert!(up.iter().any(|i| i.contains(kind)), "the snapshot of an up lab holds `{kind}`: {up:#?}");
    }
    assert!(up.iter().any(|i| i.contains("(root /var/lib/halab/labs/t-life/")), "and its nodes' processes: {up:#?}");
    assert!(pings(lab, "client", "198.18.2.10"), "client must reach server through fw1");

    // Cable pull on fw1's inet: the path breaks and fw1 sees NO-CARRIER.
    ok(&["link", lab, "fw1", "inet", "down"]);
    let link = ok(&["exec", lab, "fw1", "--", "ip", "-br", "link", "show", "inet"]);
    assert!(link.contains("NO-CARRIER"), "fw1 must see no carrier: {link}");
    assert!(!pings(lab, "client", "198.18.2.10"), "a pulled cable must break the path");
    ok(&["link", lab, "fw1", "inet", "up"]);
    let t = Instant::now();
    while !pings(lab, "client", "198.18.2.10") {
        assert!(t.elapsed() < Duration::from_secs(5), "plugging the cable back must restore the path");
    }

    // Power cut: every process of fw1 dies at once.
    let st = status_json(lab);
    let fw1 = st["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "fw1").unwrap();
    let init = fw1["init_pid"].as_i64().unwrap();
    let pids = node_pids(init);
    assert!(pids.len() >= 2, "fw1 runs init and sshd: {pids:?}");
    ok(&["power", lab, "fw1", "off"]);
    for p in &pids {
        assert!(!std::path::Path::new(&format!("/proc/{p}")).exists(), "process {p} of fw1 survived the power cut");
    }
    assert!(!pings(lab, "client", "198.18.2.10"), "with fw1 off nothing routes");
    assert!(!halab(&["exec", lab, "fw1", "--", "true"]).status.success());

    // Power on: the node boots again and sshd answers (pinned host key, lab key).
    ok(&["power", lab, "fw1", "on"]);
    let out = ok(&["ssh", lab, "fw1", "--", "uname", "-n"]);
    assert_eq!(out.trim(), "fw1");
    assert!(pings(lab, "client", "198.18.2.10"));
    // A reboot is a new node: a new init (the host kernel would answer a ping for the
    // namespace alone), the server's services back.
    let init_of = |n: &str| status_json(lab)["nodes"].as_array().unwrap().iter().find(|x| x["name"] == n).unwrap()["init_pid"].as_i64();
    let before_init = init_of("server");
    ok(&["power", lab, "server", "reboot"]);
    let after_init = init_of("server");
    assert!(after_init.is_some() && after_init != before_init, "a new init after reboot: {before_init:?} -> {after_init:?}");
    assert!(pings(lab, "client", "198.18.2.10"));
    let web = ok(&["exec", lab, "client", "--", "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 198.18.2.10 80 | head -n 1"]);
    assert!(web.contains(" 200 "), "the rebooted server serves again: {web}");

    ok(&["down", lab]);
    assert_no_leak(LABS, &before, "after down");
}

#[test]
fn two_labs_side_by_side() {
    const LABS: &[&str] = &["t-one", "t-two", "t-three"];
    if !privileged() {
        return;
    }
    let before = host_snapshot(LABS);
    let _g = (LabGuard("t-one"), LabGuard("t-two"));
    ok(&["up", TOPOLOGY, "--name", "t-one", "--stack", "none"]);
    ok(&["up", TOPOLOGY, "--name", "t-two", "--stack", "none"]);
    let (a, b) = (status_json("t-one"), status_json("t-two"));
    assert_ne!(a["management"], b["management"], "each lab takes its own management subnet");
    assert!(pings("t-one", "client", "198.18.2.10"));
    assert!(pings("t-two", "client", "198.18.2.10"));
    // A cable pulled in one lab leaves the other alone.
    ok(&["link", "t-one", "fw1", "inet", "down"]);
    assert!(!pings("t-one", "client", "198.18.2.10"));
    assert!(pings("t-two", "client", "198.18.2.10"));
    let dup = halab(&["up", TOPOLOGY, "--name", "t-one", "--stack", "none"]);
    assert!(!dup.status.success(), "a second lab with the same name must be refused");
    // A management subnet that overlaps a host route (here t-one's) is refused, and nothing is made.
    let taken = a["management"].as_str().unwrap();
    let text = std::fs::read_to_string(TOPOLOGY).unwrap().replace("networks:", &format!("management: {{ subnet: {taken} }}\nnetworks:"));
    let file = std::env::temp_dir().join(format!("halab-overlap-{}.yaml", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let o = halab(&["up", file.to_str().unwrap(), "--name", "t-three"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("overlaps the host route"), "{err}");
    assert!(!std::path::Path::new("/var/lib/halab/labs/t-three").exists());
    let _ = std::fs::remove_file(&file);
    ok(&["down", "t-one"]);
    ok(&["down", "t-two"]);
    assert_no_leak(LABS, &before, "after two labs");
}

/// Start `up` slowed down, wait until it has created part of the lab, then signal it.
fn interrupt_up(lab: &str, signal: nix::sys::signal::Signal) -> std::process::ExitStatus {
    let mut child = Command::new(HALAB)
        .args(["up", TOPOLOGY, "--name", lab, "--stack", "none"])
        .env("HALAB_PLAIN", "1")
        .env("HALAB_STEP_DELAY_MS", "400")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ledger = format!("/var/lib/halab/labs/{lab}/ledger.json");
    let t = Instant::now();
    // Wait for the fabric: namespaces and links exist, nodes are not booted yet.
    while !std::fs::read_to_string(&ledger).unwrap_or_default().contains("\"netns\"") {
        assert!(t.elapsed() < Duration::from_secs(60), "up never got to the fabric");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    child.wait().unwrap()
}

#[test]
fn ctrl_c_during_up_rolls_back() {
    const LABS: &[&str] = &["t-int"];
    if !privileged() {
        return;
    }
    ok(&["image", "build"]);
    let before = host_snapshot(LABS);
    let status = interrupt_up("t-int", nix::sys::signal::Signal::SIGINT);
    assert!(!status.success(), "an interrupted up must not report success");
    assert_no_leak(LABS, &before, "after Ctrl-C during up (rollback)");
    // down on the rolled-back lab has nothing left to remove.
    assert!(!halab(&["down", "t-int"]).status.success());
    assert_no_leak(LABS, &before, "after Ctrl-C during up + down");
}

#[test]
fn sigkill_during_up_then_down_or_gc_removes_everything() {
    const LABS: &[&str] = &["t-kill", "t-gc"];
    if !privileged() {
        return;
    }
    ok(&["image", "build"]);
    let before = host_snapshot(LABS);
    let status = interrupt_up("t-kill", nix::sys::signal::Signal::SIGKILL);
    assert!(!status.success());
    assert!(host_snapshot(LABS) != before, "a killed up leaves its objects for down to find");
    let ls = ok(&["ls"]);
    assert!(ls.contains("t-kill") && ls.contains("stale"), "ls shows the stale lab: {ls}");
    ok(&["down", "t-kill"]);
    assert_no_leak(LABS, &before, "after SIGKILL during up + down");

    let status = interrupt_up("t-gc", nix::sys::signal::Signal::SIGKILL);
    assert!(!status.success());
    // `gc LAB` looks at that lab only (other tests' labs run beside this one).
    let gc = ok(&["gc", "t-gc"]);
    assert!(gc.starts_with("gc: 1 lab(s) removed: t-gc"), "gc removes the lab whose halab process is gone: {gc}");
    assert_no_leak(LABS, &before, "after SIGKILL during up + gc");
}

#[test]
fn bad_topology_exits_2_and_creates_nothing() {
    const LABS: &[&str] = &["x"];
    if !privileged() {
        return;
    }
    let before = host_snapshot(LABS);
    let o = halab(&["up", "tests/data/bad/duplicate-address.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("duplicate-address.yaml:6:27"), "{err}");
    assert_no_leak(LABS, &before, "after a refused up");
}

/// The russh transport the libvirt and hosts providers use, exercised on netns nodes (their
/// sshd is real OpenSSH): argv quoting, stdout/stderr/exit code, stdin, sftp with a mode, a
/// timeout, and a host key that is not the pinned one refused. Also the netns freeze.
#[test]
fn russh_transport_and_freeze_on_a_netns_lab() {
    use halab::provider::identity::ssh_target;
    use halab::transport;
    const LABS: &[&str] = &["t-russh"];
    if !privileged() {
        return;
    }
    let lab = "t-russh";
    let before = host_snapshot(LABS);
    let _g = LabGuard(lab);
    ok(&["up", TOPOLOGY, "--name", lab, "--stack", "none"]);
    let st = halab::labstate::LabState::load(lab).unwrap();
    let t = ssh_target(&st, st.node_index("server").unwrap()).unwrap();
    let sec = Duration::from_secs(10);

    let o = transport::exec(&t, &["sh", "-c", "echo \"$0\"; echo err >&2; exit 3", "it's $quoted"], None, sec).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "it's $quoted\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    assert_eq!(o.status.code(), Some(3));
    let o = transport::exec(&t, &["cat"], Some(b"through stdin"), sec).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "through stdin");
    assert_eq!(String::from_utf8_lossy(&transport::exec(&t, &["hostname"], None, sec).unwrap().stdout).trim(), "server");

    transport::put(&t, "/tmp/halab-sftp/new.txt", b"sent over sftp", 0o640, sec).unwrap_err(); // no parent dir: sftp does not make one
    transport::put(&t, "/tmp/halab-sftp.txt", b"sent over sftp", 0o640, sec).unwrap();
    let o = transport::exec(&t, &["stat", "-c", "%a %s", "/tmp/halab-sftp.txt"], None, sec).unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "640 14");

    let e = transport::exec(&t, &["sleep", "5"], None, Duration::from_secs(1)).unwrap_err();
    assert!(format!("{e:#}").contains("did not finish"), "{e:#}");

    // The client's host key presented for the server's address: refused, never trusted.
    let mut wrong = t.clone();
    wrong.host_key = ssh_target(&st, st.node_index("client").unwrap()).unwrap().host_key;
    let e = transport::exec(&wrong, &["true"], None, sec).unwrap_err();
    assert!(format!("{e:#}").contains("not the pinned one"), "{e:#}");

    // Freeze: every process of the node is stopped (state T), thaw resumes them all.
    let init = status_json(lab)["nodes"].as_array().unwrap().iter().find(|n| n["name"] == "server").unwrap()["init_pid"].as_i64().unwrap();
    let states = |init| -> Vec<char> {
        node_pids(init)
            .iter()
            .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
            .filter_map(|s| s.rsplit(") ").next()?.chars().next())
            .collect()
    };
    // A command halab runs in the node (the VIP watcher's queries) is a visitor, not the
    // node's: the freeze leaves it running, so it answers while the node is frozen.
    let mut visitor = Command::new(HALAB).args(["exec", lab, "server", "--", "sh", "-c", "sleep 2; ip -4 -o addr"]).stdout(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    ok(&["power", lab, "server", "freeze"]);
    let asked = Instant::now();
    while visitor.try_wait().unwrap().is_none() && asked.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(visitor.try_wait().unwrap().is_some_and(|s| s.success()), "a query run inside the frozen node still answers");
    let frozen = states(init);
    assert!(frozen.len() >= 2 && frozen.iter().all(|c| *c == 'T'), "{frozen:?}");
    ok(&["power", lab, "server", "thaw"]);
    assert!(states(init).iter().all(|c| *c != 'T'), "{:?}", states(init));
    assert!(transport::ready(&t), "sshd answers again after thaw");

    ok(&["down", lab]);
    assert_no_leak(LABS, &before, "after down");
}
