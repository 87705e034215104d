//! One function call into the library per command, and what it prints. The exit code says
//! how it went: 0 ok, 1 an expectation failed, 2 bad input, 3 infrastructure error.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::args::{Cli, Cmd, LinkState, Matrix, PowerAction};
use crate::bench::{self, Verdict};
use crate::lab::Lab;
use crate::scenario::results::RunRecord;
use crate::scenario::runner::Options;
use crate::topology::Stack;

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Cmd::Validate { file } => println!("{}", crate::inputs::validate(&file)?),
        c @ (Cmd::Vocabulary { .. } | Cmd::Schema { .. } | Cmd::Graph { .. } | Cmd::Completions { .. } | Cmd::Man { .. } | Cmd::Ls { .. }) => describe(c)?,
        Cmd::Plan { file, name, json } => plan(&file, name.as_deref(), json)?,
        Cmd::Up { file, name, place, stack, keep_on_failure } => {
            let opts = crate::lifecycle::UpOptions { provider: place.options(), keep_on_failure, held: false };
            up(&file, name.as_deref(), stack, &opts)?
        }
        Cmd::Down { lab } => {
            crate::interrupt::install();
            crate::lifecycle::down(&lab)?;
        }
        Cmd::Status { lab, json } => status(lab, json)?,
        Cmd::Exec { lab, node, cmd } => return exec(&lab, &node, &cmd),
        Cmd::Ssh { lab, node, cmd } => return ssh(&lab, &node, &cmd),
        Cmd::Link { lab, node, iface, state } => Lab::open(&lab)?.actuators(&node)?.set_link(&iface, matches!(state, LinkState::Up), None)?,
        Cmd::Loss { lab, node, iface, percent } => Lab::open(&lab)?.actuators(&node)?.set_loss(&iface, percent, None)?,
        Cmd::Power { lab, node, action } => power(&lab, &node, action)?,
        Cmd::Switchover { lab, to } => {
            crate::interrupt::install();
            let lab = Lab::open(&lab)?;
            let t = Instant::now();
            let holder = crate::stack::switchover::switchover(&lab, to.as_deref())?;
            println!("{holder} holds every VIP ({:.2} s)", t.elapsed().as_secs_f64());
        }
        Cmd::Logs { lab, node, daemon } => logs(&lab, &node, daemon.as_deref())?,
        Cmd::Run { scenario, stack, matrix, keep, out } => {
            let stacks = (!stack.is_empty()).then_some(stack);
            return run_scenario(&scenario, stacks, &matrix, keep, out);
        }
        Cmd::Nightly { scenarios, stacks, matrix, out } => {
            crate::interrupt::install();
            std::fs::create_dir_all(&out)?;
            let opts = matrix.place.options();
            crate::provider::get(&opts.provider)?.check_machines(&opts, &out)?;
            return bench(scenarios, &stacks, &matrix, out);
        }
        Cmd::Bench { scenarios, stacks, matrix, out } => return bench(scenarios, &stacks, &matrix, out),
        Cmd::Study { file, jobs, shard, place, out } => return study(&file, jobs, shard.as_deref(), &place, out),
        Cmd::Report { runs, out } => {
            crate::report::study::check_merge(&runs)?;
            let a = crate::report::analyse(crate::report::load_runs(&runs)?);
            crate::report::write_all(&a, &out)?;
            println!("report of {} runs: {}", a.runs.len(), out.join("report.md").display());
        }
        Cmd::Gc { labs } => {
            let removed = crate::lifecycle::gc(&labs)?;
            println!("gc: {} lab(s) removed{}", removed.len(), if removed.is_empty() { String::new() } else { format!(": {}", removed.join(", ")) });
        }
        Cmd::Image(c) => super::image::run(c)?,
        Cmd::Hosts { args } => return crate::provider::get("hosts")?.command(&args).unwrap_or_else(|| anyhow::bail!("provider `hosts` has no command")),
        Cmd::Agent(super::args::AgentCmd::Test { path, params, promotable, packages, files, topology, layers, place, out }) => {
            // Its lab comes down on Ctrl-C at the next step, not left for `gc`.
            crate::interrupt::install();
            let o = crate::agent_test::Options { path, params, promotable, packages, files, topology, provider: place.options(), out, layers };
            return Ok(ExitCode::from(crate::agent_test::run(&o)? as u8));
        }
        Cmd::Cts { lab, tests, from, timeout, out } => {
            crate::interrupt::install();
            let tests = if tests.is_empty() { crate::cts::DEFAULT_TESTS.iter().map(|t| t.to_string()).collect() } else { tests };
            let out = out.unwrap_or_else(|| PathBuf::from(format!("reports/cts-{lab}")));
            return Ok(ExitCode::from(crate::cts::run(&crate::cts::Options { lab, tests, from, out, timeout })?));
        }
        Cmd::InNode(c) => return crate::node::cli::run(c),
        Cmd::Helper { provider, name, arg } => crate::provider::get(&provider)?.helper(&name, &arg)?,
        Cmd::Fencer { lab } => crate::fencer::server::serve(&lab)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The commands that describe rather than act: vocabulary, schemas, pictures, completions,
