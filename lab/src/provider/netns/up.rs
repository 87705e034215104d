//! Bringing a netns lab up: identities in each node's upper dir, the supervisor, the fabric
//! and cables, then every node booted in parallel and waited for until its sshd answers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::boot::{BootConfig, READY_FILE};
use super::{init_pid, names, supervisor, wiring};
use crate::interrupt;
use crate::labstate::LabState;
use crate::ledger::{lab_dir, proc_start_time, Ledger, Object};
use crate::progress::Step;
use crate::provider::identity;

pub fn node_dir(lab: &str, node: &str) -> PathBuf {
    lab_dir(lab).join("nodes").join(node)
}

/// Bring the lab up. The caller has created the ledger and saved the state; on error it
/// tears down with `down`.
pub fn up(st: &LabState, ledger: &mut Ledger) -> Result<()> {
    let dir = lab_dir(&st.plan.lab);
    let step = Step::start(format!("up {} ({} nodes, netns)", st.plan.lab, st.plan.nodes.len()));
    step.message("keys and node identities");
    identity::lab_keys(&dir)?;
    let all: Vec<usize> = (0..st.plan.nodes.len()).collect();
    let known_hosts = identities(st, &all)?;
    std::fs::write(dir.join("ssh/known_hosts"), known_hosts)?;
    interrupt::step_boundary()?;
    step.message("supervisor");
    start_supervisor(&dir, ledger)?;
    interrupt::step_boundary()?;
    step.message("fabric and cables");
    wiring::create_fabric(st, ledger)?;
    wiring::wire_nodes(st, ledger, &all)?;
    interrupt::step_boundary()?;
    step.message("booting nodes");
    boot_nodes(st, ledger, &all)?;
    step.message("waiting for sshd in every node");
    wait_ready(st, &all, Duration::from_secs(30))?;
    step.done("ready");
    Ok(())
}

/// Each node's identity in its upper dir and its boot config; returns their known_hosts lines.
/// (The lab's keys exist already.)
pub fn identities(st: &LabState, nodes: &[usize]) -> Result<String> {
    let dir = lab_dir(&st.plan.lab);
    let mut known_hosts = String::new();
    for &ni in nodes {
        let nd = node_dir(&st.plan.lab, &st.plan.nodes[ni].name);
        for sub in ["upper", "work", "root"] {
            std::fs::create_dir_all(nd.join(sub))?;
        }
        known_hosts.push_str(&identity::write_node(st, &dir, ni, &nd.join("upper"))?);
        write_boot_config(st, ni)?;
    }
    Ok(known_hosts)
}

/// The netns nodes of another provider's lab (its `host_wiring`), their identities written:
/// the supervisor, their cables to that provider's bridges, their boot; returns once each
/// answers SSH.
pub fn up_on_host(st: &LabState, ledger: &mut Ledger, nodes: &[usize]) -> Result<()> {
    start_supervisor(&lab_dir(&st.plan.lab), ledger)?;
    wiring::wire_nodes(st, ledger, nodes)?;
    boot_nodes(st, ledger, nodes)?;
    wait_ready(st, nodes, Duration::from_secs(30))
}

fn write_boot_config(st: &LabState, ni: usize) -> Result<()> {
    let node = &st.plan.nodes[ni];
    let nd = node_dir(&st.plan.lab, &node.name);
    let ip = identity::ip_batch(st, ni);
    let mut sysctls = vec![("net/ipv6/conf/all/disable_ipv6".to_string(), "1".to_string())];
    sysctls.push(("net/ipv4/ip_forward".into(), if st.plan.forwards_at_boot(node) { "1" } else { "0" }.into()));
    let mut services = vec![crate::node::service::known("sshd").context("sshd service")?];
    services.extend(node.services.iter().filter_map(|s| crate::node::service::known(s)));
    let cfg = BootConfig {
        node: node.name.clone(),
        hostname: node.name.clone(),
        lowers: st.lowers(),
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
    let mut c = Command::new(std::env::current_exe()?);
    c.args(["_helper", "netns", "supervise"]).arg(dir);
    // Its own session: a Ctrl-C on the terminal of `halab up` must not reach the lab.
    let (pid, start_time) = crate::cmd::spawn_daemon(c, &dir.join("supervisor.log")).context("failed to start the lab supervisor")?;
    ledger.record(Object::Process { pid, start_time, what: "supervisor".into() })?;
    let sock = supervisor::socket_path(dir);
    let why = || format!("the lab supervisor did not start; see {}", dir.join("supervisor.log").display());
    crate::wait::settle(Duration::from_secs(5), Duration::from_millis(2), || Ok(sock.exists()), why)?;
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
    let start = Instant::now();
    for &ni in nodes {
        let node = &st.plan.nodes[ni];
        let addr = std::net::SocketAddr::from((st.node_mgmt_addr(ni), 22));
        let ready = || {
            let Some(pid) = init_pid(&st.plan.lab, &node.name) else {
                let console = node_dir(&st.plan.lab, &node.name).join("console.log");
                let tail = std::fs::read_to_string(&console).unwrap_or_default();
                bail!("node `{}` stopped while booting; its console says:\n{}", node.name, tail.trim());
            };
            Ok(Path::new(&format!("/proc/{pid}/root/{READY_FILE}")).exists() && std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok())
        };
        let why = || format!("node `{}` was not ready (sshd on {addr} does not answer); see {}", node.name, node_dir(&st.plan.lab, &node.name).display());
        crate::wait::until(timeout.saturating_sub(start.elapsed()), Duration::from_millis(5), ready, why)?;
    }
    Ok(())
}
