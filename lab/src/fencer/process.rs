//! The lab's fencer process: started at `up` (in the ledger before it runs) and waited for
//! until it answers, stopped first at `down`.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::server::ask;
use crate::fence::{key_path, DAEMON, PORT, VIRTD_PORT, WHAT};
use crate::lab::Lab;
use crate::ledger::{lab_dir, process_alive, Ledger, Object};
use crate::topology::FenceMethod;

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
    let mut c = Command::new(std::env::current_exe()?);
    c.args(["_fencer", name]);
    // It outlives this `halab up`; `down` stops it by the PID in the ledger.
    let (pid, start_time) = crate::cmd::spawn_daemon(c, &lab_dir(name).join("fencer.out")).context("failed to start the lab's fencer")?;
    ledger.record(Object::Process { pid, start_time, what: WHAT.into() })?;
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
            false if !process_alive(pid, start_time) => bail!("{} (it has exited)", why()),
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
                // SIGKILL cannot be refused: this only waits for the kernel to take it away.
                let _ = crate::wait::settle(Duration::from_secs(2), Duration::from_millis(5), || Ok(!process_alive(*pid, *start_time)), String::new);
            }
        }
    }
}
