//! The netns provider (the embedded default): each node is a set of Linux namespaces over an
//! overlay of the cached image rootfs, with halab's init as PID 1; networks are bridges in a
//! per-lab fabric namespace.

pub mod boot;
pub mod faults;
pub mod init;
pub mod loss;
pub mod names;
pub mod supervisor;
pub mod wiring;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::interrupt;
use crate::labstate::LabState;
use crate::ledger::{lab_dir, proc_start_time, process_alive, Ledger, Object};
use crate::progress::Step;
use crate::provider::identity;
use boot::{BootConfig, READY_FILE};

fn node_dir(lab: &str, node: &str) -> PathBuf {
    lab_dir(lab).join("nodes").join(node)
}

/// Bring the lab up. The caller has created the ledger and saved the state; on error it
/// tears down with `down`.
pub fn up(st: &LabState, ledger: &mut Ledger) -> Result<()> {
    let dir = lab_dir(&st.plan.lab);
    let step = Step::start(format!("up {} ({} nodes, netns)", st.plan.lab, st.plan.nodes.len()));
    step.message("keys and node identities");
    identity::lab_keys(&dir)?;
    let mut known_hosts = String::new();
    for (ni, node) in st.plan.nodes.iter().enumerate() {
        let nd = node_dir(&st.plan.lab, &node.name);
        for sub in ["upper", "work", "root"] {
            std::fs::create_dir_all(nd.join(sub))?;
        }
        known_hosts.push_str(&identity::write_node(st, &dir, ni, &nd.join("upper"))?);
        write_boot_config(st, ni)?;
    }
    std::fs::write(dir.join("ssh/known_hosts"), known_hosts)?;
    interrupt::step_boundary()?;
    step.message("supervisor");
    start_supervisor(&dir, ledger)?;
    interrupt::step_boundary()?;
    step.message("fabric and cables");
    wiring::create_fabric(st, ledger)?;
    let all: Vec<usize> = (0..st.plan.nodes.len()).collect();
    wiring::wire_nodes(st, ledger, &all)?;
    interrupt::step_boundary()?;
    step.message("booting nodes");
    boot_nodes(st, ledger, &all)?;
    step.message("waiting for sshd in every node");
    wait_ready(st, &all, Duration::from_secs(30))?;
    step.done("ready");
    Ok(())
}

fn write_boot_config(st: &LabState, ni: usize) -> Result<()> {
    let node = &st.plan.nodes[ni];
    let nd = node_dir(&st.plan.lab, &node.name);
    let ip = identity::ip_batch(st, ni);
    let mut sysctls = vec![("net/ipv6/conf/all/disable_ipv6".to_string(), "1".to_string())];
    sysctls.push(("net/ipv4/ip_forward".into(), if node.forwarding { "1" } else { "0" }.into()));
    let mut services = vec![boot::service("sshd").context("sshd service")?];
    services.extend(node.services.iter().filter_map(|s| boot::service(s)));
    let cfg = BootConfig {
        node: node.name.clone(),
        hostname: node.name.clone(),
        lower: st.rootfs.clone(),
        upper: nd.join("upper"),
        work: nd.join("work"),
        root: nd.join("root"),
        pid_file: nd.join("init.pid"),
        halab_exe: crate::node::cli::node_exe()?,
        ip_batch: ip,
        sysctls,
        services,
    };
    std::fs::write(nd.join("boot.json"), serde_json::to_vec_pretty(&cfg)?)?;
    Ok(())
}