/// man pages, the list of labs.
fn describe(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Vocabulary { json: false } => print!("{}", crate::scenario::vocabulary::markdown()),
        Cmd::Vocabulary { json: true } => println!("{}", serde_json::to_string_pretty(&crate::scenario::vocabulary::data())?),
        Cmd::Schema { kind: None } => crate::schema::kinds().for_each(|k| println!("{:<12} {}", k.name, k.about)),
        Cmd::Schema { kind: Some(k) } => {
            let s = crate::schema::get(&k)
                .ok_or_else(|| crate::diag::InputError::one(crate::diag::Diagnostic::new(Path::new("KIND"), 0, 0, "", &crate::schema::unknown(&k), "")))?;
            println!("{}", serde_json::to_string_pretty(&s)?)
        }
        Cmd::Graph { target, out: None } => print!("{}", crate::graph::of_target(&target)?),
        Cmd::Graph { target, out: Some(f) } => {
            std::fs::write(&f, crate::graph::of_target(&target)?).with_context(|| format!("cannot write {}", f.display()))?;
            println!("{}", f.display());
        }
        Cmd::Completions { shell } => print!("{}", super::shell::completions(shell)),
        Cmd::Man { dir } => println!("{} man pages in {}", super::shell::man_pages(&dir)?.len(), dir.display()),
        Cmd::Ls { json: true, .. } => println!("{}", serde_json::to_string_pretty(&crate::status::list())?),
        Cmd::Ls { quiet: true, .. } => crate::status::list().iter().for_each(|l| println!("{}", l.lab)),
        Cmd::Ls { .. } => crate::status::list().iter().for_each(|l| println!("{}", crate::status::list_line(l))),
        _ => unreachable!("describe() is called for describing commands only"),
    }
    Ok(())
}

/// A process's exit status as halab's own exit code (a signal: 255).
fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    ExitCode::from(status.code().unwrap_or(255).clamp(0, 255) as u8)
}

fn plan(file: &Path, name: Option<&str>, json: bool) -> Result<()> {
    let plan = crate::topology::load(file, name)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print!("{}", crate::yaml::to_string(&plan)?);
    }
    Ok(())
}

fn up(file: &Path, name: Option<&str>, stack: Option<Stack>, opts: &crate::lifecycle::UpOptions) -> Result<()> {
    crate::interrupt::install();
    let mut plan = crate::topology::load(file, name)?;
    if let Some(s) = stack {
        plan.set_stack(s)?;
    }
    let t = Instant::now();
    let lab = crate::lifecycle::up(&plan, opts)?;
    let (name, n) = (&lab.plan.lab, lab.plan.nodes.len());
    println!(
        "lab {name} is up ({n} nodes on {}, {:.2} s); management {} ; try: halab status {name}",
        lab.provider.kind,
        t.elapsed().as_secs_f64(),
        lab.management
    );
    Ok(())
}

fn status(lab: Option<String>, json: bool) -> Result<()> {
    if let (true, Some(l)) = (json, &lab) {
        println!("{}", serde_json::to_string_pretty(&crate::status::lab_status(l)?)?);
        return Ok(());
    }
    if json {
        let all: Vec<_> = crate::ledger::all_labs().iter().map(|l| crate::status::lab_status(l)).collect::<Result<_>>()?;
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    for lab in lab.map(|l| vec![l]).unwrap_or_else(crate::ledger::all_labs) {
        print!("{}", crate::status::render(&crate::status::lab_status(&lab)?));
    }
    Ok(())
}

fn exec(lab: &str, node: &str, cmd: &[String]) -> Result<ExitCode> {
    let lab = Lab::open(lab)?;
    if let Some(mut c) = lab.provider().interactive(&lab, node, cmd)? {
        // The terminal goes straight through.
        return Ok(exit_code(c.status().context("failed to run the command")?));
    }
    let argv: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let o = lab.node(node)?.exec(&argv, None, Duration::from_secs(600))?;
    std::io::stdout().write_all(&o.stdout)?;
    std::io::stderr().write_all(&o.stderr)?;
    Ok(exit_code(o.status))
}

fn ssh(lab: &str, node: &str, cmd: &[String]) -> Result<ExitCode> {
    let st = crate::labstate::LabState::load(lab)?;
    let dir = crate::ledger::lab_dir(lab).join("ssh");
    let err = std::process::Command::new("ssh")
        .arg("-i")
        .arg(dir.join("id_ed25519"))
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", dir.join("known_hosts").display()))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=5", "-o", "BatchMode=yes"])
        .arg(format!("root@{}", st.mgmt_addr(node)?))
        .args(cmd)
        .exec();
    Err(anyhow::Error::new(err).context("failed to run ssh (apt-get install openssh-client)"))
}

