//! Fencing: how a pacemaker cluster in a lab powers off a member it lost, through its own
//! fencer (stonith-ng) and a real fence agent, never around it.
//!
//! - `halab` (any provider): the members run `fence_halab` (`agent.rs`, built on the
//!   fence-agents library), which asks the lab's fencer (`server.rs`, one host process per lab,
//!   in the ledger) on the management network, authenticated by a per-lab key. The fencer
//!   powers the node off and on with the same primitives as the `crash` and `power_on`
//!   faults, so a fenced member rejoins per `cluster.rejoin`.
//! - `virt` (libvirt, its default): Debian's fence_virt in the members, fence_virtd on the
//!   host (`provider/libvirt/fence_virtd.rs`), run by the same per-lab fencer process.
//!
//! Every action the fencer took is a line of `fence.log` in the lab's directory: the runner's
//! fencing numbers come from there.

pub mod agent;
pub mod server;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, InputError};
use crate::lab::Lab;
use crate::ledger::{lab_dir, proc_start_time, process_alive, Ledger, Object};
use crate::topology::{FenceMethod, Plan};

/// The fencer's TCP port on the host's management address (one address per lab).
pub const PORT: u16 = 7410;
/// The lab's key inside each member (root only).
pub const KEY_FILE: &str = "/etc/halab/fence.key";
/// fence_virtd's tcp port (its default) on the lab's management address (`virt`).
pub const VIRTD_PORT: u16 = 1229;
/// The lab's key in each member for fence_virt: its default path, so no device parameter.
pub const VIRT_KEY_FILE: &str = "/etc/cluster/fence_xvm.key";
const WHAT: &str = "fencer";
/// fence_virtd, the `virt` method's daemon (the fencer's child, in the ledger on its own).
pub const DAEMON: &str = "fence_virtd";

/// The method this provider will fence with: the topology's if the provider can, its own first
/// one when the topology says nothing. A method it cannot do is bad input at the topology's
/// line (exit 2).
pub fn resolve(plan: &mut Plan, provider: &str, methods: &[FenceMethod]) -> Result<()> {
    let Some(cl) = plan.cluster.as_mut() else { return Ok(()) };
    let f = &mut cl.fencing;
    match f.method {
        None => f.method = methods.first().copied(),
        Some(FenceMethod::Off) => {}
        Some(m) if methods.contains(&m) => {}
        Some(m) => {
            let (file, line, col) = f.at.clone().unwrap_or((plan.topology.clone(), 1, 1));
            let can: Vec<&str> = methods.iter().map(|x| x.name()).collect();
            return Err(InputError::one(Diagnostic::new(
                &file,
                line,
                col,
                "cluster.fencing.method",
                &format!("the {provider} provider cannot fence with `{}`", m.name()),
                &format!("it can: {}, or off", can.join(", ")),
            ))
            .into());
        }
    }
    Ok(())
}

/// A member's libvirt domain (the name fence_virtd is asked for).
pub fn domain_name(lab: &str, node: &str) -> String {
    format!("{lab}-{node}")
}

pub(crate) fn key_path(lab: &str) -> PathBuf {
    lab_dir(lab).join("fence.key")
}

fn log_path(lab: &str) -> PathBuf {
    lab_dir(lab).join("fence.log")
}

/// The lab's key (made at `start`).
pub fn key(lab: &str) -> Result<String> {
    Ok(std::fs::read_to_string(key_path(lab)).context("the lab has no fence key")?.trim().to_string())
}

/// Start the lab's fencer when its cluster fences: a new key, the process (in the ledger
/// before it runs), and a wait until it (or the fence_virtd it runs) answers.
pub fn start(lab: &Lab, ledger: &mut Ledger) -> Result<()> {
    let Some(cl) = &lab.plan.cluster else { return Ok(()) };
    let Some(method) = cl.fencing.method.filter(|_| cl.fencing.on(cl.stack)) else { return Ok(()) };
    let name = &lab.plan.lab;
    let mut raw = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut raw)).context("no randomness for the fence key")?;
    let key: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&key_path(name), &key)?;
    let log = std::fs::File::create(lab_dir(name).join("fencer.out"))?;
    let mut c = Command::new(std::env::current_exe()?);
    c.args(["_fencer", name]).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
    unsafe {
        c.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(std::io::Error::from));
    }
    let child = c.spawn().context("failed to start the lab's fencer")?;
    let pid = child.id() as i32;
    ledger.record(Object::Process { pid, start_time: proc_start_time(pid).unwrap_or(0), what: WHAT.into() })?;
    // Not waited for: the fencer outlives this `halab up` (its own session); `down` stops it
    // by the PID in the ledger. (Dropping a Child neither kills nor reaps: this only says so.)
    std::mem::forget(child);
    let port = listen_port(method);
    let why = || format!("the lab's fencer does not answer on {}:{port}; see {}", lab.host_addr, lab_dir(name).join("fencer.out").display());
    let answers = || match method {
        FenceMethod::Halab => ask(lab.host_addr, &key, "monitor").is_ok(),
        _ => TcpStream::connect_timeout(&(lab.host_addr, port).into(), Duration::from_millis(200)).is_ok(),
    };
    crate::wait::until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || match answers() {
            false if !process_alive(pid, proc_start_time(pid).unwrap_or(0)) => bail!("{} (it has exited)", why()),
            up => Ok(up),
        },
        why,
    )?;
    Ok(())
}

