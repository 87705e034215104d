//! The commands that run *inside* a node (`halab _svc`, `halab probe`). They are also the
//! whole of the `halab-node` binary, which the netns provider mounts into every node as
//! /usr/local/bin/halab: unlike `halab`, it links no libvirt, which the image does not have.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};

#[derive(Subcommand)]
pub enum NodeCmd {
    /// The gap probe (runs inside nodes): `server` echoes, `client` ticks and records.
    #[command(subcommand)]
    Probe(ProbeCmd),
    /// The node's clocks, CLOCK_MONOTONIC then CLOCK_REALTIME in ns, for every line on stdin
    /// until EOF (`--serve`): the host times each answer over one channel, without a process
    /// start inside the round trip (`transport::clock`).
    #[command(name = "_clock", hide = true)]
    Clock {
        #[arg(long)]
        serve: bool,
    },
    /// Inside a node: start, stop or check a service.
    #[command(name = "_svc", hide = true)]
    Svc {
        action: SvcAction,
        name: String,
        #[arg(last = true)]
        argv: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SvcAction {
    Start,
    Stop,
    Status,
}

#[derive(Subcommand)]
pub enum ProbeCmd {
    /// Echo UDP and TCP ticks on PORT for DURATION (e.g. 90s), then exit.
    Server {
        #[arg(long, default_value_t = 7070)]
        port: u16,
        #[arg(long, default_value = "120s")]
        duration: String,
    },
    /// Tick SERVER:PORT every INTERVAL for DURATION; write the echoes as JSON to OUT.
    Client {
        server: std::net::Ipv4Addr,
        #[arg(long, default_value_t = 7070)]
        port: u16,
        #[arg(long, default_value = "10ms")]
        interval: String,
        #[arg(long, default_value = "60s")]
        duration: String,
        #[arg(long)]
        out: PathBuf,
    },
}

fn duration_arg(s: &str) -> Result<std::time::Duration> {
    crate::topology::duration::parse(s).ok_or_else(|| anyhow::anyhow!("`{s}` is not a duration (write 10ms, 3s, 2m)"))
}

pub fn run(c: NodeCmd) -> Result<ExitCode> {
    match c {
        NodeCmd::Probe(ProbeCmd::Server { port, duration }) => {
            crate::measure::probe::serve(port, duration_arg(&duration)?)?;
        }
        NodeCmd::Probe(ProbeCmd::Client { server, port, interval, duration, out }) => {
            crate::interrupt::install();
            let s = crate::measure::probe::run_client((server, port).into(), duration_arg(&interval)?, duration_arg(&duration)?)?;
            std::fs::write(&out, serde_json::to_vec(&s)?).with_context(|| format!("failed to write {}", out.display()))?;
        }
        NodeCmd::Clock { .. } => {
            use std::io::{BufRead, Write};
            let mut out = std::io::stdout().lock();
            for line in std::io::stdin().lock().lines() {
                line?;
                let mono = crate::measure::clock::now_ns();
                writeln!(out, "{mono} {}", crate::measure::clock::realtime_ns())?;
                out.flush()?;
            }
        }
        NodeCmd::Svc { action, name, argv } => {
            use super::service;
            match action {
                SvcAction::Start => service::start(&name, &argv)?,
                SvcAction::Stop => service::stop(&name)?,
                SvcAction::Status => {
                    if !service::running(&name) {
                        return Ok(ExitCode::from(1));
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `halab-node` binary next to the running halab.
pub fn node_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe()?.with_file_name("halab-node");
    anyhow::ensure!(exe.is_file(), "{} is missing: `cargo build --release` builds it next to halab", exe.display());
    Ok(exe)
}
