//! `halab _supervise`: one small process per lab that is the parent of every node's holder,
//! so a node that dies is reaped (this machine's PID 1 does not reap orphans, and a lab must
//! outlive the `halab up` that made it). It only boots nodes on request and reaps them; the
//! CLI does everything else.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// Start a node: enter its netns, make the other namespaces, run `halab _helper netns init`.
    Boot {
        netns: String,
        config: PathBuf,
        pid_file: PathBuf,
        console: PathBuf,
    },
    Quit,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default)]
    pub pid: i32,
    #[serde(default)]
    pub error: String,
}

pub fn socket_path(lab_dir: &Path) -> PathBuf {
    lab_dir.join("supervisor.sock")
}

/// Run the supervisor (in the foreground of its own process).
pub fn serve(lab_dir: &Path) -> Result<()> {
    let sock = socket_path(lab_dir);
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).with_context(|| format!("failed to listen on {}", sock.display()))?;
    // Polling accept: the supervisor also stops by itself once the lab's directory is gone
    // (a `down` after the CLI was killed before it could ask).
    listener.set_nonblocking(true)?;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                if handle(stream) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
        if !lab_dir.exists() {
            break;
        }
    }
    let _ = std::fs::remove_file(&sock);
    Ok(())
}

fn handle(stream: UnixStream) -> bool {
    let mut line = String::new();
    let mut reader = BufReader::new(&stream);
    if reader.read_line(&mut line).is_err() {
        return false;
    }
    let (reply, quit) = match serde_json::from_str::<Request>(&line) {
        Ok(Request::Quit) => (Reply { ok: true, pid: 0, error: String::new() }, true),
        Ok(Request::Boot { netns, config, pid_file, console }) => match boot(&netns, &config, &pid_file, &console) {
            Ok(pid) => (Reply { ok: true, pid, error: String::new() }, false),
            Err(e) => (Reply { ok: false, pid: 0, error: format!("{e:#}") }, false),
        },
        Err(e) => (Reply { ok: false, pid: 0, error: format!("bad request: {e}") }, false),
    };
    let mut w = &stream;
    let _ = writeln!(w, "{}", serde_json::to_string(&reply).unwrap_or_default());
    quit
}

fn boot(netns: &str, config: &Path, pid_file: &Path, console: &Path) -> Result<i32> {
    let _ = std::fs::remove_file(pid_file);
    // Our own binary through /proc: it still works after halab was rebuilt or upgraded on
    // disk while the lab runs (current_exe() would then name a deleted file).
    let exe = format!("/proc/{}/exe", std::process::id());
    let log = std::fs::OpenOptions::new().create(true).append(true).open(console)?;
    let mut child = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{netns}"))
        .args(["--", "unshare", "--uts", "--mount", "--pid", "--ipc", "--fork", "--kill-child", "--propagation", "private", "--"])
        .arg(&exe)
        .args(["_helper", "netns", "init"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("failed to start nsenter/unshare")?;
    // Reap the holder whenever it ends (power off, reboot, down).
    let holder = child.id();
    let mut pid = None;
    let started = crate::wait::settle(
        Duration::from_secs(10),
        Duration::from_millis(2),
        || {
            pid = std::fs::read_to_string(pid_file).ok().and_then(|t| t.trim().parse::<i32>().ok());
            if let (None, Ok(Some(status))) = (pid, child.try_wait()) {
                bail!("the node's init exited at once ({status}); see {}", console.display());
            }
            Ok(pid.is_some())
        },
        || format!("the node's init did not start (holder pid {holder})"),
    );
    if let Err(e) = started {
        let _ = child.kill();
        return Err(e);
    }
    let Some(pid) = pid else { bail!("the node's init wrote no pid (holder pid {holder})") };
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(pid)
}

/// Send one request to a lab's supervisor.
pub fn request(lab_dir: &Path, req: &Request) -> Result<Reply> {
    let sock = socket_path(lab_dir);
    let stream = UnixStream::connect(&sock).with_context(|| format!("the lab's supervisor does not answer on {}", sock.display()))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut w = &stream;
    writeln!(w, "{}", serde_json::to_string(req)?)?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let reply: Reply = serde_json::from_str(&line).context("the supervisor gave no answer")?;
    if !reply.ok {
        bail!("{}", reply.error);
    }
    Ok(reply)
}
