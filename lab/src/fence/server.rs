//! `halab _fencer LAB`: the lab's fencer, one host process per lab (in its ledger), listening
//! on the host's management address only. A request is one line `KEY ACTION [NODE]`:
//! `status NODE` (on/off), `off NODE`, `on NODE`, `list` (the members), `monitor`. Power
//! actions go one at a time, in the order they came, through the lab's own primitives: off is
//! the `crash` fault's power cut, on is `power_on` (boot, then the stack per
//! `cluster.rejoin`). Two members that fence each other at once both lose, as with a real
//! power switch: that is the fence race the delays prevent.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::{append, key, Action, PORT};
use crate::lab::Lab;
use crate::measure::clock::now_ns;

pub fn serve(lab_name: &str) -> Result<()> {
    let lab = Lab::open(lab_name)?;
    // A method the provider serves itself (libvirt's fence_virtd).
    if let Some(served) = lab.provider().serve_fencing(&lab) {
        return served;
    }
    let key = key(lab_name)?;
    let listener = TcpListener::bind((lab.host_addr, PORT)).with_context(|| format!("failed to listen on {}:{PORT}", lab.host_addr))?;
    let power = Arc::new(Mutex::new(()));
    for stream in listener.incoming().flatten() {
        let (lab, key, power) = (lab.clone(), key.clone(), power.clone());
        std::thread::spawn(move || {
            let _ = handle(&lab, &key, &power, stream);
        });
        if !crate::ledger::lab_dir(lab_name).exists() {
            break;
        }
    }
    Ok(())
}

fn handle(lab: &Lab, key: &str, power: &Mutex<()>, stream: TcpStream) -> Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let peer = stream.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let from = lab.mgmt_addrs.iter().find(|(_, a)| a.to_string() == peer).map(|(n, _)| n.clone()).unwrap_or(peer);
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let t_ns = now_ns();
    let (action, target) = (words.get(1).copied().unwrap_or(""), words.get(2).copied().unwrap_or(""));
    let reply = if words.first() != Some(&key) { Err(anyhow::anyhow!("wrong key")) } else { act(lab, power, action, target) };
    let mut w = &stream;
    match &reply {
        Ok(v) => writeln!(w, "ok {v}")?,
        Err(e) => writeln!(w, "error {}", format!("{e:#}").replace('\n', " "))?,
    }
    let a = Action {
        t_ns,
        done_ns: now_ns(),
        action: action.to_string(),
        target: target.to_string(),
        from,
        ok: reply.is_ok(),
        error: reply.err().map(|e| format!("{e:#}")),
    };
    // Requests about a node (status, off, on): when the agent acted, and how.
    if !a.target.is_empty() || !a.ok {
        append(&lab.plan.lab, &a)?;
    }
    Ok(())
}

fn act(lab: &Lab, power: &Mutex<()>, action: &str, target: &str) -> Result<String> {
    let members = lab.plan.cluster.as_ref().map(|c| c.members.clone()).unwrap_or_default();
    if matches!(action, "status" | "off" | "on") && !members.iter().any(|m| m == target) {
        bail!("`{target}` is not a member of lab {}", lab.plan.lab);
    }
    let on = |on: bool| if on { "on" } else { "off" }.to_string();
    match action {
        "monitor" => Ok(String::new()),
        "list" => Ok(members.join(" ")),
        "status" => Ok(on(lab.running(target))),
        "off" => {
            let _one = power.lock().map_err(|_| anyhow::anyhow!("a fence action panicked"))?;
            if lab.running(target) {
                lab.actuators(target)?.power_off()?;
            }
            Ok(on(false))
        }
        "on" => {
            let _one = power.lock().map_err(|_| anyhow::anyhow!("a fence action panicked"))?;
            if !lab.running(target) {
                lab.power_on(target)?;
            }
            Ok(on(true))
        }
        other => bail!("unknown action `{other}`"),
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