fn listen_port(method: FenceMethod) -> u16 {
    if method == FenceMethod::Virt {
        VIRTD_PORT
    } else {
        PORT
    }
}

fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Stop the lab's fencer and the fence_virtd it runs (before anything else goes, so nothing
/// powers a VM on during `down`: fence_virtd's reboot would even make a transient domain).
pub fn stop(ledger: &Ledger) {
    for o in &ledger.data.objects {
        if let Object::Process { pid, start_time, what } = o {
            if (what == WHAT || what == DAEMON) && process_alive(*pid, *start_time) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
                let deadline = Instant::now() + Duration::from_secs(2);
                while process_alive(*pid, *start_time) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
}

/// One request to a fencer, as the agent sends it: `KEY WORDS...`, answered `ok ...` or
/// `error ...`.
pub fn ask(host: Ipv4Addr, key: &str, words: &str) -> Result<Vec<String>> {
    let s = TcpStream::connect_timeout(&(host, PORT).into(), Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    (&s).write_all(format!("{key} {words}\n").as_bytes())?;
    let mut line = String::new();
    BufReader::new(&s).read_line(&mut line)?;
    let mut w: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    match w.first().map(String::as_str) {
        Some("ok") => Ok(w.split_off(1)),
        _ => bail!("the fencer answered `{}`", line.trim()),
    }
}

/// One action the fencer took, as `fence.log` keeps it (host CLOCK_MONOTONIC ns).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    pub t_ns: u64,
    pub done_ns: u64,
    pub action: String,
    pub target: String,
    /// The member whose agent asked (by its management address).
    pub from: String,
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
}

impl Action {
    /// A power action (not status, list or monitor).
    pub fn powers(&self) -> bool {
        matches!(self.action.as_str(), "off" | "on" | "reboot")
    }
}

pub fn append(lab: &str, a: &Action) -> Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(log_path(lab))?;
    writeln!(f, "{}", serde_json::to_string(a)?)?;
    Ok(())
}

/// Every action the lab's fencer took so far.
pub fn actions(lab: &str) -> Vec<Action> {
    std::fs::read_to_string(log_path(lab)).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// A fencing pacemaker confirmed, from its alert agent's line in the stack events
/// ("fencing fw1 - st_notify_fence Operation reboot of fw1 by fw2 ...: OK ... rc=0"): the
/// target, if it succeeded.
pub fn confirmed(what: &str) -> Option<String> {
    let rest = what.strip_prefix("fencing ")?;
    (what.contains(": OK") || what.ends_with("rc=0")).then(|| rest.split_whitespace().next().map(str::to_string)).flatten()
}

/// The fencing numbers of a run. Who was fenced is pacemaker's word (its fencing alerts,
/// `confirmations`: host ns, target), whatever the method; when it was asked comes from the
/// fencer's log (`acts`, the `halab` method). `fence.count` (fencings confirmed after the
/// fault), `fenced` (who), `fenced.<member>`, `fence.holder_fenced` (the VIP holder at the
/// fault), `fence.after_fault` (the fault to the fence agent's first request, ms),
/// `fence.took` (that request to pacemaker's confirmation), `fence.to_vip` (the confirmation
/// to the VIPs seen on one member, polled every 100 ms; only when they moved after it).
pub fn metrics(
    acts: &[Action],
    confirmations: &[(u64, String)],
    members: &[String],
    fault_ns: Option<u64>,
    holder: Option<&str>,
    vip_moved_ns: Option<u64>,
) -> Vec<(String, serde_json::Value)> {
    use serde_json::json;
    let after = |t: u64| fault_ns.is_none_or(|f| t >= f);
    let done: Vec<&(u64, String)> = confirmations.iter().filter(|c| after(c.0)).collect();
    let mut fenced: Vec<String> = done.iter().map(|c| c.1.clone()).collect();
    fenced.sort();
    fenced.dedup();
    let mut m = vec![("fence.count".to_string(), json!(done.len())), ("fenced".to_string(), json!(fenced))];
    for member in members {
        m.push((format!("fenced.{member}"), json!(fenced.contains(member))));
    }
    if let Some(h) = holder {
        m.push(("fence.holder_fenced".into(), json!(fenced.iter().any(|f| f == h))));
    }
    let ms = |ns: u64| (ns as f64 / 1e5).round() / 10.0;
    let first_ask = acts.iter().find(|a| after(a.t_ns) && fenced.contains(&a.target));
    if let (Some(f), Some(a)) = (fault_ns, first_ask) {
        m.push(("fence.after_fault".into(), json!(ms(a.t_ns.saturating_sub(f)))));
    }
    if let Some((t, _)) = done.first() {
        if let Some(a) = first_ask {
            m.push(("fence.took".into(), json!(ms(t.saturating_sub(a.t_ns)))));
        }
        if let Some(v) = vip_moved_ns.filter(|v| v >= t) {
            m.push(("fence.to_vip".into(), json!(ms(v - t))));
        }
    }
    m
}
