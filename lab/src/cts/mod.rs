//! `halab cts LAB`: Pacemaker's own Cluster Test Suite (`cts-lab` from pacemaker-cts) driven
//! against a pacemaker lab halab built, from one of the lab's own nodes (the exerciser): the
//! members reached over SSH with the lab's key and pinned host keys, the lab's fencing as
//! CTS's. What a netns node lacks for it (systemd's `service`, a syslog) is supplied by
//! `prepare`; docs/pacemaker-cts.md says why each piece is there.

mod prepare;
pub mod report;
pub mod summary;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::lab::Lab;
use crate::progress::Step;
use crate::topology::plan::{Rejoin, Stack};

/// The tests that fit a few minutes on two members (no iptables, no unsafe component kills).
pub const DEFAULT_TESTS: &[&str] =
    &["StartOnebyOne", "SimulStart", "SimulStop", "StopOnebyOne", "Restart", "Flip", "NearQuorumPoint", "Reattach", "Standby", "Stonithd"];

pub struct Options {
    pub lab: String,
    pub tests: Vec<String>,
    /// The exerciser (default: the lab's first node that is not a member).
    pub from: Option<String>,
    pub out: PathBuf,
    /// The whole CTS run; then it is stopped (and the verdict is "did not finish").
    pub timeout: Duration,
}

/// Where CTS's output and exit status land inside the exerciser.
const OUT: &str = "/var/log/halab/cts-lab.log";
const RC: &str = "/root/cts-lab.rc";
const CTS_LOG: &str = "/root/cts.log";

/// Exit 0 every test passed (CTS's verdict: bad news is shown, not failed), 1 CTS failed a
/// test or did not finish; errors are the lab's.
pub fn run(o: &Options) -> Result<u8> {
    let lab = Lab::open(&o.lab)?;
    let cl = lab.plan.cluster.as_ref().with_context(|| format!("lab {} has no cluster", o.lab))?;
    if cl.stack != Stack::Pacemaker {
        bail!("lab {} runs {}: CTS tests pacemaker clusters (`halab up --stack pacemaker`)", o.lab, cl.stack);
    }
    if lab.provider.kind != "netns" {
        bail!("halab cts drives netns labs; on {} it is not done yet (docs/pacemaker-cts.md)", lab.provider.kind);
    }
    let members = cl.members.clone();
    let ex = match &o.from {
        Some(f) if members.contains(f) => bail!("`{f}` is a member: CTS stops and starts the cluster under the exerciser, which must not be one"),
        Some(f) => lab.plan.node(f).map(|n| n.name.clone()).with_context(|| format!("lab {} has no node `{f}`", o.lab))?,
        None => lab
            .plan
            .nodes
            .iter()
            .find(|n| !members.contains(&n.name))
            .map(|n| n.name.clone())
            .context("CTS needs a node that is not a member to run from; add one to the topology")?,
    };
    let step = Step::start(format!("cts on {} from {ex}", o.lab));
    step.message("preparing the members (service, systemctl, syslog) and the exerciser (SSH)");
    prepare::exerciser(&lab, &ex, &members)?;
    for m in &members {
        prepare::member(&lab, m)?;
    }
    let argv = command(o, &members, cl.rejoin == Rejoin::Auto);
    let t = Instant::now();
    let finished = follow(&lab, &ex, &argv, o.timeout, &step)?;
    let elapsed = t.elapsed();
    std::fs::create_dir_all(&o.out).with_context(|| format!("creating {}", o.out.display()))?;
    let n = lab.node(&ex)?;
    let out = n.run(&["cat", OUT])?;
    std::fs::write(o.out.join("cts-lab.out"), &out)?;
    std::fs::write(o.out.join("cts.log"), n.run(&["cat", CTS_LOG]).unwrap_or_default())?;
    let sum = summary::parse(&out);
    let rc = finished.then(|| n.run(&["cat", RC]).ok()).flatten().and_then(|s| s.trim().parse::<i32>().ok());
    let facts = report::Facts::gather(&lab, &ex, &argv, rc, elapsed)?;
    report::write(&o.out, &facts, &sum)?;
    step.message("CTS leaves the cluster stopped: starting the stack again");
    restore(&lab)?;
    let verdict = if !finished { "did not finish".to_string() } else { report::verdict(&sum) };
    step.done(&verdict);
    println!("cts {}: {verdict} ({:.0} s); {}", o.lab, elapsed.as_secs_f64(), o.out.join("cts.md").display());
    Ok(if finished && rc == Some(0) && sum.passed() { 0 } else { 1 })
}

/// cts-lab's command line: the lab's own CIB and fencing (no `--clobber-cib`), the log the
/// prepared syslog writes, `--at-boot` as the lab's `rejoin` says a fenced member comes back.
fn command(o: &Options, members: &[String], at_boot: bool) -> Vec<String> {
    let mut a: Vec<String> =
        [prepare::CTS_LAB, "--nodes", &members.join(" "), "--stack", "corosync", "--outputfile", CTS_LOG, "-L", "/var/log/messages"].map(String::from).to_vec();
    a.extend(["--at-boot".into(), if at_boot { "1" } else { "0" }.into(), "--no-unsafe-tests".into(), "--no-loop-tests".into()]);
    // No `--seed`: cts-lab 3.0.0 parses it and never uses it (the node each test picks is
    // seeded from the clock; its "Random Seed" line is kept in the report).
    a.extend(["--choose".into(), o.tests.join(" "), o.tests.len().to_string()]);
    a
}

/// Start cts-lab in the exerciser as a service (it outlives a dropped SSH session), print its
/// progress lines as they come, stop it on Ctrl-C or the timeout. True when it finished.
fn follow(lab: &Lab, ex: &str, argv: &[String], timeout: Duration, step: &Step) -> Result<bool> {
    let n = lab.node(ex)?;
    let quoted: Vec<String> = argv.iter().map(|a| format!("'{a}'")).collect();
    // The shell keeps cts-lab's exit status and passes a stop on to it (CTS stops cleanly on TERM).
    let script = format!("rm -f {RC} {CTS_LOG}; cd /root; {} & p=$!; trap 'kill $p; wait $p; exit 143' TERM; wait $p; echo $? > {RC}", quoted.join(" "));
    n.sh(&format!("rm -f {OUT}"))?;
    n.service_start("cts-lab", &["sh", "-c", &script])?;
    let start = Instant::now();
    // Only what is new since the last look (whole lines): CTS's output grows to megabytes.
    let mut offset = 0;
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let text = n.run(&["tail", "-c", &format!("+{}", offset + 1), OUT]).unwrap_or_default();
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        for line in text[..whole].lines() {
            if let Some((_, msg)) = line.split_once('\t').filter(|(_, m)| m.starts_with("Running test") || m.contains("Overall Results")) {
                step.message(msg.trim());
            }
        }
        offset += whole;
        if !n.service_running("cts-lab") {
            return Ok(n.succeeds(&["test", "-e", RC]));
        }
        if crate::interrupt::interrupted() || start.elapsed() > timeout {
            n.service_stop("cts-lab")?;
            crate::interrupt::check()?;
            return Ok(false);
        }
    }
}

/// Every member's stack started and the cluster ready, as after `up`.
fn restore(lab: &Lab) -> Result<()> {
    let Some(cl) = &lab.plan.cluster else { return Ok(()) };
    for m in &cl.members {
        crate::stack::of(cl.stack).start(lab, cl, &lab.node(m)?)?;
    }
    crate::stack::ready::wait(lab, cl, crate::stack::ready_timeout(lab)).map(drop)
}
