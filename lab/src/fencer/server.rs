//! `halab _fencer LAB`: the lab's fencer, one host process per lab (in its ledger), listening
//! on the host's management address only. A request is one line `KEY ACTION [NODE]`:
//! `status NODE` (on/off), `off NODE`, `on NODE`, `list` (the members), `monitor`. Power
//! actions go one at a time, in the order they came, through the lab's own primitives: off is
//! the `crash` fault's power cut, on is `power_on` (boot, then the stack per
//! `cluster.rejoin`). Like a power switch, `on` answers once the power is on: the boot (a
//! netns node's `boot_time`) goes on after the answer and the node is `on` meanwhile, so a
//! fence's reboot never waits for the fenced member to boot. Two members that fence each
//! other at once both lose, as with a real power switch: that is the fence race the delays
//! prevent.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::fence::{append, key, Action, PORT};
use crate::lab::Lab;
use crate::measure::clock::now_ns;

pub fn serve(lab_name: &str) -> Result<()> {
    let lab = Lab::open(lab_name)?;
    // libvirt's fence_virtd serves the `virt` method; halab answers the `halab` method itself.
    if lab.plan.cluster.as_ref().and_then(|c| c.fencing.method) == Some(crate::topology::FenceMethod::Virt) {
        return super::virtd::serve(&lab);
    }
    let key = key(lab_name)?;
    let listener = TcpListener::bind((lab.host_addr, PORT)).with_context(|| format!("failed to listen on {}:{PORT}", lab.host_addr))?;
    let power = Arc::new(Power::default());
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

/// The fencer's power switches: one action at a time, and the members whose boot this fencer
/// started in the background. The provider says "booting" too (`Lab::booting`), but only once
/// the thread has begun the boot: until then a `status` right after `on` would answer off and
/// fail the agent's reboot.
#[derive(Default)]
struct Power {
    one: Mutex<()>,
    booting: Arc<Mutex<HashSet<String>>>,
}

impl Power {
    fn booting(&self, node: &str) -> bool {
        self.booting.lock().is_ok_and(|b| b.contains(node))
    }
}

fn handle(lab: &Lab, key: &str, power: &Power, stream: TcpStream) -> Result<()> {
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

fn act(lab: &Lab, power: &Power, action: &str, target: &str) -> Result<String> {
    let members = lab.plan.cluster.as_ref().map(|c| c.members.clone()).unwrap_or_default();
    if matches!(action, "status" | "off" | "on") && !members.iter().any(|m| m == target) {
        bail!("`{target}` is not a member of lab {}", lab.plan.lab);
    }
    let on = |on: bool| if on { "on" } else { "off" }.to_string();
    let powered = |n: &str| lab.running(n) || lab.booting(n) || power.booting(n);
    match action {
        "monitor" => Ok(String::new()),
        "list" => Ok(members.join(" ")),
        "status" => Ok(on(powered(target))),
        "off" => {
            let _one = power.one.lock().map_err(|_| anyhow::anyhow!("a fence action panicked"))?;
            if powered(target) {
                lab.actuators(target)?.power_off()?;
            }
            if let Ok(mut b) = power.booting.lock() {
                b.remove(target);
            }
            Ok(on(false))
        }
        "on" => {
            let _one = power.one.lock().map_err(|_| anyhow::anyhow!("a fence action panicked"))?;
            if !powered(target) {
                power.booting.lock().map_err(|_| anyhow::anyhow!("a fence action panicked"))?.insert(target.to_string());
                let (lab, node, booting) = (lab.clone(), target.to_string(), power.booting.clone());
                std::thread::spawn(move || {
                    // Off meanwhile ends the boot: the member stays off, as the fence left it.
                    if let Err(e) = crate::power::power_on(&lab, &node) {
                        eprintln!("halab fencer: the boot of `{node}` after its power-on: {e:#}");
                    }
                    if let Ok(mut b) = booting.lock() {
                        b.remove(&node);
                    }
                });
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