fn start_supervisor(dir: &Path, ledger: &mut Ledger) -> Result<()> {
    let log = std::fs::File::create(dir.join("supervisor.log"))?;
    let mut c = Command::new(std::env::current_exe()?);
    c.arg("_supervise").arg(dir).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
    unsafe {
        // Its own session: a Ctrl-C on the terminal of `halab up` must not reach the lab.
        c.pre_exec(|| nix::unistd::setsid().map(|_| ()).map_err(std::io::Error::from));
    }
    let child = c.spawn().context("failed to start the lab supervisor")?;
    let pid = child.id() as i32;
    ledger.record(Object::Process { pid, start_time: proc_start_time(pid).unwrap_or(0), what: "supervisor".into() })?;
    let sock = supervisor::socket_path(dir);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() {
        if Instant::now() > deadline {
            bail!("the lab supervisor did not start; see {}", dir.join("supervisor.log").display());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// Boot nodes through the supervisor, in parallel.
pub fn boot_nodes(st: &LabState, ledger: &mut Ledger, nodes: &[usize]) -> Result<()> {
    let dir = lab_dir(&st.plan.lab);
    let results: Vec<(usize, Result<i32>)> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|&ni| {
                let dir = &dir;
                s.spawn(move || {
                    let node = &st.plan.nodes[ni];
                    let nd = node_dir(&st.plan.lab, &node.name);
                    let req = supervisor::Request::Boot {
                        netns: names::node_ns(&st.plan, &node.name),
                        config: nd.join("boot.json"),
                        pid_file: nd.join("init.pid"),
                        console: nd.join("console.log"),
                    };
                    (ni, supervisor::request(dir, &req).map(|r| r.pid))
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    for (ni, r) in results {
        let name = &st.plan.nodes[ni].name;
        let pid = r.with_context(|| format!("failed to boot node `{name}`"))?;
        ledger.record(Object::Process { pid, start_time: proc_start_time(pid).unwrap_or(0), what: format!("init {name}") })?;
    }
    Ok(())
}

/// Wait until every node's init says ready and its sshd accepts a TCP connection over the
/// management network, from the host.
pub fn wait_ready(st: &LabState, nodes: &[usize], timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    for &ni in nodes {
        let node = &st.plan.nodes[ni];
        let addr = std::net::SocketAddr::from((st.node_mgmt_addr(ni), 22));
        loop {
            interrupt::check()?;
            let pid = init_pid(st, &node.name);
            let ready = pid.is_some_and(|p| Path::new(&format!("/proc/{p}/root/{READY_FILE}")).exists());
            if ready && std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if pid.is_none() {
                let console = node_dir(&st.plan.lab, &node.name).join("console.log");
                let tail = std::fs::read_to_string(&console).unwrap_or_default();
                bail!("node `{}` stopped while booting; its console says:\n{}", node.name, tail.trim());
            }
            if Instant::now() > deadline {
                bail!(
                    "node `{}` was not ready within {} s (sshd on {addr} does not answer); see {}",
                    node.name,
                    timeout.as_secs(),
                    node_dir(&st.plan.lab, &node.name).display()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    Ok(())
}

/// PID (in the host namespace) of a running node's init, verified against the ledger.
pub fn init_pid(st: &LabState, node: &str) -> Option<i32> {
    let ledger = Ledger::open(&st.plan.lab).ok()?;
    let what = format!("init {node}");
    ledger.data.objects.iter().find_map(|o| match o {
        Object::Process { pid, start_time, what: w } if *w == what && process_alive(*pid, *start_time) => Some(*pid),
        _ => None,
    })
}

/// Kill the processes of the ledger: node inits first (SIGKILL: everything in each node dies),
/// then the supervisor. Waits until they are gone.
pub fn kill_processes(ledger: &Ledger, filter: impl Fn(&str) -> bool) -> Result<()> {
    let mut waiting = Vec::new();
    for o in &ledger.data.objects {
        if let Object::Process { pid, start_time, what } = o {
            if filter(what) && process_alive(*pid, *start_time) {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
                waiting.push((*pid, *start_time, what.clone()));
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (pid, st, what) in waiting {
        while process_alive(pid, st) {
            if Instant::now() > deadline {
                bail!("process {pid} ({what}) did not die after SIGKILL");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    Ok(())
}

/// Run a command inside a node, in all its namespaces, with a clean environment.
pub fn exec_command(st: &LabState, node: &str, argv: &[String]) -> Result<Command> {
    st.node_index(node)?;
    let Some(pid) = init_pid(st, node) else { bail!("node `{node}` of lab `{}` is not running (powered off?)", st.plan.lab) };
    let mut c = Command::new("nsenter");
    c.arg("-t").arg(pid.to_string()).args(["-a", "--", "/usr/bin/env", "-i"]);
    c.arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").arg("HOME=/root").arg("LANG=C.UTF-8");
    if let Ok(term) = std::env::var("TERM") {
        c.arg(format!("TERM={term}"));
    }
    c.args(argv);
    Ok(c)
}

/// A netns lab behind the `Provider` trait.
pub struct NetnsLab<'a>(pub &'a LabState);

impl crate::provider::Provider for NetnsLab<'_> {
    fn exec(&self, node: &str, argv: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Result<std::process::Output> {
        let args: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        crate::cmd::output_timeout(exec_command(self.0, node, &args)?, stdin, timeout)
    }
    fn running(&self, node: &str) -> bool {
        init_pid(self.0, node).is_some()
    }
    fn systemd(&self) -> bool {
        false
    }
    fn set_link(&self, node: &str, ifname: &str, up: bool) -> Result<()> {
        faults::set_link(self.0, node, ifname, up)
    }
    fn power_off(&self, node: &str) -> Result<()> {
        faults::power_off(self.0, node)
    }
    fn power_on(&self, node: &str) -> Result<()> {
        faults::power_on(self.0, node)
    }
    fn reboot(&self, node: &str) -> Result<()> {
        faults::reboot(self.0, node)
    }
    fn freeze(&self, node: &str, frozen: bool) -> Result<()> {
        faults::freeze(self.0, node, frozen)
    }
    fn set_loss(&self, node: &str, ifname: &str, percent: u32) -> Result<()> {
        loss::set_loss(self.0, node, ifname, percent)
    }
}