fn power(lab: &str, node: &str, action: PowerAction) -> Result<()> {
    let lab = Lab::open(lab)?;
    match action {
        PowerAction::Off => lab.actuators(node)?.power_off(),
        PowerAction::On => crate::power::power_on(&lab, node),
        PowerAction::Reboot => crate::power::reboot(&lab, node),
        PowerAction::Freeze => lab.actuators(node)?.freeze(true),
        PowerAction::Thaw => lab.actuators(node)?.freeze(false),
    }
}

/// `halab logs`: the node's log folders, or every log file of one daemon.
fn logs(lab: &str, node: &str, daemon: Option<&str>) -> Result<()> {
    let n = Lab::open(lab)?.node(node)?;
    let Some(d) = daemon else {
        print!("{}", n.run(&["sh", "-c", "ls /var/log/halab/ /var/log/pacemaker/ 2>/dev/null"])?);
        return Ok(());
    };
    for path in crate::stack::log_files(d) {
        if n.succeeds(&["test", "-f", path]) {
            println!("==> {node}:{path} <==");
            print!("{}", n.run(&["cat", path])?);
        }
    }
    Ok(())
}

fn run_scenario(scenario: &Path, stacks: Option<Vec<Stack>>, matrix: &Matrix, keep: bool, out: Option<PathBuf>) -> Result<ExitCode> {
    crate::interrupt::install();
    let sc = crate::scenario::load(scenario)?;
    let out = out.unwrap_or_else(|| bench::default_run_dir(&sc));
    let opts = Options { stacks, repeat: matrix.repeat.unwrap_or(1), seed: matrix.seed, keep, out: out.clone(), provider: matrix.place.options(), place: None };
    let recs = bench::run(&sc, &opts)?;
    recs.iter().for_each(print_record);
    println!("run folder: {}", out.display());
    Ok(ExitCode::from(Verdict::of(&recs).exit_code()))
}

fn bench(scenarios: Vec<PathBuf>, stacks: &[Stack], matrix: &Matrix, out: PathBuf) -> Result<ExitCode> {
    crate::interrupt::install();
    let files = if scenarios.is_empty() { crate::scenario::benched(&PathBuf::from("scenarios"))? } else { scenarios };
    // Everything is validated before anything runs.
    let loaded: Vec<_> = files.iter().map(|f| crate::scenario::load(f)).collect::<Result<_, _>>()?;
    let t = Instant::now();
    let opts = Options {
        stacks: None,
        repeat: matrix.repeat.unwrap_or(3),
        seed: matrix.seed,
        keep: false,
        out: out.clone(),
        provider: matrix.place.options(),
        place: None,
    };
    let (a, verdict) = bench::bench(&loaded, stacks, &opts)?;
    println!("bench: {} runs in {:.0} s; report: {}", a.runs.len(), t.elapsed().as_secs_f64(), out.join("report.md").display());
    for h in &a.headlines {
        let cells: Vec<String> = a.stacks.iter().map(|s| format!("{s}: {}", h.cells.get(s).cloned().unwrap_or_else(|| "-".into()))).collect();
        println!("  {}: {}", h.row, cells.join(" | "));
    }
    Ok(ExitCode::from(verdict.exit_code()))
}

fn study(file: &Path, jobs: u32, shard: Option<&str>, place: &super::args::Where, out: Option<PathBuf>) -> Result<ExitCode> {
    crate::interrupt::install();
    let shard = match shard.map(crate::study::order::parse_shard) {
        Some(Err(e)) => return Err(crate::diag::InputError::one(crate::diag::Diagnostic::new(Path::new("--shard"), 0, 0, "", &e, "")).into()),
        Some(Ok(s)) => Some(s),
        None => None,
    };
    if jobs == 0 {
        anyhow::bail!("--jobs 0: at least one lab must run");
    }
    // Everything is validated before anything runs.
    let s = crate::study::load(file)?;
    if let (Some(image), true) = (&place.image, s.axes.iter().any(|a| a.path == "image")) {
        anyhow::bail!("--image {image}: the study sweeps `image` itself; drop --image or the axis");
    }
    let out = out.unwrap_or_else(|| PathBuf::from("reports/studies").join(&s.name));
    let t = Instant::now();
    let opts = crate::study::execute::Options { jobs, shard, out: out.clone(), provider: place.options() };
    let (a, verdict) = crate::study::execute::run(&s, &opts)?;
    println!(
        "study {}: {} runs in {:.1} min ({jobs} at once); report: {}",
        s.name,
        a.runs.len(),
        t.elapsed().as_secs_f64() / 60.0,
        out.join("report.md").display()
    );
    Ok(ExitCode::from(verdict.exit_code()))
}

fn print_record(r: &RunRecord) {
    println!("{} {} #{}: {} ({:.1} s)", r.scenario, r.stack, r.repeat, r.outcome, r.wall_s);
    for e in &r.expectations {
        let actual = e.actual.as_ref().map(|a| a.to_string()).unwrap_or_else(|| "missing".into());
        println!("  [{}] {}  (actual: {actual})", if e.held { "ok" } else { "FAILED" }, e.expect);
    }
    if let Some(e) = &r.error {
        println!("  error: {e}");
    }
}
