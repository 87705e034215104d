//! `halab _helper netns init`: PID 1 of a netns node. Mounts the node's root (overlay over the image,
//! private /dev, /run, /tmp...), pivots into it, configures the network, starts services,
//! reaps orphans, and on SIGTERM stops its services and exits. SIGKILL from the host is a
//! power cut: the kernel kills everything in the node's PID namespace at once.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{pivot_root, sethostname, Pid};

use super::boot::{BootConfig, LOG_DIR, READY_FILE};

pub fn run(config_path: &Path) -> Result<()> {
    let text = fs::read_to_string(config_path).with_context(|| format!("failed to read {}", config_path.display()))?;
    let cfg: BootConfig = serde_json::from_str(&text)?;
    // The host's /proc is still mounted here, so /proc/self names our PID in the host namespace.
    let host_pid = fs::read_link("/proc/self")?.to_string_lossy().into_owned();
    fs::write(&cfg.pid_file, &host_pid)?;

    let signals = blocked_signals();
    signals.thread_block()?;
    mount_root(&cfg).context("failed to mount the node's root")?;
    sethostname(&cfg.hostname)?;
    prepare_run()?;
    configure_network(&cfg)?;
    let mut services = Vec::new();
    for s in &cfg.services {
        match start_service(&s.name, &s.argv) {
            Ok(pid) => services.push(pid),
            Err(e) => eprintln!("halab-init: failed to start {}: {e:#}", s.name),
        }
    }
    fs::write(format!("/{READY_FILE}"), "")?;
    supervise(&signals, &services);
    Ok(())
}

fn blocked_signals() -> SigSet {
    let mut s = SigSet::empty();
    for sig in [Signal::SIGCHLD, Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        s.add(sig);
    }
    s
}

fn mount_root(cfg: &BootConfig) -> Result<()> {
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none)?;
    let root = &cfg.root;
    let lower = cfg.lowers.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":");
    let opts = format!("lowerdir={lower},upperdir={},workdir={}", cfg.upper.display(), cfg.work.display());
    mount(Some("overlay"), root, Some("overlay"), MsFlags::empty(), Some(opts.as_str())).context("overlay")?;
    let at = |p: &str| root.join(p.trim_start_matches('/'));
    let nodev = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    mount(Some("proc"), &at("proc"), Some("proc"), nodev | MsFlags::MS_NOEXEC, none).context("proc")?;
    // A fresh sysfs mounted from inside the node's netns lists the node's own links.
    mount(Some("sysfs"), &at("sys"), Some("sysfs"), nodev | MsFlags::MS_NOEXEC | MsFlags::MS_RDONLY, none).context("sysfs")?;
    mount(Some("tmpfs"), &at("dev"), Some("tmpfs"), MsFlags::MS_NOSUID, Some("mode=755,size=64k")).context("dev")?;
    for dev in ["null", "zero", "full", "random", "urandom", "tty"] {
        let target = at(&format!("dev/{dev}"));
        fs::write(&target, "")?;
        mount(Some(format!("/dev/{dev}").as_str()), &target, none, MsFlags::MS_BIND, none).with_context(|| format!("/dev/{dev}"))?;
    }
    fs::create_dir_all(at("dev/pts"))?;
    mount(Some("devpts"), &at("dev/pts"), Some("devpts"), MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC, Some("newinstance,ptmxmode=0666,mode=620"))
        .context("devpts")?;
    std::os::unix::fs::symlink("pts/ptmx", at("dev/ptmx"))?;
    fs::create_dir_all(at("dev/shm"))?;
    mount(Some("tmpfs"), &at("dev/shm"), Some("tmpfs"), nodev, Some("mode=1777")).context("shm")?;
    mount(Some("tmpfs"), &at("run"), Some("tmpfs"), nodev, Some("mode=755")).context("run")?;
    mount(Some("tmpfs"), &at("tmp"), Some("tmpfs"), nodev, Some("mode=1777")).context("tmp")?;
    // The halab binary itself, for `halab probe` inside nodes.
    let exe_target = at("usr/local/bin/halab");
    if !exe_target.exists() {
        fs::write(&exe_target, "")?;
    }
    mount(Some(cfg.halab_exe.as_path()), &exe_target, none, MsFlags::MS_BIND, none).context("halab binary")?;
    mount(none, &exe_target, none, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY, none)?;
    // pivot_root(".", ".") stacks the old root on the new one; detach it right away.
    std::env::set_current_dir(root)?;
    pivot_root(".", ".").context("pivot_root")?;
    umount2(".", MntFlags::MNT_DETACH)?;
    std::env::set_current_dir("/")?;
    Ok(())
}

fn prepare_run() -> Result<()> {
    for d in ["/run/lock", "/run/sshd", "/run/halab", "/run/crm", LOG_DIR] {
        fs::create_dir_all(d)?;
    }
    fs::create_dir_all("/run/resource-agents")?;
    fs::set_permissions("/run/resource-agents", std::os::unix::fs::PermissionsExt::from_mode(0o1755))?;
    fs::write("/run/utmp", "")?;
    Ok(())
}

fn configure_network(cfg: &BootConfig) -> Result<()> {
    for (key, value) in &cfg.sysctls {
        let path = format!("/proc/sys/{key}");
        fs::write(&path, value).with_context(|| format!("failed to set {path}"))?;
    }
    let mut child = Command::new("/usr/sbin/ip").args(["-batch", "-"]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        std::io::Write::write_all(&mut stdin, cfg.ip_batch.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        anyhow::bail!("ip -batch failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn start_service(name: &str, argv: &[String]) -> Result<Pid> {
    let log = fs::OpenOptions::new().create(true).append(true).open(format!("{LOG_DIR}/{name}.log"))?;
    let (prog, args) = argv.split_first().context("empty command")?;
    let mut c = Command::new(prog);
    c.args(args).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log).env_clear();
    c.env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").env("HOME", "/root").env("LANG", "C.UTF-8");
    unsafe {
        c.pre_exec(|| {
            // Children must not inherit init's blocked signals.
            SigSet::empty().thread_set_mask().map_err(std::io::Error::from)?;
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let child = c.spawn().with_context(|| format!("failed to run {prog}"))?;
    Ok(Pid::from_raw(child.id() as i32))
}

fn reap_all() {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => continue,
        }
    }
}

fn supervise(signals: &SigSet, services: &[Pid]) {
    loop {
        match signals.wait() {
            Ok(Signal::SIGCHLD) => reap_all(),
            Ok(_) => break,
            Err(_) => continue,
        }
    }
    // Graceful stop: TERM everything, give it 3 s, then exit (the kernel kills the rest).
    let _ = kill(Pid::from_raw(-1), Signal::SIGTERM);
    for pid in services {
        let _ = kill(*pid, Signal::SIGTERM);
    }
    // A grace period: what has not ended by then goes with the namespace.
    let all_reaped = || {
        reap_all();
        Ok(matches!(waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)), Err(nix::errno::Errno::ECHILD)))
    };
    let _ = crate::wait::settle(Duration::from_secs(3), Duration::from_millis(20), all_reaped, String::new);
}
